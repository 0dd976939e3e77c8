/* The difference between two versions of a zone, as IXFR sends it: the
 * records of the old version that the new one lacks, and the records of
 * the new one that the old one lacked (RFC 1995), SOA and NS included.
 *
 * Both versions are planned as a transfer plans them (zone_records.h),
 * so a secondary that applies the difference to what an AXFR of the old
 * version gave holds what an AXFR of the new one gives. The records of
 * the old version are remembered by a 64-bit keyed hash each, not
 * copied: three walks (old, new, and old again unless nothing went) and
 * 18 to 36 bytes per old record (a table at most half full, of 8-byte
 * hashes and a byte each), where the records themselves would take
 * about as much and a plan to make them again. */
#ifndef DBK_SERVER_XFR_DIFF_H
#define DBK_SERVER_XFR_DIFF_H

#include <stdatomic.h>
#include <stddef.h>

#include "data/zone_records.h"
#include "server/xfr_journal.h"
#include "server/zone.h"

/* The difference from old to new (both loaded), serials as the zones
 * have them, TTLs clamped as o says. Gives up with ERR_IO soon after
 * *stop turns true (the server stopping). ERR_LIMIT when it would hold more
 * records than the new zone (the whole zone is then the cheaper answer)
 * or a version breaks o->max_records, ERR_UNSUPP for a dataset without
 * a walk; the reason in why. */
int xfr_diff(const struct zone *old, const struct zone *new, const struct zrec_opts *o,
             const atomic_bool *stop, struct xfr_delta **out, char *why, size_t whysz);

#endif
