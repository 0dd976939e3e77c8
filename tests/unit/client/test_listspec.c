/* Unit tests for list specs: postscreen syntax parsed into filters,
 * masks and weights, every refusal with its reason, formatting back,
 * and which answer codes a spec accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/listspec.h"
#include "common/err.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct listspec parse_ok(const char *text)
{
    struct listspec s;
    char why[128] = "untouched";
    int rc = listspec_parse(text, &s, why, sizeof(why));
    if (rc != 0)
        fail_msg("'%s' refused: %s", text, why);
    return s;
}

/* The values an octet pattern accepts, as a 256-byte map. */
static void octet_values(const struct listspec_octet *o, uint8_t map[256])
{
    for (unsigned v = 0; v < 256; v++)
        map[v] = (o->bits[v / 64] >> (v % 64)) & 1;
}

static void assert_octet_only(const struct listspec_octet *o, unsigned lo, unsigned hi)
{
    uint8_t map[256];
    octet_values(o, map);
    for (unsigned v = 0; v < 256; v++)
        assert_int_equal(map[v], v >= lo && v <= hi);
}

static void test_plain_zone(void **state)
{
    (void)state;
    struct listspec s = parse_ok("Zen.Example.");
    assert_string_equal(s.zone, "zen.example");
    assert_int_equal(s.match, LISTSPEC_ANY);
    assert_int_equal(s.weight, 1);

    s = parse_ok("  bl.example*2\t\n"); /* blanks from a split config line */
    assert_string_equal(s.zone, "bl.example");
    assert_int_equal(s.weight, 2);

    s = parse_ok("_dnsbl-1.my_list.example*-1000");
    assert_string_equal(s.zone, "_dnsbl-1.my_list.example");
    assert_int_equal(s.weight, -1000);

    s = parse_ok("localhost*1000");
    assert_string_equal(s.zone, "localhost");
    assert_int_equal(s.weight, 1000);
}

static void test_filter_single_code(void **state)
{
    (void)state;
    struct listspec s = parse_ok("bl.example=127.0.0.2*2");
    assert_int_equal(s.match, LISTSPEC_FILTER);
    assert_int_equal(s.weight, 2);
    assert_octet_only(&s.octet[0], 127, 127);
    assert_octet_only(&s.octet[1], 0, 0);
    assert_octet_only(&s.octet[2], 0, 0);
    assert_octet_only(&s.octet[3], 2, 2);
    assert_true(listspec_matches(&s, IP(127, 0, 0, 2)));
    assert_false(listspec_matches(&s, IP(127, 0, 0, 3)));
    assert_false(listspec_matches(&s, IP(127, 0, 1, 2)));
}

static void test_filter_range(void **state)
{
    (void)state;
    struct listspec s = parse_ok("zen.example=127.0.0.[2..11]*3");
    assert_int_equal(s.weight, 3);
    assert_octet_only(&s.octet[3], 2, 11);
    assert_false(listspec_matches(&s, IP(127, 0, 0, 1)));
    assert_true(listspec_matches(&s, IP(127, 0, 0, 2)));
    assert_true(listspec_matches(&s, IP(127, 0, 0, 11)));
    assert_false(listspec_matches(&s, IP(127, 0, 0, 12)));

    /* A one-value range and a full one. */
    s = parse_ok("x.example=127.[0..255].0.[4..4]");
    assert_octet_only(&s.octet[1], 0, 255);
    assert_octet_only(&s.octet[3], 4, 4);
    assert_true(listspec_matches(&s, IP(127, 200, 0, 4)));
    assert_false(listspec_matches(&s, IP(127, 200, 1, 4)));
}

static void test_filter_list(void **state)
{
    (void)state;
    struct listspec s = parse_ok("bl.example=127.0.0.[2;4;10..12]");
    uint8_t map[256];
    octet_values(&s.octet[3], map);
    for (unsigned v = 0; v < 256; v++)
        assert_int_equal(map[v], v == 2 || v == 4 || (v >= 10 && v <= 12));
    assert_true(listspec_matches(&s, IP(127, 0, 0, 4)));
    assert_false(listspec_matches(&s, IP(127, 0, 0, 3)));
    assert_true(listspec_matches(&s, IP(127, 0, 0, 12)));

    /* Overlapping items are a union, in any order. */
    s = parse_ok("bl.example=127.0.0.[9..12;3;2..5;10]");
    octet_values(&s.octet[3], map);
    for (unsigned v = 0; v < 256; v++)
        assert_int_equal(map[v], (v >= 2 && v <= 5) || (v >= 9 && v <= 12));
}

