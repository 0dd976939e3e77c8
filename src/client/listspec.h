/* A DNS list as a mail host uses it, written in Postfix postscreen's
 * syntax (postscreen_dnsbl_sites) so Postfix admins feel at home:
 *
 *   zen.example                     any answer inside 127/8 counts, weight 1
 *   zen.example=127.0.0.[2..11]*3   only those codes, weight 3
 *   bl.example=127.0.0.[2;4;10..12] a list of values and ranges per octet
 *   bl.example=127.0.0.2*2          one code
 *   swl.example=127.0.[0..255].[1..3]*-5   an allowlist (DNSWL): negative weight
 *   multi.example&0x4*2             rspamd/Exim-style bit mask: listed when
 *                                   (last octet... whole address) & mask != 0
 *
 * Grammar: ZONE [ "=" FILTER | "&" MASK ] [ "*" WEIGHT ]
 *   FILTER: four octet patterns separated by '.', each a number 0..255 or
 *           "[" item { ";" item } "]" with item = N or N..M (N <= M).
 *   MASK:   0xHEX or decimal, 1..0xffffffff, applied to the 32-bit code
 *           (127.0.0.4 & 0x4 != 0). The mask is tested against codes inside
 *           127/8 only.
 *   WEIGHT: an optional '-' and decimal digits, -1000..1000, default 1. 0 is
 *           refused (a list that cannot count is a typo).
 * The zone is a DNS name (letters, digits, '-', '_', dots; no trailing
 * dot kept; folded to lower case), at most 200 bytes so that a query name
 * built under it fits.
 *
 * A list may appear several times with different filters and weights
 * (postscreen allows that: zen.example=127.0.0.[10;11]*-2 next to
 * zen.example=127.0.0.[2..9]*3); each spec scores on its own, and one
 * query answers them all. */
#ifndef DBK_CLIENT_LISTSPEC_H
#define DBK_CLIENT_LISTSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LISTSPEC_ZONE_MAX 200
#define LISTSPEC_WEIGHT_MAX 1000

/* One octet's pattern: a 256-bit set of the values it accepts. */
struct listspec_octet {
    uint64_t bits[4];
};

enum listspec_match {
    LISTSPEC_ANY,    /* no filter: any code inside 127/8 */
    LISTSPEC_FILTER, /* "=" octet patterns */
    LISTSPEC_MASK,   /* "&" bit mask */
};

struct listspec {
    char zone[LISTSPEC_ZONE_MAX + 1]; /* lower case, no trailing dot */
    enum listspec_match match;
    struct listspec_octet octet[4]; /* LISTSPEC_FILTER */
    uint32_t mask;                  /* LISTSPEC_MASK */
    int weight;
};

/* Parse one spec. On error returns ERR_INVAL and writes a short English
 * reason to why (e.g. "octet 4: range 11..2 is reversed", "weight 0"). */
int listspec_parse(const char *text, struct listspec *out, char *why, size_t whysz);

/* Write the spec back in the syntax above (ranges merged, e.g.
 * "zen.example=127.0.0.[2..11]*3"); weight 1 is left out. Returns the
 * length, or ERR_SPACE when it does not fit. */
int listspec_format(const struct listspec *s, char *out, size_t outsz);

/* Whether the answer code `a` (host order, e.g. 0x7f000002) counts as a
 * listing for this spec. Never true for codes outside 127/8 or for the
 * error codes of verdict.h; callers classify those first. */
bool listspec_matches(const struct listspec *s, uint32_t a);

#endif
