/* Unit tests for response rate limiting: budgets per network and second,
 * slip, exemptions, prefixes, the configuration's refusals, and the
 * limited reply itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "server/answer.h"
#include "server/ratelimit.h"
#include "server/serve_conf.h"
#include "wire/wire.h"

#include "sockaddr_util.h"

/* Responses to `client` in second `now` that pass, out of `tries`. */
static unsigned passes(struct ratelimit *rl, const struct sockaddr *client, uint32_t now,
                       unsigned tries, unsigned *slips)
{
    unsigned pass = 0;
    *slips = 0;
    for (unsigned i = 0; i < tries; i++) {
        enum ratelimit_verdict v = ratelimit_check(rl, client, now);
        pass += v == RATELIMIT_PASS;
        *slips += v == RATELIMIT_SLIP;
    }
    return pass;
}

static void setup_rl(struct ratelimit *rl, uint32_t rate, unsigned slip)
{
    struct ratelimit_conf c;
    ratelimit_conf_init(&c);
    c.rate = rate;
    c.slip = slip;
    assert_int_equal(ratelimit_init(rl, &c), 0);
}

static void test_budget_per_second(void **state)
{
    (void)state;
    struct ratelimit rl;
    setup_rl(&rl, 10, 2);
    struct sockaddr_storage a = v4("192.0.2.1");
    unsigned slips;
    assert_int_equal(passes(&rl, SA(a), 100, 25, &slips), 10);
    /* 15 over the limit, every second of them slipped. */
    assert_int_equal(slips, 7);
    /* The next second has a fresh budget. */
    assert_int_equal(passes(&rl, SA(a), 101, 12, &slips), 10);
    assert_int_equal(slips, 1);
    ratelimit_free(&rl);
}

static void test_network_shares_budget(void **state)
{
    (void)state;
    struct ratelimit rl;
    setup_rl(&rl, 5, 0);
    struct sockaddr_storage a = v4("198.51.100.1"), b = v4("198.51.100.200"),
                            c = v4("198.51.101.1");
    unsigned slips;
    assert_int_equal(passes(&rl, SA(a), 7, 3, &slips), 3);
    /* Same /24: two left. */
    assert_int_equal(passes(&rl, SA(b), 7, 5, &slips), 2);
    assert_int_equal(slips, 0); /* slip 0: never truncated */
    /* The next /24 has its own. */
    assert_int_equal(passes(&rl, SA(c), 7, 5, &slips), 5);
    ratelimit_free(&rl);
}

static void test_ipv6_prefix(void **state)
{
    (void)state;
    struct ratelimit rl;
    setup_rl(&rl, 4, 1);
    struct sockaddr_storage a = v6("2001:db8:0:ff::1"), b = v6("2001:db8:0:aa::2"),
                            c = v6("2001:db8:0:100::1");
    unsigned slips;
    assert_int_equal(passes(&rl, SA(a), 1, 3, &slips), 3);
    /* 2001:db8:0:aa:: is in the same /56 as 2001:db8:0:ff::; slip 1
     * truncates every limited response. */
    assert_int_equal(passes(&rl, SA(b), 1, 4, &slips), 1);
    assert_int_equal(slips, 3);
    /* 2001:db8:0:100:: is the next /56. */
    assert_int_equal(passes(&rl, SA(c), 1, 4, &slips), 4);
    ratelimit_free(&rl);
}

static void test_mapped_is_ipv4(void **state)
{
    (void)state;
    struct ratelimit rl;
    setup_rl(&rl, 3, 0);
    struct sockaddr_storage a = v4("203.0.113.9"), m = v6("::ffff:203.0.113.77");
    unsigned slips;
    assert_int_equal(passes(&rl, SA(a), 1, 2, &slips), 2);
    assert_int_equal(passes(&rl, SA(m), 1, 3, &slips), 1);
    ratelimit_free(&rl);
}

