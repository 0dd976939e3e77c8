/* Unit tests for the flattened IPv4 prefix map: every lookup must agree
 * with a brute-force longest-prefix match over the same prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "data/ip4map.h"

struct pfx {
    uint32_t start, val;
    unsigned bits;
};

/* Longest prefix wins; of equal prefixes the first given. */
static bool brute(const struct pfx *p, size_t n, uint32_t a, uint32_t *val)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t mask = p[i].bits ? ~0u << (32 - p[i].bits) : 0;
        if ((a & mask) == p[i].start && (best < 0 || p[i].bits > p[best].bits))
            best = (int)i;
    }
    if (best < 0 || p[best].val == IP4MAP_NONE)
        return false;
    *val = p[best].val;
    return true;
}

static uint32_t rng = 2463534242u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void build(const struct pfx *p, size_t n, struct ip4map *m)
{
    struct ip4map_builder b;
    ip4map_builder_init(&b);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ip4map_builder_add(&b, p[i].start, p[i].bits, p[i].val), 0);
    assert_int_equal(ip4map_build(&b, m), 0);
    ip4map_builder_free(&b);
}

static void test_small_cases(void **state)
{
    (void)state;
    const struct pfx p[] = {
        {0x0a000000, 1, 8},            /* 10/8 */
        {0x0a010000, IP4MAP_NONE, 16}, /* !10.1/16 */
        {0x0a010100, 2, 24},           /* 10.1.1/24 inside the exclusion */
        {0x0a000000, 3, 8},            /* duplicate of 10/8: ignored */
        {0xc0000201, 4, 32},
        {0xffffffff, 5, 32}, /* the very last address */
    };
    struct ip4map m;
    build(p, 6, &m);
    assert_null(m.bucket); /* small: bisection over every interval */
    uint32_t v;
    assert_true(ip4map_lookup(&m, 0x0a000001, &v));
    assert_int_equal(v, 1);
    assert_false(ip4map_lookup(&m, 0x0a010001, &v));
    assert_true(ip4map_lookup(&m, 0x0a0101fe, &v));
    assert_int_equal(v, 2);
    assert_true(ip4map_lookup(&m, 0x0a020000, &v));
    assert_int_equal(v, 1);
    assert_false(ip4map_lookup(&m, 0x0b000000, &v));
    assert_false(ip4map_lookup(&m, 0x00000000, &v));
    assert_true(ip4map_lookup(&m, 0xffffffff, &v));
    assert_int_equal(v, 5);
    assert_false(ip4map_lookup(&m, 0xfffffffe, &v));
    /* 2^24 - 2^16 + 2^8 + 1 + 1 addresses have a value. */
    assert_int_equal(m.listed, (1u << 24) - (1u << 16) + 256 + 1 + 1);
    assert_true(ip4map_any(&m, 0x0a010000, 0x0a0100ff) == false);
    assert_true(ip4map_any(&m, 0x0a010000, 0x0a0101ff));
    assert_true(ip4map_any(&m, 0xc0000200, 0xc00002ff));
    assert_false(ip4map_any(&m, 0xc0000300, 0xc00003ff));
    ip4map_free(&m);
}

static void test_empty(void **state)
{
    (void)state;
    struct ip4map m;
    build(NULL, 0, &m);
    uint32_t v;
    assert_false(ip4map_lookup(&m, 0x01020304, &v));
    assert_false(ip4map_any(&m, 0, UINT32_MAX));
    assert_int_equal(m.listed, 0);
    ip4map_free(&m);
}

