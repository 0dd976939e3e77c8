/* Unit tests for the answer path: real data files loaded into a snapshot,
 * hand-built queries in, replies checked field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "server/answer.h"
#include "server/snapshot.h"
#include "wire/wire.h"

static char dir[64];
static struct serve_conf conf;
static struct snapshot *snap;
static const struct answer_opts opts = {0, UINT32_MAX, false, NULL, NULL, 0};

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void add_spec(const char *zone, const char *type, const char *file)
{
    char spec[256];
    snprintf(spec, sizeof(spec), "%s:%s:%s/%s", zone, type, dir, file);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-answer-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char longtxt[1024];
    memset(longtxt, 'x', 200);
    longtxt[200] = '\0';
    char buf[2048];
    write_file("a.txt", ":127.0.0.2:Listed $ here\n"
                        "192.0.2.1\n"
                        "192.0.2.2 :3:Other $$ reason for $\n"
                        "127.0.0.1\n"
                        "10.0.0.0/16\n");
    for (int i = 0; i < 3; i++) {
        char name[16];
        longtxt[0] = (char)('a' + i);
        snprintf(buf, sizeof(buf), "192.0.2.9 :2:%s\n", longtxt);
        snprintf(name, sizeof(name), "t%d.txt", i);
        write_file(name, buf);
    }
    write_file("sub.txt", "198.51.100.1 :4:sub zone\n");
    serve_conf_init(&conf);
    assert_int_equal(serve_conf_add_listen(&conf, "127.0.0.1/53"), 0);
    add_spec("bl.example", "ip4set", "a.txt");
    add_spec("bl.example", "ip4set", "t0.txt");
    add_spec("bl.example", "ip4set", "t1.txt");
    add_spec("bl.example", "ip4set", "t2.txt");
    add_spec("sub.bl.example", "ip4set", "sub.txt");
    char err[512];
    assert_int_equal(serve_conf_finish(&conf, err, sizeof(err)), 0);
    struct snapshot_stats st;
    int rc = snapshot_build(&conf, NULL, true, &snap, &st, err, sizeof(err));
    if (rc != 0)
        fail_msg("snapshot_build: %s", err);
    assert_int_equal(st.loaded, 5);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    snapshot_free(snap);
    serve_conf_free(&conf);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Build a query for `name` (text); edns < 0 means no OPT record. */
static size_t make_query(uint8_t *p, const char *name, uint16_t type, int edns_version,
                         uint16_t edns_size)
{
    memset(p, 0, 12);
    p[0] = 0x12;
    p[1] = 0x34;
    p[2] = 0x01; /* RD */
    p[5] = 1;
    size_t n = 12;
    const char *s = name;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        p[n++] = (uint8_t)l;
        memcpy(p + n, s, l);
        n += l;
        s += l;
        if (*s == '.')
            s++;
    }
    p[n++] = 0;
    p[n++] = (uint8_t)(type >> 8);
    p[n++] = (uint8_t)type;
    p[n++] = 0;
    p[n++] = 1;
    if (edns_version >= 0) {
        p[11] = 1;
        uint8_t opt[11] = {
            0, 0, 41, (uint8_t)(edns_size >> 8), (uint8_t)edns_size, 0, (uint8_t)edns_version, 0,
            0, 0, 0};
        memcpy(p + n, opt, sizeof(opt));
        n += sizeof(opt);
    }
    return n;
}

struct reply {
    size_t len;
    uint8_t buf[65536];
    unsigned rcode, an, ns, ar;
    bool aa, tc, qr;
};

static void ask(struct reply *r, const char *name, uint16_t type, int edns, uint16_t size, bool tcp)
{
    uint8_t q[512];
    size_t qlen = make_query(q, name, type, edns, size);
    struct answer_stats st = {0};
    struct sockaddr_in client = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    r->len = answer_packet(snap, &opts, q, qlen, (struct sockaddr *)&client, tcp, r->buf,
                           sizeof(r->buf), &st);
    assert_true(r->len >= 12);
    assert_int_equal(r->buf[0], 0x12);
    assert_int_equal(r->buf[1], 0x34);
    r->qr = r->buf[2] & 0x80;
    r->aa = r->buf[2] & 0x04;
    r->tc = r->buf[2] & 0x02;
    r->rcode = r->buf[3] & 0x0f;
    r->an = wire_get16(r->buf + 6);
    r->ns = wire_get16(r->buf + 8);
    r->ar = wire_get16(r->buf + 10);
    assert_true(r->qr);
}

static struct reply R;

/* Ask from a client address; returns false when the query was dropped. */
static bool ask_from(struct reply *r, uint32_t client_ip, const char *name, uint16_t type)
{
    uint8_t q[512];
    size_t qlen = make_query(q, name, type, -1, 0);
    struct answer_stats st = {0};
    struct sockaddr_in client = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(client_ip)};
    r->len = answer_packet(snap, &opts, q, qlen, (struct sockaddr *)&client, false, r->buf,
                           sizeof(r->buf), &st);
    if (r->len == 0)
        return false;
    r->rcode = r->buf[3] & 0x0f;
    r->an = wire_get16(r->buf + 6);
    return true;
}

