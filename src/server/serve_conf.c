/* Parsing the serve configuration from rbldnsd-style options and INI. */
#include "server/serve_conf.h"
#include "common/duration.h"
#include "common/err.h"
#include "common/inifile.h"
#include "common/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* rbldnsd refuses entries shorter than nothing; we refuse /0../7 and more
 * than 2^28 IPv4 addresses per zone unless told otherwise. */
#define SERVE_MIN_PREFIX 8
#define SERVE_MAX_IP4 (1ull << 28)

void serve_conf_init(struct serve_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->ttl_default = SERVE_DEFAULT_TTL;
    c->ttl_min = 0;
    c->ttl_max = UINT32_MAX;
    c->check_interval = 60;
    c->shrink_limit = SERVE_DEFAULT_SHRINK;
    c->tcp_idle = 10;
    c->tcp_max_clients = 512;
    c->tcp_per_address = TCP_LIMITS_DEFAULT_PER_ADDRESS;
    c->tcp_max_time = TCP_LIMITS_DEFAULT_MAX_TIME;
    c->tcp_max_queries = TCP_LIMITS_DEFAULT_MAX_QUERIES;
    c->log_level = LOG_INFO;
    ratelimit_conf_init(&c->ratelimit);
}

void serve_conf_free(struct serve_conf *c)
{
    for (unsigned i = 0; i < c->nzones; i++) {
        for (unsigned j = 0; j < c->zones[i].nspecs; j++)
            free(c->zones[i].specs[j]);
        free(c->zones[i].specs);
        free(c->zones[i].keys);
        free(c->zones[i].name);
    }
    free(c->zones);
    free(c->pidfile);
    free(c->workdir);
    free(c->chroot_dir);
    free(c->state_dir);
    if (c->tsig_keys) /* the secrets; a memset before free is optimised away */
        explicit_bzero(c->tsig_keys, c->ntsig_keys * sizeof(*c->tsig_keys));
    free(c->tsig_keys);
    memset(c, 0, sizeof(*c));
}

int serve_conf_add_listen(struct serve_conf *c, const char *spec)
{
    if (c->nlisten >= SERVE_MAX_LISTEN)
        return ERR_LIMIT;
    int rc = addr_sock_parse(spec, SERVE_DEFAULT_PORT, &c->listen[c->nlisten]);
    if (rc < 0)
        return rc;
    c->nlisten++;
    return 0;
}

static struct serve_zone_conf *serve_conf_zone(struct serve_conf *c, const char *name, size_t len)
{
    /* Zone names compare without case and without a trailing dot. */
    while (len > 1 && name[len - 1] == '.')
        len--;
    for (unsigned i = 0; i < c->nzones; i++) {
        const char *zn = c->zones[i].name;
        if (strlen(zn) == len && strncasecmp(zn, name, len) == 0)
            return &c->zones[i];
    }
    struct serve_zone_conf *nz = realloc(c->zones, (c->nzones + 1) * sizeof(*nz));
    if (!nz)
        return NULL;
    c->zones = nz;
    struct serve_zone_conf *z = &c->zones[c->nzones];
    memset(z, 0, sizeof(*z));
    z->name = strndup(name, len);
    if (!z->name)
        return NULL;
    z->limits.min_prefix4 = SERVE_MIN_PREFIX;
    z->limits.min_prefix6 = SERVE_MIN_PREFIX;
    z->limits.max_ip4_total = SERVE_MAX_IP4;
    z->shrink_limit = -1;
    c->nzones++;
    return z;
}

static int serve_conf_zone_add_spec(struct serve_zone_conf *z, const char *spec)
{
    char **ns = realloc(z->specs, (z->nspecs + 1) * sizeof(*ns));
    if (!ns)
        return ERR_NOMEM;
    z->specs = ns;
    z->specs[z->nspecs] = strdup(spec);
    if (!z->specs[z->nspecs])
        return ERR_NOMEM;
    z->nspecs++;
    return 0;
}

static bool serve_conf_valid_spec(const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || colon[1] == '\0')
        return false;
    char type[32];
    size_t tl = (size_t)(colon - spec);
    if (tl >= sizeof(type))
        return false;
    memcpy(type, spec, tl);
    type[tl] = '\0';
    return dataset_type(type) != NULL;
}

