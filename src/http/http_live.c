/* The HTTP thread's listing databases and the facts it shows about a
 * subject. */
#include "http/http_live.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "listing/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int http_lives_get(struct http_lives *ls, const char *config, struct http_live **out, char *err,
                   size_t errsz)
{
    int rc;
    for (unsigned i = 0; i < ls->n; i++)
        if (!strcmp(ls->v[i].config, config)) {
            *out = &ls->v[i];
            return 0;
        }
    struct http_live *v = realloc(ls->v, (ls->n + 1) * sizeof(*v));
    if (!v) {
        snprintf(err, errsz, "out of memory");
        return ERR_NOMEM;
    }
    ls->v = v;
    /* The array may have moved: the engines point at their configs. A
     * pointer from an earlier call is good only until the next one. */
    for (unsigned i = 0; i < ls->n; i++)
        ls->v[i].eng.conf = &ls->v[i].conf;
    struct http_live *l = &ls->v[ls->n];
    memset(l, 0, sizeof(*l));
    listing_conf_init(&l->conf);
    if (!(l->config = strdup(config))) {
        snprintf(err, errsz, "out of memory");
        rc = ERR_NOMEM;
        goto fail;
    }
    if ((rc = listing_conf_load(config, &l->conf, err, errsz)) != 0 ||
        (rc = store_open(l->conf.database, &l->st, err, errsz)) != 0 ||
        (rc = store_cache_size(l->st, l->conf.cache_mib)) != 0)
        goto fail;
    l->eng.st = l->st;
    l->eng.conf = &l->conf;
    ls->n++;
    *out = l;
    return 0;
fail:
    free(l->config);
    listing_conf_free(&l->conf);
    return rc;
}

void http_lives_free(struct http_lives *ls)
{
    for (unsigned i = 0; i < ls->n; i++) {
        free(ls->v[i].totals);
        store_close(ls->v[i].st);
        listing_conf_free(&ls->v[i].conf);
        free(ls->v[i].config);
    }
    free(ls->v);
    ls->v = NULL;
    ls->n = 0;
}

/* A count below this is cheap: counted again whenever it may be stale. */
#define HTTP_LIVE_CHEAP_MS 20
#define HTTP_LIVE_REUSE_FACTOR 100
#define HTTP_LIVE_REUSE_MAX_MS 60000

int64_t http_live_reuse_ms(int64_t took_ms)
{
    if (took_ms < HTTP_LIVE_CHEAP_MS)
        return 0;
    return took_ms > HTTP_LIVE_REUSE_MAX_MS / HTTP_LIVE_REUSE_FACTOR
               ? HTTP_LIVE_REUSE_MAX_MS
               : took_ms * HTTP_LIVE_REUSE_FACTOR;
}

static int64_t http_live_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct http_live_total *http_live_total_slot(struct http_live *l, const char *zone)
{
    for (unsigned i = 0; i < l->ntotals; i++)
        if (!strcmp(l->totals[i].zone, zone))
            return &l->totals[i];
    if (strlen(zone) >= sizeof(l->totals[0].zone))
        return NULL;
    struct http_live_total *v = realloc(l->totals, (l->ntotals + 1) * sizeof(*v));
    if (!v)
        return NULL;
    l->totals = v;
    struct http_live_total *t = &v[l->ntotals++];
    memset(t, 0, sizeof(*t));
    snprintf(t->zone, sizeof(t->zone), "%s", zone);
    return t;
}

int http_live_total(struct http_live *l, const char *zone, time_t now, uint64_t *total,
                    time_t *as_of)
{
    struct http_live_total *t = http_live_total_slot(l, zone);
    if (!t)
        return ERR_NOMEM;
    /* The change seq before the count: a write between the two makes the
     * kept count look older than it is (counted again), never newer. */
    uint64_t seq;
    int rc = store_last_change(l->st, zone, &seq);
    if (rc)
        return rc;
    /* A clock stepped back could bring ended listings back in force. */
    bool exact = t->counted && seq == t->seq && now >= t->at &&
                 (t->next_expiry == 0 || now < t->next_expiry);
    if (exact || (t->counted && http_live_mono_ms() < t->reuse_until_ms)) {
        *total = t->total;
        *as_of = exact ? now : t->at;
        return 0;
    }
    time_t next;
    uint64_t n;
    int64_t start = http_live_mono_ms();
    if ((rc = store_next_expiry(l->st, zone, now, &next)) != 0 ||
        (rc = store_count_listed(l->st, zone, now, &n)) != 0) {
        t->counted = false;
        return rc;
    }
    int64_t end = http_live_mono_ms(), reuse = http_live_reuse_ms(end - start);
    t->counted = true;
    t->total = n;
    t->seq = seq;
    t->at = now;
    t->next_expiry = next;
    t->reuse_until_ms = reuse ? end + reuse : 0;
    *total = n;
    *as_of = now;
    return 0;
}

