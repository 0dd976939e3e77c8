/* Tests for the reply writer: exact bytes, 0x20 case echo, compression,
 * truncation, EDNS and BADVERS, error replies, TXT templates; replies are
 * also decoded by dnspython as an independent check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/name.h"
#include "wire/wire.h"
#include "wiretest.h"

/* Build a query and parse it; returns what wire_parse_query returned. */
static int make_query(struct wire_query *q, const char *name, uint16_t type, bool edns,
                      uint16_t udp, uint8_t version, bool dnssec_ok)
{
    struct pkt p;
    put_header(&p, 0x1234, 0x0100, 1, 0, 0, edns ? 1 : 0);
    put_question(&p, name, type);
    if (edns)
        put_opt(&p, udp, version, dnssec_ok);
    return wire_parse_query(p.b, p.n, q);
}

/* Append a record's fixed part: owner as a compression pointer to
 * `owner_at`, `type`, class IN, `ttl`, `rdlen`; the RDATA follows. */
static void put_rr(struct pkt *p, uint16_t owner_at, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    put16(p, 0xc000 | owner_at);
    put16(p, type);
    put16(p, 1);
    put32(p, ttl);
    put16(p, rdlen);
}

static void wname(uint8_t out[NAME_MAXWIRE], const char *text)
{
    size_t len;
    assert_int_equal(name_from_text(text, out, &len), 0);
}

/* Decode a message with dnspython and return its text rendering (one
 * line per record, sections tagged; static storage, valid until the next
 * call), or NULL when dnspython is missing. */
static const char *dnspython_decode(const uint8_t *msg, size_t len)
{
    static const char script[] =
        "import sys\n"
        "try:\n"
        "    import dns.message, dns.rdatatype, dns.rcode, dns.flags\n"
        "except ImportError:\n"
        "    sys.exit(77)\n"
        "m = dns.message.from_wire(open(sys.argv[1], 'rb').read())\n"
        "print('rcode', dns.rcode.to_text(m.rcode()))\n"
        "print('flags', dns.flags.to_text(m.flags))\n"
        "print('edns', m.edns, m.payload, m.ednsflags)\n"
        "for q in m.question:\n"
        "    print('Q', q.name.to_text(), dns.rdatatype.to_text(q.rdtype))\n"
        "for tag, sec in (('AN', m.answer), ('NS', m.authority), ('AR', m.additional)):\n"
        "    for rrset in sec:\n"
        "        for rd in rrset:\n"
        "            print(tag, rrset.name.to_text(), rrset.ttl,\n"
        "                  dns.rdatatype.to_text(rrset.rdtype), rd.to_text())\n";
    char path[] = "/tmp/dbk_wire_msg_XXXXXX";
    char spath[] = "/tmp/dbk_wire_py_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, msg, len), (ssize_t)len);
    close(fd);
    fd = mkstemp(spath);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, script, sizeof(script) - 1), (ssize_t)(sizeof(script) - 1));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s 2>&1", spath, path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    static char out[65536];
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = 0;
    int st = pclose(f);
    unlink(path);
    unlink(spath);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        return NULL;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("dnspython rejected the message:\n%s", out);
    return out;
}

static void expect_dnspython(const uint8_t *msg, size_t len, const char *want)
{
    const char *got = dnspython_decode(msg, len);
    if (got == NULL) {
        skip();
        return;
    }
    if (strcmp(got, want) != 0)
        fail_msg("dnspython decoded:\n%s\nexpected:\n%s", got, want);
}

