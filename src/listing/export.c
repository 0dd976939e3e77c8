/* Writing a zone's live listings as an rbldnsd data file or a BIND zone
 * file, so that mirrors answer exactly what the live dataset answers. */
#include "listing/export.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/name.h"
#include "data/array.h"
#include "data/zone_records.h"
#include "listing/ds_listing.h"
#include "listing/livemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* rbldnsd's default TTL (35 minutes), used when o->ttl is 0. */
#define EXPORT_DEFAULT_TTL 2100u
#define EXPORT_DEFAULT_NS "localhost."
#define EXPORT_SOA_REFRESH 3600u
#define EXPORT_SOA_RETRY 600u
#define EXPORT_SOA_EXPIRE 604800u
/* The text dnsblkit serve answers for the test entries itself. */
#define EXPORT_TEST_TXT "RFC 5782 test entry"
#define EXPORT_NAME_MAX 253

/* An address family as names spell it: a key of `width` bits, one name
 * label per `step` bits. An IPv4 key can be a whole address (an exact
 * name); an IPv6 key is at most a /64, so always a wildcard. */
struct xfam {
    uint8_t family;
    unsigned width, step;
};
static const struct xfam export_fam4 = {4, 32, 8};
static const struct xfam export_fam6 = {6, 64, 4};

enum {
    XF_PARTIAL = 1, /* some of its aligned pieces are overridden */
    XF_WRITTEN = 2, /* something of it is in the output */
};

/* A listing (code != 0) or an allowlist exclusion (code 0). */
struct xentry {
    uint64_t hi; /* as in struct netkey */
    uint8_t family, bits, code, flags;
};

/* A piece of an entry aligned to name labels: rbldnsd's ip4set keeps
 * ranges per octet, and a zone file can only name whole labels. */
struct xunit {
    uint64_t addr;
    uint32_t src;    /* index of its entry */
    uint8_t level;   /* prefix length, a multiple of the family's step */
    uint8_t srcbits; /* its entry's prefix length: the longer one wins */
    uint8_t code;
};

struct xctx {
    const struct export_opts *o;
    FILE *out; /* NULL on the counting pass */
    const char *txt;
    uint32_t ttl;
    struct xentry *e;
    size_t n, cap;
    size_t v6; /* index of the first IPv6 entry (entries are sorted) */
    struct xunit *u4;
    size_t n4;
    char *why;
    size_t whysz;
};

static uint64_t export_mask(unsigned bits, unsigned width)
{
    if (bits == 0)
        return 0;
    uint64_t all = width == 64 ? UINT64_MAX : ((uint64_t)1 << width) - 1;
    return all & ~(((uint64_t)1 << (width - bits)) - 1);
}

static const struct xfam *export_fam(uint8_t family)
{
    return family == 4 ? &export_fam4 : &export_fam6;
}

static int export_fail(struct xctx *x, int rc, const char *fmt, const char *arg)
{
    if (x->why && x->whysz)
        snprintf(x->why, x->whysz, fmt, arg);
    return rc;
}

/* ---- options --------------------------------------------------------- */

/* A host name in master-file syntax: letters, digits, '-' and '_' in
 * labels of 1..63, optionally ending with the root's '.'. Nothing that
 * could change the meaning of a zone file line gets through. */
static bool export_name_ok(const char *name)
{
    size_t len = strlen(name), label = 0;
    if (len == 0 || len > EXPORT_NAME_MAX + 1 || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return name[len - 1] == '.' || len <= EXPORT_NAME_MAX;
}

/* Whether a name (relative names are relative to the zone) lies at or
 * below the zone. */
static bool export_in_zone(const char *name, const char *zone)
{
    size_t len = strlen(name), zlen = strlen(zone);
    if (name[len - 1] != '.')
        return true;
    len--;
    if (len < zlen || strncasecmp(name + len - zlen, zone, zlen) != 0)
        return false;
    return len == zlen || name[len - zlen - 1] == '.';
}

/* "user@example.org" or a name; the user part of an address may hold
 * '+' and dots (escaped in the SOA). */
static bool export_hostmaster_ok(const char *hm)
{
    const char *at = strchr(hm, '@');
    if (!at)
        return export_name_ok(hm);
    if (at == hm || strchr(at + 1, '@') || !export_name_ok(at + 1))
        return false;
    for (const char *s = hm; s < at; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '+' || c == '.'))
            return false;
    }
    return at - hm <= 63;
}

