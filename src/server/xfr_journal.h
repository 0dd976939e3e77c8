/* The history IXFR answers from (RFC 1995): per zone, the differences
 * between its consecutive versions, each as the records that went and
 * the records that came, kept for the last `ixfr-history` versions.
 *
 * A difference is immutable once made and counted by references, so a
 * transfer streams it without holding the journal's lock while newer
 * ones are added and old ones leave. With a state-dir the follower also
 * keeps each zone's history in a file (xfr_store.h), read back when the
 * zone comes back after a restart as the version the history ends at. */
#ifndef DBK_SERVER_XFR_JOURNAL_H
#define DBK_SERVER_XFR_JOURNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/xfr_delta.h"

struct xfr_journal_zone;

struct xfr_journal {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a difference added, or a history forgotten */
    struct xfr_journal_zone *zones;
    unsigned nzones, cap;
};

void xfr_journal_init(struct xfr_journal *j);
void xfr_journal_destroy(struct xfr_journal *j);

/* Add the difference d of the zone apex (a reference is taken), keeping
 * at most depth versions, and no more than XFR_JOURNAL_BYTES_PER_RECORD
 * bytes per record of the newest version (at least XFR_JOURNAL_MIN_BYTES)
 * in all: the oldest go first. 0 forgets the zone's history. A
 * difference that does not start where the last one ended (a version
 * that could not be diffed) starts the history again. */
#define XFR_JOURNAL_BYTES_PER_RECORD 16
#define XFR_JOURNAL_MIN_BYTES (1u << 20)
int xfr_journal_add(struct xfr_journal *j, const uint8_t *apex, unsigned depth,
                    struct xfr_delta *d);

/* The zone's history as d[0..n) (consecutive, oldest first; references
 * are taken), all at once under the lock, so that no IXFR sees it half
 * read back; depth and the memory budget apply as to xfr_journal_add.
 * *kept says how many stayed. On failure the history is empty and its
 * base the newest serial. */
int xfr_journal_load(struct xfr_journal *j, const uint8_t *apex, unsigned depth,
                     struct xfr_delta *const *d, unsigned n, unsigned *kept);

/* Forget the zone's history (no history kept for it). */
void xfr_journal_forget(struct xfr_journal *j, const uint8_t *apex);

/* Start the zone's history again at `serial`, the version the next
 * difference will start from (startup, a zone loaded, a version that
 * could not be diffed): an IXFR from it waits for that difference. */
void xfr_journal_restart(struct xfr_journal *j, const uint8_t *apex, uint32_t serial);

/* The differences that lead from serial `from` to the newest version
 * the journal has: an array of references in order, *n of them (free
 * with xfr_journal_chain_free). ERR_NOTFOUND when the history does not
 * reach back to `from`. */
int xfr_journal_chain(struct xfr_journal *j, const uint8_t *apex, uint32_t from,
                      struct xfr_delta ***out, unsigned *n);
void xfr_journal_chain_free(struct xfr_delta **chain, unsigned n);

/* Every difference of the zone's history, oldest first, as
 * xfr_journal_chain gives them (*n = 0 when it holds none). */
int xfr_journal_all(struct xfr_journal *j, const uint8_t *apex, struct xfr_delta ***out,
                    unsigned *n);

/* Wait, at most timeout_ms, while the zone's history holds `from` (a
 * difference starts there, or the newest ends there) but does not yet
 * reach `serial`: the follower is still diffing the version the server
 * answers with. Returns 1 when the history reaches `serial` from
 * `from`, 0 when it still does not after the wait, -1 when it does not
 * hold `from` at all (no wait). */
int xfr_journal_wait(struct xfr_journal *j, const uint8_t *apex, uint32_t from, uint32_t serial,
                     int timeout_ms);

/* The serial of the newest version the zone's history reaches, for
 * tests and logs; false when it has none. */
bool xfr_journal_newest(struct xfr_journal *j, const uint8_t *apex, uint32_t *serial);

#endif
