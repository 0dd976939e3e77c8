/* Unit tests for the DNS response parser: A, TXT and SOA records, TTLs,
 * header bits, every malformed-message path, and the RFC 2308 cache TTL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/reply.h"
#include "common/err.h"

/* A message built by hand, byte by byte. */
struct pkt {
    uint8_t b[2048];
    size_t len;
};

#define QR 0x8000
#define TC 0x0200
#define CLASS_IN 1
#define CLASS_CH 3
#define TYPE_CNAME 5
#define TYPE_AAAA 28
#define TYPE_OPT 41

static void put8(struct pkt *p, uint8_t v)
{
    assert_true(p->len < sizeof(p->b));
    p->b[p->len++] = v;
}

static void put16(struct pkt *p, uint16_t v)
{
    put8(p, (uint8_t)(v >> 8));
    put8(p, (uint8_t)v);
}

static void put32(struct pkt *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p, (uint16_t)v);
}

static void put_bytes(struct pkt *p, const void *data, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(p, ((const uint8_t *)data)[i]);
}

static void set16(struct pkt *p, size_t off, uint16_t v)
{
    p->b[off] = (uint8_t)(v >> 8);
    p->b[off + 1] = (uint8_t)v;
}

/* Header: flags (QR, TC, rcode...) and the four counts. */
static void header(struct pkt *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                   uint16_t ar)
{
    p->len = 0;
    put16(p, 0x1234);
    put16(p, flags);
    put16(p, qd);
    put16(p, an);
    put16(p, ns);
    put16(p, ar);
}

/* A dotted name, uncompressed ("" is the root). */
static void put_name(struct pkt *p, const char *text)
{
    while (*text) {
        const char *dot = strchr(text, '.');
        size_t l = dot ? (size_t)(dot - text) : strlen(text);
        put8(p, (uint8_t)l);
        put_bytes(p, text, l);
        text += l + (dot ? 1 : 0);
    }
    put8(p, 0);
}

static void put_ptr(struct pkt *p, uint16_t to)
{
    put16(p, (uint16_t)(0xc000 | to));
}

static void question(struct pkt *p, const char *name, uint16_t type)
{
    put_name(p, name);
    put16(p, type);
    put16(p, CLASS_IN);
}

/* The fixed part of a record whose owner is the name at offset 12 (the
 * question's); the RDATA follows. */
static void rr_head(struct pkt *p, uint16_t type, uint16_t cls, uint32_t ttl, uint16_t rdlen)
{
    put_ptr(p, 12);
    put16(p, type);
    put16(p, cls);
    put32(p, ttl);
    put16(p, rdlen);
}

static void rr_a(struct pkt *p, uint32_t ttl, uint32_t addr)
{
    rr_head(p, REPLY_TYPE_A, CLASS_IN, ttl, 4);
    put32(p, addr);
}

/* A TXT record of `n` character-strings. */
static void rr_txt(struct pkt *p, uint32_t ttl, const char *const *strings, size_t n)
{
    size_t rdlen = 0;
    for (size_t i = 0; i < n; i++)
        rdlen += 1 + strlen(strings[i]);
    rr_head(p, REPLY_TYPE_TXT, CLASS_IN, ttl, (uint16_t)rdlen);
    for (size_t i = 0; i < n; i++) {
        put8(p, (uint8_t)strlen(strings[i]));
        put_bytes(p, strings[i], strlen(strings[i]));
    }
}

/* An SOA whose names point at the question name, as servers compress it. */
static void rr_soa(struct pkt *p, uint32_t ttl, uint32_t minimum)
{
    rr_head(p, REPLY_TYPE_SOA, CLASS_IN, ttl, 2 + 2 + 20);
    put_ptr(p, 12);
    put_ptr(p, 12);
    put32(p, 2024010101);
    put32(p, 3600);
    put32(p, 600);
    put32(p, 604800);
    put32(p, minimum);
}

