/* Fuzz harness for dnsblkit.conf: the input is written to a file (the
 * readers take a path) and read by every section's reader, as the
 * subcommands read it: [server] and [zone] (serve_conf, then
 * serve_conf_finish), [listing], [http], [check] and [list ZONE] (then
 * check_conf_finish), [policyd]; and read as a zone's key file ([zone]
 * keys = FILE). Refusals are expected; a crash, a leak, an error without
 * "file:line: reason", a line number past the file's end, a value
 * accepted outside its documented range, or a key of the file not found
 * in its set is the bug. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/check_conf.h"
#include "common/log.h"
#include "fuzz_common.h"
#include "http/http_conf.h"
#include "listing/listing_conf.h"
#include "policy/policy_conf.h"
#include "server/serve_conf.h"
#include "server/zone_keys.h"

static char dir[64], path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

/* The scratch file, in tmpfs when there is one: made once per process. */
static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/dbk-fuzz-config-XXXXXX", base);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/dnsblkit.conf", dir);
    atexit(cleanup);
    log_init("fuzz_config", false, LOG_ERR);
}

static void write_input(const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        CHECK(n > 0 || errno == EINTR);
        if (n > 0) {
            data += n;
            size -= (size_t)n;
        }
    }
    CHECK(close(fd) == 0);
}

/* An error of a reader: "PATH: ..." or "PATH:LINE: ...", LINE within the
 * file (a file of N newlines has at most N + 1 lines). */
static void check_load_error(const char *err, size_t errsz, unsigned lines)
{
    size_t plen = strlen(path);
    CHECK(strnlen(err, errsz) < errsz);
    CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
    const char *p = err + plen + 1;
    if (*p >= '0' && *p <= '9') {
        char *end;
        unsigned long line = strtoul(p, &end, 10);
        CHECK(*end == ':');
        CHECK(line >= 1 && line <= lines);
    }
}

/* An error of a check made once the file is read: no line to name. */
static void check_finish_error(const char *err, size_t errsz)
{
    CHECK(err[0] != '\0' && strnlen(err, errsz) < errsz);
}

static void run_serve(unsigned lines)
{
    struct serve_conf c;
    char err[512];
    err[0] = '\0';
    serve_conf_init(&c);
    if (serve_conf_load_file(&c, path, err, sizeof(err)) != 0) {
        check_load_error(err, sizeof(err), lines);
        goto out;
    }
    CHECK(c.nlisten <= SERVE_MAX_LISTEN);
    CHECK(c.ttl_min <= c.ttl_max);
    CHECK(c.shrink_limit <= 100);
    CHECK(c.threads <= 64);
    CHECK(c.tcp_idle > 0 && c.tcp_max_clients >= 1 && c.tcp_max_clients <= 65536);
    const struct ratelimit_conf *rl = &c.ratelimit;
    CHECK(rl->slip <= 100 && rl->v4_prefix >= 1 && rl->v4_prefix <= 32);
    CHECK(rl->v6_prefix >= 1 && rl->v6_prefix <= 128);
    CHECK(rl->nexempt <= RATELIMIT_MAX_EXEMPT);
    /* serve_conf_finish wants a listen address, as -b gives one. */
    if (c.nlisten == 0)
        CHECK(serve_conf_add_listen(&c, "127.0.0.1/5353") == 0);
    err[0] = '\0';
    if (serve_conf_finish(&c, err, sizeof(err)) != 0) {
        check_finish_error(err, sizeof(err));
        goto out;
    }
    CHECK(c.nzones > 0);
    for (unsigned i = 0; i < c.nzones; i++) {
        const struct serve_zone_conf *z = &c.zones[i];
        CHECK(z->nspecs > 0 && z->ctx.zone == z->name);
        CHECK(z->shrink_limit >= 0 && z->shrink_limit <= 100);
        CHECK(z->limits.min_prefix4 <= 32 && z->limits.min_prefix6 <= 128);
        for (unsigned j = 0; j < z->nspecs; j++)
            CHECK(strchr(z->specs[j], ':') != NULL);
    }
out:
    serve_conf_free(&c);
}

static void run_listing(unsigned lines)
{
    struct listing_conf c;
    char err[512];
    listing_conf_init(&c);
    if (listing_conf_load(path, &c, err, sizeof(err)) != 0) {
        check_load_error(err, sizeof(err), lines);
        goto out;
    }
    CHECK(c.database && c.database[0] == '/');
    CHECK(strlen(c.txt) <= 255);
    CHECK(c.sweep_interval > 0);
    CHECK(c.policy.code >= 2 && c.policy.code <= 254);
    CHECK(c.policy.escalate_code >= 2 && c.policy.escalate_code <= 254);
    CHECK(c.policy.report_floor <= c.policy.report_fresh);
out:
    listing_conf_free(&c);
}

