/* Zone transfers out: AXFR (RFC 5936) over TCP from one snapshot, IXFR
 * (RFC 1995) from the history of changes (xfr_journal.h) or, where that
 * does not reach the client's serial, with the whole zone; the transfer
 * ACL, and the counters. The records come
 * from data/zone_records.h; this module decides who gets them and writes
 * them as a stream of DNS messages. */
#ifndef DBK_SERVER_XFR_H
#define DBK_SERVER_XFR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/snapshot.h"
#include "server/xfr_journal.h"
#include "wire/tsig.h"
#include "wire/wire.h"

/* Transfers in progress at most; more are answered SERVFAIL (the
 * secondary retries after its retry interval). */
#define XFR_MAX_ACTIVE 16

/* Counters of one server, and the state of its refusal log. */
struct xfr_counters {
    _Atomic uint64_t done;    /* transfers sent whole */
    _Atomic uint64_t ixfr;    /* of which IXFRs answered from the history */
    _Atomic uint64_t refused; /* refused: client not allowed, too many records */
    _Atomic uint64_t failed;  /* started, not finished (peer gone, stop, error) */
    _Atomic uint64_t records; /* records sent by finished transfers */
    _Atomic uint64_t bytes;   /* bytes sent by finished transfers */
    _Atomic unsigned active;  /* transfers running now */
    /* Refusals are logged at most XFR_LOG_PER_SECOND a second; the rest
     * are counted and said with the next line logged. */
    _Atomic int64_t log_second;
    _Atomic unsigned log_count;
    _Atomic uint64_t log_dropped;
};

#define XFR_LOG_PER_SECOND 10

/* A transfer request: the question (as wire_parse_query would give it),
 * and for IXFR the serial the client has. */
struct xfr_request {
    struct wire_query q;
    bool have_serial;
    uint32_t serial;
    const struct tsig_key *key; /* the TSIG key that signed it, verified; NULL: unsigned */
};

/* A request that wire_parse_query refuses only because of the SOA an
 * IXFR carries in its authority section: 0 and rq filled for an IXFR
 * query, ERR_NOTFOUND for anything else (answered as before). */
int xfr_parse_ixfr(const uint8_t *pkt, size_t len, struct xfr_request *rq);

/* Whether a message asks for AXFR or IXFR (a look at its question's
 * type only, for the TCP front end to take such requests aside). */
bool xfr_is_request(const uint8_t *pkt, size_t len);

/* The request for an AXFR or IXFR question wire_parse_query accepted. */
void xfr_request_from(struct xfr_request *rq, const struct wire_query *q);

enum xfr_verdict {
    XFR_GO,       /* TCP: stream the zone */
    XFR_SOA_ONLY, /* the zone's SOA alone: IXFR over UDP (use TCP), or
                     a client whose serial is not older than ours */
    XFR_REFUSED,  /* not our zone, or the client is not allowed */
    XFR_NOTAUTH,  /* a name inside a zone, not its apex */
    XFR_SERVFAIL, /* the zone is not loaded, past its $TIMESTAMP, or too
                     many transfers run */
    XFR_NOTIMP,   /* AXFR over UDP (RFC 5936 4.2: not defined) */
};

/* What to do with a transfer request from client; *zone is the zone
 * asked for (NULL when none). Refusals are counted and logged with the
 * client and the zone. */
enum xfr_verdict xfr_decide(const struct snapshot *snap, const struct xfr_request *rq,
                            const struct sockaddr *client, bool tcp, struct xfr_counters *xc,
                            const struct zone **zone);

/* One transfer: from a snapshot the caller holds a reference on, to a
 * TCP socket (non-blocking; written with poll). `pending` bytes queued
 * for the connection before the request go first. Stops early when
 * *stop turns true or the peer makes no progress for XFR_IO_TIMEOUT_S
 * seconds. Logs the outcome and counts it. */
struct xfr_job {
    const struct zone *zone;
    struct xfr_request rq;
    int fd;
    struct sockaddr_storage peer;
    uint32_t ttl_min, ttl_max; /* the server's TTL clamp (-t) */
    const atomic_bool *stop;
    struct xfr_counters *xc;
    const uint8_t *pending;
    size_t npending;
    struct xfr_journal *journal; /* IXFR's history; NULL: none */
    bool sign;                   /* a signed request: every message signed with tsig */
    struct tsig_ctx tsig;
};

#define XFR_IO_TIMEOUT_S 30

/* How long an IXFR waits for the difference to the version it is asked
 * in, when the history reaches the client but not yet that version. */
#define XFR_IXFR_WAIT_MS 4000
#define XFR_IXFR_WAIT_STEP_MS 250

int xfr_run(const struct xfr_job *job);

/* Log (rate-limited) and count a refused transfer, or a refused signed
 * request of another type, with why. */
void xfr_refusal(struct xfr_counters *xc, const struct xfr_request *rq,
                 const struct sockaddr *client, const char *why);

#endif