static void test_exempt(void **state)
{
    (void)state;
    struct ratelimit_conf c;
    struct ratelimit rl;
    ratelimit_conf_init(&c);
    c.rate = 2;
    assert_int_equal(addr_net_parse("10.1.0.0/16", &c.exempt[c.nexempt++]), 0);
    assert_int_equal(addr_net_parse("2001:db8::/32", &c.exempt[c.nexempt++]), 0);
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    struct sockaddr_storage in4 = v4("10.1.200.3"), out4 = v4("10.2.0.1"),
                            in6 = v6("2001:db8:ffff::1"), out6 = v6("2001:db9::1");
    unsigned slips;
    assert_int_equal(passes(&rl, SA(in4), 1, 50, &slips), 50);
    assert_int_equal(passes(&rl, SA(in6), 1, 50, &slips), 50);
    assert_int_equal(passes(&rl, SA(out4), 1, 50, &slips), 2);
    assert_int_equal(passes(&rl, SA(out6), 1, 50, &slips), 2);
    /* Loopback, exempt by default. */
    struct sockaddr_storage lo4 = v4("127.0.0.1"), lo6 = v6("::1");
    assert_int_equal(passes(&rl, SA(lo4), 1, 50, &slips), 50);
    assert_int_equal(passes(&rl, SA(lo6), 1, 50, &slips), 50);
    ratelimit_free(&rl);
    /* Without the default, loopback is limited like anyone. */
    c.nexempt = 0;
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    assert_int_equal(passes(&rl, SA(lo4), 1, 50, &slips), 2);
    ratelimit_free(&rl);
}

/* An IPv4-mapped exempt network covers IPv4 clients, and an IPv6
 * network whose bits look like an IPv4 one's is another network. */
static void test_families_apart(void **state)
{
    (void)state;
    struct ratelimit_conf c;
    struct ratelimit rl;
    ratelimit_conf_init(&c);
    c.rate = 2;
    c.v6_prefix = 64;
    assert_int_equal(addr_net_parse("::ffff:203.0.113.0/120", &c.exempt[c.nexempt++]), 0);
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    struct sockaddr_storage ex = v4("203.0.113.5"), a = v4("32.1.13.1"), b = v6("2001:d00:0:8::1");
    unsigned slips;
    assert_int_equal(passes(&rl, SA(ex), 1, 20, &slips), 20);
    assert_int_equal(passes(&rl, SA(a), 1, 2, &slips), 2);
    assert_int_equal(passes(&rl, SA(b), 1, 2, &slips), 2);
    assert_int_equal(passes(&rl, SA(a), 1, 5, &slips), 0);
    ratelimit_free(&rl);
}

/* Slips count per network: two flooded networks interleaved each get
 * every slip-th of their own limited responses. */
static void test_slip_per_network(void **state)
{
    (void)state;
    struct ratelimit rl;
    setup_rl(&rl, 1, 3);
    struct sockaddr_storage a = v4("192.0.2.1"), b = v4("198.51.100.1");
    unsigned slips_a = 0, slips_b = 0;
    for (unsigned i = 0; i < 31; i++) {
        slips_a += ratelimit_check(&rl, SA(a), 5) == RATELIMIT_SLIP;
        slips_b += ratelimit_check(&rl, SA(b), 5) == RATELIMIT_SLIP;
    }
    /* 30 limited each: the 3rd, 6th, ... 30th slipped. */
    assert_int_equal(slips_a, 10);
    assert_int_equal(slips_b, 10);
    ratelimit_free(&rl);
}

/* Networks sharing a bucket keep their own budgets: 100 networks in
 * 512 buckets each get exactly `rate` while all flood at once. With one
 * slot per network, two of them would share a slot and reset each
 * other (the chance that no two of 100 share one of 1024 slots is under
 * 1%). A third busy network in a bucket still resets one of the other
 * two; the fixed seed is one with no such bucket among these 100 (about
 * one seed in three has one). */
static void test_bucket_neighbours(void **state)
{
    (void)state;
    struct ratelimit_conf c;
    struct ratelimit rl;
    ratelimit_conf_init(&c);
    c.rate = 5;
    c.slip = 0;
    c.table = 1024;
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    rl.seed = 1;
    unsigned pass[100] = {0};
    for (unsigned round = 0; round < 40; round++)
        for (uint32_t net = 0; net < 100; net++) {
            struct sockaddr_storage ss;
            memset(&ss, 0, sizeof(ss));
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(0x0a000000u | net << 8 | round);
            pass[net] += ratelimit_check(&rl, SA(ss), 9) == RATELIMIT_PASS;
        }
    for (unsigned net = 0; net < 100; net++)
        if (pass[net] != 5)
            fail_msg("network %u got %u answers, want 5", net, pass[net]);
    ratelimit_free(&rl);
}

