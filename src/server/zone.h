/* A served zone: its apex, the datasets that answer below it, and the
 * apex records (SOA, NS) prepared in wire form. Immutable once built. */
#ifndef DBK_SERVER_ZONE_H
#define DBK_SERVER_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/name.h"
#include "data/dataset.h"
#include "server/xfr_conf.h"
#include "server/zone_keys.h"

#define ZONE_SOA_RDMAX (2 * NAME_MAXWIRE + 20)
#define ZONE_STAT_SLOTS 64 /* zones with counters of their own */

struct zone {
    char *name; /* text, lower case, no trailing dot */
    uint8_t apex[NAME_MAXWIRE];
    size_t apex_len;
    unsigned apex_labels;

    struct dataset **all; /* every dataset in configuration order (owns refs) */
    unsigned nall;
    struct dataset **ds; /* answering datasets, in the order given */
    unsigned nds;
    struct dataset **acl; /* acl datasets, checked first */
    unsigned nacl;
    bool loaded; /* false while a quickstart load is pending */

    /* Apex records. The SOA comes from the first dataset with $SOA, or is
     * made up; its serial follows the newest data when not given. */
    uint8_t soa_rdata[ZONE_SOA_RDMAX];
    uint16_t soa_rdlen;
    uint32_t soa_ttl;
    uint32_t neg_ttl;     /* TTL of the SOA in negative answers (RFC 2308) */
    uint32_t serial;      /* the SOA's, as serial.h settled it */
    uint32_t data_serial; /* what the data alone says: its $SOA serial, or
                             the time of its newest part */
    bool serial_given;    /* data_serial is a $SOA serial, not a time */
    struct ds_ns ns;

    time_t expires; /* earliest $TIMESTAMP expiry of the data, 0 = never */
    uint64_t entries;
    uint64_t ip4_total;
    unsigned stat_slot;         /* its counters in struct answer_stats: its place in
                                   the configuration (capped) */
    const struct xfr_conf *xfr; /* who may transfer it: the configuration's
                                   (which outlives every snapshot); NULL =
                                   nobody */
    struct zone_keys *keys;     /* keyed access (zone_keys.h): a reference,
                                   or NULL for a zone open to all */
};

/* Build a zone named `name` over already loaded datasets (references are
 * taken; NULL entries are skipped). Returns ERR_LIMIT with a message when the zone as a whole
 * breaks a limit (more IPv4 addresses than limits->max_ip4_total). */
int zone_build(const char *name, struct dataset *const *ds, unsigned nds,
               const struct ds_limits *limits, uint32_t default_ttl, struct zone **out,
               char *errbuf, size_t errsz);

/* A placeholder for a zone whose data is still loading (-q). */
int zone_build_pending(const char *name, uint32_t default_ttl, struct zone **out);

/* Give a zone that is not yet published another SOA serial. */
void zone_set_serial(struct zone *z, uint32_t serial);

void zone_free(struct zone *z);

#endif
