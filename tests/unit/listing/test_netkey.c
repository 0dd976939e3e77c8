/* Unit tests for listing keys: parsing, formatting, containment, and the
 * public-space test against every reserved range at its edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "listing/netkey.h"

static struct netkey key(const char *text)
{
    struct netkey k;
    assert_int_equal(netkey_parse(text, &k), 0);
    return k;
}

static void test_parse_ip4(void **state)
{
    (void)state;
    struct netkey k = key("1.2.3.4");
    assert_int_equal(k.family, 4);
    assert_int_equal(k.bits, 32);
    assert_int_equal(k.hi, 0x01020304);
    k = key("10.20.0.0/16");
    assert_int_equal(k.bits, 16);
    assert_int_equal(k.hi, 0x0a140000);
    k = key("128.0.0.0/1");
    assert_int_equal(k.bits, 1);
    assert_int_equal(k.hi, 0x80000000);
    k = key("255.255.255.255/32");
    assert_int_equal(k.hi, 0xffffffff);
}

static void test_parse_ip6(void **state)
{
    (void)state;
    /* A host becomes its /64. */
    struct netkey k = key("2a01:4f8:1c17:abcd::1");
    assert_int_equal(k.family, 6);
    assert_int_equal(k.bits, 64);
    assert_true(k.hi == 0x2a0104f81c17abcdull);
    k = key("2001:db8::/48");
    assert_int_equal(k.bits, 48);
    assert_true(k.hi == 0x20010db800000000ull);
    k = key("2001:db8:1:2::/64");
    assert_int_equal(k.bits, 64);
    assert_true(k.hi == 0x20010db800010002ull);
    k = key("8000::/1");
    assert_int_equal(k.bits, 1);
    assert_true(k.hi == 0x8000000000000000ull);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.4/",
        "1.2.3.4/33",
        "1.2.3.4/0",
        "1.2.3.4/24", /* host bits under the prefix */
        "11.0.0.0/7", /* ditto: 11 is odd */
        "1.2.3.0/2x",
        "1.2.3.0/+24",
        "1.2.3.0/24/1",
        " 1.2.3.4",
        "1.2.3.4 ",
        "2001:db8::/65", /* longer than the /64 keys are */
        "2001:db8::1/128",
        "2001:db8::1/64", /* host bits */
        "2001:db8:1::/32",
        "2001:db8::/0",
        "2001:db8:::1",
        "example.com",
        "::ffff:1.2.3.4/129",
        "1.2.3.4/32xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct netkey k = {.family = 99};
        if (netkey_parse(bad[i], &k) != ERR_INVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(k.family, 99); /* untouched on failure */
    }
}

