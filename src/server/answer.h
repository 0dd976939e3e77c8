/* The answer path: one request in, one reply out, from a snapshot. Shared
 * by the UDP and TCP front ends; allocates nothing. */
#ifndef DBK_SERVER_ANSWER_H
#define DBK_SERVER_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/snapshot.h"

struct answer_opts {
    uint32_t ttl_min, ttl_max; /* clamp for every record's TTL (-t) */
    bool full_authority;       /* -A: NS records in the authority section */
};

/* Per-thread counters (plain integers: each thread owns its own). */
struct answer_stats {
    uint64_t queries;
    uint64_t listed; /* NOERROR with answer records */
    uint64_t nodata; /* NOERROR without */
    uint64_t nxdomain;
    uint64_t refused;
    uint64_t formerr;
    uint64_t notimp;
    uint64_t servfail;
    uint64_t truncated;
    uint64_t dropped;
};

/* Answer one request. `tcp` lifts the UDP size limit. Returns the reply
 * length in `out` (at most outcap), or 0 when the request must be
 * dropped without a reply. */
size_t answer_packet(const struct snapshot *snap, const struct answer_opts *opts,
                     const uint8_t *req, size_t reqlen, const struct sockaddr *client, bool tcp,
                     uint8_t *out, size_t outcap, struct answer_stats *stats);

/* Add b's counters to a. */
void answer_stats_add(struct answer_stats *a, const struct answer_stats *b);

#endif