static int parse(const struct pkt *p, struct reply *r)
{
    return reply_parse(p->b, p->len, r);
}

/* A reply with junk everywhere, to see that a failed parse clears it. */
static void dirty(struct reply *r)
{
    memset(r, 0x5a, sizeof(*r));
}

static void assert_cleared(const struct reply *r)
{
    struct reply zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(r, &zero, sizeof(zero));
}

static void assert_format(const struct pkt *p)
{
    struct reply r;
    dirty(&r);
    assert_int_equal(parse(p, &r), ERR_FORMAT);
    assert_cleared(&r);
}

static void test_a_records(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 4, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    /* A CNAME first: the A records belong to its target, and count. */
    rr_head(&p, TYPE_CNAME, CLASS_IN, 900, 11);
    put_name(&p, "x.example");
    size_t target = p.len - 11;
    put_ptr(&p, (uint16_t)target);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    put32(&p, 300);
    put16(&p, 4);
    put32(&p, 0x7f000002);
    rr_a(&p, 60, 0x7f00000a);
    rr_a(&p, 120, 0x7f000004);

    struct reply r;
    dirty(&r);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.rcode, 0);
    assert_false(r.tc);
    assert_int_equal(r.na, 3);
    assert_int_equal(r.a[0], 0x7f000002);
    assert_int_equal(r.a[1], 0x7f00000a);
    assert_int_equal(r.a[2], 0x7f000004);
    assert_int_equal(r.a_ttl, 60);
    assert_false(r.has_txt);
    assert_string_equal(r.txt, "");
    assert_false(r.has_soa);
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 60);
}

static void test_a_more_than_max(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, REPLY_MAX_A + 4, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    for (uint32_t i = 0; i < REPLY_MAX_A + 4; i++)
        rr_a(&p, i == REPLY_MAX_A + 2 ? 30 : 600, 0x7f000000 + i);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, REPLY_MAX_A);
    assert_int_equal(r.a[0], 0x7f000000);
    assert_int_equal(r.a[REPLY_MAX_A - 1], 0x7f000000 + REPLY_MAX_A - 1);
    /* A record past the kept ones still bounds the TTL. */
    assert_int_equal(r.a_ttl, 30);

    /* ...and the rest is still read: a broken record there is an error. */
    p.b[p.len - 5] = 5; /* the last rdlength now runs past the end */
    assert_format(&p);
}

static void test_a_filters(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 5, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_A, CLASS_CH, 10, 4); /* other class */
    put32(&p, 0x0a000001);
    rr_head(&p, REPLY_TYPE_A, CLASS_IN, 10, 5); /* not an address */
    put_bytes(&p, "\x0a\x00\x00\x02\x00", 5);
    rr_head(&p, TYPE_AAAA, CLASS_IN, 10, 16);
    put_bytes(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    rr_head(&p, REPLY_TYPE_A, CLASS_IN, 10, 3); /* short */
    put_bytes(&p, "\x0a\x00\x00", 3);
    rr_a(&p, 500, 0x7f000003);
    rr_a(&p, 10, 0x0a000004); /* authority: not an answer */
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 1);
    assert_int_equal(r.a[0], 0x7f000003);
    assert_int_equal(r.a_ttl, 500);
}

static void test_txt_strings(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 3, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_TXT);
    rr_a(&p, 100, 0x7f000002);
    const char *first[] = {"Listed: ", "", "see http://bl.example/\x01\x7f\xff"};
    rr_txt(&p, 2000, first, 3);
    const char *second[] = {"second record"};
    rr_txt(&p, 5, second, 1);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_true(r.has_txt);
    assert_string_equal(r.txt, "Listed: see http://bl.example/???");
    /* The first record's TTL, not the second's. */
    assert_int_equal(r.txt_ttl, 2000);
    assert_int_equal(r.na, 1);
    /* Both A and TXT: the smaller TTL. */
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 100);
}

