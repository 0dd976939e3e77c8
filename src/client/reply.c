/* DNS response parsing for the list client (RFC 1035 message format):
 * the rcode, A and TXT answers, an SOA for negative caching (RFC 2308). */
#include "client/reply.h"
#include "common/err.h"
#include "common/name.h"

#include <string.h>

#define REPLY_HEADER_LEN 12
#define REPLY_CLASS_IN 1
/* More pointers than a legal name has labels is a loop, or an attack. */
#define REPLY_MAX_HOPS NAME_MAXLABELS

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 2181 section 8: a TTL with the top bit set is read as zero. */
static uint32_t ttl_value(uint32_t raw)
{
    return raw & 0x80000000u ? 0 : raw;
}

/* Skip the name at `off`, whose bytes in place must lie before `limit`
 * (the end of an RDATA, or of the message); compression pointers may
 * lead anywhere in the message. Sets *next to the offset after the name
 * in place. Refuses labels over 63 and the extended label types, names
 * over 255 bytes expanded, pointer chains past REPLY_MAX_HOPS, and
 * anything running out of bounds. */
static int skip_name(const uint8_t *pkt, size_t len, size_t off, size_t limit, size_t *next)
{
    size_t end = limit, expanded = 0;
    unsigned hops = 0;
    bool jumped = false;
    for (;;) {
        if (off >= end)
            return ERR_FORMAT;
        uint8_t l = pkt[off];
        if ((l & 0xc0) == 0xc0) {
            if (end - off < 2 || ++hops > REPLY_MAX_HOPS)
                return ERR_FORMAT;
            if (!jumped)
                *next = off + 2;
            jumped = true;
            off = (size_t)(l & 0x3f) << 8 | pkt[off + 1];
            end = len;
            continue;
        }
        if (l > NAME_MAXLABEL)
            return ERR_FORMAT;
        expanded += 1u + l;
        if (expanded > NAME_MAXWIRE)
            return ERR_FORMAT;
        if (l == 0) {
            if (!jumped)
                *next = off + 1;
            return 0;
        }
        /* The label's bytes are checked by the next round's bound: it
         * reads the byte after them. */
        off += 1u + l;
    }
}

/* The name at `off` as text, lower case, without the trailing dot ("."
 * for the root); bounds as skip_name, which has checked it already. */
