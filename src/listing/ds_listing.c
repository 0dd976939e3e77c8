/* The live listing dataset: a livemap version per dataset version, and
 * one database connection shared by the versions of a zone. */
#include "listing/ds_listing.h"
#include "common/err.h"
#include "common/log.h"
#include "listing/engine.h"
#include "listing/livemap.h"
#include "listing/store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What every version of one zone's dataset shares: the configuration,
 * the connection, the sweep clock. Only the reload thread uses it. */
struct listing_source {
    atomic_uint refs;
    struct listing_conf conf;
    struct store *st;
    char zone[256];
    time_t last_sweep;
    time_t last_error; /* of the last error logged by the poll */
};

struct listing_ds {
    struct listing_source *src;
    struct livemap *map;
    uint64_t seq; /* the last change this version has */
};

/* A records 127.0.0.N, for every code: rdata must outlive queries. */
#define LISTING_A1(n)                                                                              \
    {                                                                                              \
        127, 0, 0, (n)                                                                             \
    }
#define LISTING_A4(n) LISTING_A1(n), LISTING_A1((n) + 1), LISTING_A1((n) + 2), LISTING_A1((n) + 3)
#define LISTING_A16(n) LISTING_A4(n), LISTING_A4((n) + 4), LISTING_A4((n) + 8), LISTING_A4((n) + 12)
#define LISTING_A64(n)                                                                             \
    LISTING_A16(n), LISTING_A16((n) + 16), LISTING_A16((n) + 32), LISTING_A16((n) + 48)
static const uint8_t listing_a[256][4] = {LISTING_A64(0), LISTING_A64(64), LISTING_A64(128),
                                          LISTING_A64(192)};

static void listing_source_unref(struct listing_source *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    store_close(s->st);
    listing_conf_free(&s->conf);
    free(s);
}

