/* Diffing two zone versions through sorted keyed hashes of their records,
 * one version on a helper thread while the other is on the caller's. */
#include "server/xfr_diff.h"
#include "common/err.h"
#include "common/hash.h"
#include "data/radix.h"
#include "wire/wire.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* What a walk's callback returns once every wanted record is found: not
 * an error, and no error code is positive. */
#define XFR_DIFF_ALL_FOUND 1

/* One version of the zone, as one thread works on it. */
struct xfr_diff_side {
    const struct zone *z;
    const struct zrec_opts *o;
    const atomic_bool *stop;
    atomic_bool *failed; /* shared: the other side failed, give up too */
    bool gave_up;        /* this side stopped for that */
    uint64_t seed;
    struct zrec *plan;
    uint64_t seen; /* records walked, to look at *stop now and then */
    /* The first walk: the hash of every record, then sorted and unique. */
    uint64_t *h;
    size_t n, cap;
    /* The second walk: the records whose hashes are want[0..nwant)
     * (sorted) go to d, each once. */
    const uint64_t *want;
    size_t nwant, nfound;
    uint8_t *found;
    struct xfr_delta *d;
    bool add;
    int pass; /* 0: hash every record, 1: put the wanted ones */
    int rc;
    char why[256];
};

static uint64_t xfr_diff_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = hash_mix64(h ^ w) + 0x9e3779b97f4a7c15ull;
        p += 8;
        n -= 8;
    }
    uint64_t w = n;
    for (size_t i = 0; i < n; i++)
        w = (w << 8) | p[i];
    return hash_mix64(h ^ w ^ ((uint64_t)n << 56));
}

/* Owner, type, TTL and RDATA: a record whose TTL changed is another
 * record to a secondary. */
static uint64_t xfr_diff_hash(uint64_t seed, const struct zrec_rr *rr)
{
    uint8_t fixed[8];
    wire_put16(fixed, rr->type);
    wire_put32(fixed + 2, rr->ttl);
    wire_put16(fixed + 6, rr->rdlen);
    uint64_t h = xfr_diff_bytes(seed, rr->owner, rr->owner_len);
    h = xfr_diff_bytes(h, fixed, sizeof(fixed));
    return xfr_diff_bytes(h, rr->rdata, rr->rdlen);
}

