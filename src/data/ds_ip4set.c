/* The ip4set dataset type: IPv4 ranges with per-entry values and
 * exclusions, answered as rbldnsd does: ranges are cut into octet-aligned
 * blocks (/32, /24, /16, /8) kept in one sorted array per level, the most
 * specific level holding the address decides, and there every value listed
 * for that block is returned unless one of its entries is an exclusion. */
#include "common/err.h"
#include "data/array.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip4parse.h"
#include "data/radix.h"
#include "data/value.h"

#include <stdlib.h>
#include <string.h>

#define IP4SET_EXCLUDED UINT32_MAX
#define IP4SET_LEVELS 4 /* index 0 = /32, 1 = /24, 2 = /16, 3 = /8 */

struct ip4set_entry {
    uint32_t addr;  /* block start, host order */
    uint32_t value; /* vtab index, or IP4SET_EXCLUDED */
};

struct ip4set_level {
    struct ip4set_entry *e;
    size_t n, cap;
    /* Levels of IP4SET_INDEX_MIN entries or more: bucket[h] is the first
     * entry whose address is at least h << 16 (65537 entries), so a
     * lookup bisects one /16's entries, a cache line or two, instead of
     * the whole level: millions of entries are two dozen cache misses a
     * query without it. */
    uint32_t *bucket;
};

#define IP4SET_INDEX_MIN 4096
#define IP4SET_BUCKETS 65536u

struct ip4set {
    struct ip4set_level lv[IP4SET_LEVELS];
    struct vtab *vt;
};

static unsigned level_bits(unsigned level)
{
    return 32 - 8 * level;
}

static uint32_t level_mask(unsigned level)
{
    return level == 3 ? 0xFF000000u : 0xFFFFFFFFu << (8 * level);
}

static int ip4set_create(struct dataset *ds)
{
    struct ip4set *s = ds->priv;
    return vtab_new(&s->vt);
}

static void ip4set_destroy(struct dataset *ds)
{
    struct ip4set *s = ds->priv;
    for (unsigned l = 0; l < IP4SET_LEVELS; l++) {
        free(s->lv[l].e);
        free(s->lv[l].bucket);
    }
    vtab_free(s->vt);
}

static int level_add(struct ip4set_level *lv, uint32_t addr, uint32_t value)
{
    if (array_reserve((void **)&lv->e, &lv->cap, lv->n + 1, sizeof(*lv->e), 256) < 0)
        return ERR_NOMEM;
    lv->e[lv->n].addr = addr;
    lv->e[lv->n].value = value;
    lv->n++;
    return 0;
}

struct add_ctx {
    struct ip4set *s;
    uint32_t value;
};

/* Store one CIDR block at the level of the next octet boundary at or
 * below it: a /20 becomes sixteen /24 entries, a /7 two /8 entries. */
static int add_block(uint32_t addr, unsigned bits, void *arg)
{
    struct add_ctx *c = arg;
    unsigned level = bits > 24 ? 0 : bits > 16 ? 1 : bits > 8 ? 2 : 3;
    unsigned lbits = level_bits(level);
    uint64_t count = (uint64_t)1 << (lbits - bits);
    uint64_t step = (uint64_t)1 << (32 - lbits);
    for (uint64_t i = 0; i < count; i++) {
        int rc = level_add(&c->s->lv[level], (uint32_t)(addr + i * step), c->value);
        if (rc)
            return rc;
    }
    return 0;
}

static int ip4set_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct ip4set *s = ds->priv;
    const struct ds_limits *lim = &ds->ctx->limits;
    bool exclude = datafile_exclusion(&line);
    uint32_t first, last;
    int bits;
    const char *end, *why;
    if (ip4parse_range(line, ds->ctx->allow_hostbits ? IP4PARSE_HOSTBITS : 0, &first, &last, &bits,
                       &end, &why) != 0)
        return datafile_error(df, "%s", why);

    struct add_ctx c = {s, IP4SET_EXCLUDED};
    if (!exclude) {
        uint64_t size = (uint64_t)last - first + 1;
        unsigned minp = lim->min_prefix4 > 32 ? 32 : lim->min_prefix4;
        if (!lim->allow_world && minp > 0 && size > ((uint64_t)1 << (32 - minp)))
            return datafile_error(df, "entry shorter than /%u refused", lim->min_prefix4);
        if (df->maxrange4 && size > df->maxrange4) {
            datafile_warn(df, "entry larger than $MAXRANGE4 (%u addresses), ignored",
                          df->maxrange4);
            return 0;
        }
        int rc = datafile_intern_value(df, end, s->vt, &c.value);
        if (rc)
            return rc;
    }
    return ip4parse_blocks(first, last, add_block, &c);
}

