/* Response rate limiting for UDP: a spoofed-source flood must not turn
 * the server into an amplifier aimed at the address it claims. Every
 * client network (a /24 of IPv4, a /56 of IPv6 by default) may receive
 * at most `rate` UDP responses per second; past that, responses are
 * dropped, except every `slip`-th, which goes out empty with TC set so a
 * real resolver behind the network retries over TCP, which is never
 * limited. The same policy as BIND's and Knot's RRL, keyed by client
 * network only: a DNSBL's clients are resolvers asking many names. */
#ifndef DBK_SERVER_RATELIMIT_H
#define DBK_SERVER_RATELIMIT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_MAX_RATE ((1u << 24) - 1)
#define RATELIMIT_MAX_EXEMPT 64
#define RATELIMIT_DEFAULT_SLIP 2
#define RATELIMIT_DEFAULT_V4_PREFIX 24
#define RATELIMIT_DEFAULT_V6_PREFIX 56
#define RATELIMIT_DEFAULT_TABLE 262144

/* A network exempt from the limit (the operator's own resolvers). */
struct ratelimit_net {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t bits;
    uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

struct ratelimit_conf {
    uint32_t rate;      /* responses per second per network; 0 = off */
    unsigned slip;      /* every slip-th limited response is sent truncated; 0 = never */
    unsigned v4_prefix; /* 1..32 */
    unsigned v6_prefix; /* 1..128 */
    unsigned table;     /* slots; rounded up to a power of two */
    struct ratelimit_net exempt[RATELIMIT_MAX_EXEMPT];
    unsigned nexempt;
};

void ratelimit_conf_init(struct ratelimit_conf *c);

/* Parse "addr[/bits]" (IPv4 or IPv6) into a network, host bits cleared. */
int ratelimit_net_parse(const char *s, struct ratelimit_net *out);

/* The table shared by every UDP worker. Each slot is one 64-bit word
 * updated with compare-and-swap, so workers never lock and a limited
 * client costs a hash and one atomic load. */
struct ratelimit {
    struct ratelimit_conf conf;
    _Atomic uint64_t *slot;
    uint64_t mask;
    uint64_t seed; /* per process: nobody can aim many networks at one slot */
};

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_conf *c);
void ratelimit_free(struct ratelimit *rl);

enum ratelimit_verdict {
    RATELIMIT_PASS, /* answer as usual */
    RATELIMIT_DROP, /* send nothing */
    RATELIMIT_SLIP, /* send an empty truncated reply */
};

/* Account one response to `client` in second `now`. `slip_count` is the
 * caller's (one per worker, so no shared counter is written for it). */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct sockaddr *client,
                                       uint32_t now, unsigned *slip_count);

#endif