static void test_init_refuses(void **state)
{
    (void)state;
    struct ratelimit_conf c;
    struct ratelimit rl;
    ratelimit_conf_init(&c);
    /* On by default: 1000 a second, loopback exempt. */
    assert_int_equal(c.rate, RATELIMIT_DEFAULT_RATE);
    assert_int_equal(c.nexempt, 2);
    assert_true(c.exempt_default);
    c.rate = 0;
    assert_int_equal(ratelimit_init(&rl, &c), ERR_INVAL); /* rate 0 is "off" */
    c.rate = 10;
    c.v4_prefix = 0;
    assert_int_equal(ratelimit_init(&rl, &c), ERR_INVAL);
    c.v4_prefix = 24;
    c.v6_prefix = 129;
    assert_int_equal(ratelimit_init(&rl, &c), ERR_INVAL);
    c.v6_prefix = 56;
    c.rate = RATELIMIT_MAX_RATE + 1;
    assert_int_equal(ratelimit_init(&rl, &c), ERR_INVAL);
    c.rate = 10;
    c.table = 1000; /* rounded up to 1024 */
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    assert_int_equal(rl.mask, 1023);
    ratelimit_free(&rl);
    c.table = 0;
    assert_int_equal(ratelimit_init(&rl, &c), ERR_INVAL);
    c.table = (1u << 24) + 1;
    assert_int_equal(ratelimit_init(&rl, &c), ERR_INVAL);
    c.table = 1;
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    assert_int_equal(rl.mask, 1); /* one bucket */
    ratelimit_free(&rl);
}

/* A small table full of other networks: a new one still gets its whole
 * budget, since a slot of another network or second starts over. */
static void test_collisions_err_open(void **state)
{
    (void)state;
    struct ratelimit_conf c;
    struct ratelimit rl;
    ratelimit_conf_init(&c);
    c.rate = 3;
    c.table = 1024;
    assert_int_equal(ratelimit_init(&rl, &c), 0);
    for (uint32_t net = 0; net < 5000; net++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(0x0a000000u | net << 8);
        for (unsigned k = 0; k < 3; k++)
            assert_int_equal(ratelimit_check(&rl, SA(ss), 9), RATELIMIT_PASS);
    }
    ratelimit_free(&rl);
}

struct hammer {
    struct ratelimit *rl;
    unsigned pass;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    struct sockaddr_storage a = v4("192.0.2.50");
    for (unsigned i = 0; i < 20000; i++)
        h->pass += ratelimit_check(h->rl, SA(a), 42) == RATELIMIT_PASS;
    return NULL;
}

/* Workers share the budget: four threads together get exactly `rate`. */
static void test_threads_share_budget(void **state)
{
    (void)state;
    struct ratelimit rl;
    setup_rl(&rl, 1000, 2);
    pthread_t t[4];
    struct hammer h[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){&rl, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
    }
    unsigned total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += h[i].pass;
    }
    assert_int_equal(total, 1000);
    ratelimit_free(&rl);
}

static void test_limited_reply(void **state)
{
    (void)state;
    /* 2.0.0.127.bl.example. A, with EDNS (bufsize 1232). */
    static const uint8_t req[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x01, 1,    '2',  1,    '0',  1,    '0',  3,    '1',
                                  '2',  '7',  2,    'b',  'l',  7,    'e',  'x',  'a',  'm',
                                  'p',  'l',  'e',  0,    0x00, 0x01, 0x00, 0x01, 0,    0x00,
                                  0x29, 0x04, 0xd0, 0,    0,    0,    0,    0x00, 0x00};
    uint8_t out[512];
    struct answer_stats st;
    memset(&st, 0, sizeof(st));
    /* Dropped: nothing sent, counted. */
    assert_int_equal(answer_limited(req, sizeof(req), false, out, sizeof(out), &st), 0);
    size_t len = answer_limited(req, sizeof(req), true, out, sizeof(out), &st);
    /* Header, the question (22 + 4), the OPT record (11). */
    assert_int_equal(len, 12 + 22 + 4 + 11);
    assert_int_equal(wire_get16(out), 0x1234);
    assert_true(out[2] & 0x80);  /* QR */
    assert_true(out[2] & 0x02);  /* TC */
    assert_true(out[2] & 0x01);  /* RD copied */
    assert_false(out[2] & 0x04); /* no data: not authoritative */
    assert_int_equal(out[3] & 0x0f, 0);
    assert_int_equal(wire_get16(out + 4), 1); /* the question */
    assert_int_equal(wire_get16(out + 6), 0); /* no answer */
    assert_int_equal(wire_get16(out + 8), 0);
    assert_int_equal(wire_get16(out + 10), 1); /* OPT */
    assert_memory_equal(out + 12, req + 12, 26);
    /* A request that does not parse gets nothing, slip or not. */
    assert_int_equal(answer_limited(req, 5, true, out, sizeof(out), &st), 0);
    assert_int_equal(st.queries, 3);
    assert_int_equal(st.ratelimited, 3);
    assert_int_equal(st.slipped, 1);
}