static void test_exact_bytes(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "2.0.0.127.Bl.Example", 255, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    const uint8_t a[4] = {127, 0, 0, 2};
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 2100, a, 4), 0);
    assert_int_equal(
        wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 2100, "Listed: $", 9, "127.0.0.2", 9), 0);
    size_t len = wire_reply_finish(&r);

    struct pkt w;
    put_header(&w, 0x1234, 0x8500, 1, 2, 0, 0); /* QR AA RD, NOERROR */
    put_question(&w, "2.0.0.127.Bl.Example", 255);
    put_rr(&w, 0x0c, 1, 2100, 4);
    put_raw(&w, a, 4);
    put_rr(&w, 0x0c, 16, 2100, 18);
    put8(&w, 17);
    put_raw(&w, "Listed: 127.0.0.2", 17);
    assert_int_equal(len, w.n);
    assert_memory_equal(buf, w.b, w.n);
    assert_int_equal(r.count[WIRE_ANSWER], 2);
    assert_false(r.truncated);

    expect_dnspython(buf, len,
                     "rcode NOERROR\n"
                     "flags QR AA RD\n"
                     "edns -1 0 0\n"
                     "Q 2.0.0.127.Bl.Example. ANY\n"
                     "AN 2.0.0.127.Bl.Example. 2100 A 127.0.0.2\n"
                     "AN 2.0.0.127.Bl.Example. 2100 TXT \"Listed: 127.0.0.2\"\n");
}

static void test_case_echo_0x20(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "2.0.0.127.bL.ExAmPlE.cOm", 1, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    /* The zone apex as the data layer stores it, folded to lower case. */
    uint8_t apex[NAME_MAXWIRE], ns[NAME_MAXWIRE];
    wname(apex, "bl.example.com");
    wname(ns, "ns.example.com");
    const uint8_t a[4] = {127, 0, 0, 2};
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 60, a, 4), 0);
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, apex, 2, 60, ns, 16), 0);
    size_t len = wire_reply_finish(&r);
    assert_memory_equal(buf + 12, q.qname, q.qname_len);
    assert_memory_equal(buf + 12, "\0012\0010\0010\003127\002bL\007ExAmPlE\003cOm", 26);
    /* Compression ignores case, so the authority owner points into the
     * client's spelling of the question (legal: names compare without
     * case; resolvers check the question section). */
    assert_int_equal(wire_get16(buf + 12 + 30 + 16), 0xc016);
    expect_dnspython(buf, len,
                     "rcode NOERROR\n"
                     "flags QR AA RD\n"
                     "edns -1 0 0\n"
                     "Q 2.0.0.127.bL.ExAmPlE.cOm. A\n"
                     "AN 2.0.0.127.bL.ExAmPlE.cOm. 60 A 127.0.0.2\n"
                     "NS bL.ExAmPlE.cOm. 60 NS ns.ExAmPlE.cOm.\n");
}

/* SOA rdata: mname, rname, serial..minimum. */
static uint16_t make_soa(uint8_t *rd, const char *mname, const char *rname)
{
    uint8_t n[NAME_MAXWIRE];
    size_t l1, l2;
    assert_int_equal(name_from_text(mname, n, &l1), 0);
    memcpy(rd, n, l1);
    assert_int_equal(name_from_text(rname, n, &l2), 0);
    memcpy(rd + l1, n, l2);
    uint8_t *p = rd + l1 + l2;
    wire_put32(p, 2024010101u);
    wire_put32(p + 4, 3600);
    wire_put32(p + 8, 600);
    wire_put32(p + 12, 86400);
    wire_put32(p + 16, 300);
    return (uint16_t)(l1 + l2 + 20);
}

