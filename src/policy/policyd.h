/* The policy service: Postfix connections (TCP and unix sockets) in one
 * poll loop with the checker's DNS sockets. Each connection carries
 * requests one after the other (pipelined ones wait in its buffer); a
 * request at the configured protocol state is checked, the others get
 * DUNNO; a malformed one closes the connection. The checker's health is
 * shared by every connection and kept fresh by periodic probe rounds. */
#ifndef DBK_POLICY_POLICYD_H
#define DBK_POLICY_POLICYD_H

#include <signal.h>
#include <stdint.h>

#include "client/check_conf.h"
#include "policy/policy_conf.h"

#define POLICYD_LATENCY_BUCKETS 5 /* under 1 ms, 10 ms, 100 ms, 1 s, and the rest */

struct policyd_counters {
    uint64_t connections, requests, malformed;
    uint64_t dunno, reject, mark, blind, skipped, allowed, cached;
    uint64_t timeouts; /* answered at answer-timeout, as blind */
    uint64_t overload; /* answered as blind at once: too many checks in flight */
    uint64_t late;     /* results for a connection gone or an answer already given */
    /* Of checks answered with their result. */
    uint64_t latency_us_sum, latency_us_max, latency_hist[POLICYD_LATENCY_BUCKETS];
};

/* The decisions a list took part in: it listed one of the message's
 * subjects (with a weight of either sign). */
struct policyd_list_counters {
    uint64_t reject, mark, dunno;
};

/* Serve until *stop is set (a signal handler's flag); *report set means
 * log the counters (and is cleared). Returns 0 after a clean stop, 1
 * when a socket cannot be opened or the resolver cannot start (the
 * reason logged). */
int policyd_run(const struct policy_conf *pc, const struct check_conf *cc,
                volatile sig_atomic_t *stop, volatile sig_atomic_t *report);

#endif
