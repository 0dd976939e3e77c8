/* The dnset dataset type: domain names, exact ("example.com"), subdomains
 * only ("*.example.com") or both (".example.com"), with exclusions and a
 * value per entry. Names are kept with their labels reversed
 * ("com.example") in one sorted array, so that a name's subdomains follow
 * it and every ancestor of a query is a prefix of its key. */
#include "common/err.h"
#include "common/name.h"
#include "data/array.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/dnkey.h"
#include "data/value.h"

#include <stdlib.h>
#include <string.h>

enum { KIND_PLAIN = 0, KIND_WILD = 1 };

struct dnset_entry {
    uint32_t key_off; /* into dnset.keys */
    uint8_t key_len;  /* reversed wire labels, no root label */
    uint8_t kind;     /* KIND_PLAIN or KIND_WILD (subdomains of key) */
    uint8_t excl;     /* 1 = exclusion; sorts first within its group */
    uint32_t value;   /* vtab index, unused for exclusions */
    uint32_t seq;     /* line order, so answers keep the file's order */
};

struct dnset {
    struct dnset_entry *e;
    size_t n, cap;
    uint8_t *keys;
    size_t keylen, keycap;
    struct vtab *vt;
};

static int dnset_create(struct dataset *ds)
{
    struct dnset *s = ds->priv;
    return vtab_new(&s->vt);
}

static void dnset_destroy(struct dataset *ds)
{
    struct dnset *s = ds->priv;
    free(s->e);
    free(s->keys);
    vtab_free(s->vt);
}

static int add_entry(struct dnset *s, const uint8_t *key, size_t klen, uint8_t kind, bool excl,
                     uint32_t value)
{
    if (array_reserve((void **)&s->e, &s->cap, s->n + 1, sizeof(*s->e), 64) < 0)
        return ERR_NOMEM;
    if (s->n >= UINT32_MAX || s->keylen + klen > UINT32_MAX)
        return ERR_RANGE;
    if (array_reserve((void **)&s->keys, &s->keycap, s->keylen + klen, 1, 4096) < 0)
        return ERR_NOMEM;
    memcpy(s->keys + s->keylen, key, klen);
    s->e[s->n] = (struct dnset_entry){
        .key_off = (uint32_t)s->keylen,
        .key_len = (uint8_t)klen,
        .kind = kind,
        .excl = excl,
        .value = value,
        .seq = (uint32_t)s->n,
    };
    s->keylen += klen;
    s->n++;
    return 0;
}

static int dnset_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct dnset *s = ds->priv;
    bool plain = true, wild = false;
    uint8_t wire[NAME_MAXWIRE], key[NAME_MAXWIRE];
    size_t wlen;
    uint32_t value = 0;
    int rc;

    bool excl = datafile_exclusion(&line);
    if (line[0] == '.') {
        wild = true;
        line++;
    } else if (line[0] == '*' && line[1] == '.') {
        wild = true;
        plain = false;
        line += 2;
    }
    char *p = line;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    char saved = *p;
    *p = '\0';
    rc = *line ? name_from_text(line, wire, &wlen) : ERR_INVAL;
    *p = saved;
    if (rc < 0 || wlen <= 1)
        return datafile_error(df, "invalid domain name");

    if (!excl) {
        if ((rc = datafile_intern_value(df, p, s->vt, &value)) < 0)
            return rc;
    }

    size_t klen = dnkey_from_name(wire, wlen - 1, key);
    if (plain && (rc = add_entry(s, key, klen, KIND_PLAIN, excl, value)) < 0)
        return rc;
    if (wild && (rc = add_entry(s, key, klen, KIND_WILD, excl, value)) < 0)
        return rc;
    return 0;
}

/* Order by key bytes (a key sorts right before its extensions), kind,
 * exclusions first, then file order. */
static int entry_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct dnset_entry *a = pa, *b = pb;
    const uint8_t *sort_keys = ctx;
    int r = dnkey_cmp(sort_keys + a->key_off, a->key_len, sort_keys + b->key_off, b->key_len);
    if (r)
        return r;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->excl != b->excl)
        return a->excl ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool same_group(const struct dnset *s, const struct dnset_entry *a,
                       const struct dnset_entry *b)
{
    return a->kind == b->kind && a->key_len == b->key_len &&
           memcmp(s->keys + a->key_off, s->keys + b->key_off, a->key_len) == 0;
}

static int dnset_finish(struct dataset *ds)
{
    struct dnset *s = ds->priv;
    size_t n = 0;

    if (s->n > 1)
        qsort_r(s->e, s->n, sizeof(*s->e), entry_cmp, s->keys);
    for (size_t i = 0; i < s->n; i++) {
        const struct dnset_entry *cur = &s->e[i];
        bool dup = false;
        /* Drop repeats of the same (name, kind, exclusion, value). */
        for (size_t j = n; j-- > 0 && same_group(s, &s->e[j], cur);) {
            if (s->e[j].excl == cur->excl && (cur->excl || s->e[j].value == cur->value)) {
                dup = true;
                break;
            }
        }
        if (!dup)
            s->e[n++] = *cur;
    }
    s->n = n;
    ds->entries = n;
    ds->mem_bytes = sizeof(*s) + s->cap * sizeof(*s->e) + s->keycap + vtab_bytes(s->vt);
    return 0;
}