static void test_allowlist(void **state)
{
    (void)state;
    struct listspec s = parse_ok("swl.example=127.0.[0..255].[1..3]*-5");
    assert_int_equal(s.weight, -5);
    assert_true(listspec_matches(&s, IP(127, 0, 15, 3)));
    assert_false(listspec_matches(&s, IP(127, 0, 15, 4)));
    assert_false(listspec_matches(&s, IP(127, 1, 15, 3)));
}

static void test_mask(void **state)
{
    (void)state;
    struct listspec s = parse_ok("multi.example&0x4*2");
    assert_int_equal(s.match, LISTSPEC_MASK);
    assert_int_equal(s.mask, 4);
    assert_int_equal(s.weight, 2);
    assert_true(listspec_matches(&s, IP(127, 0, 0, 4)));
    assert_true(listspec_matches(&s, IP(127, 0, 0, 6)));
    assert_false(listspec_matches(&s, IP(127, 0, 0, 2)));
    assert_false(listspec_matches(&s, IP(127, 0, 1, 2)));
    /* The bit is there, but not inside 127/8. */
    assert_false(listspec_matches(&s, IP(10, 0, 0, 4)));

    s = parse_ok("multi.example&12");
    assert_int_equal(s.mask, 12);
    assert_int_equal(s.weight, 1);
    s = parse_ok("multi.example&0XFFffFFff");
    assert_int_equal(s.mask, 0xffffffffu);
    s = parse_ok("multi.example&4294967295");
    assert_int_equal(s.mask, 0xffffffffu);
    s = parse_ok("multi.example&0x00000000000100");
    assert_int_equal(s.mask, 0x100);
    assert_true(listspec_matches(&s, IP(127, 0, 1, 0)));
    assert_false(listspec_matches(&s, IP(127, 0, 2, 255)));
}

static void test_zone_limits(void **state)
{
    (void)state;
    char text[300];
    /* 63-byte labels are fine; 64 is one too many. */
    memset(text, 'a', 63);
    strcpy(text + 63, ".example");
    struct listspec s = parse_ok(text);
    assert_int_equal(strlen(s.zone), 71);

    /* Exactly 200 bytes of name, then 201. A trailing dot does not count. */
    for (int i = 0; i < 200; i++)
        text[i] = i % 50 == 49 ? '.' : 'b';
    text[200] = '\0';
    text[199] = 'c';
    s = parse_ok(text);
    assert_int_equal(strlen(s.zone), 200);
    strcpy(text + 200, ".");
    s = parse_ok(text);
    assert_int_equal(strlen(s.zone), 200);
    strcpy(text + 200, "d");

    char why[128];
    assert_int_equal(listspec_parse(text, &s, why, sizeof(why)), ERR_INVAL);
    assert_string_equal(why, "zone is over 200 bytes");
}

struct bad_case {
    const char *text;
    const char *why;
};

