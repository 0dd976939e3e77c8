/* Unit tests for zone transfers out: the allow-transfer and
 * transfer-max-records keys, IXFR requests, serial arithmetic, who gets
 * what answer (answer_packet over UDP, xfr_decide), and whole transfers
 * streamed by xfr_run into a socket pair, read back message by message:
 * SOA first and last, every record once, the question in the first
 * message only, names compressed within 16 KiB, queued replies first,
 * REFUSED past the record cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "server/answer.h"
#include "server/serve_conf.h"
#include "server/snapshot.h"
#include "server/serial.h"
#include "server/xfr.h"
#include "server/xfr_conf.h"
#include "wire/wire.h"

#include "xfr_stream_util.h"

static char dir[64];
static struct serve_conf conf;
static struct snapshot *snap;
static struct xfr_counters xc;
static struct answer_opts opts = {0, UINT32_MAX, false, &xc, NULL, 0};

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

static struct serve_zone_conf *zone_conf(const char *name)
{
    for (unsigned i = 0; i < conf.nzones; i++)
        if (!strcmp(conf.zones[i].name, name))
            return &conf.zones[i];
    fail_msg("no zone %s", name);
    return NULL;
}

static void key(struct xfr_conf *x, const char *k, const char *v)
{
    char why[160];
    assert_int_equal(xfr_conf_key(x, k, v, why, sizeof(why)), 1);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-xfr-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("bl.txt", "$SOA 3600 ns1.example.net. hostmaster.example.net. 42 600 300 86400 300\n"
                         "$NS 3600 ns1.example.net. ns2.example.org.\n"
                         ":127.0.0.2:Listed\n"
                         "10.1.0.0/16\n"
                         "192.0.2.0/24 :3:Block\n"
                         "!192.0.2.7\n");
    write_file("big.txt", ":127.0.0.2:See $\n10.0.0.0/20\n");
    write_file("sub.txt", "198.51.100.1 :4:sub zone\n");
    serve_conf_init(&conf);
    assert_int_equal(serve_conf_add_listen(&conf, "127.0.0.1/53"), 0);
    add_spec("bl.example", "ip4set", "bl.txt");
    add_spec("big.example", "ip4set", "big.txt");
    add_spec("sub.bl.example", "ip4set", "sub.txt");
    add_spec("closed.example", "ip4set", "sub.txt");
    /* [server] allows loopback and 10/8; big.example has a cap of its
     * own; closed.example says none. */
    key(&conf.xfr, "allow-transfer", "127.0.0.1, 10.0.0.0/8");
    key(&zone_conf("big.example")->xfr, "transfer-max-records", "1000");
    key(&zone_conf("closed.example")->xfr, "allow-transfer", "none");
    char err[512];
    assert_int_equal(serve_conf_finish(&conf, err, sizeof(err)), 0);
    struct snapshot_stats st;
    if (snapshot_build(&conf, NULL, true, &snap, &st, err, sizeof(err)) != 0)
        fail_msg("snapshot_build: %s", err);
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

/* ---- the configuration -------------------------------------------------- */

static void test_conf(void **state)
{
    (void)state;
    struct xfr_conf x, server;
    char why[160];
    memset(&x, 0, sizeof(x));
    memset(&server, 0, sizeof(server));
    assert_int_equal(xfr_conf_key(&x, "listen", "1.2.3.4", why, sizeof(why)), 0);
    assert_int_equal(
        xfr_conf_key(&x, "allow-transfer", "192.0.2.0/24 2001:db8::/32", why, sizeof(why)), 1);
    assert_int_equal(xfr_conf_key(&x, "allow-transfer", "::1", why, sizeof(why)), 1);
    assert_int_equal(x.nallow, 3);
    assert_int_equal(xfr_conf_key(&x, "allow-transfer", "192.0.2.300", why, sizeof(why)),
                     ERR_INVAL);
    assert_non_null(strstr(why, "192.0.2.300"));
    assert_int_equal(xfr_conf_key(&x, "allow-transfer", " , ", why, sizeof(why)), ERR_INVAL);
    assert_int_equal(xfr_conf_key(&x, "transfer-max-records", "0", why, sizeof(why)), ERR_INVAL);
    assert_int_equal(xfr_conf_key(&x, "transfer-max-records", "12x", why, sizeof(why)), ERR_INVAL);
    assert_int_equal(xfr_conf_key(&x, "transfer-max-records", "-1", why, sizeof(why)), ERR_INVAL);
    assert_false(x.max_set);

    struct sockaddr_in in4 = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    in4.sin_addr.s_addr = htonl(0xC0000209); /* 192.0.2.9 */
    assert_true(xfr_conf_allows(&x, (struct sockaddr *)&in4));
    in4.sin_addr.s_addr = htonl(0xC0000309);
    assert_false(xfr_conf_allows(&x, (struct sockaddr *)&in4));
    inet_pton(AF_INET6, "2001:db8:5::1", &in6.sin6_addr);
    assert_true(xfr_conf_allows(&x, (struct sockaddr *)&in6));
    inet_pton(AF_INET6, "::ffff:192.0.2.77", &in6.sin6_addr); /* mapped: the IPv4 client */
    assert_true(xfr_conf_allows(&x, (struct sockaddr *)&in6));
    inet_pton(AF_INET6, "2001:db9::1", &in6.sin6_addr);
    assert_false(xfr_conf_allows(&x, (struct sockaddr *)&in6));
    assert_false(xfr_conf_allows(NULL, (struct sockaddr *)&in4));

    /* A zone without keys takes [server]'s; one with keys keeps them. */
    struct xfr_conf z;
    memset(&z, 0, sizeof(z));
    xfr_conf_inherit(&z, &x);
    assert_int_equal(z.nallow, 3);
    assert_int_equal(z.max_records, 10000000);
    memset(&z, 0, sizeof(z));
    key(&z, "allow-transfer", "none");
    key(&x, "transfer-max-records", "77");
    xfr_conf_inherit(&z, &x);
    assert_int_equal(z.nallow, 0);
    assert_true(z.allow_set);
    assert_int_equal(z.max_records, 77);
    in4.sin_addr.s_addr = htonl(0xC0000209);
    assert_false(xfr_conf_allows(&z, (struct sockaddr *)&in4));
    /* Nothing configured: nobody. */
    memset(&z, 0, sizeof(z));
    memset(&server, 0, sizeof(server));
    xfr_conf_inherit(&z, &server);
    assert_false(xfr_conf_allows(&z, (struct sockaddr *)&in4));
}

