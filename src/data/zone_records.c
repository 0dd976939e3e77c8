/* The records of a zone for a standard DNS server: the map of answers
 * from the datasets' walks and queries, and the names and wildcards that
 * make a DNS server answer from it as the datasets do (zone_records.h). */
#include "data/zone_records.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/hash.h"
#include "data/array.h"
#include "data/dnkey.h"
#include "data/radix.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records of one name at most, as the server writes at most that many
 * into one answer. */
#define ZR_MAX_RR 128
/* Bytes of rendered RDATA of one owner. */
#define ZR_RDPOOL (256 * 1024)
/* Subject texts kept per query (one per dataset that answered). */
#define ZR_SUBJ_POOL 16384
/* Nesting of combined subzones (combined cannot hold combined). */
#define ZR_MAX_DEPTH 4

/* ---- 128-bit addresses ---------------------------------------------------
 * An IPv4 address is the low 32 bits, an IPv6 one all 128. */

struct zr_u128 {
    uint64_t hi, lo;
};

static int u_cmp(struct zr_u128 a, struct zr_u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static struct zr_u128 u_add1(struct zr_u128 a)
{
    a.lo++;
    if (a.lo == 0)
        a.hi++;
    return a;
}

static struct zr_u128 u_or(struct zr_u128 a, struct zr_u128 b)
{
    return (struct zr_u128){a.hi | b.hi, a.lo | b.lo};
}

/* The low n bits set (n <= 128). */
static struct zr_u128 u_low(unsigned n)
{
    if (n == 0)
        return (struct zr_u128){0, 0};
    if (n < 64)
        return (struct zr_u128){0, (UINT64_C(1) << n) - 1};
    if (n == 64)
        return (struct zr_u128){0, UINT64_MAX};
    if (n < 128)
        return (struct zr_u128){(UINT64_C(1) << (n - 64)) - 1, UINT64_MAX};
    return (struct zr_u128){UINT64_MAX, UINT64_MAX};
}

/* v << shift for a small v (at most 8 bits) and shift < 128. */
static struct zr_u128 u_shl(uint64_t v, unsigned shift)
{
    if (shift >= 64)
        return (struct zr_u128){v << (shift - 64), 0};
    if (shift == 0)
        return (struct zr_u128){0, v};
    return (struct zr_u128){v >> (64 - shift), v << shift};
}

/* (a >> shift) & low(bits), bits <= 8. */
static unsigned u_bits(struct zr_u128 a, unsigned shift, unsigned bits)
{
    uint64_t v;
    if (shift >= 64)
        v = a.hi >> (shift - 64);
    else if (shift == 0)
        v = a.lo;
    else
        v = (a.lo >> shift) | (a.hi << (64 - shift));
    return (unsigned)(v & ((UINT64_C(1) << bits) - 1));
}

static struct zr_u128 u_from16(const uint8_t a[16])
{
    struct zr_u128 r = {0, 0};
    for (int i = 0; i < 8; i++) {
        r.hi = r.hi << 8 | a[i];
        r.lo = r.lo << 8 | a[8 + i];
    }
    return r;
}

static void u_to16(struct zr_u128 a, uint8_t out[16])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)a.hi;
        out[8 + i] = (uint8_t)a.lo;
        a.hi >>= 8;
        a.lo >>= 8;
    }
}

/* ---- address families as names spell them ------------------------------ */

struct zr_fam {
    unsigned width; /* bits of an address */
    unsigned step;  /* bits per name label */
    unsigned fam;   /* DS_FAM_* */
};

static const struct zr_fam zr_fam4 = {32, 8, DS_FAM_IP4};
static const struct zr_fam zr_fam6 = {128, 4, DS_FAM_IP6};

/* Where a wildcard may stand: IPv4 at /24s only (the names above keep
 * dnsblkit's empty non-terminals); IPv6 from /16 (names of fewer labels
 * could be IPv4 names too) down to /124. */
static bool zr_wild_ok(const struct zr_fam *f, unsigned level)
{
    return f->width == 32 ? level == 24 : level >= 16 && level < 128;
}

/* ---- the plan ------------------------------------------------------------ */

/* The addresses of one family in one subzone: the places where answers
 * may change while walking, then the stretches between them with their
 * answers (0 = none: NXDOMAIN). */
struct zr_tree {
    bool ip4;            /* IPv4: points and starts in 32 bits */
    struct zr_u128 *pts; /* IPv6 */
    uint32_t *pts4;      /* IPv4 */
    size_t npts, ptcap;
    struct zr_u128 *forced; /* addresses that need a name of their own
                               even under a wildcard (another name exists
                               below them) */
    size_t nforced, fcap;
    struct zr_u128 *start; /* IPv6: stretch k covers [start[k], start[k+1]) */
    uint32_t *start4;      /* IPv4: the same (zr_start reads either) */
    uint32_t *ans;
    size_t n;
};

/* A subzone of the zone (a combined dataset's, or the zone itself). */
struct zr_space {
    uint8_t sub[NAME_MAXWIRE]; /* wire labels relative to the apex, no root */
    size_t sublen;
    unsigned families;
    struct zr_tree t4, t6;
};

/* A candidate of the names family, kept as a reversed-label key. */
enum {
    ZN_BELOW = 1,   /* an entry is for the names under it */
    ZN_EMIT = 2,    /* answers: written with its records */
    ZN_WILD = 4,    /* "*.name" is written */
    ZN_EXISTS = 8,  /* exists in the written zone */
    ZN_UNDER = 16,  /* lies under a name with ZN_BELOW */
    ZN_SKIP = 32,   /* an address: its subzone's tree writes it */
    ZN_NODATA = 64, /* the datasets say it exists, without records */
};

struct zr_name {
    uint32_t off; /* key in zrec.keys */
    uint8_t len;
    uint8_t flags;
    uint32_t parent; /* index of the nearest ancestor in the list, or UINT32_MAX */
};

/* Interned answers of the address trees: a list of records each. */
struct zr_arec {
    uint16_t type;
    uint16_t len;
    uint32_t ttl;
    uint32_t off; /* into zrec.bytes */
    bool dep;     /* a TXT that names the address */
};

struct zr_ans {
    uint32_t first, n; /* records arec[first .. first + n) */
    uint64_t hash;
    bool dep;
};

struct zrec {
    uint8_t apex[NAME_MAXWIRE];
    size_t apex_len; /* with the root label */
    struct dataset *const *ds;
    unsigned nds;
    struct zrec_opts o;
    struct zrec_stats st;

    struct zr_space *spaces;
    size_t nspaces, spcap;

    uint8_t *keys;
    size_t keylen, keycap;
    struct zr_name *names;
    size_t nnames, namecap;

    struct zr_arec *arec;
    size_t narec, areccap;
    uint8_t *bytes;
    size_t nbytes, bytescap;
    struct zr_ans *ans; /* ans[0] is "none" */
    size_t nans, anscap;
    uint32_t *atab; /* open addressing: answer ids, 0 = empty */
    size_t atabsize;

    char *why;
    size_t whysz;
};

