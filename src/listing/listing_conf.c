/* Reading the [listing] section of dnsblkit.conf. */
#include "listing/listing_conf.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/inifile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTING_DEFAULT_DB "/var/lib/dnsblkit/listing.db"
#define LISTING_DEFAULT_TXT "Blocked - $ is listed"

void listing_conf_init(struct listing_conf *c)
{
    memset(c, 0, sizeof(*c));
    policy_defaults(&c->policy);
    snprintf(c->txt, sizeof(c->txt), "%s", LISTING_DEFAULT_TXT);
    c->sweep_interval = 60;
    c->cache_mib = 16;
}

void listing_conf_free(struct listing_conf *c)
{
    free(c->path);
    free(c->database);
    memset(c, 0, sizeof(*c));
}

struct listing_ini {
    struct listing_conf *c;
    const char *path;
    int line; /* counted by inifile_load */
    char *err;
    size_t errsz;
    bool txt_given;
    /* [http] listen and public-url: with the lookup page on, the default
     * TXT points at it. The rest of [http] is the HTTP layer's. */
    bool http_listen;
    struct addr_sock http_addr;
    char http_url[256];
};

static int listing_fail(struct listing_ini *st, const char *key, const char *value,
                        const char *want)
{
    snprintf(st->err, st->errsz, "%s:%d: bad %s '%s' (%s)", st->path, st->line, key, value, want);
    return 0;
}

static bool listing_number(const char *value, double max, double *out)
{
    char *end;
    double d = strtod(value, &end);
    if (end == value || *end != '\0' || !(d >= 0) || d > max)
        return false;
    *out = d;
    return true;
}

/* Durations: key -> offset of the uint32_t in struct policy_params. */
static const struct {
    const char *key;
    size_t off;
} listing_durations[] = {
    {"report-decay", offsetof(struct policy_params, report_decay)},
    {"evidence-window", offsetof(struct policy_params, evidence_window)},
    {"expiry", offsetof(struct policy_params, expiry)},
    {"expiry-two-reports", offsetof(struct policy_params, expiry_two_reports)},
    {"escalate-window", offsetof(struct policy_params, escalate_window)},
    {"removal-interval", offsetof(struct policy_params, removal_interval)},
    {"max-report-age", offsetof(struct policy_params, max_report_age)},
};

/* Weights and scores: key -> offset of the double. */
static const struct {
    const char *key;
    size_t off;
} listing_weights[] = {
    {"report-weight", offsetof(struct policy_params, report_fresh)},
    {"report-weight-floor", offsetof(struct policy_params, report_floor)},
    {"trap-weight", offsetof(struct policy_params, trap_each)},
    {"threshold", offsetof(struct policy_params, threshold)},
};

/* Counts: key -> offset of the unsigned. */
static const struct {
    const char *key;
    size_t off;
} listing_counts[] = {
    {"trap-square-from", offsetof(struct policy_params, trap_square)},
    {"min-reports", offsetof(struct policy_params, min_reports)},
    {"min-traps", offsetof(struct policy_params, min_traps)},
    {"escalate-above", offsetof(struct policy_params, escalate_above)},
};

static int listing_key(struct listing_ini *st, const char *key, const char *value)
{
    struct listing_conf *c = st->c;
    char *base = (char *)&c->policy;
    double d;
    if (!strcmp(key, "database")) {
        if (!value[0])
            return listing_fail(st, key, value, "a file name");
        free(c->database);
        c->database = strdup(value);
        return c->database ? 1 : 0;
    }
    if (!strcmp(key, "trusted-relays")) {
        const char *bad = NULL;
        if (rchain_trusted_parse(value, &c->trusted, &bad) < 0)
            return listing_fail(st, key, bad ? bad : value, "CIDR blocks");
        return 1;
    }
    if (!strcmp(key, "txt")) {
        if (strlen(value) >= sizeof(c->txt) || strlen(value) > 255)
            return listing_fail(st, key, value, "at most 255 characters");
        snprintf(c->txt, sizeof(c->txt), "%s", value);
        st->txt_given = true;
        return 1;
    }
    if (!strcmp(key, "sweep-interval")) {
        if (policy_parse_duration(value, &c->sweep_interval) < 0 || c->sweep_interval == 0)
            return listing_fail(st, key, value, "a duration such as 60s or 5m");
        return 1;
    }
    if (!strcmp(key, "cache-size")) {
        if (!listing_number(value, 4096, &d) || d < 1 || d != (double)(unsigned)d)
            return listing_fail(st, key, value, "MiB, 1..4096");
        c->cache_mib = (unsigned)d;
        return 1;
    }
    if (!strcmp(key, "code") || !strcmp(key, "escalate-code")) {
        if (!listing_number(value, 254, &d) || d < 2 || d != (double)(unsigned)d)
            return listing_fail(st, key, value, "the last octet of 127.0.0.N, 2..254");
        *(key[0] == 'c' ? &c->policy.code : &c->policy.escalate_code) = (uint8_t)d;
        return 1;
    }
    for (size_t i = 0; i < sizeof(listing_durations) / sizeof(listing_durations[0]); i++)
        if (!strcmp(key, listing_durations[i].key)) {
            if (policy_parse_duration(value,
                                      (uint32_t *)(void *)(base + listing_durations[i].off)) < 0)
                return listing_fail(st, key, value, "a duration such as 90s, 15m, 12h, 7d");
            return 1;
        }
    for (size_t i = 0; i < sizeof(listing_weights) / sizeof(listing_weights[0]); i++)
        if (!strcmp(key, listing_weights[i].key)) {
            if (!listing_number(value, 1e9, &d))
                return listing_fail(st, key, value, "a number >= 0");
            *(double *)(void *)(base + listing_weights[i].off) = d;
            return 1;
        }
    for (size_t i = 0; i < sizeof(listing_counts) / sizeof(listing_counts[0]); i++)
        if (!strcmp(key, listing_counts[i].key)) {
            if (!listing_number(value, 1e6, &d) || d != (double)(unsigned)d)
                return listing_fail(st, key, value, "a whole number");
            *(unsigned *)(void *)(base + listing_counts[i].off) = (unsigned)d;
            return 1;
        }
    snprintf(st->err, st->errsz, "%s:%d: unknown key '%s' in [listing]", st->path, st->line, key);
    return 0;
}

