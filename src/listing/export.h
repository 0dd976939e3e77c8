/* Writing a zone's live listings out as files, for mirrors: an rbldnsd
 * data file (for rsync mirrors running rbldnsd or dnsblkit serve) or a
 * standard zone file (for named, Knot or NSD). A file is replaced
 * atomically (temporary file, fsync, rename), so a mirror never reads
 * half a list. */
#ifndef DBK_LISTING_EXPORT_H
#define DBK_LISTING_EXPORT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "listing/store.h"

enum export_format {
    EXPORT_RBLDNSD = 1, /* combined: an ip4set and an ip6trie */
    EXPORT_BIND = 2,    /* RFC 1035 master file */
};

struct export_opts {
    enum export_format format;
    const char *zone;       /* as the database keys it ("bl.example") */
    const char *txt;        /* TXT template; '$' is the address */
    time_t now;             /* what is listed at this time is written */
    uint32_t ttl;           /* record TTL (BIND; rbldnsd gets $TTL); 0 = 2100 */
    const char *ns[4];      /* BIND: name servers (NULL-terminated unless all 4
                               are set; default "localhost."), fully qualified
                               and outside the zone: the file has no address
                               to give an in-zone one, and named refuses a zone
                               without it */
    const char *hostmaster; /* BIND: SOA RNAME, a name or user@domain
                               (default hostmaster.<zone>) */
};

struct export_stats {
    unsigned long long hosts;      /* single addresses (IPv4 /32, IPv6 /64) */
    unsigned long long blocks;     /* wider blocks (escalated /24s, manual CIDRs) */
    unsigned long long exclusions; /* allowlist entries written as exclusions */
};

/* Write the export to `out`: what is listed at o->now, less what the
 * allowlist covers (an exclusion wins over any listing inside it, as in
 * the live dataset). rbldnsd: always a combined file of an ip4set and an
 * ip6trie section (served as zone:combined:file), so that a mirror's
 * spec holds when IPv6 is first listed; '$' stays in the TXT for the
 * server to fill in. BIND: the SOA and NS of the options, then the
 * records zone_records makes of the listings (data/zone_records.h), the
 * very records a zone transfer of the live zone carries: wildcards where
 * a whole /24 (IPv6: a nibble-aligned range) answers alike, one name per
 * address where the TXT names the address or an exclusion cuts into the
 * range, the RFC 5782 test entries. ERR_LIMIT past
 * ZREC_DEFAULT_MAX_RECORDS records. The counts say what was written:
 * listings, and the exclusions inside listings. */
int export_write(struct store *st, const struct export_opts *o, FILE *out,
                 struct export_stats *stats);

/* Write it to `path` atomically; err says why on failure. */
int export_to_file(struct store *st, const struct export_opts *o, const char *path,
                   struct export_stats *stats, char *err, size_t errsz);

/* Whether the options can be exported (what export_write and
 * export_to_file check first): ERR_INVAL with the reason in err. */
int export_check_opts(const struct export_opts *o, char *err, size_t errsz);

/* "rbldnsd" or "bind" -> format; ERR_INVAL otherwise. */
int export_parse_format(const char *name, enum export_format *out);

#endif
