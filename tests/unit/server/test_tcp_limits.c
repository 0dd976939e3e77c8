/* Unit tests for the TCP limits: connections counted per client address
 * (IPv4 address, IPv6 /64), the per-address cap, releases that keep the
 * table's probe chains whole, and which time limit a connection passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "server/tcp_limits.h"

#include "sockaddr_util.h"

static void test_per_address_cap(void **state)
{
    (void)state;
    struct tcp_peers p;
    assert_int_equal(tcp_peers_init(&p, 64), 0);
    struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(tcp_peers_acquire(&p, SA(a), 3), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(a), 3), ERR_LIMIT);
    assert_int_equal(tcp_peers_count(&p, SA(a)), 3); /* the refused one is not counted */
    /* Another address has a share of its own. */
    assert_int_equal(tcp_peers_acquire(&p, SA(b), 3), 0);
    assert_int_equal(tcp_peers_count(&p, SA(b)), 1);
    /* One closes: one more may open. */
    tcp_peers_release(&p, SA(a));
    assert_int_equal(tcp_peers_count(&p, SA(a)), 2);
    assert_int_equal(tcp_peers_acquire(&p, SA(a), 3), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(a), 3), ERR_LIMIT);
    /* The port is no part of the client. */
    struct sockaddr_storage a2 = a;
    ((struct sockaddr_in *)&a2)->sin_port = htons(4242);
    assert_int_equal(tcp_peers_count(&p, SA(a2)), 3);
    for (unsigned i = 0; i < 3; i++)
        tcp_peers_release(&p, SA(a));
    tcp_peers_release(&p, SA(b));
    assert_int_equal(tcp_peers_count(&p, SA(a)), 0);
    assert_int_equal(p.used, 0);
    /* Releasing an address that holds nothing changes nothing. */
    tcp_peers_release(&p, SA(a));
    assert_int_equal(p.used, 0);
    tcp_peers_free(&p);
}

static void test_no_limit(void **state)
{
    (void)state;
    struct tcp_peers p;
    assert_int_equal(tcp_peers_init(&p, 16), 0);
    struct sockaddr_storage a = v4("198.51.100.7");
    for (unsigned i = 0; i < 1000; i++)
        assert_int_equal(tcp_peers_acquire(&p, SA(a), 0), 0);
    assert_int_equal(tcp_peers_count(&p, SA(a)), 1000);
    tcp_peers_free(&p);
}

/* An IPv6 client is its /64; IPv4-mapped IPv6 is the IPv4 address. */
static void test_ipv6_per_64(void **state)
{
    (void)state;
    struct tcp_peers p;
    assert_int_equal(tcp_peers_init(&p, 64), 0);
    struct sockaddr_storage x1 = v6("2001:db8:1:2::1"), x2 = v6("2001:db8:1:2:ffff::9"),
                            y = v6("2001:db8:1:3::1");
    assert_int_equal(tcp_peers_acquire(&p, SA(x1), 2), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(x2), 2), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(x2), 2), ERR_LIMIT);
    assert_int_equal(tcp_peers_count(&p, SA(x1)), 2);
    assert_int_equal(tcp_peers_acquire(&p, SA(y), 2), 0);
    assert_int_equal(tcp_peers_count(&p, SA(y)), 1);

    struct sockaddr_storage m = v6("::ffff:192.0.2.1"), m4 = v4("192.0.2.1"),
                            other = v6("::ffff:192.0.2.2");
    assert_int_equal(tcp_peers_acquire(&p, SA(m), 2), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(m4), 2), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(m4), 2), ERR_LIMIT);
    /* Mapped IPv4 addresses are not one /64 together. */
    assert_int_equal(tcp_peers_acquire(&p, SA(other), 2), 0);
    tcp_peers_free(&p);
}

/* Many clients, released in a scrambled order: every count stays right,
 * so no release breaks the chain another client's entry sits in. */
