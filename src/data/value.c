/* The per-dataset value table: distinct (A, TXT template) pairs, stored once. */
#include "data/value.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

/* Values sit in an array indexed by their number; a separate open-addressing
 * hash table of indices finds duplicates while loading. Texts are copied
 * into the table so callers may pass scratch buffers. */
struct vtab {
    struct ds_value *vals;
    uint32_t n, cap;
    uint32_t *hash; /* slots hold index + 1; 0 = empty */
    uint32_t hcap;  /* power of two */
    size_t txtbytes;
    uint32_t last; /* index + 1 of the value interned last, 0 = none */
};

static uint32_t value_hash(const struct ds_value *v)
{
    /* FNV-1a over the fields that define equality. */
    uint32_t h = 2166136261u;
    for (int i = 0; i < 4; i++)
        h = (h ^ v->a[i]) * 16777619u;
    h = (h ^ (v->has_txt ? 1u : 0u)) * 16777619u;
    if (v->has_txt)
        for (uint16_t i = 0; i < v->txtlen; i++)
            h = (h ^ (uint8_t)v->txt[i]) * 16777619u;
    return h;
}

static bool value_equal(const struct ds_value *a, const struct ds_value *b)
{
    if (memcmp(a->a, b->a, 4) != 0 || a->has_txt != b->has_txt)
        return false;
    if (!a->has_txt)
        return true;
    return a->txtlen == b->txtlen && memcmp(a->txt, b->txt, a->txtlen) == 0;
}

int vtab_new(struct vtab **out)
{
    struct vtab *vt = calloc(1, sizeof(*vt));
    if (!vt)
        return ERR_NOMEM;
    vt->hcap = 64;
    vt->hash = calloc(vt->hcap, sizeof(*vt->hash));
    if (!vt->hash) {
        free(vt);
        return ERR_NOMEM;
    }
    *out = vt;
    return 0;
}

void vtab_free(struct vtab *vt)
{
    if (!vt)
        return;
    for (uint32_t i = 0; i < vt->n; i++)
        free((char *)vt->vals[i].txt);
    free(vt->vals);
    free(vt->hash);
    free(vt);
}

static int rehash(struct vtab *vt)
{
    uint32_t ncap = vt->hcap * 2;
    uint32_t *nh = calloc(ncap, sizeof(*nh));
    if (!nh)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < vt->n; i++) {
        uint32_t s = value_hash(&vt->vals[i]) & (ncap - 1);
        while (nh[s])
            s = (s + 1) & (ncap - 1);
        nh[s] = i + 1;
    }
    free(vt->hash);
    vt->hash = nh;
    vt->hcap = ncap;
    return 0;
}

static int vtab_intern_hashed(struct vtab *vt, const struct ds_value *v, uint32_t *idx);

int vtab_intern(struct vtab *vt, const struct ds_value *v, uint32_t *idx)
{
    /* Data files give most entries the value of the entry before (the
     * default): a compare is cheaper than hashing the text again. */
    if (vt->last && value_equal(&vt->vals[vt->last - 1], v)) {
        *idx = vt->last - 1;
        return 0;
    }
    int rc = vtab_intern_hashed(vt, v, idx);
    if (rc == 0)
        vt->last = *idx + 1;
    return rc;
}

static int vtab_intern_hashed(struct vtab *vt, const struct ds_value *v, uint32_t *idx)
{
    /* Keep the table at most half full so probes stay short and end. */
    if ((size_t)(vt->n + 1) * 2 > vt->hcap) {
        if (vt->hcap > UINT32_MAX / 2)
            return ERR_RANGE;
        int rc = rehash(vt);
        if (rc)
            return rc;
    }
    uint32_t s = value_hash(v) & (vt->hcap - 1);
    while (vt->hash[s]) {
        if (value_equal(&vt->vals[vt->hash[s] - 1], v)) {
            *idx = vt->hash[s] - 1;
            return 0;
        }
        s = (s + 1) & (vt->hcap - 1);
    }
    /* UINT32_MAX stays free for callers' "no value" markers. */
    if (vt->n >= UINT32_MAX - 1)
        return ERR_RANGE;
    if (vt->n == vt->cap) {
        uint32_t ncap = vt->cap ? vt->cap * 2 : 16;
        struct ds_value *nv = realloc(vt->vals, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return ERR_NOMEM;
        vt->vals = nv;
        vt->cap = ncap;
    }
    struct ds_value copy = *v;
    copy.txt = NULL;
    if (v->has_txt) {
        char *t = malloc((size_t)v->txtlen + 1);
        if (!t)
            return ERR_NOMEM;
        memcpy(t, v->txt, v->txtlen);
        t[v->txtlen] = '\0';
        copy.txt = t;
        vt->txtbytes += (size_t)v->txtlen + 1;
    } else {
        copy.txtlen = 0;
    }
    vt->vals[vt->n] = copy;
    vt->hash[s] = vt->n + 1;
    *idx = vt->n++;
    return 0;
}

const struct ds_value *vtab_get(const struct vtab *vt, uint32_t idx)
{
    return idx < vt->n ? &vt->vals[idx] : NULL;
}

size_t vtab_count(const struct vtab *vt)
{
    return vt->n;
}

size_t vtab_bytes(const struct vtab *vt)
{
    return sizeof(*vt) + (size_t)vt->cap * sizeof(*vt->vals) +
           (size_t)vt->hcap * sizeof(*vt->hash) + vt->txtbytes;
}

int ds_value_emit(const struct ds_value *v, uint32_t ttl, struct ds_result *res)
{
    int rc = ds_result_add(res, DNS_TYPE_A, ttl, v->a, 4);
    if (rc == 0 && v->has_txt)
        rc = ds_result_add(res, DNS_TYPE_TXT, ttl, v->txt, v->txtlen);
    return rc;
}

int vtab_emit(const struct vtab *vt, uint32_t idx, uint32_t ttl, struct ds_result *res)
{
    const struct ds_value *v = vtab_get(vt, idx);
    if (!v)
        return ERR_NOTFOUND;
    return ds_value_emit(v, ttl, res);
}
