/* The live listings the server answers from: a shared, refcounted base of
 * flat sorted host arrays, plus per version a small sorted delta of host
 * changes and a complete copy of the few blocks. */
#include "listing/livemap.h"
#include "common/err.h"
#include "data/radix_inplace.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The delta may hold this many entries, or a sixteenth of the base when
 * that is more, before the next version merges it into a new base: small
 * enough that copying it per version stays cheap, large enough that the
 * linear merge of a big base is rare. */
#define LIVEMAP_DELTA_MIN 4096
#define LIVEMAP_DELTA_SHARE 16

/* IPv4 tables this large get an index on the upper 16 bits (256 KiB, under
 * one byte per host), which cuts the bisection to the few entries sharing
 * them; smaller ones are bisected whole. */
#define LIVEMAP_INDEX_MIN (1u << 18)
#define LIVEMAP_BUCKETS 65536u

/* The hosts of one family, struct-of-arrays so that the bisection touches
 * only the addresses: 9 bytes per IPv4 host, 13 per IPv6 /64. */
struct livemap_hosts {
    unsigned family;
    size_t n;
    void *mem; /* one allocation holding addr, expires and code */
    uint32_t *addr4;
    uint64_t *addr6;
    uint32_t *expires;
    uint8_t *code;
    uint32_t *bucket; /* IPv4, large tables: first index of each upper 16 bits */
};

/* Immutable once built; shared by every version until the next merge. */
struct livemap_base {
    atomic_size_t refs;
    struct livemap_hosts h4, h6;
};

struct livemap {
    struct livemap_base *base;
    /* Host changes since the base, sorted by key; code 0 removes a base
     * entry. */
    struct livemap_entry *delta;
    size_t ndelta, delta_cap;
    /* Every block (IPv4 shorter than /32, IPv6 shorter than /64), sorted
     * by family, prefix length, address. Where a key lives follows from
     * its length alone, so an exclusion of a single host is a host entry
     * (code LIVEMAP_EXCLUDE), and no change moves a key between stores. */
    struct livemap_entry *blocks;
    size_t nblocks;
    /* Blocks of IPv4 prefix length b are blocks[off4[b] .. off4[b + 1]);
     * bit b of lens4 is set when there are any (the same for IPv6). */
    size_t off4[34], off6[66];
    uint64_t lens4, lens6;
    size_t count;
};

static unsigned livemap_host_bits(unsigned family)
{
    return family == 4 ? 32 : 64;
}

static bool livemap_is_host(const struct netkey *k)
{
    return k->bits == livemap_host_bits(k->family);
}

/* Refused rather than masked: a key with host bits set is a caller's bug. */
static bool livemap_key_valid(const struct netkey *k)
{
    if (k->family != 4 && k->family != 6)
        return false;
    unsigned width = livemap_host_bits(k->family);
    if (k->bits < 1 || k->bits > width)
        return false;
    if (k->family == 4 && k->hi > UINT32_MAX)
        return false;
    return k->bits == 64 || (k->hi & ((UINT64_C(1) << (width - k->bits)) - 1)) == 0;
}

static int livemap_key_cmp(const struct netkey *a, const struct netkey *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    if (a->bits != b->bits)
        return a->bits < b->bits ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return 0;
}

static bool livemap_live(uint32_t expires, uint32_t now)
{
    return expires == 0 || expires > now;
}

