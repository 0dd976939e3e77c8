/* Listing keys: parsing, formatting, containment and the public-space test. */
#include "listing/netkey.h"
#include "common/addr.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* The mask of a prefix of `bits` within a key of `width` bits (32 or 64). */
static uint64_t netkey_mask(unsigned bits, unsigned width)
{
    if (bits == 0)
        return 0;
    uint64_t all = width == 64 ? UINT64_MAX : ((uint64_t)1 << width) - 1;
    if (bits >= width) /* a key from elsewhere may claim more bits than exist */
        return all;
    return all & ~(((uint64_t)1 << (width - bits)) - 1);
}

static unsigned netkey_width(const struct netkey *k)
{
    return k->family == 4 ? 32 : 64;
}

void netkey_from_ip4(uint32_t addr, struct netkey *out)
{
    memset(out, 0, sizeof(*out));
    out->family = 4;
    out->bits = 32;
    out->hi = addr;
}

void netkey_from_ip6(const uint8_t addr[16], struct netkey *out)
{
    memset(out, 0, sizeof(*out));
    out->family = 6;
    out->bits = 64;
    for (int i = 0; i < 8; i++)
        out->hi = out->hi << 8 | addr[i];
}

/* A prefix length: plain decimal digits only, at most max. */
static int netkey_parse_bits(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    if (*s == '\0')
        return ERR_INVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return ERR_INVAL;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > 128)
            return ERR_INVAL;
    }
    if (v == 0 || v > max)
        return ERR_INVAL;
    *out = v;
    return 0;
}

int netkey_parse(const char *text, struct netkey *out)
{
    char buf[NETKEY_STRLEN];
    size_t len = strlen(text);
    if (len == 0 || len >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, text, len + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';

    struct netkey k;
    if (strchr(buf, ':')) {
        uint8_t a[16];
        if (addr_ip6_parse(buf, a) < 0)
            return ERR_INVAL;
        unsigned bits = 64;
        if (slash) {
            /* Accept up to /128 here only to say precisely why it fails:
             * a host route is not a listing key. */
            if (netkey_parse_bits(slash, 128, &bits) < 0 || bits > 64)
                return ERR_INVAL;
            for (int i = 8; i < 16; i++)
                if (a[i] != 0)
                    return ERR_INVAL;
        }
        netkey_from_ip6(a, &k);
        k.bits = (uint8_t)bits;
    } else {
        uint32_t a;
        if (addr_ip4_parse(buf, &a) < 0)
            return ERR_INVAL;
        unsigned bits = 32;
        if (slash && netkey_parse_bits(slash, 32, &bits) < 0)
            return ERR_INVAL;
        netkey_from_ip4(a, &k);
        k.bits = (uint8_t)bits;
    }
    if ((k.hi & ~netkey_mask(k.bits, netkey_width(&k))) != 0)
        return ERR_INVAL; /* host bits under the prefix: a likely typo */
    *out = k;
    return 0;
}

int netkey_format(const struct netkey *k, char *out, size_t outsz)
{
    char addr[ADDR_IP6_STRLEN];
    int n;
    if (k->family == 4) {
        addr_ip4_format((uint32_t)k->hi, addr);
        n = k->bits == 32 ? snprintf(out, outsz, "%s", addr)
                          : snprintf(out, outsz, "%s/%u", addr, (unsigned)k->bits);
    } else if (k->family == 6) {
        uint8_t a[16] = {0};
        for (int i = 0; i < 8; i++)
            a[i] = (uint8_t)(k->hi >> (56 - 8 * i));
        addr_ip6_format(a, addr);
        n = snprintf(out, outsz, "%s/%u", addr, (unsigned)k->bits);
    } else {
        return ERR_INVAL;
    }
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz > 0)
            out[0] = '\0';
        return ERR_SPACE;
    }
    return n;
}

bool netkey_contains(const struct netkey *outer, const struct netkey *inner)
{
    if (outer->family != inner->family || outer->bits > inner->bits)
        return false;
    return (inner->hi & netkey_mask(outer->bits, netkey_width(outer))) == outer->hi;
}

/* Two prefixes overlap exactly when one contains the other. */
static bool netkey_overlaps(const struct netkey *a, const struct netkey *b)
{
    return netkey_contains(a, b) || netkey_contains(b, a);
}