static const struct bad_case bad_cases[] = {
    {"", "empty zone"},
    {"   ", "empty zone"},
    {"=127.0.0.2", "empty zone"},
    {"*2", "empty zone"},
    {"a..b", "zone 'a..b' is not a DNS name"},
    {".zen.example", "zone '.zen.example' is not a DNS name"},
    {"zen.example..", "zone 'zen.example..' is not a DNS name"},
    {".", "zone '.' is not a DNS name"},
    {"zen example", "zone 'zen example': ' ' is not allowed"},
    {"zen,example=127.0.0.2", "zone 'zen,example': ',' is not allowed"},
    {"zen\x01.example", "zone 'zen?.example': 0x01 is not allowed"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
     "zone 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': a label is over 63 bytes"},
    {"zen.example=", "nothing after '='"},
    {"zen.example=*3", "nothing after '='"},
    {"zen.example=127.0.300.2", "octet 3: 300 is not 0..255"},
    {"zen.example=127.0.0.99999999999999", "octet 4: 99999999999999 is not 0..255"},
    {"zen.example=127.0.0.[2..300]", "octet 4: 300 is not 0..255"},
    {"zen.example=127.0.0.[11..2]", "octet 4: range 11..2 is reversed"},
    {"zen.example=127.0.0", "expected '.' after octet 3"},
    {"zen.example=127", "expected '.' after octet 1"},
    {"zen.example=127,0.0.2", "expected '.' after octet 1"},
    {"zen.example=127.0.0.", "octet 4: expected a number or '[', not end of input"},
    {"zen.example=127.x.0.2", "octet 2: expected a number or '[', not 'x'"},
    {"zen.example=127.0.0.2.5", "unexpected '.' after octet 4"},
    {"zen.example=127.0.0.2&4", "unexpected '&' after octet 4"},
    {"zen.example=127.0.0.2..11", "octet 4: a range needs brackets: [2..]"},
    {"zen.example=127.0.0.[]", "octet 4: expected a number after '[', not ']'"},
    {"zen.example=127.0.0.[2;]", "octet 4: expected a number after ';', not ']'"},
    {"zen.example=127.0.0.[2..]", "octet 4: expected a number after '..', not ']'"},
    {"zen.example=127.0.0.[2", "octet 4: missing ']'"},
    {"zen.example=127.0.0.[2,3]", "octet 4: expected '..', ';' or ']', not ','"},
    {"zen.example=127.0.0.[2..3,4]", "octet 4: expected ';' or ']', not ','"},
    {"zen.example=127.0.[0.2", "octet 3: expected '..', ';' or ']', not '.'"},
    {"zen.example=128.0.0.2", "octet 1 does not accept 127: lists answer inside 127/8"},
    {"zen.example=127.255.255.[252..255]",
     "filter accepts only the error codes 127.255.255.252..255"},
    {"zen.example&", "nothing after '&'"},
    {"zen.example&*2", "nothing after '&'"},
    {"zen.example&0", "mask 0"},
    {"zen.example&0x0000", "mask 0"},
    {"zen.example&0x", "mask '0x' is not a number"},
    {"zen.example&0x4g", "mask '0x4g' is not a number"},
    {"zen.example&-4", "mask '-4' is not a number"},
    {"zen.example&4=127.0.0.2", "mask '4=127.0.0.2' is not a number"},
    {"zen.example&0x100000000", "mask '0x100000000' is over 0xffffffff"},
    {"zen.example&4294967296", "mask '4294967296' is over 0xffffffff"},
    {"zen.example&0x80000000", "mask 0x80000000 never matches inside 127/8"},
    {"zen.example*", "nothing after '*'"},
    {"zen.example*0", "weight 0"},
    {"zen.example*-0", "weight 0"},
    {"zen.example*1001", "weight 1001 is not -1000..1000"},
    {"zen.example*-1001", "weight -1001 is not -1000..1000"},
    {"zen.example*99999999999999999999", "weight 99999999999999999999 is not -1000..1000"},
    {"zen.example*+2", "weight '+2' is not a number"},
    {"zen.example*-", "weight '-' is not a number"},
    {"zen.example*2x", "weight '2x' is not a number"},
    {"zen.example*2*3", "weight '2*3' is not a number"},
    {"zen.example*2 3", "weight '2 3' is not a number"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct listspec s;
        memset(&s, 0x5a, sizeof(s));
        struct listspec before = s;
        char why[128] = "";
        int rc = listspec_parse(bad_cases[i].text, &s, why, sizeof(why));
        if (rc != ERR_INVAL || strcmp(why, bad_cases[i].why) != 0)
            fail_msg("'%s': rc %d, why '%s', expected '%s'", bad_cases[i].text, rc, why,
                     bad_cases[i].why);
        /* *out is left as it was. */
        assert_memory_equal(&s, &before, sizeof(s));
    }
}

static void test_why_buffer(void **state)
{
    (void)state;
    struct listspec s;
    /* A short buffer gets a cut, terminated reason; none at all is fine. */
    char why[8];
    memset(why, 'x', sizeof(why));
    assert_int_equal(listspec_parse("zen.example*0x", &s, why, sizeof(why)), ERR_INVAL);
    assert_string_equal(why, "weight ");
    assert_int_equal(listspec_parse("zen.example*0", &s, NULL, 0), ERR_INVAL);
    /* Success clears an old reason. */
    strcpy(why, "old");
    assert_int_equal(listspec_parse("zen.example", &s, why, sizeof(why)), 0);
    assert_string_equal(why, "");
}