/* First index of a sorted entry array whose key is not below k. */
static size_t livemap_entries_lower(const struct livemap_entry *a, size_t n, const struct netkey *k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (livemap_key_cmp(&a[mid].key, k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- host tables ---- */

static uint64_t livemap_hosts_addr(const struct livemap_hosts *h, size_t i)
{
    return h->family == 4 ? h->addr4[i] : h->addr6[i];
}

static void livemap_hosts_set(struct livemap_hosts *h, size_t i, uint64_t a, uint32_t expires,
                              uint8_t code)
{
    if (h->family == 4)
        h->addr4[i] = (uint32_t)a;
    else
        h->addr6[i] = a;
    h->expires[i] = expires;
    h->code[i] = code;
}

/* First index whose address is not below a. */
static size_t livemap_hosts_lower(const struct livemap_hosts *h, uint64_t a)
{
    size_t lo = 0, hi = h->n;
    if (h->family == 4) {
        if (h->bucket) {
            lo = h->bucket[a >> 16];
            hi = h->bucket[(a >> 16) + 1];
        }
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (h->addr4[mid] < a)
                lo = mid + 1;
            else
                hi = mid;
        }
    } else {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (h->addr6[mid] < a)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return lo;
}

static int livemap_hosts_alloc(struct livemap_hosts *h, unsigned family, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->family = family;
    h->n = n;
    if (n == 0)
        return 0;
    size_t width = family == 4 ? sizeof(uint32_t) : sizeof(uint64_t);
    /* Widest array first, so each one is aligned. */
    h->mem = malloc(n * (width + sizeof(uint32_t) + sizeof(uint8_t)));
    if (!h->mem)
        return ERR_NOMEM;
    char *p = h->mem;
    if (family == 4)
        h->addr4 = (uint32_t *)(void *)p;
    else
        h->addr6 = (uint64_t *)(void *)p;
    h->expires = (uint32_t *)(void *)(p + n * width);
    h->code = (uint8_t *)(p + n * (width + sizeof(uint32_t)));
    return 0;
}

static void livemap_hosts_free(struct livemap_hosts *h)
{
    free(h->mem);
    free(h->bucket);
    memset(h, 0, sizeof(*h));
}

static size_t livemap_hosts_bytes(const struct livemap_hosts *h)
{
    size_t width = h->family == 4 ? sizeof(uint32_t) : sizeof(uint64_t);
    size_t bytes = h->n * (width + sizeof(uint32_t) + sizeof(uint8_t));
    if (h->bucket)
        bytes += (LIVEMAP_BUCKETS + 1) * sizeof(*h->bucket);
    return bytes;
}

static int livemap_hosts_index(struct livemap_hosts *h)
{
    if (h->family != 4 || h->n < LIVEMAP_INDEX_MIN)
        return 0;
    h->bucket = malloc((LIVEMAP_BUCKETS + 1) * sizeof(*h->bucket));
    if (!h->bucket)
        return ERR_NOMEM;
    size_t i = 0;
    for (uint32_t b = 0; b < LIVEMAP_BUCKETS; b++) {
        while (i < h->n && (h->addr4[i] >> 16) < b)
            i++;
        h->bucket[b] = (uint32_t)i;
    }
    h->bucket[LIVEMAP_BUCKETS] = (uint32_t)h->n;
    return 0;
}

/* IPv6 /64s fill the 64-bit key, so the input index rides along and the
 * highest of equal keys is picked after the sort. */
struct livemap_sort6 {
    uint64_t hi;
    uint32_t seq;
    uint32_t expires;
    uint8_t code;
};
#define LIVEMAP_SORT6_KEY(x) ((x).hi)
RADIX_INPLACE_DEFINE(livemap_sort6, struct livemap_sort6, LIVEMAP_SORT6_KEY)

static bool livemap_build_wants(const struct livemap_entry *e, unsigned family)
{
    return e->code != 0 && e->key.family == family && livemap_is_host(&e->key);
}

/* Give back the tail of a table that dedupe shortened to n hosts: the
 * arrays move down to where n hosts put them. */
static void livemap_hosts_shrink(struct livemap_hosts *h, size_t n)
{
    size_t width = h->family == 4 ? sizeof(uint32_t) : sizeof(uint64_t);
    char *p = h->mem;
    memmove(p + n * width, h->expires, n * sizeof(uint32_t));
    memmove(p + n * (width + sizeof(uint32_t)), h->code, n);
    h->n = n;
    void *q = realloc(p, n * (width + sizeof(uint32_t) + sizeof(uint8_t)));
    if (q)
        p = h->mem = q;
    h->addr4 = h->family == 4 ? (uint32_t *)(void *)p : NULL;
    h->addr6 = h->family == 6 ? (uint64_t *)(void *)p : NULL;
    h->expires = (uint32_t *)(void *)(p + n * width);
    h->code = (uint8_t *)(p + n * (width + sizeof(uint32_t)));
}

/* Scratch for sorting one bucket of IPv4 hosts. */
struct livemap_scratch {
    uint32_t *addr, *expires;
    uint8_t *code;
};

/* Sort the hosts [lo, hi) of one bucket (equal upper 16 bits) stably, so
 * that of equal addresses the last given stays last: insertion for a few,
 * else two counting passes on the low bytes through the scratch. */
static void livemap_bucket_sort(struct livemap_hosts *h, size_t lo, size_t hi,
                                const struct livemap_scratch *s)
{
    size_t n = hi - lo;
    uint32_t *a = h->addr4 + lo, *x = h->expires + lo;
    uint8_t *c = h->code + lo;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            uint32_t va = a[i], vx = x[i];
            uint8_t vc = c[i];
            size_t j = i;
            for (; j > 0 && a[j - 1] > va; j--) {
                a[j] = a[j - 1];
                x[j] = x[j - 1];
                c[j] = c[j - 1];
            }
            a[j] = va;
            x[j] = vx;
            c[j] = vc;
        }
        return;
    }
    size_t pos[256];
    memset(pos, 0, sizeof(pos));
    for (size_t i = 0; i < n; i++)
        pos[a[i] & 0xff]++;
    for (size_t d = 0, sum = 0; d < 256; d++) {
        size_t t = pos[d];
        pos[d] = sum;
        sum += t;
    }
    for (size_t i = 0; i < n; i++) {
        size_t p = pos[a[i] & 0xff]++;
        s->addr[p] = a[i];
        s->expires[p] = x[i];
        s->code[p] = c[i];
    }
    memset(pos, 0, sizeof(pos));
    for (size_t i = 0; i < n; i++)
        pos[s->addr[i] >> 8 & 0xff]++;
    for (size_t d = 0, sum = 0; d < 256; d++) {
        size_t t = pos[d];
        pos[d] = sum;
        sum += t;
    }
    for (size_t i = 0; i < n; i++) {
        size_t p = pos[s->addr[i] >> 8 & 0xff]++;
        a[p] = s->addr[i];
        x[p] = s->expires[i];
        c[p] = s->code[i];
    }
}

/* IPv4 hosts are scattered straight into the table by their upper 16
 * bits, in input order, and each bucket is then sorted stably: the load
 * touches little more memory than the table itself, which is what a
 * 10M load's time goes to (a scratch copy to sort would double it). */
static int livemap_hosts_build4(const struct livemap_entry *e, size_t n, size_t n4,
                                struct livemap_hosts *h)
{
    int rc = livemap_hosts_alloc(h, 4, 0);
    if (n4 == 0)
        return rc;
    struct livemap_scratch s = {NULL, NULL, NULL};
    size_t *next = calloc(LIVEMAP_BUCKETS + 1, sizeof(*next));
    if (!next)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (livemap_build_wants(&e[i], 4))
            next[(e[i].key.hi >> 16) + 1]++;
    size_t most = 0;
    for (size_t d = 1; d <= LIVEMAP_BUCKETS; d++) {
        if (next[d] > most)
            most = next[d];
        next[d] += next[d - 1];
    }
    rc = ERR_NOMEM;
    s.addr = malloc(most * sizeof(*s.addr));
    s.expires = malloc(most * sizeof(*s.expires));
    s.code = malloc(most);
    if (!s.addr || !s.expires || !s.code)
        goto exit;
    rc = livemap_hosts_alloc(h, 4, n4);
    if (rc < 0)
        goto exit;
    for (size_t i = 0; i < n; i++) {
        if (!livemap_build_wants(&e[i], 4))
            continue;
        size_t p = next[e[i].key.hi >> 16]++;
        livemap_hosts_set(h, p, e[i].key.hi, e[i].expires, e[i].code);
    }
    /* next[d] is now where bucket d ends. */
    for (size_t d = 0, lo = 0; d < LIVEMAP_BUCKETS; d++) {
        livemap_bucket_sort(h, lo, next[d], &s);
        lo = next[d];
    }
    size_t u = 0;
    for (size_t i = 0; i < n4; i++)
        if (i + 1 == n4 || h->addr4[i + 1] != h->addr4[i])
            livemap_hosts_set(h, u++, h->addr4[i], h->expires[i], h->code[i]);
    if (u < n4)
        livemap_hosts_shrink(h, u);
    rc = livemap_hosts_index(h);
exit:
    free(next);
    free(s.addr);
    free(s.expires);
    free(s.code);
    return rc;
}

static int livemap_hosts_build6(const struct livemap_entry *e, size_t n, size_t n6,
                                struct livemap_hosts *h)
{
    int rc = livemap_hosts_alloc(h, 6, 0);
    if (n6 == 0)
        return rc;
    struct livemap_sort6 *s = malloc(n6 * sizeof(*s));
    if (!s)
        return ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (livemap_build_wants(&e[i], 6))
            s[k++] = (struct livemap_sort6){e[i].key.hi, (uint32_t)i, e[i].expires, e[i].code};
    livemap_sort6(s, n6);
    size_t u = 0;
    for (size_t i = 0; i < n6; i++)
        if (i + 1 == n6 || s[i + 1].hi != s[i].hi)
            u++;
    rc = livemap_hosts_alloc(h, 6, u);
    if (rc < 0)
        goto exit;
    u = 0;
    for (size_t i = 0; i < n6;) {
        size_t last = i;
        size_t j = i + 1;
        for (; j < n6 && s[j].hi == s[i].hi; j++)
            if (s[j].seq > s[last].seq)
                last = j;
        livemap_hosts_set(h, u++, s[last].hi, s[last].expires, s[last].code);
        i = j;
    }
exit:
    free(s);
    return rc;
}

/* Merge a family's base with its part of a delta (sorted, one entry per
 * key, code 0 removes); writes to w when given, and returns the number of
 * hosts either way, so a first pass sizes the arrays exactly. */
static size_t livemap_hosts_merge(const struct livemap_hosts *h, const struct livemap_entry *d,
                                  size_t nd, struct livemap_hosts *w)
{
    size_t i = 0, j = 0, k = 0;
    while (i < h->n || j < nd) {
        uint64_t a = i < h->n ? livemap_hosts_addr(h, i) : 0;
        if (j < nd && (i == h->n || d[j].key.hi <= a)) {
            if (i < h->n && d[j].key.hi == a)
                i++;
            if (d[j].code != 0) {
                if (w)
                    livemap_hosts_set(w, k, d[j].key.hi, d[j].expires, d[j].code);
                k++;
            }
            j++;
        } else {
            if (w)
                livemap_hosts_set(w, k, a, h->expires[i], h->code[i]);
            k++;
            i++;
        }
    }
    return k;
}

static void livemap_base_release(struct livemap_base *b)
{
    if (!b)
        return;
    /* The last holder frees: acq_rel makes every other holder's reads
     * happen before the free. */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    livemap_hosts_free(&b->h4);
    livemap_hosts_free(&b->h6);
    free(b);
}

static struct livemap_base *livemap_base_new(void)
{
    struct livemap_base *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->h4.family = 4;
    b->h6.family = 6;
    return b;
}

/* A new base: old's hosts with the delta folded in. Removals drop
 * entries; expired entries stay (there is no clock here: the store
 * removes them with changes). */
static int livemap_base_merge(const struct livemap_base *old, const struct livemap_entry *d,
                              size_t nd, struct livemap_base **out)
{
    struct livemap_base *b = livemap_base_new();
    if (!b)
        return ERR_NOMEM;
    const struct netkey first6 = {6, 0, 0};
    size_t nd4 = livemap_entries_lower(d, nd, &first6);
    int rc = livemap_hosts_alloc(&b->h4, 4, livemap_hosts_merge(&old->h4, d, nd4, NULL));
    if (rc == 0)
        rc = livemap_hosts_alloc(&b->h6, 6, livemap_hosts_merge(&old->h6, d + nd4, nd - nd4, NULL));
    if (rc < 0)
        goto exit;
    livemap_hosts_merge(&old->h4, d, nd4, &b->h4);
    livemap_hosts_merge(&old->h6, d + nd4, nd - nd4, &b->h6);
    rc = livemap_hosts_index(&b->h4);
exit:
    if (rc < 0)
        livemap_base_release(b);
    else
        *out = b;
    return rc;
}

/* ---- changes and blocks ---- */

struct livemap_seq {
    struct livemap_entry e;
    size_t seq;
};

static int livemap_seq_cmp(const void *a, const void *b)
{
    const struct livemap_seq *x = a, *y = b;
    int c = livemap_key_cmp(&x->e.key, &y->e.key);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The host (or block) entries of c in key order, one per key: the last
 * given of equal keys; code 0 entries skipped when skip_removals. */
static int livemap_changes_sorted(const struct livemap_entry *c, size_t n, bool hosts,
                                  bool skip_removals, struct livemap_entry **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (livemap_is_host(&c[i].key) == hosts && !(skip_removals && c[i].code == 0))
            k++;
    if (k == 0)
        return 0;
    struct livemap_seq *s = malloc(k * sizeof(*s));
    struct livemap_entry *o = malloc(k * sizeof(*o));
    int rc = ERR_NOMEM;
    if (!s || !o)
        goto exit;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (livemap_is_host(&c[i].key) == hosts && !(skip_removals && c[i].code == 0))
            s[k++] = (struct livemap_seq){c[i], i};
    qsort(s, k, sizeof(*s), livemap_seq_cmp);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (i + 1 == k || livemap_key_cmp(&s[i + 1].e.key, &s[i].e.key) != 0)
            o[w++] = s[i].e;
    *out = o;
    *nout = w;
    o = NULL;
    rc = 0;
exit:
    free(s);
    free(o);
    return rc;
}

/* Where each prefix length's blocks start; the blocks are sorted, so each
 * length's are contiguous. */
static void livemap_blocks_index(struct livemap *m)
{
    size_t i = 0;
    m->lens4 = m->lens6 = 0;
    for (unsigned b = 0; b <= 32; b++) {
        m->off4[b] = i;
        while (i < m->nblocks && m->blocks[i].key.family == 4 && m->blocks[i].key.bits == b)
            i++;
        if (i > m->off4[b])
            m->lens4 |= UINT64_C(1) << b;
    }
    m->off4[33] = i;
    for (unsigned b = 0; b <= 64; b++) {
        m->off6[b] = i;
        while (i < m->nblocks && m->blocks[i].key.family == 6 && m->blocks[i].key.bits == b)
            i++;
        if (b < 64 && i > m->off6[b])
            m->lens6 |= UINT64_C(1) << b;
    }
    m->off6[65] = i;
}

static const struct livemap_entry *livemap_block_find(const struct livemap *m, const size_t *off,
                                                      unsigned bits, uint64_t key)
{
    size_t lo = off[bits], hi = off[bits + 1], end = hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->blocks[mid].key.hi < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end && m->blocks[lo].key.hi == key ? &m->blocks[lo] : NULL;
}

/* The blocks covering address a (of `width` bits): -1 when a live
 * exclusion does, else the code of the longest live block, 0 for none. */
static int livemap_blocks_match(const struct livemap *m, const size_t *off, uint64_t lens,
                                uint64_t a, unsigned width, uint32_t now)
{
    int best = 0;
    while (lens) {
        unsigned b = 63 - (unsigned)__builtin_clzll(lens);
        lens &= ~(UINT64_C(1) << b);
        const struct livemap_entry *e =
            livemap_block_find(m, off, b, a & ~((UINT64_C(1) << (width - b)) - 1));
        if (!e || !livemap_live(e->expires, now))
            continue;
        if (e->code == LIVEMAP_EXCLUDE)
            return -1;
        if (best == 0)
            best = e->code;
    }
    return best;
}

/* ---- versions ---- */

/* A version's host entry for a key: the delta decides when it holds the
 * key (a removal too), else the base. */
static bool livemap_host_get(const struct livemap *m, unsigned family, uint64_t a, uint8_t *code,
                             uint32_t *expires)
{
    const struct netkey k = {(uint8_t)family, (uint8_t)livemap_host_bits(family), a};
    size_t i = livemap_entries_lower(m->delta, m->ndelta, &k);
    if (i < m->ndelta && livemap_key_cmp(&m->delta[i].key, &k) == 0) {
        *code = m->delta[i].code;
        *expires = m->delta[i].expires;
        return *code != 0;
    }
    const struct livemap_hosts *h = family == 4 ? &m->base->h4 : &m->base->h6;
    i = livemap_hosts_lower(h, a);
    if (i == h->n || livemap_hosts_addr(h, i) != a)
        return false;
    *code = h->code[i];
    *expires = h->expires[i];
    return true;
}

static bool livemap_base_has(const struct livemap_base *b, const struct netkey *k)
{
    const struct livemap_hosts *h = k->family == 4 ? &b->h4 : &b->h6;
    size_t i = livemap_hosts_lower(h, k->hi);
    return i < h->n && livemap_hosts_addr(h, i) == k->hi;
}

int livemap_build(const struct livemap_entry *e, size_t n, struct livemap **out)
{
    size_t n4 = 0, n6 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!livemap_key_valid(&e[i].key))
            return ERR_INVAL;
        n4 += livemap_build_wants(&e[i], 4);
        n6 += livemap_build_wants(&e[i], 6);
    }
    /* The IPv6 sort carries input positions in 32 bits. */
    if (n > UINT32_MAX)
        return ERR_LIMIT;
    struct livemap *m = calloc(1, sizeof(*m));
    if (!m)
        return ERR_NOMEM;
    int rc = ERR_NOMEM;
    m->base = livemap_base_new();
    if (!m->base)
        goto exit;
    rc = livemap_hosts_build4(e, n, n4, &m->base->h4);
    if (rc == 0)
        rc = livemap_hosts_build6(e, n, n6, &m->base->h6);
    if (rc == 0)
        rc = livemap_changes_sorted(e, n, false, true, &m->blocks, &m->nblocks);
    if (rc < 0)
        goto exit;
    livemap_blocks_index(m);
    m->count = m->base->h4.n + m->base->h6.n + m->nblocks;
    *out = m;
exit:
    if (rc < 0)
        livemap_free(m);
    return rc;
}

