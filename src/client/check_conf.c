/* Reading [check] and [list ZONE] of dnsblkit.conf. */
#include "client/check_conf.h"
#include "common/addr.h"
#include "common/duration.h"
#include "common/err.h"
#include "common/inifile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void check_conf_init(struct check_conf *c)
{
    memset(c, 0, sizeof(*c));
    checker_conf_init(&c->ck);
}

int check_conf_add_spec(struct check_conf *c, const char *text, bool domain, char *why,
                        size_t whysz)
{
    if (c->nspecs == CHECKER_MAX_SPECS) {
        snprintf(why, whysz, "more than %d list specs", CHECKER_MAX_SPECS);
        return ERR_LIMIT;
    }
    struct check_conf_spec *s = &c->specs[c->nspecs];
    if (listspec_parse(text, &s->spec, why, whysz) < 0)
        return ERR_INVAL;
    s->kind = domain ? CHECKER_DOMAIN : CHECKER_IP;
    s->enabled = true;
    c->nspecs++;
    return 0;
}

struct check_ini {
    struct check_conf *c;
    const char *path;
    char *err;
    size_t errsz;
    int line;
};

static int check_fail(struct check_ini *st, const char *key, const char *value, const char *want)
{
    snprintf(st->err, st->errsz, "%s:%d: bad %s '%s' (%s)", st->path, st->line, key, value, want);
    return 0;
}

static int check_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return ERR_INVAL;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n < min || n > max)
        return ERR_RANGE;
    *out = n;
    return 0;
}

/* "lists" and "domain-lists": specs separated by blanks or commas. */
static int check_specs(struct check_ini *st, const char *key, const char *value, bool domain)
{
    char buf[4096];
    if (strlen(value) >= sizeof(buf))
        return check_fail(st, key, "...", "too long");
    memcpy(buf, value, strlen(value) + 1);
    for (char *save, *tok = strtok_r(buf, " \t,", &save); tok;
         tok = strtok_r(NULL, " \t,", &save)) {
        char why[160];
        if (check_conf_add_spec(st->c, tok, domain, why, sizeof(why)) < 0) {
            snprintf(st->err, st->errsz, "%s:%d: bad list '%s': %s", st->path, st->line, tok, why);
            return 0;
        }
    }
    return 1;
}

/* Every address of a resolver list parses (addr/port, blank- or
 * comma-separated). */
static bool check_addrs_valid(const char *value)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", value);
    unsigned n = 0;
    for (char *save, *tok = strtok_r(buf, " \t,", &save); tok;
         tok = strtok_r(NULL, " \t,", &save)) {
        struct addr_sock a;
        if (addr_sock_parse(tok, 53, &a) < 0)
            return false;
        n++;
    }
    return n > 0;
}

static int check_section(struct check_ini *st, const char *key, const char *value)
{
    struct check_conf *c = st->c;
    uint32_t v;
    unsigned long n;
    if (!strcmp(key, "lists"))
        return check_specs(st, key, value, false);
    if (!strcmp(key, "domain-lists"))
        return check_specs(st, key, value, true);
    if (!strcmp(key, "resolver")) {
        if (strlen(value) >= sizeof(c->resolver) || !value[0] || !check_addrs_valid(value))
            return check_fail(st, key, value, "addr/port[, addr/port...]");
        memcpy(c->resolver, value, strlen(value) + 1);
        c->ck.resolver.servers = c->resolver;
        return 1;
    }
    if (!strcmp(key, "timeout")) {
        if (duration_parse_ms(value, &v) < 0 || v < 10 || v > 60000)
            return check_fail(st, key, value, "10ms..60s, such as 800ms or 2s");
        c->ck.resolver.timeout_ms = v;
        return 1;
    }
    if (!strcmp(key, "tries")) {
        if (check_uint(value, 1, 10, &n) < 0)
            return check_fail(st, key, value, "1..10");
        c->ck.resolver.tries = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "min-ttl") || !strcmp(key, "max-ttl")) {
        if (duration_parse(value, &v) < 0)
            return check_fail(st, key, value, "a duration such as 60s or 1h");
        *(key[1] == 'i' ? &c->ck.min_ttl : &c->ck.max_ttl) = v;
        return 1;
    }
    if (!strcmp(key, "cache-size")) {
        if (check_uint(value, 0, 10000000, &n) < 0)
            return check_fail(st, key, value, "0..10000000 answers; 0 = no cache");
        c->ck.cache_entries = n;
        return 1;
    }
    if (!strcmp(key, "probe-interval")) {
        if (duration_parse_ms(value, &v) < 0 || v < 100)
            return check_fail(st, key, value, "a duration of at least 100ms, such as 30s");
        c->ck.probe_interval_ms = v;
        return 1;
    }
    if (!strcmp(key, "freshness")) {
        if (duration_parse_ms(value, &v) < 0 || (v > 0 && v < 100))
            return check_fail(st, key, value, "0, or a duration of at least 100ms, such as 10s");
        c->ck.fresh_ms = v;
        return 1;
    }
    if (!strcmp(key, "sick-after") || !strcmp(key, "healthy-after")) {
        if (check_uint(value, 1, 100, &n) < 0)
            return check_fail(st, key, value, "1..100 probe rounds");
        *(key[0] == 's' ? &c->ck.health.sick_after : &c->ck.health.healthy_after) = (unsigned)n;
        return 1;
    }
    if (!strcmp(key, "threshold")) {
        char *end;
        long t = strtol(value, &end, 10);
        /* Below 1, a subject no list answered would be "listed". */
        if (!value[0] || *end || t < 1 || t > 100000)
            return check_fail(st, key, value, "a whole number 1..100000, such as 1 or 3");
        c->ck.threshold = (int)t;
        return 1;
    }
    if (!strcmp(key, "on-change")) {
        if (strlen(value) >= sizeof(c->on_change) || !value[0])
            return check_fail(st, key, value, "a command");
        memcpy(c->on_change, value, strlen(value) + 1);
        c->ck.on_change = c->on_change;
        return 1;
    }
    snprintf(st->err, st->errsz, "%s:%d: unknown key '%s' in [check]", st->path, st->line, key);
    return 0;
}