static void test_txt_truncated(void **state)
{
    (void)state;
    char a[201], b[201], c[201];
    memset(a, 'a', 200);
    memset(b, 'b', 200);
    memset(c, 'c', 200);
    a[200] = b[200] = c[200] = '\0';
    const char *strings[] = {a, b, c};
    struct pkt p;
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_TXT);
    rr_txt(&p, 60, strings, 3);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(strlen(r.txt), REPLY_TXT_MAX);
    assert_int_equal(r.txt[399], 'b');
    assert_int_equal(r.txt[400], 'c');
    assert_int_equal(r.txt[REPLY_TXT_MAX - 1], 'c');
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 60);
}

static void test_txt_empty_rdata(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_TXT);
    rr_head(&p, REPLY_TYPE_TXT, CLASS_IN, 77, 0);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_true(r.has_txt);
    assert_string_equal(r.txt, "");
    assert_int_equal(r.txt_ttl, 77);
}

static void test_txt_malformed(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_TXT);
    /* A string of 5 in an RDATA of 4, with bytes after it in the packet. */
    rr_head(&p, REPLY_TYPE_TXT, CLASS_IN, 60, 4);
    put_bytes(&p,
              "\x05"
              "abcdefgh",
              9);
    assert_format(&p);

    /* The second TXT record is checked too. */
    const char *ok[] = {"fine"};
    header(&p, QR, 1, 2, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_TXT);
    rr_txt(&p, 60, ok, 1);
    rr_head(&p, REPLY_TYPE_TXT, CLASS_IN, 60, 3);
    put_bytes(&p, "\x01x\x02", 3);
    assert_format(&p);

    /* A TXT of another class is skipped unread. */
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "version.bind", REPLY_TYPE_TXT);
    rr_head(&p, REPLY_TYPE_TXT, CLASS_CH, 60, 1);
    put8(&p, 9);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_false(r.has_txt);
}

static void test_soa_authority(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR | 3, 1, 0, 2, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_soa(&p, 3600, 900);
    rr_soa(&p, 5, 5); /* a second one is checked, not kept */
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.rcode, 3);
    assert_true(r.has_soa);
    assert_false(r.soa_in_answer);
    assert_int_equal(r.soa_ttl, 3600);
    assert_int_equal(r.soa_minimum, 900);
    assert_int_equal(r.na, 0);
}

static void test_soa_answer(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 1, 1, 0);
    question(&p, "bl.example", REPLY_TYPE_SOA);
    /* Uncompressed names this time. */
    rr_head(&p, REPLY_TYPE_SOA, CLASS_IN, 86400, 0);
    size_t rdlen_at = p.len - 2;
    put_name(&p, "ns.bl.example");
    put_name(&p, "hostmaster.example");
    for (int i = 0; i < 4; i++)
        put32(&p, 1);
    put32(&p, 120);
    set16(&p, rdlen_at, (uint16_t)(p.len - rdlen_at - 2));
    rr_soa(&p, 7, 7);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_true(r.has_soa);
    assert_true(r.soa_in_answer);
    assert_int_equal(r.soa_ttl, 86400);
    assert_int_equal(r.soa_minimum, 120);
}