/* The next version's delta: prev's with the host changes (sorted, one per
 * key) merged in. A removal stays only while the base holds the key. */
static int livemap_apply_hosts(const struct livemap *prev, const struct livemap_entry *c, size_t nc,
                               struct livemap *m)
{
    const struct livemap_entry *d = prev->delta;
    size_t nd = prev->ndelta;
    m->delta_cap = nd + nc;
    if (m->delta_cap == 0)
        return 0;
    m->delta = malloc(m->delta_cap * sizeof(*m->delta));
    if (!m->delta)
        return ERR_NOMEM;
    size_t i = 0, j = 0, k = 0;
    while (i < nd || j < nc) {
        int cmp = i == nd ? 1 : j == nc ? -1 : livemap_key_cmp(&d[i].key, &c[j].key);
        if (cmp < 0) {
            m->delta[k++] = d[i++];
            continue;
        }
        bool in_base = livemap_base_has(prev->base, &c[j].key);
        bool was = in_base;
        if (cmp == 0)
            was = d[i++].code != 0;
        if (was)
            m->count--;
        if (c[j].code != 0)
            m->count++;
        if (c[j].code != 0 || in_base)
            m->delta[k++] = c[j];
        j++;
    }
    m->ndelta = k;
    return 0;
}

/* The next version's blocks: prev's with the block changes merged in. */
static int livemap_apply_blocks(const struct livemap *prev, const struct livemap_entry *c,
                                size_t nc, struct livemap *m)
{
    const struct livemap_entry *b = prev->blocks;
    size_t nb = prev->nblocks;
    if (nb + nc == 0)
        return 0;
    m->blocks = malloc((nb + nc) * sizeof(*m->blocks));
    if (!m->blocks)
        return ERR_NOMEM;
    size_t i = 0, j = 0, k = 0;
    while (i < nb || j < nc) {
        int cmp = i == nb ? 1 : j == nc ? -1 : livemap_key_cmp(&b[i].key, &c[j].key);
        if (cmp < 0) {
            m->blocks[k++] = b[i++];
            continue;
        }
        if (cmp == 0) {
            i++;
            m->count--;
        }
        if (c[j].code != 0) {
            m->blocks[k++] = c[j];
            m->count++;
        }
        j++;
    }
    m->nblocks = k;
    return 0;
}

