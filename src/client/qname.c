/* Query names of DNS lists: reversed IPv4 octets, reversed IPv6
 * nibbles, or a domain, under the list's zone. */
#include "client/qname.h"
#include "common/addr.h"
#include "common/err.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define QNAME_MAX 253

/* Labels of letters, digits, '-' and '_', 1..63 bytes, at least two. */
static bool qname_valid_domain(const char *d, size_t len)
{
    size_t label = 0, labels = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0)
                return false;
            labels++;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && labels >= 1;
}

int qname_subject_parse(const char *text, struct qname_subject *out)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(out, 0, sizeof(*out));
    if (addr_ip4_parse(text, &out->ip4) == 0) {
        out->kind = QNAME_IP4;
        return 0;
    }
    if (strchr(text, ':')) {
        if (addr_ip6_parse(text, out->ip6) != 0)
            return ERR_INVAL;
        if (!memcmp(out->ip6, mapped, sizeof(mapped))) {
            out->kind = QNAME_IP4;
            out->ip4 = (uint32_t)out->ip6[12] << 24 | (uint32_t)out->ip6[13] << 16 |
                       (uint32_t)out->ip6[14] << 8 | out->ip6[15];
            memset(out->ip6, 0, sizeof(out->ip6));
            return 0;
        }
        out->kind = QNAME_IP6;
        return 0;
    }
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] == '.')
        len--;
    if (len == 0 || len > QNAME_MAX || !qname_valid_domain(text, len))
        return ERR_INVAL;
    for (size_t i = 0; i < len; i++)
        out->domain[i] = (char)tolower((unsigned char)text[i]);
    out->domain[len] = '\0';
    out->kind = QNAME_DOMAIN;
    return 0;
}

int qname_subject_format(const struct qname_subject *s, char *out, size_t outsz)
{
    char buf[ADDR_IP6_STRLEN];
    const char *text = buf;
    if (s->kind == QNAME_IP4)
        addr_ip4_format(s->ip4, buf);
    else if (s->kind == QNAME_IP6)
        addr_ip6_format(s->ip6, buf);
    else
        text = s->domain;
    int n = snprintf(out, outsz, "%s", text);
    return n < 0 || (size_t)n >= outsz ? ERR_SPACE : n;
}

int qname_build(const struct qname_subject *s, const char *zone, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    char head[QNAME_MAX + 1];
    size_t n = 0;
    if (s->kind == QNAME_IP4) {
        n = (size_t)snprintf(head, sizeof(head), "%u.%u.%u.%u", s->ip4 & 0xff, s->ip4 >> 8 & 0xff,
                             s->ip4 >> 16 & 0xff, s->ip4 >> 24);
    } else if (s->kind == QNAME_IP6) {
        for (int i = 15; i >= 0; i--) {
            head[n++] = hex[s->ip6[i] & 0xf];
            head[n++] = '.';
            head[n++] = hex[s->ip6[i] >> 4];
            head[n++] = '.';
        }
        n--; /* the last dot */
        head[n] = '\0';
    } else {
        n = (size_t)snprintf(head, sizeof(head), "%s", s->domain);
    }
    int len = snprintf(out, outsz, "%s.%s", head, zone);
    if (len < 0 || (size_t)len >= outsz || len > QNAME_MAX)
        return ERR_SPACE;
    return len;
}

void qname_random_label(char out[21])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t r[16];
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t k = getrandom(r + got, sizeof(r) - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    /* Without the kernel's randomness (never seen), the clock's nanoseconds
     * still give a label no cache has seen. */
    if (got < sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
        for (size_t i = got; i < sizeof(r); i++, x = x * 6364136223846793005ull + 1)
            r[i] = (uint8_t)(x >> 56);
    }
    memcpy(out, "dbk-", 4);
    for (size_t i = 0; i < sizeof(r); i++)
        out[4 + i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[20] = '\0';
}