static void assert_formats(const char *text, const char *want)
{
    struct listspec s = parse_ok(text);
    char out[512];
    int n = listspec_format(&s, out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
    /* And the text reads back as the same spec. */
    struct listspec again = parse_ok(out);
    assert_memory_equal(&again, &s, sizeof(s));
}

static void test_format(void **state)
{
    (void)state;
    assert_formats("Zen.Example.", "zen.example");
    assert_formats("zen.example*1", "zen.example");
    assert_formats("zen.example=127.0.0.[2..11]*3", "zen.example=127.0.0.[2..11]*3");
    assert_formats("bl.example=127.0.0.[2;4;10..12]", "bl.example=127.0.0.[2;4;10..12]");
    assert_formats("bl.example=127.0.0.[12;10;11;4;2]", "bl.example=127.0.0.[2;4;10..12]");
    assert_formats("bl.example=127.0.0.[2;3]", "bl.example=127.0.0.[2..3]");
    assert_formats("bl.example=127.0.0.[2..5;4..9]", "bl.example=127.0.0.[2..9]");
    assert_formats("bl.example=[127].0.0.[7..7]", "bl.example=127.0.0.7");
    assert_formats("bl.example=127.0.0.[0;255]", "bl.example=127.0.0.[0;255]");
    assert_formats("swl.example=127.0.[0..255].[1..3]*-5", "swl.example=127.0.[0..255].[1..3]*-5");
    assert_formats("multi.example&0x4*2", "multi.example&0x4*2");
    assert_formats("multi.example&255", "multi.example&0xff");
    assert_formats("multi.example&0XABCDEF01", "multi.example&0xabcdef01");
}

static void test_format_space(void **state)
{
    (void)state;
    struct listspec s = parse_ok("zen.example=127.0.0.[2..11]*3");
    const char *want = "zen.example=127.0.0.[2..11]*3";
    size_t len = strlen(want);
    char out[64];
    /* The terminating NUL must fit too. */
    assert_int_equal(listspec_format(&s, out, len + 1), (int)len);
    assert_string_equal(out, want);
    assert_int_equal(listspec_format(&s, out, len), ERR_SPACE);
    assert_int_equal(listspec_format(&s, out, 5), ERR_SPACE);
    assert_int_equal(listspec_format(&s, NULL, 0), ERR_SPACE);

    /* The longest octet form: every other value. */
    char text[1024] = "z.example=127.0.0.[0";
    for (unsigned v = 2; v < 256; v += 2)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), ";%u", v);
    strcat(text, "]");
    s = parse_ok(text);
    char big[1024];
    assert_int_equal(listspec_format(&s, big, sizeof(big)), (int)strlen(text));
    assert_string_equal(big, text);
}

static void test_format_invalid(void **state)
{
    (void)state;
    /* A struct no parse produces: an octet that accepts nothing. */
    struct listspec s = parse_ok("zen.example=127.0.0.2");
    memset(&s.octet[2], 0, sizeof(s.octet[2]));
    char out[128];
    assert_int_equal(listspec_format(&s, out, sizeof(out)), ERR_INVAL);
    assert_false(listspec_matches(&s, IP(127, 0, 0, 2)));
}

static void test_matches_outside_127(void **state)
{
    (void)state;
    /* A parking wildcard's public address is never a listing, whatever
     * the spec: no filter, a filter that accepts every octet, any mask. */
    struct listspec any = parse_ok("zen.example");
    struct listspec wide = parse_ok("zen.example=[0..255].[0..255].[0..255].[0..255]");
    struct listspec mask = parse_ok("zen.example&0xffffffff");
    const uint32_t outside[] = {IP(0, 0, 0, 0), IP(126, 255, 255, 255), IP(128, 0, 0, 0),
                                IP(192, 0, 2, 1), IP(255, 255, 255, 255)};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        assert_false(listspec_matches(&any, outside[i]));
        assert_false(listspec_matches(&wide, outside[i]));
        assert_false(listspec_matches(&mask, outside[i]));
    }
    assert_true(listspec_matches(&any, IP(127, 0, 0, 0)));
    assert_true(listspec_matches(&wide, IP(127, 1, 2, 3)));
    assert_true(listspec_matches(&mask, IP(127, 0, 0, 0)));
}

static void test_matches_error_codes(void **state)
{
    (void)state;
    struct listspec any = parse_ok("zen.example");
    struct listspec wide = parse_ok("zen.example=127.255.255.[0..255]");
    struct listspec mask = parse_ok("zen.example&0xff");
    for (unsigned d = 252; d <= 255; d++) {
        assert_false(listspec_matches(&any, IP(127, 255, 255, d)));
        assert_false(listspec_matches(&wide, IP(127, 255, 255, d)));
        assert_false(listspec_matches(&mask, IP(127, 255, 255, d)));
    }
    assert_true(listspec_matches(&any, IP(127, 255, 255, 251)));
    assert_true(listspec_matches(&wide, IP(127, 255, 255, 251)));
    assert_true(listspec_matches(&mask, IP(127, 255, 255, 251)));
}

static void test_matches_any(void **state)
{
    (void)state;
    /* 127.0.0.1 counts when a list answers it (the health probe's job). */
    struct listspec any = parse_ok("zen.example");
    assert_true(listspec_matches(&any, IP(127, 0, 0, 1)));
    assert_true(listspec_matches(&any, IP(127, 0, 0, 2)));
    assert_true(listspec_matches(&any, IP(127, 1, 2, 3)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_zone),          cmocka_unit_test(test_filter_single_code),
        cmocka_unit_test(test_filter_range),        cmocka_unit_test(test_filter_list),
        cmocka_unit_test(test_allowlist),           cmocka_unit_test(test_mask),
        cmocka_unit_test(test_zone_limits),         cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_why_buffer),          cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_space),        cmocka_unit_test(test_format_invalid),
        cmocka_unit_test(test_matches_outside_127), cmocka_unit_test(test_matches_error_codes),
        cmocka_unit_test(test_matches_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
