/* Tests for wire_parse_query: well-formed requests, EDNS, and every way a
 * request can be malformed. Packets are built by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "wire/wire.h"
#include "wiretest.h"

/* A standard query for `name`/`type`, RD set, with `ar` OPT records. */
static void make_query(struct pkt *p, const char *name, uint16_t type, unsigned ar)
{
    put_header(p, 0xbeef, 0x0100, 1, 0, 0, (uint16_t)ar);
    put_question(p, name, type);
    for (unsigned i = 0; i < ar; i++)
        put_opt(p, 1232, 0, false);
}

/* The same query with one OPT record given by put_opt's arguments. */
static void make_edns_query(struct pkt *p, const char *name, uint16_t type, uint16_t udp,
                            uint8_t version, bool dnssec_ok)
{
    make_query(p, name, type, 0);
    wire_put16(p->b + 10, 1);
    put_opt(p, udp, version, dnssec_ok);
}

static int parse(const struct pkt *p, struct wire_query *q)
{
    return wire_parse_query(p->b, p->n, q);
}

static void test_plain_query(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "2.0.0.127.Bl.Example", 16, 0);
    assert_int_equal(parse(&p, &q), 0);
    assert_int_equal(q.id, 0xbeef);
    assert_int_equal(q.opcode, 0);
    assert_true(q.rd);
    assert_false(q.cd);
    assert_int_equal(q.qtype, 16);
    assert_int_equal(q.qclass, 1);
    assert_int_equal(q.qname_len, 22);
    assert_int_equal(q.qlabels, 6);
    assert_memory_equal(q.qname, "\0012\0010\0010\003127\002Bl\007Example", 22);
    assert_memory_equal(q.lname, "\0012\0010\0010\003127\002bl\007example", 22);
    assert_false(q.edns);
    assert_int_equal(q.edns_udp, WIRE_UDP_MIN);
}

static void test_flags_rd_clear_cd_set(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "x.example", 1, 0);
    wire_put16(p.b + 2, 0x0010);
    assert_int_equal(parse(&p, &q), 0);
    assert_false(q.rd);
    assert_true(q.cd);
}

static void test_root_name(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, ".", 2, 0);
    assert_int_equal(parse(&p, &q), 0);
    assert_int_equal(q.qname_len, 1);
    assert_int_equal(q.qlabels, 0);
    assert_int_equal(q.qtype, 2);
}

static void test_edns_fields(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_edns_query(&p, "a.example", 1, 1400, 0, true);
    assert_int_equal(parse(&p, &q), 0);
    assert_true(q.edns);
    assert_true(q.edns_do);
    assert_int_equal(q.edns_version, 0);
    assert_int_equal(q.edns_udp, 1400);
}

static void test_edns_udp_clamped(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_edns_query(&p, "a.example", 1, 65000, 0, false);
    assert_int_equal(parse(&p, &q), 0);
    assert_int_equal(q.edns_udp, WIRE_UDP_MAX);
    assert_false(q.edns_do);

    make_edns_query(&p, "a.example", 1, 100, 0, false);
    assert_int_equal(parse(&p, &q), 0);
    assert_int_equal(q.edns_udp, WIRE_UDP_MIN);
}

static void test_edns_version_above_zero_parses(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_edns_query(&p, "a.example", 1, 1232, 1, false);
    assert_int_equal(parse(&p, &q), 0);
    assert_true(q.edns);
    assert_int_equal(q.edns_version, 1);
}