int livemap_apply(const struct livemap *prev, const struct livemap_entry *changes, size_t n,
                  struct livemap **out)
{
    for (size_t i = 0; i < n; i++)
        if (!livemap_key_valid(&changes[i].key))
            return ERR_INVAL;
    struct livemap_entry *hc = NULL, *bc = NULL;
    size_t nhc = 0, nbc = 0;
    struct livemap *m = NULL;
    int rc = livemap_changes_sorted(changes, n, true, false, &hc, &nhc);
    if (rc == 0)
        rc = livemap_changes_sorted(changes, n, false, false, &bc, &nbc);
    if (rc < 0)
        goto exit;
    rc = ERR_NOMEM;
    m = calloc(1, sizeof(*m));
    if (!m)
        goto exit;
    m->count = prev->count;
    rc = livemap_apply_hosts(prev, hc, nhc, m);
    if (rc == 0)
        rc = livemap_apply_blocks(prev, bc, nbc, m);
    if (rc < 0)
        goto exit;
    livemap_blocks_index(m);
    size_t limit = (prev->base->h4.n + prev->base->h6.n) / LIVEMAP_DELTA_SHARE;
    if (limit < LIVEMAP_DELTA_MIN)
        limit = LIVEMAP_DELTA_MIN;
    if (m->ndelta > limit) {
        rc = livemap_base_merge(prev->base, m->delta, m->ndelta, &m->base);
        if (rc < 0)
            goto exit;
        free(m->delta);
        m->delta = NULL;
        m->ndelta = m->delta_cap = 0;
    } else {
        /* prev holds a reference, so the count cannot reach zero meanwhile. */
        atomic_fetch_add_explicit(&prev->base->refs, 1, memory_order_relaxed);
        m->base = prev->base;
    }
    *out = m;
    m = NULL;
exit:
    livemap_free(m);
    free(hc);
    free(bc);
    return rc;
}

