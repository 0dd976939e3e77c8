/* Limits on DNS over TCP that need state of their own: how many
 * connections each client address holds (so that one host cannot take
 * the whole table), and which time limit an open connection has passed.
 * The TCP thread alone uses them; nothing allocates per connection. */
#ifndef DBK_SERVER_TCP_LIMITS_H
#define DBK_SERVER_TCP_LIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The defaults of [server]: on, and far above what a resolver needs. A
 * resolver falls back to TCP for the odd truncated answer and reuses
 * one or a few connections (RFC 7766); Unbound opens at most 10 per
 * thread towards one server. */
#define TCP_LIMITS_DEFAULT_PER_ADDRESS 16
#define TCP_LIMITS_DEFAULT_MAX_TIME 60 /* seconds */
#define TCP_LIMITS_DEFAULT_MAX_QUERIES 100

/* What makes one client: an IPv4 address, or an IPv6 /64 (a host gets a
 * /64 and may use any address in it; counting /128s would let it open a
 * connection from each). An IPv4-mapped IPv6 client is its IPv4 address. */
#define TCP_LIMITS_IPV6_PREFIX 64

/* Connections per client: an open-addressing table of at least twice as
 * many slots as connections may be open, so it never fills. Keys are
 * hashed with a secret seed. */
struct tcp_peer_slot {
    uint64_t hi, lo;
    uint32_t count; /* 0: the slot is free */
};

struct tcp_peers {
    struct tcp_peer_slot *slot;
    uint64_t mask; /* slots - 1 */
    uint64_t seed;
    unsigned used; /* slots taken */
};

/* A table for up to max_conns connections at once. */
int tcp_peers_init(struct tcp_peers *p, unsigned max_conns);
void tcp_peers_free(struct tcp_peers *p);

/* Count a new connection from client, unless the client holds `limit`
 * already (limit 0: no limit): 0, or ERR_LIMIT (not counted). A client
 * of a family without an address (never over TCP) is not counted. */
int tcp_peers_acquire(struct tcp_peers *p, const struct sockaddr *client, unsigned limit);

/* A connection counted by tcp_peers_acquire closed. */
void tcp_peers_release(struct tcp_peers *p, const struct sockaddr *client);

/* Connections the client holds now. */
unsigned tcp_peers_count(const struct tcp_peers *p, const struct sockaddr *client);

/* The time limits of a connection, in seconds; 0 = none (idle has one
 * always, the configuration refuses 0). */
struct tcp_limits {
    unsigned idle;     /* since the last byte read or written */
    unsigned max_time; /* since the connection was accepted */
};

enum tcp_expiry {
    TCP_EXPIRY_NONE,
    TCP_EXPIRY_IDLE,
    TCP_EXPIRY_TIME,
};

/* Which limit a connection accepted at `opened`, last active at `last`,
 * has reached at `now` (milliseconds of any clock). The total time wins
 * over idleness when both are reached. */
enum tcp_expiry tcp_limits_expired(const struct tcp_limits *l, int64_t now, int64_t opened,
                                   int64_t last);

#endif
