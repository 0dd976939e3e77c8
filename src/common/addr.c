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
