/* The report parser lives in a module, dnsblkit-mail.so, opened the first
 * time a message is parsed: GMime and GLib's object system map megabytes
 * into every process that links them, and most processes (a `serve`
 * without the report API, `list`, `export`) never parse mail. The module
 * is looked for in $DNSBLKIT_MODULE_DIR, next to the running program (a
 * build tree), then where `make install` puts it. */
#include "common/err.h"
#include "listing/report_msg.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_MODULE "dnsblkit-mail.so"

static struct {
    pthread_once_t once;
    int (*parse)(const char *buf, size_t len, unsigned flags, struct report_msg *out, char *why,
                 size_t whysz);
    void (*release)(struct report_msg *m);
    char error[512];
} report_module = {PTHREAD_ONCE_INIT, NULL, NULL, ""};

static void *report_try(const char *dir, char *tried, size_t triedsz)
{
    char path[PATH_MAX];
    if (!dir || !dir[0] || snprintf(path, sizeof(path), "%s/%s", dir, REPORT_MODULE) >= PATH_MAX)
        return NULL;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        size_t n = strlen(tried);
        snprintf(tried + n, triedsz - n, "%s%s", n ? "; " : "", dlerror());
    }
    return lib;
}

static void report_load(void)
{
    char exe[PATH_MAX], tried[400] = "";
    void *lib = report_try(getenv("DNSBLKIT_MODULE_DIR"), tried, sizeof(tried));
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (!lib && n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            lib = report_try(exe, tried, sizeof(tried));
        }
    }
    if (!lib)
        lib = report_try(DBK_MODULE_DIR, tried, sizeof(tried));
    if (lib) {
        *(void **)&report_module.parse = dlsym(lib, "report_msg_module_parse");
        *(void **)&report_module.release = dlsym(lib, "report_msg_module_free");
    }
    if (!report_module.parse || !report_module.release) {
        report_module.parse = NULL;
        snprintf(report_module.error, sizeof(report_module.error),
                 "cannot load the message parser %s: %s", REPORT_MODULE,
                 lib ? "it lacks its entry points" : tried);
    }
}

int report_msg_preload(char *why, size_t whysz)
{
    pthread_once(&report_module.once, report_load);
    if (report_module.parse)
        return 0;
    snprintf(why, whysz, "%s", report_module.error);
    return ERR_UNSUPP;
}

int report_msg_parse(const char *buf, size_t len, unsigned flags, struct report_msg *out, char *why,
                     size_t whysz)
{
    pthread_once(&report_module.once, report_load);
    if (!report_module.parse) {
        memset(out, 0, sizeof(*out));
        if (why && whysz)
            snprintf(why, whysz, "%s", report_module.error);
        return ERR_UNSUPP;
    }
    return report_module.parse(buf, len, flags, out, why, whysz);
}

void report_msg_free(struct report_msg *m)
{
    if (!m)
        return;
    pthread_once(&report_module.once, report_load);
    if (report_module.release)
        report_module.release(m);
}