static void test_edns_options(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    /* A client cookie (option 10, 8 bytes) is fine... */
    make_edns_query(&p, "a.example", 1, 1232, 0, false);
    wire_put16(p.b + p.n - 2, 12);
    put16(&p, 10);
    put16(&p, 8);
    put32(&p, 0x01020304);
    put32(&p, 0x05060708);
    assert_int_equal(parse(&p, &q), 0);
    assert_true(q.edns);

    /* ...but an option whose length runs past the RDATA is not. */
    wire_put16(p.b + p.n - 10, 9);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_false(q.edns);

    /* Nor is RDATA that ends inside an option header. */
    make_edns_query(&p, "a.example", 1, 1232, 0, false);
    wire_put16(p.b + p.n - 2, 3);
    put16(&p, 10);
    put8(&p, 0);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void test_drop_short_and_responses(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "a.example", 1, 0);
    assert_int_equal(wire_parse_query(p.b, 11, &q), WIRE_DROP);
    assert_int_equal(wire_parse_query(p.b, 0, &q), WIRE_DROP);
    wire_put16(p.b + 2, 0x8100);
    assert_int_equal(parse(&p, &q), WIRE_DROP);
}

static void test_notimp_keeps_question(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "a.example", 6, 0);
    wire_put16(p.b + 2, 2 << 11 | 0x0100); /* STATUS */
    assert_int_equal(parse(&p, &q), WIRE_NOTIMP);
    assert_int_equal(q.opcode, 2);
    assert_int_equal(q.id, 0xbeef);
    assert_true(q.rd);
    assert_int_equal(q.qname_len, 11);
    assert_int_equal(q.qtype, 6);

    /* A NOTIFY carries an answer section: still NOTIMP, not FORMERR. */
    make_query(&p, "a.example", 6, 0);
    wire_put16(p.b + 2, 4 << 11);
    wire_put16(p.b + 6, 1);
    assert_int_equal(parse(&p, &q), WIRE_NOTIMP);
    assert_int_equal(q.opcode, 4);

    /* An unknown opcode with garbage after the header. */
    put_header(&p, 7, 15 << 11, 0xffff, 0xffff, 0xffff, 0xffff);
    put8(&p, 0xc0);
    assert_int_equal(parse(&p, &q), WIRE_NOTIMP);
    assert_int_equal(q.qname_len, 0);
}

static void test_formerr_qdcount(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "a.example", 1, 0);
    wire_put16(p.b + 4, 0);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_int_equal(q.id, 0xbeef);
    assert_true(q.rd);
    assert_int_equal(q.qname_len, 0);

    /* Two questions, both present in the packet. */
    make_query(&p, "a.example", 1, 0);
    wire_put16(p.b + 4, 2);
    put_question(&p, "b.example", 1);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_int_equal(q.qname_len, 0);
}

static void test_formerr_truncated_header_counts(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    /* A bare header that promises a question. */
    put_header(&p, 1, 0, 1, 0, 0, 0);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_int_equal(q.qname_len, 0);
}

static void test_formerr_truncated_question(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "abc.example", 1, 0);
    /* Cut inside a label, at a length byte, and inside type/class. */
    size_t cuts[] = {13, 16, 24, 25, 26, 27};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        assert_int_equal(wire_parse_query(p.b, cuts[i], &q), WIRE_FORMERR);
        assert_int_equal(q.qname_len, 0);
    }
    assert_int_equal(wire_parse_query(p.b, 29, &q), 0);
}

static void test_formerr_label_too_long(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    char label[65];
    memset(label, 'a', 64);
    label[64] = 0;
    make_query(&p, label, 1, 0);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);

    label[63] = 0; /* 63 is the longest allowed */
    make_query(&p, label, 1, 0);
    assert_int_equal(parse(&p, &q), 0);
    assert_int_equal(q.qname_len, 65);

    /* Extended label type 0x40 (RFC 6891 obsoleted it). */
    make_query(&p, "a.example", 1, 0);
    p.b[12] = 0x41;
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

/* Labels of 1+62 bytes until `total` wire bytes (root included). */
static void put_long_name(struct pkt *p, size_t total)
{
    size_t left = total - 1;
    while (left > 0) {
        size_t l = left - 1 > 62 ? 62 : left - 1;
        put8(p, (uint8_t)l);
        memset(p->b + p->n, 'x', l);
        p->n += l;
        left -= l + 1;
    }
    put8(p, 0);
}