static void test_soa_malformed(void **state)
{
    (void)state;
    struct pkt p;
    /* 21 bytes after the names. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_SOA, CLASS_IN, 60, 25);
    put_ptr(&p, 12);
    put_ptr(&p, 12);
    for (int i = 0; i < 21; i++)
        put8(&p, 0);
    assert_format(&p);

    /* 19. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_SOA, CLASS_IN, 60, 23);
    put_ptr(&p, 12);
    put_ptr(&p, 12);
    for (int i = 0; i < 19; i++)
        put8(&p, 0);
    assert_format(&p);

    /* The second name runs past the RDATA, though not past the packet. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_SOA, CLASS_IN, 60, 4);
    put_ptr(&p, 12);
    put_name(&p, "hostmaster.example");
    for (int i = 0; i < 20; i++)
        put8(&p, 0);
    assert_format(&p);

    /* A pointer in the RDATA may lead past its end, into the message
     * (here forward, to the next record's owner). */
    header(&p, QR | 3, 1, 0, 2, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_SOA, CLASS_IN, 60, 24);
    size_t next_owner = p.len + 24;
    put_ptr(&p, 12);
    put_ptr(&p, (uint16_t)next_owner);
    for (int i = 0; i < 20; i++)
        put8(&p, 0);
    put_name(&p, "ns.example");
    put16(&p, TYPE_AAAA);
    put16(&p, CLASS_IN);
    put32(&p, 60);
    put16(&p, 0);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_true(r.has_soa);

    /* An SOA of another class is skipped unread. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_SOA, CLASS_CH, 60, 1);
    put8(&p, 0xff);
    assert_int_equal(parse(&p, &r), 0);
    assert_false(r.has_soa);
}

static void test_ttl_top_bit(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 3, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_a(&p, 0x7fffffff, 0x7f000002);
    rr_a(&p, 0x80000001, 0x7f000003);
    const char *s[] = {"x"};
    rr_txt(&p, 0xffffffff, s, 1);
    rr_soa(&p, 0x80000000, 0x90000000);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 2);
    assert_int_equal(r.a_ttl, 0);
    assert_int_equal(r.txt_ttl, 0);
    assert_int_equal(r.soa_ttl, 0);
    assert_int_equal(r.soa_minimum, 0);

    header(&p, QR, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_a(&p, 0x7fffffff, 0x7f000002);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.a_ttl, 0x7fffffff);
}

static void test_header_bits(void **state)
{
    (void)state;
    struct pkt p;
    struct reply r;
    /* QR unset: a query, not a reply. */
    header(&p, 0x0100, 1, 0, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    assert_format(&p);

    /* TC and SERVFAIL, among AA, RD and RA. */
    header(&p, QR | 0x0400 | TC | 0x0100 | 0x0080 | 2, 1, 0, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    assert_int_equal(parse(&p, &r), 0);
    assert_true(r.tc);
    assert_int_equal(r.rcode, 2);

    /* REFUSED; the Z, AD and CD bits are not the rcode. */
    header(&p, QR | 0x0070 | 5, 1, 0, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    assert_int_equal(parse(&p, &r), 0);
    assert_false(r.tc);
    assert_int_equal(r.rcode, 5);

    /* The opcode does not matter; rcode 15 is kept as it is. */
    header(&p, QR | 0x7800 | 15, 0, 0, 0, 0);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.rcode, 15);
}

static void test_question_counts(void **state)
{
    (void)state;
    struct pkt p;
    struct reply r;
    /* No question. */
    header(&p, QR, 0, 1, 0, 0);
    put_name(&p, "a.example");
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    put32(&p, 42);
    put16(&p, 4);
    put32(&p, 0x7f000002);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 1);
    assert_int_equal(r.a[0], 0x7f000002);
    assert_int_equal(r.a_ttl, 42);

    /* Two questions, the second compressed. */
    header(&p, QR, 2, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    put_ptr(&p, 12);
    put16(&p, REPLY_TYPE_TXT);
    put16(&p, CLASS_IN);
    rr_a(&p, 9, 0x7f000009);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 1);
    assert_int_equal(r.a[0], 0x7f000009);

    /* A question without its class. */
    header(&p, QR, 1, 0, 0, 0);
    put_name(&p, "bl.example");
    put16(&p, REPLY_TYPE_A);
    assert_format(&p);

    /* More questions than the packet holds. */
    header(&p, QR, 2, 0, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    assert_format(&p);
}

static void test_additional_not_read(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 1, 0, 3);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_a(&p, 300, 0x7f000002);
    /* OPT, then an A (not an answer), then the count runs out. */
    put8(&p, 0);
    put16(&p, TYPE_OPT);
    put16(&p, 1232);
    put32(&p, 0x01000000); /* extended rcode bits: not used */
    put16(&p, 0);
    rr_a(&p, 1, 0x0a000001);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.na, 1);
    assert_int_equal(r.a_ttl, 300);
}

