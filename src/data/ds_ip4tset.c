/* The ip4tset dataset type: single IPv4 addresses sharing one value.
 * Small sets are a sorted array of 4-byte addresses searched by bisection.
 * Large sets (IP4TSET_SPLIT_MIN entries and more) are split on the upper
 * 16 bits: a 65537-entry offset table plus the lower 16 bits of each
 * address, so an address costs a little over 2 bytes instead of 4, and a
 * lookup touches the table and one short bucket instead of ~20 random
 * cache lines.
 *
 * Loading goes through a small fixed staging buffer: when it fills, it is
 * sorted and merged into the split form in place, from the back. So the
 * set never exists in the 4-byte form at full size, and a reload of a big
 * list needs little more than the final 2 bytes per address next to the
 * data being replaced. */
#include "common/err.h"
#include "data/array.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip4parse.h"
#include "data/radix.h"
#include "data/value.h"

#include <stdlib.h>
#include <string.h>

/* Below this many entries the offset table (256 KiB) would cost more than
 * the 2 bytes per address it saves. */
#define IP4TSET_SPLIT_MIN 131072
#define IP4TSET_BUCKETS 65536
/* Addresses staged before a merge: 512 KiB, plus as much scratch to sort
 * them. Small, because during a reload it comes on top of two copies of
 * the set (the one serving and the one loading). */
#define IP4TSET_STAGE 131072

struct ip4tset {
    uint32_t *addrs;  /* staging while loading; the whole set when small */
    size_t n, cap;    /* n: entries in the split form, or in addrs when small */
    size_t staged;    /* entries waiting in addrs while loading */
    uint32_t *bucket; /* split form: entries of upper half h are */
    uint16_t *low;    /* low[bucket[h] .. bucket[h+1]-1], sorted */
    size_t lowcap;
    struct vtab *vt;
    bool have_value; /* the first ':' line of the dataset sets the value */
    uint32_t value;
};

static int ip4tset_create(struct dataset *ds)
{
    struct ip4tset *s = ds->priv;
    return vtab_new(&s->vt);
}

static void ip4tset_destroy(struct dataset *ds)
{
    struct ip4tset *s = ds->priv;
    vtab_free(s->vt);
    free(s->addrs);
    free(s->bucket);
    free(s->low);
}

/* Sort the staged addresses and merge them into the split form. Both are
 * sorted, so a backward merge bucket by bucket moves every old entry at
 * most once and never over one not yet moved; duplicates are kept here
 * and dropped by ip4tset_unique at the end. */
static int ip4tset_merge(struct ip4tset *s)
{
    size_t m = s->staged;
    uint32_t *stage = s->addrs;
    if (m == 0)
        return 0;
    uint32_t *tmp = malloc(m * sizeof(*tmp));
    if (!tmp)
        return ERR_NOMEM;
    int rc = radix_sort32(stage, tmp, m);
    free(tmp);
    if (rc)
        return rc;
    if (!s->bucket) {
        s->bucket = calloc(IP4TSET_BUCKETS + 1, sizeof(*s->bucket));
        if (!s->bucket)
            return ERR_NOMEM;
    }
    if (array_reserve((void **)&s->low, &s->lowcap, s->n + m, sizeof(*s->low), m) < 0)
        return ERR_NOMEM;
    /* Walk the buckets from the top; `si` is one past the staged entries
     * not merged yet, `shift` how many of them sort below this bucket. */
    size_t si = m, shift = m;
    for (uint32_t h = IP4TSET_BUCKETS; h-- > 0 && shift > 0;) {
        size_t ob = s->bucket[h], oe = s->bucket[h + 1];
        size_t sb = si;
        while (sb > 0 && stage[sb - 1] >> 16 == h)
            sb--;
        size_t add = si - sb;
        shift -= add;
        /* Old entries [ob, oe) and staged [sb, si) go to
         * [ob + shift, oe + shift + add). */
        size_t d = oe + shift + add, o = oe, t = si;
        while (t > sb) {
            uint16_t sl = (uint16_t)stage[t - 1];
            if (o > ob && s->low[o - 1] > sl)
                s->low[--d] = s->low[--o];
            else
                s->low[--d] = sl, t--;
        }
        if (shift > 0)
            while (o > ob)
                s->low[--d] = s->low[--o];
        si = sb;
        s->bucket[h + 1] = (uint32_t)(oe + shift + add);
    }
    s->n += m;
    s->staged = 0;
    return 0;
}

/* Drop duplicate addresses from the split form, bucket by bucket. */
static void ip4tset_unique(struct ip4tset *s)
{
    size_t w = 0;
    for (uint32_t h = 0; h < IP4TSET_BUCKETS; h++) {
        size_t b = s->bucket[h], e = s->bucket[h + 1];
        s->bucket[h] = (uint32_t)w;
        for (size_t r = b; r < e; r++)
            if (r == b || s->low[r] != s->low[r - 1])
                s->low[w++] = s->low[r];
    }
    s->bucket[IP4TSET_BUCKETS] = (uint32_t)w;
    s->n = w;
}

