/* The "listing" dataset type: a zone answered live from the listing
 * database. `[zone NAME] dataset = listing` (or the spec
 * "listing:CONFIG-FILE") loads what is listed now; the server then asks
 * it several times a second for news, and each change in the database
 * (a report, an operator's action, an expiry) is in DNS within a second,
 * as a small delta over the loaded base. The same poll runs the expiry
 * sweep every [listing] sweep-interval. */
#ifndef DBK_LISTING_DS_LISTING_H
#define DBK_LISTING_DS_LISTING_H

#include "data/dataset.h"

extern const struct dataset_ops ds_listing_ops;

/* Make the type known to dataset_type() (once, at startup). */
int ds_listing_register(void);

struct livemap;

/* What a listing zone answers for q from a livemap at `now`: A 127.0.0.N
 * and the TXT template of every listing, existence for the names above
 * them. The live dataset answers with it, and so does the view that
 * `dnsblkit export --format bind` hands to zone_records, so that a zone
 * file and a zone transfer of the same listings agree. */
int ds_listing_lookup(const struct livemap *m, const char *txt, uint32_t ttl, uint32_t now,
                      const struct ds_query *q, struct ds_result *res);

/* Every key of a livemap as the ranges of a dataset walk. */
int ds_listing_walk_map(const struct livemap *m, struct ds_walk *w);

#endif
