/* The IXFR history: differences by reference, a ring of them per zone. */
#include "server/xfr_journal.h"
#include "common/err.h"
#include "common/name.h"
#include "server/serial.h"
#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xfr_journal_zone {
    uint8_t apex[NAME_MAXWIRE];
    struct xfr_delta **d; /* oldest first */
    unsigned n, cap;
    bool has_base;
    uint32_t base; /* the version the history starts from, while it is empty */
};

void xfr_journal_init(struct xfr_journal *j)
{
    memset(j, 0, sizeof(*j));
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->changed, &ca);
    pthread_condattr_destroy(&ca);
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
    pthread_cond_destroy(&j->changed);
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

/* xfr_journal_add for the zone z; under the lock. */
static int xfr_journal_add_locked(struct xfr_journal_zone *z, unsigned depth, struct xfr_delta *d)
{
    if (z->n && z->d[z->n - 1]->to != d->from)
        xfr_journal_zone_clear(z);
    if (depth == 0) {
        xfr_journal_zone_clear(z);
        return 0;
    }
    /* Memory: about a third of what an AXFR of the zone sends, so that
     * a zone changing much keeps fewer versions, not more memory. */
    uint64_t budget = d->to_records * XFR_JOURNAL_BYTES_PER_RECORD;
    if (budget < XFR_JOURNAL_MIN_BYTES)
        budget = XFR_JOURNAL_MIN_BYTES;
    uint64_t bytes = sizeof(*d) + d->del_len + d->add_len;
    unsigned keep = 0; /* of the newest, besides d, within depth and the budget */
    while (keep < z->n && keep + 1 < depth) {
        const struct xfr_delta *o = z->d[z->n - 1 - keep];
        uint64_t b = sizeof(*o) + o->del_len + o->add_len;
        if (bytes + b > budget)
            break;
        bytes += b;
        keep++;
    }
    if (z->n > keep) {
        /* The oldest leave. */
        unsigned drop = z->n - keep;
        for (unsigned i = 0; i < drop; i++)
            xfr_delta_unref(z->d[i]);
        memmove(z->d, z->d + drop, (z->n - drop) * sizeof(*z->d));
        z->n -= drop;
    }
    if (z->n == z->cap) {
        unsigned cap = z->cap ? 2 * z->cap : 8;
        struct xfr_delta **nd = realloc(z->d, cap * sizeof(*nd));
        if (!nd)
            return ERR_NOMEM;
        z->d = nd;
        z->cap = cap;
    }
    z->d[z->n++] = xfr_delta_ref(d);
    return 0;
}

int xfr_journal_add(struct xfr_journal *j, const uint8_t *apex, unsigned depth, struct xfr_delta *d)
{
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, true);
    int rc = z ? xfr_journal_add_locked(z, depth, d) : ERR_NOMEM;
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int xfr_journal_load(struct xfr_journal *j, const uint8_t *apex, unsigned depth,
                     struct xfr_delta *const *d, unsigned n, unsigned *kept)
{
    int rc = 0;
    *kept = 0;
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, true);
    if (!z) {
        rc = ERR_NOMEM;
    } else {
        xfr_journal_zone_clear(z);
        for (unsigned i = 0; i < n && rc == 0; i++)
            rc = xfr_journal_add_locked(z, depth, d[i]);
        if (rc)
            xfr_journal_zone_clear(z);
        z->has_base = true;
        z->base = n ? d[n - 1]->to : 0;
        *kept = z->n;
    }
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

void xfr_journal_forget(struct xfr_journal *j, const uint8_t *apex)
{
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, false);
    if (z) {
        xfr_journal_zone_clear(z);
        z->has_base = false;
    }
    pthread_cond_broadcast(&j->changed);
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

int xfr_journal_all(struct xfr_journal *j, const uint8_t *apex, struct xfr_delta ***out,
                    unsigned *n)
{
    int rc = 0;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, false);
    if (z && z->n) {
        struct xfr_delta **c = malloc(z->n * sizeof(*c));
        if (!c) {
            rc = ERR_NOMEM;
        } else {
            for (unsigned i = 0; i < z->n; i++)
                c[i] = xfr_delta_ref(z->d[i]);
            *out = c;
            *n = z->n;
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

/* Where the history from `from` ends: 1 when it reaches `serial`, 0 when
 * it holds `from` (a difference starts there, or the newest ends there)
 * but does not reach `serial`, -1 when it does not hold `from`; under
 * the lock. */
static int xfr_journal_reach(struct xfr_journal *j, const uint8_t *apex, uint32_t from,
                             uint32_t serial)
{
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, false);
    if (!z || (z->n == 0 && !z->has_base))
        return -1;
    uint32_t newest = z->n ? z->d[z->n - 1]->to : z->base;
    unsigned i = 0;
    while (i < z->n && z->d[i]->from != from)
        i++;
    if (i == z->n)
        return newest == from ? 0 : -1;
    return serial_ge(newest, serial) ? 1 : 0;
}

void xfr_journal_restart(struct xfr_journal *j, const uint8_t *apex, uint32_t serial)
{
    pthread_mutex_lock(&j->lock);
    struct xfr_journal_zone *z = xfr_journal_zone(j, apex, true);
    if (z) {
        xfr_journal_zone_clear(z);
        z->has_base = true;
        z->base = serial;
    }
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
}

int xfr_journal_wait(struct xfr_journal *j, const uint8_t *apex, uint32_t from, uint32_t serial,
                     int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->lock);
    int r;
    while ((r = xfr_journal_reach(j, apex, from, serial)) == 0 &&
           pthread_cond_timedwait(&j->changed, &j->lock, &until) == 0)
        ;
    if (r == 0)
        r = xfr_journal_reach(j, apex, from, serial);
    pthread_mutex_unlock(&j->lock);
    return r;
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