static void test_compression(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "2.0.0.127.bl.example.com", 1, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    uint8_t apex[NAME_MAXWIRE], rd[600], ns[NAME_MAXWIRE], mx[2 + NAME_MAXWIRE], host[NAME_MAXWIRE];
    wname(apex, "bl.example.com");
    uint16_t soalen = make_soa(rd, "ns.example.com", "hostmaster.bl.example.com");
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, apex, 6, 3600, rd, soalen), 0);
    wname(ns, "ns.example.com");
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, apex, 2, 3600, ns, 16), 0);
    mx[0] = 0;
    mx[1] = 10;
    size_t l;
    assert_int_equal(name_from_text("mail.bl.example.com", mx + 2, &l), 0);
    assert_int_equal(wire_reply_add(&r, WIRE_ADDITIONAL, apex, 15, 60, mx, (uint16_t)(2 + l)), 0);
    assert_int_equal(name_from_text("host.example.com", host, &l), 0);
    assert_int_equal(wire_reply_add(&r, WIRE_ADDITIONAL, NULL, 12, 60, host, (uint16_t)l), 0);
    assert_int_equal(wire_reply_add(&r, WIRE_ADDITIONAL, NULL, 5, 60, ns, 16), 0);
    size_t len = wire_reply_finish(&r);

    /* Question labels start at 12 ("2"), 22 ("bl"), 25 ("example"). */
    struct pkt w;
    put_header(&w, 0x1234, 0x8500, 1, 0, 2, 3);
    put_question(&w, "2.0.0.127.bl.example.com", 1);
    /* SOA at 42 */
    put_rr(&w, 0x16, 6, 3600, 5 + 13 + 20);
    assert_int_equal(w.n, 54);
    put_labels(&w, "ns");
    put16(&w, 0xc019);
    put_labels(&w, "hostmaster");
    put16(&w, 0xc016);
    put_raw(&w, rd + soalen - 20, 20);
    /* NS: its target is the SOA's mname at 54 */
    put_rr(&w, 0x16, 2, 3600, 2);
    put16(&w, 0xc036);
    /* MX */
    put_rr(&w, 0x16, 15, 60, 2 + 5 + 2);
    put16(&w, 10);
    put_labels(&w, "mail");
    put16(&w, 0xc016);
    /* PTR */
    put_rr(&w, 0x0c, 12, 60, 7);
    put_labels(&w, "host");
    put16(&w, 0xc019);
    /* CNAME */
    put_rr(&w, 0x0c, 5, 60, 2);
    put16(&w, 0xc036);
    assert_int_equal(len, w.n);
    assert_memory_equal(buf, w.b, w.n);

    expect_dnspython(
        buf, len,
        "rcode NOERROR\n"
        "flags QR AA RD\n"
        "edns -1 0 0\n"
        "Q 2.0.0.127.bl.example.com. A\n"
        "NS bl.example.com. 3600 SOA ns.example.com. hostmaster.bl.example.com. 2024010101 "
        "3600 600 86400 300\n"
        "NS bl.example.com. 3600 NS ns.example.com.\n"
        "AR bl.example.com. 60 MX 10 mail.bl.example.com.\n"
        "AR 2.0.0.127.bl.example.com. 60 PTR host.example.com.\n"
        "AR 2.0.0.127.bl.example.com. 60 CNAME ns.example.com.\n");
}

static void test_compression_slots_run_out(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "x.example", 1, false, 0, 0, false), 0);
    uint8_t buf[4096];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    uint8_t owner[NAME_MAXWIRE];
    const uint8_t a[4] = {127, 0, 0, 3};
    char text[64];
    /* More distinct names than compression slots, each written twice. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 24; i++) {
            snprintf(text, sizeof(text), "n%d.y.example", i);
            wname(owner, text);
            assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, owner, 1, 1, a, 4), 0);
        }
    }
    size_t len = wire_reply_finish(&r);
    assert_int_equal(r.ncomp, 16);
    const char *got = dnspython_decode(buf, len);
    if (got == NULL) {
        skip();
        return;
    }
    /* Every owner decodes to what was written. */
    for (int i = 0; i < 24; i++) {
        snprintf(text, sizeof(text), "AN n%d.y.example. 1 A 127.0.0.3\n", i);
        assert_non_null(strstr(got, text));
    }
}