static int read_name(const uint8_t *pkt, size_t len, size_t off, size_t limit,
                     char out[REPLY_NAME_MAX])
{
    size_t next, n = 0;
    if (skip_name(pkt, len, off, limit, &next) < 0)
        return ERR_FORMAT;
    for (unsigned hops = 0; hops <= REPLY_MAX_HOPS;) {
        uint8_t l = pkt[off];
        if ((l & 0xc0) == 0xc0) {
            off = (size_t)(l & 0x3f) << 8 | pkt[off + 1];
            hops++;
            continue;
        }
        if (l == 0)
            break;
        if (n)
            out[n++] = '.';
        for (unsigned i = 1; i <= l; i++) {
            uint8_t c = pkt[off + i];
            /* NAME_MAXWIRE (255) bounds the text: no label byte is lost. */
            out[n++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c > 0x20 && c < 0x7f ? (char)c : '?';
        }
        off += 1u + l;
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = '\0';
    return 0;
}

int reply_ns(const uint8_t *pkt, size_t len, char (*names)[REPLY_NAME_MAX], unsigned max)
{
    if (len < REPLY_HEADER_LEN || !(pkt[2] & 0x80))
        return ERR_FORMAT;
    unsigned qd = get16(pkt + 4), an = get16(pkt + 6), found = 0;
    size_t off = REPLY_HEADER_LEN;
    for (unsigned i = 0; i < qd; i++) {
        if (skip_name(pkt, len, off, len, &off) < 0 || len - off < 4)
            return ERR_FORMAT;
        off += 4;
    }
    for (unsigned i = 0; i < an; i++) {
        if (skip_name(pkt, len, off, len, &off) < 0 || len - off < 10)
            return ERR_FORMAT;
        uint16_t type = get16(pkt + off), cls = get16(pkt + off + 2);
        size_t rdlen = get16(pkt + off + 8);
        off += 10;
        if (len - off < rdlen)
            return ERR_FORMAT;
        if (type == REPLY_TYPE_NS && cls == 1) {
            char name[REPLY_NAME_MAX];
            size_t next;
            if (read_name(pkt, len, off, off + rdlen, name) < 0 ||
                skip_name(pkt, len, off, off + rdlen, &next) < 0 || next != off + rdlen)
                return ERR_FORMAT;
            if (found < max)
                memcpy(names[found], name, sizeof(name));
            found++;
        }
        off += rdlen;
    }
    return (int)found;
}

/* Check that the TXT RDATA [rd, end) is a run of character-strings, and
 * when `out` is set, join them into it, printable, truncated. */
static int read_txt(const uint8_t *pkt, size_t rd, size_t end, char *out)
{
    size_t n = 0;
    while (rd < end) {
        size_t l = pkt[rd++];
        if (end - rd < l)
            return ERR_FORMAT;
        for (size_t i = 0; out && i < l && n < REPLY_TXT_MAX; i++) {
            uint8_t c = pkt[rd + i];
            out[n++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
        }
        rd += l;
    }
    if (out)
        out[n] = '\0';
    return 0;
}

/* Read the SOA RDATA [rd, end): two names, then serial, refresh, retry,
 * expire and minimum, and nothing after. */
static int read_soa(const uint8_t *pkt, size_t len, size_t rd, size_t end, uint32_t *minimum)
{
    if (skip_name(pkt, len, rd, end, &rd) < 0 || skip_name(pkt, len, rd, end, &rd) < 0)
        return ERR_FORMAT;
    if (end - rd != 20)
        return ERR_FORMAT;
    *minimum = get32(pkt + rd + 16);
    return 0;
}

/* One resource record of the answer (answer true) or authority section,
 * RDATA at [rd, end). */
static int take_record(const uint8_t *pkt, size_t len, bool answer, uint16_t type, uint16_t cls,
                       uint32_t ttl, size_t rd, size_t end, struct reply *out)
{
    if (cls != REPLY_CLASS_IN)
        return 0;
    if (type == REPLY_TYPE_A && answer && end - rd == 4) {
        /* Every A record counts for the TTL, kept or not: the cached
         * entry must not outlive any of the set (RFC 2181 5.2 wants
         * them equal; a mixed set gets the safe choice). */
        if (out->na == 0 || ttl < out->a_ttl)
            out->a_ttl = ttl;
        if (out->na < REPLY_MAX_A)
            out->a[out->na++] = get32(pkt + rd);
    } else if (type == REPLY_TYPE_TXT && answer) {
        /* Later TXT records are checked, not kept: a malformed one
         * means a broken server either way. */
        if (read_txt(pkt, rd, end, out->has_txt ? NULL : out->txt) < 0)
            return ERR_FORMAT;
        if (!out->has_txt) {
            out->has_txt = true;
            out->txt_ttl = ttl;
        }
    } else if (type == REPLY_TYPE_SOA) {
        uint32_t minimum;
        if (read_soa(pkt, len, rd, end, &minimum) < 0)
            return ERR_FORMAT;
        if (!out->has_soa) {
            out->has_soa = true;
            out->soa_in_answer = answer;
            out->soa_ttl = ttl;
            /* RFC 2308 makes the minimum the negative TTL: read it as one. */
            out->soa_minimum = ttl_value(minimum);
        }
    }
    return 0;
}

static int parse(const uint8_t *pkt, size_t len, struct reply *out)
{
    if (len < REPLY_HEADER_LEN || !(pkt[2] & 0x80))
        return ERR_FORMAT;
    out->tc = (pkt[2] & 0x02) != 0;
    out->rcode = pkt[3] & 0x0f;
    unsigned qd = get16(pkt + 4), an = get16(pkt + 6), ns = get16(pkt + 8);

    size_t off = REPLY_HEADER_LEN;
    for (unsigned i = 0; i < qd; i++) {
        if (skip_name(pkt, len, off, len, &off) < 0 || len - off < 4)
            return ERR_FORMAT;
        off += 4;
    }
    /* The additional section is not read: nothing we need is there
     * (the OPT record would only extend the rcode). */
    for (unsigned i = 0; i < an + ns; i++) {
        if (skip_name(pkt, len, off, len, &off) < 0 || len - off < 10)
            return ERR_FORMAT;
        uint16_t type = get16(pkt + off), cls = get16(pkt + off + 2);
        uint32_t ttl = ttl_value(get32(pkt + off + 4));
        size_t rdlen = get16(pkt + off + 8);
        off += 10;
        if (len - off < rdlen)
            return ERR_FORMAT;
        if (take_record(pkt, len, i < an, type, cls, ttl, off, off + rdlen, out) < 0)
            return ERR_FORMAT;
        off += rdlen;
    }
    return 0;
}

int reply_parse(const uint8_t *pkt, size_t len, struct reply *out)
{
    memset(out, 0, sizeof(*out));
    int rc = parse(pkt, len, out);
    if (rc < 0)
        memset(out, 0, sizeof(*out)); /* no half-read reply to misuse */
    return rc;
}

uint32_t reply_cache_ttl(const struct reply *r, uint32_t min_ttl, uint32_t max_ttl)
{
    uint32_t ttl;
    if (r->rcode == 0 && (r->na > 0 || r->has_txt)) {
        ttl = UINT32_MAX;
        if (r->na > 0)
            ttl = r->a_ttl;
        if (r->has_txt && r->txt_ttl < ttl)
            ttl = r->txt_ttl;
    } else if (r->rcode == 0 || r->rcode == 3) {
        /* RFC 2308 section 5: no SOA, no negative caching. */
        if (!r->has_soa)
            return 0;
        ttl = r->soa_ttl < r->soa_minimum ? r->soa_ttl : r->soa_minimum;
    } else {
        return 0;
    }
    if (ttl < min_ttl)
        ttl = min_ttl;
    if (ttl > max_ttl)
        ttl = max_ttl;
    return ttl;
}
