/* What follows a published snapshot for the secondaries: for each zone
 * with a new serial, the difference to its previous version goes into
 * the IXFR history (xfr_journal.h), and then, with the history ready to
 * answer them, the secondaries are sent NOTIFY (notify.h).
 *
 * A thread of its own, so that diffing a big zone never delays a reload
 * or an answer. Snapshots published while it works are not diffed one
 * by one: it takes the newest, and the difference spans the versions
 * between (RFC 1995 allows a server to condense). */
#ifndef DBK_SERVER_XFR_FOLLOW_H
#define DBK_SERVER_XFR_FOLLOW_H

#include <stdint.h>

#include "server/notify.h"
#include "server/snapshot.h"
#include "server/xfr_journal.h"

struct xfr_follow;

/* Start following: differences go into journal with TTLs clamped to
 * [ttl_min, ttl_max] as transfers clamp them, NOTIFYs through n. With a
 * state_dir (else NULL) each zone's history is also kept there
 * (xfr_store.h), and read back when the zone first loads. */
int xfr_follow_start(struct xfr_journal *journal, struct notify *n, uint32_t ttl_min,
                     uint32_t ttl_max, const char *state_dir, struct xfr_follow **out);

/* A snapshot was published (a reference is taken). */
void xfr_follow_publish(struct xfr_follow *f, const struct snapshot *s);

/* Stop (a difference being made is finished first) and free. */
void xfr_follow_stop(struct xfr_follow *f);

#endif