uint8_t livemap_lookup4(const struct livemap *m, uint32_t addr, uint32_t now)
{
    int blk = m->lens4 ? livemap_blocks_match(m, m->off4, m->lens4, addr, 32, now) : 0;
    if (blk < 0)
        return 0;
    uint8_t code;
    uint32_t expires;
    if (livemap_host_get(m, 4, addr, &code, &expires) && livemap_live(expires, now))
        return code == LIVEMAP_EXCLUDE ? 0 : code;
    return (uint8_t)blk;
}

static uint64_t livemap_hi6(const uint8_t addr[16])
{
    uint64_t hi = 0;
    for (unsigned i = 0; i < 8; i++)
        hi = hi << 8 | addr[i];
    return hi;
}

uint8_t livemap_lookup6(const struct livemap *m, const uint8_t addr[16], uint32_t now)
{
    uint64_t hi = livemap_hi6(addr);
    int blk = m->lens6 ? livemap_blocks_match(m, m->off6, m->lens6, hi, 64, now) : 0;
    if (blk < 0)
        return 0;
    uint8_t code;
    uint32_t expires;
    if (livemap_host_get(m, 6, hi, &code, &expires) && livemap_live(expires, now))
        return code == LIVEMAP_EXCLUDE ? 0 : code;
    return (uint8_t)blk;
}