static int export_check(const struct export_opts *o, char *why, size_t whysz)
{
    struct xctx x = {.why = why, .whysz = whysz};
    if (o->format != EXPORT_RBLDNSD && o->format != EXPORT_BIND)
        return export_fail(&x, ERR_INVAL, "unknown export format%s", "");
    if (!o->zone || !export_name_ok(o->zone) || o->zone[strlen(o->zone) - 1] == '.')
        return export_fail(&x, ERR_INVAL, "invalid zone name '%s'", o->zone ? o->zone : "");
    /* A line break would end an rbldnsd value line early. */
    if (o->txt && strpbrk(o->txt, "\r\n"))
        return export_fail(&x, ERR_INVAL, "TXT template has a line break%s", "");
    for (size_t i = 0; i < sizeof(o->ns) / sizeof(o->ns[0]) && o->ns[i]; i++) {
        if (!export_name_ok(o->ns[i]))
            return export_fail(&x, ERR_INVAL, "invalid name server name '%s'", o->ns[i]);
        /* named refuses a zone whose in-zone name server has no
         * address, and the export has none to give it. */
        if (export_in_zone(o->ns[i], o->zone))
            return export_fail(&x, ERR_INVAL,
                               "name server '%s' is inside the zone, which has no address "
                               "for it: give a fully qualified name outside the zone",
                               o->ns[i]);
    }
    if (o->hostmaster && !export_hostmaster_ok(o->hostmaster))
        return export_fail(&x, ERR_INVAL, "invalid hostmaster '%s'", o->hostmaster);
    return 0;
}

int export_check_opts(const struct export_opts *o, char *err, size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    return export_check(o, err, errsz);
}

int export_parse_format(const char *name, enum export_format *out)
{
    if (!name)
        return ERR_INVAL;
    if (!strcmp(name, "rbldnsd")) {
        *out = EXPORT_RBLDNSD;
        return 0;
    }
    if (!strcmp(name, "bind")) {
        *out = EXPORT_BIND;
        return 0;
    }
    return ERR_INVAL;
}

/* ---- collecting and normalising the entries --------------------------- */

static int export_add(struct xctx *x, const struct netkey *k, uint8_t code)
{
    unsigned width = k->family == 4 ? 32 : 64;
    if ((k->family != 4 && k->family != 6) || k->bits == 0 || k->bits > width ||
        (k->hi & ~export_mask(k->bits, width)) != 0)
        return export_fail(x, ERR_INVAL, "the database holds an invalid key%s", "");
    if (x->n >= UINT32_MAX)
        return export_fail(x, ERR_LIMIT, "more than 2^32 entries%s", "");
    if (array_reserve((void **)&x->e, &x->cap, x->n + 1, sizeof(*x->e), 1024) < 0)
        return export_fail(x, ERR_NOMEM, "out of memory%s", "");
    x->e[x->n++] = (struct xentry){k->hi, k->family, k->bits, code, 0};
    return 0;
}

static int export_listed_cb(const struct store_listing *l, void *arg)
{
    return l->code ? export_add(arg, &l->key, l->code) : 0;
}

static int export_allow_cb(const struct netkey *block, time_t when, const char *note, void *arg)
{
    (void)when;
    (void)note;
    return export_add(arg, block, 0);
}

/* By family, then address, then shorter first; an exclusion before a
 * listing of the same key. */
static int export_entry_cmp(const void *pa, const void *pb)
{
    const struct xentry *a = pa, *b = pb;
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->bits != b->bits)
        return a->bits < b->bits ? -1 : 1;
    return (a->code != 0) - (b->code != 0);
}

