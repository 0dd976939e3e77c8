/* Decoding a query name once for every dataset of a zone: reversed IPv4
 * octets, reversed IPv6 nibbles, the name as text, and the client. */
#include "common/addr.h"
#include "common/name.h"
#include "data/dataset.h"
#include "data/ip6parse.h"

#include <netinet/in.h>
#include <string.h>

/* One label of a reversed IPv4 name: 1..3 decimal digits, value 0..255.
 * Leading zeros ("01") are accepted because rbldnsd accepts them. */
static bool ip4_label(const uint8_t *l, unsigned len, uint32_t *out)
{
    uint32_t v = 0;
    if (len < 1 || len > 3)
        return false;
    for (unsigned i = 0; i < len; i++) {
        if (l[i] < '0' || l[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(l[i] - '0');
    }
    if (v > 255)
        return false;
    *out = v;
    return true;
}

static void decode_ip4(struct ds_query *q)
{
    const uint8_t *p = q->sub, *end = q->sub + q->sublen;
    uint32_t oct[4];
    unsigned n = 0;
    while (p < end) {
        unsigned len = *p++;
        if (n == 4 || len > (size_t)(end - p) || !ip4_label(p, len, &oct[n]))
            return;
        n++;
        p += len;
    }
    if (n == 0)
        return;
    /* The first label is the last octet given: "3.2.1" -> 1.2.3.0. */
    uint32_t a = 0;
    for (unsigned i = 0; i < n; i++)
        a |= oct[n - 1 - i] << (24 - 8 * i);
    q->ip4 = a;
    q->ip4_octets = n;
}

static void decode_ip6(struct ds_query *q)
{
    const uint8_t *p = q->sub, *end = q->sub + q->sublen;
    uint8_t nib[32];
    unsigned n = 0;
    while (p < end) {
        unsigned len = *p++;
        int v;
        if (n == 32 || len != 1 || p >= end || (v = ip6parse_hexdigit(*p)) < 0)
            return;
        nib[n++] = (uint8_t)v;
        p++;
    }
    if (n == 0)
        return;
    memset(q->ip6, 0, sizeof(q->ip6));
    for (unsigned i = 0; i < n; i++) {
        unsigned pos = n - 1 - i; /* nibble position from the left */
        q->ip6[pos / 2] |= (uint8_t)(pos % 2 ? nib[i] : nib[i] << 4);
    }
    q->ip6_nibbles = n;
}

static void name_text(struct ds_query *q)
{
    uint8_t wire[NAME_MAXWIRE + 1];
    q->name_text[0] = '\0';
    q->name_text_len = 0;
    if (q->sublen == 0 || q->sublen >= NAME_MAXWIRE)
        return;
    memcpy(wire, q->sub, q->sublen);
    wire[q->sublen] = 0;
    int n = name_to_text(wire, q->name_text, sizeof(q->name_text));
    if (n < 0) {
        q->name_text[0] = '\0';
        return;
    }
    q->name_text_len = (size_t)n;
}

void ds_query_init(struct ds_query *q, const uint8_t *sub, size_t sublen)
{
    q->sub = sub;
    q->sublen = sublen;
    q->sublabels = 0;
    for (size_t off = 0; off < sublen; off += 1 + (size_t)sub[off])
        q->sublabels++;
    q->ip4_octets = 0;
    q->ip4 = 0;
    q->ip6_nibbles = 0;
    memset(q->ip6, 0, sizeof(q->ip6));
    q->as_built = false;
    q->client_family = 0;
    q->client_ip4 = 0;
    memset(q->client_ip6, 0, sizeof(q->client_ip6));
    q->client_text[0] = '\0';
    q->client_text_len = 0;

    decode_ip4(q);
    decode_ip6(q);
    q->ip_text[0] = '\0';
    q->ip_text_len = 0;
    if (q->ip4_octets == 4) {
        char buf[ADDR_IP4_STRLEN];
        int n = addr_ip4_format(q->ip4, buf);
        memcpy(q->ip_text, buf, (size_t)n + 1);
        q->ip_text_len = (size_t)n;
    } else if (q->ip6_nibbles == 32) {
        char buf[ADDR_IP6_STRLEN];
        int n = addr_ip6_format(q->ip6, buf);
        if (n > 0) {
            memcpy(q->ip_text, buf, (size_t)n + 1);
            q->ip_text_len = (size_t)n;
        }
    }
    name_text(q);
}

void ds_query_set_client(struct ds_query *q, const void *sockaddr)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    const struct sockaddr *sa = sockaddr;
    q->client_family = 0;
    q->client_ip4 = 0;
    memset(q->client_ip6, 0, sizeof(q->client_ip6));
    q->client_text[0] = '\0';
    q->client_text_len = 0;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = sockaddr;
        q->client_family = AF_INET;
        q->client_ip4 = ntohl(sin->sin_addr.s_addr);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = sockaddr;
        const uint8_t *b = sin6->sin6_addr.s6_addr;
        if (memcmp(b, v4mapped, 12) == 0) {
            /* A dual-stack socket's IPv4 client is an IPv4 client. */
            q->client_family = AF_INET;
            q->client_ip4 =
                (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        } else {
            q->client_family = AF_INET6;
            memcpy(q->client_ip6, b, 16);
        }
    } else {
        return;
    }
    char buf[ADDR_IP6_STRLEN];
    int n = q->client_family == AF_INET ? addr_ip4_format(q->client_ip4, buf)
                                        : addr_ip6_format(q->client_ip6, buf);
    if (n > 0 && (size_t)n < sizeof(q->client_text)) {
        memcpy(q->client_text, buf, (size_t)n + 1);
        q->client_text_len = (size_t)n;
    }
}