/* Index of the first entry >= (key, kind). */
static size_t lower_bound(const struct dnset *s, const uint8_t *key, size_t klen, uint8_t kind)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dnset_entry *e = &s->e[mid];
        int r = dnkey_cmp(s->keys + e->key_off, e->key_len, key, klen);
        if (r == 0)
            r = e->kind < kind ? -1 : e->kind > kind;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First entry of the group (key, kind), or SIZE_MAX when there is none. */
static size_t find_group(const struct dnset *s, const uint8_t *key, size_t klen, uint8_t kind)
{
    size_t i = lower_bound(s, key, klen, kind);
    if (i < s->n && s->e[i].kind == kind && s->e[i].key_len == klen &&
        memcmp(s->keys + s->e[i].key_off, key, klen) == 0)
        return i;
    return SIZE_MAX;
}

/* Whether any listed (not excluded) entry lies strictly below `key`. */
static bool has_listed_below(const struct dnset *s, const uint8_t *key, size_t klen)
{
    size_t i = lower_bound(s, key, klen, KIND_PLAIN);
    while (i < s->n) {
        const struct dnset_entry *e = &s->e[i];
        if (e->key_len < klen || memcmp(s->keys + e->key_off, key, klen) != 0)
            break;
        bool below = e->key_len > klen;
        size_t j = i + 1;
        while (j < s->n && same_group(s, e, &s->e[j]))
            j++;
        /* The first entry of a group says whether the group is excluded. */
        if (below && !e->excl)
            return true;
        i = j;
    }
    return false;
}

/* The text of the last `keep` labels of the query name: a suffix of
 * name_text, found by skipping the leading labels (escapes included). */
static const char *name_suffix(const struct ds_query *q, unsigned keep, size_t *len)
{
    const char *t = q->name_text, *end = t + q->name_text_len;
    unsigned skip = q->sublabels - keep;
    while (skip > 0 && t < end) {
        if (*t == '\\')
            t += (t + 1 < end && t[1] >= '0' && t[1] <= '9') ? 4 : 2;
        else if (*t++ == '.')
            skip--;
    }
    if (t > end || skip > 0) {
        *len = q->name_text_len;
        return q->name_text;
    }
    *len = (size_t)(end - t);
    return t;
}

static int emit_group(const struct dataset *ds, size_t i, struct ds_result *res)
{
    const struct dnset *s = ds->priv;
    const struct dnset_entry *first = &s->e[i];
    for (; i < s->n && same_group(s, first, &s->e[i]); i++) {
        int rc = vtab_emit(s->vt, s->e[i].value, ds->ttl, res);
        if (rc == ERR_SPACE)
            break;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dnset_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct dnset *s = ds->priv;
    uint8_t key[NAME_MAXWIRE];
    size_t bound[NAME_MAXLABELS + 1]; /* bound[k] = key length of the first k labels */
    unsigned nlab = 0;
    size_t i;

    res->exists = false;
    if (q->sublen == 0 || q->sublen >= NAME_MAXWIRE || s->n == 0)
        return 0;
    dnkey_from_name(q->sub, q->sublen, key);
    bound[0] = 0;
    for (size_t pos = 0; pos < q->sublen && nlab < NAME_MAXLABELS; pos += (size_t)key[pos] + 1)
        bound[++nlab] = pos + (size_t)key[pos] + 1;

    /* The name itself, then the nearest wildcard above it: the most
     * specific entry decides, whether it lists or excludes. */
    unsigned matched = nlab;
    i = find_group(s, key, bound[nlab], KIND_PLAIN);
    if (i == SIZE_MAX) {
        for (matched = nlab; matched-- > 0;) {
            if ((i = find_group(s, key, bound[matched], KIND_WILD)) != SIZE_MAX)
                break;
        }
    }
    if (i != SIZE_MAX && !s->e[i].excl) {
        res->exists = true;
        res->subject = name_suffix(q, matched, &res->subject_len);
        return emit_group(ds, i, res);
    }

    /* Not listed, but it exists when something below it is: a wildcard at
     * or above it that covers its subdomains, or a listed entry below. */
    for (unsigned k = nlab + 1; k-- > 0;) {
        size_t w = find_group(s, key, bound[k], KIND_WILD);
        if (w != SIZE_MAX) {
            res->exists = !s->e[w].excl;
            break;
        }
    }
    if (!res->exists)
        res->exists = has_listed_below(s, key, bound[nlab]);
    return 0;
}

/* Every entry's name, in wire order again; "*.x" and ".x" report x as
 * an entry for the names below it. */
static int dnset_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct dnset *s = ds->priv;
    uint8_t wire[NAME_MAXWIRE];
    for (size_t i = 0; i < s->n; i++) {
        const struct dnset_entry *e = &s->e[i];
        /* Reversing the labels of a key again gives the name. */
        size_t len = dnkey_from_name(s->keys + e->key_off, e->key_len, wire);
        int rc = w->name(w, wire, len, e->kind == KIND_WILD);
        if (rc)
            return rc;
    }
    return 0;
}

const struct dataset_ops ds_dnset_ops = {
    .name = "dnset",
    .family = DS_FAM_NAME,
    .uses_values = true,
    .priv_size = sizeof(struct dnset),
    .create = dnset_create,
    .line = dnset_line,
    .finish = dnset_finish,
    .query = dnset_query,
    .destroy = dnset_destroy,
    .walk = dnset_walk,
};
