/* Unit tests for the growable arrays of the dataset types (array.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/err.h"
#include "data/array.h"

static void test_reserve_doubles(void **state)
{
    (void)state;
    uint32_t *a = NULL;
    size_t cap = 0;
    assert_int_equal(array_reserve((void **)&a, &cap, 1, sizeof(*a), 4), 0);
    assert_non_null(a);
    assert_int_equal(cap, 4);
    a[3] = 7;
    /* Enough room: nothing moves. */
    uint32_t *before = a;
    assert_int_equal(array_reserve((void **)&a, &cap, 4, sizeof(*a), 4), 0);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 4);
    /* One more doubles; much more doubles until it fits. */
    assert_int_equal(array_reserve((void **)&a, &cap, 5, sizeof(*a), 4), 0);
    assert_int_equal(cap, 8);
    assert_int_equal(a[3], 7);
    assert_int_equal(array_reserve((void **)&a, &cap, 33, sizeof(*a), 4), 0);
    assert_int_equal(cap, 64);
    free(a);
}

static void test_reserve_refuses_overflow(void **state)
{
    (void)state;
    uint8_t *a = NULL;
    size_t cap = 0;
    assert_int_equal(array_reserve((void **)&a, &cap, SIZE_MAX, 1, 16), ERR_NOMEM);
    assert_int_equal(array_reserve((void **)&a, &cap, SIZE_MAX / 4, 8, 16), ERR_NOMEM);
    assert_null(a);
    assert_int_equal(cap, 0);
}

static void test_shrink(void **state)
{
    (void)state;
    uint32_t *a = NULL;
    size_t cap = 0;
    assert_int_equal(array_reserve((void **)&a, &cap, 100, sizeof(*a), 16), 0);
    assert_int_equal(cap, 128);
    a[0] = 1;
    a[1] = 2;
    array_shrink((void **)&a, &cap, 2, sizeof(*a));
    assert_int_equal(cap, 2);
    assert_int_equal(a[1], 2);
    /* An empty array keeps what it has. */
    array_shrink((void **)&a, &cap, 0, sizeof(*a));
    assert_int_equal(cap, 2);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_doubles),
        cmocka_unit_test(test_reserve_refuses_overflow),
        cmocka_unit_test(test_shrink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