static int conf_error(const char *text, char *err, size_t errsz)
{
    char path[] = "/tmp/dbk-rlconf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct serve_conf c;
    serve_conf_init(&c);
    err[0] = '\0';
    int rc = serve_conf_load_file(&c, path, err, errsz);
    if (rc == 0) {
        assert_int_equal(c.ratelimit.rate, 50);
        assert_int_equal(c.ratelimit.slip, 3);
        assert_int_equal(c.ratelimit.v4_prefix, 22);
        assert_int_equal(c.ratelimit.v6_prefix, 48);
        assert_int_equal(c.ratelimit.table, 4096);
        /* The configuration's replace the default (loopback). */
        assert_int_equal(c.ratelimit.nexempt, 3);
        assert_false(c.ratelimit.exempt_default);
        assert_int_equal(c.ratelimit.exempt[2].lo, 1); /* ::1 */
    }
    serve_conf_free(&c);
    unlink(path);
    return rc;
}

static void test_conf_keys(void **state)
{
    (void)state;
    char err[512];
    /* "none": nobody exempt, not even loopback. */
    {
        char path[] = "/tmp/dbk-rlconf-XXXXXX";
        const char *text = "[server]\nrate-limit-exempt = none\n";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        struct serve_conf c;
        serve_conf_init(&c);
        assert_int_equal(serve_conf_load_file(&c, path, err, sizeof(err)), 0);
        assert_int_equal(c.ratelimit.nexempt, 0);
        assert_int_equal(c.ratelimit.rate, RATELIMIT_DEFAULT_RATE);
        serve_conf_free(&c);
        unlink(path);
    }
    assert_int_equal(conf_error("[server]\nrate-limit = 50\nrate-limit-slip = 3\n"
                                "rate-limit-ipv4-prefix = 22\nrate-limit-ipv6-prefix = 48\n"
                                "rate-limit-table-size = 4096\n"
                                "rate-limit-exempt = 127.0.0.0/8, 10.0.0.0/8\n"
                                "rate-limit-exempt = ::1\n",
                                err, sizeof(err)),
                     0);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[server]\nrate-limit = fast\n", ":2: bad rate-limit 'fast'"},
        {"[server]\nrate-limit = 16777216\n", ":2: bad rate-limit '16777216'"},
        {"[server]\n\nrate-limit-slip = -1\n", ":3: bad rate-limit-slip '-1'"},
        {"[server]\nrate-limit-ipv4-prefix = 0\n", ":2: bad rate-limit-ipv4-prefix '0'"},
        {"[server]\nrate-limit-ipv6-prefix = 129\n", ":2: bad rate-limit-ipv6-prefix '129'"},
        {"[server]\nrate-limit-table-size = 10\n", ":2: bad rate-limit-table-size '10'"},
        {"[server]\nrate-limit-exempt = 10.0.0.0/8 10.0.0.0/40\n",
         ":2: bad rate-limit-exempt network '10.0.0.0/40'"},
        {"[server]\nrate-limits = 5\n", ":2: unknown key 'rate-limits' in [server]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(conf_error(bad[i].text, err, sizeof(err)), 0);
        if (!strstr(err, bad[i].want))
            fail_msg("for %s got '%s', want '%s'", bad[i].text, err, bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_per_second),
        cmocka_unit_test(test_network_shares_budget),
        cmocka_unit_test(test_ipv6_prefix),
        cmocka_unit_test(test_mapped_is_ipv4),
        cmocka_unit_test(test_exempt),
        cmocka_unit_test(test_families_apart),
        cmocka_unit_test(test_slip_per_network),
        cmocka_unit_test(test_bucket_neighbours),
        cmocka_unit_test(test_init_refuses),
        cmocka_unit_test(test_collisions_err_open),
        cmocka_unit_test(test_threads_share_budget),
        cmocka_unit_test(test_limited_reply),
        cmocka_unit_test(test_conf_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
