/* Unit tests for list query names: subjects parsed and built under a
 * zone (RFC 5782 section 2), and the random probe label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/qname.h"
#include "common/err.h"

static void build(const char *subject, const char *zone, const char *want)
{
    struct qname_subject s;
    char out[300];
    assert_int_equal(qname_subject_parse(subject, &s), 0);
    int n = qname_build(&s, zone, out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_ip4(void **state)
{
    (void)state;
    build("192.0.2.99", "bl.example", "99.2.0.192.bl.example");
    build("127.0.0.2", "zen.example", "2.0.0.127.zen.example");
    /* An IPv4-mapped address is its IPv4 address. */
    build("::ffff:198.51.100.7", "bl.example", "7.100.51.198.bl.example");
}

static void test_ip6(void **state)
{
    (void)state;
    /* RFC 5782 section 2.4's example. */
    build("2001:db8:1:2:3:4:567:89ab", "ugly.example",
          "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example");
    struct qname_subject s;
    assert_int_equal(qname_subject_parse("2001:DB8::1", &s), 0);
    assert_int_equal(s.kind, QNAME_IP6);
    char text[64];
    assert_int_equal(qname_subject_format(&s, text, sizeof(text)), 11);
    assert_string_equal(text, "2001:db8::1");
}

static void test_domain(void **state)
{
    (void)state;
    build("Spam.Example.COM.", "dbl.example", "spam.example.com.dbl.example");
    struct qname_subject s;
    assert_int_equal(qname_subject_parse("mail_1.example-x.org", &s), 0);
    assert_int_equal(s.kind, QNAME_DOMAIN);
    assert_string_equal(s.domain, "mail_1.example-x.org");
    static const char *const bad[] = {"",      ".",     "localhost",   "a..b",        ".a.b",
                                      "a b.c", "x.y/z", "2001:db8::g", "::ffff:1.2.3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (qname_subject_parse(bad[i], &s) != ERR_INVAL)
            fail_msg("'%s' accepted", bad[i]);
    char label64[80];
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".example");
    assert_int_equal(qname_subject_parse(label64, &s), ERR_INVAL);
}

static void test_too_long(void **state)
{
    (void)state;
    struct qname_subject s;
    char dom[254], out[600];
    /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 bytes: a valid name alone. */
    memset(dom, 'a', sizeof(dom));
    dom[63] = dom[127] = dom[191] = '.';
    dom[253] = '\0';
    assert_int_equal(qname_subject_parse(dom, &s), 0);
    /* Under any zone it is too long for DNS. */
    assert_int_equal(qname_build(&s, "bl.example", out, sizeof(out)), ERR_SPACE);
    /* And a short name that does not fit the buffer. */
    assert_int_equal(qname_subject_parse("192.0.2.1", &s), 0);
    assert_int_equal(qname_build(&s, "bl.example", out, 10), ERR_SPACE);
}

static void test_random_label(void **state)
{
    (void)state;
    char a[21], b[21];
    qname_random_label(a);
    qname_random_label(b);
    assert_int_equal(strlen(a), 20);
    assert_memory_equal(a, "dbk-", 4);
    for (int i = 4; i < 20; i++)
        assert_true((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9'));
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip4),          cmocka_unit_test(test_ip6),
        cmocka_unit_test(test_domain),       cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_random_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
