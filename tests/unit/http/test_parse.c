/* Unit tests for the request parsers: query numbers, form fields, Origin
 * authorities, API paths and methods (an empty method refused, not looped
 * on), the JSON bodies of the writes, and outside text as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/http_parse.h"

static void test_number(void **state)
{
    (void)state;
    unsigned long long v = 42;
    assert_true(http_parse_number(NULL, 1, 10, &v));
    assert_int_equal(v, 42); /* absent: the default stays */
    assert_true(http_parse_number("7", 1, 10, &v));
    assert_int_equal(v, 7);
    assert_true(http_parse_number("0010", 1, 10, &v));
    assert_int_equal(v, 10);
    static const char *const bad[] = {
        "", "0", "11", "-1", "+1", " 1", "1 ", "1x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(http_parse_number(bad[i], 1, 10, &v));
    assert_int_equal(v, 10);
}

static void test_form(void **state)
{
    (void)state;
    char out[16];
    const char *body = "zone=bl.example&ip=2001%3adb8%3A%3A1&confirm=y+s&ip=second&empty=";
    assert_true(http_parse_form(body, "ip", out, sizeof(out)));
    assert_string_equal(out, "2001:db8::1");
    assert_true(http_parse_form(body, "confirm", out, sizeof(out)));
    assert_string_equal(out, "y s");
    assert_true(http_parse_form(body, "empty", out, sizeof(out)));
    assert_string_equal(out, "");
    assert_false(http_parse_form(body, "zon", out, sizeof(out)));  /* a prefix is no name */
    assert_false(http_parse_form(body, "csrf", out, sizeof(out))); /* absent */
    assert_false(http_parse_form("ip=%zz", "ip", out, sizeof(out)));
    assert_false(http_parse_form("ip=%4", "ip", out, sizeof(out)));
    assert_false(http_parse_form("ip=a%00b", "ip", out, sizeof(out)));
    /* 15 characters fit in 16 bytes, 16 do not. */
    assert_true(http_parse_form("ip=123456789012345", "ip", out, sizeof(out)));
    assert_false(http_parse_form("ip=1234567890123456", "ip", out, sizeof(out)));
}

static void test_authority(void **state)
{
    (void)state;
    size_t n;
    const char *a = http_parse_authority("https://bl.example.org:8443/lookup?x", &n);
    assert_non_null(a);
    assert_int_equal(n, strlen("bl.example.org:8443"));
    assert_memory_equal(a, "bl.example.org:8443", n);
    a = http_parse_authority("http://h?q", &n);
    assert_non_null(a);
    assert_int_equal(n, 1);
    assert_null(http_parse_authority("null", &n));
    assert_null(http_parse_authority("http:///path", &n));
}

static void test_api_path(void **state)
{
    (void)state;
    struct http_api_path ap;
    http_parse_api_path("/api/v1/lookup", &ap);
    assert_int_equal(ap.kind, HTTP_API_LOOKUP);
    assert_string_equal(http_parse_api_allowed(&ap), "GET, HEAD");
    http_parse_api_path("/api/v1/zones/live.example/listings/198.51.100.0%2F24", &ap);
    assert_int_equal(ap.kind, HTTP_API_LISTINGS);
    assert_string_equal(ap.zone, "live.example");
    assert_true(ap.has_key);
    assert_string_equal(ap.key, "198.51.100.0/24"); /* decoded once more */
    assert_string_equal(http_parse_api_allowed(&ap), "DELETE");
    http_parse_api_path("/api/v1/zones/live.example/allow", &ap);
    assert_int_equal(ap.kind, HTTP_API_ALLOW);
    assert_false(ap.has_key);
    static const char *const none[] = {"/api/v1/zones/",
                                       "/api/v1/zones//listings",
                                       "/api/v1/zones/x",
                                       "/api/v1/zones/x/listing",
                                       "/api/v1/zones/x/reports/k",
                                       "/api/v1/zones/x/allow/",
                                       "/api/v1/zones/x/allow/%00",
                                       "/api/v2/zones"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        http_parse_api_path(none[i], &ap);
        assert_int_equal(ap.kind, HTTP_API_NONE);
        assert_null(http_parse_api_allowed(&ap));
        assert_false(http_parse_api_method_ok(&ap, "GET"));
    }
}