static void test_many_clients_and_releases(void **state)
{
    (void)state;
    enum { N = 512 };
    struct tcp_peers p;
    assert_int_equal(tcp_peers_init(&p, N), 0);
    static struct sockaddr_storage addr[N];
    char text[32];
    for (unsigned i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "10.%u.%u.1", i / 256, i % 256);
        addr[i] = v4(text);
        /* Client i holds i % 3 + 1 connections. */
        for (unsigned k = 0; k <= i % 3; k++)
            assert_int_equal(tcp_peers_acquire(&p, SA(addr[i]), 3), 0);
    }
    assert_int_equal(p.used, N);
    /* Release every connection of the clients in a stride order. */
    for (unsigned j = 0; j < N; j++) {
        unsigned i = (j * 37) % N; /* 37 is prime to 512: every index once */
        for (unsigned k = 0; k <= i % 3; k++)
            tcp_peers_release(&p, SA(addr[i]));
        assert_int_equal(tcp_peers_count(&p, SA(addr[i])), 0);
        /* Every client not yet released still has its count. */
        if (j % 64 == 0)
            for (unsigned jj = j + 1; jj < N; jj++) {
                unsigned ii = (jj * 37) % N;
                assert_int_equal(tcp_peers_count(&p, SA(addr[ii])), ii % 3 + 1);
            }
    }
    assert_int_equal(p.used, 0);
    for (uint64_t i = 0; i <= p.mask; i++)
        assert_int_equal(p.slot[i].count, 0);
    tcp_peers_free(&p);
}

/* More distinct clients than the table was made for are refused, not
 * looped over. */
static void test_table_bound(void **state)
{
    (void)state;
    struct tcp_peers p;
    assert_int_equal(tcp_peers_init(&p, 4), 0); /* 16 slots, 8 usable */
    assert_int_equal(p.mask, 15);
    char text[32];
    unsigned ok = 0;
    for (unsigned i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "192.0.2.%u", i + 1);
        struct sockaddr_storage a = v4(text);
        ok += tcp_peers_acquire(&p, SA(a), 16) == 0;
    }
    assert_int_equal(ok, 8);
    tcp_peers_free(&p);
}

static void test_unknown_family_not_counted(void **state)
{
    (void)state;
    struct tcp_peers p;
    assert_int_equal(tcp_peers_init(&p, 4), 0);
    struct sockaddr_storage u;
    memset(&u, 0, sizeof(u));
    u.ss_family = AF_UNIX;
    assert_int_equal(tcp_peers_acquire(&p, SA(u), 1), 0);
    assert_int_equal(tcp_peers_acquire(&p, SA(u), 1), 0);
    assert_int_equal(tcp_peers_count(&p, SA(u)), 0);
    tcp_peers_release(&p, SA(u));
    assert_int_equal(p.used, 0);
    tcp_peers_free(&p);
}

static void test_expiry(void **state)
{
    (void)state;
    struct tcp_limits l = {.idle = 10, .max_time = 60};
    /* Milliseconds: opened at 1000.000 s, active at 1005.500 s. */
    assert_int_equal(tcp_limits_expired(&l, 1015499, 1000000, 1005500), TCP_EXPIRY_NONE);
    assert_int_equal(tcp_limits_expired(&l, 1015500, 1000000, 1005500), TCP_EXPIRY_IDLE);
    /* Busy all along (last = now), yet past its total time, to the ms. */
    assert_int_equal(tcp_limits_expired(&l, 1059999, 1000000, 1059999), TCP_EXPIRY_NONE);
    assert_int_equal(tcp_limits_expired(&l, 1060000, 1000000, 1060000), TCP_EXPIRY_TIME);
    /* Both: the total time is what is said. */
    assert_int_equal(tcp_limits_expired(&l, 1100000, 1000000, 1000000), TCP_EXPIRY_TIME);
    /* No total limit. */
    l.max_time = 0;
    assert_int_equal(tcp_limits_expired(&l, 100000000, 1000000, 99999000), TCP_EXPIRY_NONE);
    assert_int_equal(tcp_limits_expired(&l, 100000000, 1000000, 99990000), TCP_EXPIRY_IDLE);
    /* Limits in seconds that overflow 32 bits once in milliseconds. */
    l.max_time = 4000000000u;
    assert_int_equal(tcp_limits_expired(&l, 3999999999999, 0, 3999999999999), TCP_EXPIRY_NONE);
    assert_int_equal(tcp_limits_expired(&l, 4000000000000, 0, 4000000000000), TCP_EXPIRY_TIME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_address_cap), cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_ipv6_per_64),     cmocka_unit_test(test_many_clients_and_releases),
        cmocka_unit_test(test_table_bound),     cmocka_unit_test(test_unknown_family_not_counted),
        cmocka_unit_test(test_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
