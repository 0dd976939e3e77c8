/* Fuzz harness for the wire layer: parse the input as a request and, when
 * it parses, write replies to it at several size limits (A, TXT, SOA, NS,
 * MX records with compression and truncation). Every reply is re-read by
 * an independent checker; any broken invariant aborts. */
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/name.h"
#include "wire/wire.h"
#include "fuzz_common.h"

/* Walk a name in a message: in bounds, pointers strictly backwards, at
 * most 255 bytes expanded. Returns the offset after the name in place. */
static size_t check_name(const uint8_t *m, size_t len, size_t off)
{
    size_t after = 0, expanded = 0;
    for (;;) {
        CHECK(off < len);
        uint8_t l = m[off];
        if ((l & 0xc0) == 0xc0) {
            CHECK(off + 1 < len);
            size_t to = (size_t)(l & 0x3f) << 8 | m[off + 1];
            CHECK(to < off);
            if (after == 0)
                after = off + 2;
            off = to;
            continue;
        }
        CHECK(l <= 63);
        expanded += 1u + l;
        CHECK(expanded <= NAME_MAXWIRE);
        CHECK(off + 1u + l <= len);
        off += 1u + l;
        if (l == 0)
            return after ? after : off;
    }
}

/* Re-read a whole reply; checks the header against what we asked for and
 * that the records exactly fill the message. */
static void check_reply(const uint8_t *m, size_t len, const struct wire_query *q,
                        const struct wire_reply *r)
{
    CHECK(len >= WIRE_HEADER_LEN);
    CHECK(len <= r->limit && r->limit <= r->cap);
    CHECK(wire_get16(m) == q->id);
    CHECK(m[2] & 0x80);                          /* QR */
    CHECK(((m[2] >> 3) & 0xf) == q->opcode);     /* opcode */
    CHECK(((m[2] & 0x01) != 0) == q->rd);        /* RD */
    CHECK(((m[2] & 0x02) != 0) == r->truncated); /* TC */
    unsigned qd = wire_get16(m + 4);
    unsigned counts[3] = {wire_get16(m + 6), wire_get16(m + 8), wire_get16(m + 10)};
    for (int s = 0; s < 3; s++)
        CHECK(counts[s] == r->count[s]);
    size_t off = WIRE_HEADER_LEN;
    CHECK(qd <= 1);
    if (qd == 1) {
        /* The question is the client's, byte for byte (0x20 case). */
        CHECK(q->qname_len > 0);
        CHECK(len - off >= q->qname_len + 4);
        CHECK(memcmp(m + off, q->qname, q->qname_len) == 0);
        off += q->qname_len;
        CHECK(wire_get16(m + off) == q->qtype && wire_get16(m + off + 2) == q->qclass);
        off += 4;
    }
    unsigned total = counts[0] + counts[1] + counts[2], opts = 0;
    for (unsigned i = 0; i < total; i++) {
        off = check_name(m, len, off);
        CHECK(len - off >= 10);
        uint16_t type = wire_get16(m + off);
        size_t rdlen = wire_get16(m + off + 8);
        off += 10;
        CHECK(len - off >= rdlen);
        size_t rd = off, end = off + rdlen;
        switch (type) {
        case 2:
        case 5:
        case 12:
            CHECK(check_name(m, end, rd) == end);
            break;
        case 15:
            CHECK(rdlen >= 3);
            CHECK(check_name(m, end, rd + 2) == end);
            break;
        case 6:
            rd = check_name(m, end, rd);
            rd = check_name(m, end, rd);
            CHECK(end - rd == 20);
            break;
        case 16:
            /* Character-strings tile the RDATA. */
            CHECK(rdlen >= 1);
            while (rd < end) {
                rd += 1u + m[rd];
                CHECK(rd <= end);
            }
            break;
        case 41:
            opts++;
            CHECK(i == total - 1); /* OPT comes last */
            CHECK(m[off - 11] == 0);
            CHECK(wire_get16(m + off - 8) == WIRE_EDNS_ADVERTISE);
            break;
        }
        off = end;
    }
    CHECK(off == len);
    CHECK(opts == (q->edns ? 1u : 0u));
}

/* The apex the harness "serves": the last two labels of the query name
 * (or fewer), as the data layer would store it, in lower case. */
static size_t apex_of(const struct wire_query *q, uint8_t *apex)
{
    const uint8_t *p = q->lname;
    unsigned skip = q->qlabels > 2 ? q->qlabels - 2 : 0;
    while (skip--)
        p += *p + 1;
    size_t len = name_wire_len(p);
    memcpy(apex, p, len);
    return len;
}

static uint8_t reply_buf[WIRE_TCP_MAX];