int serve_conf_add_zonespec(struct serve_conf *c, const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!colon || !serve_conf_valid_spec(colon + 1))
        return ERR_INVAL;
    /* An empty zone name is rbldnsd's global ACL (":acl:file"). */
    if (colon == spec && strncmp(colon + 1, "acl:", 4) != 0)
        return ERR_INVAL;
    struct serve_zone_conf *z = serve_conf_zone(c, spec, (size_t)(colon - spec));
    if (!z)
        return ERR_NOMEM;
    return serve_conf_zone_add_spec(z, colon + 1);
}

int serve_conf_parse_duration(const char *s, uint32_t *out)
{
    return duration_parse(s, out);
}

int serve_conf_parse_ttl(struct serve_conf *c, const char *spec)
{
    char buf[64];
    if (strlen(spec) >= sizeof(buf))
        return ERR_INVAL;
    strcpy(buf, spec);
    char *parts[3] = {buf, NULL, NULL};
    char *p = strchr(buf, ':');
    if (p) {
        *p = '\0';
        parts[1] = p + 1;
        p = strchr(parts[1], ':');
        if (p) {
            *p = '\0';
            parts[2] = p + 1;
        }
    }
    uint32_t v[3] = {c->ttl_default, c->ttl_min, c->ttl_max};
    for (int i = 0; i < 3; i++) {
        if (!parts[i] || parts[i][0] == '\0')
            continue;
        int rc = serve_conf_parse_duration(parts[i], &v[i]);
        if (rc < 0)
            return rc;
    }
    /* As in rbldnsd, a zero minimum or maximum means "no constraint". */
    if (v[2] == 0)
        v[2] = UINT32_MAX;
    if (v[1] > v[2])
        return ERR_RANGE;
    c->ttl_default = v[0];
    c->ttl_min = v[1];
    c->ttl_max = v[2];
    return 0;
}

static int serve_conf_uint(const char *v, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return ERR_INVAL;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end != '\0' || x > max)
        return ERR_RANGE;
    *out = x;
    return 0;
}

/* "50" or "50%". */
static int serve_conf_percent(const char *v, unsigned long long *out)
{
    char buf[16];
    size_t len = strlen(v);
    if (len == 0 || len >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, v, len + 1);
    if (buf[len - 1] == '%')
        buf[len - 1] = '\0';
    return serve_conf_uint(buf, 100, out);
}

struct serve_ini_state {
    struct serve_conf *c;
    const char *path;
    char *err;
    size_t errsz;
    int line; /* counted by inifile_load */
};

static int serve_ini_fail(struct serve_ini_state *st, int line, const char *fmt, const char *a,
                          const char *b)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, a, b);
    snprintf(st->err, st->errsz, "%s:%d: %s", st->path, line, msg);
    return 0;
}