static bool livemap_listed(uint8_t code, uint32_t expires, uint32_t now)
{
    return code != 0 && code != LIVEMAP_EXCLUDE && livemap_live(expires, now);
}

/* Whether a host or block of the family in [first, last] is listed; the
 * base and the delta are walked together, the delta deciding its keys. */
static bool livemap_any(const struct livemap *m, unsigned family, uint64_t first, uint64_t last,
                        uint32_t now)
{
    const struct livemap_hosts *h = family == 4 ? &m->base->h4 : &m->base->h6;
    unsigned width = livemap_host_bits(family);
    const struct netkey k = {(uint8_t)family, (uint8_t)width, first};
    size_t i = livemap_hosts_lower(h, first);
    size_t j = livemap_entries_lower(m->delta, m->ndelta, &k);
    for (;;) {
        bool base = i < h->n && livemap_hosts_addr(h, i) <= last;
        bool delta =
            j < m->ndelta && m->delta[j].key.family == family && m->delta[j].key.hi <= last;
        if (!base && !delta)
            break;
        if (delta && (!base || m->delta[j].key.hi <= livemap_hosts_addr(h, i))) {
            if (base && m->delta[j].key.hi == livemap_hosts_addr(h, i))
                i++;
            if (livemap_listed(m->delta[j].code, m->delta[j].expires, now))
                return true;
            j++;
        } else {
            if (livemap_listed(h->code[i], h->expires[i], now))
                return true;
            i++;
        }
    }
    /* Blocks of one length are disjoint: the first starting at or after
     * the range's start masked to that length is the first that can
     * overlap it. */
    const size_t *off = family == 4 ? m->off4 : m->off6;
    uint64_t lens = family == 4 ? m->lens4 : m->lens6;
    while (lens) {
        unsigned b = 63 - (unsigned)__builtin_clzll(lens);
        lens &= ~(UINT64_C(1) << b);
        const struct netkey bk = {(uint8_t)family, (uint8_t)b,
                                  first & ~((UINT64_C(1) << (width - b)) - 1)};
        size_t x = off[b] + livemap_entries_lower(m->blocks + off[b], off[b + 1] - off[b], &bk);
        for (; x < off[b + 1] && m->blocks[x].key.hi <= last; x++)
            if (livemap_listed(m->blocks[x].code, m->blocks[x].expires, now))
                return true;
    }
    return false;
}