int http_live_subject(const char *in, char *out, size_t outsz, struct netkey *key, bool *is_addr)
{
    uint32_t a4;
    uint8_t a6[16];
    char text[ADDR_IP6_STRLEN], name[256];
    *is_addr = false;
    if (!in)
        return ERR_INVAL;
    /* Final dots name the same subject: "192.0.2.1." is the address
     * (read as a domain it would be shown as the address and looked up
     * without the database's facts). */
    size_t n = strlen(in);
    while (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof(name))
        return ERR_INVAL;
    memcpy(name, in, n);
    name[n] = '\0';
    if (addr_ip4_parse(name, &a4) == 0) {
        addr_ip4_format(a4, text);
        netkey_from_ip4(a4, key);
        *is_addr = true;
    } else if (strchr(name, ':') && addr_ip6_parse(name, a6) == 0) {
        addr_ip6_format(a6, text);
        netkey_from_ip6(a6, key);
        *is_addr = true;
    }
    if (*is_addr) {
        if (strlen(text) >= outsz)
            return ERR_RANGE;
        snprintf(out, outsz, "%s", text);
        return 0;
    }
    /* A domain name: letters, digits, '-', '_' and dots; the server
     * checks the labels. */
    if (n > 253 || n >= outsz)
        return ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return ERR_INVAL;
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    return 0;
}

static void http_live_time(time_t t, char *out, size_t outsz)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The database's side of one live zone's facts. */
static int http_live_zone(struct http_live *l, const struct netkey *key, time_t now,
                          struct http_zone_facts *z)
{
    char zone[256];
    struct engine_status s;
    int rc = listing_zone_key(z->dns.zone, zone, sizeof(zone));
    if (rc == 0)
        rc = engine_status(&l->eng, zone, key, now, &s);
    if (rc)
        return rc;
    const struct store_listing *rec = s.listed ? &s.rec : s.covered ? &s.block : NULL;
    z->known = s.known;
    z->listed_itself = s.listed;
    z->covered = s.covered;
    z->escalated = s.escalated;
    if (s.covered)
        netkey_format(&s.block.key, z->covered_by, sizeof(z->covered_by));
    if (rec) {
        z->manual = rec->manual;
        snprintf(z->reason, sizeof(z->reason), "%s", rec->reason);
        z->listed_at = rec->listed_at;
        z->expires_at = rec->expires_at;
    }
    z->allowlisted = s.allowlisted;
    if (s.allowlisted)
        netkey_format(&s.allow_block, z->allow_block, sizeof(z->allow_block));
    z->reports = s.reports;
    z->traps = s.traps;
    z->evidence_days = l->conf.policy.evidence_window / 86400;
    z->history_count = s.history_count;
    z->history_secs = s.history_secs;

    /* The same rules as engine_self_remove, said before the owner asks. */
    bool single = key->bits == (key->family == 4 ? 32 : 64);
    if (s.listed && !s.rec.manual && single &&
        policy_removal_allowed(&l->conf.policy, s.rec.last_removal, now)) {
        z->removable = true;
    } else if (s.covered) {
        /* A copy: GCC cannot tell the two fields of *z apart. */
        char block[sizeof(z->covered_by)];
        memcpy(block, z->covered_by, sizeof(block));
        snprintf(z->removal_note, sizeof(z->removal_note),
                 "listed as part of %s: only the list's operators can end that listing", block);
    } else if (s.listed && s.rec.manual) {
        snprintf(z->removal_note, sizeof(z->removal_note),
                 "listed by the list's operators, not by evidence: ask them");
    } else if (s.listed) {
        char last[40], next[40];
        http_live_time(s.rec.last_removal, last, sizeof(last));
        http_live_time(s.rec.last_removal + (time_t)l->conf.policy.removal_interval, next,
                       sizeof(next));
        snprintf(z->removal_note, sizeof(z->removal_note),
                 "removed already on %s; the next removal is possible from %s", last, next);
    }
    return 0;
}

int http_live_facts(struct server *srv, struct server_reader *r, struct http_lives *ls,
                    const char *subject, time_t now, struct http_facts *f)
{
    struct server_lookup_result res;
    struct netkey key;
    bool is_addr;
    memset(f, 0, sizeof(*f));
    f->now = now;
    int rc = http_live_subject(subject, f->subject, sizeof(f->subject), &key, &is_addr);
    if (rc == 0)
        rc = server_lookup(srv, r, f->subject, &res);
    if (rc)
        return rc;
    for (unsigned i = 0; i < res.n && i < SERVER_LOOKUP_MAX_ZONES; i++) {
        struct http_zone_facts *z = &f->z[f->n++];
        z->dns = res.z[i];
        if (!res.z[i].live_config[0] || !is_addr)
            continue;
        z->live = true;
        struct http_live *l;
        char err[1024];
        if ((rc = http_lives_get(ls, res.z[i].live_config, &l, err, sizeof(err))) != 0) {
            log_warning("http: zone %s: %s", z->dns.zone, err);
            z->unavailable = true;
            continue;
        }
        if ((rc = http_live_zone(l, &key, now, z)) != 0) {
            log_warning("http: zone %s: %s", z->dns.zone, store_errmsg(l->st));
            z->unavailable = true;
        }
    }
    return 0;
}