static void test_truncated_header(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 0, 0, 0, 0);
    struct reply r;
    for (size_t n = 0; n < 12; n++) {
        dirty(&r);
        assert_int_equal(reply_parse(p.b, n, &r), ERR_FORMAT);
        assert_cleared(&r);
    }
    assert_int_equal(reply_parse(p.b, 12, &r), 0);
    assert_int_equal(r.na, 0);
    assert_false(r.has_soa);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR | 3, 1, 2, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_TXT);
    rr_a(&p, 60, 0x7f000002);
    const char *s[] = {"listed", "here"};
    rr_txt(&p, 60, s, 2);
    rr_soa(&p, 60, 60);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);
    /* Every byte is needed: each shorter prefix is refused. */
    for (size_t n = 12; n < p.len; n++) {
        dirty(&r);
        assert_int_equal(reply_parse(p.b, n, &r), ERR_FORMAT);
        assert_cleared(&r);
    }
}

static void test_rdlength_past_end(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_head(&p, TYPE_AAAA, CLASS_IN, 60, 17);
    for (int i = 0; i < 16; i++)
        put8(&p, 0);
    assert_format(&p);
    put8(&p, 0);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);

    /* The largest rdlength in a small packet. */
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    rr_head(&p, REPLY_TYPE_A, CLASS_IN, 60, 0xffff);
    put32(&p, 0x7f000002);
    assert_format(&p);
}

static void test_pointer_loops(void **state)
{
    (void)state;
    struct pkt p;
    /* An owner name pointing at itself. */
    header(&p, QR, 0, 1, 0, 0);
    put_ptr(&p, 12);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    put32(&p, 60);
    put16(&p, 4);
    put32(&p, 0x7f000002);
    assert_format(&p);

    /* Two pointers at each other: 12 -> 14 -> 12 (the second is the
     * question's type field). */
    header(&p, QR, 1, 0, 0, 0);
    put_ptr(&p, 14);
    put_ptr(&p, 12);
    put16(&p, CLASS_IN);
    assert_format(&p);

    /* A label, then a pointer back to it: grows without end. */
    header(&p, QR, 1, 0, 0, 0);
    put8(&p, 1);
    put8(&p, 'a');
    put_ptr(&p, 12);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    assert_format(&p);

    /* A pointer in an SOA's RDATA that loops. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "bl.example", REPLY_TYPE_A);
    size_t rdata = p.len + 12;
    rr_head(&p, REPLY_TYPE_SOA, CLASS_IN, 60, 24);
    put_ptr(&p, (uint16_t)rdata);
    put_ptr(&p, 12);
    for (int i = 0; i < 20; i++)
        put8(&p, 0);
    assert_format(&p);
}

static void test_pointer_targets(void **state)
{
    (void)state;
    struct pkt p;
    struct reply r;
    /* Forward past the end. */
    header(&p, QR, 1, 0, 0, 0);
    put_ptr(&p, 0x3fff);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    assert_format(&p);

    /* Just past the end. */
    header(&p, QR, 1, 0, 0, 0);
    put_ptr(&p, 18);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    assert_int_equal(p.len, 18);
    assert_format(&p);

    /* A pointer cut after its first byte. */
    header(&p, QR, 1, 0, 0, 0);
    put8(&p, 0xc0);
    assert_format(&p);

    /* Forward but inside the packet: the name is read where it points
     * (RFC 1035 means backwards, but nothing is unsafe here). */
    header(&p, QR, 1, 1, 0, 0);
    put_ptr(&p, 18);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    put_name(&p, "a.example");
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    put32(&p, 60);
    put16(&p, 4);
    put32(&p, 0x7f000002);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 1);

    /* The target's label runs past the end. */
    header(&p, QR, 1, 0, 0, 0);
    put_ptr(&p, 18);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    put8(&p, 5);
    put_bytes(&p, "abc", 3);
    assert_format(&p);
}

