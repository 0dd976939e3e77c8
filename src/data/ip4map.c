/* Flattening CIDR prefixes into disjoint intervals, and looking them up. */
#include "data/ip4map.h"
#include "common/err.h"
#include "data/array.h"
#include "data/radix_inplace.h"

#include <stdlib.h>
#include <string.h>

#define IP4MAP_BUCKETS 65536u

void ip4map_builder_init(struct ip4map_builder *b)
{
    memset(b, 0, sizeof(*b));
    pagebuf_init(&b->buf);
}

void ip4map_builder_free(struct ip4map_builder *b)
{
    pagebuf_free(&b->buf);
    memset(b, 0, sizeof(*b));
}

#define IP4MAP_SEQ_BITS 26

static unsigned ip4map_bits(const struct ip4map_prefix *p)
{
    return p->meta >> IP4MAP_SEQ_BITS;
}

int ip4map_builder_add(struct ip4map_builder *b, uint32_t start, unsigned bits, uint32_t val)
{
    if (bits > 32)
        return ERR_INVAL;
    if (b->n >= IP4MAP_MAX_PREFIXES)
        return ERR_LIMIT;
    if (pagebuf_reserve(&b->buf, (b->n + 1) * sizeof(struct ip4map_prefix)) < 0)
        return ERR_NOMEM;
    struct ip4map_prefix *p = (struct ip4map_prefix *)(void *)b->buf.base;
    p[b->n] =
        (struct ip4map_prefix){start, (uint32_t)bits << IP4MAP_SEQ_BITS | (uint32_t)b->n, val};
    b->n++;
    return 0;
}

/* Containing prefixes first: by start, then shorter, then input order. */
#define IP4MAP_KEY(p) ((uint64_t)(p).start << 32 | (p).meta)
RADIX_INPLACE_DEFINE(ip4map_sort, struct ip4map_prefix, IP4MAP_KEY)

static uint64_t ip4map_end(const struct ip4map_prefix *p)
{
    return (uint64_t)p->start + ((uint64_t)1 << (32 - ip4map_bits(p))) - 1;
}

struct ip4map_out {
    struct ip4map *m;
    size_t scap, vcap; /* capacities of m->start and m->val */
};

/* Append [from, to] with a value, merging with an equal neighbour. */
static int ip4map_emit(struct ip4map_out *o, uint64_t from, uint64_t to, uint32_t val)
{
    struct ip4map *m = o->m;
    if (from > to)
        return 0;
    if (val != IP4MAP_NONE)
        m->listed += to - from + 1;
    if (m->n > 0 && m->val[m->n - 1] == val)
        return 0;
    if (array_reserve((void **)&m->start, &o->scap, m->n + 1, sizeof(*m->start), 1024) < 0 ||
        array_reserve((void **)&m->val, &o->vcap, m->n + 1, sizeof(*m->val), 1024) < 0)
        return ERR_NOMEM;
    m->start[m->n] = (uint32_t)from;
    m->val[m->n] = val;
    m->n++;
    return 0;
}

/* Below this many intervals a bisection over all of them is as quick as
 * the 256 KiB table is big. */
#define IP4MAP_INDEX_MIN 4096

static int ip4map_index(struct ip4map *m)
{
    if (m->n < IP4MAP_INDEX_MIN)
        return 0;
    m->bucket = malloc((IP4MAP_BUCKETS + 1) * sizeof(*m->bucket));
    if (!m->bucket)
        return ERR_NOMEM;
    size_t i = 0;
    for (uint32_t h = 0; h < IP4MAP_BUCKETS; h++) {
        uint32_t a = h << 16;
        while (i + 1 < m->n && m->start[i + 1] <= a)
            i++;
        m->bucket[h] = (uint32_t)i;
    }
    m->bucket[IP4MAP_BUCKETS] = (uint32_t)(m->n - 1);
    return 0;
}

