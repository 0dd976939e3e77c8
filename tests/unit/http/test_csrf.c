/* Unit tests for the removal form's CSRF tokens: valid in their hour and
 * the next, for their subject and zone only, under their secret only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/http_csrf.h"

#define NOW ((time_t)1700000000) /* 22:13:20 UTC: 800 s into its hour */

static void test_token_shape(void **state)
{
    (void)state;
    struct http_csrf c;
    char t[HTTP_CSRF_LEN + 1];
    assert_int_equal(http_csrf_init(&c), 0);
    http_csrf_token(&c, "bl.example", "192.0.2.1", NOW, t);
    assert_int_equal(strlen(t), HTTP_CSRF_LEN);
    assert_int_equal(strspn(t, "0123456789abcdef"), HTTP_CSRF_LEN);
}

/* A known answer: HMAC-SHA256 under a fixed key, as RFC 4231 defines it
 * (computed independently with Python's hmac module). */
static void test_known_answer(void **state)
{
    (void)state;
    struct http_csrf c;
    char t[HTTP_CSRF_LEN + 1];
    memset(c.secret, 0x0b, sizeof(c.secret));
    http_csrf_token(&c, "bl.example", "192.0.2.1", NOW, t);
    /* hmac.new(b"\x0b"*32, b"bl.example|192.0.2.1|472222", "sha256") */
    assert_string_equal(t, "59623702b0931ecd3f5aa73550e7447e75edea5d43e902855ee62011c94c3f9f");
}

static void test_valid_now_and_previous_hour(void **state)
{
    (void)state;
    struct http_csrf c;
    char t[HTTP_CSRF_LEN + 1];
    assert_int_equal(http_csrf_init(&c), 0);
    http_csrf_token(&c, "bl.example", "192.0.2.1", NOW, t);
    assert_true(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, t));
    /* From the start of its hour, all through the next one. */
    assert_true(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW - 800, t));
    assert_true(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW + 2799, t));
    assert_true(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW + 2800, t));
    assert_true(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW + 2800 + 3599, t));
    /* Two hours on, it has expired; nor is it valid before its hour. */
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW + 2800 + 3600, t));
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW - 801, t));
}

static void test_other_subject_or_zone(void **state)
{
    (void)state;
    struct http_csrf c;
    char t[HTTP_CSRF_LEN + 1];
    assert_int_equal(http_csrf_init(&c), 0);
    http_csrf_token(&c, "bl.example", "192.0.2.1", NOW, t);
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.2", NOW, t));
    assert_false(http_csrf_check(&c, "other.example", "192.0.2.1", NOW, t));
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, NULL) ||
                 !http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, t));
}

static void test_tampered(void **state)
{
    (void)state;
    struct http_csrf c, other;
    char t[HTTP_CSRF_LEN + 1], u[HTTP_CSRF_LEN + 1];
    assert_int_equal(http_csrf_init(&c), 0);
    assert_int_equal(http_csrf_init(&other), 0);
    assert_memory_not_equal(c.secret, other.secret, sizeof(c.secret));
    http_csrf_token(&c, "bl.example", "192.0.2.1", NOW, t);
    /* Any one digit changed. */
    for (size_t i = 0; i < HTTP_CSRF_LEN; i++) {
        memcpy(u, t, sizeof(u));
        u[i] = u[i] == '0' ? '1' : '0';
        assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, u));
    }
    /* Cut short, made longer, empty, absent, in capitals. */
    memcpy(u, t, sizeof(u));
    u[HTTP_CSRF_LEN - 1] = '\0';
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, u));
    char longer[HTTP_CSRF_LEN + 2];
    snprintf(longer, sizeof(longer), "%s0", t);
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, longer));
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, ""));
    assert_false(http_csrf_check(&c, "bl.example", "192.0.2.1", NOW, NULL));
    /* Another process's secret makes other tokens. */
    assert_false(http_csrf_check(&other, "bl.example", "192.0.2.1", NOW, t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_shape),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_valid_now_and_previous_hour),
        cmocka_unit_test(test_other_subject_or_zone),
        cmocka_unit_test(test_tampered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
