/* List specs in postscreen_dnsbl_sites syntax: parsing, formatting back,
 * and matching an answer code against a spec's filter. */
#include "client/listspec.h"
#include "client/verdict.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LISTSPEC_LABEL_MAX 63
#define LISTSPEC_QUOTE_MAX 40       /* longest piece of input quoted in a reason */
#define LISTSPEC_NUM_CAP 100000000u /* numbers saturate here: no overflow, still "too big" */

struct listspec_parser {
    const char *p;   /* next input byte */
    const char *end; /* end of the input, trailing blanks excluded */
    char *why;
    size_t whysz;
};

static int listspec_fail(struct listspec_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int listspec_fail(struct listspec_parser *ps, const char *fmt, ...)
{
    if (ps->why && ps->whysz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->why, ps->whysz, fmt, ap);
        va_end(ap);
    }
    return ERR_INVAL;
}

/* A piece of input fit to quote in a reason: at most LISTSPEC_QUOTE_MAX
 * bytes ("..." marks a cut), control and non-ASCII bytes shown as '?' so
 * a reason that reaches a log stays one printable line. */
static const char *listspec_quote(const char *s, size_t len, char out[LISTSPEC_QUOTE_MAX + 4])
{
    size_t n = len > LISTSPEC_QUOTE_MAX ? LISTSPEC_QUOTE_MAX : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* One byte as a reason shows it: 'x', or "end of input". */
static const char *listspec_char(const struct listspec_parser *ps, char out[8])
{
    if (ps->p >= ps->end)
        return "end of input";
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "0x%02x", c);
    return out;
}

static bool listspec_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool listspec_is_zone_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || listspec_is_digit(c) || c == '-' ||
           c == '_' || c == '.';
}

static bool listspec_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decimal digits at ps->p, saturating at LISTSPEC_NUM_CAP. Returns the
 * number of digits read (0: none there). */
static size_t listspec_number(struct listspec_parser *ps, unsigned *v)
{
    const char *start = ps->p;
    unsigned n = 0;
    while (ps->p < ps->end && listspec_is_digit(*ps->p)) {
        n = n * 10 + (unsigned)(*ps->p++ - '0');
        if (n > LISTSPEC_NUM_CAP)
            n = LISTSPEC_NUM_CAP;
    }
    *v = n;
    return (size_t)(ps->p - start);
}

static void listspec_octet_add(struct listspec_octet *o, unsigned lo, unsigned hi)
{
    for (unsigned v = lo; v <= hi; v++)
        o->bits[v >> 6] |= (uint64_t)1 << (v & 63);
}

static bool listspec_octet_has(const struct listspec_octet *o, unsigned v)
{
    return (o->bits[v >> 6] >> (v & 63)) & 1;
}