/* The rate-limit keys of [server] (BIND's and Knot's RRL settings). */
static int serve_ini_ratelimit(struct serve_ini_state *st, const char *key, const char *value,
                               int line)
{
    struct ratelimit_conf *rl = &st->c->ratelimit;
    unsigned long long n;
    if (!strcmp(key, "rate-limit")) {
        if (serve_conf_uint(value, RATELIMIT_MAX_RATE, &n) < 0)
            return serve_ini_fail(
                st, line, "bad rate-limit '%s' (responses per second, 0..16777215; 0 = off)%s",
                value, "");
        rl->rate = (uint32_t)n;
        return 1;
    }
    if (!strcmp(key, "rate-limit-slip")) {
        if (serve_conf_uint(value, 100, &n) < 0)
            return serve_ini_fail(st, line, "bad rate-limit-slip '%s' (0..100)%s", value, "");
        rl->slip = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "rate-limit-ipv4-prefix")) {
        if (serve_conf_uint(value, 32, &n) < 0 || n == 0)
            return serve_ini_fail(st, line, "bad rate-limit-ipv4-prefix '%s' (1..32)%s", value, "");
        rl->v4_prefix = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "rate-limit-ipv6-prefix")) {
        if (serve_conf_uint(value, 128, &n) < 0 || n == 0)
            return serve_ini_fail(st, line, "bad rate-limit-ipv6-prefix '%s' (1..128)%s", value,
                                  "");
        rl->v6_prefix = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "rate-limit-table-size")) {
        if (serve_conf_uint(value, 1u << 24, &n) < 0 || n < 1024)
            return serve_ini_fail(st, line, "bad rate-limit-table-size '%s' (1024..16777216)%s",
                                  value, "");
        rl->table = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "rate-limit-exempt")) {
        /* A list, and the key may repeat: each adds to it, but the first
         * replaces the default (loopback); "none" exempts nobody. */
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", value);
        if (rl->exempt_default) {
            rl->nexempt = 0;
            rl->exempt_default = false;
        }
        for (char *save, *tok = strtok_r(buf, " \t,", &save); tok;
             tok = strtok_r(NULL, " \t,", &save)) {
            if (!strcmp(tok, "none"))
                continue;
            if (rl->nexempt >= RATELIMIT_MAX_EXEMPT)
                return serve_ini_fail(st, line,
                                      "too many rate-limit-exempt networks (at most %s)%s",
                                      RATELIMIT_MAX_EXEMPT_TEXT, "");
            if (addr_net_parse(tok, &rl->exempt[rl->nexempt]) < 0)
                return serve_ini_fail(st, line, "bad rate-limit-exempt network '%s'%s", tok, "");
            rl->nexempt++;
        }
        return 1;
    }
    return serve_ini_fail(st, line, "unknown key '%s' in [server]%s", key, "");
}

/* A tsig-key line. The secrets are wiped wherever a copy is left:
 * explicit_bzero, since a memset of memory about to be freed or of a
 * dying local is optimised away; and no realloc, which would leave the
 * old array's copy in freed memory. */
static int serve_ini_tsig_key(struct serve_ini_state *st, const char *value, int line)
{
    struct serve_conf *c = st->c;
    struct tsig_key k;
    char why[200];
    int rc = 1;
    if (tsig_key_parse(value, &k, why, sizeof(why)) < 0) {
        rc = serve_ini_fail(st, line, "bad tsig-key: %s%s", why, "");
        goto out;
    }
    for (unsigned i = 0; i < c->ntsig_keys; i++)
        if (name_equal(c->tsig_keys[i].name, k.name)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "tsig-key %.100s given twice", k.text);
            rc = serve_ini_fail(st, line, "%s%s", msg, "");
            goto out;
        }
    struct tsig_key *nk = malloc((c->ntsig_keys + 1) * sizeof(*nk));
    if (!nk) {
        rc = serve_ini_fail(st, line, "out of memory%s%s", "", "");
        goto out;
    }
    if (c->ntsig_keys) {
        memcpy(nk, c->tsig_keys, c->ntsig_keys * sizeof(*nk));
        explicit_bzero(c->tsig_keys, c->ntsig_keys * sizeof(*nk));
    }
    free(c->tsig_keys);
    c->tsig_keys = nk;
    c->tsig_keys[c->ntsig_keys++] = k;
out:
    explicit_bzero(&k, sizeof(k));
    return rc;
}

/* notify-source = ADDR [ADDR]: the address NOTIFYs leave from, one of
 * each family at most; the port is the kernel's. */
static int serve_ini_notify_source(struct serve_ini_state *st, const char *value, int line)
{
    struct serve_conf *c = st->c;
    struct addr_sock src[2] = {{.len = 0}, {.len = 0}};
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", value);
    for (char *save, *tok = strtok_r(buf, " \t,", &save); tok;
         tok = strtok_r(NULL, " \t,", &save)) {
        struct addr_sock a;
        uint64_t hi, lo;
        /* An address, not "*" and not one with a port: 0 binds to any. */
        /* An IPv4-mapped IPv6 address would bind the IPv6 socket to
         * something no IPv6 NOTIFY can leave from: refused too. */
        if (tok[0] == '*' || strpbrk(tok, "@/") || addr_sock_parse(tok, 0, &a) < 0 ||
            !addr_sock_128((const struct sockaddr *)&a.ss, &hi, &lo) || (hi == 0 && lo == 0) ||
            (addr_128_is_ip4(hi, lo) && (a.ss.ss_family == AF_INET6 || (uint32_t)lo == 0)))
            return serve_ini_fail(st, line,
                                  "bad notify-source '%s' (want an IPv4 and/or an "
                                  "IPv6 address)%s",
                                  tok, "");
        unsigned i = a.ss.ss_family == AF_INET ? 0 : 1;
        if (src[i].len)
            return serve_ini_fail(st, line, "notify-source has two %s addresses%s",
                                  i ? "IPv6" : "IPv4", "");
        src[i] = a;
    }
    if (!src[0].len && !src[1].len)
        return serve_ini_fail(st, line, "empty notify-source%s%s", "", "");
    memcpy(c->notify_source, src, sizeof(src));
    return 1;
}