static void test_serial(void **state)
{
    (void)state;
    assert_true(serial_ge(5, 5));
    assert_true(serial_ge(6, 5));
    assert_false(serial_ge(4, 5));
    /* Across the wrap (RFC 1982). */
    assert_true(serial_ge(3, 0xFFFFFFF0u));
    assert_false(serial_ge(0xFFFFFFF0u, 3));
}

/* ---- requests ------------------------------------------------------------ */

/* A query for name/type; IXFR carries an SOA with `serial` in its
 * authority section (the owner compressed against the question). */
static size_t make_request(uint8_t *p, const char *name, uint16_t type, uint32_t serial, bool edns)
{
    memset(p, 0, 12);
    p[0] = 0xAB;
    p[1] = 0xCD;
    p[5] = 1;
    size_t n = 12 + put_name(p + 12, name);
    wire_put16(p + n, type);
    wire_put16(p + n + 2, 1);
    n += 4;
    if (type == DNS_TYPE_IXFR) {
        p[9] = 1;
        wire_put16(p + n, 0xC00C);
        wire_put16(p + n + 2, DNS_TYPE_SOA);
        wire_put16(p + n + 4, 1);
        wire_put32(p + n + 6, 0);
        n += 12; /* rdlength after the name fields */
        size_t rd = n;
        n += put_name(p + n, "a.example");
        n += put_name(p + n, "b.example");
        wire_put32(p + n, serial);
        memset(p + n + 4, 0, 16);
        n += 20;
        wire_put16(p + rd - 2, (uint16_t)(n - rd));
    }
    if (edns) {
        p[11] = 1;
        uint8_t opt[11] = {0, 0, 41, 4, 0xD0, 0, 0, 0x80, 0, 0, 0};
        memcpy(p + n, opt, sizeof(opt));
        n += sizeof(opt);
    }
    return n;
}

static void test_parse_ixfr(void **state)
{
    (void)state;
    uint8_t q[512];
    struct xfr_request rq;
    size_t n = make_request(q, "bl.example", DNS_TYPE_IXFR, 1234, true);
    assert_int_equal(xfr_parse_ixfr(q, n, &rq), 0);
    assert_true(rq.have_serial);
    assert_int_equal(rq.serial, 1234);
    assert_int_equal(rq.q.id, 0xABCD);
    assert_int_equal(rq.q.qtype, DNS_TYPE_IXFR);
    assert_true(rq.q.edns);
    assert_true(rq.q.edns_do);
    assert_int_equal(rq.q.edns_udp, 1232);
    assert_memory_equal(rq.q.lname,
                        "\x02"
                        "bl\x07"
                        "example",
                        12);
    /* Trailing bytes, a short SOA, a response, AXFR: not an IXFR. */
    assert_int_equal(xfr_parse_ixfr(q, n + 1, &rq), ERR_NOTFOUND);
    assert_int_equal(xfr_parse_ixfr(q, n - 12, &rq), ERR_NOTFOUND);
    q[2] |= 0x80;
    assert_int_equal(xfr_parse_ixfr(q, n, &rq), ERR_NOTFOUND);
    /* Signed (a TSIG record after the OPT): not taken, answered FORMERR. */
    n = make_request(q, "bl.example", DNS_TYPE_IXFR, 1234, true);
    static const uint8_t tsig[] = {0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0};
    memcpy(q + n, tsig, sizeof(tsig));
    q[11] = 2;
    assert_int_equal(xfr_parse_ixfr(q, n + sizeof(tsig), &rq), ERR_NOTFOUND);
    q[11] = 1;
    assert_int_equal(xfr_parse_ixfr(q, n, &rq), 0);
    n = make_request(q, "bl.example", DNS_TYPE_AXFR, 0, false);
    assert_int_equal(xfr_parse_ixfr(q, n, &rq), ERR_NOTFOUND);
    assert_true(xfr_is_request(q, n));
    n = make_request(q, "bl.example", DNS_TYPE_A, 0, false);
    assert_false(xfr_is_request(q, n));
    assert_false(xfr_is_request(q, 11));
}

