/* Unit tests for the rbldnsd IPv6 entry syntax (ip6parse). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "common/err.h"
#include "data/ip6parse.h"

static void expect_prefix(const char *s, const char *addr, unsigned bits, const char *rest)
{
    uint8_t got[16], want[16];
    unsigned b = 999;
    const char *end = NULL;
    assert_int_equal(ip6parse_prefix(s, got, &b, &end), 0);
    assert_int_equal(inet_pton(AF_INET6, addr, want), 1);
    assert_memory_equal(got, want, 16);
    assert_int_equal(b, bits);
    assert_string_equal(end, rest);
}

static void test_prefixes(void **state)
{
    (void)state;
    expect_prefix("2001:db8:1:2", "2001:db8:1:2::", 64, "");
    expect_prefix("2001:21ab:c000", "2001:21ab:c000::", 48, "");
    expect_prefix("abac:adab:ad00:42f :2:x", "abac:adab:ad00:42f::", 64, " :2:x");
    expect_prefix("::1", "::1", 128, "");
    expect_prefix("::", "::", 128, "");
    expect_prefix("2001:db8::", "2001:db8::", 128, "");
    expect_prefix("1::4:0:0:0:8", "1:0:0:4::8", 128, "");
    expect_prefix("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 128, "");
    expect_prefix("1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8", 128, ":9");
    expect_prefix("2001:DB8::A#c", "2001:db8::a", 128, "#c");
    expect_prefix("2001:db8:1:2:x", "2001:db8:1:2::", 64, ":x");
}

static void test_bad_prefixes(void **state)
{
    (void)state;
    uint8_t a[16];
    unsigned b;
    const char *end;
    static const char *const bad[] = {
        "", "x", ":1", "12345::", "1::2::3", "2001:::1", "1:2:3:4::5:6:7:8",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ip6parse_prefix(bad[i], a, &b, &end) == 0)
            fail_msg("'%s' was accepted", bad[i]);
}

static void test_cidr(void **state)
{
    (void)state;
    uint8_t a[16];
    unsigned b;
    const char *end;
    assert_int_equal(ip6parse_cidr("2001:db8::/32 x", a, &b, &end), 0);
    assert_int_equal(b, 32);
    assert_string_equal(end, " x");
    assert_int_equal(ip6parse_cidr("::/0", a, &b, &end), 0);
    assert_int_equal(b, 0);
    assert_int_equal(ip6parse_cidr("2001:db8", a, &b, &end), 0);
    assert_int_equal(b, 32);
    /* A lone group is a likely typo, as in rbldnsd; with /16 it is fine. */
    assert_int_equal(ip6parse_cidr("2001", a, &b, &end), ERR_INVAL);
    assert_int_equal(ip6parse_cidr("2001/16", a, &b, &end), 0);
    assert_int_equal(b, 16);
    assert_int_equal(ip6parse_cidr("2001:db8::/129", a, &b, &end), ERR_INVAL);
    assert_int_equal(ip6parse_cidr("2001:db8::/", a, &b, &end), ERR_INVAL);
    assert_int_equal(ip6parse_cidr("2001:db8::/0032", a, &b, &end), ERR_INVAL);
}

static void test_mask_and_tail(void **state)
{
    (void)state;
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:ffff::1", a), 1);
    assert_true(ip6parse_mask(a, 36));
    uint8_t want[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:f000::", want), 1);
    assert_memory_equal(a, want, 16);
    assert_false(ip6parse_mask(a, 36));
    assert_false(ip6parse_mask(a, 128));
    assert_true(ip6parse_mask(a, 0));
    assert_true(ip6parse_tail_ok('\0'));
    assert_true(ip6parse_tail_ok(' '));
    assert_true(ip6parse_tail_ok(':'));
    assert_true(ip6parse_tail_ok(';'));
    assert_false(ip6parse_tail_ok('x'));
    assert_false(ip6parse_tail_ok('/'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_bad_prefixes),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_mask_and_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