static int serve_ini_server(struct serve_ini_state *st, const char *key, const char *value,
                            int line)
{
    struct serve_conf *c = st->c;
    unsigned long long n;
    bool b;
    if (!strcmp(key, "listen")) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", value);
        for (char *save, *tok = strtok_r(buf, " \t,", &save); tok;
             tok = strtok_r(NULL, " \t,", &save))
            if (serve_conf_add_listen(c, tok) < 0)
                return serve_ini_fail(st, line, "bad listen address '%s'%s", tok, "");
        return 1;
    }
    if (!strcmp(key, "ttl")) {
        if (serve_conf_parse_ttl(c, value) < 0)
            return serve_ini_fail(st, line, "bad ttl '%s' (want defttl[:minttl[:maxttl]])%s", value,
                                  "");
        return 1;
    }
    if (!strcmp(key, "check-interval")) {
        uint32_t v;
        if (serve_conf_parse_duration(value, &v) < 0)
            return serve_ini_fail(st, line, "bad check-interval '%s'%s", value, "");
        c->check_interval = v;
        return 1;
    }
    if (!strcmp(key, "threads")) {
        if (!strcmp(value, "auto")) {
            c->threads = 0;
            return 1;
        }
        if (serve_conf_uint(value, 64, &n) < 0)
            return serve_ini_fail(st, line, "bad threads '%s' (1..64 or auto)%s", value, "");
        c->threads = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "tcp-idle-timeout")) {
        uint32_t v;
        if (serve_conf_parse_duration(value, &v) < 0 || v == 0)
            return serve_ini_fail(st, line, "bad tcp-idle-timeout '%s'%s", value, "");
        c->tcp_idle = v;
        return 1;
    }
    if (!strcmp(key, "tcp-clients")) {
        if (serve_conf_uint(value, 65536, &n) < 0 || n == 0)
            return serve_ini_fail(st, line, "bad tcp-clients '%s'%s", value, "");
        c->tcp_max_clients = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "tcp-clients-per-address")) {
        if (serve_conf_uint(value, 65536, &n) < 0)
            return serve_ini_fail(
                st, line, "bad tcp-clients-per-address '%s' (0..65536; 0 = no limit)%s", value, "");
        c->tcp_per_address = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "tcp-max-time")) {
        uint32_t v;
        if (serve_conf_parse_duration(value, &v) < 0)
            return serve_ini_fail(st, line, "bad tcp-max-time '%s' (a time; 0 = no limit)%s", value,
                                  "");
        c->tcp_max_time = v;
        return 1;
    }
    if (!strcmp(key, "tcp-max-queries")) {
        if (serve_conf_uint(value, 1000000000, &n) < 0)
            return serve_ini_fail(
                st, line, "bad tcp-max-queries '%s' (0..1000000000; 0 = no limit)%s", value, "");
        c->tcp_max_queries = (unsigned)n;
        return 1;
    }
    if (!strncmp(key, "rate-limit", 10))
        return serve_ini_ratelimit(st, key, value, line);
    if (!strcmp(key, "log")) {
        if (!strcmp(value, "syslog"))
            c->use_syslog = true;
        else if (!strcmp(value, "stderr"))
            c->use_syslog = false;
        else
            return serve_ini_fail(st, line, "bad log '%s' (stderr or syslog)%s", value, "");
        return 1;
    }
    if (!strcmp(key, "log-level")) {
        static const struct {
            const char *name;
            int level;
        } levels[] = {
            {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
            if (!strcmp(value, levels[i].name)) {
                c->log_level = levels[i].level;
                return 1;
            }
        return serve_ini_fail(st, line, "bad log-level '%s'%s", value, "");
    }
    if (!strcmp(key, "allow-world")) {
        if (inifile_bool(value, &b) < 0)
            return serve_ini_fail(st, line, "bad allow-world '%s' (yes or no)%s", value, "");
        c->allow_world = b;
        return 1;
    }
    if (!strcmp(key, "shrink-limit")) {
        if (serve_conf_percent(value, &n) < 0)
            return serve_ini_fail(st, line, "bad shrink-limit '%s' (a percentage, 0..100)%s", value,
                                  "");
        c->shrink_limit = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "acl")) {
        /* The global ACL, rbldnsd's ":acl:file[,file]". */
        char spec[1100];
        snprintf(spec, sizeof(spec), ":acl:%s", value);
        if (value[0] == '\0' || serve_conf_add_zonespec(c, spec) < 0)
            return serve_ini_fail(st, line, "bad acl '%s' (want file[,file])%s", value, "");
        return 1;
    }
    char xwhy[160];
    int xr = xfr_conf_key(&c->xfr, key, value, xwhy, sizeof(xwhy));
    if (xr > 0 && !strcmp(key, "transfer-key"))
        c->xfr.key_line = line;
    if (xr != 0)
        return xr > 0 ? 1 : serve_ini_fail(st, line, "%s%s", xwhy, "");
    if (!strcmp(key, "pidfile")) {
        free(c->pidfile);
        c->pidfile = strdup(value);
        return c->pidfile ? 1 : 0;
    }
    if (!strcmp(key, "user")) {
        char why[160];
        if (privdrop_parse(value, &c->user, why, sizeof(why)) < 0)
            return serve_ini_fail(st, line, "%s%s", why, "");
        return 1;
    }
    if (!strcmp(key, "tsig-key"))
        return serve_ini_tsig_key(st, value, line);
    if (!strcmp(key, "notify-source"))
        return serve_ini_notify_source(st, value, line);
    if (!strcmp(key, "state-dir")) {
        if (value[0] == '\0')
            return serve_ini_fail(st, line, "bad state-dir '' (want a directory)%s%s", "", "");
        free(c->state_dir);
        c->state_dir = strdup(value);
        return c->state_dir ? 1 : 0;
    }
    if (!strcmp(key, "chroot")) {
        if (value[0] != '/')
            return serve_ini_fail(st, line, "bad chroot '%s' (want an absolute path)%s", value, "");
        free(c->chroot_dir);
        c->chroot_dir = strdup(value);
        return c->chroot_dir ? 1 : 0;
    }
    return serve_ini_fail(st, line, "unknown key '%s' in [server]%s", key, "");
}

