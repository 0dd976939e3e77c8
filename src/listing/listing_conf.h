/* The [listing] section of dnsblkit.conf(5): where the database is, which
 * relays are ours, the answer text, and every number of the policy.
 * Read by every subcommand that touches listings (report, list, allow,
 * export) and by the server's live dataset. */
#ifndef DBK_LISTING_LISTING_CONF_H
#define DBK_LISTING_LISTING_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "listing/policy.h"
#include "listing/received_chain.h"

#define LISTING_TXT_MAX 256

struct listing_conf {
    char *path;                    /* the configuration file */
    char *database;                /* [listing] database, made absolute: relative paths are
                                      relative to the file's directory (default
                                      /var/lib/dnsblkit/listing.db) */
    struct rchain_trusted trusted; /* trusted-relays */
    char txt[LISTING_TXT_MAX];     /* TXT template of listings; '$' is the address */
    uint32_t sweep_interval;       /* seconds between expiry sweeps (60) */
    unsigned cache_mib;            /* SQLite page cache per open database (16) */
    struct policy_params policy;
};

/* Defaults for every key. */
void listing_conf_init(struct listing_conf *c);

/* Read [listing] from the file (other sections are skipped). Errors are
 * "file:line: reason" in err. */
int listing_conf_load(const char *path, struct listing_conf *c, char *err, size_t errsz);

void listing_conf_free(struct listing_conf *c);

/* A zone name as the database keys it: lower case, no trailing dot.
 * Returns ERR_INVAL for an empty or over-long name. */
int listing_zone_key(const char *zone, char *out, size_t outsz);

#endif
