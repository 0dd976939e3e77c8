/* Parsing of rbldnsd's IPv4 entry syntax (addresses, prefixes, ranges). */
#include "data/ip4parse.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>

static uint32_t mask_of(unsigned bits)
{
    return bits == 0 ? 0 : 0xFFFFFFFFu << (32 - bits);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* What may follow an entry: the end, a blank, a value or a comment. */
static bool is_entry_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == ':' || c == '#' || c == ';';
}

static int fail(const char **why, const char *reason, int code)
{
    if (why)
        *why = reason;
    return code;
}

/* 1..4 dotted octets, high-aligned into *a; returns how many, or 0. */
static unsigned parse_octets(const char **sp, uint32_t *a)
{
    const char *s = *sp;
    unsigned n = 0;
    *a = 0;
    while (n < 4) {
        if (!is_digit(*s))
            return 0;
        uint32_t v = 0;
        while (is_digit(*s)) {
            v = v * 10 + (uint32_t)(*s++ - '0');
            if (v > 255)
                return 0;
        }
        *a |= v << (24 - 8 * n);
        n++;
        if (*s != '.' || n == 4)
            break;
        s++;
    }
    *sp = s;
    return n;
}

static int parse_len(const char **sp, unsigned *bits)
{
    const char *s = *sp;
    unsigned v = 0;
    if (!is_digit(*s))
        return ERR_INVAL;
    while (is_digit(*s)) {
        v = v * 10 + (unsigned)(*s++ - '0');
        if (v > 32)
            return ERR_INVAL;
    }
    *sp = s;
    *bits = v;
    return 0;
}

int ip4parse_range(const char *s, unsigned flags, uint32_t *first, uint32_t *last, int *bits,
                   const char **end, const char **why)
{
    uint32_t a, b;
    unsigned na = parse_octets(&s, &a);
    if (na == 0)
        return fail(why, "invalid IPv4 address", ERR_INVAL);

    if (*s == '-') {
        s++;
        unsigned nb = parse_octets(&s, &b);
        if (nb == 0)
            return fail(why, "invalid end of IPv4 range", ERR_INVAL);
        if (nb == 1 && na > 1) {
            /* "1.2.3.4-20": the end replaces the last octet given. */
            unsigned shift = 32 - 8 * na;
            b = (a & mask_of(8 * (na - 1))) | ((b >> 24) << shift);
        } else if (nb != na) {
            return fail(why, "IPv4 range ends differ in length", ERR_INVAL);
        }
        b |= ~mask_of(8 * na);
        if (!is_entry_end(*s))
            return fail(why, "invalid IPv4 range", ERR_INVAL);
        if (a > b)
            return fail(why, "IPv4 range start is after its end", ERR_INVAL);
        *first = a;
        *last = b;
        *bits = -1;
        if (end)
            *end = s;
        return 0;
    }

    unsigned plen = 8 * na;
    if (*s == '/') {
        s++;
        if (parse_len(&s, &plen))
            return fail(why, "invalid IPv4 prefix length", ERR_INVAL);
    } else if (na == 1) {
        /* A bare number is more likely a typo than 10.0.0.0/8. */
        return fail(why, "invalid IPv4 address (use N/8 for a whole /8)", ERR_INVAL);
    }
    if (!is_entry_end(*s))
        return fail(why, "invalid IPv4 address", ERR_INVAL);
    if (a & ~mask_of(plen)) {
        if (!(flags & IP4PARSE_HOSTBITS))
            return fail(why, "IPv4 prefix has host bits set", ERR_RANGE);
        a &= mask_of(plen);
    }
    *first = a;
    *last = a | ~mask_of(plen);
    *bits = (int)plen;
    if (end)
        *end = s;
    return 0;
}

int ip4parse_cidr(const char *s, unsigned flags, uint32_t *addr, unsigned *bits, const char **end,
                  const char **why)
{
    uint32_t a, b;
    int plen;
    const char *e;
    int rc = ip4parse_range(s, flags, &a, &b, &plen, &e, why);
    if (rc)
        return rc;
    if (plen < 0)
        return fail(why, "IPv4 ranges are not accepted here, only CIDR blocks", ERR_INVAL);
    *addr = a;
    *bits = (unsigned)plen;
    if (end)
        *end = e;
    return 0;
}

int ip4parse_blocks(uint32_t first, uint32_t last, ip4parse_block_fn fn, void *arg)
{
    uint64_t a = first;
    while (a <= last) {
        /* The largest aligned block starting at a that does not pass last. */
        unsigned bits = 32;
        while (bits > 0) {
            uint64_t size = (uint64_t)1 << (32 - (bits - 1));
            if ((a & (size - 1)) != 0 || a + size - 1 > last)
                break;
            bits--;
        }
        int rc = fn((uint32_t)a, bits, arg);
        if (rc)
            return rc;
        a += (uint64_t)1 << (32 - bits);
    }
    return 0;
}
