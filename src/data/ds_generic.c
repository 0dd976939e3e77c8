/* The generic dataset type: plain records (A, TXT, MX, and AAAA as an
 * extension) at names relative to the zone, one per line in a simplified
 * BIND syntax: "name [ttl] [IN] type data", "@" for the zone apex. */
#include "common/addr.h"
#include "common/err.h"
#include "common/name.h"
#include "data/array.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/dnkey.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TXT_MAX 255 /* one character-string, as rbldnsd answers it */

struct generic_rr {
    uint32_t key_off; /* owner name, labels reversed, into generic.keys */
    uint8_t key_len;  /* 0 = the zone apex */
    uint16_t type;
    uint16_t rdlen;
    uint32_t ttl;
    uint32_t rdata_off; /* into generic.data */
    uint32_t seq;       /* line order */
};

struct generic {
    struct generic_rr *rr;
    size_t n, cap;
    uint8_t *keys;
    size_t keylen, keycap;
    uint8_t *data;
    size_t datalen, datacap;
};

static int generic_create(struct dataset *ds)
{
    struct generic *g = ds->priv;
    /* Non-NULL buffers from the start: apex records add no key bytes. */
    g->keys = malloc(64);
    g->data = malloc(256);
    if (!g->keys || !g->data)
        return ERR_NOMEM;
    g->keycap = 64;
    g->datacap = 256;
    return 0;
}

static void generic_destroy(struct dataset *ds)
{
    struct generic *g = ds->priv;
    free(g->rr);
    free(g->keys);
    free(g->data);
}

/* Append n bytes to a growable buffer; *off gets where they went. */
static int buf_append(uint8_t **buf, size_t *len, size_t *cap, const void *src, size_t n,
                      uint32_t *off)
{
    if (*len + n > UINT32_MAX)
        return ERR_RANGE;
    *off = (uint32_t)*len;
    if (n == 0)
        return 0;
    if (array_reserve((void **)buf, cap, *len + n, 1, 1024) < 0)
        return ERR_NOMEM;
    memcpy(*buf + *len, src, n);
    *len += n;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char *skip_blank(char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

/* Cut the next blank-separated word out of *s (NUL-terminating it). */
static char *next_word(char **s)
{
    char *w = *s, *p = w;
    while (*p && !is_blank(*p))
        p++;
    if (*p)
        *p++ = '\0';
    *s = skip_blank(p);
    return w;
}

/* A TTL as rbldnsd writes it: a number with an optional unit suffix
 * (s, m, h, d, w). */
static int parse_ttl(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return ERR_INVAL;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s++ - '0');
        if (v > UINT32_MAX)
            return ERR_RANGE;
    }
    switch (*s) {
    case '\0':
        break;
    case 's':
    case 'S':
        s++;
        break;
    case 'm':
    case 'M':
        v *= 60, s++;
        break;
    case 'h':
    case 'H':
        v *= 3600, s++;
        break;
    case 'd':
    case 'D':
        v *= 86400, s++;
        break;
    case 'w':
    case 'W':
        v *= 604800, s++;
        break;
    default:
        return ERR_INVAL;
    }
    if (*s || v > UINT32_MAX)
        return ERR_INVAL;
    *out = (uint32_t)v;
    return 0;
}

static bool rest_is_empty(const char *s)
{
    while (is_blank(*s))
        s++;
    return *s == '\0' || *s == '#' || *s == ';';
}

