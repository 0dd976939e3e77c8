/* DNS NOTIFY (RFC 1996): telling secondaries that a zone has a new
 * serial, so that they ask for it at once instead of at their next
 * refresh, which for a blocklist is minutes of serving stale listings.
 *
 * One thread sends and resends: a NOTIFY not answered is tried again
 * after 1, 2, 4 and 8 seconds, and given up after 16 more. A newer serial
 * for the same zone and secondary takes the place of the one still being
 * tried, but goes out no sooner than NOTIFY_GAP after the last NOTIFY to
 * that secondary: a zone changing five times a second costs one NOTIFY a
 * second, of the newest serial. Only an answer that verifies (TSIG, when
 * the zone has a transfer-key) ends the tries. A secondary that answers
 * nothing for the 31 s of NOTIFY_TRIES tries, however often the zone
 * changes, is warned about once, and not again until it answers (the
 * secondary's own refresh is then the way the data gets there). */
#ifndef DBK_SERVER_NOTIFY_H
#define DBK_SERVER_NOTIFY_H

#include <stdatomic.h>
#include <stdint.h>

#include "server/xfr_conf.h"
#include "server/zone.h"

#define NOTIFY_TRIES 5
/* Seconds between two NOTIFYs of a zone to a secondary, at least. */
#define NOTIFY_GAP 1.0

struct notify_counters {
    _Atomic uint64_t sent;       /* messages sent, retries included */
    _Atomic uint64_t answered;   /* NOTIFYs a secondary answered NOERROR */
    _Atomic uint64_t refused;    /* answered with another rcode */
    _Atomic uint64_t failed;     /* secondaries given up on: 31 s without an answer */
    _Atomic uint64_t unverified; /* answers discarded: their TSIG did not verify */
};

struct notify;

/* Start the sender: its sockets and its thread. src[0] and src[1] are
 * the IPv4 and IPv6 addresses NOTIFYs leave from (notify-source; len 0:
 * the kernel picks by route). ERR_IO with the reason in why when one
 * cannot be bound. */
int notify_start(const struct addr_sock src[2], struct notify **out, char *why, size_t whysz);

/* Tell every secondary of x->notify that z has z->serial now (copied:
 * z may go before the NOTIFYs do). Secondaries of z that x no longer
 * names are forgotten. */
int notify_zone(struct notify *n, const struct zone *z, const struct xfr_conf *x);

const struct notify_counters *notify_counters(const struct notify *n);

/* Stop the thread (NOTIFYs not answered yet are dropped) and free. */
void notify_stop(struct notify *n);

#endif