struct netkey_range {
    uint8_t family;
    uint8_t bits; /* IPv6 ranges longer than /64 are kept as their /64:
                     a key (at most /64) overlaps them exactly when it
                     overlaps that /64 */
    uint64_t hi;
    const char *why;
};

#define V4(a, b, c, d) ((uint64_t)(a) << 24 | (uint64_t)(b) << 16 | (uint64_t)(c) << 8 | (d))
#define V6(a, b, c, d) ((uint64_t)(a) << 48 | (uint64_t)(b) << 32 | (uint64_t)(c) << 16 | (d))

static const struct netkey_range netkey_reserved[] = {
    {4, 8, V4(0, 0, 0, 0), "\"this network\" 0.0.0.0/8"},
    {4, 8, V4(10, 0, 0, 0), "private 10.0.0.0/8 (RFC 1918)"},
    {4, 10, V4(100, 64, 0, 0), "carrier-grade NAT 100.64.0.0/10"},
    {4, 8, V4(127, 0, 0, 0), "loopback 127.0.0.0/8"},
    {4, 16, V4(169, 254, 0, 0), "link-local 169.254.0.0/16"},
    {4, 12, V4(172, 16, 0, 0), "private 172.16.0.0/12 (RFC 1918)"},
    {4, 24, V4(192, 0, 0, 0), "IETF protocol assignments 192.0.0.0/24"},
    {4, 24, V4(192, 0, 2, 0), "documentation 192.0.2.0/24"},
    {4, 24, V4(192, 88, 99, 0), "6to4 relay anycast 192.88.99.0/24"},
    {4, 16, V4(192, 168, 0, 0), "private 192.168.0.0/16 (RFC 1918)"},
    {4, 15, V4(198, 18, 0, 0), "benchmarking 198.18.0.0/15"},
    {4, 24, V4(198, 51, 100, 0), "documentation 198.51.100.0/24"},
    {4, 24, V4(203, 0, 113, 0), "documentation 203.0.113.0/24"},
    {4, 4, V4(224, 0, 0, 0), "multicast 224.0.0.0/4"},
    {4, 4, V4(240, 0, 0, 0), "reserved 240.0.0.0/4"}, /* holds 255.255.255.255 */
    {6, 64, V6(0, 0, 0, 0), "unspecified, loopback or IPv4-mapped (::/64)"},
    {6, 64, V6(0x64, 0xff9b, 0, 0), "NAT64 64:ff9b::/96"},
    {6, 64, V6(0x100, 0, 0, 0), "discard-only 100::/64"},
    {6, 32, V6(0x2001, 0x0db8, 0, 0), "documentation 2001:db8::/32"},
    {6, 23, V6(0x2001, 0, 0, 0), "IETF protocol assignments 2001::/23"},
    {6, 16, V6(0x2002, 0, 0, 0), "6to4 2002::/16"},
    {6, 7, V6(0xfc00, 0, 0, 0), "unique local fc00::/7"},
    {6, 10, V6(0xfe80, 0, 0, 0), "link-local fe80::/10"},
    {6, 8, V6(0xff00, 0, 0, 0), "multicast ff00::/8"},
};

bool netkey_is_public(const struct netkey *k, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (k->family != 4 && k->family != 6) {
        *why = "not an IPv4 or IPv6 key";
        return false;
    }
    for (size_t i = 0; i < sizeof(netkey_reserved) / sizeof(netkey_reserved[0]); i++) {
        const struct netkey_range *r = &netkey_reserved[i];
        struct netkey rk = {.family = r->family, .bits = r->bits, .hi = r->hi};
        if (netkey_overlaps(&rk, k)) {
            *why = r->why;
            return false;
        }
    }
    /* Only 2000::/3 is allocated as global unicast; the special ranges
     * above name the common cases outside it more precisely. */
    struct netkey global = {.family = 6, .bits = 3, .hi = V6(0x2000, 0, 0, 0)};
    if (k->family == 6 && !netkey_contains(&global, k)) {
        *why = "outside global unicast 2000::/3";
        return false;
    }
    return true;
}

void netkey_net24(const struct netkey *k, struct netkey *out)
{
    *out = *k;
    /* Only IPv4 keys longer than /24 narrow; a wider block or an IPv6
     * key already is the unit escalation works on. */
    if (k->family == 4 && k->bits > 24) {
        out->bits = 24;
        out->hi = k->hi & netkey_mask(24, 32);
    }
}
