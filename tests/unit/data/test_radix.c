/* Unit tests for the radix sorts: agreement with qsort on random keys,
 * keys whose digits are all equal (skipped passes), and tiny arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "data/radix.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmp32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void check32(size_t n, uint32_t mask, uint32_t fixed)
{
    uint32_t *a = malloc((n + 1) * sizeof(*a)), *b = malloc((n + 1) * sizeof(*b)),
             *t = malloc((n + 1) * sizeof(*t));
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = ((uint32_t)next() & mask) | fixed;
    assert_int_equal(radix_sort32(a, t, n), 0);
    qsort(b, n, sizeof(*b), cmp32);
    assert_memory_equal(a, b, n * sizeof(*a));
    size_t u = radix_unique32(a, n);
    for (size_t i = 1; i < u; i++)
        assert_true(a[i - 1] < a[i]);
    free(a);
    free(b);
    free(t);
}

static void check64(size_t n, uint64_t mask, uint64_t fixed)
{
    uint64_t *a = malloc((n + 1) * sizeof(*a)), *b = malloc((n + 1) * sizeof(*b)),
             *t = malloc((n + 1) * sizeof(*t));
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = (next() & mask) | fixed;
    assert_int_equal(radix_sort64(a, t, n), 0);
    qsort(b, n, sizeof(*b), cmp64);
    assert_memory_equal(a, b, n * sizeof(*a));
    free(a);
    free(b);
    free(t);
}

static void check64_inplace(size_t n, uint64_t mask, uint64_t fixed)
{
    uint64_t *a = malloc((n + 1) * sizeof(*a)), *b = malloc((n + 1) * sizeof(*b));
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = (next() & mask) | fixed;
    radix_sort64_inplace(a, n);
    qsort(b, n, sizeof(*b), cmp64);
    assert_memory_equal(a, b, n * sizeof(*a));
    free(a);
    free(b);
}

static void test_sort64_inplace(void **state)
{
    (void)state;
    check64_inplace(0, ~0ull, 0);
    check64_inplace(31, ~0ull, 0); /* insertion sort only */
    check64_inplace(200000, ~0ull, 0);
    check64_inplace(200000, 0xffffffff00000007ull, 0);                     /* ip4set keys */
    check64_inplace(200000, 0x0000ffff000000ffull, 0x0a0b000000000000ull); /* one /16 */
    check64_inplace(50000, 0xffull, 0x1234000000000000ull);                /* all in one bucket */
}

static void test_sort32(void **state)
{
    (void)state;
    check32(0, ~0u, 0);
    check32(1, ~0u, 0);
    check32(100000, ~0u, 0);
    check32(100000, 0xffff, 0x0a0b0000); /* high digit constant: one pass */
    check32(100000, 0xffff0000, 0x7);    /* low digit constant */
    check32(5000, 0xff, 0);              /* many duplicates */
}

static void test_sort64(void **state)
{
    (void)state;
    check64(0, ~0ull, 0);
    check64(2, ~0ull, 0);
    check64(100000, ~0ull, 0);
    /* ip4set's keys: an address above, a small value index below. */
    check64(100000, 0xffffffff00000007ull, 0);
    check64(100000, 0x00000000ffffffffull, 0x0102030400000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort32),
        cmocka_unit_test(test_sort64),
        cmocka_unit_test(test_sort64_inplace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
