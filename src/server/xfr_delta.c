/* A difference: two packed record buffers, grown by doubling. */
#include "server/xfr_delta.h"
#include "common/err.h"
#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>

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
