/* The answer path: one request in, one reply out, from a snapshot. Shared
 * by the UDP and TCP front ends; allocates nothing. */
#ifndef DBK_SERVER_ANSWER_H
#define DBK_SERVER_ANSWER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/snapshot.h"
#include "server/xfr.h"
#include "wire/tsig.h"

struct answer_opts {
    uint32_t ttl_min, ttl_max;   /* clamp for every record's TTL (-t) */
    bool full_authority;         /* -A: NS records in the authority section */
    struct xfr_counters *xfr;    /* transfer counters and refusal log (NULL:
                                    not counted) */
    const struct tsig_key *keys; /* tsig-key: who may sign requests */
    size_t nkeys;
};

/* Per-thread counters. Each thread owns its own set and is its only
 * writer, so increments are plain relaxed load+store (no locked
 * instruction on the hot path), while other threads may read them at any
 * time for statistics. */
/* Per zone, answers are counted by query type and by result, for the
 * metrics. Zones are counted in their configuration order; past
 * ANSWER_MAX_ZONES - 1 they share the last slot. */
#define ANSWER_MAX_ZONES ZONE_STAT_SLOTS
enum {
    ANSWER_QT_A,
    ANSWER_QT_TXT,
    ANSWER_QT_AAAA,
    ANSWER_QT_ANY,
    ANSWER_QT_SOA,
    ANSWER_QT_NS,
    ANSWER_QT_OTHER,
    ANSWER_QTYPES
};
enum {
    ANSWER_RES_LISTED,
    ANSWER_RES_NODATA,
    ANSWER_RES_NXDOMAIN,
    ANSWER_RES_REFUSED,
    ANSWER_RES_SERVFAIL,
    ANSWER_RES_NOTIMP,
    ANSWER_RES_DROPPED,
    ANSWER_RES_REFUSED_KEY, /* a keyed zone: no key, or an unknown one */
    ANSWER_RESULTS
};

/* "a", "txt", ... and "listed", "nodata", ...: the metrics' label values. */
const char *answer_qtype_name(unsigned slot);
const char *answer_result_name(unsigned slot);

struct answer_stats {
    _Atomic uint64_t queries;
    _Atomic uint64_t listed; /* NOERROR with answer records */
    _Atomic uint64_t nodata; /* NOERROR without */
    _Atomic uint64_t nxdomain;
    _Atomic uint64_t refused;
    _Atomic uint64_t formerr;
    _Atomic uint64_t notimp;
    _Atomic uint64_t servfail;
    _Atomic uint64_t truncated;
    _Atomic uint64_t dropped;
    _Atomic uint64_t ratelimited; /* UDP responses withheld by the rate limit */
    _Atomic uint64_t slipped;     /* of those, sent empty with TC set */
    /* TCP connections (the TCP thread's counters only): refused at once
     * because the table was full or the client held its share, and
     * closed for a limit: idle, total time, queries answered. */
    _Atomic uint64_t tcp_refused_full;
    _Atomic uint64_t tcp_refused_address;
    _Atomic uint64_t tcp_closed_idle;
    _Atomic uint64_t tcp_closed_time;
    _Atomic uint64_t tcp_closed_queries;
    _Atomic uint64_t zone[ANSWER_MAX_ZONES][ANSWER_QTYPES][ANSWER_RESULTS];
};

#define ANSWER_STAT_INC(st, field)                                                                 \
    atomic_store_explicit(&(st)->field,                                                            \
                          atomic_load_explicit(&(st)->field, memory_order_relaxed) + 1,            \
                          memory_order_relaxed)

/* Answer one request. `tcp` lifts the UDP size limit. Returns the reply
 * length in `out` (at most outcap), or 0 when the request must be
 * dropped without a reply. A request signed with TSIG (RFC 8945) is
 * verified against opts->keys and its answer signed; one that does not
 * verify gets NOTAUTH with the TSIG error, and is logged. */
size_t answer_packet(const struct snapshot *snap, const struct answer_opts *opts,
                     const uint8_t *req, size_t reqlen, const struct sockaddr *client, bool tcp,
                     uint8_t *out, size_t outcap, struct answer_stats *stats);

/* A request over the rate limit (ratelimit.h): counted, and answered
 * with an empty truncated reply when `slip`, so a real resolver retries
 * over TCP. Returns the reply length, or 0 for none (not slipping, or a
 * request that does not parse). */
size_t answer_limited(const uint8_t *req, size_t reqlen, bool slip, uint8_t *out, size_t outcap,
                      struct answer_stats *stats);

/* The one-message reply to a transfer request that is not streamed
 * (xfr_decide's verdict v for zone z): the zone's SOA alone, or REFUSED,
 * NOTAUTH, SERVFAIL (also for XFR_GO, when the stream cannot start),
 * NOTIMP. answer_packet answers UDP ones with it; the TCP front end
 * those it does not stream. */
size_t answer_xfr(const struct answer_opts *opts, const struct xfr_request *rq, enum xfr_verdict v,
                  const struct zone *z, bool tcp, uint8_t *out, size_t outcap,
                  struct answer_stats *stats);

/* A signed request's TSIG, found by tsig_find in req: verified against
 * opts->keys. On success returns 0 with ctx ready to sign the answer and
 * the request without its TSIG in copy (at least reqlen bytes), *copylen
 * long. Otherwise the NOTAUTH (or FORMERR) reply is in out, its length
 * in *outlen (0: none), the refusal logged and counted, and ERR_PERM
 * returned. Over UDP (udp) the reply keeps within the request's size
 * (512 bytes without EDNS): one whose TSIG would not fit comes with TC. */
int answer_tsig_verify(const struct answer_opts *opts, const uint8_t *req, size_t reqlen,
                       const struct tsig_rr *rr, const struct sockaddr *client, bool udp,
                       struct tsig_ctx *ctx, uint8_t *copy, size_t *copylen, uint8_t *out,
                       size_t outcap, size_t *outlen, struct answer_stats *stats);

/* Sign the answer out[0..*len) (room up to outcap) with ctx, as the
 * answer to the request ctx verified. On failure the answer goes
 * unsigned: the client then says why. */
void answer_tsig_sign(struct tsig_ctx *ctx, uint8_t *out, size_t *len, size_t outcap);

/* Add b's counters to a (a is owned by the caller; b may be live). */
void answer_stats_add(struct answer_stats *a, struct answer_stats *b);

/* a -= b, field by field (for statistics since a reset). */
void answer_stats_sub(struct answer_stats *a, struct answer_stats *b);

#endif
