/* Unit tests for wire-format domain names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "common/name.h"

static void test_from_text(void **state)
{
    (void)state;
    uint8_t w[NAME_MAXWIRE];
    size_t len;
    assert_int_equal(name_from_text("Bl.Example", w, &len), 0);
    assert_int_equal(len, 12);
    assert_memory_equal(w,
                        "\x02"
                        "bl\x07"
                        "example\x00",
                        12);
    assert_int_equal(name_from_text("bl.example.", w, &len), 0);
    assert_int_equal(len, 12);
    assert_int_equal(name_from_text(".", w, &len), 0);
    assert_int_equal(len, 1);
    assert_int_equal(name_from_text("a\\.b.c", w, &len), 0);
    assert_memory_equal(w,
                        "\x03"
                        "a.b\x01"
                        "c\x00",
                        7);
    assert_int_equal(name_from_text("\\065b", w, &len), 0);
    assert_memory_equal(w,
                        "\x02"
                        "ab\x00",
                        4); /* \065 = 'A', folded */
}

static void test_from_text_errors(void **state)
{
    (void)state;
    uint8_t w[NAME_MAXWIRE];
    size_t len;
    char long_label[80];
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    assert_int_equal(name_from_text(long_label, w, &len), ERR_INVAL);
    assert_int_equal(name_from_text("a..b", w, &len), ERR_INVAL);
    assert_int_equal(name_from_text(".a", w, &len), ERR_INVAL);
    assert_int_equal(name_from_text("a\\", w, &len), ERR_INVAL);
    char huge[400];
    for (int i = 0; i < 130; i++)
        memcpy(huge + 2 * i, "a.", 2);
    huge[260] = '\0';
    assert_int_equal(name_from_text(huge, w, &len), ERR_INVAL);
}

static void test_to_text(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(name_to_text((const uint8_t *)"\x02"
                                                   "bl\x07"
                                                   "example",
                                  buf, sizeof(buf)),
                     10);
    assert_string_equal(buf, "bl.example");
    assert_int_equal(name_to_text((const uint8_t *)"", buf, sizeof(buf)), 1);
    assert_string_equal(buf, ".");
    assert_int_equal(name_to_text((const uint8_t *)"\x03"
                                                   "a.b\x01\x01",
                                  buf, sizeof(buf)),
                     9);
    assert_string_equal(buf, "a\\.b.\\001");
    assert_int_equal(name_to_text((const uint8_t *)"\x02"
                                                   "bl\x07"
                                                   "example",
                                  buf, 5),
                     ERR_SPACE);
}

static void test_suffix(void **state)
{
    (void)state;
    const uint8_t *name = (const uint8_t *)"\x01"
                                           "2\x01"
                                           "0\x02"
                                           "BL\x07"
                                           "example";
    const uint8_t *zone = (const uint8_t *)"\x02"
                                           "bl\x07"
                                           "example";
    assert_int_equal(name_suffix_offset(name, zone), 4);
    assert_int_equal(name_suffix_offset(zone, zone), 0);
    assert_int_equal(name_suffix_offset(zone, name), -1);
    /* "xbl.example" is not below "bl.example": labels must align. */
    assert_int_equal(name_suffix_offset((const uint8_t *)"\x03"
                                                         "xbl\x07"
                                                         "example",
                                        zone),
                     -1);
    assert_int_equal(name_suffix_offset(name, (const uint8_t *)""), 15);
    assert_true(name_equal((const uint8_t *)"\x01"
                                            "A",
                           (const uint8_t *)"\x01"
                                            "a"));
    assert_false(name_equal((const uint8_t *)"\x01"
                                             "a",
                            (const uint8_t *)"\x01"
                                             "b"));
    assert_int_equal(name_label_count(name), 4);
    assert_int_equal(name_wire_len(name), 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_text),
        cmocka_unit_test(test_from_text_errors),
        cmocka_unit_test(test_to_text),
        cmocka_unit_test(test_suffix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
