/* The Received:-header walk that finds where a reported message entered
 * the trusted relays, and the parsing of each hop's sending address. */
#include "listing/received_chain.h"
#include "common/addr.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The from-part of a Received: value is short; a longer one is garbage
 * and is looked at only as far as this. */
#define RCHAIN_TEXT_MAX 2048
#define RCHAIN_LITERAL_MAX 64

static bool rchain_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy value with every whitespace run (folding included) as one space
 * and none at either end; returns the length. */
static size_t rchain_normalise(const char *value, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (const char *p = value; *p && n + 1 < cap; p++) {
        if (rchain_is_space(*p)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap)
            out[n++] = ' ';
        space = false;
        out[n++] = *p;
    }
    out[n] = '\0';
    return n;
}

/* The length of the part before " by " (the receiving host's part), or
 * the whole text when there is none. */
static size_t rchain_from_part(const char *text, size_t len)
{
    if (strncasecmp(text, "by ", 3) == 0 || strcasecmp(text, "by") == 0)
        return 0;
    for (size_t i = 0; i + 4 <= len; i++)
        if (strncasecmp(text + i, " by ", 4) == 0)
            return i;
    return len;
}

/* Parse an address literal, as an IPv4-mapped IPv6 address too. */
static int rchain_literal(const char *s, size_t len, int *family, uint8_t addr[16])
{
    char buf[RCHAIN_LITERAL_MAX];
    if (len >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
        s += 5;
        len -= 5;
    }
    if (len == 0 || len >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    uint32_t a4;
    if (addr_ip4_parse(buf, &a4) == 0) {
        *family = 4;
    } else if (strchr(buf, ':') && addr_ip6_parse(buf, addr) == 0) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, sizeof(mapped)) != 0) {
            *family = 6;
            return 0;
        }
        /* Courier and some dual-stack listeners record an IPv4 peer
         * as ::ffff:a.b.c.d. */
        a4 = (uint32_t)addr[12] << 24 | (uint32_t)addr[13] << 16 | (uint32_t)addr[14] << 8 |
             addr[15];
        *family = 4;
    } else {
        return ERR_INVAL;
    }
    memset(addr, 0, 16);
    addr[0] = (uint8_t)(a4 >> 24);
    addr[1] = (uint8_t)(a4 >> 16);
    addr[2] = (uint8_t)(a4 >> 8);
    addr[3] = (uint8_t)a4;
    return 0;
}

/* Whether the literal starting at `at` is a HELO argument: "helo=[ip]"
 * (Exim) or "(HELO [ip])" (qmail). The client chose it, so it proves
 * nothing. */
static bool rchain_after_helo(const char *text, size_t at)
{
    static const char *const marks[] = {"helo=", "helo ", "ehlo=", "ehlo "};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        size_t ml = strlen(marks[i]);
        if (at >= ml && strncasecmp(text + at - ml, marks[i], ml) == 0)
            return true;
    }
    return false;
}

struct rchain_found {
    bool ok;
    int family;
    uint8_t addr[16];
};

static void rchain_keep(struct rchain_found *f, int family, const uint8_t addr[16])
{
    if (f->ok)
        return;
    f->ok = true;
    f->family = family;
    memcpy(f->addr, addr, 16);
}

int rchain_hop_ip(const char *value, int *family, uint8_t addr[16])
{
    char text[RCHAIN_TEXT_MAX];
    if (!value)
        return ERR_NOTFOUND;
    size_t len = rchain_from_part(text, rchain_normalise(value, text, sizeof(text)));

    /* What the receiver recorded sits in a comment: "(rdns [ip])",
     * "([ip] helo=x)", "(ip)". A literal outside any comment is the HELO
     * name (Postfix, Sendmail), except for Exim, which writes "[ip]
     * (helo=x)" when the peer has no reverse name: so it counts only
     * when no comment names an address. */
    struct rchain_found in_comment = {0}, outside = {0};
    unsigned depth = 0;
    for (size_t i = 0; i < len; i++) {
        int fam;
        uint8_t a[16];
        /* A literal is short: look only that far for its end, which
         * keeps a value full of brackets linear to scan. */
        size_t window = len - i - 1 < RCHAIN_LITERAL_MAX ? len - i - 1 : RCHAIN_LITERAL_MAX;
        if (text[i] == '[') {
            const char *close = memchr(text + i + 1, ']', window);
            if (!close)
                continue;
            size_t l = (size_t)(close - (text + i + 1));
            if (rchain_literal(text + i + 1, l, &fam, a) < 0)
                continue;
            if (!rchain_after_helo(text, i))
                rchain_keep(depth > 0 ? &in_comment : &outside, fam, a);
            i += l + 1;
        } else if (text[i] == '(') {
            depth++;
            /* A comment that is just an address: qmail "(1.2.3.4)",
             * Exchange "(2603:10a6:...)". */
            const char *close = memchr(text + i + 1, ')', window);
            if (!close)
                continue;
            size_t l = (size_t)(close - (text + i + 1));
            if (!memchr(text + i + 1, '(', l) && rchain_literal(text + i + 1, l, &fam, a) == 0)
                rchain_keep(&in_comment, fam, a);
        } else if (text[i] == ')' && depth > 0) {
            depth--;
        }
    }
    const struct rchain_found *f = in_comment.ok ? &in_comment : &outside;
    if (!f->ok)
        return ERR_NOTFOUND;
    *family = f->family;
    memcpy(addr, f->addr, 16);
    return 0;
}

