/* The listing database: SQLite in WAL mode, one file per installation,
 * the source of truth for live listings. Kept per (zone, address): the
 * evidence counts, the current listing and its history, every event, the
 * allowlist, and a change log the server follows to publish within a
 * second. A write is acknowledged only after its transaction commits with
 * synchronous=FULL, so it survives kill -9 (and power loss).
 *
 * One struct store is one connection, for one thread. Several processes
 * may open the same file: writers wait (busy timeout) rather than fail. */
#ifndef DBK_LISTING_STORE_H
#define DBK_LISTING_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "listing/netkey.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_REASON_MAX 160
#define STORE_TEXT_MAX 256

struct store;

/* Open (creating it and its directory's file if needed) and migrate the
 * schema to STORE_SCHEMA_VERSION. A database of a newer schema is
 * refused. On failure err says why ("path: reason"). */
int store_open(const char *path, struct store **out, char *err, size_t errsz);

/* The page cache of this connection, in MiB ([listing] cache-size; 16
 * when not set): the most it holds of the database. */
int store_cache_size(struct store *st, unsigned mib);
void store_close(struct store *st);

/* Counters for the metrics ("reports_listed", "refused_not_public",
 * "listings_started", "ended_expired", ...): add delta to a zone's
 * counter, in the caller's transaction, so a counter moves exactly with
 * the write it counts. */
int store_count(struct store *st, const char *zone, const char *name, uint64_t delta);