static int listing_handler(void *user, const char *section, const char *key, const char *value)
{
    struct listing_ini *st = user;
    if (st->err[0])
        return 0;
    if (!strcmp(section, "http")) {
        /* Bad values are for http_conf_load to report: here they only
         * leave the default TXT as it is. */
        if (!strcmp(key, "listen"))
            st->http_listen = addr_sock_parse(value, 8053, &st->http_addr) == 0;
        else if (!strcmp(key, "public-url"))
            snprintf(st->http_url, sizeof(st->http_url), "%s", value);
        return 1;
    }
    if (strcmp(section, "listing") != 0)
        return 1;
    return listing_key(st, key, value);
}

/* "Blocked - see http://192.0.2.1:8053/lookup?ip=$": the default TXT
 * when the lookup page is served ([http] listen given) and [listing] txt
 * is not. The URL is public-url, else made of the listen address as
 * http_conf does. */
static void listing_conf_http_txt(struct listing_ini *st)
{
    char url[300], host[ADDR_IP6_STRLEN];
    size_t n = strlen(st->http_url);
    while (n > 0 && st->http_url[n - 1] == '/')
        n--;
    if (n > 0) {
        snprintf(url, sizeof(url), "%.*s", (int)n, st->http_url);
    } else if (st->http_addr.ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&st->http_addr.ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(url, sizeof(url), "http://[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&st->http_addr.ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(url, sizeof(url), "http://%s:%u", host, ntohs(a->sin_port));
    }
    int len = snprintf(st->c->txt, sizeof(st->c->txt), "Blocked - see %s/lookup?ip=$", url);
    /* A public-url too long for a TXT string keeps the plain default. */
    if (len < 0 || len > 255)
        snprintf(st->c->txt, sizeof(st->c->txt), "%s", LISTING_DEFAULT_TXT);
}

/* A relative database path is relative to the configuration file's
 * directory, whatever directory a command runs in. */
static int listing_conf_relative(struct listing_conf *c)
{
    char *abs = realpath(c->path, NULL);
    if (!abs)
        return ERR_IO;
    char *slash = strrchr(abs, '/');
    *slash = '\0';
    size_t n = strlen(abs) + strlen(c->database) + 2;
    char *full = malloc(n);
    if (!full) {
        free(abs);
        return ERR_NOMEM;
    }
    snprintf(full, n, "%s/%s", abs, c->database);
    free(abs);
    free(c->database);
    c->database = full;
    return 0;
}

int listing_conf_load(const char *path, struct listing_conf *c, char *err, size_t errsz)
{
    struct listing_ini st = {.c = c, .path = path, .err = err, .errsz = errsz};
    err[0] = '\0';
    if (!(c->path = strdup(path)))
        return ERR_NOMEM;
    int rc = inifile_load(path, &st.line, listing_handler, &st, err, errsz);
    if (rc)
        return rc;
    if (st.http_listen && !st.txt_given)
        listing_conf_http_txt(&st);
    if (!c->database && !(c->database = strdup(LISTING_DEFAULT_DB))) {
        snprintf(err, errsz, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    if (c->database[0] != '/' && (rc = listing_conf_relative(c)) != 0) {
        snprintf(err, errsz, "%s: cannot resolve database '%s': %s", path, c->database,
                 err_str(rc));
        return rc;
    }
    if (c->policy.report_floor > c->policy.report_fresh) {
        snprintf(err, errsz, "%s: report-weight-floor is above report-weight", path);
        return ERR_INVAL;
    }
    return 0;
}

int listing_zone_key(const char *zone, char *out, size_t outsz)
{
    size_t n = strlen(zone);
    while (n > 0 && zone[n - 1] == '.')
        n--;
    if (n == 0 || n >= outsz || n > 253)
        return ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)zone[i];
        if (ch <= ' ' || ch >= 127)
            return ERR_INVAL;
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    return 0;
}