static void test_from_addr(void **state)
{
    (void)state;
    struct netkey k;
    netkey_from_ip4(0xc0000201, &k);
    assert_int_equal(k.family, 4);
    assert_int_equal(k.bits, 32);
    assert_int_equal(k.hi, 0xc0000201);
    const uint8_t a6[16] = {0x2a, 0x01, 0x04, 0xf8, 0x1c, 0x17, 0xab, 0xcd,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    netkey_from_ip6(a6, &k);
    assert_int_equal(k.family, 6);
    assert_int_equal(k.bits, 64);
    assert_true(k.hi == 0x2a0104f81c17abcdull);
}

static void check_format(const char *in, const char *want)
{
    char out[NETKEY_STRLEN];
    struct netkey k = key(in);
    assert_int_equal(netkey_format(&k, out, sizeof(out)), (int)strlen(want));
    assert_string_equal(out, want);
    /* The text reads back as the same key. */
    struct netkey again = key(out);
    assert_int_equal(again.family, k.family);
    assert_int_equal(again.bits, k.bits);
    assert_true(again.hi == k.hi);
}

static void test_format(void **state)
{
    (void)state;
    check_format("1.2.3.4", "1.2.3.4");
    check_format("1.2.3.4/32", "1.2.3.4");
    check_format("1.2.3.0/24", "1.2.3.0/24");
    check_format("0.0.0.0/1", "0.0.0.0/1");
    check_format("2001:db8:1:2::99", "2001:db8:1:2::/64");
    check_format("2001:db8::/32", "2001:db8::/32");
    check_format("2a01:4f8:1c17:abcd:1:2:3:4", "2a01:4f8:1c17:abcd::/64");
    check_format("ffff:ffff:ffff:ffff::/64", "ffff:ffff:ffff:ffff::/64");

    char small[8];
    struct netkey k = key("2001:db8::/32");
    assert_int_equal(netkey_format(&k, small, sizeof(small)), ERR_SPACE);
    assert_string_equal(small, "");
    k = key("1.2.3.4");
    char exact[8];
    assert_int_equal(netkey_format(&k, exact, sizeof(exact)), 7);
    assert_int_equal(netkey_format(&k, exact, 7), ERR_SPACE);
    k.family = 5;
    assert_int_equal(netkey_format(&k, exact, sizeof(exact)), ERR_INVAL);
}

static void test_contains(void **state)
{
    (void)state;
    struct netkey n16 = key("10.1.0.0/16"), n24 = key("10.1.2.0/24"), h = key("10.1.2.3");
    struct netkey other = key("10.2.2.3"), v6 = key("2001:db8::/32"), v6h = key("2001:db8:5::1");
    assert_true(netkey_contains(&n16, &n24));
    assert_true(netkey_contains(&n16, &h));
    assert_true(netkey_contains(&n24, &h));
    assert_true(netkey_contains(&h, &h));
    assert_false(netkey_contains(&n24, &n16)); /* wider is not inside */
    assert_false(netkey_contains(&h, &n24));
    assert_false(netkey_contains(&n16, &other));
    assert_true(netkey_contains(&v6, &v6h));
    assert_false(netkey_contains(&v6h, &v6));
    /* Same bits, other family. */
    struct netkey v4as6 = {.family = 6, .bits = 16, .hi = n16.hi};
    assert_false(netkey_contains(&n16, &v4as6));
    assert_false(netkey_contains(&v6, &h));
    struct netkey top = key("128.0.0.0/1"), low = key("127.255.255.255");
    assert_false(netkey_contains(&top, &low));
    struct netkey first = {.family = 4, .bits = 32, .hi = 0x80000000};
    assert_true(netkey_contains(&top, &first));
    /* A key built elsewhere with more bits than its family has (UBSan
     * watches the shifts). */
    struct netkey odd = {.family = 4, .bits = 40, .hi = 0x01020304};
    assert_true(netkey_contains(&odd, &odd));
    assert_false(netkey_contains(&odd, &h));
}

static void expect_public(const char *text, bool want, const char *why_part)
{
    const char *why = "unset";
    struct netkey k = key(text);
    bool got = netkey_is_public(&k, &why);
    if (got != want)
        fail_msg("%s: is_public %d, want %d (%s)", text, got, want, why ? why : "-");
    if (want) {
        assert_null(why);
    } else {
        assert_non_null(why);
        if (!strstr(why, why_part))
            fail_msg("%s: reason \"%s\" lacks \"%s\"", text, why, why_part);
    }
}

static void test_public_ip4(void **state)
{
    (void)state;
    expect_public("45.83.12.7", true, NULL);
    expect_public("185.220.101.33", true, NULL);
    expect_public("8.8.8.0/24", true, NULL);
    expect_public("1.0.0.0/8", true, NULL);
    /* Each reserved range, and the addresses just outside it. */
    expect_public("0.1.2.3", false, "0.0.0.0/8");
    expect_public("1.0.0.0", true, NULL);
    expect_public("10.0.0.0", false, "RFC 1918");
    expect_public("10.255.255.255", false, "10.0.0.0/8");
    expect_public("9.255.255.255", true, NULL);
    expect_public("11.0.0.0", true, NULL);
    expect_public("100.64.0.1", false, "100.64.0.0/10");
    expect_public("100.127.255.255", false, "carrier-grade NAT");
    expect_public("100.63.255.255", true, NULL);
    expect_public("100.128.0.0", true, NULL);
    expect_public("127.0.0.1", false, "loopback");
    expect_public("169.254.10.1", false, "link-local");
    expect_public("169.253.255.255", true, NULL);
    expect_public("172.16.0.1", false, "172.16.0.0/12");
    expect_public("172.31.255.255", false, "172.16.0.0/12");
    expect_public("172.15.255.255", true, NULL);
    expect_public("172.32.0.0", true, NULL);
    expect_public("192.0.0.9", false, "192.0.0.0/24");
    expect_public("192.0.1.0", true, NULL);
    expect_public("192.0.2.10", false, "documentation");
    expect_public("192.0.3.0", true, NULL);
    expect_public("192.88.99.1", false, "192.88.99.0/24");
    expect_public("192.168.1.5", false, "192.168.0.0/16");
    expect_public("192.169.0.0", true, NULL);
    expect_public("198.18.0.1", false, "benchmarking");
    expect_public("198.19.255.255", false, "198.18.0.0/15");
    expect_public("198.17.255.255", true, NULL);
    expect_public("198.20.0.0", true, NULL);
    expect_public("198.51.100.7", false, "198.51.100.0/24");
    expect_public("203.0.113.9", false, "203.0.113.0/24");
    expect_public("224.0.0.1", false, "multicast");
    expect_public("239.255.255.255", false, "multicast");
    expect_public("223.255.255.255", true, NULL);
    expect_public("240.0.0.1", false, "240.0.0.0/4");
    expect_public("255.255.255.255", false, "240.0.0.0/4");
}

static void test_public_prefixes(void **state)
{
    (void)state;
    /* A block is public only if no part of it is reserved. */
    expect_public("192.0.0.0/16", false, "192.0.0.0/24");
    expect_public("172.0.0.0/8", false, "172.16.0.0/12");
    expect_public("192.168.4.0/24", false, "192.168.0.0/16");
    expect_public("128.0.0.0/1", false, "");
    expect_public("192.0.2.128/25", false, "documentation");
    expect_public("45.0.0.0/8", true, NULL);
    expect_public("2a01:4f8::/32", true, NULL);
    expect_public("2000::/3", false, "2001:db8::/32");
    expect_public("2001:0:1::/48", false, "2001::/23");
    expect_public("2001:200::/23", true, NULL);
}

static void test_public_ip6(void **state)
{
    (void)state;
    expect_public("2a01:4f8:1c17:abcd::1", true, NULL);
    expect_public("2a02:c207:2034:5678::1", true, NULL);
    expect_public("2600::1", true, NULL);
    expect_public("::", false, "::/64");
    expect_public("::1", false, "loopback");
    expect_public("::ffff:1.2.3.4", false, "IPv4-mapped");
    expect_public("64:ff9b::1.2.3.4", false, "64:ff9b::/96");
    expect_public("100::1", false, "100::/64");
    expect_public("100:0:0:1::1", false, "outside global unicast");
    expect_public("2001:db8:abcd::1", false, "2001:db8::/32");
    expect_public("2001::1", false, "2001::/23");
    expect_public("2001:1ff:ffff:ffff::", false, "2001::/23");
    expect_public("2001:200::1", true, NULL);
    expect_public("2002:c000:0204::1", false, "6to4");
    expect_public("fc00::1", false, "unique local");
    expect_public("fdff:ffff:ffff:ffff::1", false, "fc00::/7");
    expect_public("fe80::1", false, "link-local");
    expect_public("febf:ffff:ffff:ffff::1", false, "fe80::/10");
    expect_public("ff02::1", false, "multicast");
    expect_public("4000::1", false, "2000::/3");
    expect_public("3fff:ffff:ffff:ffff::1", true, NULL);

    /* why may be NULL; a key of no family is not public. */
    struct netkey k = key("10.0.0.1");
    assert_false(netkey_is_public(&k, NULL));
    k.family = 0;
    const char *why = NULL;
    assert_false(netkey_is_public(&k, &why));
    assert_non_null(why);
}

static void test_net24(void **state)
{
    (void)state;
    struct netkey out, k = key("45.83.12.7");
    netkey_net24(&k, &out);
    assert_int_equal(out.family, 4);
    assert_int_equal(out.bits, 24);
    assert_int_equal(out.hi, 0x2d530c00);
    k = key("45.83.12.128/25");
    netkey_net24(&k, &out);
    assert_int_equal(out.bits, 24);
    assert_int_equal(out.hi, 0x2d530c00);
    /* Already as wide or wider: unchanged. */
    k = key("45.83.0.0/16");
    netkey_net24(&k, &out);
    assert_int_equal(out.bits, 16);
    assert_int_equal(out.hi, 0x2d530000);
    k = key("2a01:4f8:1c17:abcd::1");
    netkey_net24(&k, &out);
    assert_int_equal(out.family, 6);
    assert_int_equal(out.bits, 64);
    assert_true(out.hi == k.hi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ip4),    cmocka_unit_test(test_parse_ip6),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_from_addr),
        cmocka_unit_test(test_format),       cmocka_unit_test(test_contains),
        cmocka_unit_test(test_public_ip4),   cmocka_unit_test(test_public_prefixes),
        cmocka_unit_test(test_public_ip6),   cmocka_unit_test(test_net24),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