static void run_http(unsigned lines)
{
    struct http_conf c;
    char err[512];
    err[0] = '\0';
    http_conf_init(&c);
    if (http_conf_load(path, &c, err, sizeof(err)) != 0) {
        check_load_error(err, sizeof(err), lines);
        return;
    }
    CHECK(strlen(c.token) < sizeof(c.token));
    for (const char *p = c.token; *p; p++)
        CHECK(*p > ' ' && *p < 127);
    CHECK(c.max_body >= 1 && c.max_body <= (1u << 30));
    CHECK(c.title[0] != '\0');
    size_t n = strlen(c.public_url);
    CHECK(n == 0 || c.public_url[n - 1] != '/');
    CHECK(!c.enabled || n > 0);
    /* A URL with a host: links are made by appending "/lookup?...". */
    CHECK(!c.public_url[0] || (!strncmp(c.public_url, "http://", 7) && c.public_url[7]) ||
          (!strncmp(c.public_url, "https://", 8) && c.public_url[8]));
}

static void run_check(unsigned lines)
{
    static struct check_conf c; /* 100 KiB: not on the stack */
    char err[512];
    check_conf_init(&c);
    if (check_conf_load(&c, path, err, sizeof(err)) != 0) {
        check_load_error(err, sizeof(err), lines);
        return;
    }
    CHECK(c.nspecs <= CHECKER_MAX_SPECS && c.nzones <= CHECKER_MAX_LISTS);
    for (unsigned i = 0; i < c.nspecs; i++)
        CHECK(c.specs[i].spec.zone[0] != '\0');
    err[0] = '\0';
    if (check_conf_finish(&c, path, err, sizeof(err)) != 0) {
        check_finish_error(err, sizeof(err));
        return;
    }
    CHECK(c.ck.min_ttl <= c.ck.max_ttl);
    CHECK(c.ck.threshold >= 1);
}

static void run_policy(unsigned lines)
{
    struct policy_conf c;
    char err[512];
    policy_conf_init(&c);
    if (policy_conf_load(&c, path, err, sizeof(err)) != 0) {
        check_load_error(err, sizeof(err), lines);
        return;
    }
    CHECK(c.nlisten >= 1 && c.nlisten <= POLICY_MAX_LISTEN);
    for (unsigned i = 0; i < c.nlisten; i++)
        CHECK(c.listen[i].unix_socket ? c.listen[i].path[0] == '/' : c.listen[i].port != 0);
    CHECK(c.nallow <= POLICY_MAX_ALLOW);
    CHECK(c.max_connections >= 1 && c.max_connections <= 65536);
    CHECK(!c.decide.mark_score || !c.decide.reject_score ||
          c.decide.mark_score < c.decide.reject_score);
    static const char *const states[] = {"CONNECT", "HELO", "MAIL",
                                         "RCPT",    "DATA", "END-OF-MESSAGE"};
    bool known = false;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        known |= !strcmp(c.state, states[i]);
    CHECK(known);
    /* The allowlist as policyd asks it. */
    (void)policy_conf_allowed(&c, "192.0.2.1");
    (void)policy_conf_allowed(&c, "2001:db8::1");
}

/* The input as a key file: every key on its lines is in the set. */
static void run_keys(const uint8_t *data, size_t size, unsigned lines)
{
    struct zone_keys *k = NULL;
    char err[512];
    err[0] = '\0';
    const char *text = (const char *)data, *end = text + size;
    if (zone_keys_parse(text, size, "keys", &k, err, sizeof(err)) != 0) {
        CHECK(k == NULL && !strncmp(err, "keys:", 5));
        if (err[5] >= '0' && err[5] <= '9')
            CHECK(strtoul(err + 5, NULL, 10) <= lines);
        return;
    }
    CHECK(k != NULL && k->count <= lines);
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        while (p < le && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        size_t n = 0;
        while (p + n < le && p[n] != ' ' && p[n] != '\t' && p[n] != '\r' && p[n] != '#')
            n++;
        if (n > 0) {
            uint8_t label[64];
            CHECK(n >= ZONE_KEY_MIN && n <= ZONE_KEY_MAX);
            label[0] = (uint8_t)n;
            for (size_t i = 0; i < n; i++)
                label[1 + i] = (uint8_t)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
            CHECK(zone_keys_has(k, label));
        }
        p = nl ? nl + 1 : end;
    }
    /* Not a key: a label no valid key file can hold. */
    CHECK(!zone_keys_has(k, (const uint8_t *)"\007!absent"));
    zone_keys_unref(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    write_input(data, size);
    run_serve(lines);
    run_listing(lines);
    run_http(lines);
    run_check(lines);
    run_policy(lines);
    run_keys(data, size, lines);
    return 0;
}