static int ip4tset_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct ip4tset *s = ds->priv;
    if (line[0] == ':') {
        /* As in rbldnsd, only the first default line counts: every entry
         * of the set answers with the same value. */
        if (s->have_value)
            return 0;
        int rc = datafile_intern_value(df, line, s->vt, &s->value);
        s->have_value = rc == 0;
        return rc;
    }
    uint32_t first, last;
    int bits;
    const char *end, *why;
    if (ip4parse_range(line, 0, &first, &last, &bits, &end, &why) != 0)
        return datafile_error(df, "%s", why);
    if (bits != 32)
        return datafile_error(df, "ip4tset takes single IPv4 addresses only");
    /* Anything after the address is a value, which ip4tset ignores like
     * rbldnsd does: all entries share the dataset's one value. */
    if (s->staged == IP4TSET_STAGE) {
        int rc = ip4tset_merge(s);
        if (rc)
            return rc;
    }
    if (array_reserve((void **)&s->addrs, &s->cap, s->staged + 1, sizeof(*s->addrs), 1024) < 0)
        return ERR_NOMEM;
    s->addrs[s->staged++] = first;
    return 0;
}

static int ip4tset_finish(struct dataset *ds)
{
    struct ip4tset *s = ds->priv;
    if (!s->have_value) {
        static const struct ds_value def = {.a = {127, 0, 0, 2}};
        int rc = vtab_intern(s->vt, &def, &s->value);
        if (rc)
            return rc;
        s->have_value = true;
    }
    if (s->bucket || s->staged >= IP4TSET_SPLIT_MIN) {
        int rc = ip4tset_merge(s);
        if (rc)
            return rc;
        ip4tset_unique(s);
        free(s->addrs);
        s->addrs = NULL;
        s->cap = 0;
        array_shrink((void **)&s->low, &s->lowcap, s->n ? s->n : 1, sizeof(*s->low));
    } else {
        /* Small: the staging buffer is the set. */
        s->n = s->staged;
        s->staged = 0;
        if (s->n > 1) {
            uint32_t *tmp = malloc(s->n * sizeof(*tmp));
            if (!tmp)
                return ERR_NOMEM;
            int rc = radix_sort32(s->addrs, tmp, s->n);
            free(tmp);
            if (rc)
                return rc;
            s->n = radix_unique32(s->addrs, s->n);
        }
        if (s->n)
            array_shrink((void **)&s->addrs, &s->cap, s->n, sizeof(*s->addrs));
    }
    ds->entries = s->n;
    ds->ip4_total = s->n;
    ds->mem_bytes = sizeof(*s) + s->cap * sizeof(*s->addrs) + vtab_bytes(s->vt);
    if (s->bucket)
        ds->mem_bytes += (IP4TSET_BUCKETS + 1) * sizeof(*s->bucket) + s->n * sizeof(*s->low);
    return 0;
}

/* Index of the first address >= a (a may be 2^32: one past the end). */
static size_t lower_bound(const struct ip4tset *s, uint64_t a)
{
    if (a > UINT32_MAX)
        return s->n;
    size_t lo = 0, hi = s->n;
    if (s->bucket) {
        uint32_t h = (uint32_t)a >> 16;
        uint16_t l = (uint16_t)a;
        lo = s->bucket[h];
        hi = s->bucket[h + 1];
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->low[mid] < l)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->addrs[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int ip4tset_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct ip4tset *s = ds->priv;
    if (q->ip4_octets == 0)
        return 0;
    /* A full address is listed, and a partial name exists, when some
     * address lies in [ip4, ip4 + span). */
    uint64_t span = (uint64_t)1 << (32 - 8 * q->ip4_octets);
    if (lower_bound(s, q->ip4) == lower_bound(s, (uint64_t)q->ip4 + span))
        return 0;
    res->exists = true;
    if (q->ip4_octets < 4)
        return 0;
    int rc = vtab_emit(s->vt, s->value, ds->ttl, res);
    return rc == ERR_SPACE ? 0 : rc;
}

static int ip4tset_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct ip4tset *s = ds->priv;
    int rc = 0;
    if (!s->bucket) {
        for (size_t i = 0; i < s->n && rc == 0; i++)
            rc = w->ip4(w, s->addrs[i], s->addrs[i]);
        return rc;
    }
    for (uint32_t h = 0; h < IP4TSET_BUCKETS && rc == 0; h++) {
        for (size_t i = s->bucket[h]; i < s->bucket[h + 1] && rc == 0; i++) {
            uint32_t a = h << 16 | s->low[i];
            rc = w->ip4(w, a, a);
        }
    }
    return rc;
}

const struct dataset_ops ds_ip4tset_ops = {
    .name = "ip4tset",
    .family = DS_FAM_IP4,
    .uses_values = false,
    .priv_size = sizeof(struct ip4tset),
    .create = ip4tset_create,
    .line = ip4tset_line,
    .finish = ip4tset_finish,
    .query = ip4tset_query,
    .destroy = ip4tset_destroy,
    .walk = ip4tset_walk,
};