static void test_listed_a(void **state)
{
    (void)state;
    ask(&R, "1.2.0.192.bl.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_true(R.aa);
    assert_int_equal(R.an, 1);
    /* The A record is the last 4 bytes of this reply. */
    assert_memory_equal(R.buf + R.len - 4, "\x7f\x00\x00\x02", 4);
}

static void test_listed_txt_substitution(void **state)
{
    (void)state;
    ask(&R, "2.2.0.192.bl.example", DNS_TYPE_TXT, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1);
    const char *want = "Other $ reason for 192.0.2.2";
    size_t wl = strlen(want);
    assert_int_equal(R.buf[R.len - wl - 1], wl);
    assert_memory_equal(R.buf + R.len - wl, want, wl);
}

static void test_unlisted_nxdomain_with_soa(void **state)
{
    (void)state;
    ask(&R, "3.2.0.192.bl.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
    assert_int_equal(R.an, 0);
    assert_int_equal(R.ns, 1);
}

static void test_test_entries(void **state)
{
    (void)state;
    ask(&R, "1.0.0.127.bl.example", DNS_TYPE_A, -1, 0, false); /* listed in data */
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
    ask(&R, "2.0.0.127.bl.example", DNS_TYPE_A, -1, 0, false); /* not in data */
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1);
    assert_memory_equal(R.buf + R.len - 4, "\x7f\x00\x00\x02", 4);
}

static void test_empty_non_terminals(void **state)
{
    (void)state;
    ask(&R, "0.0.127.bl.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 0);
    assert_int_equal(R.ns, 1);
    ask(&R, "0.10.bl.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    ask(&R, "7.7.bl.example", DNS_TYPE_A, -1, 0, false); /* nothing under 7.7/16 */
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
}

static void test_apex(void **state)
{
    (void)state;
    ask(&R, "bl.example", DNS_TYPE_SOA, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1);
    ask(&R, "bl.example", DNS_TYPE_NS, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR); /* no $NS: NODATA, not REFUSED */
    assert_int_equal(R.an, 0);
    assert_int_equal(R.ns, 1);
    ask(&R, "bl.example", DNS_TYPE_MX, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 0);
}

static void test_longest_suffix_zone(void **state)
{
    (void)state;
    ask(&R, "1.100.51.198.sub.bl.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_memory_equal(R.buf + R.len - 4, "\x7f\x00\x00\x04", 4);
    /* The parent zone does not list it: sub.bl.example answered, not bl.example. */
    ask(&R, "1.2.0.192.sub.bl.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
}

static void test_refused_outside(void **state)
{
    (void)state;
    ask(&R, "1.2.0.192.other.example", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    assert_false(R.aa);
    ask(&R, "bl.example", DNS_TYPE_AXFR, -1, 0, true);
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
}

static void test_edns(void **state)
{
    (void)state;
    ask(&R, "3.2.0.192.bl.example", DNS_TYPE_A, 0, 1232, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
    assert_int_equal(R.ar, 1); /* OPT echoed on errors too */
    ask(&R, "1.2.0.192.bl.example", DNS_TYPE_A, 1, 1232, false);
    assert_int_equal(R.rcode, 0); /* BADVERS = 16: low bits 0 in the header */
    assert_int_equal(R.ar, 1);
    assert_int_equal(R.an, 0);
    /* OPT: owner 0, type 41, class, then TTL's first byte = extended rcode 1. */
    const uint8_t *opt = R.buf + R.len - 11;
    assert_int_equal(opt[0], 0);
    assert_int_equal(wire_get16(opt + 1), 41);
    assert_int_equal(opt[5], 1);
}

static void test_truncation_and_tcp(void **state)
{
    (void)state;
    ask(&R, "9.2.0.192.bl.example", DNS_TYPE_TXT, -1, 0, false);
    assert_true(R.tc);
    assert_true(R.len <= 512);
    ask(&R, "9.2.0.192.bl.example", DNS_TYPE_TXT, 0, 4096, false);
    assert_false(R.tc);
    assert_int_equal(R.an, 3);
    ask(&R, "9.2.0.192.bl.example", DNS_TYPE_TXT, -1, 0, true);
    assert_false(R.tc);
    assert_int_equal(R.an, 3);
}

static void test_any_minimal(void **state)
{
    (void)state;
    ask(&R, "1.2.0.192.bl.example", DNS_TYPE_ANY, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1); /* one RRset (RFC 8482), not A and TXT */
}

static void test_case_echo(void **state)
{
    (void)state;
    ask(&R, "1.2.0.192.Bl.ExAmPle", DNS_TYPE_A, -1, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_memory_equal(R.buf + 12 + 10,
                        "\x02"
                        "Bl\x07"
                        "ExAmPle",
                        11);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t q[512], out[512];
    struct answer_stats st = {0};
    size_t n = make_query(q, "1.2.0.192.bl.example", DNS_TYPE_A, -1, 0);
    q[5] = 2; /* QDCOUNT 2 */
    size_t len = answer_packet(snap, &opts, q, n, NULL, false, out, sizeof(out), &st);
    assert_true(len >= 12);
    assert_int_equal(out[3] & 0x0f, WIRE_RCODE_FORMERR);
    assert_int_equal(answer_packet(snap, &opts, q, 5, NULL, false, out, sizeof(out), &st), 0);
    q[5] = 1;
    q[2] = 0x80; /* a response: never answered */
    assert_int_equal(answer_packet(snap, &opts, q, n, NULL, false, out, sizeof(out), &st), 0);
    q[2] = 0x20; /* opcode 4 (NOTIFY) */
    len = answer_packet(snap, &opts, q, n, NULL, false, out, sizeof(out), &st);
    assert_true(len >= 12);
    assert_int_equal(out[3] & 0x0f, WIRE_RCODE_NOTIMP);
}

/* ACLs: a global one (rbldnsd's ":acl:file") and the zone's own. */
static int setup_acl(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-answer-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("a.txt", "192.0.2.1\n");
    write_file("global.acl", "172.16.0.0/12 :ignore\n"
                             "198.51.100.0/24 :127.0.0.9:Blocked client $\n"
                             "0.0.0.0/1 :pass\n");
    write_file("zone.acl", "192.0.2.0/24 :refuse\n"
                           "203.0.113.0/24 :empty\n"
                           "198.51.100.7 :refuse\n");
    serve_conf_init(&conf);
    assert_int_equal(serve_conf_add_listen(&conf, "127.0.0.1/53"), 0);
    char spec[256];
    snprintf(spec, sizeof(spec), ":acl:%s/global.acl", dir);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
    add_spec("bl.example", "ip4set", "a.txt");
    add_spec("bl.example", "acl", "zone.acl");
    char err[512];
    assert_int_equal(serve_conf_finish(&conf, err, sizeof(err)), 0);
    struct snapshot_stats st;
    if (snapshot_build(&conf, NULL, true, &snap, &st, err, sizeof(err)) != 0)
        fail_msg("snapshot_build: %s", err);
    assert_non_null(snap->global_acl);
    return 0;
}

static void test_acl_ignore_refuse(void **state)
{
    (void)state;
    assert_false(ask_from(&R, 0xac100001, "1.2.0.192.bl.example", DNS_TYPE_A)); /* 172.16.0.1 */
    assert_true(ask_from(&R, 0xc0000205, "1.2.0.192.bl.example", DNS_TYPE_A));  /* 192.0.2.5 */
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    /* Global "listed" and zone "refuse": the stronger verdict wins. */
    assert_true(ask_from(&R, 0xc6336407, "1.2.0.192.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    /* No entry: answered normally. */
    assert_true(ask_from(&R, 0x08080808, "1.2.0.192.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1);
}

static void test_acl_listed(void **state)
{
    (void)state;
    const uint32_t client = 0xc6336401; /* 198.51.100.1 */
    assert_true(ask_from(&R, client, "4.3.2.1.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_memory_equal(R.buf + R.len - 4, "\x7f\x00\x00\x09", 4);
    assert_true(ask_from(&R, client, "4.3.2.1.bl.example", DNS_TYPE_TXT));
    const char *want = "Blocked client 198.51.100.1";
    assert_memory_equal(R.buf + R.len - strlen(want), want, strlen(want));
    /* Only valid blocklist names are "listed"; garbage and partial names
     * are not, and the RFC 5782 test entries stay right. */
    assert_true(ask_from(&R, client, "foo.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
    assert_true(ask_from(&R, client, "1.0.0.127.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
    assert_true(ask_from(&R, client, "2.0.0.127.bl.example", DNS_TYPE_A));
    assert_memory_equal(R.buf + R.len - 4, "\x7f\x00\x00\x02", 4);
}

static void test_acl_empty(void **state)
{
    (void)state;
    const uint32_t client = 0xcb007101; /* 203.0.113.1 */
    assert_true(ask_from(&R, client, "1.2.0.192.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_NXDOMAIN);
    assert_true(ask_from(&R, client, "2.0.0.127.bl.example", DNS_TYPE_A));
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR); /* test entry kept */
    assert_true(ask_from(&R, client, "bl.example", DNS_TYPE_SOA));
    assert_int_equal(R.an, 1); /* metadata still answered */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_a),
        cmocka_unit_test(test_listed_txt_substitution),
        cmocka_unit_test(test_unlisted_nxdomain_with_soa),
        cmocka_unit_test(test_test_entries),
        cmocka_unit_test(test_empty_non_terminals),
        cmocka_unit_test(test_apex),
        cmocka_unit_test(test_longest_suffix_zone),
        cmocka_unit_test(test_refused_outside),
        cmocka_unit_test(test_edns),
        cmocka_unit_test(test_truncation_and_tcp),
        cmocka_unit_test(test_any_minimal),
        cmocka_unit_test(test_case_echo),
        cmocka_unit_test(test_malformed),
    };
    const struct CMUnitTest acl_tests[] = {
        cmocka_unit_test(test_acl_ignore_refuse),
        cmocka_unit_test(test_acl_listed),
        cmocka_unit_test(test_acl_empty),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + cmocka_run_group_tests(acl_tests, setup_acl, teardown);
}
