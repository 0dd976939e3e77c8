/* Unit tests for address literals and listen specifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/un.h>

#include "common/addr.h"
#include "common/err.h"

static void test_ip4(void **state)
{
    (void)state;
    uint32_t a;
    char buf[ADDR_IP4_STRLEN];
    assert_int_equal(addr_ip4_parse("192.0.2.1", &a), 0);
    assert_int_equal(a, 0xc0000201);
    assert_int_equal(addr_ip4_format(a, buf), 9);
    assert_string_equal(buf, "192.0.2.1");
    assert_int_equal(addr_ip4_parse("255.255.255.255", &a), 0);
    assert_int_equal(a, 0xffffffff);
    assert_int_equal(addr_ip4_format(a, buf), 15);
    assert_string_equal(buf, "255.255.255.255");
    assert_int_equal(addr_ip4_format(0x0a00630a, buf), 10);
    assert_string_equal(buf, "10.0.99.10");
    assert_int_equal(addr_ip4_format(0, buf), 7);
    assert_string_equal(buf, "0.0.0.0");
    assert_int_equal(addr_ip4_parse("256.0.0.1", &a), ERR_INVAL);
    assert_int_equal(addr_ip4_parse("1.2.3", &a), ERR_INVAL);
    assert_int_equal(addr_ip4_parse("1.2.3.4.5", &a), ERR_INVAL);
    assert_int_equal(addr_ip4_parse("1.2.3.4 ", &a), ERR_INVAL);
    assert_int_equal(addr_ip4_parse("1..3.4", &a), ERR_INVAL);
    assert_int_equal(addr_ip4_parse("0001.2.3.4", &a), ERR_INVAL);
}

static void test_ip6(void **state)
{
    (void)state;
    uint8_t a[16];
    char buf[ADDR_IP6_STRLEN];
    assert_int_equal(addr_ip6_parse("2001:DB8::1", a), 0);
    assert_int_equal(a[0], 0x20);
    assert_int_equal(a[15], 1);
    addr_ip6_format(a, buf);
    assert_string_equal(buf, "2001:db8::1");
    assert_int_equal(addr_ip6_parse("2001:db8::1::2", a), ERR_INVAL);
    assert_int_equal(addr_ip6_parse("1.2.3.4", a), ERR_INVAL);
}

static void test_sock(void **state)
{
    (void)state;
    struct addr_sock s;
    char buf[80];
    assert_int_equal(addr_sock_parse("127.0.0.1/5353", 53, &s), 0);
    addr_sock_format((struct sockaddr *)&s.ss, buf, sizeof(buf));
    assert_string_equal(buf, "127.0.0.1/5353");
    assert_int_equal(addr_sock_parse("::1", 53, &s), 0);
    addr_sock_format((struct sockaddr *)&s.ss, buf, sizeof(buf));
    assert_string_equal(buf, "::1/53");
    assert_int_equal(s.len, sizeof(struct sockaddr_in6));
    assert_int_equal(addr_sock_parse("[::1]/54", 53, &s), 0);
    assert_int_equal(addr_sock_parse("*/54", 53, &s), 0);
    assert_int_equal(s.ss.ss_family, AF_INET);
    assert_int_equal(addr_sock_parse("127.0.0.1/", 53, &s), ERR_INVAL);
    assert_int_equal(addr_sock_parse("127.0.0.1/x", 53, &s), ERR_INVAL);
    assert_int_equal(addr_sock_parse("example.com/53", 53, &s), ERR_INVAL);
}

/* Networks of either family in 128 bits, IPv4 mapped. */
static void test_net_parse(void **state)
{
    (void)state;
    struct addr_net n;
    assert_int_equal(addr_net_parse("192.0.2.77/24", &n), 0);
    /* IPv4 as ::ffff:192.0.2.0/120, host bits cleared. */
    assert_int_equal(n.hi, 0);
    assert_int_equal(n.lo, 0x0000ffffc0000200ull);
    assert_int_equal(n.mhi, ~0ull);
    assert_int_equal(n.mlo, 0xffffffffffffff00ull);
    assert_int_equal(addr_net_parse("192.0.2.77", &n), 0);
    assert_int_equal(n.lo, 0x0000ffffc000024dull);
    assert_int_equal(n.mlo, ~0ull);
    assert_int_equal(addr_net_parse("2001:db8::1/127", &n), 0);
    assert_int_equal(n.hi, 0x20010db800000000ull);
    assert_int_equal(n.lo, 0);
    assert_int_equal(n.mlo, ~1ull);
    assert_int_equal(addr_net_parse("2001:db8:ffff::/20", &n), 0);
    assert_int_equal(n.hi, 0x2001000000000000ull);
    assert_int_equal(n.mhi, 0xfffff00000000000ull);
    assert_int_equal(n.mlo, 0);
    assert_int_equal(addr_net_parse("::/0", &n), 0);
    assert_int_equal(n.mhi, 0);
    assert_int_equal(addr_net_parse("192.0.2.0/33", &n), ERR_INVAL);
    assert_int_equal(addr_net_parse("2001:db8::/129", &n), ERR_INVAL);
    assert_int_equal(addr_net_parse("192.0.2.0/", &n), ERR_INVAL);
    assert_int_equal(addr_net_parse("192.0.2.0/-1", &n), ERR_INVAL);
    assert_int_equal(addr_net_parse("example.org", &n), ERR_INVAL);
    assert_int_equal(addr_net_parse("", &n), ERR_INVAL);
}

static void test_net_has(void **state)
{
    (void)state;
    struct addr_net n;
    assert_int_equal(addr_net_parse("::ffff:203.0.113.0/120", &n), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(0xcb007105); /* 203.0.113.5 */
    uint64_t hi, lo;
    assert_true(addr_sock_128((const struct sockaddr *)&sin, &hi, &lo));
    assert_true(addr_128_is_ip4(hi, lo));
    assert_true(addr_net_has(&n, hi, lo));
    sin.sin_addr.s_addr = htonl(0xcb007205); /* 203.0.114.5 */
    addr_sock_128((const struct sockaddr *)&sin, &hi, &lo);
    assert_false(addr_net_has(&n, hi, lo));
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    assert_false(addr_sock_128((const struct sockaddr *)&sun, &hi, &lo));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_parse), cmocka_unit_test(test_net_has),
        cmocka_unit_test(test_ip4),       cmocka_unit_test(test_ip6),
        cmocka_unit_test(test_sock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