static int zr_fail(struct zrec *z, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int zr_fail(struct zrec *z, int rc, const char *fmt, ...)
{
    if (z->why && z->whysz && !z->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(z->why, z->whysz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- TXT --------------------------------------------------------------- */

bool zrec_txt_has_subject(const char *tmpl, size_t tlen)
{
    for (size_t i = 0; i < tlen; i++) {
        if (tmpl[i] != '$')
            continue;
        if (i + 1 < tlen && tmpl[i + 1] == '$')
            i++;
        else
            return true;
    }
    return false;
}

/* Append text to the character-strings being written, a new string each
 * time one holds 255 bytes (as the wire writer does). */
static int zr_txt_put(uint8_t *out, size_t cap, size_t *pos, size_t *lenpos, const char *s,
                      size_t n)
{
    while (n > 0) {
        if (out[*lenpos] == 255) {
            if (*pos >= cap)
                return ERR_SPACE;
            *lenpos = (*pos)++;
            out[*lenpos] = 0;
        }
        size_t room = 255u - out[*lenpos];
        size_t take = n < room ? n : room;
        if (cap - *pos < take)
            return ERR_SPACE;
        memcpy(out + *pos, s, take);
        *pos += take;
        out[*lenpos] = (uint8_t)(out[*lenpos] + take);
        s += take;
        n -= take;
    }
    return 0;
}

int zrec_txt_render(const char *tmpl, size_t tlen, const char *subject, size_t slen, uint8_t *out,
                    size_t cap)
{
    if (cap < 1)
        return ERR_SPACE;
    size_t pos = 1, lenpos = 0, i = 0;
    out[0] = 0;
    while (i < tlen) {
        const char *dollar = memchr(tmpl + i, '$', tlen - i);
        size_t lit = dollar ? (size_t)(dollar - (tmpl + i)) : tlen - i;
        int rc = zr_txt_put(out, cap, &pos, &lenpos, tmpl + i, lit);
        if (rc)
            return rc;
        i += lit;
        if (i >= tlen)
            break;
        if (i + 1 < tlen && tmpl[i + 1] == '$') {
            rc = zr_txt_put(out, cap, &pos, &lenpos, "$", 1);
            i += 2;
        } else {
            rc = zr_txt_put(out, cap, &pos, &lenpos, subject, slen);
            i++;
        }
        if (rc)
            return rc;
    }
    if (pos > UINT16_MAX)
        return ERR_SPACE;
    return (int)pos;
}

/* ---- asking the zone ------------------------------------------------------ */

/* What the zone answers for one name: every dataset's records merged and
 * deduplicated as the server does, TTLs clamped. */
struct zr_found {
    struct ds_query q;
    struct ds_result res;
    bool exists;
    unsigned n;
    struct {
        uint16_t type;
        uint16_t rdlen;
        uint32_t ttl;
        const uint8_t *rdata;
        bool dep;
        uint16_t subj_off, subj_len; /* into subj */
    } rr[ZR_MAX_RR];
    bool overflow; /* more records than ZR_MAX_RR */
    char subj[ZR_SUBJ_POOL];
    size_t subjlen;
};

static uint32_t zr_ttl(const struct zrec *z, uint32_t ttl)
{
    if (ttl < z->o.ttl_min)
        return z->o.ttl_min;
    if (ttl > z->o.ttl_max)
        return z->o.ttl_max;
    return ttl;
}

static bool zr_same_rr(const struct zr_found *f, unsigned i, const struct ds_rr *rr, bool dep,
                       const char *subj, size_t slen)
{
    if (f->rr[i].type != rr->type || f->rr[i].rdlen != rr->rdlen ||
        memcmp(f->rr[i].rdata, rr->rdata, rr->rdlen) != 0 || f->rr[i].dep != dep)
        return false;
    return !dep ||
           (f->rr[i].subj_len == slen && memcmp(f->subj + f->rr[i].subj_off, subj, slen) == 0);
}

/* Ask every dataset about sub (wire labels relative to the apex). */
static int zr_resolve(const struct zrec *z, const uint8_t *sub, size_t sublen, struct zr_found *f)
{
    ds_query_init(&f->q, sub, sublen);
    ds_query_set_client(&f->q, NULL);
    /* The records of one version, whenever it is walked: a listing that
     * expired since leaves with the version the expiry sweep makes, so
     * that the difference to that one removes it. */
    f->q.as_built = true;
    f->exists = false;
    f->n = 0;
    f->overflow = false;
    f->subjlen = 0;
    for (unsigned d = 0; d < z->nds; d++) {
        ds_result_reset(&f->res);
        int rc = dataset_query(z->ds[d], &f->q, &f->res);
        if (rc < 0)
            return rc;
        if (f->res.exists)
            f->exists = true;
        /* The subject may live in per-thread storage of the dataset that
         * the next query reuses: keep a copy, once a TXT needs it. */
        const char *subj = f->res.subject ? f->res.subject : "";
        size_t slen = f->res.subject ? f->res.subject_len : 0;
        size_t soff = SIZE_MAX;
        for (unsigned i = 0; i < f->res.nrr; i++) {
            const struct ds_rr *rr = &f->res.rr[i];
            bool dep = rr->type == DNS_TYPE_TXT &&
                       zrec_txt_has_subject((const char *)rr->rdata, rr->rdlen);
            if (dep && soff == SIZE_MAX) {
                if (slen > sizeof(f->subj) - f->subjlen)
                    return ERR_SPACE;
                soff = f->subjlen;
                memcpy(f->subj + soff, subj, slen);
                f->subjlen += slen;
            }
            bool dup = false;
            for (unsigned k = 0; k < f->n && !dup; k++)
                dup = zr_same_rr(f, k, rr, dep, dep ? f->subj + soff : "", dep ? slen : 0);
            if (dup)
                continue;
            if (f->n == ZR_MAX_RR) {
                f->overflow = true;
                break;
            }
            f->rr[f->n].type = rr->type;
            f->rr[f->n].rdlen = rr->rdlen;
            f->rr[f->n].ttl = zr_ttl(z, rr->ttl);
            f->rr[f->n].rdata = rr->rdata;
            f->rr[f->n].dep = dep;
            f->rr[f->n].subj_off = dep ? (uint16_t)soff : 0;
            f->rr[f->n].subj_len = dep ? (uint16_t)slen : 0;
            f->n++;
        }
    }
    return 0;
}

/* ---- interned answers ------------------------------------------------------- */

static uint64_t zr_found_hash(const struct zr_found *f)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ f->n;
    for (unsigned i = 0; i < f->n; i++) {
        h = hash_mix64(
            h ^ ((uint64_t)f->rr[i].type << 48 | (uint64_t)f->rr[i].rdlen << 32 | f->rr[i].ttl) ^
            (uint64_t)f->rr[i].dep << 63);
        for (size_t b = 0; b < f->rr[i].rdlen; b++)
            h = (h ^ f->rr[i].rdata[b]) * 0x100000001b3ull;
    }
    return hash_mix64(h);
}

static bool zr_ans_equal(const struct zrec *z, uint32_t id, const struct zr_found *f)
{
    const struct zr_ans *a = &z->ans[id];
    if (a->n != f->n)
        return false;
    for (unsigned i = 0; i < f->n; i++) {
        const struct zr_arec *r = &z->arec[a->first + i];
        if (r->type != f->rr[i].type || r->len != f->rr[i].rdlen || r->ttl != f->rr[i].ttl ||
            r->dep != f->rr[i].dep || memcmp(z->bytes + r->off, f->rr[i].rdata, r->len) != 0)
            return false;
    }
    return true;
}

static int zr_atab_grow(struct zrec *z)
{
    size_t size = z->atabsize ? 2 * z->atabsize : 1024;
    uint32_t *t = calloc(size, sizeof(*t));
    if (!t)
        return ERR_NOMEM;
    for (size_t i = 1; i < z->nans; i++) {
        size_t h = (size_t)z->ans[i].hash & (size - 1);
        while (t[h])
            h = (h + 1) & (size - 1);
        t[h] = (uint32_t)i;
    }
    free(z->atab);
    z->atab = t;
    z->atabsize = size;
    return 0;
}

/* The id of an answer (0 for no records), adding it when new. Records
 * without an answer (exists only) count as none: an address either
 * answers or is NXDOMAIN. */
static int zr_intern(struct zrec *z, const struct zr_found *f, uint32_t *id)
{
    if (f->n == 0) {
        *id = 0;
        return 0;
    }
    if (2 * (z->nans + 1) > z->atabsize && zr_atab_grow(z) < 0)
        return ERR_NOMEM;
    uint64_t h = zr_found_hash(f);
    size_t i = (size_t)h & (z->atabsize - 1);
    for (; z->atab[i]; i = (i + 1) & (z->atabsize - 1)) {
        uint32_t c = z->atab[i];
        if (z->ans[c].hash == h && zr_ans_equal(z, c, f)) {
            *id = c;
            return 0;
        }
    }
    if (z->nans >= UINT32_MAX - 1)
        return ERR_LIMIT;
    size_t total = 0;
    for (unsigned k = 0; k < f->n; k++)
        total += f->rr[k].rdlen;
    if (array_reserve((void **)&z->ans, &z->anscap, z->nans + 1, sizeof(*z->ans), 64) < 0 ||
        array_reserve((void **)&z->arec, &z->areccap, z->narec + f->n, sizeof(*z->arec), 256) < 0 ||
        array_reserve((void **)&z->bytes, &z->bytescap, z->nbytes + total + 1, 1, 4096) < 0)
        return ERR_NOMEM;
    if (z->nbytes + total > UINT32_MAX)
        return ERR_LIMIT;
    struct zr_ans *a = &z->ans[z->nans];
    a->first = (uint32_t)z->narec;
    a->n = f->n;
    a->hash = h;
    a->dep = false;
    for (unsigned k = 0; k < f->n; k++) {
        struct zr_arec *r = &z->arec[z->narec++];
        r->type = f->rr[k].type;
        r->len = f->rr[k].rdlen;
        r->ttl = f->rr[k].ttl;
        r->dep = f->rr[k].dep;
        r->off = (uint32_t)z->nbytes;
        if (r->len)
            memcpy(z->bytes + z->nbytes, f->rr[k].rdata, r->len);
        z->nbytes += r->len;
        a->dep |= r->dep;
    }
    *id = (uint32_t)z->nans++;
    z->atab[i] = *id;
    return 0;
}

/* ---- walking the datasets ------------------------------------------------- */

struct zr_walker {
    struct ds_walk w; /* first: the callbacks get this pointer */
    struct zrec *z;
    uint8_t prefix[ZR_MAX_DEPTH + 1][NAME_MAXWIRE];
    size_t plen[ZR_MAX_DEPTH + 1];
    unsigned depth;
    struct zr_space *cur; /* the space of the current prefix, once known */
};

static struct zr_walker *zr_walker_of(struct ds_walk *w)
{
    return (struct zr_walker *)(void *)w;
}

static int zr_space_get(struct zrec *z, const uint8_t *sub, size_t sublen, struct zr_space **out)
{
    for (size_t i = 0; i < z->nspaces; i++) {
        if (z->spaces[i].sublen == sublen && memcmp(z->spaces[i].sub, sub, sublen) == 0) {
            *out = &z->spaces[i];
            return 0;
        }
    }
    if (array_reserve((void **)&z->spaces, &z->spcap, z->nspaces + 1, sizeof(*z->spaces), 4) < 0)
        return ERR_NOMEM;
    struct zr_space *s = &z->spaces[z->nspaces++];
    memset(s, 0, sizeof(*s));
    memcpy(s->sub, sub, sublen);
    s->sublen = sublen;
    s->t4.ip4 = true;
    *out = s;
    return 0;
}

static int zr_walker_space(struct zr_walker *wk, struct zr_space **out)
{
    if (!wk->cur) {
        int rc = zr_space_get(wk->z, wk->prefix[wk->depth], wk->plen[wk->depth], &wk->cur);
        if (rc)
            return rc;
    }
    *out = wk->cur;
    return 0;
}

static int zr_tree_point(struct zr_tree *t, struct zr_u128 p)
{
    if (t->ip4) {
        if (array_reserve((void **)&t->pts4, &t->ptcap, t->npts + 1, sizeof(*t->pts4), 4096) < 0)
            return ERR_NOMEM;
        t->pts4[t->npts++] = (uint32_t)p.lo;
        return 0;
    }
    if (array_reserve((void **)&t->pts, &t->ptcap, t->npts + 1, sizeof(*t->pts), 1024) < 0)
        return ERR_NOMEM;
    t->pts[t->npts++] = p;
    return 0;
}

static struct zr_u128 zr_start(const struct zr_tree *t, size_t k)
{
    return t->ip4 ? (struct zr_u128){0, t->start4[k]} : t->start[k];
}

/* A range [first, last] of width bits: its first address and the one
 * after it are where answers may change. */
static int zr_tree_range(struct zr_tree *t, struct zr_u128 first, struct zr_u128 last,
                         unsigned width)
{
    int rc = zr_tree_point(t, first);
    struct zr_u128 max = u_low(width);
    if (rc == 0 && u_cmp(last, max) < 0)
        rc = zr_tree_point(t, u_add1(last));
    return rc;
}

static int zr_walk_family(struct ds_walk *w, unsigned family)
{
    struct zr_space *s;
    int rc = zr_walker_space(zr_walker_of(w), &s);
    if (rc == 0)
        s->families |= family;
    return rc;
}

static int zr_walk_ip4(struct ds_walk *w, uint32_t first, uint32_t last)
{
    struct zr_space *s;
    int rc = zr_walker_space(zr_walker_of(w), &s);
    if (rc)
        return rc;
    s->families |= DS_FAM_IP4;
    return zr_tree_range(&s->t4, (struct zr_u128){0, first}, (struct zr_u128){0, last}, 32);
}

static int zr_walk_ip6(struct ds_walk *w, const uint8_t first[16], const uint8_t last[16])
{
    struct zr_space *s;
    int rc = zr_walker_space(zr_walker_of(w), &s);
    if (rc)
        return rc;
    s->families |= DS_FAM_IP6;
    return zr_tree_range(&s->t6, u_from16(first), u_from16(last), 128);
}

/* Add a name (wire labels relative to the apex, no root) to the
 * candidates, as its reversed-label key. */
static int zr_name_add(struct zrec *z, const uint8_t *sub, size_t sublen, uint8_t flags)
{
    uint8_t low[NAME_MAXWIRE];
    if (sublen == 0 || sublen + z->apex_len > NAME_MAXWIRE)
        return 0; /* the apex is asked on its own; a name too long cannot be asked */
    /* Fold letters only, not length bytes: walk the labels. */
    memcpy(low, sub, sublen);
    for (size_t p = 0; p < sublen; p += (size_t)sub[p] + 1)
        for (size_t k = p + 1; k <= p + sub[p] && k < sublen; k++)
            if (low[k] >= 'A' && low[k] <= 'Z')
                low[k] = (uint8_t)(low[k] + 32);
    if (array_reserve((void **)&z->names, &z->namecap, z->nnames + 1, sizeof(*z->names), 256) < 0 ||
        array_reserve((void **)&z->keys, &z->keycap, z->keylen + sublen, 1, 4096) < 0)
        return ERR_NOMEM;
    if (z->keylen + sublen > UINT32_MAX)
        return ERR_LIMIT;
    dnkey_from_name(low, sublen, z->keys + z->keylen);
    z->names[z->nnames++] = (struct zr_name){(uint32_t)z->keylen, (uint8_t)sublen, flags, 0};
    z->keylen += sublen;
    return 0;
}

static int zr_walk_name(struct ds_walk *w, const uint8_t *sub, size_t sublen, bool below)
{
    struct zr_walker *wk = zr_walker_of(w);
    uint8_t full[2 * NAME_MAXWIRE];
    size_t plen = wk->plen[wk->depth];
    if (sublen + plen >= NAME_MAXWIRE)
        return 0;
    memcpy(full, sub, sublen);
    memcpy(full + sublen, wk->prefix[wk->depth], plen);
    return zr_name_add(wk->z, full, sublen + plen, below ? ZN_BELOW : 0);
}

static int zr_walk_enter(struct ds_walk *w, const uint8_t *sub, size_t sublen)
{
    struct zr_walker *wk = zr_walker_of(w);
    size_t plen = wk->plen[wk->depth];
    if (wk->depth == ZR_MAX_DEPTH || sublen + plen >= NAME_MAXWIRE)
        return ERR_LIMIT;
    uint8_t *np = wk->prefix[wk->depth + 1];
    memcpy(np, sub, sublen);
    memcpy(np + sublen, wk->prefix[wk->depth], plen);
    wk->depth++;
    wk->plen[wk->depth] = sublen + plen;
    wk->cur = NULL;
    return 0;
}

static void zr_walk_leave(struct ds_walk *w)
{
    struct zr_walker *wk = zr_walker_of(w);
    if (wk->depth > 0)
        wk->depth--;
    wk->cur = NULL;
}

/* ---- planning the address trees -------------------------------------------- */

static int zr_u128_cmp(const void *a, const void *b)
{
    return u_cmp(*(const struct zr_u128 *)a, *(const struct zr_u128 *)b);
}

static size_t zr_unique(struct zr_u128 *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), zr_u128_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || u_cmp(v[w - 1], v[i]) != 0)
            v[w++] = v[i];
    return w;
}

/* The name of an address or of a prefix (`level` bits) of it: its labels
 * from the last one given, then the space's labels. Returns the length. */
static size_t zr_addr_labels(const struct zr_fam *f, struct zr_u128 a, unsigned level,
                             const struct zr_space *s, uint8_t *out)
{
    size_t pos = 0;
    for (unsigned u = level / f->step; u-- > 0;) {
        unsigned v = u_bits(a, f->width - f->step * (u + 1), f->step);
        if (f->width == 32) {
            /* Decimal, no leading zeros (no printf: millions of them). */
            uint8_t n = v >= 100 ? 3 : v >= 10 ? 2 : 1;
            out[pos++] = n;
            for (unsigned k = n; k-- > 0; v /= 10)
                out[pos + k] = (uint8_t)('0' + v % 10);
            pos += n;
        } else {
            out[pos++] = 1;
            out[pos++] = (uint8_t) "0123456789abcdef"[v];
        }
    }
    memcpy(out + pos, s->sub, s->sublen);
    return pos + s->sublen;
}

/* The stretch holding a, searched in [lo, hi]. */
static size_t zr_find(const struct zr_tree *t, struct zr_u128 a, size_t lo, size_t hi)
{
    /* The last k in [lo, hi] with start[k] <= a. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (u_cmp(zr_start(t, mid), a) <= 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static struct zr_u128 zr_end(const struct zr_tree *t, size_t k, const struct zr_fam *f)
{
    if (k + 1 < t->n) {
        struct zr_u128 e = zr_start(t, k + 1);
        if (e.lo-- == 0)
            e.hi--;
        return e;
    }
    return u_low(f->width);
}

/* The answers of every stretch: one query at its first address. */
static int zr_tree_plan(struct zrec *z, struct zr_space *s, const struct zr_fam *f,
                        struct zr_tree *t, struct zr_found *found)
{
    /* The RFC 5782 test entries: 127.0.0.2 listed, 127.0.0.1 not. */
    struct zr_u128 test =
        f->width == 32 ? (struct zr_u128){0, 0x7f000000u} : (struct zr_u128){0, 0xffff7f000000ull};
    int rc = zr_tree_point(t, (struct zr_u128){0, 0});
    for (unsigned k = 1; k <= 3 && rc == 0; k++)
        rc = zr_tree_point(t, (struct zr_u128){test.hi, test.lo + k});
    if (rc)
        return rc;
    if (t->ip4) {
        /* Millions of them: sorted by radix, not by comparisons. */
        uint32_t *tmp = malloc(t->npts * sizeof(*tmp));
        if (!tmp || radix_sort32(t->pts4, tmp, t->npts) < 0) {
            free(tmp);
            return ERR_NOMEM;
        }
        free(tmp);
        t->npts = radix_unique32(t->pts4, t->npts);
        t->start4 = malloc(t->npts * sizeof(*t->start4));
    } else {
        t->npts = zr_unique(t->pts, t->npts);
        t->start = malloc(t->npts * sizeof(*t->start));
    }
    t->nforced = zr_unique(t->forced, t->nforced);
    t->ans = malloc(t->npts * sizeof(*t->ans));
    if ((!t->start && !t->start4) || !t->ans)
        return ERR_NOMEM;
    uint8_t sub[NAME_MAXWIRE + 64];
    for (size_t i = 0; i < t->npts; i++) {
        struct zr_u128 pt = t->ip4 ? (struct zr_u128){0, t->pts4[i]} : t->pts[i];
        size_t len = zr_addr_labels(f, pt, f->width, s, sub);
        if (len + z->apex_len > NAME_MAXWIRE)
            return zr_fail(z, ERR_LIMIT, "a subzone name is too long for its addresses");
        uint32_t id;
        if ((rc = zr_resolve(z, sub, len, found)) < 0 || (rc = zr_intern(z, found, &id)) < 0)
            return rc;
        /* Neighbours with the same answer are one stretch: what is
         * written depends on the answers only, not on how the data
         * happened to cut them. */
        if (t->n > 0 && t->ans[t->n - 1] == id)
            continue;
        if (t->ip4)
            t->start4[t->n] = (uint32_t)pt.lo;
        else
            t->start[t->n] = pt;
        t->ans[t->n++] = id;
    }
    free(t->pts);
    free(t->pts4);
    t->pts = NULL;
    t->pts4 = NULL;
    t->npts = t->ptcap = 0;
    return 0;
}

/* ---- writing: counting or emitting ------------------------------------------ */

struct zr_out_rr {
    uint16_t type;
    uint16_t rdlen;
    uint32_t ttl;
    const uint8_t *rdata;
};

struct zr_emitter {
    const struct zrec *z;
    bool counting;
    uint64_t max; /* counting: stop past this */
    struct zrec_stats st;
    zrec_fn fn;
    void *arg;
    double *cov; /* per answer id: addresses covered in a node (scratch) */
    uint32_t *touched;
    size_t ntouched;
    struct zr_found found;
    struct zr_out_rr rr[ZR_MAX_RR];
    unsigned nrr;
    uint8_t pool[ZR_RDPOOL];
    size_t poollen;
};

/* Hand one owner's records over: every record of a type with the
 * smallest TTL among them, as a zone's RRset has one TTL. */
static int zr_flush(struct zr_emitter *e, const uint8_t *sub, size_t sublen, bool wild)
{
    if (e->nrr == 0)
        return 0;
    e->st.names++;
    e->st.wildcards += wild;
    e->st.records += e->nrr;
    if (e->counting) {
        e->nrr = 0;
        e->poollen = 0;
        if (e->max && e->st.records > e->max)
            return ERR_LIMIT;
        return 0;
    }
    uint8_t owner[NAME_MAXWIRE + 2];
    size_t olen = 0;
    const struct zrec *z = e->z;
    if (wild) {
        owner[olen++] = 1;
        owner[olen++] = '*';
    }
    if (olen + sublen + z->apex_len > NAME_MAXWIRE) {
        e->nrr = 0;
        e->poollen = 0;
        return 0;
    }
    if (sublen)
        memcpy(owner + olen, sub, sublen);
    olen += sublen;
    memcpy(owner + olen, z->apex, z->apex_len);
    olen += z->apex_len;
    for (unsigned i = 0; i < e->nrr; i++)
        for (unsigned k = 0; k < e->nrr; k++)
            if (e->rr[k].type == e->rr[i].type && e->rr[k].ttl < e->rr[i].ttl)
                e->rr[i].ttl = e->rr[k].ttl;
    int rc = 0;
    for (unsigned i = 0; i < e->nrr && rc == 0; i++) {
        struct zrec_rr r = {owner,        olen,           e->rr[i].type,
                            e->rr[i].ttl, e->rr[i].rdata, e->rr[i].rdlen};
        rc = e->fn(&r, e->arg);
    }
    e->nrr = 0;
    e->poollen = 0;
    return rc;
}

/* Queue one record; TXT templates are rendered with subject. */
static void zr_queue(struct zr_emitter *e, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                     uint16_t rdlen, const char *subj, size_t slen)
{
    if (e->nrr == ZR_MAX_RR)
        return;
    if (e->counting) {
        e->nrr++;
        return;
    }
    struct zr_out_rr *o = &e->rr[e->nrr];
    o->type = type;
    o->ttl = ttl;
    if (type == DNS_TYPE_TXT) {
        int n = zrec_txt_render((const char *)rdata, rdlen, subj, slen, e->pool + e->poollen,
                                sizeof(e->pool) - e->poollen);
        if (n < 0) {
            e->st.inexact++; /* the server cannot send it either */
            return;
        }
        o->rdata = e->pool + e->poollen;
        o->rdlen = (uint16_t)n;
        e->poollen += (size_t)n;
    } else {
        o->rdata = rdata;
        o->rdlen = rdlen;
    }
    /* Two templates may render alike: one record then, as in a zone. */
    for (unsigned k = 0; k < e->nrr; k++)
        if (e->rr[k].type == o->type && e->rr[k].rdlen == o->rdlen &&
            memcmp(e->rr[k].rdata, o->rdata, o->rdlen) == 0)
            return;
    e->nrr++;
}

/* Queue what the zone answers for one name, asked now. */
static int zr_queue_found(struct zr_emitter *e, const struct zr_found *f)
{
    for (unsigned i = 0; i < f->n; i++)
        zr_queue(e, f->rr[i].type, f->rr[i].ttl, f->rr[i].rdata, f->rr[i].rdlen,
                 f->subj + f->rr[i].subj_off, f->rr[i].subj_len);
    return 0;
}

/* Queue an interned answer; '$' becomes subject. */
static void zr_queue_ans(struct zr_emitter *e, uint32_t id, const char *subj, size_t slen)
{
    const struct zrec *z = e->z;
    const struct zr_ans *a = &z->ans[id];
    for (uint32_t i = 0; i < a->n; i++) {
        const struct zr_arec *r = &z->arec[a->first + i];
        zr_queue(e, r->type, r->ttl, z->bytes + r->off, r->len, subj, slen);
    }
}

/* One address with a name of its own. */
static int zr_leaf(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                   struct zr_u128 a, uint32_t id)
{
    uint8_t sub[NAME_MAXWIRE + 64];
    size_t len = zr_addr_labels(f, a, f->width, s, sub);
    if (!e->z->ans[id].dep || e->counting) {
        zr_queue_ans(e, id, "", 0);
    } else {
        /* Ask again: the TXT names this very address. */
        int rc = zr_resolve(e->z, sub, len, &e->found);
        if (rc)
            return rc;
        zr_queue_found(e, &e->found);
    }
    return zr_flush(e, sub, len, false);
}

/* A wildcard for the prefix a/level. */
static int zr_wild(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                   struct zr_u128 a, unsigned level, uint32_t id)
{
    uint8_t sub[NAME_MAXWIRE + 64];
    size_t len = zr_addr_labels(f, a, level, s, sub);
    char range[ADDR_IP6_STRLEN + 8] = "";
    size_t rlen = 0;
    if (e->z->ans[id].dep) {
        /* Only IPv6 gets here: its TXT names the range. */
        uint8_t b[16];
        u_to16(a, b);
        int n = addr_ip6_format(b, range);
        if (n > 0)
            rlen = (size_t)n + (size_t)snprintf(range + n, sizeof(range) - (size_t)n, "/%u", level);
        e->st.range_txt++;
    }
    zr_queue_ans(e, id, range, rlen);
    return zr_flush(e, sub, len, true);
}

static bool zr_forced_in(const struct zr_tree *t, struct zr_u128 lo, struct zr_u128 hi,
                         size_t *first)
{
    size_t a = 0, b = t->nforced;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (u_cmp(t->forced[mid], lo) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    if (first)
        *first = a;
    return a < t->nforced && u_cmp(t->forced[a], hi) <= 0;
}

/* Names of their own for the forced addresses in [lo, hi], all answering
 * id there. */
static int zr_forced(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                     const struct zr_tree *t, struct zr_u128 lo, struct zr_u128 hi, uint32_t id)
{
    size_t k;
    if (id == 0 || !zr_forced_in(t, lo, hi, &k))
        return 0;
    for (; k < t->nforced && u_cmp(t->forced[k], hi) <= 0; k++) {
        int rc = zr_leaf(e, s, f, t->forced[k], id);
        if (rc)
            return rc;
    }
    return 0;
}

/* The answer a wildcard over [lo, hi] (stretches i..j) should give: the
 * one covering most addresses among those a wildcard can carry (first
 * come on a tie); 0 when some address there answers nothing, which only
 * names can say. */
static uint32_t zr_dominant(struct zr_emitter *e, const struct zr_fam *f, const struct zr_tree *t,
                            struct zr_u128 lo, struct zr_u128 hi, size_t i, size_t j)
{
    const struct zrec *z = e->z;
    for (size_t k = i; k <= j; k++)
        if (t->ans[k] == 0)
            return 0;
    uint32_t best = 0;
    double bestcov = 0;
    e->ntouched = 0;
    for (size_t k = i; k <= j; k++) {
        uint32_t id = t->ans[k];
        if (z->ans[id].dep && f->width == 32)
            continue;
        struct zr_u128 a = u_cmp(zr_start(t, k), lo) < 0 ? lo : zr_start(t, k);
        struct zr_u128 b = zr_end(t, k, f);
        if (u_cmp(b, hi) > 0)
            b = hi;
        double n = ((double)b.hi - (double)a.hi) * 18446744073709551616.0 +
                   ((double)b.lo - (double)a.lo) + 1;
        if (e->cov[id] == 0)
            e->touched[e->ntouched++] = id;
        e->cov[id] += n;
        if (e->cov[id] > bestcov) {
            bestcov = e->cov[id];
            best = id;
        }
    }
    for (size_t k = 0; k < e->ntouched; k++)
        e->cov[e->touched[k]] = 0;
    return best;
}

static int zr_node(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                   const struct zr_tree *t, struct zr_u128 p, unsigned level, uint32_t inherit,
                   size_t lo_k, size_t hi_k);

/* The children of prefix p/level, skipping runs that the answer of the
 * enclosing wildcard (inherit) already gives. */
static int zr_children(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                       const struct zr_tree *t, struct zr_u128 p, unsigned level, uint32_t inherit,
                       size_t i, size_t j)
{
    unsigned n = 1u << f->step, cl = level + f->step, shift = f->width - cl;
    struct zr_u128 last = u_or(p, u_low(f->width - level));
    for (unsigned c = 0; c < n;) {
        struct zr_u128 cp = u_or(p, u_shl(c, shift));
        struct zr_u128 cend = u_or(cp, u_low(shift));
        size_t k = zr_find(t, cp, i, j);
        struct zr_u128 kend = zr_end(t, k, f);
        if (u_cmp(kend, cend) >= 0 && t->ans[k] == inherit &&
            !zr_forced_in(t, cp, u_cmp(kend, last) < 0 ? kend : last, NULL)) {
            /* Nothing to write until this stretch ends. */
            if (u_cmp(kend, last) >= 0)
                break;
            unsigned next = u_bits(u_add1(kend), shift, f->step);
            /* The first child after the stretch's end: the one holding
             * kend + 1 (kend ends a child, or lies inside one that is
             * then written in full). */
            if (next <= c)
                next = c + 1;
            c = next;
            continue;
        }
        int rc = zr_node(e, s, f, t, cp, cl, inherit, k, j);
        if (rc)
            return rc;
        c++;
    }
    return 0;
}

/* Write what prefix p/level needs, when names above it leave its
 * addresses to the answer `inherit` (a wildcard's, or 0). The stretches
 * of its addresses lie in lo_k..hi_k. */
static int zr_node(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                   const struct zr_tree *t, struct zr_u128 p, unsigned level, uint32_t inherit,
                   size_t lo_k, size_t hi_k)
{
    struct zr_u128 last = u_or(p, u_low(f->width - level));
    size_t i = zr_find(t, p, lo_k, hi_k), j = zr_find(t, last, i, hi_k);
    int rc;
    if (i == j) {
        uint32_t a = t->ans[i];
        if (a == inherit)
            return zr_forced(e, s, f, t, p, last, a);
        if (level == f->width)
            return a ? zr_leaf(e, s, f, p, a) : 0;
        if (a == 0) {
            /* Under a wildcard nothing can say NXDOMAIN (zr_dominant
             * refuses a wildcard over such addresses). */
            e->st.inexact++;
            return 0;
        }
        if (zr_wild_ok(f, level) && (!e->z->ans[a].dep || f->width == 128)) {
            if ((rc = zr_wild(e, s, f, p, level, a)) != 0)
                return rc;
            return zr_forced(e, s, f, t, p, last, a);
        }
        return zr_children(e, s, f, t, p, level, 0, i, j);
    }
    uint32_t w = 0;
    if (zr_wild_ok(f, level) && (w = zr_dominant(e, f, t, p, last, i, j)) != 0 &&
        (rc = zr_wild(e, s, f, p, level, w)) != 0)
        return rc;
    return zr_children(e, s, f, t, p, level, w, i, j);
}

static int zr_tree_emit(struct zr_emitter *e, const struct zr_space *s, const struct zr_fam *f,
                        const struct zr_tree *t)
{
    if (t->n == 0)
        return 0;
    return zr_node(e, s, f, t, (struct zr_u128){0, 0}, 0, 0, 0, t->n - 1);
}

/* ---- the names family ------------------------------------------------------ */

static int zr_key_cmp(const void *a, const void *b, void *arg)
{
    const struct zr_name *x = a, *y = b;
    const uint8_t *keys = arg;
    return dnkey_cmp(keys + x->off, x->len, keys + y->off, y->len);
}

/* A name's wire labels back from its key. */
static size_t zr_name_wire(const struct zrec *z, const struct zr_name *n, uint8_t *out)
{
    return dnkey_from_name(z->keys + n->off, n->len, out);
}

/* One decimal octet label as the server's query decoding reads it, and
 * as names write it: no leading zeros, 0..255. */
static bool zr_octet(const uint8_t *l, unsigned len, uint32_t *v)
{
    if (len < 1 || len > 3 || (len > 1 && l[0] == '0'))
        return false;
    uint32_t x = 0;
    for (unsigned i = 0; i < len; i++) {
        if (l[i] < '0' || l[i] > '9')
            return false;
        x = x * 10 + (uint32_t)(l[i] - '0');
    }
    *v = x;
    return x <= 255;
}

/* If the key's labels after `skip` bytes (a space's key) start with an
 * address of family f, put it in *a and say how many labels it took. */
static bool zr_key_addr(const uint8_t *key, size_t len, size_t skip, const struct zr_fam *f,
                        struct zr_u128 *a, size_t *used)
{
    unsigned units = f->width / f->step;
    struct zr_u128 v = {0, 0};
    size_t p = skip;
    for (unsigned u = 0; u < units; u++) {
        if (p >= len)
            return false;
        unsigned l = key[p];
        uint32_t x;
        if (f->width == 32) {
            if (!zr_octet(key + p + 1, l, &x))
                return false;
        } else {
            if (l != 1)
                return false;
            uint8_t c = key[p + 1];
            if (c >= '0' && c <= '9')
                x = c - '0';
            else if (c >= 'a' && c <= 'f')
                x = c - 'a' + 10;
            else
                return false;
        }
        v = u_or(v, u_shl(x, f->width - f->step * (u + 1)));
        p += 1 + l;
    }
    *a = v;
    *used = p;
    return true;
}

/* Names under an address tree's subzone that are addresses go to that
 * tree (one stretch of their own, and a name of their own); an address
 * with names below it needs a name of its own too, even under a
 * wildcard, since those names make it exist. */
static int zr_names_to_trees(struct zrec *z)
{
    for (size_t i = 0; i < z->nnames; i++) {
        struct zr_name *n = &z->names[i];
        const uint8_t *key = z->keys + n->off;
        for (size_t k = 0; k < z->nspaces; k++) {
            struct zr_space *s = &z->spaces[k];
            uint8_t skey[NAME_MAXWIRE];
            if (s->sublen >= n->len)
                continue;
            dnkey_from_name(s->sub, s->sublen, skey);
            if (memcmp(key, skey, s->sublen) != 0)
                continue;
            static const struct zr_fam *const fams[2] = {&zr_fam4, &zr_fam6};
            for (unsigned fi = 0; fi < 2; fi++) {
                const struct zr_fam *f = fams[fi];
                struct zr_tree *t = fi == 0 ? &s->t4 : &s->t6;
                struct zr_u128 a;
                size_t used;
                if (!(s->families & f->fam) || !zr_key_addr(key, n->len, s->sublen, f, &a, &used))
                    continue;
                int rc = 0;
                if (used == n->len) {
                    n->flags |= ZN_SKIP;
                    rc = zr_tree_range(t, a, a, f->width);
                }
                if (rc == 0 && array_reserve((void **)&t->forced, &t->fcap, t->nforced + 1,
                                             sizeof(*t->forced), 16) < 0)
                    rc = ERR_NOMEM;
                if (rc)
                    return rc;
                t->forced[t->nforced++] = a;
            }
        }
    }
    return 0;
}

/* The candidates sorted, merged, with every ancestor added, and each
 * one's parent found. */
static int zr_names_sort(struct zrec *z)
{
    size_t n0 = z->nnames;
    for (size_t i = 0; i < n0; i++) {
        /* Ancestors: the key's prefixes at label boundaries. */
        size_t p = 0;
        for (;;) {
            p += (size_t)z->keys[z->names[i].off + p] + 1;
            if (p >= z->names[i].len)
                break;
            if (array_reserve((void **)&z->names, &z->namecap, z->nnames + 1, sizeof(*z->names),
                              256) < 0)
                return ERR_NOMEM;
            z->names[z->nnames++] = (struct zr_name){z->names[i].off, (uint8_t)p, 0, UINT32_MAX};
        }
    }
    if (z->nnames > 1)
        qsort_r(z->names, z->nnames, sizeof(*z->names), zr_key_cmp, z->keys);
    size_t w = 0;
    for (size_t i = 0; i < z->nnames; i++) {
        if (w > 0 && zr_key_cmp(&z->names[w - 1], &z->names[i], z->keys) == 0) {
            z->names[w - 1].flags |= z->names[i].flags;
            continue;
        }
        z->names[w++] = z->names[i];
    }
    z->nnames = w;
    /* In this order a name's ancestors come before it, and every one of
     * them is in the list: a stack of the names enclosing the current one
     * gives its parent. */
    uint32_t stack[NAME_MAXLABELS + 1];
    unsigned depth = 0;
    for (size_t i = 0; i < z->nnames; i++) {
        struct zr_name *n = &z->names[i];
        while (depth > 0) {
            const struct zr_name *top = &z->names[stack[depth - 1]];
            /* Keys are whole labels: a key that starts with another's
             * bytes starts with its labels. */
            if (top->len < n->len && memcmp(z->keys + top->off, z->keys + n->off, top->len) == 0)
                break;
            depth--;
        }
        n->parent = depth ? stack[depth - 1] : UINT32_MAX;
        if (n->parent != UINT32_MAX && (z->names[n->parent].flags & (ZN_BELOW | ZN_UNDER)))
            n->flags |= ZN_UNDER;
        if (depth <= NAME_MAXLABELS)
            stack[depth++] = (uint32_t)i;
    }
    return 0;
}

/* A label no data holds, to ask what the names under a name answer. */
static const uint8_t zr_probe_label[] = "\x09\xff"
                                        "dbk-any\xff";

/* Ask the zone about a fresh name under n ("*.n"'s answer). */
static int zr_resolve_below(const struct zrec *z, const struct zr_name *n, struct zr_found *f,
                            bool *ok)
{
    uint8_t sub[NAME_MAXWIRE + 16];
    size_t plen = sizeof(zr_probe_label) - 1;
    *ok = false;
    if (plen + n->len + z->apex_len > NAME_MAXWIRE)
        return 0;
    memcpy(sub, zr_probe_label, plen);
    size_t len = zr_name_wire(z, n, sub + plen);
    *ok = true;
    return zr_resolve(z, sub, plen + len, f);
}

/* Whether the list holds the probe name under n (data using the label). */
static bool zr_probe_taken(const struct zrec *z, const struct zr_name *n)
{
    uint8_t key[NAME_MAXWIRE];
    size_t plen = sizeof(zr_probe_label) - 1;
    if (n->len + plen > NAME_MAXWIRE)
        return true;
    memcpy(key, z->keys + n->off, n->len);
    memcpy(key + n->len, zr_probe_label, plen);
    struct zr_name probe = {0, (uint8_t)(n->len + plen), 0, 0};
    size_t lo = 0, hi = z->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct zr_name *m = &z->names[mid];
        int c = dnkey_cmp(z->keys + m->off, m->len, key, probe.len);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* IPv4 and IPv6 names meet where every label is a decimal digit: IPv6
 * names under 2001::/16 make "1.0.0.2" exist, which hides a wildcard
 * "*.0.0.2" from the IPv4 address 2.0.0.1. Such an address gets a name of
 * its own (forced) when IPv6 addresses below that name answer. */
static int zr_trees_meet(struct zr_space *s)
{
    struct zr_tree *t4 = &s->t4, *t6 = &s->t6;
    if (t4->n == 0 || t6->n == 0)
        return 0;
    for (unsigned d = 0; d < 10000; d++) {
        unsigned n[4] = {d / 1000, d / 100 % 10, d / 10 % 10, d % 10};
        struct zr_u128 lo = {(uint64_t)(n[0] << 12 | n[1] << 8 | n[2] << 4 | n[3]) << 48, 0};
        struct zr_u128 hi = u_or(lo, u_low(112));
        size_t i = zr_find(t6, lo, 0, t6->n - 1), j = zr_find(t6, hi, i, t6->n - 1);
        bool any = false;
        for (size_t k = i; k <= j && !any; k++)
            any = t6->ans[k] != 0;
        if (!any)
            continue;
        if (array_reserve((void **)&t4->forced, &t4->fcap, t4->nforced + 1, sizeof(*t4->forced),
                          16) < 0)
            return ERR_NOMEM;
        t4->forced[t4->nforced++] =
            (struct zr_u128){0, (uint64_t)(n[0] << 24 | n[1] << 16 | n[2] << 8 | n[3])};
    }
    t4->nforced = zr_unique(t4->forced, t4->nforced);
    return 0;
}

static int zr_names_plan(struct zrec *z, struct zr_found *f)
{
    int rc;
    uint8_t sub[NAME_MAXWIRE];
    /* What each name answers, and the wildcards its entries ask for. */
    for (size_t i = 0; i < z->nnames; i++) {
        struct zr_name *n = &z->names[i];
        if (n->flags & ZN_SKIP)
            continue;
        size_t len = zr_name_wire(z, n, sub);
        if ((rc = zr_resolve(z, sub, len, f)) < 0)
            return rc;
        if (f->n)
            n->flags |= ZN_EMIT;
        else if (f->exists)
            n->flags |= ZN_NODATA;
        if (n->flags & ZN_BELOW && !zr_probe_taken(z, n)) {
            bool ok;
            if ((rc = zr_resolve_below(z, n, f, &ok)) < 0)
                return rc;
            if (ok && f->n)
                n->flags |= ZN_WILD;
        }
    }
    /* Which names exist once written: those with records or a wildcard,
     * and their ancestors (in reverse order, children first). */
    for (size_t i = z->nnames; i-- > 0;) {
        struct zr_name *n = &z->names[i];
        if (n->flags & (ZN_EMIT | ZN_WILD | ZN_SKIP))
            n->flags |= ZN_EXISTS;
        if ((n->flags & ZN_EXISTS) && n->parent != UINT32_MAX)
            z->names[n->parent].flags |= ZN_EXISTS;
    }
    /* A name dnsblkit answers NODATA for (an exclusion under a wildcard)
     * exists in a zone only with something below it: a wildcard with what
     * dnsblkit answers there does it, when that is an answer. */
    for (size_t i = 0; i < z->nnames; i++) {
        struct zr_name *n = &z->names[i];
        if ((n->flags & (ZN_NODATA | ZN_EXISTS | ZN_SKIP)) != ZN_NODATA || zr_probe_taken(z, n))
            continue;
        bool ok;
        if ((rc = zr_resolve_below(z, n, f, &ok)) < 0)
            return rc;
        if (!ok || !f->n)
            continue;
        n->flags |= ZN_WILD;
        for (uint32_t k = (uint32_t)i; k != UINT32_MAX; k = z->names[k].parent)
            z->names[k].flags |= ZN_EXISTS;
    }
    /* A name that exists under a wildcard hides it from the names below
     * it (RFC 4592 closest encloser): such a name needs a wildcard of its
     * own with what dnsblkit answers there. */
    for (size_t i = 0; i < z->nnames; i++) {
        struct zr_name *n = &z->names[i];
        if ((n->flags & (ZN_UNDER | ZN_EXISTS | ZN_WILD | ZN_SKIP)) != (ZN_UNDER | ZN_EXISTS) ||
            zr_probe_taken(z, n))
            continue;
        bool ok;
        if ((rc = zr_resolve_below(z, n, f, &ok)) < 0)
            return rc;
        if (ok && f->n)
            n->flags |= ZN_WILD;
    }
    return 0;
}

static int zr_names_emit(struct zr_emitter *e)
{
    const struct zrec *z = e->z;
    uint8_t sub[NAME_MAXWIRE];
    for (size_t i = 0; i < z->nnames; i++) {
        const struct zr_name *n = &z->names[i];
        if ((n->flags & ZN_NODATA) && !(n->flags & ZN_EXISTS))
            e->st.inexact++;
        if (n->flags & ZN_SKIP)
            continue;
        size_t len = zr_name_wire(z, n, sub);
        int rc;
        if (n->flags & ZN_EMIT) {
            if ((rc = zr_resolve(z, sub, len, &e->found)) < 0)
                return rc;
            zr_queue_found(e, &e->found);
            if ((rc = zr_flush(e, sub, len, false)) != 0)
                return rc;
        }
        if (n->flags & ZN_WILD) {
            bool ok;
            if ((rc = zr_resolve_below(z, n, &e->found, &ok)) < 0)
                return rc;
            zr_queue_found(e, &e->found);
            if ((rc = zr_flush(e, sub, len, true)) != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- putting it together ---------------------------------------------------- */

static int zr_run(const struct zrec *z, struct zr_emitter *e)
{
    /* The apex's own records (generic "@"). */
    static const uint8_t none[1] = {0};
    int rc = zr_resolve(z, none, 0, &e->found);
    if (rc < 0)
        return rc;
    zr_queue_found(e, &e->found);
    if ((rc = zr_flush(e, none, 0, false)) != 0)
        return rc;
    if ((rc = zr_names_emit(e)) != 0)
        return rc;
    for (size_t i = 0; i < z->nspaces; i++) {
        const struct zr_space *s = &z->spaces[i];
        if ((rc = zr_tree_emit(e, s, &zr_fam4, &s->t4)) != 0 ||
            (rc = zr_tree_emit(e, s, &zr_fam6, &s->t6)) != 0)
            return rc;
    }
    return 0;
}

static struct zr_emitter *zr_emitter_new(const struct zrec *z)
{
    struct zr_emitter *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->z = z;
    e->cov = calloc(z->nans ? z->nans : 1, sizeof(*e->cov));
    e->touched = malloc((z->nans ? z->nans : 1) * sizeof(*e->touched));
    if (!e->cov || !e->touched) {
        free(e->cov);
        free(e->touched);
        free(e);
        return NULL;
    }
    return e;
}

static void zr_emitter_free(struct zr_emitter *e)
{
    if (!e)
        return;
    free(e->cov);
    free(e->touched);
    free(e);
}

static int zr_walk_all(struct zrec *z)
{
    struct zr_walker wk = {.w = {.family = zr_walk_family,
                                 .ip4 = zr_walk_ip4,
                                 .ip6 = zr_walk_ip6,
                                 .name = zr_walk_name,
                                 .enter = zr_walk_enter,
                                 .leave = zr_walk_leave},
                           .z = z};
    for (unsigned d = 0; d < z->nds; d++) {
        wk.depth = 0;
        wk.plen[0] = 0;
        wk.cur = NULL;
        int rc = dataset_walk(z->ds[d], &wk.w);
        if (rc == ERR_UNSUPP)
            return zr_fail(z, rc, "dataset %s (type %s) cannot be transferred",
                           z->ds[d]->spec ? z->ds[d]->spec : "?", z->ds[d]->ops->name);
        if (rc)
            return rc;
    }
    /* The test entries of the names family: TEST listed, INVALID not. */
    for (size_t i = 0; i < z->nspaces; i++) {
        struct zr_space *s = &z->spaces[i];
        if (!(s->families & DS_FAM_NAME))
            continue;
        static const char *const tests[2] = {"\x04test", "\x07invalid"};
        for (unsigned k = 0; k < 2; k++) {
            uint8_t sub[NAME_MAXWIRE + 8];
            size_t tl = strlen(tests[k]);
            if (tl + s->sublen >= NAME_MAXWIRE)
                continue;
            memcpy(sub, tests[k], tl);
            memcpy(sub + tl, s->sub, s->sublen);
            int rc = zr_name_add(z, sub, tl + s->sublen, 0);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int zrec_plan(const uint8_t *apex, struct dataset *const *ds, unsigned nds,
              const struct zrec_opts *o, struct zrec **out, char *why, size_t whysz)
{
    *out = NULL;
    if (why && whysz)
        why[0] = '\0';
    struct zrec *z = calloc(1, sizeof(*z));
    if (!z)
        return ERR_NOMEM;
    z->why = why;
    z->whysz = whysz;
    z->apex_len = name_wire_len(apex);
    memcpy(z->apex, apex, z->apex_len);
    name_lower(z->apex);
    z->ds = ds;
    z->nds = nds;
    z->o = *o;
    if (z->o.ttl_max == 0)
        z->o.ttl_max = UINT32_MAX;
    struct zr_found *found = malloc(sizeof(*found));
    struct zr_emitter *e = NULL;
    int rc = found ? 0 : ERR_NOMEM;
    /* ans[0]: no records. */
    if (rc == 0 && array_reserve((void **)&z->ans, &z->anscap, 1, sizeof(*z->ans), 64) < 0)
        rc = ERR_NOMEM;
    if (rc == 0) {
        memset(&z->ans[0], 0, sizeof(z->ans[0]));
        z->nans = 1;
        rc = zr_walk_all(z);
    }
    /* Every name and ancestor first: an address among them belongs to
     * its subzone's tree. */
    if (rc == 0)
        rc = zr_names_sort(z);
    if (rc == 0)
        rc = zr_names_to_trees(z);
    for (size_t i = 0; i < z->nspaces && rc == 0; i++) {
        struct zr_space *s = &z->spaces[i];
        if (s->families & DS_FAM_IP4)
            rc = zr_tree_plan(z, s, &zr_fam4, &s->t4, found);
        if (rc == 0 && (s->families & DS_FAM_IP6))
            rc = zr_tree_plan(z, s, &zr_fam6, &s->t6, found);
        if (rc == 0)
            rc = zr_trees_meet(s);
    }
    if (rc == 0)
        rc = zr_names_plan(z, found);
    /* Count what would be written, stopping past the cap. */
    if (rc == 0 && !(e = zr_emitter_new(z)))
        rc = ERR_NOMEM;
    if (rc == 0) {
        e->counting = true;
        e->max = z->o.max_records;
        rc = zr_run(z, e);
        z->st = e->st;
        if (rc == ERR_LIMIT)
            zr_fail(z, rc,
                    "more than %llu records (ranges whose TXT names the address take one "
                    "name per address)",
                    (unsigned long long)z->o.max_records);
    }
    zr_emitter_free(e);
    free(found);
    z->why = NULL;
    z->whysz = 0;
    if (rc) {
        if (why && whysz && !why[0])
            snprintf(why, whysz, "%s", err_str(rc));
        zrec_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

const struct zrec_stats *zrec_stats(const struct zrec *z)
{
    return &z->st;
}

int zrec_emit(const struct zrec *z, zrec_fn fn, void *arg)
{
    struct zr_emitter *e = zr_emitter_new(z);
    if (!e)
        return ERR_NOMEM;
    e->fn = fn;
    e->arg = arg;
    int rc = zr_run(z, e);
    zr_emitter_free(e);
    return rc;
}

void zrec_free(struct zrec *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->nspaces; i++) {
        struct zr_tree *ts[2] = {&z->spaces[i].t4, &z->spaces[i].t6};
        for (unsigned k = 0; k < 2; k++) {
            free(ts[k]->pts);
            free(ts[k]->pts4);
            free(ts[k]->start4);
            free(ts[k]->forced);
            free(ts[k]->start);
            free(ts[k]->ans);
        }
    }
    free(z->spaces);
    free(z->keys);
    free(z->names);
    free(z->arec);
    free(z->bytes);
    free(z->ans);
    free(z->atab);
    free(z);
}