/* The live dataset lets an exclusion win over any listing it covers,
 * however specific; data files and zones answer the longest match. Drop
 * the listings inside exclusions and the two agree. In this order an
 * exclusion that covers an entry's start comes before it and contains it
 * (prefixes nest or are disjoint), so the furthest end of the exclusions
 * seen so far tells. */
static void export_drop_excluded(struct xctx *x)
{
    size_t w = 0;
    uint8_t fam = 0;
    bool have = false;
    uint64_t maxend = 0;
    for (size_t i = 0; i < x->n; i++) {
        struct xentry *e = &x->e[i];
        unsigned width = export_fam(e->family)->width;
        uint64_t end = e->hi | (~export_mask(e->bits, width) & export_mask(width, width));
        if (e->family != fam) {
            fam = e->family;
            have = false;
        }
        if (e->code == 0) {
            if (!have || end > maxend)
                maxend = end;
            have = true;
        } else if (have && e->hi <= maxend) {
            continue;
        }
        x->e[w++] = *e;
    }
    x->n = w;
    for (x->v6 = 0; x->v6 < x->n && x->e[x->v6].family == 4; x->v6++)
        ;
}

static int export_unit_cmp(const void *pa, const void *pb)
{
    const struct xunit *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    return (a->srcbits < b->srcbits) - (a->srcbits > b->srcbits);
}

/* Cut the family's entries into label-aligned units (a /22 into four
 * /24s: at most 2^(step-1) pieces each), sorted, one per prefix: of
 * pieces of the same prefix the one of the longer entry is what the
 * longest match answers. An entry that lost a piece to a different
 * answer is marked partial. */
static int export_units(struct xctx *x, const struct xfam *f, struct xunit **out, size_t *nout)
{
    size_t lo = f->family == 4 ? 0 : x->v6, hi = f->family == 4 ? x->v6 : x->n, total = 0;
    *out = NULL;
    *nout = 0;
    for (size_t i = lo; i < hi; i++) {
        unsigned level = (x->e[i].bits + f->step - 1) / f->step * f->step;
        total += (size_t)1 << (level - x->e[i].bits);
    }
    if (total == 0)
        return 0;
    struct xunit *u = malloc(total * sizeof(*u));
    if (!u)
        return export_fail(x, ERR_NOMEM, "out of memory%s", "");
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) {
        const struct xentry *e = &x->e[i];
        unsigned level = (e->bits + f->step - 1) / f->step * f->step;
        size_t count = (size_t)1 << (level - e->bits);
        for (size_t j = 0; j < count; j++)
            u[n++] = (struct xunit){e->hi + ((uint64_t)j << (f->width - level)), (uint32_t)i,
                                    (uint8_t)level, e->bits, e->code};
    }
    qsort(u, n, sizeof(*u), export_unit_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && u[w - 1].addr == u[i].addr && u[w - 1].level == u[i].level) {
            /* Two exclusions overlapping change no answer. */
            if (u[i].code || u[w - 1].code)
                x->e[u[i].src].flags |= XF_PARTIAL;
            continue;
        }
        u[w++] = u[i];
    }
    *out = u;
    *nout = w;
    return 0;
}

static void export_stats_count(const struct xctx *x, struct export_stats *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < x->n; i++) {
        const struct xentry *e = &x->e[i];
        if (!(e->flags & XF_WRITTEN))
            continue;
        if (e->code == 0)
            s->exclusions++;
        else if (e->bits == export_fam(e->family)->width)
            s->hosts++;
        else
            s->blocks++;
    }
}

static void export_key_text(uint8_t family, uint64_t hi, unsigned bits, char *out, size_t outsz)
{
    struct netkey k = {.family = family, .bits = (uint8_t)bits, .hi = hi};
    if (netkey_format(&k, out, outsz) < 0)
        snprintf(out, outsz, "?");
}

static void export_header(struct xctx *x, const struct export_stats *s, char c)
{
    char when[32];
    struct tm tm;
    time_t now = x->o->now;
    if (!gmtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof(when), "?");
    fprintf(x->out,
            "%c %s: listings in force at %s (%lld)\n"
            "%c %llu hosts, %llu blocks, %llu exclusions\n"
            "%c generated by dnsblkit export \xe2\x80\x94 do not edit\n",
            c, x->o->zone, when, (long long)x->o->now, c, s->hosts, s->blocks, s->exclusions, c);
}

