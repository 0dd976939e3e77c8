/* The listing databases behind live zones, as the HTTP thread sees them:
 * one store connection per listing configuration, opened on first use and
 * kept, with the count of each zone's listings the API's pages show; and
 * the facts about one subject gathered from DNS answers and those
 * databases. Used by the MHD thread only. */
#ifndef DBK_HTTP_HTTP_LIVE_H
#define DBK_HTTP_HTTP_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/http_facts.h"
#include "listing/engine.h"
#include "listing/listing_conf.h"
#include "listing/netkey.h"
#include "listing/store.h"

struct server;
struct server_reader;

/* A zone's count of listings in force, kept between requests (see
 * http_live_total). */
struct http_live_total {
    char zone[256];
    bool counted;
    uint64_t total;
    uint64_t seq;           /* the zone's last change, read before counting */
    time_t at;              /* the `now` counted at */
    time_t next_expiry;     /* the first end among those counted; 0 = none */
    int64_t reuse_until_ms; /* CLOCK_MONOTONIC; 0 = a cheap count, never reused stale */
};

struct http_live {
    char *config; /* the live zone's configuration file */
    struct listing_conf conf;
    struct store *st;
    struct engine eng;
    struct http_live_total *totals; /* one per zone asked for */
    unsigned ntotals;
};

struct http_lives {
    struct http_live *v;
    unsigned n;
};

/* The listing database of a configuration file, opened (and kept) on
 * first use. A failure is not kept: the next call tries again. On error
 * err says why. */
int http_lives_get(struct http_lives *ls, const char *config, struct http_live **out, char *err,
                   size_t errsz);

void http_lives_free(struct http_lives *ls);

/* How many listings of `zone` are in force at `now`, for the API's pages.
 * *as_of is when that was the exact number: `now`, unless the count is a
 * reused one (below), then the `now` it was counted at.
 *
 * Counting reads every listing of the zone (0.2 s at a million), on a
 * route anyone may call, so a count is kept and used again while it is
 * known to be exact: the zone's change log has nothing newer (every write
 * that starts, ends or moves a listing logs a change) and no listing it
 * counted has ended since (the earliest end is one index seek). Otherwise
 * it is counted again, except that a count that took long is reused, even
 * though stale, for a while after it (http_live_reuse_ms): a zone that
 * changes every second would otherwise be counted on every request. */
int http_live_total(struct http_live *l, const char *zone, time_t now, uint64_t *total,
                    time_t *as_of);

/* How long (ms) a count that took `took_ms` is reused when stale: 0 for
 * a cheap one (under 20 ms), else 100 times what it took, so that a zone
 * that always changes takes about 1% of the thread's time to count; but
 * at most 60 s, the oldest a total may be (so counts of over 0.6 s, zones
 * of millions, take more: about 4% at 10M listings, estimated). */
int64_t http_live_reuse_ms(int64_t took_ms);

/* A subject as the page and the API show it: an IPv4 or IPv6 address in
 * its usual form, or a domain name in lower case without the final dot.
 * *key is set for addresses (the address, or an IPv6 address's /64) and
 * *is_addr says whether it was one. ERR_INVAL for anything else. */
int http_live_subject(const char *in, char *out, size_t outsz, struct netkey *key, bool *is_addr);

/* What every zone says about the subject (see http_facts.h): the DNS
 * answers, and for live zones the database's facts. A zone whose
 * database cannot be opened is marked unavailable. ERR_INVAL for a bad
 * subject. */
int http_live_facts(struct server *srv, struct server_reader *r, struct http_lives *ls,
                    const char *subject, time_t now, struct http_facts *f);

#endif
