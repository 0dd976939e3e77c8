/* The follower thread: history, then NOTIFY, for every new serial. */
#include "server/xfr_follow.h"
#include "common/err.h"
#include "common/log.h"
#include "server/xfr_diff.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xfr_follow {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct snapshot *next; /* published, not yet followed (a reference) */
    atomic_bool stop;      /* set under the lock; read without it by a diff */
    struct snapshot *last; /* followed last (a reference) */
    struct xfr_journal *journal;
    struct notify *notify;
    uint32_t ttl_min, ttl_max;
};

/* The difference from pz to z into the history; a version that cannot
 * be diffed starts the history again, so that no IXFR skips it. */
static void xfr_follow_diff(struct xfr_follow *f, const struct zone *pz, const struct zone *z)
{
    const struct xfr_conf *x = z->xfr;
    if (!x || x->nallow == 0 || x->history == 0) {
        xfr_journal_forget(f->journal, z->apex);
        return;
    }
    struct zrec_opts o = {
        .ttl_min = f->ttl_min, .ttl_max = f->ttl_max, .max_records = x->max_records};
    struct xfr_delta *d = NULL;
    char why[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = xfr_diff(pz, z, &o, &f->stop, &d, why, sizeof(why));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (rc == 0)
        rc = xfr_journal_add(f->journal, z->apex, x->history, d);
    if (rc == 0) {
        log_debug("zone %s: IXFR history %u -> %u: %llu records gone, %llu new (%.1f ms)", z->name,
                  d->from, d->to, (unsigned long long)d->ndel, (unsigned long long)d->nadd, ms);
    } else if (!atomic_load(&f->stop)) {
        xfr_journal_restart(f->journal, z->apex, z->serial);
        log_info("zone %s: no IXFR history from serial %u to %u (%s): secondaries asking "
                 "IXFR get the whole zone",
                 z->name, pz->serial, z->serial, why[0] ? why : err_str(rc));
    }
    xfr_delta_unref(d);
}

static void xfr_follow_one(struct xfr_follow *f, const struct snapshot *s)
{
    for (unsigned i = 0; i < s->nzones && !atomic_load(&f->stop); i++) {
        const struct zone *z = s->zones[i];
        if (!z->loaded)
            continue;
        const struct zone *pz = snapshot_zone(f->last, z->apex);
        if (pz && pz->loaded && pz->serial == z->serial)
            continue;
        const struct xfr_conf *x = z->xfr;
        if (pz && pz->loaded)
            xfr_follow_diff(f, pz, z);
        else if (x && x->nallow && x->history)
            xfr_journal_restart(f->journal, z->apex, z->serial); /* diffs start from here */
        else
            xfr_journal_forget(f->journal, z->apex);
        /* Also at startup and when a zone first loads: a secondary may
         * have missed what happened while we were away. */
        if (z->xfr && z->xfr->nnotify && f->notify)
            notify_zone(f->notify, z, z->xfr);
    }
}

static void *xfr_follow_main(void *arg)
{
    struct xfr_follow *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->next && !atomic_load(&f->stop))
            pthread_cond_wait(&f->cond, &f->lock);
        if (atomic_load(&f->stop))
            break;
        struct snapshot *s = f->next;
        f->next = NULL;
        pthread_mutex_unlock(&f->lock);
        xfr_follow_one(f, s);
        snapshot_free(f->last);
        f->last = s;
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

int xfr_follow_start(struct xfr_journal *journal, struct notify *n, uint32_t ttl_min,
                     uint32_t ttl_max, struct xfr_follow **out)
{
    struct xfr_follow *f = calloc(1, sizeof(*f));
    if (!f)
        return ERR_NOMEM;
    f->journal = journal;
    f->notify = n;
    f->ttl_min = ttl_min;
    f->ttl_max = ttl_max;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    if (pthread_create(&f->thread, NULL, xfr_follow_main, f) != 0) {
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return ERR_IO;
    }
    *out = f;
    return 0;
}

void xfr_follow_publish(struct xfr_follow *f, const struct snapshot *s)
{
    struct snapshot *ref = snapshot_ref(s);
    pthread_mutex_lock(&f->lock);
    struct snapshot *old = f->next;
    f->next = ref;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    snapshot_free(old);
}

void xfr_follow_stop(struct xfr_follow *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->stop, true);
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    snapshot_free(f->next);
    snapshot_free(f->last);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