/* ---- rbldnsd ---------------------------------------------------------- */

/* "1.2.3.0/24" (default 127.0.0.2), "1.2.3.0/24 :3:text", "!1.2.3.0/24".
 * The template goes in as written: rbldnsd's '$' and "$$" are ours (a
 * "$1" would read as one of its variables; ours have none). */
static void rbl_line(struct xctx *x, uint8_t family, uint64_t hi, unsigned bits, uint8_t code)
{
    char key[NETKEY_STRLEN];
    export_key_text(family, hi, bits, key, sizeof(key));
    if (code == 0)
        fprintf(x->out, "!%s\n", key);
    else if (code == 2)
        fprintf(x->out, "%s\n", key);
    else
        fprintf(x->out, "%s :%u:%s\n", key, (unsigned)code, x->txt);
}

/* IPv4 in ip4set. It answers the longest match per octet level, every
 * entry of that level at once, so an entry that shares a level with a
 * longer one is written as the pieces it still answers for; the others
 * as they are. Both lists are in address order: merge them. */
static void rbl_ip4(struct xctx *x)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < x->v6 && (x->e[i].flags & XF_PARTIAL))
            i++;
        while (j < x->n4 && !(x->e[x->u4[j].src].flags & XF_PARTIAL))
            j++;
        if (i == x->v6 && j == x->n4)
            break;
        bool entry =
            j == x->n4 ||
            (i < x->v6 && (x->e[i].hi < x->u4[j].addr ||
                           (x->e[i].hi == x->u4[j].addr && x->e[i].bits <= x->u4[j].level)));
        if (entry) {
            x->e[i].flags |= XF_WRITTEN;
            if (x->out)
                rbl_line(x, 4, x->e[i].hi, x->e[i].bits, x->e[i].code);
            i++;
        } else {
            const struct xunit *u = &x->u4[j++];
            x->e[u->src].flags |= XF_WRITTEN;
            if (x->out)
                rbl_line(x, 4, u->addr, u->level, u->code);
        }
    }
}

/* IPv6 in ip6trie, which answers the longest match: entries as they are.
 * Returns whether any listing is there (exclusions alone are not worth a
 * section). */
static bool rbl_ip6(struct xctx *x)
{
    bool listed = false;
    for (size_t i = x->v6; i < x->n; i++)
        listed |= x->e[i].code != 0;
    if (!listed)
        return false;
    for (size_t i = x->v6; i < x->n; i++) {
        x->e[i].flags |= XF_WRITTEN;
        if (x->out)
            rbl_line(x, 6, x->e[i].hi, x->e[i].bits, x->e[i].code);
    }
    return true;
}

static int export_rbldnsd(struct xctx *x, FILE *out, struct export_stats *s)
{
    int rc = export_units(x, &export_fam4, &x->u4, &x->n4);
    if (rc)
        return rc;
    x->out = NULL; /* count first: the header tells the numbers */
    rbl_ip4(x);
    rbl_ip6(x);
    export_stats_count(x, s);

    /* Always a combined file, IPv6 section included even when empty: a
     * mirror's zone spec (zone:combined:file) must not change the day
     * the first IPv6 address is listed. */
    x->out = out;
    export_header(x, s, '#');
    fprintf(out, "$TTL %u\n", x->ttl);
    fprintf(out, "$DATASET ip4set @\n");
    fprintf(out, ":127.0.0.2:%s\n127.0.0.2 :2:" EXPORT_TEST_TXT "\n", x->txt);
    rbl_ip4(x);
    fprintf(out, "$DATASET ip6trie @\n:127.0.0.2:%s\n::ffff:7f00:2 :2:" EXPORT_TEST_TXT "\n",
            x->txt);
    rbl_ip6(x);
    return 0;
}

/* ---- BIND --------------------------------------------------------------- */

/* The listings as a dataset that answers as the live one does at o->now
 * (ds_listing_lookup over a livemap of the same entries): zone_records
 * turns it into the records a zone transfer of the live zone carries,
 * so the file and the transfer agree. */