/* Sort a level by (addr, value): as 64-bit keys, by radix, in place. */
static void ip4set_sort(struct ip4set_level *lv)
{
    _Static_assert(sizeof(struct ip4set_entry) == sizeof(uint64_t), "entry is 8 bytes");
    /* memcpy in and out keeps the two views of the buffer free of
     * aliasing questions; the compiler turns them into plain moves. */
    unsigned char *raw = (unsigned char *)lv->e;
    for (size_t i = 0; i < lv->n; i++) {
        struct ip4set_entry e;
        memcpy(&e, raw + 8 * i, 8);
        uint64_t key = (uint64_t)e.addr << 32 | e.value;
        memcpy(raw + 8 * i, &key, 8);
    }
    /* In place: a scratch copy would double the peak of a load, and a
     * reload holds the serving data besides. */
    radix_sort64_inplace((uint64_t *)(void *)raw, lv->n);
    for (size_t i = 0; i < lv->n; i++) {
        uint64_t key;
        memcpy(&key, raw + 8 * i, 8);
        struct ip4set_entry e = {(uint32_t)(key >> 32), (uint32_t)key};
        memcpy(raw + 8 * i, &e, 8);
    }
}

/* Index of the first entry with addr >= a. */
static size_t lower_bound(const struct ip4set_level *lv, uint32_t a)
{
    size_t lo = 0, hi = lv->n;
    if (lv->bucket) {
        /* Entries of later /16s are all >= a: hi is an answer too. */
        lo = lv->bucket[a >> 16];
        hi = lv->bucket[(a >> 16) + 1];
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lv->e[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether the block at e[i] (all entries with that addr) is an exclusion.
 * Entries are sorted by value and IP4SET_EXCLUDED is the largest, so it
 * is the last entry of its block. */
static bool block_excluded(const struct ip4set_level *lv, size_t i, size_t *next)
{
    size_t j = i;
    while (j + 1 < lv->n && lv->e[j + 1].addr == lv->e[i].addr)
        j++;
    if (next)
        *next = j + 1;
    return lv->e[j].value == IP4SET_EXCLUDED;
}

/* A block on the sweep's stack: the addresses below it that more
 * specific blocks (listed or excluded) decide. */
struct ip4set_open {
    uint64_t end; /* last address */
    uint64_t size, covered;
    bool excluded;
};

/* Close the innermost open block: it lists what its more specific blocks
 * leave, and all of it is more specific to its own parent. */
static void ip4set_close(struct ip4set_open *stack, unsigned *depth, uint64_t *total)
{
    struct ip4set_open *b = &stack[--*depth];
    if (!b->excluded)
        *total += b->size - b->covered;
    if (*depth > 0)
        stack[*depth - 1].covered += b->size;
}

/* The number of addresses listed, exactly: one sweep over the levels
 * merged in address order, enclosing blocks first. Blocks nest, so the
 * ones open at a point form a stack no deeper than the levels; nothing is
 * allocated, so the count adds nothing to a load's peak memory. */
static uint64_t count_listed(const struct ip4set *s)
{
    struct ip4set_open stack[IP4SET_LEVELS];
    unsigned depth = 0;
    size_t at[IP4SET_LEVELS] = {0};
    uint64_t total = 0;
    for (;;) {
        /* The next block: lowest address, the wider level on a tie. */
        int pick = -1;
        for (int l = IP4SET_LEVELS - 1; l >= 0; l--)
            if (at[l] < s->lv[l].n &&
                (pick < 0 || s->lv[l].e[at[l]].addr < s->lv[pick].e[at[pick]].addr))
                pick = l;
        if (pick < 0)
            break;
        const struct ip4set_level *lv = &s->lv[pick];
        uint64_t addr = lv->e[at[pick]].addr, size = (uint64_t)1 << (32 - level_bits(pick));
        while (depth > 0 && stack[depth - 1].end < addr)
            ip4set_close(stack, &depth, &total);
        stack[depth++] =
            (struct ip4set_open){addr + size - 1, size, 0, block_excluded(lv, at[pick], &at[pick])};
    }
    while (depth > 0)
        ip4set_close(stack, &depth, &total);
    return total;
}

static int ip4set_finish(struct dataset *ds)
{
    struct ip4set *s = ds->priv;
    ds->entries = 0;
    ds->mem_bytes = sizeof(*s) + vtab_bytes(s->vt);
    for (unsigned l = 0; l < IP4SET_LEVELS; l++) {
        struct ip4set_level *lv = &s->lv[l];
        if (lv->n > 1) {
            ip4set_sort(lv);
            size_t w = 1;
            for (size_t r = 1; r < lv->n; r++)
                if (lv->e[r].addr != lv->e[w - 1].addr || lv->e[r].value != lv->e[w - 1].value)
                    lv->e[w++] = lv->e[r];
            lv->n = w;
        }
        array_shrink((void **)&lv->e, &lv->cap, lv->n, sizeof(*lv->e));
        if (lv->n >= IP4SET_INDEX_MIN) {
            if (!(lv->bucket = malloc((IP4SET_BUCKETS + 1) * sizeof(*lv->bucket))))
                return ERR_NOMEM;
            size_t i = 0;
            for (uint32_t h = 0; h < IP4SET_BUCKETS; h++) {
                while (i < lv->n && (lv->e[i].addr >> 16) < h)
                    i++;
                lv->bucket[h] = (uint32_t)i;
            }
            lv->bucket[IP4SET_BUCKETS] = (uint32_t)lv->n;
            ds->mem_bytes += (IP4SET_BUCKETS + 1) * sizeof(*lv->bucket);
        }
        ds->entries += lv->n;
        ds->mem_bytes += lv->cap * sizeof(*lv->e);
    }
    ds->ip4_total = count_listed(s);
    return 0;
}

static int ip4set_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct ip4set *s = ds->priv;
    if (q->ip4_octets == 0)
        return 0;
    if (q->ip4_octets == 4) {
        for (unsigned l = 0; l < IP4SET_LEVELS; l++) {
            const struct ip4set_level *lv = &s->lv[l];
            uint32_t key = q->ip4 & level_mask(l);
            size_t i = lower_bound(lv, key), end;
            if (i == lv->n || lv->e[i].addr != key)
                continue;
            if (block_excluded(lv, i, &end))
                return 0;
            res->exists = true;
            for (; i < end; i++) {
                int rc = vtab_emit(s->vt, lv->e[i].value, ds->ttl, res);
                if (rc == ERR_SPACE)
                    break;
                if (rc)
                    return rc;
            }
            return 0;
        }
        return 0;
    }

    /* A partial name: it exists when listed addresses lie below it. */
    unsigned qbits = 8 * q->ip4_octets;
    uint64_t span = (uint64_t)1 << (32 - qbits);
    for (unsigned l = 0; l < IP4SET_LEVELS; l++) {
        const struct ip4set_level *lv = &s->lv[l];
        if (level_bits(l) >= qbits) {
            /* Blocks inside the name's prefix (or equal to it). */
            size_t i = lower_bound(lv, q->ip4), next;
            while (i < lv->n && lv->e[i].addr < (uint64_t)q->ip4 + span) {
                if (!block_excluded(lv, i, &next)) {
                    res->exists = true;
                    return 0;
                }
                /* An exclusion of exactly this prefix hides the less
                 * specific blocks around it. */
                if (level_bits(l) == qbits)
                    return 0;
                i = next;
            }
        } else {
            /* A block containing the whole prefix decides for it. */
            uint32_t key = q->ip4 & level_mask(l);
            size_t i = lower_bound(lv, key);
            if (i < lv->n && lv->e[i].addr == key) {
                if (!block_excluded(lv, i, NULL))
                    res->exists = true;
                return 0;
            }
        }
    }
    return 0;
}

/* Every block of every level, exclusions included. */
static int ip4set_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct ip4set *s = ds->priv;
    for (unsigned l = 0; l < IP4SET_LEVELS; l++) {
        const struct ip4set_level *lv = &s->lv[l];
        uint32_t span = ~level_mask(l);
        for (size_t i = 0; i < lv->n; i++) {
            if (i > 0 && lv->e[i].addr == lv->e[i - 1].addr)
                continue;
            int rc = w->ip4(w, lv->e[i].addr, lv->e[i].addr | span);
            if (rc)
                return rc;
        }
    }
    return 0;
}

const struct dataset_ops ds_ip4set_ops = {
    .name = "ip4set",
    .family = DS_FAM_IP4,
    .uses_values = true,
    .priv_size = sizeof(struct ip4set),
    .create = ip4set_create,
    .line = ip4set_line,
    .finish = ip4set_finish,
    .query = ip4set_query,
    .destroy = ip4set_destroy,
    .walk = ip4set_walk,
};
