/* Response rate limiting for UDP: a spoofed-source flood must not turn
 * the server into an amplifier aimed at the address it claims. Every
 * client network (a /24 of IPv4, a /56 of IPv6 by default) may receive
 * at most `rate` UDP responses per second; past that, responses are
 * dropped, except every `slip`-th, which goes out empty with TC set so a
 * real resolver behind the network retries over TCP, which is never
 * limited. BIND's and Knot's RRL do the same with more machinery (BIND
 * also keys on the name asked and averages over a window); a DNSBL's
 * clients are resolvers asking many names, so the network alone is the
 * key, and the window is one second. */
#ifndef DBK_SERVER_RATELIMIT_H
#define DBK_SERVER_RATELIMIT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"

#define RATELIMIT_MAX_RATE ((1u << 24) - 1)
#define RATELIMIT_MAX_EXEMPT 64
#define RATELIMIT_MAX_EXEMPT_TEXT "64" /* for messages */
/* On by default, generous: a busy mail host's resolver asks a few
 * hundred a second; a reflection flood is many thousands. */
#define RATELIMIT_DEFAULT_RATE 1000
#define RATELIMIT_DEFAULT_SLIP 2
#define RATELIMIT_DEFAULT_V4_PREFIX 24
#define RATELIMIT_DEFAULT_V6_PREFIX 56
#define RATELIMIT_DEFAULT_TABLE 262144

struct ratelimit_conf {
    uint32_t rate;      /* responses per second per network; 0 = off */
    unsigned slip;      /* every slip-th limited response is sent truncated; 0 = never */
    unsigned v4_prefix; /* 1..32 */
    unsigned v6_prefix; /* 1..128 */
    unsigned table;     /* slots; rounded up to a power of two */
    struct addr_net exempt[RATELIMIT_MAX_EXEMPT]; /* the operator's own resolvers */
    unsigned nexempt;
    /* exempt holds the default, loopback (127.0.0.0/8, ::1): a local
     * resolver, and no outside source can forge those; the first
     * rate-limit-exempt of the configuration replaces it. */
    bool exempt_default;
};

void ratelimit_conf_init(struct ratelimit_conf *c);

/* The table shared by every UDP worker: buckets of two 64-bit slots in
 * one cache line, each slot updated with compare-and-swap, so workers
 * never lock and a limited client costs a hash and an atomic load. */
struct ratelimit {
    struct ratelimit_conf conf;
    _Atomic uint64_t *slot;
    uint64_t mask; /* slots - 1 */
    uint64_t seed; /* per process: nobody can aim many networks at one bucket */
    /* What makes a client network: the masks of rate-limit-ipv4-prefix
     * (over the mapped form) and rate-limit-ipv6-prefix. */
    uint64_t v4_mlo, v6_mhi, v6_mlo;
};

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_conf *c);
void ratelimit_free(struct ratelimit *rl);

enum ratelimit_verdict {
    RATELIMIT_PASS, /* answer as usual */
    RATELIMIT_DROP, /* send nothing */
    RATELIMIT_SLIP, /* send an empty truncated reply */
};

/* Account one response to `client` in second `now` (any clock that
 * counts seconds). */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct sockaddr *client,
                                       uint32_t now);

#endif