struct xview {
    struct livemap *map;
    const char *txt;
    uint32_t now;
};

static int xview_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct xview *v = ds->priv;
    return ds_listing_lookup(v->map, v->txt, ds->ttl, v->now, q, res);
}

static int xview_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct xview *v = ds->priv;
    return ds_listing_walk_map(v->map, w);
}

static void xview_destroy(struct dataset *ds)
{
    struct xview *v = ds->priv;
    livemap_free(v->map);
}

static const struct dataset_ops export_view_ops = {
    .name = "export",
    .family = DS_FAM_IP4 | DS_FAM_IP6,
    .priv_size = sizeof(struct xview),
    .query = xview_query,
    .walk = xview_walk,
    .destroy = xview_destroy,
};

/* A name in master-file syntax, relative to the origin ("@" for it):
 * letters, digits, '-', '_' and a lone '*' as they are, any other byte as
 * \DDD, so that no label can change the meaning of the line. */
static void bind_name_text(FILE *f, const uint8_t *wire, size_t len)
{
    if (len == 0) {
        fputc('@', f);
        return;
    }
    for (size_t p = 0; p < len; p += (size_t)wire[p] + 1) {
        unsigned l = wire[p];
        if (p > 0)
            fputc('.', f);
        if (l == 1 && wire[p + 1] == '*') {
            fputc('*', f);
            continue;
        }
        for (unsigned i = 1; i <= l; i++) {
            unsigned char c = wire[p + i];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_')
                fputc(c, f);
            else
                fprintf(f, "\\%03u", c);
        }
    }
}

/* TXT RDATA as quoted character-strings. */
static void bind_txt_rdata(FILE *f, const uint8_t *rd, size_t len)
{
    for (size_t p = 0; p < len;) {
        unsigned l = rd[p++];
        fputs(p > 1 ? " \"" : "\"", f);
        for (unsigned i = 0; i < l && p < len; i++, p++) {
            unsigned char c = rd[p];
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c < 0x20 || c > 0x7e)
                fprintf(f, "\\%03u", c);
            else
                fputc(c, f);
        }
        fputc('"', f);
    }
}

struct xbind {
    FILE *out;
    size_t apex_len;
    uint32_t ttl;
};

static int bind_record(const struct zrec_rr *r, void *arg)
{
    struct xbind *b = arg;
    FILE *f = b->out;
    bind_name_text(f, r->owner, r->owner_len - b->apex_len);
    if (r->ttl != b->ttl)
        fprintf(f, " %u", r->ttl);
    fputs(" IN ", f);
    char text[ADDR_IP6_STRLEN];
    switch (r->type) {
    case DNS_TYPE_A:
        if (r->rdlen != 4)
            goto generic;
        fprintf(f, "A %u.%u.%u.%u\n", r->rdata[0], r->rdata[1], r->rdata[2], r->rdata[3]);
        return 0;
    case DNS_TYPE_TXT:
        fputs("TXT ", f);
        bind_txt_rdata(f, r->rdata, r->rdlen);
        fputc('\n', f);
        return 0;
    case DNS_TYPE_AAAA:
        if (r->rdlen != 16 || addr_ip6_format(r->rdata, text) < 0)
            goto generic;
        fprintf(f, "AAAA %s\n", text);
        return 0;
    case DNS_TYPE_MX:
        if (r->rdlen < 3)
            goto generic;
        fprintf(f, "MX %u ", (unsigned)r->rdata[0] << 8 | r->rdata[1]);
        bind_name_text(f, r->rdata + 2, r->rdlen - 3);
        fputs(".\n", f);
        return 0;
    default:
        break;
    }
generic:
    /* RFC 3597: any type as its bytes. */
    fprintf(f, "TYPE%u \\# %u", r->type, r->rdlen);
    for (size_t i = 0; i < r->rdlen; i++)
        fprintf(f, "%s%02x", i ? "" : " ", r->rdata[i]);
    fputc('\n', f);
    return 0;
}

