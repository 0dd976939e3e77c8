/* The difference between two versions of a zone, as IXFR sends it: the
 * records of the old version that the new one lacks, and the records of
 * the new one that the old one lacked (RFC 1995), SOA and NS included.
 *
 * Both versions are planned as a transfer plans them (zone_records.h),
 * so a secondary that applies the difference to what an AXFR of the old
 * version gave holds what an AXFR of the new one gives. Records are
 * compared by a 64-bit keyed hash each, not copied: each version is
 * walked once for the hashes of all its records (8 bytes a record,
 * sorted in place), the two sorted sets are merged, and each version is
 * walked again up to the last of its records the other lacks, to copy
 * those into the difference. The two versions are walked at the same
 * time, one on a helper thread: a difference of a zone of millions of
 * records takes two walks' time, not four.
 */
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
