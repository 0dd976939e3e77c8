/* Quiescent-state based reclamation (QSBR) for snapshot swaps. */
#include "server/epoch.h"
#include "common/err.h"

#include <time.h>

void epoch_init(struct epoch_domain *d)
{
    atomic_store(&d->global, 1);
    atomic_store(&d->nreaders, 0);
    for (unsigned i = 0; i < EPOCH_MAX_READERS; i++)
        atomic_store(&d->readers[i].seen, 0);
}

int epoch_register(struct epoch_domain *d, struct epoch_reader **out)
{
    unsigned i = atomic_fetch_add(&d->nreaders, 1);
    if (i >= EPOCH_MAX_READERS) {
        atomic_fetch_sub(&d->nreaders, 1);
        return ERR_LIMIT;
    }
    *out = &d->readers[i];
    return 0;
}

void epoch_online(struct epoch_domain *d, struct epoch_reader *r)
{
    /* seq_cst: the store of `seen` must be visible before this thread loads
     * the snapshot pointer, and the writer's pointer store precedes its
     * increment of `global`. */
    atomic_store(&r->seen, atomic_load(&d->global));
}

void epoch_offline(struct epoch_reader *r)
{
    atomic_store(&r->seen, 0);
}

void epoch_quiescent(struct epoch_domain *d, struct epoch_reader *r)
{
    atomic_store(&r->seen, atomic_load(&d->global));
}

void epoch_synchronize(struct epoch_domain *d)
{
    uint64_t target = atomic_fetch_add(&d->global, 1) + 1;
    unsigned n = atomic_load(&d->nreaders);
    for (unsigned i = 0; i < n; i++) {
        for (;;) {
            uint64_t s = atomic_load(&d->readers[i].seen);
            if (s == 0 || s >= target)
                break;
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
}