/* The counts of a zone file: listings, and the exclusions that carve
 * something out of one (an allowlist entry where nothing is listed
 * changes no answer). Entries are sorted, a prefix comes before the
 * prefixes inside it, and prefixes nest: the furthest end of the
 * listings seen so far says whether one holds an exclusion. */
static void bind_stats(const struct xctx *x, struct export_stats *s)
{
    memset(s, 0, sizeof(*s));
    uint8_t fam = 0;
    uint64_t maxend = 0;
    bool have = false;
    for (size_t i = 0; i < x->n; i++) {
        const struct xentry *e = &x->e[i];
        unsigned width = export_fam(e->family)->width;
        uint64_t end = e->hi | (~export_mask(e->bits, width) & export_mask(width, width));
        if (e->family != fam) {
            fam = e->family;
            have = false;
        }
        if (e->code == 0) {
            if (have && maxend >= end)
                s->exclusions++;
            continue;
        }
        if (e->bits == width)
            s->hosts++;
        else
            s->blocks++;
        if (!have || end > maxend)
            maxend = end;
        have = true;
    }
}

/* "user@example.org" as an SOA RNAME: "user.example.org.", dots of the
 * user part escaped. */
static void bind_rname(FILE *f, const char *hm, const char *zone)
{
    if (!hm) {
        fprintf(f, "hostmaster.%s.", zone);
        return;
    }
    const char *at = strchr(hm, '@');
    if (!at) {
        fputs(hm, f);
        return;
    }
    for (const char *s = hm; s < at; s++)
        fprintf(f, *s == '.' ? "\\%c" : "%c", *s);
    fprintf(f, ".%s%s", at + 1, at[strlen(at) - 1] == '.' ? "" : ".");
}

static int export_bind(struct xctx *x, FILE *out, struct export_stats *s)
{
    const struct export_opts *o = x->o;
    struct livemap_entry *le = malloc((x->n ? x->n : 1) * sizeof(*le));
    struct livemap *map = NULL;
    struct dataset *ds = NULL;
    struct zrec *z = NULL;
    char why[256] = "";
    if (!le)
        return export_fail(x, ERR_NOMEM, "out of memory%s", "");
    for (size_t i = 0; i < x->n; i++) {
        const struct xentry *e = &x->e[i];
        le[i] = (struct livemap_entry){
            {e->family, e->bits, e->hi}, e->code ? e->code : LIVEMAP_EXCLUDE, 0};
    }
    int rc = livemap_build(le, x->n, &map);
    free(le);
    struct ds_load_ctx ctx = {
        .zone = o->zone, .default_ttl = x->ttl, .limits = {.allow_world = true}};
    if (rc == 0 && (rc = dataset_create(&export_view_ops, &ctx, &ds)) == 0) {
        struct xview *v = ds->priv;
        v->map = map;
        v->txt = x->txt;
        v->now = o->now <= 0 ? 0 : o->now > (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)o->now;
        map = NULL;
    }
    uint8_t apex[NAME_MAXWIRE];
    size_t apex_len;
    if (rc == 0 && name_from_text(o->zone, apex, &apex_len) < 0)
        rc = ERR_INVAL;
    struct zrec_opts zo = {
        .ttl_min = 0, .ttl_max = UINT32_MAX, .max_records = ZREC_DEFAULT_MAX_RECORDS};
    if (rc == 0)
        rc = zrec_plan(apex, &ds, 1, &zo, &z, why, sizeof(why));
    if (rc) {
        livemap_free(map);
        dataset_unref(ds);
        return export_fail(x, rc, "%s", why[0] ? why : err_str(rc));
    }
    bind_stats(x, s);

    x->out = out;
    export_header(x, s, ';');
    const char *ns0 = o->ns[0] ? o->ns[0] : EXPORT_DEFAULT_NS;
    fprintf(out, "$ORIGIN %s.\n$TTL %u\n@ IN SOA %s ", o->zone, x->ttl, ns0);
    bind_rname(out, o->hostmaster, o->zone);
    fprintf(out, " %u %u %u %u %u\n", (uint32_t)o->now, EXPORT_SOA_REFRESH, EXPORT_SOA_RETRY,
            EXPORT_SOA_EXPIRE, x->ttl);
    fprintf(out, "@ IN NS %s\n", ns0);
    for (size_t i = 1; i < sizeof(o->ns) / sizeof(o->ns[0]) && o->ns[i]; i++)
        fprintf(out, "@ IN NS %s\n", o->ns[i]);
    /* The listings, the exclusions inside them and the RFC 5782 test
     * entries, as zone_records writes them for a transfer. */
    struct xbind b = {out, apex_len, x->ttl};
    rc = zrec_emit(z, bind_record, &b);
    zrec_free(z);
    dataset_unref(ds);
    return rc;
}