static void test_label_too_long(void **state)
{
    (void)state;
    struct pkt p;
    char label[65];
    memset(label, 'x', 64);
    label[64] = '\0';
    header(&p, QR, 1, 0, 0, 0);
    question(&p, label, REPLY_TYPE_A);
    assert_format(&p);

    /* 63 is fine. */
    label[63] = '\0';
    header(&p, QR, 1, 0, 0, 0);
    question(&p, label, REPLY_TYPE_A);
    struct reply r;
    assert_int_equal(parse(&p, &r), 0);

    /* The extended label type 0x40 and the reserved 0x80. */
    for (unsigned first = 0x40; first <= 0x80; first += 0x40) {
        header(&p, QR, 1, 0, 0, 0);
        put8(&p, (uint8_t)first);
        put8(&p, 0);
        put8(&p, 0);
        put16(&p, REPLY_TYPE_A);
        put16(&p, CLASS_IN);
        assert_format(&p);
    }
}

/* A name of `labels` labels of 63 bytes and one of `last` bytes. */
static void long_name(char *out, unsigned labels, unsigned last)
{
    char *o = out;
    for (unsigned i = 0; i < labels; i++) {
        memset(o, 'y', 63);
        o += 63;
        *o++ = '.';
    }
    memset(o, 'z', last);
    o[last] = '\0';
}

static void test_name_too_long(void **state)
{
    (void)state;
    struct pkt p;
    struct reply r;
    char name[300];
    /* 3 x 64 + 62 + 1 = 255: the longest. */
    long_name(name, 3, 61);
    header(&p, QR, 1, 0, 0, 0);
    question(&p, name, REPLY_TYPE_A);
    assert_int_equal(parse(&p, &r), 0);
    /* 256. */
    long_name(name, 3, 62);
    header(&p, QR, 1, 0, 0, 0);
    question(&p, name, REPLY_TYPE_A);
    assert_format(&p);

    /* Too long only when the pointer is followed: 2 x 64 in place,
     * then a pointer to 2 x 64 + 1 more. */
    long_name(name, 1, 63);
    header(&p, QR, 2, 0, 0, 0);
    question(&p, name, REPLY_TYPE_A);
    put8(&p, 63);
    put_bytes(&p, name, 63);
    put8(&p, 63);
    put_bytes(&p, name, 63);
    put_ptr(&p, 12);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    assert_format(&p);
    /* The same with one label less in place fits (64 + 129 = 193). */
    header(&p, QR, 2, 0, 0, 0);
    question(&p, name, REPLY_TYPE_A);
    put8(&p, 63);
    put_bytes(&p, name, 63);
    put_ptr(&p, 12);
    put16(&p, REPLY_TYPE_A);
    put16(&p, CLASS_IN);
    assert_int_equal(parse(&p, &r), 0);
}

static void test_counts_past_end(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, QR, 1, 2, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_a(&p, 60, 0x7f000002);
    assert_format(&p);
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    assert_format(&p);
    header(&p, QR, 0xffff, 0xffff, 0xffff, 0xffff);
    assert_format(&p);
}

static void test_failure_clears(void **state)
{
    (void)state;
    struct pkt p;
    struct reply r;
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_a(&p, 60, 0x7f000002);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 1);
    /* The same struct reused for a broken reply: nothing of the first. */
    p.b[2] &= 0x7f;
    assert_int_equal(parse(&p, &r), ERR_FORMAT);
    assert_cleared(&r);
}

