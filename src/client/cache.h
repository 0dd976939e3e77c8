/* Answers of lists kept as long as their TTLs allow (reply_cache_ttl),
 * so a busy mail host asks each list once per address per TTL. A fixed
 * number of entries in an open-addressing hash table; when full, the
 * entry that expires first among a few probed is replaced. Times are in
 * milliseconds of a monotonic clock the caller passes. Single-threaded. */
#ifndef DBK_CLIENT_CACHE_H
#define DBK_CLIENT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/reply.h"

struct cache;

/* A cache of at most `entries` answers (at least 16). ERR_NOMEM. */
int cache_new(size_t entries, struct cache **out);
void cache_free(struct cache *c);

/* The answer for (name, qtype), when one is cached and unexpired at
 * now_ms. Names compare without case. */
bool cache_get(struct cache *c, const char *name, uint16_t qtype, int64_t now_ms,
               struct reply *out);

/* Keep rep for (name, qtype) for ttl seconds (0: nothing is kept, and an
 * older entry for the key is dropped). */
void cache_put(struct cache *c, const char *name, uint16_t qtype, const struct reply *rep,
               uint32_t ttl, int64_t now_ms);

/* Drop every entry whose name is zone or ends in ".zone" (a list that
 * turned sick: its cached answers are not to be trusted either). */
void cache_drop_zone(struct cache *c, const char *zone);

struct cache_stats {
    uint64_t hits, misses, stores, evictions;
    size_t used, capacity;
};
void cache_stats(const struct cache *c, struct cache_stats *out);

#endif
