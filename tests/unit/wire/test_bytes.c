/* Tests for the big-endian field helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "wire/wire.h"

static void test_get_is_big_endian(void **state)
{
    (void)state;
    const uint8_t p[] = {0x12, 0x34, 0xfe, 0xdc};
    assert_int_equal(wire_get16(p), 0x1234);
    assert_int_equal(wire_get16(p + 2), 0xfedc);
    assert_int_equal(wire_get32(p), 0x1234fedcu);
}

static void test_put_round_trips(void **state)
{
    (void)state;
    uint8_t p[6];
    memset(p, 0xaa, sizeof(p));
    wire_put16(p, 0xbeef);
    wire_put32(p + 2, 0x80000001u);
    const uint8_t want[] = {0xbe, 0xef, 0x80, 0x00, 0x00, 0x01};
    assert_memory_equal(p, want, sizeof(want));
    assert_int_equal(wire_get16(p), 0xbeef);
    assert_int_equal(wire_get32(p + 2), 0x80000001u);
}

static void test_put_writes_only_its_bytes(void **state)
{
    (void)state;
    uint8_t p[4] = {0x11, 0x11, 0x11, 0x11};
    wire_put16(p + 1, 0);
    assert_int_equal(p[0], 0x11);
    assert_int_equal(p[3], 0x11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_is_big_endian),
        cmocka_unit_test(test_put_round_trips),
        cmocka_unit_test(test_put_writes_only_its_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
