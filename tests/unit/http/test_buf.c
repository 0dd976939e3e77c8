/* Unit tests for the HTTP text buffer: growth, formatting, the HTML and
 * URL escapings, taking the data, and the remembered allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/http_buf.h"

/* The failure test asks malloc for an impossible size; under
 * AddressSanitizer that must return NULL as glibc does, not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static void test_init_add_puts(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_false(b.failed);
    http_buf_add(&b, "abcdef", 3);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    http_buf_puts(&b, "xyz");
    assert_string_equal(b.data, "abcxyz");
    http_buf_puts(&b, "");
    assert_int_equal(b.len, 6);
    http_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_grows(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    /* Well past the first 1024 bytes, one byte at a time and in blocks. */
    for (int i = 0; i < 5000; i++)
        http_buf_add(&b, (i % 2) ? "b" : "a", 1);
    assert_int_equal(b.len, 5000);
    assert_true(b.cap > 5000);
    assert_int_equal(strlen(b.data), 5000);
    assert_int_equal(b.data[0], 'a');
    assert_int_equal(b.data[4999], 'b');
    char big[3000];
    memset(big, 'z', sizeof(big));
    http_buf_add(&b, big, sizeof(big));
    assert_int_equal(b.len, 8000);
    assert_int_equal(b.data[7999], 'z');
    assert_int_equal(b.data[8000], '\0');
    assert_false(b.failed);
    http_buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    http_buf_printf(&b, "%d-%s-%u", -5, "x", 7u);
    assert_string_equal(b.data, "-5-x-7");
    http_buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 6);
    /* Longer than the first allocation: vsnprintf's measured length. */
    char long_s[2500];
    memset(long_s, 'q', sizeof(long_s) - 1);
    long_s[sizeof(long_s) - 1] = '\0';
    http_buf_printf(&b, "[%s]", long_s);
    assert_int_equal(b.len, 6 + 2 + 2499);
    assert_int_equal(b.data[6], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(strlen(b.data), b.len);
    http_buf_free(&b);
}

static void test_html(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    http_buf_html(&b, "<a href=\"x\">Tom & Jerry's</a>");
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    http_buf_free(&b);

    /* Control characters become '?', a tab stays, UTF-8 passes through. */
    http_buf_init(&b);
    http_buf_html(&b, "a\tb\nc\rd\x01"
                      "e\x7f"
                      "f caf\xc3\xa9");
    assert_string_equal(b.data, "a\tb?c?d?e\x7f"
                                "f caf\xc3\xa9");
    http_buf_free(&b);

    /* Already escaped text is escaped again: the page shows what was sent. */
    http_buf_init(&b);
    http_buf_html(&b, "&amp;");
    assert_string_equal(b.data, "&amp;amp;");
    http_buf_free(&b);

    http_buf_init(&b);
    http_buf_html(&b, "");
    assert_int_equal(b.len, 0);
    http_buf_free(&b);
}

static void test_urlenc(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    http_buf_urlenc(&b, "AZaz09-._~");
    assert_string_equal(b.data, "AZaz09-._~");
    http_buf_free(&b);

    http_buf_init(&b);
    http_buf_urlenc(&b, "1.2.3.0/24 a&b=c?d#e+f%");
    assert_string_equal(b.data, "1.2.3.0%2F24%20a%26b%3Dc%3Fd%23e%2Bf%25");
    http_buf_free(&b);

    http_buf_init(&b);
    http_buf_urlenc(&b, "2001:db8::1 <\"'>\xc3\xa9\xff");
    assert_string_equal(b.data, "2001%3Adb8%3A%3A1%20%3C%22%27%3E%C3%A9%FF");
    http_buf_free(&b);
}

static void test_take(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    http_buf_puts(&b, "hello");
    size_t len = 0;
    char *d = http_buf_take(&b, &len);
    assert_non_null(d);
    assert_string_equal(d, "hello");
    assert_int_equal(len, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(d);

    /* Nothing written: still a string the caller can free. */
    d = http_buf_take(&b, &len);
    assert_non_null(d);
    assert_string_equal(d, "");
    assert_int_equal(len, 0);
    free(d);

    http_buf_puts(&b, "again");
    d = http_buf_take(&b, NULL);
    assert_string_equal(d, "again");
    free(d);
    http_buf_free(&b);
}

static void test_failed(void **state)
{
    (void)state;
    struct http_buf b;
    http_buf_init(&b);
    http_buf_puts(&b, "kept");
    /* Sizes no body can have, up to ones where len + more would wrap: the
     * buffer refuses them before any arithmetic overflows, remembers it
     * and stops growing; what was written stays. */
    static const char one[1] = {'x'};
    http_buf_add(&b, one, SIZE_MAX - 2);
    assert_true(b.failed);
    b.failed = false;
    http_buf_add(&b, one, SIZE_MAX / 2);
    assert_true(b.failed);
    b.failed = false;
    http_buf_add(&b, one, SIZE_MAX / 4);
    assert_true(b.failed);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "kept");
    http_buf_puts(&b, "more");
    http_buf_printf(&b, "%d", 42);
    http_buf_html(&b, "<x>");
    http_buf_urlenc(&b, "a b");
    assert_true(b.failed);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "kept");
    http_buf_free(&b);
    assert_false(b.failed);

    /* A failed empty buffer yields no data from take. */
    http_buf_init(&b);
    b.failed = true;
    http_buf_puts(&b, "x");
    assert_null(b.data);
    size_t len = 99;
    assert_null(http_buf_take(&b, &len));
    assert_int_equal(len, 0);
    assert_false(b.failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_add_puts), cmocka_unit_test(test_grows),
        cmocka_unit_test(test_printf),        cmocka_unit_test(test_html),
        cmocka_unit_test(test_urlenc),        cmocka_unit_test(test_take),
        cmocka_unit_test(test_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