static size_t random_against_brute_force(size_t N, unsigned minbits)
{
    enum { Q = 30000 };
    struct pfx *p = malloc(N * sizeof(*p));
    assert_non_null(p);
    for (size_t i = 0; i < N; i++) {
        /* Clustered in a few /8s so that prefixes nest and overlap. */
        unsigned bits = minbits + next() % (33 - minbits);
        uint32_t a = ((next() % 4 + 10) << 24) | (next() & 0x00ffffff);
        uint32_t mask = ~0u << (32 - bits);
        p[i].start = a & mask;
        p[i].bits = bits;
        p[i].val = next() % 5 == 0 ? IP4MAP_NONE : next() % 7;
    }
    struct ip4map m;
    build(p, N, &m);
    /* Large maps get the upper-16-bit table, small ones bisect it all. */
    assert_int_equal(m.n >= 4096, m.bucket != NULL);
    for (size_t i = 0; i < Q; i++) {
        uint32_t a = (i % 2) ? p[next() % N].start + (next() % 3)
                             : ((next() % 5 + 9) << 24) | (next() & 0x00ffffff);
        uint32_t v1 = 0, v2 = 0;
        bool b1 = brute(p, N, a, &v1);
        bool b2 = ip4map_lookup(&m, a, &v2);
        assert_int_equal(b1, b2);
        if (b1)
            assert_int_equal(v1, v2);
        /* any() over the /24 agrees with a scan of its addresses' winners
         * (sampled: the /24 is small enough to scan). */
        if (i % 50 == 0) {
            uint32_t net = a & 0xffffff00u;
            bool any = false;
            for (uint32_t x = 0; x < 256 && !any; x++)
                any = brute(p, N, net | x, &v1);
            assert_int_equal(ip4map_any(&m, net, net | 255), any);
        }
    }
    assert_true(m.n <= 2 * N + 1);
    size_t intervals = m.n;
    ip4map_free(&m);
    free(p);
    return intervals;
}

static void test_random_against_brute_force(void **state)
{
    (void)state;
    assert_true(random_against_brute_force(3000, 8) < 4096);   /* deep nesting: bisection */
    assert_true(random_against_brute_force(8000, 20) >= 4096); /* many intervals: indexed */
}

/* Far more prefixes than the flattening gives back at a time, each /30
 * given three times with different values: the first given wins, however
 * the in-place sort has moved them. */
static void test_large_first_wins(void **state)
{
    (void)state;
    enum { K = 100000 };
    struct ip4map_builder b;
    ip4map_builder_init(&b);
    for (uint32_t copy = 0; copy < 3; copy++)
        for (uint32_t k = 0; k < K; k++) {
            /* Scattered order, so that equal prefixes are far apart. */
            uint32_t j = (k * 7919u) % K;
            uint32_t val = copy == 0 ? j : K + copy;
            assert_int_equal(ip4map_builder_add(&b, 0x0a000000u + 4 * j, 30, val), 0);
        }
    struct ip4map m;
    assert_int_equal(ip4map_build(&b, &m), 0);
    assert_int_equal(b.duplicates, 2 * K);
    assert_int_equal(b.n, 0);
    assert_null(b.buf.base); /* the prefixes are gone once the map is built */
    assert_int_equal(m.listed, 4u * K);
    for (uint32_t j = 0; j < K; j++) {
        uint32_t v = 0;
        assert_true(ip4map_lookup(&m, 0x0a000000u + 4 * j + j % 4, &v));
        assert_int_equal(v, j);
    }
    uint32_t v;
    assert_false(ip4map_lookup(&m, 0x0a000000u + 4 * K, &v));
    assert_false(ip4map_lookup(&m, 0x09ffffffu, &v));
    ip4map_free(&m);
    ip4map_builder_free(&b);
}

static void test_limits(void **state)
{
    (void)state;
    struct ip4map_builder b;
    ip4map_builder_init(&b);
    assert_int_equal(ip4map_builder_add(&b, 0, 33, 1), ERR_INVAL);
    assert_int_equal(ip4map_builder_add(&b, 0x0a000000, 8, 1), 0);
    /* The input order has 26 bits: one more prefix than that is refused
     * (the count is set, not filled: that would take 768 MB). */
    size_t n = b.n;
    b.n = IP4MAP_MAX_PREFIXES;
    assert_int_equal(ip4map_builder_add(&b, 0x0b000000, 8, 1), ERR_LIMIT);
    b.n = n;
    ip4map_builder_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_cases),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_random_against_brute_force),
        cmocka_unit_test(test_large_first_wins),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