/* Give back the sorted prefixes consumed so far every this many. */
#define IP4MAP_DROP_EVERY 65536

int ip4map_build(struct ip4map_builder *b, struct ip4map *out)
{
    memset(out, 0, sizeof(*out));
    struct ip4map_out o = {out, 0, 0};
    struct ip4map_prefix *p = (struct ip4map_prefix *)(void *)b->buf.base;
    ip4map_sort(p, b->n);
    /* Prefixes nest or are disjoint, so the ones covering the sweep
     * position form a stack, deepest (longest) on top. It holds copies:
     * the pages behind the sweep are given back as it goes, so the map
     * grows into the memory the prefixes free. */
    struct ip4map_prefix stack[33], prev = {0, 0, 0};
    unsigned depth = 0;
    uint64_t cur = 0;
    int rc = 0;
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (i % IP4MAP_DROP_EVERY == 0)
            pagebuf_drop_head(&b->buf, i * sizeof(*p));
        struct ip4map_prefix x = p[i];
        if (i > 0 && x.start == prev.start && ip4map_bits(&x) == ip4map_bits(&prev)) {
            b->duplicates++;
            continue;
        }
        prev = x;
        while (depth > 0 && ip4map_end(&stack[depth - 1]) < x.start) {
            struct ip4map_prefix *t = &stack[--depth];
            rc = ip4map_emit(&o, cur, ip4map_end(t), t->val);
            cur = ip4map_end(t) + 1;
        }
        if (rc == 0)
            rc = ip4map_emit(&o, cur, (uint64_t)x.start - 1,
                             depth ? stack[depth - 1].val : IP4MAP_NONE);
        cur = x.start;
        stack[depth++] = x;
    }
    while (depth > 0 && rc == 0) {
        struct ip4map_prefix *t = &stack[--depth];
        rc = ip4map_emit(&o, cur, ip4map_end(t), t->val);
        cur = ip4map_end(t) + 1;
    }
    if (rc == 0)
        rc = ip4map_emit(&o, cur, UINT32_MAX, IP4MAP_NONE);
    pagebuf_free(&b->buf);
    b->n = 0;
    if (rc == 0) {
        /* Give back the growth slack. */
        array_shrink((void **)&out->start, &o.scap, out->n, sizeof(*out->start));
        array_shrink((void **)&out->val, &o.vcap, out->n, sizeof(*out->val));
    }
    if (rc == 0)
        rc = ip4map_index(out);
    if (rc < 0)
        ip4map_free(out);
    return rc;
}

/* Index of the interval holding address a. */
static size_t ip4map_find(const struct ip4map *m, uint32_t a)
{
    size_t lo = 0, hi = m->n - 1;
    if (m->bucket) {
        lo = m->bucket[a >> 16];
        hi = m->bucket[(a >> 16) + 1];
    }
    /* The answer is the last start <= a within [lo, hi]. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (m->start[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

bool ip4map_lookup(const struct ip4map *m, uint32_t a, uint32_t *val)
{
    if (m->n == 0)
        return false;
    size_t i = ip4map_find(m, a);
    if (m->val[i] == IP4MAP_NONE)
        return false;
    *val = m->val[i];
    return true;
}

bool ip4map_any(const struct ip4map *m, uint32_t first, uint32_t last)
{
    if (m->n == 0)
        return false;
    size_t i = ip4map_find(m, first);
    if (m->val[i] != IP4MAP_NONE)
        return true;
    /* Equal neighbours are merged, so the interval after a gap has a
     * value. */
    return i + 1 < m->n && m->start[i + 1] <= last;
}

size_t ip4map_bytes(const struct ip4map *m)
{
    return m->n * 2 * sizeof(uint32_t) + (m->bucket ? (IP4MAP_BUCKETS + 1) * sizeof(uint32_t) : 0);
}

void ip4map_free(struct ip4map *m)
{
    free(m->start);
    free(m->val);
    free(m->bucket);
    memset(m, 0, sizeof(*m));
}