static uint32_t listing_expiry(time_t t)
{
    return t <= 0 ? 0 : t > (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

struct listing_entries {
    struct livemap_entry *e;
    size_t n, cap;
};

static int listing_push(struct listing_entries *c, const struct netkey *k, uint8_t code,
                        uint32_t expires)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        struct livemap_entry *p = realloc(c->e, cap * sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        c->e = p;
        c->cap = cap;
    }
    c->e[c->n++] = (struct livemap_entry){*k, code, expires};
    return 0;
}

/* Loading: the database walks in key order, so the builder puts IPv4
 * hosts straight into their final arrays. */
static int listing_live_cb(const struct netkey *key, uint8_t code, time_t expires_at, void *arg)
{
    struct livemap_entry e = {*key, code, listing_expiry(expires_at)};
    return livemap_builder_add(arg, &e);
}

static int listing_allow_cb(const struct netkey *block, time_t when, const char *note, void *arg)
{
    struct livemap_entry e = {*block, LIVEMAP_EXCLUDE, 0};
    return livemap_builder_add(arg, &e);
}

struct listing_follow {
    struct listing_entries out;
    struct listing_source *src;
};

static int listing_change_cb(const struct store_change *c, void *arg)
{
    struct listing_follow *f = arg;
    uint8_t code = c->code;
    if (c->kind == STORE_CHANGE_ALLOW)
        code = c->code ? LIVEMAP_EXCLUDE : 0;
    /* Listings and allowlist entries share the map's keys: a listing
     * that ends on a key that is itself allowlisted leaves the
     * exclusion, not nothing. */
    struct netkey block;
    if (c->kind == STORE_CHANGE_LISTING && code == 0 &&
        store_allow_find(f->src->st, f->src->zone, &c->key, &block) == 0 &&
        block.bits == c->key.bits && block.hi == c->key.hi)
        code = LIVEMAP_EXCLUDE;
    return listing_push(&f->out, &c->key, code,
                        code == LIVEMAP_EXCLUDE ? 0 : listing_expiry(c->expires_at));
}

static void listing_counts(struct dataset *ds, const struct listing_ds *l)
{
    ds->entries = livemap_count(l->map);
    ds->mem_bytes = sizeof(*l) + livemap_bytes(l->map);
    ds->timestamp = time(NULL);
    ds->live_version = l->seq;
    /* The TXT every listing answers with comes from the configuration. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = l->src->conf.txt; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
    ds->conf_digest = h;
}

/* End the zone's expired listings in the database: the change log then
 * says they went, and the next version (a new serial) leaves them out. */
static void listing_sweep(struct listing_source *s, time_t now)
{
    struct engine e = {s->st, &s->conf};
    unsigned ended = 0;
    s->last_sweep = now;
    int rc = store_begin(s->st);
    if (rc == 0)
        rc = engine_sweep(&e, s->zone, now, &ended);
    if (rc == 0)
        rc = store_commit(s->st);
    if (rc) {
        store_rollback(s->st);
        log_error("%s: expiry sweep failed: %s", s->zone, store_errmsg(s->st));
    } else if (ended) {
        log_info("%s: %u listings ended", s->zone, ended);
    }
}

static int listing_open(struct dataset *ds, const char *source, char *errbuf, size_t errsz)
{
    struct listing_ds *l = ds->priv;
    struct listing_source *s = calloc(1, sizeof(*s));
    struct livemap_builder *b = NULL;
    int rc;
    if (!s)
        return ERR_NOMEM;
    atomic_init(&s->refs, 1);
    l->src = s;
    listing_conf_init(&s->conf);
    if ((rc = listing_conf_load(source, &s->conf, errbuf, errsz)) != 0)
        return rc;
    if (listing_zone_key(ds->ctx->zone ? ds->ctx->zone : "", s->zone, sizeof(s->zone)) != 0) {
        snprintf(errbuf, errsz, "%s: a listing dataset needs a zone name", ds->spec);
        return ERR_INVAL;
    }
    if ((rc = store_open(s->conf.database, &s->st, errbuf, errsz)) != 0 ||
        (rc = store_cache_size(s->st, s->conf.cache_mib)) != 0)
        return rc;
    /* Listings that expired while nothing served the zone end first: the
     * database and its history then say what the zone serves from its
     * first second, not a sweep interval later. */
    time_t now = time(NULL);
    listing_sweep(s, now);
    /* The change log position first: changes made while the records are
     * read are applied again by the next refresh, which is harmless. */
    if ((rc = livemap_builder_new(&b)) != 0)
        return rc;
    if ((rc = store_last_change(s->st, s->zone, &l->seq)) != 0 ||
        (rc = store_foreach_live(s->st, s->zone, now, listing_live_cb, b)) != 0 ||
        (rc = store_allow_foreach(s->st, s->zone, listing_allow_cb, b)) != 0) {
        snprintf(errbuf, errsz, "%s: %s", s->conf.database,
                 rc == ERR_IO ? store_errmsg(s->st) : err_str(rc));
        livemap_builder_free(b);
        return rc;
    }
    store_trim(s->st);
    if ((rc = livemap_builder_finish(b, &l->map)) != 0) {
        snprintf(errbuf, errsz, "%s: %s", ds->spec, err_str(rc));
        return rc;
    }
    listing_counts(ds, l);
    return 0;
}

/* Whether the database has news for this zone; also the expiry sweep's
 * clock, since the server asks several times a second. */
static bool listing_stale(const struct dataset *ds)
{
    const struct listing_ds *l = ds->priv;
    struct listing_source *s = l->src;
    time_t now = time(NULL);
    if (now - s->last_sweep >= (time_t)s->conf.sweep_interval)
        listing_sweep(s, now);
    uint64_t seq = 0;
    if (store_last_change(s->st, s->zone, &seq) != 0) {
        /* Asked five times a second: say it once a minute. */
        if (now - s->last_error >= 60) {
            s->last_error = now;
            log_error("%s: cannot read the change log: %s", s->zone, store_errmsg(s->st));
        }
        return false;
    }
    return seq > l->seq;
}

static int listing_refresh(const struct dataset *prev, struct dataset *next, char *errbuf,
                           size_t errsz)
{
    const struct listing_ds *p = prev->priv;
    struct listing_ds *l = next->priv;
    struct listing_source *s = p->src;
    struct listing_follow f = {{0}, s};
    struct listing_entries c = {0};
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    l->src = s;
    int rc = store_last_change(s->st, s->zone, &l->seq);
    if (rc == 0)
        rc = store_changes(s->st, s->zone, p->seq, listing_change_cb, &f);
    c = f.out;
    if (rc) {
        snprintf(errbuf, errsz, "%s: %s", s->conf.database, store_errmsg(s->st));
        goto out;
    }
    /* Changes after l->seq that the walk saw are applied twice: once now,
     * once next time, with the same result. */
    if ((rc = livemap_apply(p->map, c.e, c.n, &l->map)) != 0) {
        snprintf(errbuf, errsz, "%s: %s", next->spec, err_str(rc));
        goto out;
    }
    listing_counts(next, l);
out:
    free(c.e);
    return rc;
}

static int listing_answer(const char *txt, uint32_t ttl, uint8_t code, struct ds_result *res)
{
    res->exists = true;
    int rc = ds_result_add(res, DNS_TYPE_A, ttl, listing_a[code], 4);
    if (rc == 0)
        rc = ds_result_add(res, DNS_TYPE_TXT, ttl, txt, (uint16_t)strlen(txt));
    return rc == ERR_SPACE ? 0 : rc;
}

int ds_listing_lookup(const struct livemap *m, const char *txt, uint32_t ttl, uint32_t now,
                      const struct ds_query *q, struct ds_result *res)
{
    uint8_t code;
    if (q->ip4_octets == 4) {
        if ((code = livemap_lookup4(m, q->ip4, now)) != 0)
            return listing_answer(txt, ttl, code, res);
        return 0;
    }
    if (q->ip4_octets > 0) {
        uint32_t span = (uint32_t)((1ull << (32 - 8 * q->ip4_octets)) - 1);
        if (livemap_any4(m, q->ip4, q->ip4 + span, now))
            res->exists = true;
        return 0;
    }
    if (q->ip6_nibbles == 32) {
        if ((code = livemap_lookup6(m, q->ip6, now)) != 0)
            return listing_answer(txt, ttl, code, res);
        return 0;
    }
    if (q->ip6_nibbles > 0 && livemap_any6(m, q->ip6, q->ip6_nibbles, now))
        res->exists = true;
    return 0;
}

static int listing_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct listing_ds *l = ds->priv;
    time_t now = q->as_built ? ds->timestamp : time(NULL);
    return ds_listing_lookup(l->map, l->src->conf.txt, ds->ttl, (uint32_t)now, q, res);
}

/* A key's addresses as a range of the walk. */
static int listing_walk_key(const struct netkey *k, void *arg)
{
    struct ds_walk *w = arg;
    if (k->family == 4) {
        uint32_t first = (uint32_t)k->hi;
        uint32_t host = k->bits >= 32 ? 0 : UINT32_MAX >> k->bits;
        return w->ip4(w, first, first | host);
    }
    uint8_t first[16], last[16];
    uint64_t host = k->bits >= 64 ? 0 : UINT64_MAX >> k->bits;
    for (int i = 0; i < 8; i++) {
        first[i] = (uint8_t)(k->hi >> (56 - 8 * i));
        last[i] = (uint8_t)((k->hi | host) >> (56 - 8 * i));
        first[8 + i] = 0;
        last[8 + i] = 0xFF;
    }
    return w->ip6(w, first, last);
}

int ds_listing_walk_map(const struct livemap *m, struct ds_walk *w)
{
    return livemap_walk(m, listing_walk_key, w);
}

static int listing_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct listing_ds *l = ds->priv;
    return ds_listing_walk_map(l->map, w);
}

static void listing_destroy(struct dataset *ds)
{
    struct listing_ds *l = ds->priv;
    if (l->map)
        livemap_free(l->map);
    listing_source_unref(l->src);
}

const struct dataset_ops ds_listing_ops = {
    .name = "listing",
    .family = DS_FAM_IP4 | DS_FAM_IP6,
    .uses_values = false,
    .priv_size = sizeof(struct listing_ds),
    .query = listing_query,
    .destroy = listing_destroy,
    .walk = listing_walk,
    .open = listing_open,
    .stale = listing_stale,
    .refresh = listing_refresh,
};

int ds_listing_register(void)
{
    return dataset_register(&ds_listing_ops);
}
