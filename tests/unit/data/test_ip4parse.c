/* Unit tests for rbldnsd's IPv4 entry syntax (ip4parse). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "data/ip4parse.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void check_range(const char *s, uint32_t first, uint32_t last, int bits)
{
    uint32_t f = 0, l = 0;
    int b = 99;
    const char *end = NULL, *why = NULL;
    int rc = ip4parse_range(s, 0, &f, &l, &b, &end, &why);
    if (rc != 0)
        fail_msg("'%s' refused: %s", s, why);
    assert_int_equal(f, first);
    assert_int_equal(l, last);
    assert_int_equal(b, bits);
}

static void check_bad(const char *s, int code, const char *reason)
{
    uint32_t f, l;
    int b;
    const char *why = NULL;
    int rc = ip4parse_range(s, 0, &f, &l, &b, NULL, &why);
    if (rc != code)
        fail_msg("'%s': expected %d, got %d", s, code, rc);
    assert_non_null(why);
    if (reason && !strstr(why, reason))
        fail_msg("'%s': reason '%s' lacks '%s'", s, why, reason);
}

static void test_single_and_prefixes(void **state)
{
    (void)state;
    check_range("1.2.3.4", IP(1, 2, 3, 4), IP(1, 2, 3, 4), 32);
    check_range("127.0.0", IP(127, 0, 0, 0), IP(127, 0, 0, 255), 24);
    check_range("127.16", IP(127, 16, 0, 0), IP(127, 16, 255, 255), 16);
    check_range("010.0.0.1", IP(10, 0, 0, 1), IP(10, 0, 0, 1), 32); /* rbldnsd takes zeros */
}

static void test_cidr(void **state)
{
    (void)state;
    check_range("127.0.0.0/24", IP(127, 0, 0, 0), IP(127, 0, 0, 255), 24);
    check_range("127/24", IP(127, 0, 0, 0), IP(127, 0, 0, 255), 24);
    check_range("10/8", IP(10, 0, 0, 0), IP(10, 255, 255, 255), 8);
    check_range("127.16/12", IP(127, 16, 0, 0), IP(127, 31, 255, 255), 12);
    check_range("0.0.0.0/0", 0, 0xFFFFFFFFu, 0);
    check_range("1.2.3.4/32", IP(1, 2, 3, 4), IP(1, 2, 3, 4), 32);
}

static void test_ranges(void **state)
{
    (void)state;
    /* The examples of rbldnsd(8) for 127.0.0.0/24 and 127.16.0.0/12. */
    check_range("127.0.0.0-127.0.0.255", IP(127, 0, 0, 0), IP(127, 0, 0, 255), -1);
    check_range("127.0.0.1-255", IP(127, 0, 0, 1), IP(127, 0, 0, 255), -1);
    check_range("127.16.0.0-127.31.255.255", IP(127, 16, 0, 0), IP(127, 31, 255, 255), -1);
    check_range("127.16.0-127.31.255", IP(127, 16, 0, 0), IP(127, 31, 255, 255), -1);
    check_range("127.16-127.31", IP(127, 16, 0, 0), IP(127, 31, 255, 255), -1);
    check_range("127.16-31", IP(127, 16, 0, 0), IP(127, 31, 255, 255), -1);
    check_range("127.16.0-31", IP(127, 16, 0, 0), IP(127, 16, 31, 255), -1);
    check_range("10.0.0.1-20", IP(10, 0, 0, 1), IP(10, 0, 0, 20), -1);
    check_range("127-128", IP(127, 0, 0, 0), IP(128, 255, 255, 255), -1);
}

static void test_entry_end(void **state)
{
    (void)state;
    uint32_t f, l;
    int b;
    const char *end, *why;
    const char *s = "1.2.3.4 :2:text";
    assert_int_equal(ip4parse_range(s, 0, &f, &l, &b, &end, &why), 0);
    assert_ptr_equal(end, s + 7);
    s = "1.2.3.4:3:y";
    assert_int_equal(ip4parse_range(s, 0, &f, &l, &b, &end, &why), 0);
    assert_string_equal(end, ":3:y");
    s = "1.2.3/24#comment";
    assert_int_equal(ip4parse_range(s, 0, &f, &l, &b, &end, &why), 0);
    assert_string_equal(end, "#comment");
}

