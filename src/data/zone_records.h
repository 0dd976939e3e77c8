/* A zone as records a standard DNS server can load (zone transfers, BIND
 * exports): the names, wildcards and record sets with which Knot, NSD or
 * BIND answer every A and TXT query for an address or a listed name the
 * way the datasets of a dnsblkit zone answer it.
 *
 * The answers come from the datasets themselves: their walks (struct
 * ds_walk) give the places where an answer may change, one query per
 * stretch between two such places gives the answer there (every dataset
 * of the zone, merged as the server merges them), and the records are
 * chosen from that map of answers:
 *
 *  - IPv4: a /24 whose 256 addresses all answer gets a wildcard
 *    "*.c.b.a" with the most common answer, and names of their own for
 *    the addresses that answer otherwise; everything else is one name per
 *    address. Wildcards sit only at /24s, so that the names above them
 *    ("c.b.a", "b.a") stay empty non-terminals as they are in dnsblkit,
 *    and an excluded address inside a listed range, which no name can
 *    make answer NXDOMAIN under a wildcard, leaves its /24 written out
 *    name by name.
 *  - A TXT whose template names the queried address ('$') differs per
 *    address, so an IPv4 range with one is written one name per address.
 *  - IPv6: wildcards on nibble boundaries from /16 down, the same way;
 *    an IPv6 range cannot be written out, so where its TXT names the
 *    address the wildcard's TXT names the range ("2001:db8::/64")
 *    instead, and the statistics count it.
 *  - Names (dnset, generic, combined subzones): each name that answers,
 *    "*.x" for entries of the names under x, and the wildcards that DNS's
 *    closest-encloser rule needs where a name exists below a wildcard.
 *  - The RFC 5782 test entries of every family the zone answers.
 *
 * Where dnsblkit answers NODATA for a name with nothing below it (an
 * exclusion of a subzone's own name, say), no zone file can, and the
 * statistics count it as inexact. Names that are not addresses under an
 * address wildcard (a non-numeric label, an address with leading zeros,
 * more than four octets) get the wildcard's answer from a DNS server and
 * NXDOMAIN from dnsblkit: no DNSBL client asks them.
 *
 * A plan holds pointers into the datasets: they must outlive it. */
#ifndef DBK_DATA_ZONE_RECORDS_H
#define DBK_DATA_ZONE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

/* The version of how records are made from answers: raised whenever the
 * same data would give other records, so that serials kept across an
 * upgrade move (serial_fingerprint) and no IXFR history of the old
 * records is read back. */
#define ZREC_FORMAT 1

/* The default cap on a zone's records (transfer-max-records). */
#define ZREC_DEFAULT_MAX_RECORDS 10000000ull

struct zrec_opts {
    uint32_t ttl_min, ttl_max; /* every TTL is clamped to these, as the
                                  server clamps its answers (-t) */
    uint64_t max_records;      /* refuse a zone of more records; 0 = no cap */
};

/* One record of the zone, as zrec_emit hands it over. Everything points
 * into memory that is valid during the call only. */
struct zrec_rr {
    const uint8_t *owner; /* absolute wire name, lower case ("*" first for
                             a wildcard) */
    size_t owner_len;
    uint16_t type;
    uint32_t ttl;         /* the same for every record of an owner and type */
    const uint8_t *rdata; /* wire RDATA: TXT as character-strings with '$'
                             filled in, names uncompressed */
    uint16_t rdlen;
};

/* Return 0 to go on; anything else (an error, or a positive value of the
 * caller's own: "found what I wanted") stops zrec_emit and is returned. */
typedef int (*zrec_fn)(const struct zrec_rr *rr, void *arg);

struct zrec_stats {
    uint64_t records;   /* records below the apex's SOA and NS */
    uint64_t names;     /* owner names, wildcards included */
    uint64_t wildcards; /* of which wildcards */
    uint64_t range_txt; /* IPv6 wildcards whose TXT names their range
                           where dnsblkit names the address */
    uint64_t inexact;   /* names a DNS server answers otherwise (above) */
};

struct zrec;

/* Plan the records of the zone `apex` (wire, lower case) answered by the
 * datasets ds[0..nds) (acl datasets excluded by the caller: a transfer
 * carries what a client no ACL entry matches is answered). Walks and
 * queries the datasets; allocates. Fails with ERR_LIMIT when the zone
 * would hold more than o->max_records records, ERR_UNSUPP for a dataset
 * type without a walk, with the reason in why. */
int zrec_plan(const uint8_t *apex, struct dataset *const *ds, unsigned nds,
              const struct zrec_opts *o, struct zrec **out, char *why, size_t whysz);

/* What the plan will emit (records, names, wildcards, ...). */
const struct zrec_stats *zrec_stats(const struct zrec *z);

/* Hand every record of the plan to fn, those of one owner one after the
 * other: the apex's own records (not its SOA and NS, which are the
 * caller's), then the names, then the addresses of each subzone in
 * address order. May run more than once, and from several threads at
 * once. */
int zrec_emit(const struct zrec *z, zrec_fn fn, void *arg);

void zrec_free(struct zrec *z);

/* A TXT template as the server writes it: '$' becomes subject, "$$" a
 * '$', cut into character-strings of at most 255 bytes (an empty text is
 * one empty string). Returns the RDATA length, or ERR_SPACE when it
 * would exceed cap. */
int zrec_txt_render(const char *tmpl, size_t tlen, const char *subject, size_t slen, uint8_t *out,
                    size_t cap);

/* Whether a TXT template names its subject (has a '$' that is not "$$"). */
bool zrec_txt_has_subject(const char *tmpl, size_t tlen);

#endif
