/* Unit tests for answer validation: each A record classified (listed,
 * filtered, error code, bogus) and whole answers summarized, where one
 * bogus or error-code record keeps the answer from listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/listspec.h"
#include "client/verdict.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static struct listspec spec(const char *text)
{
    struct listspec s;
    char why[128];
    if (listspec_parse(text, &s, why, sizeof(why)) != 0)
        fail_msg("'%s' refused: %s", text, why);
    return s;
}

static void test_error_codes(void **state)
{
    (void)state;
    assert_false(verdict_is_error_code(IP(127, 255, 255, 251)));
    assert_true(verdict_is_error_code(IP(127, 255, 255, 252)));
    assert_true(verdict_is_error_code(IP(127, 255, 255, 253)));
    assert_true(verdict_is_error_code(IP(127, 255, 255, 254)));
    assert_true(verdict_is_error_code(IP(127, 255, 255, 255)));
    assert_false(verdict_is_error_code(IP(128, 0, 0, 0)));
    assert_false(verdict_is_error_code(IP(255, 255, 255, 255)));
    assert_false(verdict_is_error_code(IP(127, 0, 0, 2)));
    assert_false(verdict_is_error_code(IP(126, 255, 255, 255)));
}

static void test_classify_any(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example");
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 2)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 0)), VERDICT_LISTED);
    /* Our choice: 127.0.0.1 answered is a listing; the health probe is
     * what catches a list that answers it. */
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 1)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 251)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 252)), VERDICT_ERROR);
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 255)), VERDICT_ERROR);
    assert_int_equal(verdict_classify(&s, IP(126, 255, 255, 255)), VERDICT_BOGUS);
    assert_int_equal(verdict_classify(&s, IP(128, 0, 0, 2)), VERDICT_BOGUS);
    assert_int_equal(verdict_classify(&s, IP(192, 0, 2, 1)), VERDICT_BOGUS);
    assert_int_equal(verdict_classify(&s, 0), VERDICT_BOGUS);
}

static void test_classify_filter(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example=127.0.0.[2..11]*3");
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 2)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 11)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 1)), VERDICT_FILTERED);
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 12)), VERDICT_FILTERED);
    assert_int_equal(verdict_classify(&s, IP(127, 0, 1, 2)), VERDICT_FILTERED);
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 254)), VERDICT_ERROR);
    /* Right last octet, wrong network: bogus, not listed. */
    assert_int_equal(verdict_classify(&s, IP(10, 0, 0, 2)), VERDICT_BOGUS);

    /* Error codes stay errors even for a filter that would take them. */
    s = spec("zen.example=127.255.255.[0..255]");
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 200)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 253)), VERDICT_ERROR);
}

static void test_classify_mask(void **state)
{
    (void)state;
    struct listspec s = spec("multi.example&0x4");
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 4)), VERDICT_LISTED);
    assert_int_equal(verdict_classify(&s, IP(127, 0, 0, 2)), VERDICT_FILTERED);
    assert_int_equal(verdict_classify(&s, IP(127, 255, 255, 252)), VERDICT_ERROR);
    assert_int_equal(verdict_classify(&s, IP(8, 8, 4, 4)), VERDICT_BOGUS);
}

static void test_summarize_empty(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example");
    struct verdict v;
    memset(&v, 0xff, sizeof(v));
    verdict_summarize(&s, NULL, 0, &v);
    assert_false(v.listed);
    assert_false(v.bogus);
    assert_false(v.error_code);
    assert_int_equal(v.ncodes, 0);
}

static void test_summarize_listed(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example=127.0.0.[2..11]");
    const uint32_t a[] = {IP(127, 0, 0, 12), IP(127, 0, 0, 4), IP(127, 0, 0, 10)};
    struct verdict v;
    verdict_summarize(&s, a, N(a), &v);
    assert_true(v.listed);
    assert_false(v.bogus);
    assert_false(v.error_code);
    /* Only the codes the filter took, in answer order. */
    assert_int_equal(v.ncodes, 2);
    assert_int_equal(v.codes[0], IP(127, 0, 0, 4));
    assert_int_equal(v.codes[1], IP(127, 0, 0, 10));
}

