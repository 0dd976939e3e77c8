/* The follower thread: history, then NOTIFY, for every new serial. */
#include "server/xfr_follow.h"
#include "common/err.h"
#include "common/log.h"
#include "server/xfr_diff.h"
#include "server/xfr_store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    char *state_dir; /* where histories are kept, or NULL */
    /* Zones whose history could not be written: said once per zone,
     * until a save works again. */
    char **failing;
    unsigned nfailing, failcap;
};

/* Whether zone `name` is among the failing; with `set`, make it so or
 * not. Returns whether it was. */
static bool xfr_follow_failing(struct xfr_follow *f, const char *name, int set)
{
    unsigned i = 0;
    while (i < f->nfailing && strcmp(f->failing[i], name) != 0)
        i++;
    bool was = i < f->nfailing;
    if (set == 0 && was) {
        free(f->failing[i]);
        f->failing[i] = f->failing[--f->nfailing];
    } else if (set == 1 && !was) {
        if (f->nfailing == f->failcap) {
            unsigned cap = f->failcap ? 2 * f->failcap : 4;
            char **nf = realloc(f->failing, cap * sizeof(*nf));
            if (!nf)
                return was;
            f->failing = nf;
            f->failcap = cap;
        }
        char *copy = strdup(name);
        if (copy)
            f->failing[f->nfailing++] = copy;
    }
    return was;
}

/* Keep z's history in its file: the whole of it after each difference,
 * none (the file removed) when it holds nothing. */
static void xfr_follow_save(struct xfr_follow *f, const struct zone *z)
{
    char path[4096], why[512];
    if (!f->state_dir || xfr_store_path(f->state_dir, z, path, sizeof(path)) != 0)
        return;
    struct xfr_delta **d = NULL;
    unsigned n = 0;
    int rc = xfr_journal_all(f->journal, z->apex, &d, &n);
    if (rc == 0 && n == 0) {
        unlink(path);
        return;
    }
    if (rc == 0)
        rc = xfr_store_save(path, z, xfr_store_zone_digest(z, f->ttl_min, f->ttl_max), d, n, why,
                            sizeof(why));
    else
        snprintf(why, sizeof(why), "%s", err_str(rc));
    xfr_journal_chain_free(d, n);
    bool was = xfr_follow_failing(f, z->name, rc != 0);
    if (rc && !was)
        log_warning("zone %s: cannot keep its IXFR history in the state-dir (%s); after a "
                    "restart secondaries asking IXFR get the whole zone (not said again until "
                    "its history is kept)",
                    z->name, why);
    else if (rc == 0 && was)
        log_info("zone %s: IXFR history kept in the state-dir again", z->name);
}

/* A zone loaded for the first time (startup): its history from the
 * state-dir when the file ends at the version it loaded as. */
static bool xfr_follow_load(struct xfr_follow *f, const struct zone *z, unsigned depth)
{
    char path[4096], why[512];
    if (!f->state_dir)
        return false;
    if (xfr_store_path(f->state_dir, z, path, sizeof(path)) != 0) {
        log_info("zone %s: its IXFR history is kept in memory only (the name is no plain "
                 "file name)",
                 z->name);
        return false;
    }
    struct xfr_delta **d = NULL;
    unsigned n = 0;
    int rc = xfr_store_load(path, z, xfr_store_zone_digest(z, f->ttl_min, f->ttl_max), &d, &n, why,
                            sizeof(why));
    if (rc == ERR_NOTFOUND)
        return false;
    if (rc) {
        /* A damaged file, or another version's, is of no use any more; a
         * file that could not be read now is left for the next start. */
        if (rc == ERR_FORMAT || rc == ERR_EXISTS)
            unlink(path);
        log_info("zone %s: IXFR history in %s not used: %s", z->name, path, why);
        return false;
    }
    unsigned kept = 0;
    rc = xfr_journal_load(f->journal, z->apex, depth, d, n, &kept);
    uint32_t first = kept ? d[n - kept]->from : z->serial;
    xfr_journal_chain_free(d, n);
    if (rc)
        return false;
    log_info("zone %s: IXFR history of %u versions read back (serials %u to %u)", z->name, kept,
             first, z->serial);
    return true;
}

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
        bool save = true;
        if (pz && pz->loaded) {
            xfr_follow_diff(f, pz, z);
        } else if (x && x->nallow && x->history) {
            /* The file is what was just read, or left for another start. */
            save = false;
            if (!xfr_follow_load(f, z, x->history))
                xfr_journal_restart(f->journal, z->apex, z->serial); /* diffs start from here */
        } else {
            xfr_journal_forget(f->journal, z->apex);
        }
        /* Also at startup and when a zone first loads: a secondary may
         * have missed what happened while we were away. The history goes
         * to disk after the NOTIFY, which need not wait for it. */
        if (z->xfr && z->xfr->nnotify && f->notify)
            notify_zone(f->notify, z, z->xfr);
        if (save)
            xfr_follow_save(f, z);
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
                     uint32_t ttl_max, const char *state_dir, struct xfr_follow **out)
{
    struct xfr_follow *f = calloc(1, sizeof(*f));
    if (!f)
        return ERR_NOMEM;
    if (state_dir && !(f->state_dir = strdup(state_dir))) {
        free(f);
        return ERR_NOMEM;
    }
    f->journal = journal;
    f->notify = n;
    f->ttl_min = ttl_min;
    f->ttl_max = ttl_max;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    if (pthread_create(&f->thread, NULL, xfr_follow_main, f) != 0) {
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        free(f->state_dir);
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
    for (unsigned i = 0; i < f->nfailing; i++)
        free(f->failing[i]);
    free(f->failing);
    free(f->state_dir);
    free(f);
}