/* Cache TTLs from replies set up directly, then from parsed ones. */
static struct reply positive(uint32_t a_ttl)
{
    struct reply r;
    memset(&r, 0, sizeof(r));
    r.na = 1;
    r.a[0] = 0x7f000002;
    r.a_ttl = a_ttl;
    return r;
}

static struct reply negative(int rcode, uint32_t soa_ttl, uint32_t minimum)
{
    struct reply r;
    memset(&r, 0, sizeof(r));
    r.rcode = rcode;
    r.has_soa = true;
    r.soa_ttl = soa_ttl;
    r.soa_minimum = minimum;
    return r;
}

static void test_cache_positive(void **state)
{
    (void)state;
    struct reply r = positive(600);
    assert_int_equal(reply_cache_ttl(&r, 10, 3600), 600);
    assert_int_equal(reply_cache_ttl(&r, 900, 3600), 900); /* raised to the floor */
    assert_int_equal(reply_cache_ttl(&r, 10, 300), 300);   /* cut to the ceiling */
    r = positive(0);
    assert_int_equal(reply_cache_ttl(&r, 0, 3600), 0);
    assert_int_equal(reply_cache_ttl(&r, 5, 3600), 5);

    /* TXT alone is positive too; with an SOA beside it, the SOA does not count. */
    memset(&r, 0, sizeof(r));
    r.has_txt = true;
    r.txt_ttl = 1200;
    r.has_soa = true;
    r.soa_ttl = r.soa_minimum = 30;
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 1200);
    r.na = 1;
    r.a_ttl = 2400;
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 1200);
    r.a_ttl = 50;
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 50);
}

static void test_cache_negative(void **state)
{
    (void)state;
    /* NXDOMAIN: the smaller of the SOA's TTL and its minimum. */
    struct reply r = negative(3, 3600, 900);
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 900);
    r = negative(3, 300, 900);
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 300);
    assert_int_equal(reply_cache_ttl(&r, 600, 86400), 600);
    assert_int_equal(reply_cache_ttl(&r, 0, 120), 120);
    /* NODATA: NOERROR without records. */
    r = negative(0, 3600, 60);
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 60);
    r.soa_in_answer = true;
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 60);
    /* No SOA: not cached, whatever the floor. */
    memset(&r, 0, sizeof(r));
    r.rcode = 3;
    assert_int_equal(reply_cache_ttl(&r, 60, 86400), 0);
    r.rcode = 0;
    assert_int_equal(reply_cache_ttl(&r, 60, 86400), 0);
    /* NXDOMAIN with an A record is still negative. */
    r = negative(3, 100, 200);
    r.na = 1;
    r.a_ttl = 5000;
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 100);
}

static void test_cache_never(void **state)
{
    (void)state;
    static const int rcodes[] = {1, 2, 4, 5, 9, 15};
    for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
        struct reply r = positive(600);
        r.rcode = rcodes[i];
        r.has_soa = true;
        r.soa_ttl = r.soa_minimum = 600;
        assert_int_equal(reply_cache_ttl(&r, 60, 86400), 0);
    }
}

