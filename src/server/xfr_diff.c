/* Diffing two zone versions through keyed hashes of their records. */
#include "server/xfr_diff.h"
#include "common/err.h"
#include "common/hash.h"
#include "wire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* The old version's records: an open-addressed set of their hashes
 * (0 marks an empty slot), and whether the new version has each. */
struct xfr_diff_set {
    uint64_t *h;
    uint8_t *seen;
    size_t mask;
    uint64_t seed;
    uint64_t filled, hit; /* slots taken by the old version; of those, seen in the new */
};

struct xfr_diff_walk {
    struct xfr_diff_set *set;
    struct xfr_delta *d;
    uint64_t limit; /* records the difference may hold */
    int pass;       /* 0: fill the set, 1: new records, 2: gone records */
    const atomic_bool *stop;
    uint64_t seen; /* records walked, to look at *stop now and then */
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
    h = xfr_diff_bytes(h, rr->rdata, rr->rdlen);
    return h ? h : 1;
}

/* The slot of h: where it is, or the empty one where it would go. */
static size_t xfr_diff_slot(const struct xfr_diff_set *s, uint64_t h)
{
    size_t i = (size_t)h & s->mask;
    while (s->h[i] && s->h[i] != h)
        i = (i + 1) & s->mask;
    return i;
}

static int xfr_diff_rr(const struct zrec_rr *rr, void *arg)
{
    struct xfr_diff_walk *w = arg;
    struct xfr_diff_set *s = w->set;
    if ((++w->seen & 4095) == 0 && w->stop && atomic_load_explicit(w->stop, memory_order_relaxed))
        return ERR_IO;
    uint64_t h = xfr_diff_hash(s->seed, rr);
    size_t i = xfr_diff_slot(s, h);
    if (w->pass == 0) {
        s->filled += s->h[i] == 0;
        s->h[i] = h;
        return 0;
    }
    if (w->pass == 1) {
        if (s->h[i]) {
            s->hit += s->seen[i] == 0;
            s->seen[i] = 1;
            return 0;
        }
    } else if (s->seen[i]) {
        return 0;
    }
    if (w->d->ndel + w->d->nadd >= w->limit)
        return ERR_LIMIT;
    return xfr_delta_put(w->d, w->pass == 1, rr);
}

static uint32_t xfr_diff_ttl(const struct zrec_opts *o, uint32_t ttl)
{
    return ttl < o->ttl_min ? o->ttl_min : ttl > o->ttl_max ? o->ttl_max : ttl;
}

/* The apex's NS records of z, through the same walk as the others. */
static int xfr_diff_ns(const struct zone *z, const struct zrec_opts *o, struct xfr_diff_walk *w)
{
    for (unsigned i = 0; i < z->ns.count; i++) {
        struct zrec_rr rr = {.owner = z->apex,
                             .owner_len = z->apex_len,
                             .type = DNS_TYPE_NS,
                             .ttl = xfr_diff_ttl(o, z->ns.ttl ? z->ns.ttl : z->soa_ttl),
                             .rdata = z->ns.name[i],
                             .rdlen = (uint16_t)name_wire_len(z->ns.name[i])};
        int rc = xfr_diff_rr(&rr, w);
        if (rc)
            return rc;
    }
    return 0;
}

static int xfr_diff_pass(const struct zone *z, const struct zrec *plan, const struct zrec_opts *o,
                         struct xfr_diff_walk *w, int pass)
{
    w->pass = pass;
    int rc = xfr_diff_ns(z, o, w);
    return rc ? rc : zrec_emit(plan, xfr_diff_rr, w);
}

int xfr_diff(const struct zone *old, const struct zone *new, const struct zrec_opts *o,
             const atomic_bool *stop, struct xfr_delta **out, char *why, size_t whysz)
{
    struct zrec *pold = NULL, *pnew = NULL;
    struct xfr_diff_set set = {0};
    struct xfr_delta *d = NULL;
    *out = NULL;
    if (whysz)
        why[0] = '\0';
    int rc = zrec_plan(old->apex, old->ds, old->nds, o, &pold, why, whysz);
    if (rc == 0)
        rc = zrec_plan(new->apex, new->ds, new->nds, o, &pnew, why, whysz);
    if (rc)
        goto out;
    uint64_t nold = zrec_stats(pold)->records + old->ns.count;
    uint64_t nnew = zrec_stats(pnew)->records + new->ns.count;
    size_t slots = 16;
    while (slots < 2 * nold)
        slots *= 2;
    set.h = calloc(slots, sizeof(*set.h));
    set.seen = calloc(slots, 1);
    set.mask = slots - 1;
    d = xfr_delta_new();
    if (!set.h || !set.seen || !d) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* Keyed, so that listed data cannot be chosen to collide. */
    if (getrandom(&set.seed, sizeof(set.seed), 0) != (ssize_t)sizeof(set.seed))
        set.seed = (uint64_t)(uintptr_t)&set ^ (uint64_t) new->serial;
    struct xfr_diff_walk w = {.set = &set, .d = d, .limit = nnew + 1, .stop = stop};
    rc = xfr_diff_pass(old, pold, o, &w, 0);
    if (rc == 0)
        rc = xfr_diff_pass(new, pnew, o, &w, 1);
    /* Nothing of the old version gone (listings added only): the third
     * walk would find nothing. */
    if (rc == 0 && set.hit < set.filled)
        rc = xfr_diff_pass(old, pold, o, &w, 2);
    if (rc == ERR_LIMIT && why[0] == '\0')
        snprintf(why, whysz, "more changes than the zone has records");
    if (rc)
        goto out;
    d->from = old->serial;
    d->to = new->serial;
    d->to_records = nnew;
    memcpy(d->soa_from, old->soa_rdata, old->soa_rdlen);
    d->soa_from_len = old->soa_rdlen;
    d->soa_from_ttl = xfr_diff_ttl(o, old->soa_ttl);
    memcpy(d->soa_to, new->soa_rdata, new->soa_rdlen);
    d->soa_to_len = new->soa_rdlen;
    d->soa_to_ttl = xfr_diff_ttl(o, new->soa_ttl);
    *out = d;
    d = NULL;
out:
    xfr_delta_unref(d);
    free(set.h);
    free(set.seen);
    zrec_free(pold);
    zrec_free(pnew);
    return rc;
}