static int check_list_section(struct check_ini *st, const char *zone, const char *key,
                              const char *value)
{
    struct check_conf *c = st->c;
    unsigned i;
    for (i = 0; i < c->nzones; i++)
        if (!strcasecmp(c->zone[i].zone, zone))
            break;
    if (i == c->nzones) {
        if (c->nzones == CHECKER_MAX_LISTS || strlen(zone) > LISTSPEC_ZONE_MAX) {
            snprintf(st->err, st->errsz, "%s:%d: too many [list] sections or too long a name",
                     st->path, st->line);
            return 0;
        }
        snprintf(c->zone[i].zone, sizeof(c->zone[i].zone), "%s", zone);
        /* As the specs' zones: no trailing dot. */
        size_t zl = strlen(c->zone[i].zone);
        while (zl > 1 && c->zone[i].zone[zl - 1] == '.')
            c->zone[i].zone[--zl] = '\0';
        for (char *p = c->zone[i].zone; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        c->zone[i].enabled = -1;
        c->zone[i].kind = -1;
        c->zone[i].line = st->line;
        c->nzones++;
    }
    bool b;
    if (!strcmp(key, "enabled")) {
        if (inifile_bool(value, &b) < 0)
            return check_fail(st, key, value, "yes or no");
        c->zone[i].enabled = b;
        return 1;
    }
    if (!strcmp(key, "kind")) {
        if (!strcmp(value, "ip"))
            c->zone[i].kind = CHECKER_IP;
        else if (!strcmp(value, "ip6"))
            c->zone[i].kind = CHECKER_IP6;
        else if (!strcmp(value, "domain"))
            c->zone[i].kind = CHECKER_DOMAIN;
        else
            return check_fail(st, key, value, "ip, ip6 or domain");
        return 1;
    }
    snprintf(st->err, st->errsz, "%s:%d: unknown key '%s' in [list %s]", st->path, st->line, key,
             zone);
    return 0;
}

static int check_handler(void *user, const char *section, const char *key, const char *value)
{
    struct check_ini *st = user;
    if (!strcmp(section, "check"))
        return check_section(st, key, value);
    if (!strncmp(section, "list ", 5)) {
        const char *zone = section + 5;
        while (*zone == ' ')
            zone++;
        return check_list_section(st, zone, key, value);
    }
    return 1; /* other sections have their own readers */
}

int check_conf_load(struct check_conf *c, const char *path, char *err, size_t errsz)
{
    struct check_ini st = {c, path, err, errsz, 0};
    err[0] = '\0';
    return inifile_load(path, &st.line, check_handler, &st, err, errsz);
}

int check_conf_set(struct check_conf *c, const char *section, const char *key, const char *value,
                   char *err, size_t errsz)
{
    struct check_ini st = {c, "(setting)", err, errsz, 0};
    err[0] = '\0';
    if (strcmp(section, "check") != 0 && strncmp(section, "list ", 5) != 0) {
        snprintf(err, errsz, "no section [%s] here: [check] or [list ZONE]", section);
        return ERR_INVAL;
    }
    return check_handler(&st, section, key, value) ? 0 : ERR_INVAL;
}

int check_conf_finish(struct check_conf *c, const char *path, char *err, size_t errsz)
{
    for (unsigned z = 0; z < c->nzones; z++) {
        bool found = false;
        for (unsigned i = 0; i < c->nspecs; i++) {
            struct check_conf_spec *s = &c->specs[i];
            if (strcmp(s->spec.zone, c->zone[z].zone) != 0)
                continue;
            found = true;
            if (c->zone[z].enabled >= 0)
                s->enabled = c->zone[z].enabled;
            if (c->zone[z].kind >= 0)
                s->kind = (enum checker_kind)c->zone[z].kind;
        }
        if (!found) {
            snprintf(err, errsz, "%s:%d: [list %s] names no list of [check] lists or domain-lists",
                     path ? path : "(config)", c->zone[z].line, c->zone[z].zone);
            return ERR_INVAL;
        }
    }
    /* Specs of one zone are one list: they must agree on what it is. */
    for (unsigned i = 0; i < c->nspecs; i++)
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(c->specs[i].spec.zone, c->specs[j].spec.zone) &&
                c->specs[i].kind != c->specs[j].kind) {
                snprintf(err, errsz, "list %s is both a domain list and an address list",
                         c->specs[i].spec.zone);
                return ERR_INVAL;
            }
    if (c->ck.min_ttl > c->ck.max_ttl) {
        snprintf(err, errsz, "min-ttl %u is above max-ttl %u", c->ck.min_ttl, c->ck.max_ttl);
        return ERR_INVAL;
    }
    return 0;
}

int check_conf_checker(const struct check_conf *c, struct checker **out, char *err, size_t errsz)
{
    struct checker *ck;
    int rc = checker_new(&c->ck, &ck, err, errsz);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < c->nspecs; i++) {
        const struct check_conf_spec *s = &c->specs[i];
        if ((rc = checker_add(ck, &s->spec, s->kind, s->enabled)) < 0) {
            snprintf(err, errsz, "list %s: %s", s->spec.zone,
                     rc == ERR_LIMIT ? "more than 64 lists" : "its specs disagree");
            checker_free(ck);
            return rc;
        }
    }
    *out = ck;
    return 0;
}