/* ---- who gets what ----------------------------------------------------------- */

struct reply {
    size_t len;
    uint8_t buf[65536];
    unsigned rcode, an;
    bool aa;
};

static void ask(struct reply *r, uint32_t client, const char *name, uint16_t type, uint32_t serial,
                bool tcp)
{
    uint8_t q[512];
    size_t n = make_request(q, name, type, serial, false);
    struct answer_stats st;
    memset(&st, 0, sizeof(st));
    struct sockaddr_in c = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(client)};
    r->len =
        answer_packet(snap, &opts, q, n, (struct sockaddr *)&c, tcp, r->buf, sizeof(r->buf), &st);
    assert_true(r->len >= 12);
    assert_int_equal(wire_get16(r->buf), 0xABCD);
    r->rcode = r->buf[3] & 0xF;
    r->an = wire_get16(r->buf + 6);
    r->aa = r->buf[2] & 0x04;
}

static struct reply R;

static void test_udp_answers(void **state)
{
    (void)state;
    uint64_t refused = atomic_load(&xc.refused);
    /* Allowed, over UDP: AXFR is not defined there; IXFR gets our SOA. */
    ask(&R, 0x7f000001, "bl.example", DNS_TYPE_AXFR, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOTIMP);
    ask(&R, 0x0a090807, "bl.example", DNS_TYPE_IXFR, 1, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1);
    assert_true(R.aa);
    /* The SOA's serial is the last 20 bytes' first four. */
    assert_int_equal(wire_get32(R.buf + R.len - 20), 42);
    assert_int_equal(atomic_load(&xc.refused), refused);
    /* Not allowed: REFUSED, counted. */
    ask(&R, 0x7f000002, "bl.example", DNS_TYPE_AXFR, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    ask(&R, 0x7f000002, "bl.example", DNS_TYPE_IXFR, 1, false);
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    assert_int_equal(R.an, 0);
    ask(&R, 0x7f000001, "closed.example", DNS_TYPE_IXFR, 1, false);
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    /* Not a zone apex: NOTAUTH; not our zone: REFUSED without AA. */
    ask(&R, 0x7f000001, "x.bl.example", DNS_TYPE_AXFR, 0, false);
    assert_int_equal(R.rcode, 9);
    ask(&R, 0x7f000001, "other.example", DNS_TYPE_AXFR, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_REFUSED);
    assert_false(R.aa);
    assert_int_equal(atomic_load(&xc.refused), refused + 5);
    /* A normal query is still a normal query. */
    ask(&R, 0x7f000002, "1.0.1.10.bl.example", DNS_TYPE_A, 0, false);
    assert_int_equal(R.rcode, WIRE_RCODE_NOERROR);
    assert_int_equal(R.an, 1);
}

static void test_decide(void **state)
{
    (void)state;
    uint8_t q[512];
    struct xfr_request rq;
    struct wire_query wq;
    const struct zone *z;
    struct sockaddr_in c = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    size_t n = make_request(q, "BL.Example", DNS_TYPE_AXFR, 0, false);
    assert_int_equal(wire_parse_query(q, n, &wq), 0);
    xfr_request_from(&rq, &wq);
    assert_int_equal(xfr_decide(snap, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_GO);
    assert_non_null(z);
    assert_string_equal(z->name, "bl.example");
    /* An IXFR from a client as new as us, or newer: our SOA alone. */
    n = make_request(q, "bl.example", DNS_TYPE_IXFR, 42, false);
    assert_int_equal(xfr_parse_ixfr(q, n, &rq), 0);
    assert_int_equal(xfr_decide(snap, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_SOA_ONLY);
    n = make_request(q, "bl.example", DNS_TYPE_IXFR, 41, false);
    assert_int_equal(xfr_parse_ixfr(q, n, &rq), 0);
    assert_int_equal(xfr_decide(snap, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_GO);
    /* Past its $TIMESTAMP expiry, or not loaded yet (-q): what queries
     * get SERVFAIL for is not handed out by transfer either. */
    struct zone *mz = (struct zone *)z;
    mz->expires = 1;
    assert_int_equal(xfr_decide(snap, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_SERVFAIL);
    mz->expires = 0;
    mz->loaded = false;
    assert_int_equal(xfr_decide(snap, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_SERVFAIL);
    mz->loaded = true;
    /* Too many at once. */
    atomic_store(&xc.active, XFR_MAX_ACTIVE);
    assert_int_equal(xfr_decide(snap, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_SERVFAIL);
    atomic_store(&xc.active, 0);
    /* No snapshot (nothing loaded yet) refuses. */
    assert_int_equal(xfr_decide(NULL, &rq, (struct sockaddr *)&c, true, &xc, &z), XFR_REFUSED);
}

/* ---- whole transfers ------------------------------------------------------- */

static atomic_bool stop_flag;

static void transfer(const char *zone, const char *pending, struct stream *s)
{
    uint8_t q[512];
    struct wire_query wq;
    size_t n = make_request(q, zone, DNS_TYPE_AXFR, 0, true);
    assert_int_equal(wire_parse_query(q, n, &wq), 0);
    struct runner r;
    memset(&r, 0, sizeof(r));
    xfr_request_from(&r.job.rq, &wq);
    for (unsigned i = 0; i < snap->nzones; i++)
        if (!strcmp(snap->zones[i]->name, zone))
            r.job.zone = snap->zones[i];
    assert_non_null(r.job.zone);
    r.job.stop = &stop_flag;
    r.job.xc = &xc;
    if (xfr_stream_run(&r, pending, s) == 0)
        assert_int_equal(s->rcode, 0);
}

static void test_stream(void **state)
{
    (void)state;
    struct stream s;
    uint64_t done = atomic_load(&xc.done);
    transfer("bl.example", "\x00\x02hi", &s);
    /* SOA, 2 NS, the /16 as 256 wildcards, 192.0.2/24 name by name less
     * the excluded address, the test entry: A and TXT each, SOA. */
    size_t want = 1 + 2 + 2 * (256 + 255 + 1) + 1;
    assert_int_equal(s.n, want);
    assert_int_equal(s.rr[0].type, DNS_TYPE_SOA);
    assert_int_equal(s.rr[s.n - 1].type, DNS_TYPE_SOA);
    assert_string_equal(s.rr[0].owner, "bl.example.");
    assert_int_equal(s.rr[1].type, DNS_TYPE_NS);
    assert_int_equal(s.rr[1].ttl, 3600);
    assert_int_equal(s.questions, 1);
    assert_true(s.messages >= 2);
    /* Messages are closed at 16 KiB (plus a record and the OPT). */
    assert_true(s.max_msg <= 16384 + 600);
    unsigned wild = 0, excluded = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!strncmp(s.rr[i].owner, "*.", 2))
            wild++;
        if (!strcmp(s.rr[i].owner, "7.2.0.192.bl.example."))
            excluded++;
        if (!strcmp(s.rr[i].owner, "9.2.0.192.bl.example.") && s.rr[i].type == DNS_TYPE_TXT) {
            assert_int_equal(s.rr[i].rdlen, 1 + 5);
            assert_memory_equal(s.rr[i].rdata + 1, "Block", 5);
        }
    }
    assert_int_equal(wild, 512);
    assert_int_equal(excluded, 0);
    /* Compression: far less than the names written out. */
    assert_true(s.bytes < 30 * want);
    assert_int_equal(atomic_load(&xc.done), done + 1);
    free(s.rr);
}

static void test_stream_cap(void **state)
{
    (void)state;
    struct stream s;
    uint64_t refused = atomic_load(&xc.refused);
    /* 4096 addresses whose TXT names them: 8194 records, cap 1000. */
    transfer("big.example", NULL, &s);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.rcode, WIRE_RCODE_REFUSED);
    assert_int_equal(s.n, 0);
    assert_int_equal(atomic_load(&xc.refused), refused + 1);
    free(s.rr);
}

/* A transfer told to stop ends early and says it failed. */
static void test_stream_stop(void **state)
{
    (void)state;
    struct stream s;
    uint64_t failed = atomic_load(&xc.failed);
    atomic_store(&stop_flag, true);
    transfer("bl.example", NULL, &s);
    atomic_store(&stop_flag, false);
    assert_int_equal(s.n, 0);
    assert_int_equal(atomic_load(&xc.failed), failed + 1);
    free(s.rr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf),       cmocka_unit_test(test_serial),
        cmocka_unit_test(test_parse_ixfr), cmocka_unit_test(test_udp_answers),
        cmocka_unit_test(test_decide),     cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_cap), cmocka_unit_test(test_stream_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
