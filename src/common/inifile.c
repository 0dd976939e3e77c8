/* inih over a file, counting lines for error messages. */
#include "common/inifile.h"
#include "common/err.h"

#include <ini.h>
#include <stdio.h>
#include <strings.h>

struct inifile_stream {
    FILE *f;
    int *line;
};

static char *inifile_reader(char *buf, int size, void *stream)
{
    struct inifile_stream *s = stream;
    char *r = fgets(buf, size, s->f);
    if (r)
        (*s->line)++;
    return r;
}

/* Debian's inih reads on after a handler refused a line; the first
 * refusal is the one reported (its handler wrote err), so no handler is
 * called after it. */
struct inifile_call {
    int (*handler)(void *user, const char *section, const char *key, const char *value);
    void *user;
    int failed;
};

static int inifile_handler(void *arg, const char *section, const char *key, const char *value)
{
    struct inifile_call *c = arg;
    if (c->failed)
        return 1;
    if (!c->handler(c->user, section, key, value)) {
        c->failed = 1;
        return 0;
    }
    return 1;
}

int inifile_load(const char *path, int *line,
                 int (*handler)(void *user, const char *section, const char *key,
                                const char *value),
                 void *user, char *err, size_t errsz)
{
    struct inifile_stream s = {fopen(path, "r"), line};
    err[0] = '\0';
    *line = 0;
    if (!s.f) {
        snprintf(err, errsz, "%s: cannot open: %m", path);
        return ERR_IO;
    }
    struct inifile_call call = {handler, user, 0};
    int rc = ini_parse_stream(inifile_reader, &s, inifile_handler, &call);
    fclose(s.f);
    if (rc == -2) {
        snprintf(err, errsz, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    if (rc != 0) {
        if (!err[0])
            snprintf(err, errsz, "%s:%d: syntax error", path, rc);
        return ERR_INVAL;
    }
    return 0;
}

int inifile_bool(const char *value, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!strcasecmp(value, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(value, no[i])) {
            *out = false;
            return 0;
        }
    }
    return ERR_INVAL;
}