static int generic_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct generic *g = ds->priv;
    uint8_t wire[NAME_MAXWIRE], key[NAME_MAXWIRE];
    uint8_t rdata[2 * TXT_MAX + NAME_MAXWIRE];
    size_t wlen = 1, rdlen = 0;
    uint32_t ttl = ds->ttl;
    uint16_t type;
    int rc;

    /* Directives this type does not know reach it (it has no family). */
    if (line[0] == '$' || ((line[0] == '#' || line[0] == ':') && line[1] == '$'))
        return datafile_error(df, "unknown directive '%.40s'", line);
    char *s = line;
    char *owner = next_word(&s);
    if (strcmp(owner, "@") != 0) {
        if (name_from_text(owner, wire, &wlen) < 0 || wlen <= 1)
            return datafile_error(df, "invalid owner name '%s'", owner);
    }
    if (*s >= '0' && *s <= '9') {
        char *t = next_word(&s);
        if (parse_ttl(t, &ttl) < 0)
            return datafile_error(df, "invalid TTL '%s'", t);
    }
    char *tname = next_word(&s);
    if (strcasecmp(tname, "IN") == 0)
        tname = next_word(&s);
    if (!*tname)
        return datafile_error(df, "missing record type");

    if (strcasecmp(tname, "A") == 0) {
        uint32_t a;
        char *t = next_word(&s);
        if (addr_ip4_parse(t, &a) < 0 || !rest_is_empty(s))
            return datafile_error(df, "invalid A record data");
        rdata[0] = (uint8_t)(a >> 24), rdata[1] = (uint8_t)(a >> 16);
        rdata[2] = (uint8_t)(a >> 8), rdata[3] = (uint8_t)a;
        rdlen = 4;
        type = DNS_TYPE_A;
    } else if (strcasecmp(tname, "AAAA") == 0) {
        char *t = next_word(&s);
        if (addr_ip6_parse(t, rdata) < 0 || !rest_is_empty(s))
            return datafile_error(df, "invalid AAAA record data");
        rdlen = 16;
        type = DNS_TYPE_AAAA;
    } else if (strcasecmp(tname, "TXT") == 0) {
        size_t len = strlen(s);
        if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
            s++, len -= 2;
        if (len > TXT_MAX) {
            datafile_warn(df, "TXT record truncated to %d bytes", TXT_MAX);
            len = TXT_MAX;
        }
        /* Our TXT rdata is a template; this text is literal, so its '$'
         * must not stand for the query subject. */
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '$')
                rdata[rdlen++] = '$';
            rdata[rdlen++] = (uint8_t)s[i];
        }
        type = DNS_TYPE_TXT;
    } else if (strcasecmp(tname, "MX") == 0) {
        char *t = next_word(&s);
        char *end;
        unsigned long pref = strtoul(t, &end, 10);
        size_t nlen;
        if (*t < '0' || *t > '9' || *end || pref > 65535)
            return datafile_error(df, "invalid MX preference '%s'", t);
        t = next_word(&s);
        if (!*t || *s || name_from_text(t, rdata + 2, &nlen) < 0)
            return datafile_error(df, "invalid MX exchange name");
        rdata[0] = (uint8_t)(pref >> 8);
        rdata[1] = (uint8_t)pref;
        rdlen = 2 + nlen;
        type = DNS_TYPE_MX;
    } else {
        return datafile_error(df, "unsupported record type '%s' (A, AAAA, TXT, MX)", tname);
    }

    if (array_reserve((void **)&g->rr, &g->cap, g->n + 1, sizeof(*g->rr), 16) < 0)
        return ERR_NOMEM;
    if (g->n >= UINT32_MAX)
        return ERR_RANGE;
    struct generic_rr *rr = &g->rr[g->n];
    size_t klen = dnkey_from_name(wire, wlen - 1, key);
    rr->key_off = 0;
    if (klen && (rc = buf_append(&g->keys, &g->keylen, &g->keycap, key, klen, &rr->key_off)) < 0)
        return rc;
    if ((rc = buf_append(&g->data, &g->datalen, &g->datacap, rdata, rdlen, &rr->rdata_off)) < 0)
        return rc;
    rr->key_len = (uint8_t)klen;
    rr->type = type;
    rr->rdlen = (uint16_t)rdlen;
    rr->ttl = ttl;
    rr->seq = (uint32_t)g->n;
    g->n++;
    return 0;
}

static int rr_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct generic_rr *a = pa, *b = pb;
    const uint8_t *keys = ctx;
    int r = dnkey_cmp(keys + a->key_off, a->key_len, keys + b->key_off, b->key_len);
    if (r)
        return r;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int generic_finish(struct dataset *ds)
{
    struct generic *g = ds->priv;
    if (g->n > 1)
        qsort_r(g->rr, g->n, sizeof(*g->rr), rr_cmp, g->keys);
    ds->entries = g->n;
    ds->mem_bytes = sizeof(*g) + g->cap * sizeof(*g->rr) + g->keycap + g->datacap;
    return 0;
}

static int generic_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct generic *g = ds->priv;
    uint8_t key[NAME_MAXWIRE];
    size_t klen = 0;

    res->exists = false;
    if (q->sublen >= NAME_MAXWIRE || g->n == 0)
        return 0;
    if (q->sublen)
        klen = dnkey_from_name(q->sub, q->sublen, key);

    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct generic_rr *rr = &g->rr[mid];
        if (dnkey_cmp(g->keys + rr->key_off, rr->key_len, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == g->n)
        return 0;
    const struct generic_rr *rr = &g->rr[lo];
    if (rr->key_len < klen || (klen && memcmp(g->keys + rr->key_off, key, klen) != 0))
        return 0;
    /* The first name at or after ours starts with it: ours, or one below
     * ours, which makes ours an empty non-terminal. */
    res->exists = true;
    res->subject = q->name_text;
    res->subject_len = q->name_text_len;
    for (; lo < g->n && g->rr[lo].key_len == klen; lo++) {
        rr = &g->rr[lo];
        if (klen && memcmp(g->keys + rr->key_off, key, klen) != 0)
            break;
        int rc = ds_result_add(res, rr->type, rr->ttl, g->data + rr->rdata_off, rr->rdlen);
        if (rc == ERR_SPACE)
            break;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Every owner name once (the records are sorted by owner). */
static int generic_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct generic *g = ds->priv;
    uint8_t wire[NAME_MAXWIRE];
    for (size_t i = 0; i < g->n; i++) {
        const struct generic_rr *rr = &g->rr[i];
        if (i > 0 && rr->key_len == g->rr[i - 1].key_len &&
            memcmp(g->keys + rr->key_off, g->keys + g->rr[i - 1].key_off, rr->key_len) == 0)
            continue;
        size_t len = dnkey_from_name(g->keys + rr->key_off, rr->key_len, wire);
        int rc = w->name(w, wire, len, false);
        if (rc)
            return rc;
    }
    return 0;
}

const struct dataset_ops ds_generic_ops = {
    .name = "generic",
    .family = 0,
    .uses_values = false,
    .priv_size = sizeof(struct generic),
    .create = generic_create,
    .line = generic_line,
    .finish = generic_finish,
    .query = generic_query,
    .destroy = generic_destroy,
    .walk = generic_walk,
};
