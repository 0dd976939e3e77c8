/* The IXFR history: differences by reference, a ring of them per zone. */
#include "server/xfr_journal.h"
#include "common/err.h"
#include "common/name.h"
#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>

struct xfr_journal_zone {
    uint8_t apex[NAME_MAXWIRE];
    struct xfr_delta **d; /* oldest first */
    unsigned n, cap;
};

struct xfr_delta *xfr_delta_new(void)
{
    struct xfr_delta *d = calloc(1, sizeof(*d));
    if (d)
        atomic_init(&d->refs, 1);
    return d;
}

struct xfr_delta *xfr_delta_ref(struct xfr_delta *d)
{
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
    return d;
}

void xfr_delta_unref(struct xfr_delta *d)
{
    if (!d || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(d->del);
    free(d->add);
    free(d);
}

int xfr_delta_put(struct xfr_delta *d, bool add, const struct zrec_rr *rr)
{
    uint8_t **buf = add ? &d->add : &d->del;
    size_t *len = add ? &d->add_len : &d->del_len;
    size_t *cap = add ? &d->add_cap : &d->del_cap;
    size_t need = 1 + rr->owner_len + 8 + rr->rdlen;
    if (*len + need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < *len + need)
            ncap *= 2;
        uint8_t *nb = realloc(*buf, ncap);
        if (!nb)
            return ERR_NOMEM;
        *buf = nb;
        *cap = ncap;
    }
    uint8_t *p = *buf + *len;
    p[0] = (uint8_t)rr->owner_len;
    memcpy(p + 1, rr->owner, rr->owner_len);
    p += 1 + rr->owner_len;
    wire_put16(p, rr->type);
    wire_put32(p + 2, rr->ttl);
    wire_put16(p + 6, rr->rdlen);
    if (rr->rdlen)
        memcpy(p + 8, rr->rdata, rr->rdlen);
    *len += need;
    if (add)
        d->nadd++;
    else
        d->ndel++;
    return 0;
}

int xfr_delta_walk(const struct xfr_delta *d, bool add, zrec_fn fn, void *arg)
{
    const uint8_t *p = add ? d->add : d->del;
    if (!p)
        return 0; /* a side without records has no buffer */
    const uint8_t *end = p + (add ? d->add_len : d->del_len);
    while (p < end) {
        struct zrec_rr rr;
        rr.owner_len = p[0];
        rr.owner = p + 1;
        p += 1 + rr.owner_len;
        rr.type = wire_get16(p);
        rr.ttl = wire_get32(p + 2);
        rr.rdlen = wire_get16(p + 6);
        rr.rdata = p + 8;
        p += 8 + rr.rdlen;
        int rc = fn(&rr, arg);
        if (rc)
            return rc;
    }
    return 0;
}

void xfr_journal_init(struct xfr_journal *j)
{
    memset(j, 0, sizeof(*j));
    pthread_mutex_init(&j->lock, NULL);
}

static void xfr_journal_zone_clear(struct xfr_journal_zone *z)
{
    for (unsigned i = 0; i < z->n; i++)
        xfr_delta_unref(z->d[i]);
    z->n = 0;
}

void xfr_journal_destroy(struct xfr_journal *j)
{
    for (unsigned i = 0; i < j->nzones; i++) {
        xfr_journal_zone_clear(&j->zones[i]);
        free(j->zones[i].d);
    }
    free(j->zones);
    pthread_mutex_destroy(&j->lock);
}

/* The zone's history, made when `make`; under the lock. */
static struct xfr_journal_zone *xfr_journal_zone(struct xfr_journal *j, const uint8_t *apex,
                                                 bool make)
{
    for (unsigned i = 0; i < j->nzones; i++)
        if (name_equal(j->zones[i].apex, apex))
            return &j->zones[i];
    if (!make)
        return NULL;
    if (j->nzones == j->cap) {
        unsigned cap = j->cap ? 2 * j->cap : 8;
        struct xfr_journal_zone *nz = realloc(j->zones, cap * sizeof(*nz));
        if (!nz)
            return NULL;
        j->zones = nz;
        j->cap = cap;
    }
    struct xfr_journal_zone *z = &j->zones[j->nzones++];
    memset(z, 0, sizeof(*z));
    memcpy(z->apex, apex, name_wire_len(apex));
    return z;
}

int xfr_journal_add(struct xfr_journal *j, const uint8_t *apex, unsigned depth, struct xfr_delta *d)
{
    int rc = 0;
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, true);
    if (!z) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (z->n && z->d[z->n - 1]->to != d->from)
        xfr_journal_zone_clear(z);
    if (depth == 0) {
        xfr_journal_zone_clear(z);
        goto out;
    }
    if (z->n >= depth) {
        /* The oldest leave; a depth lowered by a reload drops several. */
        unsigned drop = z->n - depth + 1;
        for (unsigned i = 0; i < drop; i++)
            xfr_delta_unref(z->d[i]);
        memmove(z->d, z->d + drop, (z->n - drop) * sizeof(*z->d));
        z->n -= drop;
    }
    if (z->n == z->cap) {
        unsigned cap = z->cap ? 2 * z->cap : 8;
        struct xfr_delta **nd = realloc(z->d, cap * sizeof(*nd));
        if (!nd) {
            rc = ERR_NOMEM;
            goto out;
        }
        z->d = nd;
        z->cap = cap;
    }
    z->d[z->n++] = xfr_delta_ref(d);
out:
    pthread_mutex_unlock(&j->lock);
    return rc;
}

void xfr_journal_forget(struct xfr_journal *j, const uint8_t *apex)
{
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, false);
    if (z)
        xfr_journal_zone_clear(z);
    pthread_mutex_unlock(&j->lock);
}

int xfr_journal_chain(struct xfr_journal *j, const uint8_t *apex, uint32_t from,
                      struct xfr_delta ***out, unsigned *n)
{
    int rc = ERR_NOTFOUND;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, false);
    /* Consecutive by construction: the first that starts at `from` leads
     * to the newest. */
    unsigned start = 0;
    while (z && start < z->n && z->d[start]->from != from)
        start++;
    if (z && start < z->n) {
        unsigned k = z->n - start;
        struct xfr_delta **c = malloc(k * sizeof(*c));
        if (!c) {
            rc = ERR_NOMEM;
        } else {
            for (unsigned i = 0; i < k; i++)
                c[i] = xfr_delta_ref(z->d[start + i]);
            *out = c;
            *n = k;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
}

void xfr_journal_chain_free(struct xfr_delta **chain, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        xfr_delta_unref(chain[i]);
    free(chain);
}

bool xfr_journal_newest(struct xfr_journal *j, const uint8_t *apex, uint32_t *serial)
{
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, false);
    bool have = z && z->n;
    if (have)
        *serial = z->d[z->n - 1]->to;
    pthread_mutex_unlock(&j->lock);
    return have;
}