static int serve_ini_zone(struct serve_ini_state *st, const char *zone, const char *key,
                          const char *value, int line)
{
    struct serve_zone_conf *z = serve_conf_zone(st->c, zone, strlen(zone));
    unsigned long long n;
    bool b;
    if (!z)
        return serve_ini_fail(st, line, "out of memory%s%s", "", "");
    if (!strcmp(key, "data")) {
        if (!serve_conf_valid_spec(value))
            return serve_ini_fail(st, line, "bad data '%s' (want type:file[,file])%s", value, "");
        if (serve_conf_zone_add_spec(z, value) < 0)
            return serve_ini_fail(st, line, "out of memory%s%s", "", "");
        return 1;
    }
    if (!strcmp(key, "dataset")) {
        /* Live data from the listing database named in [listing] of this
         * same file: the dataset reads the file again for it. */
        char *abs = realpath(st->path, NULL);
        char spec[PATH_MAX + 32];
        if (strcmp(value, "listing") != 0) {
            free(abs);
            return serve_ini_fail(st, line, "bad dataset '%s' (the one kind is: listing)%s", value,
                                  "");
        }
        snprintf(spec, sizeof(spec), "listing:%s", abs ? abs : st->path);
        free(abs);
        if (serve_conf_zone_add_spec(z, spec) < 0)
            return serve_ini_fail(st, line, "out of memory%s%s", "", "");
        return 1;
    }
    if (!strcmp(key, "allow-world")) {
        if (inifile_bool(value, &b) < 0)
            return serve_ini_fail(st, line, "bad allow-world '%s' (yes or no)%s", value, "");
        z->limits.allow_world = b;
        return 1;
    }
    if (!strcmp(key, "min-prefix4") || !strcmp(key, "min-prefix6")) {
        bool v4 = key[10] == '4';
        if (serve_conf_uint(value, v4 ? 32 : 128, &n) < 0)
            return serve_ini_fail(st, line, "bad %s '%s'", key, value);
        if (v4)
            z->limits.min_prefix4 = (unsigned)n;
        else
            z->limits.min_prefix6 = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "shrink-limit")) {
        if (serve_conf_percent(value, &n) < 0)
            return serve_ini_fail(st, line, "bad shrink-limit '%s' (a percentage, 0..100)%s", value,
                                  "");
        z->shrink_limit = (int)n;
        return 1;
    }
    char xwhy[160];
    int xr = xfr_conf_key(&z->xfr, key, value, xwhy, sizeof(xwhy));
    if (xr > 0 && !strcmp(key, "transfer-key"))
        z->xfr.key_line = line;
    if (xr != 0)
        return xr > 0 ? 1 : serve_ini_fail(st, line, "%s%s", xwhy, "");
    if (!strcmp(key, "keys")) {
        if (z->keys)
            return serve_ini_fail(st, line, "keys given twice in [zone %s] (one key file)%s", zone,
                                  "");
        if (value[0] == '\0')
            return serve_ini_fail(st, line, "bad keys '' (want a key file)%s%s", "", "");
        z->keys = strdup(value);
        return z->keys ? 1 : serve_ini_fail(st, line, "out of memory%s%s", "", "");
    }
    if (!strcmp(key, "max-ip4-addresses")) {
        if (serve_conf_uint(value, 1ull << 32, &n) < 0)
            return serve_ini_fail(st, line, "bad max-ip4-addresses '%s'%s", value, "");
        z->limits.max_ip4_total = n;
        return 1;
    }
    return serve_ini_fail(st, line, "unknown key '%s' in [zone %s]", key, zone);
}