static void test_summarize_filtered(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example=127.0.0.[2..11]");
    const uint32_t a[] = {IP(127, 0, 0, 20), IP(127, 0, 1, 2)};
    struct verdict v;
    verdict_summarize(&s, a, N(a), &v);
    assert_false(v.listed);
    assert_false(v.bogus);
    assert_false(v.error_code);
    assert_int_equal(v.ncodes, 0);
}

static void test_summarize_bogus_among_listed(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example");
    /* The parking wildcard's address anywhere in the answer spoils it. */
    const uint32_t a[] = {IP(127, 0, 0, 2), IP(127, 0, 0, 4), IP(198, 51, 100, 7)};
    struct verdict v;
    verdict_summarize(&s, a, N(a), &v);
    assert_false(v.listed);
    assert_true(v.bogus);
    assert_false(v.error_code);
    /* What the list claimed is still there for the log. */
    assert_int_equal(v.ncodes, 2);
    assert_int_equal(v.codes[0], IP(127, 0, 0, 2));
    assert_int_equal(v.codes[1], IP(127, 0, 0, 4));

    const uint32_t first[] = {IP(198, 51, 100, 7), IP(127, 0, 0, 2)};
    verdict_summarize(&s, first, N(first), &v);
    assert_false(v.listed);
    assert_true(v.bogus);
}

static void test_summarize_error_among_listed(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example=127.0.0.[2..11]");
    const uint32_t a[] = {IP(127, 0, 0, 2), IP(127, 255, 255, 254)};
    struct verdict v;
    verdict_summarize(&s, a, N(a), &v);
    assert_false(v.listed);
    assert_false(v.bogus);
    assert_true(v.error_code);
    assert_int_equal(v.ncodes, 1);

    /* An error code alone. */
    const uint32_t only[] = {IP(127, 255, 255, 255)};
    verdict_summarize(&s, only, N(only), &v);
    assert_false(v.listed);
    assert_true(v.error_code);
    assert_int_equal(v.ncodes, 0);
}

static void test_summarize_all_kinds(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example=127.0.0.2");
    const uint32_t a[] = {IP(127, 0, 0, 3), IP(127, 0, 0, 2), IP(127, 255, 255, 252),
                          IP(10, 1, 2, 3)};
    struct verdict v;
    verdict_summarize(&s, a, N(a), &v);
    assert_false(v.listed);
    assert_true(v.bogus);
    assert_true(v.error_code);
    assert_int_equal(v.ncodes, 1);
    assert_int_equal(v.codes[0], IP(127, 0, 0, 2));
}

static void test_summarize_many_codes(void **state)
{
    (void)state;
    struct listspec s = spec("zen.example");
    uint32_t a[12];
    for (unsigned i = 0; i < N(a); i++)
        a[i] = IP(127, 0, 0, 2 + i);
    struct verdict v;
    verdict_summarize(&s, a, N(a), &v);
    assert_true(v.listed);
    assert_int_equal(v.ncodes, 8);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(v.codes[i], IP(127, 0, 0, 2 + i));

    /* A record repeated in the answer is one code. */
    const uint32_t dup[] = {IP(127, 0, 0, 2), IP(127, 0, 0, 2), IP(127, 0, 0, 3)};
    verdict_summarize(&s, dup, N(dup), &v);
    assert_true(v.listed);
    assert_int_equal(v.ncodes, 2);
    assert_int_equal(v.codes[0], IP(127, 0, 0, 2));
    assert_int_equal(v.codes[1], IP(127, 0, 0, 3));

    /* A bogus record past the eighth listed one still spoils the answer. */
    uint32_t late[10];
    for (unsigned i = 0; i < 9; i++)
        late[i] = IP(127, 0, 0, 2 + i);
    late[9] = IP(203, 0, 113, 1);
    verdict_summarize(&s, late, N(late), &v);
    assert_false(v.listed);
    assert_true(v.bogus);
    assert_int_equal(v.ncodes, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_classify_any),
        cmocka_unit_test(test_classify_filter),
        cmocka_unit_test(test_classify_mask),
        cmocka_unit_test(test_summarize_empty),
        cmocka_unit_test(test_summarize_listed),
        cmocka_unit_test(test_summarize_filtered),
        cmocka_unit_test(test_summarize_bogus_among_listed),
        cmocka_unit_test(test_summarize_error_among_listed),
        cmocka_unit_test(test_summarize_all_kinds),
        cmocka_unit_test(test_summarize_many_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