/* One "addr[/bits]" token of tl bytes. */
static int rchain_trusted_token(const char *tok, size_t tl, int *family, unsigned *bits,
                                uint8_t addr[16])
{
    char buf[RCHAIN_LITERAL_MAX];
    if (tl >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, tok, tl);
    buf[tl] = '\0';
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    /* A bare "::ffff:1.2.3.4" would quietly become IPv4: take only a
     * plain literal of either family. */
    if (strncasecmp(buf, "IPv6:", 5) == 0 || rchain_literal(buf, strlen(buf), family, addr) < 0 ||
        (*family == 4 && strchr(buf, ':')))
        return ERR_INVAL;
    unsigned max = *family == 4 ? 32 : 128;
    *bits = max;
    if (slash) {
        if (*slash == '\0' || strlen(slash) > 3)
            return ERR_INVAL;
        *bits = 0;
        for (const char *d = slash; *d; d++) {
            if (*d < '0' || *d > '9')
                return ERR_INVAL;
            *bits = *bits * 10 + (unsigned)(*d - '0');
        }
        if (*bits > max)
            return ERR_INVAL;
    }
    /* Host bits under the prefix: likely a typo ("192.0.2.10/24"). */
    for (unsigned b = *bits; b < max; b++)
        if (addr[b / 8] & (0x80 >> (b % 8)))
            return ERR_INVAL;
    return 0;
}

int rchain_trusted_parse(const char *text, struct rchain_trusted *out, const char **bad)
{
    memset(out, 0, sizeof(*out));
    if (bad)
        *bad = NULL;
    const char *p = text ? text : "";
    static const char *const seps = " ,\t\r\n";
    while (*p) {
        p += strspn(p, seps);
        if (!*p)
            break;
        const char *tok = p;
        p += strcspn(p, seps);
        int rc = out->n == RCHAIN_MAX_TRUSTED ? ERR_LIMIT : 0;
        if (rc == 0)
            rc = rchain_trusted_token(tok, (size_t)(p - tok), &out->net[out->n].family,
                                      &out->net[out->n].bits, out->net[out->n].addr);
        if (rc < 0) {
            if (bad)
                *bad = tok;
            return rc;
        }
        out->n++;
    }
    return 0;
}

static bool rchain_in_net(int family, const uint8_t addr[16], int nfamily, unsigned bits,
                          const uint8_t net[16])
{
    if (family != nfamily)
        return false;
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(addr, net, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & mask) == (net[full] & mask);
}

static bool rchain_is_trusted(const struct rchain_trusted *t, int family, const uint8_t addr[16])
{
    /* A connection over loopback comes from the receiving host itself
     * (a content filter handing mail back), never from outside. */
    static const uint8_t lo4[16] = {127}, lo6[16] = {[15] = 1};
    if (rchain_in_net(family, addr, 4, 8, lo4) || rchain_in_net(family, addr, 6, 128, lo6))
        return true;
    for (unsigned i = 0; t && i < t->n && i < RCHAIN_MAX_TRUSTED; i++)
        if (rchain_in_net(family, addr, t->net[i].family, t->net[i].bits, t->net[i].addr))
            return true;
    return false;
}

/* How a header with no sending address began: "from ..." (a hop whose
 * address is missing), or a note with no from-part at all. */
enum rchain_kind { RCHAIN_FROM, RCHAIN_QMAIL_NETWORK, RCHAIN_LOCAL };

static enum rchain_kind rchain_kind(const char *value)
{
    char text[RCHAIN_TEXT_MAX];
    size_t len = rchain_normalise(value ? value : "", text, sizeof(text));
    if (strncasecmp(text, "from ", 5) == 0)
        return RCHAIN_FROM;
    /* qmail stamps "(qmail N invoked from network)" above the header of
     * the very same SMTP session. */
    for (size_t i = 0; i + 20 <= len; i++)
        if (strncasecmp(text + i, "invoked from network", 20) == 0)
            return RCHAIN_QMAIL_NETWORK;
    return RCHAIN_LOCAL;
}

int rchain_source(const char *const *values, size_t n, const struct rchain_trusted *trusted,
                  struct rchain_source *out, char *why, size_t whysz)
{
    char dummy[1];
    if (!why || whysz == 0) {
        why = dummy;
        whysz = sizeof(dummy);
    }
    why[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (n == 0) {
        snprintf(why, whysz, "no Received: headers");
        return ERR_INVAL;
    }
    for (size_t i = 0; i < n; i++) {
        int family;
        uint8_t addr[16];
        if (rchain_hop_ip(values[i], &family, addr) < 0) {
            /* Every header reached so far was written by a trusted host,
             * so this one is too. */
            switch (rchain_kind(values[i])) {
            case RCHAIN_QMAIL_NETWORK:
                continue;
            case RCHAIN_LOCAL:
                snprintf(why, whysz,
                         "Received header %zu (from the top) records a local submission on a "
                         "trusted relay: no hop from outside the trusted relays",
                         i + 1);
                return ERR_NOTFOUND;
            case RCHAIN_FROM:
                break;
            }
            snprintf(why, whysz,
                     "Received header %zu (from the top) names no sending address: the chain "
                     "is broken or forged",
                     i + 1);
            return ERR_INVAL;
        }
        if (rchain_is_trusted(trusted, family, addr))
            continue;
        out->family = family;
        memcpy(out->addr, addr, 16);
        out->hop = (unsigned)i;
        return 0;
    }
    snprintf(why, whysz, "no hop from outside the trusted relays (%zu Received headers)", n);
    return ERR_NOTFOUND;
}