static void test_cache_parsed(void **state)
{
    (void)state;
    struct pkt p;
    struct reply r;
    /* NXDOMAIN, SOA minimum under its TTL. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_soa(&p, 3600, 300);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 300);
    /* ...and over it. */
    header(&p, QR | 3, 1, 0, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_soa(&p, 200, 86400);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(reply_cache_ttl(&r, 0, 86400), 200);
    /* NODATA: an A query for a name with only TXT. */
    header(&p, QR, 1, 0, 1, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_soa(&p, 1800, 1800);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.na, 0);
    assert_int_equal(reply_cache_ttl(&r, 0, 900), 900);
    /* SERVFAIL. */
    header(&p, QR | 2, 1, 0, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(r.rcode, 2);
    assert_int_equal(reply_cache_ttl(&r, 60, 86400), 0);
    /* NXDOMAIN through a CNAME, no SOA. */
    header(&p, QR | 3, 1, 1, 0, 0);
    question(&p, "2.0.0.127.bl.example", REPLY_TYPE_A);
    rr_head(&p, TYPE_CNAME, CLASS_IN, 900, 11);
    put_name(&p, "x.example");
    assert_int_equal(parse(&p, &r), 0);
    assert_int_equal(reply_cache_ttl(&r, 60, 86400), 0);
}

/* The NS targets of an answer: plain, compressed against the owner,
 * upper case folded; other types skipped; more than max counted. */
static void test_ns_names(void **state)
{
    (void)state;
    struct pkt p;
    char names[2][REPLY_NAME_MAX];
    header(&p, QR, 1, 4, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_NS);
    rr_head(&p, REPLY_TYPE_NS, CLASS_IN, 3600, 15);
    put_name(&p, "NS1.Other.org");              /* 1+3 + 1+5 + 1+3 + 1 bytes */
    rr_head(&p, REPLY_TYPE_A, CLASS_IN, 60, 4); /* not an NS: skipped */
    put32(&p, 0x7f000002);
    rr_head(&p, REPLY_TYPE_NS, CLASS_IN, 3600, 6);
    put_bytes(&p, "\003ns2", 4);
    put_ptr(&p, 12); /* ns2.bl.example */
    rr_head(&p, REPLY_TYPE_NS, CLASS_IN, 3600, 6);
    put_bytes(&p, "\003ns3", 4);
    put_ptr(&p, 12);
    assert_int_equal(reply_ns(p.b, p.len, names, 2), 3);
    assert_string_equal(names[0], "ns1.other.org");
    assert_string_equal(names[1], "ns2.bl.example");

    /* None: 0, and NXDOMAIN the same. */
    header(&p, QR | 3, 1, 0, 0, 0);
    question(&p, "gone.example", REPLY_TYPE_NS);
    assert_int_equal(reply_ns(p.b, p.len, names, 2), 0);

    /* An NS whose name runs past its RDATA, or a query (QR clear). */
    header(&p, QR, 1, 1, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_NS);
    rr_head(&p, REPLY_TYPE_NS, CLASS_IN, 3600, 3);
    put_name(&p, "ns1.example");
    assert_int_equal(reply_ns(p.b, p.len, names, 2), ERR_FORMAT);
    header(&p, 0, 1, 0, 0, 0);
    question(&p, "bl.example", REPLY_TYPE_NS);
    assert_int_equal(reply_ns(p.b, p.len, names, 2), ERR_FORMAT);
    assert_int_equal(reply_ns(p.b, 5, names, 2), ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_records),         cmocka_unit_test(test_a_more_than_max),
        cmocka_unit_test(test_a_filters),         cmocka_unit_test(test_txt_strings),
        cmocka_unit_test(test_txt_truncated),     cmocka_unit_test(test_txt_empty_rdata),
        cmocka_unit_test(test_txt_malformed),     cmocka_unit_test(test_soa_authority),
        cmocka_unit_test(test_soa_answer),        cmocka_unit_test(test_soa_malformed),
        cmocka_unit_test(test_ttl_top_bit),       cmocka_unit_test(test_header_bits),
        cmocka_unit_test(test_question_counts),   cmocka_unit_test(test_additional_not_read),
        cmocka_unit_test(test_truncated_header),  cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_rdlength_past_end), cmocka_unit_test(test_pointer_loops),
        cmocka_unit_test(test_pointer_targets),   cmocka_unit_test(test_label_too_long),
        cmocka_unit_test(test_name_too_long),     cmocka_unit_test(test_counts_past_end),
        cmocka_unit_test(test_failure_clears),    cmocka_unit_test(test_cache_positive),
        cmocka_unit_test(test_cache_negative),    cmocka_unit_test(test_cache_never),
        cmocka_unit_test(test_cache_parsed),      cmocka_unit_test(test_ns_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