/* A zone's counters, by name. */
int store_counters(struct store *st, const char *zone,
                   int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

/* Give back the page cache after a big walk (a server keeps its
 * connection open for the small ones that follow). */
void store_trim(struct store *st);

/* The last SQLite error of this connection, for messages. */
const char *store_errmsg(const struct store *st);

/* One write transaction (BEGIN IMMEDIATE ... COMMIT); everything between
 * is acknowledged by store_commit returning 0. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* One address's (or block's) record in a zone. */
struct store_listing {
    struct netkey key;
    time_t first_seen, last_seen; /* of events; 0 = none */
    unsigned reports, traps;      /* events counted, all time */
    uint8_t code;                 /* listed as 127.0.0.code; 0 = not listed */
    time_t listed_at;             /* start of the current listing */
    time_t expires_at;            /* its end; 0 = until deleted */
    char reason[STORE_REASON_MAX];
    bool manual;           /* listed by an operator, not by evidence */
    unsigned times_listed; /* listings started, all time */
    int64_t total_listed;  /* seconds listed over ended listings */
    unsigned removals;     /* self-service removals, all time */
    time_t last_removal;   /* 0 = never */
};

/* Fetch a record: 0, or ERR_NOTFOUND (out zeroed, key set). */
int store_get(struct store *st, const char *zone, const struct netkey *key,
              struct store_listing *out);

/* Insert or replace a record. When its listing changed (code or
 * expires_at differ from the stored record's), a change is logged for the
 * server. */
int store_put(struct store *st, const char *zone, const struct store_listing *l);

/* Whether a listing is in force at `now`. */
bool store_listed_now(const struct store_listing *l, time_t now);

/* ---- events ---------------------------------------------------------- */

struct store_event {
    time_t when;
    char kind[16];                 /* "report", "trap", "add", "del",
                                      "removal", "expired", "refused" */
    char reporter[STORE_TEXT_MAX]; /* who reported, or the operator */
    char hash[72];                 /* message hash, "" for none */
    char text[STORE_TEXT_MAX];     /* evidence excerpt or note */
};

/* Record an event; ERR_EXISTS (nothing written) when ev->hash is not
 * empty and an event with that hash is already recorded in the zone. */
int store_event_add(struct store *st, const char *zone, const struct netkey *key,
                    const struct store_event *ev);

/* Call cb for the key's events at or after `since`, oldest first; a
 * non-zero return from cb stops the walk and is returned. */
int store_events(struct store *st, const char *zone, const struct netkey *key, time_t since,
                 int (*cb)(const struct store_event *ev, void *arg), void *arg);

/* ---- history of ended listings ---------------------------------------- */

struct store_past {
    time_t listed_at, ended_at;
    uint8_t code;
    char how[16]; /* "expired", "deleted", "removed", "allowed" */
};

int store_history_add(struct store *st, const char *zone, const struct netkey *key,
                      const struct store_past *p);
/* Listings of the key that ended at or after `since`, oldest first. */
int store_history(struct store *st, const char *zone, const struct netkey *key, time_t since,
                  int (*cb)(const struct store_past *p, void *arg), void *arg);

/* ---- allowlist ---------------------------------------------------------- */

/* Add (replacing the note) or delete an allowlist block; both log a
 * change for the server. Delete returns ERR_NOTFOUND when absent. */
int store_allow_add(struct store *st, const char *zone, const struct netkey *block, time_t when,
                    const char *note);
int store_allow_del(struct store *st, const char *zone, const struct netkey *block);

/* The allowlist block covering key (the first found), or ERR_NOTFOUND. */
int store_allow_find(struct store *st, const char *zone, const struct netkey *key,
                     struct netkey *block);

int store_allow_foreach(struct store *st, const char *zone,
                        int (*cb)(const struct netkey *block, time_t when, const char *note,
                                  void *arg),
                        void *arg);

/* ---- queries over a zone ------------------------------------------------- */

/* Every record listed at `now` (code != 0, not expired), in key order. */
int store_foreach_listed(struct store *st, const char *zone, time_t now,
                         int (*cb)(const struct store_listing *l, void *arg), void *arg);

/* The same, reading only what a server answers from (key, code, end):
 * the walk that loads a zone of millions. */
int store_foreach_live(struct store *st, const char *zone, time_t now,
                       int (*cb)(const struct netkey *key, uint8_t code, time_t expires_at,
                                 void *arg),
                       void *arg);

/* The same for records of one family (4 or 6) and prefix length only: a
 * range of the index, however many other records there are. */
int store_foreach_listed_bits(struct store *st, const char *zone, int family, unsigned bits,
                              time_t now, int (*cb)(const struct store_listing *l, void *arg),
                              void *arg);

/* A page of store_foreach_listed's walk: the records listed at `now`
 * whose key comes after `after` in its order (NULL: from the first), past
 * the first `offset` of those, at most `limit`. `after` is a cursor, a
 * position in the primary key that need not be a record's, so a page
 * costs O(log n + offset + limit) however big the zone (plus the records
 * not in force it passes); the offset's rows are read and skipped.
 * ERR_INVAL for an invalid `after`. */
int store_foreach_listed_page(struct store *st, const char *zone, time_t now,
                              const struct netkey *after, uint64_t offset, unsigned limit,
                              int (*cb)(const struct store_listing *l, void *arg), void *arg);

/* How many records are listed at `now` (the records store_foreach_listed
 * walks). It reads them all: 0.1 s at a million. */
int store_count_listed(struct store *st, const char *zone, time_t now, uint64_t *count);

/* The earliest end after `now` of a listing in force (0: none ends):
 * until then a count at `now` stays right unless the zone changes
 * (store_last_change). One index seek. */
int store_next_expiry(struct store *st, const char *zone, time_t now, time_t *at);

/* Records whose listing has expired by `now` but are still marked listed
 * (code != 0, 0 < expires_at <= now): what the sweep closes. */
int store_foreach_expired(struct store *st, const char *zone, time_t now,
                          int (*cb)(const struct store_listing *l, void *arg), void *arg);

/* IPv4 /32 records inside the /24 `net` that are listed at `now` or whose
 * listing started at or after `since`, not counting manual ones. */
int store_count_listed24(struct store *st, const char *zone, const struct netkey *net, time_t now,
                         time_t since, unsigned *count);

/* How much a zone holds, for the metrics: listings in force at `now`,
 * allowlist blocks, events kept by kind, ended listings kept. */
struct store_zone_counts {
    uint64_t listed, allowlist;
    uint64_t reports, traps, refused;
    uint64_t ended;
};

int store_zone_counts(struct store *st, const char *zone, time_t now,
                      struct store_zone_counts *out);

/* Zones that have records or allowlist entries, for the sweep. */
int store_zones(struct store *st, int (*cb)(const char *zone, void *arg), void *arg);

/* ---- the change log the server follows ---------------------------------- */

enum store_change_kind {
    STORE_CHANGE_LISTING = 1, /* code 0 = no longer listed */
    STORE_CHANGE_ALLOW = 2,   /* code 1 = allowlisted, 0 = no longer */
};

struct store_change {
    uint64_t seq;
    enum store_change_kind kind;
    struct netkey key;
    uint8_t code;
    time_t expires_at;
};

/* The newest change's sequence number in the zone (0 when none). */
int store_last_change(struct store *st, const char *zone, uint64_t *seq);

/* Changes with seq > after, oldest first. */
int store_changes(struct store *st, const char *zone, uint64_t after,
                  int (*cb)(const struct store_change *c, void *arg), void *arg);

/* Forget changes older than `before` (a server that fell that far behind
 * rebuilds from the records). */
int store_prune_changes(struct store *st, time_t before);

/* Forget events older than `before`, in every zone: past the evidence
 * window they count for nothing, and the table grows with every report. */
int store_prune_events(struct store *st, time_t before);

#endif