static void test_truncation(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "2.0.0.127.bl.example", 16, true, 512, 0, false), 0);
    uint8_t buf[4096];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), q.edns_udp, &q);
    char text[100];
    memset(text, 't', sizeof(text));
    int added = 0, rc;
    while ((rc = wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 60, text, sizeof(text), NULL, 0)) == 0)
        added++;
    assert_int_equal(rc, ERR_SPACE);
    assert_true(r.truncated);
    /* header 12 + question 26 + 4 records of 2+10+101 = 490; a fifth
     * would pass 512 - 11 (the OPT record). */
    assert_int_equal(added, 4);
    assert_int_equal(r.len, 490);
    uint8_t before[512];
    memcpy(before, buf, r.len);
    size_t oldlen = r.len;
    /* Once truncated, even a small record is refused. */
    const uint8_t a[4] = {127, 0, 0, 2};
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 60, a, 4), ERR_SPACE);
    assert_int_equal(r.len, oldlen);
    assert_memory_equal(buf, before, oldlen);
    size_t len = wire_reply_finish(&r);
    assert_int_equal(len, 501);
    assert_true(len <= 512);
    assert_true(buf[2] & 0x02); /* TC */
    assert_int_equal(wire_get16(buf + 6), 4);
    assert_int_equal(wire_get16(buf + 10), 1);
    assert_int_equal(buf[490], 0);
    assert_int_equal(wire_get16(buf + 491), 41);
    /* Finishing twice adds nothing. */
    assert_int_equal(wire_reply_finish(&r), 501);
    assert_int_equal(wire_get16(buf + 10), 1);
}

static void test_failed_record_leaves_packet(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    uint8_t big[480];
    memset(big, 0, sizeof(big));
    /* Exactly fills 512: 12 + 15 + 2 + 10 + 473. */
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 99, 0, big, 473), 0);
    assert_int_equal(r.len, 512);
    assert_false(r.truncated);
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 99, 0, big, 0), ERR_SPACE);
    assert_int_equal(r.len, 512);
    assert_int_equal(r.count[WIRE_ANSWER], 1);
    assert_int_equal(wire_reply_finish(&r), 512);
    assert_true(buf[2] & 0x02);
}

static void test_limit_clamped_to_buffer(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, false, 0, 0, false), 0);
    uint8_t buf[600];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 65535, &q);
    assert_int_equal(r.limit, 600);
    wire_reply_init(&r, buf, sizeof(buf), 100, &q);
    assert_int_equal(r.limit, 512); /* 512 bytes are always allowed */

    static uint8_t big[70000];
    wire_reply_init(&r, big, sizeof(big), 100000, &q);
    assert_int_equal(r.limit, WIRE_TCP_MAX);

    /* A buffer too small for a header: nothing is written, and records
     * are refused rather than written out of bounds. */
    uint8_t tiny[8];
    wire_reply_init(&r, tiny, sizeof(tiny), 512, &q);
    const uint8_t a[4] = {127, 0, 0, 2};
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 1, a, 4), ERR_SPACE);
    assert_int_equal(wire_reply_finish(&r), 0);
}

static void test_malformed_rdata_names(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    size_t len0 = r.len;
    /* NS target without a root label inside rdlen. */
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 2, 1, (const uint8_t *)"\003abc", 4),
                     ERR_INVAL);
    /* NS target followed by extra bytes. */
    assert_int_equal(
        wire_reply_add(&r, WIRE_ANSWER, NULL, 2, 1, (const uint8_t *)"\003abc\000\001", 6),
        ERR_INVAL);
    /* A label length byte above 63. */
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 5, 1, (const uint8_t *)"\100a", 2),
                     ERR_INVAL);
    /* MX without room for a name. */
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 15, 1, (const uint8_t *)"\000\001", 2),
                     ERR_INVAL);
    /* SOA with 19 bytes after the names. */
    uint8_t rd[300];
    uint16_t soalen = make_soa(rd, "ns.example", "h.example");
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, NULL, 6, 1, rd, soalen - 1), ERR_INVAL);
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, NULL, 6, 1, rd, soalen), 0);
    /* "ns" and "h" point into the question's "example". */
    assert_int_equal(r.len, len0 + 2 + 10 + 5 + 4 + 20);
    assert_false(r.truncated);
    /* A malformed owner. */
    assert_int_equal(wire_reply_add(&r, WIRE_ADDITIONAL, (const uint8_t *)"\300\014", 1, 1, rd, 4),
                     ERR_INVAL);
}

