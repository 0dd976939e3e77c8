/* Response rate limiting: a table of per-network counters of the current
 * second, shared by the UDP workers without locks. */
#include "server/ratelimit.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/hash.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A slot packs the owner's tag (24 bits of its hash), the second it
 * counts (16 low bits of it) and the responses of that second (24 bits),
 * so one compare-and-swap updates all three. The count goes on past the
 * rate, so that "every slip-th limited response" holds per network.
 *
 * A network hashes to a bucket of two slots. It takes the slot that
 * holds its tag; failing that, one that counts a past second; failing
 * that, the one with the lower count, which starts over for it. Only a
 * third network busy in the same bucket in the same second can thus
 * reset a flooded network's count, and then the flood is answered: the
 * table errs on the side of answering, and its size (8 bytes a slot)
 * keeps that rare. */
#define RL_TAG_SHIFT 40
#define RL_SEC_SHIFT 24
#define RL_COUNT_MASK 0xffffffull
#define RL_SEC_MASK 0xffffull
#define RL_MAX_TABLE (1u << 24)

void ratelimit_conf_init(struct ratelimit_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->rate = RATELIMIT_DEFAULT_RATE;
    addr_net_parse("127.0.0.0/8", &c->exempt[c->nexempt++]);
    addr_net_parse("::1", &c->exempt[c->nexempt++]);
    c->exempt_default = true;
    c->slip = RATELIMIT_DEFAULT_SLIP;
    c->v4_prefix = RATELIMIT_DEFAULT_V4_PREFIX;
    c->v6_prefix = RATELIMIT_DEFAULT_V6_PREFIX;
    c->table = RATELIMIT_DEFAULT_TABLE;
}

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_conf *c)
{
    memset(rl, 0, sizeof(*rl));
    if (c->rate == 0 || c->rate > RATELIMIT_MAX_RATE || c->v4_prefix < 1 || c->v4_prefix > 32 ||
        c->v6_prefix < 1 || c->v6_prefix > 128 || c->table == 0 || c->table > RL_MAX_TABLE)
        return ERR_INVAL;
    size_t n = 2; /* at least one bucket */
    while (n < c->table)
        n <<= 1;
    rl->slot = calloc(n, sizeof(*rl->slot));
    if (!rl->slot)
        return ERR_NOMEM;
    rl->conf = *c;
    rl->mask = n - 1;
    uint64_t unused;
    addr_net_masks(96 + c->v4_prefix, &unused, &rl->v4_mlo);
    addr_net_masks(c->v6_prefix, &rl->v6_mhi, &rl->v6_mlo);
    /* Without randomness the table still works; only its hash is then
     * predictable. */
    if (getrandom(&rl->seed, sizeof(rl->seed), GRND_NONBLOCK) != (ssize_t)sizeof(rl->seed))
        rl->seed = (uint64_t)(uintptr_t)rl->slot ^ 0x9e3779b97f4a7c15ull;
    return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
    free(rl->slot);
    memset(rl, 0, sizeof(*rl));
}

static unsigned ratelimit_count(uint64_t slot)
{
    return (unsigned)(slot & RL_COUNT_MASK);
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct sockaddr *client,
                                       uint32_t now)
{
    uint64_t hi, lo;
    if (!addr_sock_128(client, &hi, &lo))
        return RATELIMIT_PASS;
    for (unsigned i = 0; i < rl->conf.nexempt; i++)
        if (addr_net_has(&rl->conf.exempt[i], hi, lo))
            return RATELIMIT_PASS;
    if (addr_128_is_ip4(hi, lo)) {
        lo &= rl->v4_mlo;
    } else {
        hi &= rl->v6_mhi;
        lo &= rl->v6_mlo;
    }
    uint64_t h = hash_mix64(hash_mix64(hi ^ rl->seed) ^ lo);

    _Atomic uint64_t *bucket = &rl->slot[h & rl->mask & ~1ull];
    uint64_t tag = h >> RL_TAG_SHIFT;
    uint64_t sec = now & RL_SEC_MASK;
    uint64_t count;
    for (;;) {
        uint64_t s[2] = {atomic_load_explicit(&bucket[0], memory_order_relaxed),
                         atomic_load_explicit(&bucket[1], memory_order_relaxed)};
        unsigned k;
        if (s[0] >> RL_TAG_SHIFT == tag)
            k = 0;
        else if (s[1] >> RL_TAG_SHIFT == tag)
            k = 1;
        else if ((s[0] >> RL_SEC_SHIFT & RL_SEC_MASK) != sec)
            k = 0;
        else if ((s[1] >> RL_SEC_SHIFT & RL_SEC_MASK) != sec)
            k = 1;
        else
            k = ratelimit_count(s[1]) < ratelimit_count(s[0]);
        uint64_t old = s[k];
        bool ours = old >> RL_TAG_SHIFT == tag && (old >> RL_SEC_SHIFT & RL_SEC_MASK) == sec;
        count = ours ? ratelimit_count(old) : 0;
        if (count == RL_COUNT_MASK)
            break; /* 16M this second: no need to count on */
        uint64_t next = tag << RL_TAG_SHIFT | sec << RL_SEC_SHIFT | (count + 1);
        if (atomic_compare_exchange_weak_explicit(&bucket[k], &old, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
    if (count < rl->conf.rate)
        return RATELIMIT_PASS;
    /* count - rate + 1 is this response's number among the limited ones. */
    if (rl->conf.slip && (count - rl->conf.rate + 1) % rl->conf.slip == 0)
        return RATELIMIT_SLIP;
    return RATELIMIT_DROP;
}
