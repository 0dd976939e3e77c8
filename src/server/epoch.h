/* Quiescent-state reclamation for snapshots: readers (worker threads)
 * announce when they hold no snapshot pointer; the reloader waits until
 * every reader has passed such a point before freeing an old snapshot.
 * Readers pay one atomic store per batch of packets, no locks. */
#ifndef DBK_SERVER_EPOCH_H
#define DBK_SERVER_EPOCH_H

#include <stdatomic.h>
#include <stdint.h>

#define EPOCH_MAX_READERS 256

struct epoch_reader {
    _Alignas(64) _Atomic uint64_t seen; /* 0 = offline (holds nothing) */
};

struct epoch_domain {
    _Atomic uint64_t global;
    _Atomic unsigned nreaders;
    struct epoch_reader readers[EPOCH_MAX_READERS];
};

void epoch_init(struct epoch_domain *d);

/* Register a reader thread; returns its slot or a negative error. */
int epoch_register(struct epoch_domain *d, struct epoch_reader **out);

/* The reader is about to load shared pointers (after waking up). */
void epoch_online(struct epoch_domain *d, struct epoch_reader *r);

/* The reader holds no shared pointer any more and may block. */
void epoch_offline(struct epoch_reader *r);

/* The reader dropped every pointer loaded so far and stays online
 * (between batches of a busy worker). */
void epoch_quiescent(struct epoch_domain *d, struct epoch_reader *r);

/* Writer side, after publishing a new pointer: wait until no reader can
 * still hold a pointer loaded before this call. */
void epoch_synchronize(struct epoch_domain *d);

#endif