static void test_method(void **state)
{
    (void)state;
    struct http_api_path ap;
    http_parse_api_path("/api/v1/zones/x/listings", &ap);
    assert_true(http_parse_api_method_ok(&ap, "GET"));
    assert_true(http_parse_api_method_ok(&ap, "HEAD"));
    assert_true(http_parse_api_method_ok(&ap, "POST"));
    assert_false(http_parse_api_method_ok(&ap, "DELETE"));
    assert_false(http_parse_api_method_ok(&ap, "GE"));
    assert_false(http_parse_api_method_ok(&ap, "EAD"));
    assert_false(http_parse_api_method_ok(&ap, "get"));
    /* Found at every place and stepped over by nothing: this looped
     * forever in the HTTP thread. */
    assert_false(http_parse_api_method_ok(&ap, ""));
}

static json_t *object(const char *text)
{
    char msg[300];
    json_t *j = http_parse_json_object(text, strlen(text), msg, sizeof(msg));
    assert_non_null(j);
    return j;
}

static void test_json_bodies(void **state)
{
    (void)state;
    char msg[300];
    assert_null(http_parse_json_object("[1]", 3, msg, sizeof(msg)));
    assert_string_equal(msg, "the body must be a JSON object");
    assert_null(http_parse_json_object("{", 1, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "the body must be a JSON object: "));

    struct http_parse_listing in = {.code = 2};
    const char *why = NULL;
    json_t *j = object("{\"key\": \"198.51.100.7\", \"code\": \"127.0.0.4\", \"reason\": \"r\", "
                       "\"for\": \"2h\"}");
    assert_true(http_parse_listing_body(j, &in, &why));
    assert_int_equal(in.code, 4);
    assert_string_equal(in.reason, "r");
    assert_int_equal(in.for_secs, 7200);
    assert_int_equal(in.key.family, 4);
    assert_int_equal(in.key.bits, 32);
    json_decref(j);
    in.code = 2;
    j = object("{\"key\": \"2001:db8::/48\"}");
    assert_true(http_parse_listing_body(j, &in, &why));
    assert_int_equal(in.code, 2); /* the caller's default */
    assert_null(in.reason);
    assert_int_equal(in.for_secs, 0);
    json_decref(j);
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"{}", "key must be an address or a CIDR block"},
        {"{\"key\": \"198.51.100.1/24\"}", "key must be an address or a CIDR block"},
        {"{\"key\": \"1.2.3.4\", \"code\": 255}", "code must be 127.0.0.N, N = 2..254"},
        {"{\"key\": \"1.2.3.4\", \"code\": \"127.0.0.x\"}", "code must be 127.0.0.N, N = 2..254"},
        {"{\"key\": \"1.2.3.4\", \"reason\": 5}", "reason must be text of at most 159 bytes"},
        {"{\"key\": \"1.2.3.4\", \"for\": \"0s\"}", "for must be a duration: 90s, 15m, 12h, 7d"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = object(bad[i].body);
        why = NULL;
        assert_false(http_parse_listing_body(j, &in, &why));
        assert_string_equal(why, bad[i].why);
        json_decref(j);
    }

    struct netkey key;
    const char *note = NULL;
    j = object("{\"key\": \"192.0.2.0/24\"}");
    assert_true(http_parse_allow_body(j, &key, &note, &why));
    assert_string_equal(note, "");
    assert_int_equal(key.bits, 24);
    json_decref(j);
    j = object("{\"key\": \"192.0.2.0/24\", \"note\": false}");
    assert_false(http_parse_allow_body(j, &key, &note, &why));
    assert_string_equal(why, "note must be text of at most 255 bytes");
    json_decref(j);
}

static void test_json_text(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80"},
        {"a\xff"
         "b",
         "a\xef\xbf\xbd"
         "b"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* overlong */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = http_parse_json_text(cases[i].in);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), cases[i].out);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number),    cmocka_unit_test(test_form),
        cmocka_unit_test(test_authority), cmocka_unit_test(test_api_path),
        cmocka_unit_test(test_method),    cmocka_unit_test(test_json_bodies),
        cmocka_unit_test(test_json_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