static void answer(const struct wire_query *q, size_t limit, const uint8_t *data, size_t size)
{
    struct wire_reply r;
    wire_reply_init(&r, reply_buf, sizeof(reply_buf), limit, q);
    if (q->edns && q->edns_version > 0) {
        wire_reply_set_rcode(&r, WIRE_RCODE_BADVERS);
        check_reply(reply_buf, wire_reply_finish(&r), q, &r);
        return;
    }

    uint8_t apex[NAME_MAXWIRE], rd[2 * NAME_MAXWIRE + 20];
    size_t apexlen = apex_of(q, apex);
    const uint8_t a[4] = {127, 0, 0, 2};
    int rc = wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 3600, a, 4);
    CHECK(rc == 0 || rc == ERR_SPACE);
    /* The raw input as a TXT template: any length, any '$' pattern. */
    rc = wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 3600, (const char *)data, size, "127.0.0.2", 9);
    CHECK(rc == 0 || rc == ERR_SPACE);
    rc = wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 3600, "", 0, NULL, 0);
    CHECK(rc == 0 || rc == ERR_SPACE);

    /* SOA: "ns" and "hostmaster" under the apex when they fit. */
    size_t n = 0;
    if (apexlen + 3 <= NAME_MAXWIRE) {
        memcpy(rd, "\002ns", 3);
        memcpy(rd + 3, apex, apexlen);
        n = 3 + apexlen;
    } else {
        memcpy(rd, apex, apexlen);
        n = apexlen;
    }
    size_t mname_len = n;
    if (apexlen + 11 <= NAME_MAXWIRE) {
        memcpy(rd + n, "\012hostmaster", 11);
        memcpy(rd + n + 11, apex, apexlen);
        n += 11 + apexlen;
    } else {
        memcpy(rd + n, apex, apexlen);
        n += apexlen;
    }
    memset(rd + n, 0x5a, 20);
    n += 20;
    rc = wire_reply_add(&r, WIRE_AUTHORITY, apex, 6, 3600, rd, (uint16_t)n);
    CHECK(rc == 0 || rc == ERR_SPACE);
    rc = wire_reply_add(&r, WIRE_AUTHORITY, apex, 2, 3600, rd, (uint16_t)mname_len);
    CHECK(rc == 0 || rc == ERR_SPACE);

    uint8_t mx[2 + NAME_MAXWIRE] = {0, 10};
    memcpy(mx + 2, q->lname, q->qname_len);
    rc = wire_reply_add(&r, WIRE_ADDITIONAL, rd, 15, 60, mx, (uint16_t)(2 + q->qname_len));
    CHECK(rc == 0 || rc == ERR_SPACE);
    rc = wire_reply_add(&r, WIRE_ADDITIONAL, rd, 1, 60, a, 4);
    CHECK(rc == 0 || rc == ERR_SPACE);
    /* Out of order: must be refused without touching the packet. */
    size_t before = r.len;
    if (r.count[WIRE_ADDITIONAL] > 0) {
        CHECK(wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 1, a, 4) == ERR_INVAL);
        CHECK(r.len == before);
    }

    size_t len = wire_reply_finish(&r);
    check_reply(reply_buf, len, q, &r);
    CHECK(wire_reply_finish(&r) == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wire_query q;
    int rc = wire_parse_query(data, size, &q);
    if (rc == WIRE_DROP)
        return 0;
    if (rc == WIRE_FORMERR || rc == WIRE_NOTIMP) {
        CHECK(size >= WIRE_HEADER_LEN);
        CHECK(rc == WIRE_FORMERR || q.opcode != 0);
        struct wire_reply r;
        wire_reply_error(&r, reply_buf, sizeof(reply_buf), &q,
                         rc == WIRE_FORMERR ? WIRE_RCODE_FORMERR : WIRE_RCODE_NOTIMP);
        check_reply(reply_buf, wire_reply_finish(&r), &q, &r);
        return 0;
    }
    CHECK(rc == 0);

    /* What the parser promises about an accepted query. */
    CHECK(q.opcode == 0);
    CHECK(q.qname_len >= 1 && q.qname_len <= NAME_MAXWIRE);
    CHECK(name_wire_len(q.qname) == q.qname_len);
    CHECK(name_label_count(q.qname) == q.qlabels);
    CHECK(name_equal(q.qname, q.lname));
    for (size_t i = 0; i < q.qname_len; i++)
        CHECK(!(q.lname[i] >= 'A' && q.lname[i] <= 'Z'));
    CHECK(q.edns_udp >= WIRE_UDP_MIN && q.edns_udp <= WIRE_UDP_MAX);

    const size_t limits[] = {WIRE_UDP_MIN, 530, 600, q.edns_udp, WIRE_TCP_MAX};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        answer(&q, limits[i], data, size);
    return 0;
}