bool livemap_any4(const struct livemap *m, uint32_t first, uint32_t last, uint32_t now)
{
    if (first > last)
        return false;
    return livemap_any(m, 4, first, last, now);
}

bool livemap_any6(const struct livemap *m, const uint8_t prefix[16], unsigned nibbles, uint32_t now)
{
    /* Listings are per /64: a longer prefix asks about its /64. */
    if (nibbles > 16)
        nibbles = 16;
    uint64_t mask = nibbles ? ~UINT64_C(0) << (64 - 4 * nibbles) : 0;
    uint64_t first = livemap_hi6(prefix) & mask;
    return livemap_any(m, 6, first, first | ~mask, now);
}

int livemap_walk(const struct livemap *m, livemap_key_fn fn, void *arg)
{
    const struct livemap_hosts *hs[2] = {&m->base->h4, &m->base->h6};
    for (unsigned f = 0; f < 2; f++) {
        const struct livemap_hosts *h = hs[f];
        for (size_t i = 0; i < h->n; i++) {
            struct netkey k = {.family = (uint8_t)h->family,
                               .bits = (uint8_t)livemap_host_bits(h->family),
                               .hi = livemap_hosts_addr(h, i)};
            int rc = fn(&k, arg);
            if (rc)
                return rc;
        }
    }
    for (size_t i = 0; i < m->ndelta; i++) {
        int rc = fn(&m->delta[i].key, arg);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < m->nblocks; i++) {
        int rc = fn(&m->blocks[i].key, arg);
        if (rc)
            return rc;
    }
    return 0;
}

size_t livemap_count(const struct livemap *m)
{
    return m->count;
}

size_t livemap_bytes(const struct livemap *m)
{
    return sizeof(*m) + sizeof(*m->base) + livemap_hosts_bytes(&m->base->h4) +
           livemap_hosts_bytes(&m->base->h6) + m->delta_cap * sizeof(*m->delta) +
           m->nblocks * sizeof(*m->blocks);
}

void livemap_free(struct livemap *m)
{
    if (!m)
        return;
    livemap_base_release(m->base);
    free(m->delta);
    free(m->blocks);
    free(m);
}

/* ---- building from a sorted stream ------------------------------------ */

struct livemap_builder {
    struct livemap_hosts h4; /* IPv4 hosts so far, arrays laid out by cap4 */
    size_t cap4;
    struct livemap_entry *rest; /* everything else, in input order */
    size_t nrest, caprest;
};