static int serve_ini_handler(void *user, const char *section, const char *key, const char *value)
{
    struct serve_ini_state *st = user;
    int line = st->line;
    if (st->err[0])
        return 0;
    if (!strcmp(section, "server"))
        return serve_ini_server(st, key, value, line);
    if (!strncmp(section, "zone ", 5) && section[5])
        return serve_ini_zone(st, section + 5, key, value, line);
    /* Sections of other subcommands share the file; serve ignores them. */
    static const char *const others[] = {"listing", "http", "check", "policyd"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (!strcmp(section, others[i]))
            return 1;
    if (!strncmp(section, "list ", 5))
        return 1;
    return serve_ini_fail(st, line, "unknown section [%s]%s", section, "");
}

/* The tsig-key named `name` (text, any case, final dot or not). */
static const struct tsig_key *serve_conf_tsig_key(const struct serve_conf *c, const char *name)
{
    uint8_t wire[NAME_MAXWIRE];
    size_t len;
    if (name_from_text(name, wire, &len) < 0)
        return NULL;
    name_lower(wire);
    for (unsigned i = 0; i < c->ntsig_keys; i++)
        if (name_equal(c->tsig_keys[i].name, wire))
            return &c->tsig_keys[i];
    return NULL;
}

int serve_conf_load_file(struct serve_conf *c, const char *path, char *errbuf, size_t errsz)
{
    struct serve_ini_state st = {.c = c, .path = path, .err = errbuf, .errsz = errsz};
    int rc = inifile_load(path, &st.line, serve_ini_handler, &st, errbuf, errsz);
    if (rc != 0)
        return rc;
    /* A transfer-key names a tsig-key that may come later in the file:
     * looked up once the whole file is read, and said with its line. */
    for (unsigned i = 0; i <= c->nzones; i++) {
        const struct xfr_conf *x = i < c->nzones ? &c->zones[i].xfr : &c->xfr;
        if (x->key_line && x->key_name[0] && !serve_conf_tsig_key(c, x->key_name)) {
            snprintf(errbuf, errsz, "%s:%d: transfer-key %.255s is not a tsig-key of [server]",
                     path, x->key_line, x->key_name);
            return ERR_INVAL;
        }
    }
    return 0;
}

/* With a chroot, a data file given by its full path under the jail
 * ("/var/lib/jail/bl.ip4set" with -r /var/lib/jail) is opened by the
 * path inside it ("/bl.ip4set"): loads and reloads happen after the
 * chroot. Other paths are left as they are (inside the jail already). */
static int serve_conf_jail_spec(const char *root, char **spec)
{
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    const char *colon = strchr(*spec, ':');
    if (!colon)
        return 0;
    size_t cap = strlen(*spec) + 1, n = (size_t)(colon - *spec) + 1;
    char *out = malloc(cap);
    if (!out)
        return ERR_NOMEM;
    memcpy(out, *spec, n);
    for (const char *p = colon + 1; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > rl && !strncmp(p, root, rl) && p[rl] == '/') {
            p += rl;
            len -= rl;
        }
        memcpy(out + n, p, len);
        n += len;
        p += len;
        if (*p == ',')
            out[n++] = *p++;
    }
    out[n] = '\0';
    free(*spec);
    *spec = out;
    return 0;
}