static void test_name_length_limit(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    put_header(&p, 1, 0, 1, 0, 0, 0);
    put_long_name(&p, 255);
    put16(&p, 1);
    put16(&p, 1);
    assert_int_equal(parse(&p, &q), 0);
    assert_int_equal(q.qname_len, 255);

    put_header(&p, 1, 0, 1, 0, 0, 0);
    put_long_name(&p, 256);
    put16(&p, 1);
    put16(&p, 1);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_int_equal(q.qname_len, 0);
}

static void test_formerr_compression_pointer(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    put_header(&p, 1, 0, 1, 0, 0, 0);
    put8(&p, 1);
    put8(&p, 'a');
    put16(&p, 0xc00c); /* points at itself: a loop if followed */
    put16(&p, 1);
    put16(&p, 1);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_int_equal(q.qname_len, 0);
}

static void test_formerr_other_sections(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    for (int field = 6; field <= 8; field += 2) {
        make_query(&p, "a.example", 1, 0);
        wire_put16(p.b + field, 1);
        put_question(&p, "", 1);
        put32(&p, 0);
        put16(&p, 0);
        assert_int_equal(parse(&p, &q), WIRE_FORMERR);
        /* The question itself was fine, so the reply can echo it. */
        assert_int_equal(q.qname_len, 11);
    }
}

static void test_formerr_trailing_bytes(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "a.example", 1, 0);
    put8(&p, 0);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_int_equal(q.qname_len, 11);

    make_query(&p, "a.example", 1, 1);
    put16(&p, 0);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void test_formerr_two_opts(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "a.example", 1, 2);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void test_formerr_bad_additional(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    /* OPT with a non-root owner. */
    make_query(&p, "a.example", 1, 0);
    wire_put16(p.b + 10, 1);
    put8(&p, 1);
    put8(&p, 'x');
    put_opt(&p, 1232, 0, false);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
    assert_false(q.edns);

    /* An A record where the OPT would be. */
    make_edns_query(&p, "a.example", 1, 1232, 0, false);
    wire_put16(p.b + p.n - 10, 1);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);

    /* OPT cut short, and OPT with RDATA past the end. */
    make_query(&p, "a.example", 1, 1);
    assert_int_equal(wire_parse_query(p.b, p.n - 1, &q), WIRE_FORMERR);
    wire_put16(p.b + p.n - 2, 4);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

static void test_formerr_huge_counts(void **state)
{
    (void)state;
    struct pkt p;
    struct wire_query q;
    make_query(&p, "a.example", 1, 0);
    wire_put16(p.b + 6, 0xffff);
    wire_put16(p.b + 8, 0xffff);
    wire_put16(p.b + 10, 0xffff);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);

    make_query(&p, "a.example", 1, 0);
    wire_put16(p.b + 4, 0xffff);
    assert_int_equal(parse(&p, &q), WIRE_FORMERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_query),
        cmocka_unit_test(test_flags_rd_clear_cd_set),
        cmocka_unit_test(test_root_name),
        cmocka_unit_test(test_edns_fields),
        cmocka_unit_test(test_edns_udp_clamped),
        cmocka_unit_test(test_edns_version_above_zero_parses),
        cmocka_unit_test(test_edns_options),
        cmocka_unit_test(test_drop_short_and_responses),
        cmocka_unit_test(test_notimp_keeps_question),
        cmocka_unit_test(test_formerr_qdcount),
        cmocka_unit_test(test_formerr_truncated_header_counts),
        cmocka_unit_test(test_formerr_truncated_question),
        cmocka_unit_test(test_formerr_label_too_long),
        cmocka_unit_test(test_name_length_limit),
        cmocka_unit_test(test_formerr_compression_pointer),
        cmocka_unit_test(test_formerr_other_sections),
        cmocka_unit_test(test_formerr_trailing_bytes),
        cmocka_unit_test(test_formerr_two_opts),
        cmocka_unit_test(test_formerr_bad_additional),
        cmocka_unit_test(test_formerr_huge_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