static void test_bad(void **state)
{
    (void)state;
    check_bad("", ERR_INVAL, "invalid");
    check_bad("10", ERR_INVAL, "N/8");
    check_bad("1.2.3.256", ERR_INVAL, "invalid");
    check_bad("1.2.3.4.5", ERR_INVAL, "invalid");
    check_bad("1.2.3.4/33", ERR_INVAL, "prefix length");
    check_bad("1.2.3.4/", ERR_INVAL, "prefix length");
    check_bad("1.2.3.4x", ERR_INVAL, "invalid");
    check_bad("a.b.c.d", ERR_INVAL, "invalid");
    check_bad("1.2.3.9-1.2.3.3", ERR_INVAL, "after its end");
    check_bad("127-127.0.0", ERR_INVAL, "differ");
    check_bad("17.0.0.1-17.0.1", ERR_INVAL, "differ");
    check_bad("1.2.3.4-", ERR_INVAL, "end of IPv4 range");
    check_bad("12.0.0.5/24", ERR_RANGE, "host bits");
}

static void test_hostbits_flag(void **state)
{
    (void)state;
    uint32_t f, l;
    int b;
    assert_int_equal(ip4parse_range("12.0.0.5/24", IP4PARSE_HOSTBITS, &f, &l, &b, NULL, NULL), 0);
    assert_int_equal(f, IP(12, 0, 0, 0));
    assert_int_equal(l, IP(12, 0, 0, 255));
}

static void test_cidr_only(void **state)
{
    (void)state;
    uint32_t a;
    unsigned bits;
    const char *why = NULL;
    assert_int_equal(ip4parse_cidr("10.1/16", 0, &a, &bits, NULL, &why), 0);
    assert_int_equal(a, IP(10, 1, 0, 0));
    assert_int_equal(bits, 16);
    assert_int_equal(ip4parse_cidr("1.2.3.4", 0, &a, &bits, NULL, &why), 0);
    assert_int_equal(bits, 32);
    assert_int_equal(ip4parse_cidr("1.2.3.4-9", 0, &a, &bits, NULL, &why), ERR_INVAL);
    assert_non_null(strstr(why, "ranges are not accepted"));
}

struct blocks {
    unsigned n;
    uint32_t addr[40];
    unsigned bits[40];
};

static int collect(uint32_t addr, unsigned bits, void *arg)
{
    struct blocks *b = arg;
    if (b->n == 40)
        return 1;
    b->addr[b->n] = addr;
    b->bits[b->n] = bits;
    b->n++;
    return 0;
}

static void test_blocks(void **state)
{
    (void)state;
    struct blocks b = {0};
    assert_int_equal(ip4parse_blocks(IP(10, 0, 0, 1), IP(10, 0, 0, 20), collect, &b), 0);
    /* .1/32 .2/31 .4/30 .8/29 .16/30 .20/32 */
    assert_int_equal(b.n, 6);
    assert_int_equal(b.addr[0], IP(10, 0, 0, 1));
    assert_int_equal(b.bits[0], 32);
    assert_int_equal(b.addr[3], IP(10, 0, 0, 8));
    assert_int_equal(b.bits[3], 29);
    assert_int_equal(b.addr[5], IP(10, 0, 0, 20));
    assert_int_equal(b.bits[5], 32);

    memset(&b, 0, sizeof(b));
    assert_int_equal(ip4parse_blocks(0, 0xFFFFFFFFu, collect, &b), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.bits[0], 0);

    memset(&b, 0, sizeof(b));
    assert_int_equal(ip4parse_blocks(0xFFFFFFFFu, 0xFFFFFFFFu, collect, &b), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.bits[0], 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_and_prefixes),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_entry_end),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_hostbits_flag),
        cmocka_unit_test(test_cidr_only),
        cmocka_unit_test(test_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
