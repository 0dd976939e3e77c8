/* Parsing and validating a DNS request: header, the single question, and
 * an optional EDNS(0) OPT record; anything else is refused. */
#include "wire/wire.h"

#include <string.h>

#include "common/err.h"

#define FLAG_QR 0x8000u
#define FLAG_RD 0x0100u
#define FLAG_CD 0x0010u
#define TYPE_OPT 41
#define OPT_DO 0x8000u

/* Read the question name at pkt[*pos]. Compression is refused: a query has
 * nothing earlier in the message to point at, so a pointer is either an
 * attack or garbage. Extended label types (0x40, 0x80) are refused too. */
static int read_qname(const uint8_t *pkt, size_t len, size_t *pos, struct wire_query *q)
{
    size_t p = *pos, n = 0;
    unsigned labels = 0;
    for (;;) {
        if (p >= len)
            return WIRE_FORMERR;
        uint8_t l = pkt[p];
        if (l > NAME_MAXLABEL)
            return WIRE_FORMERR;
        if (n + 1u + l > NAME_MAXWIRE || p + 1u + l > len)
            return WIRE_FORMERR;
        memcpy(q->qname + n, pkt + p, 1u + (size_t)l);
        n += 1u + l;
        p += 1u + l;
        if (l == 0)
            break;
        labels++;
    }
    memcpy(q->lname, q->qname, n);
    name_lower(q->lname);
    q->qname_len = n;
    q->qlabels = labels;
    *pos = p;
    return 0;
}

/* EDNS options are code/length/data triples that must tile the RDATA
 * exactly; we use none of them but refuse a malformed list. */
static int check_options(const uint8_t *p, size_t rdlen)
{
    size_t off = 0;
    while (off < rdlen) {
        if (rdlen - off < 4)
            return WIRE_FORMERR;
        size_t olen = wire_get16(p + off + 2);
        if (rdlen - off - 4 < olen)
            return WIRE_FORMERR;
        off += 4 + olen;
    }
    return 0;
}

/* Read the one record allowed in the additional section: an OPT with the
 * root as owner (RFC 6891 6.1.1). */
static int read_opt(const uint8_t *pkt, size_t len, size_t *pos, struct wire_query *q)
{
    size_t p = *pos;
    if (len - p < 11 || pkt[p] != 0)
        return WIRE_FORMERR;
    p++;
    if (wire_get16(pkt + p) != TYPE_OPT)
        return WIRE_FORMERR;
    uint16_t udp = wire_get16(pkt + p + 2);
    uint32_t ttl = wire_get32(pkt + p + 4);
    size_t rdlen = wire_get16(pkt + p + 8);
    p += 10;
    if (len - p < rdlen || check_options(pkt + p, rdlen) != 0)
        return WIRE_FORMERR;
    p += rdlen;

    if (udp < WIRE_UDP_MIN)
        udp = WIRE_UDP_MIN;
    if (udp > WIRE_UDP_MAX)
        udp = WIRE_UDP_MAX;
    q->edns = true;
    q->edns_udp = udp;
    q->edns_version = (uint8_t)(ttl >> 16);
    q->edns_do = (ttl & OPT_DO) != 0;
    *pos = p;
    return 0;
}

/* Everything after the header; returns 0 or WIRE_FORMERR. */
static int parse_body(const uint8_t *pkt, size_t len, struct wire_query *q)
{
    uint16_t qdcount = wire_get16(pkt + 4);
    uint16_t ancount = wire_get16(pkt + 6);
    uint16_t nscount = wire_get16(pkt + 8);
    uint16_t arcount = wire_get16(pkt + 10);
    size_t pos = WIRE_HEADER_LEN;

    if (qdcount != 1)
        return WIRE_FORMERR;
    int rc = read_qname(pkt, len, &pos, q);
    if (rc == 0 && len - pos < 4) {
        /* Name without type and class: the reply must not echo half a
         * question. */
        q->qname_len = 0;
        q->qlabels = 0;
        rc = WIRE_FORMERR;
    }
    if (rc != 0)
        return rc;
    q->qtype = wire_get16(pkt + pos);
    q->qclass = wire_get16(pkt + pos + 2);
    pos += 4;

    if (ancount != 0 || nscount != 0 || arcount > 1)
        return WIRE_FORMERR;
    if (arcount == 1) {
        rc = read_opt(pkt, len, &pos, q);
        if (rc != 0)
            return rc;
    }
    if (pos != len)
        return WIRE_FORMERR; /* trailing bytes */
    return 0;
}

int wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q)
{
    q->id = 0;
    q->opcode = 0;
    q->rd = q->cd = false;
    q->qtype = q->qclass = 0;
    q->qname_len = 0;
    q->qlabels = 0;
    q->qname[0] = q->lname[0] = 0;
    q->edns = false;
    q->edns_version = 0;
    q->edns_do = false;
    q->edns_udp = WIRE_UDP_MIN;

    if (len < WIRE_HEADER_LEN)
        return WIRE_DROP;
    uint16_t flags = wire_get16(pkt + 2);
    if (flags & FLAG_QR)
        return WIRE_DROP; /* never answer a response: reflection loops */
    q->id = wire_get16(pkt);
    q->opcode = (uint8_t)((flags >> 11) & 0xf);
    q->rd = (flags & FLAG_RD) != 0;
    q->cd = (flags & FLAG_CD) != 0;

    int rc = parse_body(pkt, len, q);
    /* An opcode we do not implement wins over format errors; the body was
     * still read so the NOTIMP reply can echo the question and EDNS. */
    if (q->opcode != 0)
        return WIRE_NOTIMP;
    return rc;
}