static void test_sections_in_order(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    const uint8_t a[4] = {127, 0, 0, 2};
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, NULL, 1, 1, a, 4), 0);
    assert_int_equal(wire_reply_add(&r, WIRE_ANSWER, NULL, 1, 1, a, 4), ERR_INVAL);
    assert_int_equal(wire_reply_add(&r, WIRE_AUTHORITY, NULL, 1, 1, a, 4), 0);
    assert_int_equal(wire_reply_add(&r, (enum wire_section)3, NULL, 1, 1, a, 4), ERR_INVAL);
    assert_false(r.truncated);
    assert_int_equal(r.count[WIRE_AUTHORITY], 2);
}

static void test_opt_record(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, true, 4096, 0, true), 0);
    assert_true(q.edns_do);
    uint8_t buf[4096];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), q.edns_udp, &q);
    wire_reply_set_rcode(&r, WIRE_RCODE_NXDOMAIN);
    size_t len = wire_reply_finish(&r);
    assert_int_equal(len, 12 + 15 + 11);
    /* The DO bit (0x80 in the flags' first byte) is copied (RFC 3225). */
    const uint8_t opt[11] = {0, 0, 41, 1232 >> 8, 1232 & 0xff, 0, 0, 0x80, 0, 0, 0};
    assert_memory_equal(buf + 27, opt, 11);
    assert_int_equal(buf[3] & 0xf, 3);
    assert_int_equal(wire_get16(buf + 10), 1);
    expect_dnspython(buf, len,
                     "rcode NXDOMAIN\n"
                     "flags QR AA RD\n"
                     "edns 0 1232 32768\n"
                     "Q a.example. A\n");
}

static void test_badvers(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, true, 1232, 1, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), q.edns_udp, &q);
    wire_reply_set_rcode(&r, WIRE_RCODE_BADVERS);
    size_t len = wire_reply_finish(&r);
    assert_int_equal(buf[3] & 0xf, 0);
    /* OPT TTL: extended rcode 1 (16 >> 4), version 0, no flags. */
    assert_int_equal(wire_get32(buf + len - 6), 0x01000000u);
    expect_dnspython(buf, len,
                     "rcode BADVERS\n"
                     "flags QR AA RD\n"
                     "edns 0 1232 16777216\n"
                     "Q a.example. A\n");

    /* Without EDNS the extended code cannot be sent. */
    assert_int_equal(make_query(&q, "a.example", 1, false, 0, 0, false), 0);
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    wire_reply_set_rcode(&r, WIRE_RCODE_BADVERS);
    assert_int_equal(wire_reply_finish(&r), 27);
    assert_int_equal(buf[3] & 0xf, WIRE_RCODE_SERVFAIL);
}

static void test_set_aa(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 1, false, 0, 0, false), 0);
    uint8_t buf[512];
    struct wire_reply r;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    assert_true(buf[2] & 0x04);
    wire_reply_set_aa(&r, false);
    assert_int_equal(buf[2], 0x81);
    wire_reply_set_aa(&r, true);
    assert_int_equal(buf[2], 0x85);
    wire_reply_set_rcode(&r, WIRE_RCODE_REFUSED);
    wire_reply_set_rcode(&r, WIRE_RCODE_NOERROR);
    assert_int_equal(buf[3], 0);

    /* CD is copied (RFC 4035 3.2.2), RD only when the client set it. */
    q.cd = true;
    q.rd = false;
    wire_reply_init(&r, buf, sizeof(buf), 512, &q);
    assert_int_equal(buf[2], 0x84);
    assert_int_equal(buf[3], 0x10);
}

