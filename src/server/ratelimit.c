/* Response rate limiting: a table of per-network counters of the current
 * second, shared by the UDP workers without locks. */
#include "server/ratelimit.h"
#include "common/addr.h"
#include "common/err.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A slot packs the owner's tag (24 bits of its hash), the second it
 * counts (16 low bits of it) and the count (24 bits), so one
 * compare-and-swap updates all three. A slot whose tag or second differs
 * holds another network or a past second: it starts over for ours. Two
 * networks sharing a slot thus reset each other and both pass: the table
 * errs on the side of answering. */
#define RL_TAG_SHIFT 40
#define RL_SEC_SHIFT 24
#define RL_COUNT_MASK 0xffffffull
#define RL_SEC_MASK 0xffffull
#define RL_MAX_TABLE (1u << 24)

void ratelimit_conf_init(struct ratelimit_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->slip = RATELIMIT_DEFAULT_SLIP;
    c->v4_prefix = RATELIMIT_DEFAULT_V4_PREFIX;
    c->v6_prefix = RATELIMIT_DEFAULT_V6_PREFIX;
    c->table = RATELIMIT_DEFAULT_TABLE;
}

/* Clear the bits past `bits` of a (len bytes). */
static void ratelimit_mask(uint8_t *a, size_t len, unsigned bits)
{
    for (size_t i = 0; i < len; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        a[i] &= (uint8_t)(0xff00u >> keep);
    }
}

int ratelimit_net_parse(const char *s, struct ratelimit_net *out)
{
    char buf[64];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, s, len + 1);
    memset(out, 0, sizeof(*out));
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    unsigned max;
    uint32_t a4;
    if (addr_ip4_parse(buf, &a4) == 0) {
        out->family = AF_INET;
        out->addr[0] = (uint8_t)(a4 >> 24);
        out->addr[1] = (uint8_t)(a4 >> 16);
        out->addr[2] = (uint8_t)(a4 >> 8);
        out->addr[3] = (uint8_t)a4;
        max = 32;
    } else if (addr_ip6_parse(buf, out->addr) == 0) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return ERR_INVAL;
    }
    unsigned bits = max;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        if (*p < '0' || *p > '9')
            return ERR_INVAL;
        unsigned long n = strtoul(p, &end, 10);
        if (*end || n > max)
            return ERR_INVAL;
        bits = (unsigned)n;
    }
    out->bits = (uint8_t)bits;
    ratelimit_mask(out->addr, max / 8, bits);
    return 0;
}

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_conf *c)
{
    memset(rl, 0, sizeof(*rl));
    if (c->rate == 0 || c->rate > RATELIMIT_MAX_RATE || c->v4_prefix < 1 || c->v4_prefix > 32 ||
        c->v6_prefix < 1 || c->v6_prefix > 128 || c->table == 0 || c->table > RL_MAX_TABLE)
        return ERR_INVAL;
    size_t n = 1;
    while (n < c->table)
        n <<= 1;
    rl->slot = calloc(n, sizeof(*rl->slot));
    if (!rl->slot)
        return ERR_NOMEM;
    rl->conf = *c;
    rl->mask = n - 1;
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

/* MurmurHash3's 64-bit finalizer: every input bit reaches every output
 * bit, which both the slot index and the tag need. */
static uint64_t ratelimit_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t ratelimit_load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The client's address as 16 bytes (IPv4 in the first 4) and its family,
 * an IPv4-mapped IPv6 address counting as the IPv4 one. */
static int ratelimit_client(const struct sockaddr *sa, uint8_t a[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(a, 0, 16);
    if (sa->sa_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const uint8_t *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    if (!memcmp(b, mapped, sizeof(mapped))) {
        memcpy(a, b + 12, 4);
        return AF_INET;
    }
    memcpy(a, b, 16);
    return AF_INET6;
}

static bool ratelimit_exempt(const struct ratelimit_conf *c, int family, const uint8_t a[16])
{
    for (unsigned i = 0; i < c->nexempt; i++) {
        const struct ratelimit_net *n = &c->exempt[i];
        if (n->family != family)
            continue;
        uint8_t m[16];
        memcpy(m, a, 16);
        ratelimit_mask(m, 16, n->bits);
        if (!memcmp(m, n->addr, 16))
            return true;
    }
    return false;
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct sockaddr *client,
                                       uint32_t now, unsigned *slip_count)
{
    uint8_t a[16];
    int family = ratelimit_client(client, a);
    if (family == 0)
        return RATELIMIT_PASS;
    if (rl->conf.nexempt && ratelimit_exempt(&rl->conf, family, a))
        return RATELIMIT_PASS;
    ratelimit_mask(a, 16, family == AF_INET ? rl->conf.v4_prefix : rl->conf.v6_prefix);
    uint64_t h = ratelimit_mix(ratelimit_load64(a) ^ rl->seed ^ (uint64_t)family);
    h = ratelimit_mix(h ^ ratelimit_load64(a + 8));

    _Atomic uint64_t *slot = &rl->slot[h & rl->mask];
    uint64_t tag = h >> RL_TAG_SHIFT;
    uint64_t sec = now & RL_SEC_MASK;
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        uint64_t count = 0;
        if (old >> RL_TAG_SHIFT == tag && (old >> RL_SEC_SHIFT & RL_SEC_MASK) == sec) {
            count = old & RL_COUNT_MASK;
            if (count >= rl->conf.rate)
                break;
        }
        uint64_t next = tag << RL_TAG_SHIFT | sec << RL_SEC_SHIFT | (count + 1);
        if (atomic_compare_exchange_weak_explicit(slot, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return RATELIMIT_PASS;
    }
    if (rl->conf.slip && ++*slip_count >= rl->conf.slip) {
        *slip_count = 0;
        return RATELIMIT_SLIP;
    }
    return RATELIMIT_DROP;
}