int livemap_builder_new(struct livemap_builder **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return ERR_NOMEM;
    (*out)->h4.family = 4;
    return 0;
}

void livemap_builder_free(struct livemap_builder *b)
{
    if (!b)
        return;
    livemap_hosts_free(&b->h4);
    free(b->rest);
    free(b);
}

/* Room for more IPv4 hosts: the one allocation grows, and the expiry and
 * code arrays move up to where the new capacity puts them (code first:
 * the expiries' new place may overlap its old one). */
static int livemap_builder_grow4(struct livemap_builder *b)
{
    struct livemap_hosts *h = &b->h4;
    size_t old = b->cap4, cap = old ? old + old / 2 : 65536;
    char *p = realloc(h->mem, cap * 9);
    if (!p)
        return ERR_NOMEM;
    memmove(p + cap * 8, p + old * 8, h->n);
    memmove(p + cap * 4, p + old * 4, h->n * sizeof(uint32_t));
    h->mem = p;
    h->addr4 = (uint32_t *)(void *)p;
    h->expires = (uint32_t *)(void *)(p + cap * 4);
    h->code = (uint8_t *)(p + cap * 8);
    b->cap4 = cap;
    return 0;
}

int livemap_builder_add(struct livemap_builder *b, const struct livemap_entry *e)
{
    if (!livemap_key_valid(&e->key))
        return ERR_INVAL;
    struct livemap_hosts *h = &b->h4;
    if (livemap_build_wants(e, 4) && (h->n == 0 || e->key.hi > h->addr4[h->n - 1])) {
        if (h->n == b->cap4 && livemap_builder_grow4(b) < 0)
            return ERR_NOMEM;
        livemap_hosts_set(h, h->n++, e->key.hi, e->expires, e->code);
        return 0;
    }
    if (b->nrest == b->caprest) {
        size_t cap = b->caprest ? 2 * b->caprest : 256;
        struct livemap_entry *r = realloc(b->rest, cap * sizeof(*r));
        if (!r)
            return ERR_NOMEM;
        b->rest = r;
        b->caprest = cap;
    }
    b->rest[b->nrest++] = *e;
    return 0;
}

/* Out-of-order or repeated IPv4 hosts: the general build, over the
 * streamed hosts and the rest together (in input order, as given). */
static int livemap_builder_general(struct livemap_builder *b, struct livemap **out)
{
    size_t n = b->h4.n + b->nrest;
    struct livemap_entry *all = malloc((n ? n : 1) * sizeof(*all));
    if (!all)
        return ERR_NOMEM;
    /* The streamed hosts came first among IPv4 hosts of their address,
     * and later entries win: streamed ones go first. */
    for (size_t i = 0; i < b->h4.n; i++) {
        all[i] = (struct livemap_entry){{4, 32, b->h4.addr4[i]}, b->h4.code[i], b->h4.expires[i]};
    }
    memcpy(all + b->h4.n, b->rest, b->nrest * sizeof(*all));
    livemap_hosts_free(&b->h4);
    int rc = livemap_build(all, n, out);
    free(all);
    return rc;
}

int livemap_builder_finish(struct livemap_builder *b, struct livemap **out)
{
    int rc = 0;
    bool simple = true;
    for (size_t i = 0; i < b->nrest && simple; i++)
        simple = !livemap_build_wants(&b->rest[i], 4);
    if (!simple) {
        rc = livemap_builder_general(b, out);
        livemap_builder_free(b);
        return rc;
    }
    struct livemap *m = calloc(1, sizeof(*m));
    size_t n6 = 0;
    for (size_t i = 0; i < b->nrest; i++)
        n6 += livemap_build_wants(&b->rest[i], 6);
    rc = ERR_NOMEM;
    if (!m || !(m->base = livemap_base_new()))
        goto exit;
    /* The streamed hosts become the base's table as they are. */
    struct livemap_hosts *h = &m->base->h4;
    *h = b->h4;
    memset(&b->h4, 0, sizeof(b->h4));
    if (h->n == 0)
        livemap_hosts_free(h);
    else if (h->n < b->cap4)
        livemap_hosts_shrink(h, h->n);
    h->family = 4;
    rc = livemap_hosts_index(h);
    if (rc == 0)
        rc = livemap_hosts_build6(b->rest, b->nrest, n6, &m->base->h6);
    if (rc == 0)
        rc = livemap_changes_sorted(b->rest, b->nrest, false, true, &m->blocks, &m->nblocks);
    if (rc < 0)
        goto exit;
    livemap_blocks_index(m);
    m->count = m->base->h4.n + m->base->h6.n + m->nblocks;
    *out = m;
exit:
    if (rc < 0 && m)
        livemap_free(m);
    livemap_builder_free(b);
    return rc;
}