/* The same for a key file's path. */
static void serve_conf_jail_path(const char *root, char *path)
{
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    if (strlen(path) > rl && !strncmp(path, root, rl) && path[rl] == '/')
        memmove(path, path + rl, strlen(path + rl) + 1);
}

int serve_conf_finish(struct serve_conf *c, char *errbuf, size_t errsz)
{
    for (unsigned i = 0; c->chroot_dir && i < c->nzones; i++) {
        for (unsigned j = 0; j < c->zones[i].nspecs; j++)
            if (serve_conf_jail_spec(c->chroot_dir, &c->zones[i].specs[j]) < 0) {
                snprintf(errbuf, errsz, "out of memory");
                return ERR_NOMEM;
            }
        if (c->zones[i].keys)
            serve_conf_jail_path(c->chroot_dir, c->zones[i].keys);
    }
    if (c->chroot_dir && c->state_dir)
        serve_conf_jail_path(c->chroot_dir, c->state_dir);
    if (c->nlisten == 0) {
        snprintf(errbuf, errsz, "no listen address (use -b addr/port or [server] listen)");
        return ERR_INVAL;
    }
    unsigned real_zones = 0;
    for (unsigned i = 0; i < c->nzones; i++) {
        struct serve_zone_conf *z = &c->zones[i];
        if (z->name[0])
            real_zones++;
        if (z->nspecs == 0) {
            snprintf(errbuf, errsz, "zone %s has no data", z->name);
            return ERR_INVAL;
        }
        /* rbldnsd: each zone needs at least one dataset besides its ACL. */
        unsigned nacl = 0;
        for (unsigned j = 0; j < z->nspecs; j++)
            nacl += strncmp(z->specs[j], "acl:", 4) == 0;
        if (z->name[0] && nacl == z->nspecs) {
            snprintf(errbuf, errsz, "zone %s has only acl data", z->name);
            return ERR_INVAL;
        }
        z->ctx.allow_hostbits = c->allow_hostbits;
        if (c->allow_world)
            z->limits.allow_world = true;
        if (z->shrink_limit < 0)
            z->shrink_limit = (int)c->shrink_limit;
        z->ctx.zone = z->name;
        xfr_conf_inherit(&z->xfr, &c->xfr);
        if (z->xfr.key_name[0]) {
            z->xfr.key = serve_conf_tsig_key(c, z->xfr.key_name);
            if (!z->xfr.key) {
                snprintf(errbuf, errsz, "zone %s: transfer-key %s is not a tsig-key of [server]",
                         z->name[0] ? z->name : "(global acl)", z->xfr.key_name);
                return ERR_INVAL;
            }
        }
        z->ctx.default_ttl = c->ttl_default;
        z->ctx.limits = z->limits;
    }
    if (real_zones == 0) {
        snprintf(errbuf, errsz, "no zones (give zone:type:file specs or [zone NAME] sections)");
        return ERR_INVAL;
    }
    return 0;
}