/* The index of h in the sorted want[], or nwant. */
static size_t xfr_diff_find(const struct xfr_diff_side *s, uint64_t h)
{
    size_t lo = 0, hi = s->nwant;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->want[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nwant && s->want[lo] == h ? lo : s->nwant;
}

static int xfr_diff_rr(const struct zrec_rr *rr, void *arg)
{
    struct xfr_diff_side *s = arg;
    if ((++s->seen & 4095) == 0) {
        if (s->stop && atomic_load_explicit(s->stop, memory_order_relaxed))
            return ERR_IO;
        if (atomic_load_explicit(s->failed, memory_order_relaxed)) {
            s->gave_up = true;
            return ERR_IO;
        }
    }
    uint64_t h = xfr_diff_hash(s->seed, rr);
    if (s->pass == 0) {
        if (s->n == s->cap) {
            /* The plan counted the records: more is a bug, not data. */
            return ERR_RANGE;
        }
        s->h[s->n++] = h;
        return 0;
    }
    size_t i = xfr_diff_find(s, h);
    if (i == s->nwant || s->found[i])
        return 0;
    s->found[i] = 1;
    int rc = xfr_delta_put(s->d, s->add, rr);
    if (rc == 0 && ++s->nfound == s->nwant)
        return XFR_DIFF_ALL_FOUND;
    return rc;
}

static uint32_t xfr_diff_ttl(const struct zrec_opts *o, uint32_t ttl)
{
    return ttl < o->ttl_min ? o->ttl_min : ttl > o->ttl_max ? o->ttl_max : ttl;
}

/* Every record of the side's version to xfr_diff_rr: the apex's NS
 * records (the plan leaves them to the caller), then the plan's. */
static int xfr_diff_walk(struct xfr_diff_side *s)
{
    const struct zone *z = s->z;
    for (unsigned i = 0; i < z->ns.count; i++) {
        struct zrec_rr rr = {.owner = z->apex,
                             .owner_len = z->apex_len,
                             .type = DNS_TYPE_NS,
                             .ttl = xfr_diff_ttl(s->o, z->ns.ttl ? z->ns.ttl : z->soa_ttl),
                             .rdata = z->ns.name[i],
                             .rdlen = (uint16_t)name_wire_len(z->ns.name[i])};
        int rc = xfr_diff_rr(&rr, s);
        if (rc)
            return rc;
    }
    return zrec_emit(s->plan, xfr_diff_rr, s);
}

/* The first walk: plan the version and hash its records, sorted and
 * without repeats (a name two datasets give is one record). */
static void xfr_diff_hash_all(struct xfr_diff_side *s)
{
    const struct zone *z = s->z;
    s->rc = zrec_plan(z->apex, z->ds, z->nds, s->o, &s->plan, s->why, sizeof(s->why));
    if (s->rc)
        return;
    s->cap = zrec_stats(s->plan)->records + z->ns.count;
    s->h = malloc((s->cap ? s->cap : 1) * sizeof(*s->h));
    if (!s->h) {
        s->rc = ERR_NOMEM;
        return;
    }
    s->pass = 0;
    s->rc = xfr_diff_walk(s);
    if (s->rc)
        return;
    radix_sort64_inplace(s->h, s->n);
    size_t w = 0;
    for (size_t r = 0; r < s->n; r++)
        if (w == 0 || s->h[r] != s->h[w - 1])
            s->h[w++] = s->h[r];
    s->n = w;
}

/* The second walk: the wanted records into the difference, stopping at
 * the last of them. */
static void xfr_diff_put_wanted(struct xfr_diff_side *s)
{
    if (s->nwant == 0)
        return;
    s->found = calloc(s->nwant, 1);
    if (!s->found) {
        s->rc = ERR_NOMEM;
        return;
    }
    s->pass = 1;
    s->seen = 0;
    s->rc = xfr_diff_walk(s);
    if (s->rc == XFR_DIFF_ALL_FOUND)
        s->rc = 0;
    else if (s->rc == 0) {
        /* A version answers as it was built (ds_query.as_built), so its
         * walks agree: not finding a record the first walk hashed is a
         * bug, and the difference is not made. */
        s->rc = ERR_RANGE;
        snprintf(s->why, sizeof(s->why), "the version's records changed between its walks");
    }
}

/* One merge of the two sorted hash sets: the old side's hashes the new
 * one lacks (gone) move to the front of its array, and the new side's the
 * old one lacks (came) to the front of its; each write is at or before
 * the read it follows, so in place. */
static void xfr_diff_split(struct xfr_diff_side *old, struct xfr_diff_side *new)
{
    uint64_t *a = old->h, *b = new->h;
    size_t i = 0, j = 0, ngone = 0, ncame = 0;
    while (i < old->n || j < new->n) {
        if (j == new->n || (i < old->n && a[i] < b[j]))
            a[ngone++] = a[i++];
        else if (i == old->n || b[j] < a[i])
            b[ncame++] = b[j++];
        else
            i++, j++;
    }
    old->want = a;
    old->nwant = ngone;
    new->want = b;
    new->nwant = ncame;
}

/* A side that failed tells the other, which need not finish its walk. */
static void xfr_diff_done(struct xfr_diff_side *s)
{
    if (s->rc)
        atomic_store_explicit(s->failed, true, memory_order_relaxed);
}

static void *xfr_diff_hash_main(void *arg)
{
    xfr_diff_hash_all(arg);
    xfr_diff_done(arg);
    return NULL;
}

static void *xfr_diff_put_main(void *arg)
{
    xfr_diff_put_wanted(arg);
    xfr_diff_done(arg);
    return NULL;
}

/* fn(a) on a helper thread and fn(b) on this one, or both here when no
 * thread can be had or one side has nothing to do (one_idle): the
 * versions are walked at once on two cores. */
static void xfr_diff_both(void *(*fn)(void *), struct xfr_diff_side *a, struct xfr_diff_side *b,
                          bool one_idle)
{
    pthread_t t;
    bool threaded = !one_idle && pthread_create(&t, NULL, fn, a) == 0;
    if (!threaded)
        fn(a);
    fn(b);
    if (threaded)
        pthread_join(t, NULL);
}

/* The failure of the two sides (not the one that gave up because of the
 * other), its reason in why. */
static int xfr_diff_rc(const struct xfr_diff_side *old, const struct xfr_diff_side *new, char *why,
                       size_t whysz)
{
    const struct xfr_diff_side *s = old->rc && !old->gave_up ? old : new->rc ? new : NULL;
    if (!s)
        return 0;
    if (whysz && s->why[0])
        snprintf(why, whysz, "%s", s->why);
    return s->rc;
}

int xfr_diff(const struct zone *old, const struct zone *new, const struct zrec_opts *o,
             const atomic_bool *stop, struct xfr_delta **out, char *why, size_t whysz)
{
    *out = NULL;
    if (whysz)
        why[0] = '\0';
    atomic_bool failed = false;
    struct xfr_diff_side so = {.z = old, .o = o, .stop = stop, .failed = &failed, .add = false};
    struct xfr_diff_side sn = {.z = new, .o = o, .stop = stop, .failed = &failed, .add = true};
    /* Keyed, so that listed data cannot be chosen to collide. */
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)(uintptr_t)&so ^ (uint64_t) new->serial;
    so.seed = sn.seed = seed;
    struct xfr_delta *d = xfr_delta_new();
    int rc = d ? 0 : ERR_NOMEM;
    if (rc == 0) {
        xfr_diff_both(xfr_diff_hash_main, &so, &sn, false);
        rc = xfr_diff_rc(&so, &sn, why, whysz);
    }
    if (rc == 0) {
        xfr_diff_split(&so, &sn);
        if (so.nwant + sn.nwant > sn.cap + 1) {
            rc = ERR_LIMIT;
            if (whysz)
                snprintf(why, whysz, "more changes than the zone has records");
        }
        so.d = sn.d = d;
    }
    if (rc == 0) {
        /* The two sides fill del and add, separate parts of d. Listings
         * only added (or only removed) leave one side nothing to copy. */
        xfr_diff_both(xfr_diff_put_main, &so, &sn, so.nwant == 0 || sn.nwant == 0);
        rc = xfr_diff_rc(&so, &sn, why, whysz);
    }
    if (rc == 0) {
        d->from = old->serial;
        d->to = new->serial;
        d->to_records = sn.cap;
        memcpy(d->soa_from, old->soa_rdata, old->soa_rdlen);
        d->soa_from_len = old->soa_rdlen;
        d->soa_from_ttl = xfr_diff_ttl(o, old->soa_ttl);
        memcpy(d->soa_to, new->soa_rdata, new->soa_rdlen);
        d->soa_to_len = new->soa_rdlen;
        d->soa_to_ttl = xfr_diff_ttl(o, new->soa_ttl);
        *out = d;
        d = NULL;
    }
    xfr_delta_unref(d);
    struct xfr_diff_side *sides[] = {&so, &sn};
    for (unsigned i = 0; i < 2; i++) {
        free(sides[i]->h);
        free(sides[i]->found);
        zrec_free(sides[i]->plan);
    }
    return rc;
}
