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

#endif