/* ZONE: up to the first '=', '&' or '*'. */
static int listspec_parse_zone(struct listspec_parser *ps, struct listspec *s)
{
    const char *start = ps->p;
    while (ps->p < ps->end && *ps->p != '=' && *ps->p != '&' && *ps->p != '*')
        ps->p++;
    size_t len = (size_t)(ps->p - start);
    char q[LISTSPEC_QUOTE_MAX + 4];
    if (len == 0)
        return listspec_fail(ps, "empty zone");
    for (size_t i = 0; i < len; i++) {
        if (!listspec_is_zone_char(start[i])) {
            char c[8];
            struct listspec_parser at = {.p = start + i, .end = ps->end};
            return listspec_fail(ps, "zone '%s': %s is not allowed", listspec_quote(start, len, q),
                                 listspec_char(&at, c));
        }
    }
    /* One trailing dot names the same zone (fully qualified); it is not kept. */
    size_t name_len = start[len - 1] == '.' ? len - 1 : len;
    size_t label = 0;
    for (size_t i = 0; i < name_len; i++) {
        if (start[i] != '.') {
            if (++label > LISTSPEC_LABEL_MAX)
                return listspec_fail(ps, "zone '%s': a label is over %d bytes",
                                     listspec_quote(start, len, q), LISTSPEC_LABEL_MAX);
            continue;
        }
        if (label == 0)
            break; /* an empty label: leading or doubled dot */
        label = 0;
    }
    /* label == 0 also for "." and for a name ending in an empty label. */
    if (label == 0)
        return listspec_fail(ps, "zone '%s' is not a DNS name", listspec_quote(start, len, q));
    if (name_len > LISTSPEC_ZONE_MAX)
        return listspec_fail(ps, "zone is over %d bytes", LISTSPEC_ZONE_MAX);
    for (size_t i = 0; i < name_len; i++) {
        char c = start[i];
        s->zone[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    s->zone[name_len] = '\0';
    return 0;
}

/* One number inside an octet pattern, checked against 0..255. */
static int listspec_octet_value(struct listspec_parser *ps, int octet, const char *after,
                                unsigned *v)
{
    const char *start = ps->p;
    size_t digits = listspec_number(ps, v);
    if (digits == 0) {
        char c[8];
        return listspec_fail(ps, "octet %d: expected a number %s, not %s", octet, after,
                             listspec_char(ps, c));
    }
    if (*v > 255) {
        char q[LISTSPEC_QUOTE_MAX + 4];
        return listspec_fail(ps, "octet %d: %s is not 0..255", octet,
                             listspec_quote(start, digits, q));
    }
    return 0;
}

/* "[" item { ";" item } "]", ps->p just after the '['. */
static int listspec_parse_brackets(struct listspec_parser *ps, int octet, struct listspec_octet *o)
{
    const char *after = "after '['";
    for (;;) {
        unsigned lo, hi;
        int rc = listspec_octet_value(ps, octet, after, &lo);
        if (rc != 0)
            return rc;
        hi = lo;
        bool range = ps->end - ps->p >= 2 && ps->p[0] == '.' && ps->p[1] == '.';
        if (range) {
            ps->p += 2;
            rc = listspec_octet_value(ps, octet, "after '..'", &hi);
            if (rc != 0)
                return rc;
            if (hi < lo)
                return listspec_fail(ps, "octet %d: range %u..%u is reversed", octet, lo, hi);
        }
        listspec_octet_add(o, lo, hi);
        if (ps->p < ps->end && *ps->p == ';') {
            ps->p++;
            after = "after ';'";
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        char c[8];
        if (ps->p >= ps->end)
            return listspec_fail(ps, "octet %d: missing ']'", octet);
        return listspec_fail(ps, "octet %d: expected %s';' or ']', not %s", octet,
                             range ? "" : "'..', ", listspec_char(ps, c));
    }
}

/* FILTER: four octet patterns separated by '.', ps->p just after '='. */
static int listspec_parse_filter(struct listspec_parser *ps, struct listspec *s)
{
    if (ps->p >= ps->end || *ps->p == '*')
        return listspec_fail(ps, "nothing after '='");
    for (int i = 0; i < 4; i++) {
        int octet = i + 1;
        struct listspec_octet *o = &s->octet[i];
        int rc;
        if (ps->p < ps->end && *ps->p == '[') {
            ps->p++;
            rc = listspec_parse_brackets(ps, octet, o);
        } else {
            unsigned v;
            rc = listspec_octet_value(ps, octet, "or '['", &v);
            if (rc == 0) {
                listspec_octet_add(o, v, v);
                /* Postfix wants ranges in brackets; say so rather than
                 * "expected '.'" on the second dot. */
                if (ps->end - ps->p >= 2 && ps->p[0] == '.' && ps->p[1] == '.')
                    return listspec_fail(ps, "octet %d: a range needs brackets: [%u..]", octet, v);
            }
        }
        if (rc != 0)
            return rc;
        if (i < 3) {
            if (ps->p >= ps->end || *ps->p != '.')
                return listspec_fail(ps, "expected '.' after octet %d", octet);
            ps->p++;
        }
    }
    if (ps->p < ps->end && *ps->p != '*') {
        char c[8];
        return listspec_fail(ps, "unexpected %s after octet 4", listspec_char(ps, c));
    }
    /* A filter that cannot match is a typo that would silently switch
     * the list off: refuse it like weight 0. */
    if (!listspec_octet_has(&s->octet[0], 127))
        return listspec_fail(ps, "octet 1 does not accept 127: lists answer inside 127/8");
    bool only_errors = true;
    for (unsigned v = 0; v < 252 && only_errors; v++)
        if (listspec_octet_has(&s->octet[3], v))
            only_errors = false;
    for (unsigned v = 0; v < 255 && only_errors; v++)
        if (listspec_octet_has(&s->octet[1], v) || listspec_octet_has(&s->octet[2], v))
            only_errors = false;
    if (only_errors)
        return listspec_fail(ps, "filter accepts only the error codes 127.255.255.252..255");
    return 0;
}

static int listspec_hex_digit(char c)
{
    if (listspec_is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* MASK: 0xHEX or decimal, ps->p just after '&'; ends at '*' or the end. */
static int listspec_parse_mask(struct listspec_parser *ps, struct listspec *s)
{
    const char *start = ps->p;
    while (ps->p < ps->end && *ps->p != '*')
        ps->p++;
    size_t len = (size_t)(ps->p - start);
    char q[LISTSPEC_QUOTE_MAX + 4];
    if (len == 0)
        return listspec_fail(ps, "nothing after '&'");
    bool hex = len >= 2 && start[0] == '0' && (start[1] == 'x' || start[1] == 'X');
    size_t i = hex ? 2 : 0;
    if (i == len)
        return listspec_fail(ps, "mask '%s' is not a number", listspec_quote(start, len, q));
    uint64_t v = 0;
    for (; i < len; i++) {
        int d = hex                           ? listspec_hex_digit(start[i])
                : listspec_is_digit(start[i]) ? start[i] - '0'
                                              : -1;
        if (d < 0)
            return listspec_fail(ps, "mask '%s' is not a number", listspec_quote(start, len, q));
        v = v * (hex ? 16 : 10) + (uint64_t)d;
        if (v > 0xffffffffu)
            v = (uint64_t)0xffffffffu + 1; /* saturate: refused below */
    }
    if (v == 0)
        return listspec_fail(ps, "mask 0");
    if (v > 0xffffffffu)
        return listspec_fail(ps, "mask '%s' is over 0xffffffff", listspec_quote(start, len, q));
    /* Bit 31 is clear in every 127/8 code: such a mask never matches. */
    if ((v & 0x7fffffffu) == 0)
        return listspec_fail(ps, "mask 0x80000000 never matches inside 127/8");
    s->mask = (uint32_t)v;
    return 0;
}

/* WEIGHT: ps->p just after '*'; the rest of the input. */
static int listspec_parse_weight(struct listspec_parser *ps, struct listspec *s)
{
    const char *start = ps->p;
    size_t len = (size_t)(ps->end - start);
    char q[LISTSPEC_QUOTE_MAX + 4];
    if (len == 0)
        return listspec_fail(ps, "nothing after '*'");
    bool neg = *ps->p == '-';
    if (neg)
        ps->p++;
    unsigned v;
    size_t digits = listspec_number(ps, &v);
    if (digits == 0 || ps->p != ps->end)
        return listspec_fail(ps, "weight '%s' is not a number", listspec_quote(start, len, q));
    if (v == 0)
        return listspec_fail(ps, "weight 0");
    if (v > LISTSPEC_WEIGHT_MAX)
        return listspec_fail(ps, "weight %s is not -%d..%d", listspec_quote(start, len, q),
                             LISTSPEC_WEIGHT_MAX, LISTSPEC_WEIGHT_MAX);
    s->weight = neg ? -(int)v : (int)v;
    return 0;
}

int listspec_parse(const char *text, struct listspec *out, char *why, size_t whysz)
{
    if (why && whysz > 0)
        why[0] = '\0';
    /* Blanks around a spec come from splitting a config line; they are
     * not part of it. */
    while (listspec_is_blank(*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && listspec_is_blank(text[len - 1]))
        len--;
    struct listspec_parser ps = {.p = text, .end = text + len, .why = why, .whysz = whysz};

    /* Built aside, so *out is untouched on error; zeroed whole, so two
     * equal specs compare equal byte for byte. */
    struct listspec s;
    memset(&s, 0, sizeof(s));
    s.match = LISTSPEC_ANY;
    s.weight = 1;
    int rc = listspec_parse_zone(&ps, &s);
    if (rc != 0)
        return rc;
    if (ps.p < ps.end && *ps.p == '=') {
        ps.p++;
        s.match = LISTSPEC_FILTER;
        rc = listspec_parse_filter(&ps, &s);
    } else if (ps.p < ps.end && *ps.p == '&') {
        ps.p++;
        s.match = LISTSPEC_MASK;
        rc = listspec_parse_mask(&ps, &s);
    }
    if (rc != 0)
        return rc;
    if (ps.p < ps.end) {
        /* The zone, filter and mask parsers stop only at '*' or the end. */
        ps.p++;
        rc = listspec_parse_weight(&ps, &s);
        if (rc != 0)
            return rc;
    }
    *out = s;
    return 0;
}

/* Output with a running length; writes stop at the buffer's end but the
 * length goes on, so the caller learns whether it fit. */
struct listspec_out {
    char *buf;
    size_t size;
    size_t len;
};

static void listspec_put(struct listspec_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void listspec_put(struct listspec_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = o->len < o->size ? o->buf + o->len : NULL;
    int n = vsnprintf(at, at ? o->size - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* One octet: "N" for a single value, else "[" runs "]" with adjacent
 * values merged into N..M. Returns ERR_INVAL for an empty set. */
static int listspec_format_octet(struct listspec_out *o, const struct listspec_octet *oc)
{
    unsigned count = 0, first = 0;
    for (unsigned v = 0; v < 256; v++)
        if (listspec_octet_has(oc, v) && count++ == 0)
            first = v;
    if (count == 0)
        return ERR_INVAL;
    if (count == 1) {
        listspec_put(o, "%u", first);
        return 0;
    }
    listspec_put(o, "[");
    const char *sep = "";
    for (unsigned v = 0; v < 256;) {
        if (!listspec_octet_has(oc, v)) {
            v++;
            continue;
        }
        unsigned lo = v;
        while (v + 1 < 256 && listspec_octet_has(oc, v + 1))
            v++;
        if (lo == v)
            listspec_put(o, "%s%u", sep, lo);
        else
            listspec_put(o, "%s%u..%u", sep, lo, v);
        sep = ";";
        v++;
    }
    listspec_put(o, "]");
    return 0;
}

int listspec_format(const struct listspec *s, char *out, size_t outsz)
{
    struct listspec_out o = {.buf = out, .size = outsz, .len = 0};
    listspec_put(&o, "%.*s", LISTSPEC_ZONE_MAX, s->zone);
    switch (s->match) {
    case LISTSPEC_ANY:
        break;
    case LISTSPEC_FILTER:
        for (int i = 0; i < 4; i++) {
            listspec_put(&o, i == 0 ? "=" : ".");
            int rc = listspec_format_octet(&o, &s->octet[i]);
            if (rc != 0)
                return rc;
        }
        break;
    case LISTSPEC_MASK:
        listspec_put(&o, "&0x%x", (unsigned)s->mask);
        break;
    default:
        return ERR_INVAL;
    }
    if (s->weight != 1)
        listspec_put(&o, "*%d", s->weight);
    if (o.len >= outsz)
        return ERR_SPACE;
    return (int)o.len;
}

bool listspec_matches(const struct listspec *s, uint32_t a)
{
    if (a >> 24 != 127 || verdict_is_error_code(a))
        return false;
    switch (s->match) {
    case LISTSPEC_ANY:
        /* Every other 127/8 code, 127.0.0.1 included: RFC 5782 says a list
         * should not answer it, but one that does has said "listed". The
         * health monitor's 127.0.0.1 probe is what catches such a list. */
        return true;
    case LISTSPEC_FILTER:
        for (int i = 0; i < 4; i++)
            if (!listspec_octet_has(&s->octet[i], (a >> (24 - 8 * i)) & 255))
                return false;
        return true;
    case LISTSPEC_MASK:
        return (a & s->mask) != 0;
    }
    return false;
}
