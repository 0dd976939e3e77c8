/* IPv4/IPv6 literal and listen-address parsing. */
#include "common/addr.h"
#include "common/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int addr_ip4_parse(const char *s, uint32_t *out)
{
    uint32_t a = 0;
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9')
            return ERR_INVAL;
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return ERR_INVAL;
        }
        a = (a << 8) | v;
        if (i < 3 && *s++ != '.')
            return ERR_INVAL;
    }
    if (*s != '\0')
        return ERR_INVAL;
    *out = a;
    return 0;
}

int addr_ip4_format(uint32_t a, char out[ADDR_IP4_STRLEN])
{
    /* By hand: this runs for every query, and snprintf costs more than
     * the rest of a lookup. */
    char *p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned v = (a >> shift) & 255;
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        if (shift)
            *p++ = '.';
    }
    *p = '\0';
    return (int)(p - out);
}

int addr_ip6_parse(const char *s, uint8_t out[16])
{
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : ERR_INVAL;
}

int addr_ip6_format(const uint8_t a[16], char out[ADDR_IP6_STRLEN])
{
    if (!inet_ntop(AF_INET6, a, out, ADDR_IP6_STRLEN))
        return ERR_INVAL;
    return (int)strlen(out);
}

int addr_sock_parse(const char *spec, uint16_t default_port, struct addr_sock *out)
{
    char host[ADDR_IP6_STRLEN + 2];
    const char *slash = strrchr(spec, '/');
    size_t hlen = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hlen == 0 || hlen >= sizeof(host))
        return ERR_INVAL;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';

    uint16_t port = default_port;
    if (slash) {
        char *end;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
            return ERR_INVAL;
        port = (uint16_t)p;
    }

    char *h = host;
    if (h[0] == '[' && hlen > 2 && h[hlen - 1] == ']') {
        h[hlen - 1] = '\0';
        h++;
    }

    memset(out, 0, sizeof(*out));
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    if (strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0) {
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        sin->sin_port = htons(port);
        out->len = sizeof(*sin);
    } else if (inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        out->len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        out->len = sizeof(*sin6);
    } else {
        return ERR_INVAL;
    }
    return 0;
}

void addr_sock_format(const struct sockaddr *sa, char *out, size_t outsz)
{
    char host[ADDR_IP6_STRLEN];
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
    } else {
        snprintf(out, outsz, "(unknown family %d)", sa->sa_family);
        return;
    }
    snprintf(out, outsz, "%s/%u", host, port);
}

#define ADDR_MAPPED_LO 0x0000ffff00000000ull /* ::ffff:0:0/96, the low word */

/* The masks of a 128-bit prefix of `bits` (0..128). */
void addr_net_masks(unsigned bits, uint64_t *mhi, uint64_t *mlo)
{
    *mhi = bits >= 64 ? ~0ull : bits == 0 ? 0 : ~0ull << (64 - bits);
    *mlo = bits <= 64 ? 0 : bits >= 128 ? ~0ull : ~0ull << (128 - bits);
}

static uint64_t addr_load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int addr_net_parse(const char *s, struct addr_net *out)
{
    char buf[64];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, s, len + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    unsigned max, base;
    uint32_t a4;
    uint8_t a6[16];
    if (addr_ip4_parse(buf, &a4) == 0) {
        out->hi = 0;
        out->lo = ADDR_MAPPED_LO | a4;
        max = 32;
        base = 96;
    } else if (addr_ip6_parse(buf, a6) == 0) {
        out->hi = addr_load64(a6);
        out->lo = addr_load64(a6 + 8);
        max = 128;
        base = 0;
    } else {
        return ERR_INVAL;
    }
    unsigned bits = max;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        if (*p < '0' || *p > '9')
            return ERR_INVAL;
        unsigned long n = strtoul(p, &end, 10);
        if (*end || n > max)
            return ERR_INVAL;
        bits = (unsigned)n;
    }
    addr_net_masks(base + bits, &out->mhi, &out->mlo);
    out->hi &= out->mhi;
    out->lo &= out->mlo;
    return 0;
}

/* The client's address as 128 bits, IPv4 in its mapped form; false for a
 * family without one. */
bool addr_sock_128(const struct sockaddr *sa, uint64_t *hi, uint64_t *lo)
{
    if (sa->sa_family == AF_INET) {
        const uint8_t *b =
            (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        *hi = 0;
        *lo = ADDR_MAPPED_LO | (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 |
              b[3];
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const uint8_t *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    *hi = addr_load64(b);
    *lo = addr_load64(b + 8);
    return true;
}
