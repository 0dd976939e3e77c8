/* Flattening CIDR prefixes into disjoint intervals, and looking them up. */
#include "data/ip4map.h"
#include "common/err.h"
#include "data/array.h"

#include <stdlib.h>
#include <string.h>

#define IP4MAP_BUCKETS 65536u

void ip4map_builder_init(struct ip4map_builder *b)
{
    memset(b, 0, sizeof(*b));
}

void ip4map_builder_free(struct ip4map_builder *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

int ip4map_builder_add(struct ip4map_builder *b, uint32_t start, unsigned bits, uint32_t val)
{
    if (bits > 32)
        return ERR_INVAL;
    if (array_reserve((void **)&b->p, &b->cap, b->n + 1, sizeof(*b->p), 1024) < 0)
        return ERR_NOMEM;
    b->p[b->n] = (struct ip4map_prefix){start, val, (uint32_t)b->n, (uint8_t)bits};
    b->n++;
    return 0;
}

/* One stable counting pass by a digit of the prefixes. */
static void ip4map_pass(const struct ip4map_prefix *src, struct ip4map_prefix *dst, size_t n,
                        unsigned shift, bool by_bits, size_t *count)
{
    memset(count, 0, 65536 * sizeof(*count));
    for (size_t i = 0; i < n; i++)
        count[by_bits ? src[i].bits : (src[i].start >> shift) & 0xffff]++;
    size_t sum = 0;
    for (size_t d = 0; d < 65536; d++) {
        size_t c = count[d];
        count[d] = sum;
        sum += c;
    }
    for (size_t i = 0; i < n; i++)
        dst[count[by_bits ? src[i].bits : (src[i].start >> shift) & 0xffff]++] = src[i];
}

/* Containing prefixes first: by start, then shorter, then input order
 * (radix passes are stable and the prefixes arrive in input order). */
static int ip4map_sort(struct ip4map_builder *b)
{
    if (b->n < 2)
        return 0;
    struct ip4map_prefix *tmp = malloc(b->n * sizeof(*tmp));
    size_t *count = malloc(65536 * sizeof(*count));
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return ERR_NOMEM;
    }
    ip4map_pass(b->p, tmp, b->n, 0, true, count);
    ip4map_pass(tmp, b->p, b->n, 0, false, count);
    ip4map_pass(b->p, tmp, b->n, 16, false, count);
    free(b->p);
    b->p = tmp;
    b->cap = b->n;
    free(count);
    return 0;
}

static uint64_t ip4map_end(const struct ip4map_prefix *p)
{
    return (uint64_t)p->start + ((uint64_t)1 << (32 - p->bits)) - 1;
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

int ip4map_build(struct ip4map_builder *b, struct ip4map *out)
{
    memset(out, 0, sizeof(*out));
    struct ip4map_out o = {out, 0, 0};
    /* Prefixes nest or are disjoint, so the ones covering the sweep
     * position form a stack, deepest (longest) on top. */
    struct ip4map_prefix *stack[33];
    unsigned depth = 0;
    uint64_t cur = 0;
    int rc = 0;
    rc = ip4map_sort(b);
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        struct ip4map_prefix *p = &b->p[i];
        if (i > 0 && p->start == b->p[i - 1].start && p->bits == b->p[i - 1].bits) {
            b->duplicates++;
            continue;
        }
        while (depth > 0 && ip4map_end(stack[depth - 1]) < p->start) {
            struct ip4map_prefix *t = stack[--depth];
            rc = ip4map_emit(&o, cur, ip4map_end(t), t->val);
            cur = ip4map_end(t) + 1;
        }
        if (rc == 0)
            rc = ip4map_emit(&o, cur, (uint64_t)p->start - 1,
                             depth ? stack[depth - 1]->val : IP4MAP_NONE);
        cur = p->start;
        stack[depth++] = p;
    }
    while (depth > 0 && rc == 0) {
        struct ip4map_prefix *t = stack[--depth];
        rc = ip4map_emit(&o, cur, ip4map_end(t), t->val);
        cur = ip4map_end(t) + 1;
    }
    if (rc == 0)
        rc = ip4map_emit(&o, cur, UINT32_MAX, IP4MAP_NONE);
    if (rc == 0) {
        /* Give back the growth slack. */
        array_shrink((void **)&out->start, &o.scap, out->n, sizeof(*out->start));
        array_shrink((void **)&out->val, &o.vcap, out->n, sizeof(*out->val));
    }
    if (rc == 0)
        rc = ip4map_index(out);
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
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