static void test_error_replies(void **state)
{
    (void)state;
    struct wire_query q;
    uint8_t buf[512];
    struct wire_reply r;

    /* FORMERR to a request whose question was readable: echoed. */
    uint8_t req[64] = {0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'A', 0, 0, 1, 0, 1};
    assert_int_equal(wire_parse_query(req, 19, &q), WIRE_FORMERR);
    wire_reply_error(&r, buf, sizeof(buf), &q, WIRE_RCODE_FORMERR);
    size_t len = wire_reply_finish(&r);
    const uint8_t want1[] = {0xab, 0xcd, 0x81, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'A', 0, 0, 1, 0, 1};
    assert_int_equal(len, sizeof(want1));
    assert_memory_equal(buf, want1, sizeof(want1));

    /* QDCOUNT 0: header only. */
    req[5] = 0;
    assert_int_equal(wire_parse_query(req, 12, &q), WIRE_FORMERR);
    wire_reply_error(&r, buf, sizeof(buf), &q, WIRE_RCODE_FORMERR);
    assert_int_equal(wire_reply_finish(&r), 12);
    assert_int_equal(wire_get16(buf + 4), 0);
    assert_int_equal(buf[3], 1);

    /* NOTIMP keeps the opcode, and an EDNS request gets an OPT back. */
    assert_int_equal(make_query(&q, "a.example", 1, true, 1232, 0, false), 0);
    q.opcode = 5;
    wire_reply_error(&r, buf, sizeof(buf), &q, WIRE_RCODE_NOTIMP);
    len = wire_reply_finish(&r);
    assert_int_equal(len, 12 + 15 + 11);
    assert_int_equal(buf[2], 0x80 | 5 << 3 | 0x01);
    assert_int_equal(buf[3], 4);
    assert_int_equal(wire_get16(buf + 10), 1);
}

static void test_txt_templates(void **state)
{
    (void)state;
    struct wire_query q;
    assert_int_equal(make_query(&q, "a.example", 16, false, 0, 0, false), 0);
    uint8_t buf[2048];
    struct wire_reply r;
    const size_t rd = 12 + 15 + 2 + 10; /* first RDATA byte */

    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, "", 0, "x", 1), 0);
    assert_int_equal(wire_get16(buf + rd - 2), 1);
    assert_int_equal(buf[rd], 0);

    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, "$$x$!$", 6, "1.2.3.4", 7), 0);
    assert_int_equal(wire_get16(buf + rd - 2), 1 + 17);
    assert_memory_equal(buf + rd, "\021$x1.2.3.4!1.2.3.4", 18);

    char t[600];
    memset(t, 'a', sizeof(t));
    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, t, 255, NULL, 0), 0);
    assert_int_equal(wire_get16(buf + rd - 2), 256);
    assert_int_equal(buf[rd], 255);

    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, t, 300, NULL, 0), 0);
    assert_int_equal(wire_get16(buf + rd - 2), 302);
    assert_int_equal(buf[rd], 255);
    assert_int_equal(buf[rd + 256], 45);

    /* A subject straddling the 255-byte boundary. */
    t[250] = '$';
    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, t, 251, "bbbbbbbbbb", 10), 0);
    assert_int_equal(wire_get16(buf + rd - 2), 262);
    assert_int_equal(buf[rd], 255);
    assert_memory_equal(buf + rd + 251, "bbbb", 4);
    assert_int_equal(buf[rd + 256], 5);
    assert_memory_equal(buf + rd + 257, "bbbbb", 5);
    size_t len = wire_reply_finish(&r);
    const char *got = dnspython_decode(buf, len);
    if (got != NULL)
        assert_non_null(strstr(got, "aaaabbbbb\" \"bbbbb\"\n"));

    /* A trailing lone '$' is the subject too; a NULL template with a
     * length is refused. */
    wire_reply_init(&r, buf, sizeof(buf), sizeof(buf), &q);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, "$", 1, "s", 1), 0);
    assert_memory_equal(buf + rd, "\001s", 2);
    assert_int_equal(wire_reply_add_txt(&r, WIRE_ANSWER, NULL, 1, NULL, 3, "s", 1), ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_case_echo_0x20),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_compression_slots_run_out),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_failed_record_leaves_packet),
        cmocka_unit_test(test_limit_clamped_to_buffer),
        cmocka_unit_test(test_malformed_rdata_names),
        cmocka_unit_test(test_sections_in_order),
        cmocka_unit_test(test_opt_record),
        cmocka_unit_test(test_badvers),
        cmocka_unit_test(test_set_aa),
        cmocka_unit_test(test_error_replies),
        cmocka_unit_test(test_txt_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
