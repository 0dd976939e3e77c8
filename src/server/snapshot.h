/* A snapshot: every zone the server answers for, immutable once published.
 * Reloads build a new snapshot next to the old one, sharing the datasets
 * whose files did not change, and the server swaps one pointer. */
#ifndef DBK_SERVER_SNAPSHOT_H
#define DBK_SERVER_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/serve_conf.h"
#include "server/zone.h"

struct snapshot {
    struct zone **zones; /* most labels first, so the first match is the longest */
    unsigned nzones;
    struct zone *global_acl; /* rbldnsd's ":acl:file", applies to every zone */
    uint64_t generation;
    time_t built;
    /* The publisher's reference, and one per zone transfer streaming from
     * it: a transfer outlasts the epoch of the thread that started it. */
    atomic_uint refs;
};

/* What a build did, for logs and callers. */
struct snapshot_stats {
    unsigned loaded;    /* datasets read from files */
    unsigned reused;    /* datasets shared with the previous snapshot */
    unsigned failed;    /* datasets refused (previous data kept, if any) */
    unsigned refreshed; /* live datasets that took news from their source */
};

/* Build a snapshot for `conf`. With `prev`, datasets whose files are
 * unchanged are shared, and a dataset that fails to load keeps its
 * previous data (the error is logged). Without `prev` (startup) any
 * failure fails the build, with the message in errbuf. `force` reloads
 * every dataset even if unchanged. */
int snapshot_build(const struct serve_conf *conf, const struct snapshot *prev, bool force,
                   struct snapshot **out, struct snapshot_stats *stats, char *errbuf, size_t errsz);

/* A snapshot whose zones all answer SERVFAIL until loaded (-q). */
int snapshot_build_pending(const struct serve_conf *conf, struct snapshot **out);

/* True if any dataset file of the snapshot changed on disk. */
bool snapshot_changed(const struct snapshot *s);

/* True if a live dataset's source has news (a cheap check, made several
 * times a second), and whether the snapshot has live datasets at all. */
bool snapshot_stale(const struct snapshot *s);
bool snapshot_has_live(const struct snapshot *s);

/* The zone whose apex is `apex` (wire), or NULL; s may be NULL. */
const struct zone *snapshot_zone(const struct snapshot *s, const uint8_t *apex);

/* The zone `lname` (lower-case wire name) falls in, with the byte offset of
 * the zone apex inside lname; NULL when we are not authoritative. */
const struct zone *snapshot_find(const struct snapshot *s, const uint8_t *lname, size_t *apex_off);

/* Another reference (taken while the snapshot cannot go: by a reader in
 * its epoch, or by a holder of a reference); returns s. */
struct snapshot *snapshot_ref(const struct snapshot *s);

/* Drop a reference: the last one frees the snapshot and its zones. */
void snapshot_free(struct snapshot *s);

#endif
