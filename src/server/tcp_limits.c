/* TCP connection limits: connections per client address, time limits. */
#include "server/tcp_limits.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int tcp_peers_init(struct tcp_peers *p, unsigned max_conns)
{
    memset(p, 0, sizeof(*p));
    uint64_t n = 16;
    while (n < 2 * (uint64_t)max_conns)
        n *= 2;
    p->slot = calloc(n, sizeof(*p->slot));
    if (!p->slot)
        return ERR_NOMEM;
    p->mask = n - 1;
    /* Without randomness the table still works; only its hash is then
     * predictable, and a chain is at most as long as the table is full. */
    if (getrandom(&p->seed, sizeof(p->seed), GRND_NONBLOCK) != (ssize_t)sizeof(p->seed))
        p->seed = (uint64_t)(uintptr_t)p->slot ^ 0x9e3779b97f4a7c15ull;
    return 0;
}

void tcp_peers_free(struct tcp_peers *p)
{
    free(p->slot);
    memset(p, 0, sizeof(*p));
}

/* The client's key: its IPv4 address, or its IPv6 /64. */
static bool tcp_peers_key(const struct sockaddr *client, uint64_t *hi, uint64_t *lo)
{
    if (!addr_sock_128(client, hi, lo))
        return false;
    if (!addr_128_is_ip4(*hi, *lo)) {
        uint64_t mhi, mlo;
        addr_net_masks(TCP_LIMITS_IPV6_PREFIX, &mhi, &mlo);
        *hi &= mhi;
        *lo &= mlo;
    }
    return true;
}

static uint64_t tcp_peers_home(const struct tcp_peers *p, uint64_t hi, uint64_t lo)
{
    return hash_mix64(hash_mix64(hi ^ p->seed) ^ lo) & p->mask;
}

/* The slot holding the key, or the free slot where it would go. */
static struct tcp_peer_slot *tcp_peers_find(const struct tcp_peers *p, uint64_t hi, uint64_t lo)
{
    for (uint64_t i = tcp_peers_home(p, hi, lo);; i = (i + 1) & p->mask) {
        struct tcp_peer_slot *s = &p->slot[i];
        if (s->count == 0 || (s->hi == hi && s->lo == lo))
            return s;
    }
}

int tcp_peers_acquire(struct tcp_peers *p, const struct sockaddr *client, unsigned limit)
{
    uint64_t hi, lo;
    if (!tcp_peers_key(client, &hi, &lo))
        return 0;
    struct tcp_peer_slot *s = tcp_peers_find(p, hi, lo);
    if (s->count == 0) {
        /* Half the table stays free, so a search always ends; more
         * clients than the table was made for are refused. */
        if (p->used + 1 > (p->mask + 1) / 2)
            return ERR_LIMIT;
        s->hi = hi;
        s->lo = lo;
        p->used++;
    } else if (limit && s->count >= limit) {
        return ERR_LIMIT;
    }
    s->count++;
    return 0;
}

void tcp_peers_release(struct tcp_peers *p, const struct sockaddr *client)
{
    uint64_t hi, lo;
    if (!tcp_peers_key(client, &hi, &lo))
        return;
    struct tcp_peer_slot *s = tcp_peers_find(p, hi, lo);
    if (s->count == 0 || --s->count > 0)
        return;
    /* The slot is free again: move later entries of the run back into
     * it when it lies between their home and them (linear probing's
     * deletion without tombstones). */
    p->used--;
    uint64_t hole = (uint64_t)(s - p->slot);
    for (uint64_t i = (hole + 1) & p->mask; p->slot[i].count; i = (i + 1) & p->mask) {
        uint64_t home = tcp_peers_home(p, p->slot[i].hi, p->slot[i].lo);
        /* Distance from home to i, and from home to the hole, along the
         * probe sequence: the entry may move when the hole comes first. */
        if (((hole - home) & p->mask) < ((i - home) & p->mask)) {
            p->slot[hole] = p->slot[i];
            p->slot[i].count = 0;
            hole = i;
        }
    }
}

unsigned tcp_peers_count(const struct tcp_peers *p, const struct sockaddr *client)
{
    uint64_t hi, lo;
    if (!tcp_peers_key(client, &hi, &lo))
        return 0;
    return tcp_peers_find(p, hi, lo)->count;
}

enum tcp_expiry tcp_limits_expired(const struct tcp_limits *l, int64_t now, int64_t opened,
                                   int64_t last)
{
    if (l->max_time && now - opened >= (int64_t)l->max_time * 1000)
        return TCP_EXPIRY_TIME;
    if (l->idle && now - last >= (int64_t)l->idle * 1000)
        return TCP_EXPIRY_IDLE;
    return TCP_EXPIRY_NONE;
}
