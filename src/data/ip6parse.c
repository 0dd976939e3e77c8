/* Parsing of IPv6 prefixes and CIDR ranges as rbldnsd data files write them. */
#include "data/ip6parse.h"
#include "common/err.h"

#include <string.h>

int ip6parse_prefix(const char *s, uint8_t out[16], unsigned *bits, const char **end)
{
    unsigned nbytes = 0;
    int gap = -1; /* byte offset where "::" stands */

    memset(out, 0, 16);
    if (s[0] == ':' && s[1] == ':') {
        gap = 0;
        s += 2;
    }
    for (;;) {
        unsigned v = 0, digits = 0;
        int h;
        while ((h = ip6parse_hexdigit(*s)) >= 0) {
            if (++digits > 4)
                return ERR_INVAL;
            v = (v << 4) | (unsigned)h;
            s++;
        }
        if (digits == 0) {
            /* Only "::" may end without a group after it ("2001:db8::"). */
            if (gap < 0 || (nbytes > 0 && gap != (int)nbytes))
                return ERR_INVAL;
            break;
        }
        out[nbytes++] = (uint8_t)(v >> 8);
        out[nbytes++] = (uint8_t)v;
        if (*s != ':' || nbytes == 16)
            break;
        if (s[1] == ':') {
            if (gap >= 0)
                return ERR_INVAL; /* a second "::" */
            gap = (int)nbytes;
            s += 2;
            if (*s == ':')
                return ERR_INVAL;
        } else if (ip6parse_hexdigit(s[1]) >= 0) {
            s++;
        } else {
            break; /* this ':' starts the value part */
        }
    }
    if (gap >= 0) {
        unsigned zeros = 16 - nbytes;
        if (zeros == 0)
            return ERR_INVAL;
        memmove(out + gap + zeros, out + gap, nbytes - (unsigned)gap);
        memset(out + gap, 0, zeros);
        *bits = 128;
    } else {
        *bits = nbytes * 8;
    }
    *end = s;
    return 0;
}

int ip6parse_cidr(const char *s, uint8_t out[16], unsigned *bits, const char **end)
{
    int rc = ip6parse_prefix(s, out, bits, &s);
    if (rc < 0)
        return rc;
    if (*s == '/') {
        unsigned n = 0, digits = 0;
        s++;
        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || n > 128)
                return ERR_INVAL;
        }
        if (digits == 0)
            return ERR_INVAL;
        *bits = n;
    } else if (*bits == 16) {
        return ERR_INVAL;
    }
    *end = s;
    return 0;
}

bool ip6parse_mask(uint8_t a[16], unsigned bits)
{
    bool host = false;
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
        uint8_t mask = (uint8_t)(keep == 0 ? 0 : 0xff << (8 - keep));
        if (a[i] & ~mask)
            host = true;
        a[i] &= mask;
    }
    return host;
}

bool ip6parse_tail_ok(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '#' || c == ';' || c == ':';
}
