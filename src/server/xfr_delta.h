/* One version's difference of a zone, as IXFR sends it (RFC 1995): the
 * records that went and the records that came, with the SOAs before and
 * after. Immutable once made and counted by references, so that a
 * transfer streams it while the history (xfr_journal.h) moves on. */
#ifndef DBK_SERVER_XFR_DELTA_H
#define DBK_SERVER_XFR_DELTA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/zone_records.h"
#include "server/zone.h"

/* One version's difference. The records are packed one after the other:
 * owner length (1 byte), owner (uncompressed wire), type, TTL, RDATA
 * length (2, 4, 2 bytes, network order), RDATA. */
struct xfr_delta {
    atomic_uint refs;
    uint32_t from, to; /* the serials */
    uint8_t soa_from[ZONE_SOA_RDMAX], soa_to[ZONE_SOA_RDMAX];
    uint16_t soa_from_len, soa_to_len;
    uint32_t soa_from_ttl, soa_to_ttl;
    uint8_t *del, *add;
    size_t del_len, add_len;
    size_t del_cap, add_cap;
    uint64_t ndel, nadd;
    uint64_t to_records; /* records of the new version (NS included, SOA not) */
};

/* A new, empty difference (one reference); NULL without memory. */
struct xfr_delta *xfr_delta_new(void);

/* Append a record to del or add (a buffer of d); ERR_NOMEM. */
int xfr_delta_put(struct xfr_delta *d, bool add, const struct zrec_rr *rr);

/* Hand the records of one side to fn, in the order they were put. */
int xfr_delta_walk(const struct xfr_delta *d, bool add, zrec_fn fn, void *arg);

struct xfr_delta *xfr_delta_ref(struct xfr_delta *d);
void xfr_delta_unref(struct xfr_delta *d);

#endif