/* ---- entry points --------------------------------------------------------- */

static int export_run(struct store *st, const struct export_opts *o, FILE *out,
                      struct export_stats *stats, char *why, size_t whysz)
{
    struct xctx x = {.o = o, .txt = o->txt ? o->txt : "", .why = why, .whysz = whysz};
    struct export_stats local;
    x.ttl = o->ttl ? o->ttl : EXPORT_DEFAULT_TTL;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof(*stats));

    int rc = export_check(o, why, whysz);
    if (rc)
        goto out;
    rc = store_foreach_listed(st, o->zone, o->now, export_listed_cb, &x);
    if (rc == 0)
        rc = store_allow_foreach(st, o->zone, export_allow_cb, &x);
    if (rc) {
        if (why && !why[0])
            snprintf(why, whysz, "%s", store_errmsg(st));
        goto out;
    }
    if (x.n > 0)
        qsort(x.e, x.n, sizeof(*x.e), export_entry_cmp);
    export_drop_excluded(&x);
    rc = o->format == EXPORT_RBLDNSD ? export_rbldnsd(&x, out, stats) : export_bind(&x, out, stats);
    if (rc)
        goto out;
    if (fflush(out) != 0 || ferror(out)) {
        rc = export_fail(&x, ERR_IO, "%s", strerror(errno ? errno : EIO));
        goto out;
    }
out:
    if (rc)
        memset(stats, 0, sizeof(*stats));
    free(x.e);
    free(x.u4);
    return rc;
}

int export_write(struct store *st, const struct export_opts *o, FILE *out,
                 struct export_stats *stats)
{
    char why[256] = "";
    return export_run(st, o, out, stats, why, sizeof(why));
}

/* fsync the directory holding path, so the rename survives a crash. */
static int export_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return ERR_NOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : ERR_IO;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    errno = saved;
    return rc;
}

int export_to_file(struct store *st, const struct export_opts *o, const char *path,
                   struct export_stats *stats, char *err, size_t errsz)
{
    char why[512] = "";
    char *tmp = NULL;
    FILE *f = NULL;
    bool created = false;
    int fd, closed;
    int rc = export_check(o, why, sizeof(why));
    if (rc)
        goto out;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        tmp = NULL;
        rc = ERR_NOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ERR_IO;
        snprintf(why, sizeof(why), "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    created = true;
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        rc = ERR_NOMEM;
        goto out;
    }
    if ((rc = export_run(st, o, f, stats, why, sizeof(why))) != 0)
        goto out;
    if (fsync(fileno(f)) != 0) {
        rc = ERR_IO;
        snprintf(why, sizeof(why), "fsync: %s", strerror(errno));
        goto out;
    }
    closed = fclose(f);
    f = NULL;
    if (closed != 0) {
        rc = ERR_IO;
        snprintf(why, sizeof(why), "%s", strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = ERR_IO;
        snprintf(why, sizeof(why), "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    created = false;
    if ((rc = export_sync_dir(path)) != 0)
        snprintf(why, sizeof(why), "written, but syncing its directory failed: %s",
                 strerror(errno));
out:
    if (f)
        fclose(f);
    if (created)
        unlink(tmp);
    free(tmp);
    if (rc && stats)
        memset(stats, 0, sizeof(*stats));
    if (rc && err && errsz)
        snprintf(err, errsz, "%s: %s", path, why[0] ? why : err_str(rc));
    return rc;
}
