/* The ip6tset dataset type: a set of IPv6 /64 networks sharing one value,
 * with single /128 addresses excluded, kept as sorted arrays. */
#include "common/err.h"
#include "data/array.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip6parse.h"
#include "data/value.h"

#include <stdlib.h>
#include <string.h>

struct ip6tset_excl {
    uint64_t hi, lo;
};

struct ip6tset {
    uint64_t *nets; /* upper halves of the listed /64s, sorted, unique */
    size_t nnets, netcap;
    struct ip6tset_excl *excl; /* excluded addresses, sorted, unique */
    size_t nexcl, exclcap;
    struct vtab *vt;
    uint32_t value; /* the one value every entry answers with */
    bool has_value; /* a ':' line was seen (only the first one counts) */
};

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int ip6tset_create(struct dataset *ds)
{
    struct ip6tset *s = ds->priv;
    return vtab_new(&s->vt);
}

static void ip6tset_destroy(struct dataset *ds)
{
    struct ip6tset *s = ds->priv;
    free(s->nets);
    free(s->excl);
    vtab_free(s->vt);
}

static int ip6tset_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct ip6tset *s = ds->priv;
    uint8_t addr[16];
    unsigned bits;
    const char *end;
    int rc;

    if (line[0] == ':') {
        /* rbldnsd keeps the first value line of the whole dataset. */
        if (s->has_value)
            return 0;
        rc = datafile_intern_value(df, line, s->vt, &s->value);
        s->has_value = rc == 0;
        return rc;
    }

    bool excl = datafile_exclusion(&line);
    if (ip6parse_prefix(line, addr, &bits, &end) < 0 || !ip6parse_tail_ok(*end))
        return datafile_error(df, "invalid IPv6 address");
    /* Values after the address are ignored: every entry shares one value. */
    if (excl) {
        if (bits != 128)
            return datafile_error(df, "an ip6tset exclusion must be a full address (128 bits)");
        if ((rc = array_reserve((void **)&s->excl, &s->exclcap, s->nexcl + 1, sizeof(*s->excl),
                                64)) < 0)
            return rc;
        s->excl[s->nexcl].hi = load_be64(addr);
        s->excl[s->nexcl].lo = load_be64(addr + 8);
        s->nexcl++;
        return 0;
    }
    if (bits != 64)
        return datafile_error(df, "an ip6tset entry must be a /64 given as four groups");
    if (!ds->ctx->limits.allow_world && ds->ctx->limits.min_prefix6 > 64)
        return datafile_error(df, "/64 is shorter than the minimum prefix length /%u",
                              ds->ctx->limits.min_prefix6);
    if ((rc = array_reserve((void **)&s->nets, &s->netcap, s->nnets + 1, sizeof(*s->nets), 64)) < 0)
        return rc;
    s->nets[s->nnets++] = load_be64(addr);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_excl(const void *a, const void *b)
{
    const struct ip6tset_excl *x = a, *y = b;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int ip6tset_finish(struct dataset *ds)
{
    struct ip6tset *s = ds->priv;
    size_t n = 0;

    if (!s->has_value) {
        static const struct ds_value defval = {.a = {127, 0, 0, 2}};
        int rc = vtab_intern(s->vt, &defval, &s->value);
        if (rc < 0)
            return rc;
        s->has_value = true;
    }
    if (s->nnets > 1)
        qsort(s->nets, s->nnets, sizeof(*s->nets), cmp_u64);
    for (size_t i = 0; i < s->nnets; i++)
        if (n == 0 || s->nets[n - 1] != s->nets[i])
            s->nets[n++] = s->nets[i];
    s->nnets = n;

    if (s->nexcl > 1)
        qsort(s->excl, s->nexcl, sizeof(*s->excl), cmp_excl);
    n = 0;
    for (size_t i = 0; i < s->nexcl; i++)
        if (n == 0 || cmp_excl(&s->excl[n - 1], &s->excl[i]) != 0)
            s->excl[n++] = s->excl[i];
    s->nexcl = n;

    ds->entries = s->nnets + s->nexcl;
    ds->mem_bytes = sizeof(*s) + s->netcap * sizeof(*s->nets) + s->exclcap * sizeof(*s->excl) +
                    vtab_bytes(s->vt);
    return 0;
}

/* Index of the first net >= key. */
static size_t nets_lower(const struct ip6tset *s, uint64_t key)
{
    size_t lo = 0, hi = s->nnets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->nets[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first exclusion >= (hi, lo). */
static size_t excl_lower(const struct ip6tset *s, uint64_t hi, uint64_t lo)
{
    struct ip6tset_excl key = {hi, lo};
    size_t a = 0, b = s->nexcl;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (cmp_excl(&s->excl[mid], &key) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

static bool net_listed(const struct ip6tset *s, uint64_t hi)
{
    size_t i = nets_lower(s, hi);
    return i < s->nnets && s->nets[i] == hi;
}

static int ip6tset_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct ip6tset *s = ds->priv;
    unsigned n = q->ip6_nibbles;
    uint64_t hi = load_be64(q->ip6), lo = load_be64(q->ip6 + 8);

    res->exists = false;
    if (n == 0)
        return 0;
    if (n == 32) {
        if (!net_listed(s, hi))
            return 0;
        size_t i = excl_lower(s, hi, lo);
        if (i < s->nexcl && s->excl[i].hi == hi && s->excl[i].lo == lo)
            return 0;
        res->exists = true;
        int rc = vtab_emit(s->vt, s->value, ds->ttl, res);
        return rc == ERR_SPACE ? 0 : rc;
    }
    if (n <= 16) {
        /* A partial name exists when some listed /64 lies below it. */
        unsigned shift = 64 - 4 * n;
        uint64_t prefix = shift == 64 ? 0 : (hi >> shift) << shift;
        size_t i = nets_lower(s, prefix);
        res->exists = i < s->nnets && (shift == 64 || (s->nets[i] >> shift) == (hi >> shift));
        return 0;
    }
    /* Between /64 and /128: exists unless every address below is excluded. */
    if (!net_listed(s, hi))
        return 0;
    unsigned shift = 128 - 4 * n; /* 4..60 */
    uint64_t first = (lo >> shift) << shift;
    uint64_t last = first | ((UINT64_C(1) << shift) - 1);
    size_t a = excl_lower(s, hi, first);
    size_t b = excl_lower(s, hi, last);
    if (b < s->nexcl && s->excl[b].hi == hi && s->excl[b].lo == last)
        b++;
    res->exists = (uint64_t)(b - a) < (UINT64_C(1) << shift);
    return 0;
}

static void store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Each /64, and each excluded address. */
static int ip6tset_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct ip6tset *s = ds->priv;
    uint8_t first[16], last[16];
    for (size_t i = 0; i < s->nnets; i++) {
        store_be64(first, s->nets[i]);
        store_be64(first + 8, 0);
        store_be64(last, s->nets[i]);
        store_be64(last + 8, UINT64_MAX);
        int rc = w->ip6(w, first, last);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < s->nexcl; i++) {
        store_be64(first, s->excl[i].hi);
        store_be64(first + 8, s->excl[i].lo);
        int rc = w->ip6(w, first, first);
        if (rc)
            return rc;
    }
    return 0;
}

const struct dataset_ops ds_ip6tset_ops = {
    .name = "ip6tset",
    .family = DS_FAM_IP6,
    .uses_values = false,
    .priv_size = sizeof(struct ip6tset),
    .create = ip6tset_create,
    .line = ip6tset_line,
    .finish = ip6tset_finish,
    .query = ip6tset_query,
    .destroy = ip6tset_destroy,
    .walk = ip6tset_walk,
};
