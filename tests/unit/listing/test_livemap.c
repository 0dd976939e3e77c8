/* Unit tests for the live listing map: a fixed case for each rule, and
 * random chains of versions checked against a brute-force model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "listing/livemap.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define NOW 1000000u

static struct livemap_entry e4(uint32_t addr, unsigned bits, uint8_t code, uint32_t expires)
{
    struct livemap_entry e;
    memset(&e, 0, sizeof(e));
    e.key.family = 4;
    e.key.bits = (uint8_t)bits;
    e.key.hi = addr;
    e.code = code;
    e.expires = expires;
    return e;
}

static struct livemap_entry e6(uint64_t hi, unsigned bits, uint8_t code, uint32_t expires)
{
    struct livemap_entry e = e4(0, bits, code, expires);
    e.key.family = 6;
    e.key.hi = hi;
    return e;
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static void ip6(uint64_t hi, uint64_t lo, uint8_t out[16])
{
    for (unsigned i = 0; i < 8; i++) {
        out[i] = (uint8_t)(hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
}

static uint8_t look6(const struct livemap *m, uint64_t hi, uint64_t lo, uint32_t now)
{
    uint8_t a[16];
    ip6(hi, lo, a);
    return livemap_lookup6(m, a, now);
}

static struct livemap *build(const struct livemap_entry *e, size_t n)
{
    struct livemap *m = NULL;
    assert_int_equal(livemap_build(e, n, &m), 0);
    assert_non_null(m);
    return m;
}

static struct livemap *apply(const struct livemap *prev, const struct livemap_entry *c, size_t n)
{
    struct livemap *m = NULL;
    assert_int_equal(livemap_apply(prev, c, n, &m), 0);
    assert_non_null(m);
    return m;
}

static uint32_t rng = 2463534242u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_empty(void **state)
{
    (void)state;
    struct livemap *m = build(NULL, 0);
    assert_int_equal(livemap_count(m), 0);
    assert_true(livemap_bytes(m) > 0);
    assert_int_equal(livemap_lookup4(m, ip4(127, 0, 0, 2), NOW), 0);
    assert_int_equal(livemap_lookup4(m, 0, NOW), 0);
    assert_int_equal(livemap_lookup4(m, UINT32_MAX, NOW), 0);
    assert_int_equal(look6(m, 0x20010db800000000, 1, NOW), 0);
    assert_false(livemap_any4(m, 0, UINT32_MAX, NOW));
    uint8_t z[16] = {0};
    assert_false(livemap_any6(m, z, 0, NOW));
    /* An empty change set, and removals of keys nobody listed. */
    struct livemap *m2 = apply(m, NULL, 0);
    assert_int_equal(livemap_count(m2), 0);
    const struct livemap_entry rm[] = {e4(ip4(1, 2, 3, 4), 32, 0, 0),
                                       e4(ip4(1, 2, 3, 0), 24, 0, 0)};
    struct livemap *m3 = apply(m2, rm, 2);
    assert_int_equal(livemap_count(m3), 0);
    assert_int_equal(livemap_lookup4(m3, ip4(1, 2, 3, 4), NOW), 0);
    livemap_free(m);
    livemap_free(m3);
    livemap_free(m2);
    livemap_free(NULL);
}

static void test_hosts(void **state)
{
    (void)state;
    const struct livemap_entry e[] = {
        e4(ip4(127, 0, 0, 2), 32, 2, 0),
        e4(ip4(192, 0, 2, 1), 32, 3, 0),
        e4(ip4(192, 0, 2, 1), 32, 4, 0), /* the later of equal keys wins */
        e4(ip4(192, 0, 2, 9), 32, 5, 0),
        e4(ip4(192, 0, 2, 9), 32, 0, 0), /* code 0 is ignored, not a removal */
        e4(0, 32, 6, 0),
        e4(UINT32_MAX, 32, 7, 0),
        e6(0x20010db800000001, 64, 8, 0),
        e6(0x20010db800000001, 64, 9, 0),
        e6(UINT64_MAX, 64, 10, 0),
    };
    struct livemap *m = build(e, sizeof(e) / sizeof(e[0]));
    assert_int_equal(livemap_count(m), 7);
    assert_int_equal(livemap_lookup4(m, ip4(127, 0, 0, 2), NOW), 2);
    assert_int_equal(livemap_lookup4(m, ip4(127, 0, 0, 1), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(127, 0, 0, 3), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(192, 0, 2, 1), NOW), 4);
    assert_int_equal(livemap_lookup4(m, ip4(192, 0, 2, 9), NOW), 5);
    assert_int_equal(livemap_lookup4(m, 0, NOW), 6);
    assert_int_equal(livemap_lookup4(m, UINT32_MAX, NOW), 7);
    assert_int_equal(livemap_lookup4(m, UINT32_MAX - 1, NOW), 0);
    /* Any address of a listed /64 is listed; the next /64 is not. */
    assert_int_equal(look6(m, 0x20010db800000001, 0, NOW), 9);
    assert_int_equal(look6(m, 0x20010db800000001, UINT64_MAX, NOW), 9);
    assert_int_equal(look6(m, 0x20010db800000002, 0, NOW), 0);
    assert_int_equal(look6(m, 0x20010db800000000, UINT64_MAX, NOW), 0);
    assert_int_equal(look6(m, UINT64_MAX, 5, NOW), 10);
    /* IPv4 and IPv6 keys with the same bits stay apart. */
    assert_int_equal(look6(m, ip4(127, 0, 0, 2), 0, NOW), 0);
    livemap_free(m);
}

static void test_blocks_longest_wins(void **state)
{
    (void)state;
    const struct livemap_entry e[] = {
        e4(ip4(10, 0, 0, 0), 8, 2, 0),    e4(ip4(10, 1, 0, 0), 16, 3, 0),
        e4(ip4(10, 1, 2, 0), 24, 4, 0),   e4(ip4(10, 1, 2, 128), 25, 5, 0),
        e4(ip4(10, 1, 2, 200), 32, 6, 0), e4(ip4(128, 0, 0, 0), 1, 7, 0),
        e6(0x20010db800000000, 32, 2, 0), e6(0x20010db8aaaa0000, 48, 3, 0),
        e6(0x20010db8aaaa0000, 63, 4, 0),
    };
    struct livemap *m = build(e, sizeof(e) / sizeof(e[0]));
    assert_int_equal(livemap_count(m), 9);
    assert_int_equal(livemap_lookup4(m, ip4(10, 9, 9, 9), NOW), 2);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 9, 9), NOW), 3);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 1), NOW), 4);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 129), NOW), 5);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 200), NOW), 6); /* host beats blocks */
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 255), NOW), 5);
    assert_int_equal(livemap_lookup4(m, ip4(11, 0, 0, 0), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(9, 255, 255, 255), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(200, 1, 1, 1), NOW), 7);
    assert_int_equal(look6(m, 0x20010db800010000, 1, NOW), 2);
    assert_int_equal(look6(m, 0x20010db8aaaa0002, 1, NOW), 3);
    assert_int_equal(look6(m, 0x20010db8aaaa0001, 1, NOW), 4);
    assert_int_equal(look6(m, 0x20010db8aaaa0000, UINT64_MAX, NOW), 4);
    assert_int_equal(look6(m, 0x20010db900000000, 1, NOW), 0);
    livemap_free(m);
}

static void test_exclusions(void **state)
{
    (void)state;
    const struct livemap_entry e[] = {
        e4(ip4(10, 0, 0, 0), 8, 2, 0),
        e4(ip4(10, 1, 0, 0), 16, LIVEMAP_EXCLUDE, 0),
        e4(ip4(10, 1, 2, 0), 24, 4, 0),                 /* a longer block inside */
        e4(ip4(10, 1, 2, 3), 32, 5, 0),                 /* a host inside */
        e4(ip4(10, 2, 0, 7), 32, LIVEMAP_EXCLUDE, 0),   /* a host exclusion */
        e4(ip4(10, 3, 0, 0), 16, LIVEMAP_EXCLUDE, NOW), /* ended */
        e6(0x20010db800000000, 32, 2, 0),
        e6(0x20010db800010000, 48, LIVEMAP_EXCLUDE, 0),
        e6(0x20010db800010001, 64, 3, 0),
        e6(0x20010db800020002, 64, LIVEMAP_EXCLUDE, 0),
    };
    struct livemap *m = build(e, sizeof(e) / sizeof(e[0]));
    assert_int_equal(livemap_count(m), 10);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 9, 9), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 9), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 3), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(10, 2, 0, 7), NOW), 0);
    assert_int_equal(livemap_lookup4(m, ip4(10, 2, 0, 8), NOW), 2);
    assert_int_equal(livemap_lookup4(m, ip4(10, 3, 0, 1), NOW), 2);
    assert_int_equal(livemap_lookup4(m, ip4(10, 3, 0, 1), NOW - 1), 0);
    assert_int_equal(look6(m, 0x20010db800010001, 0, NOW), 0);
    assert_int_equal(look6(m, 0x20010db800010002, 0, NOW), 0);
    assert_int_equal(look6(m, 0x20010db800020002, 0, NOW), 0);
    assert_int_equal(look6(m, 0x20010db800020003, 0, NOW), 2);
    /* Lifting the exclusions brings the listings back. */
    const struct livemap_entry c[] = {
        e4(ip4(10, 1, 0, 0), 16, 0, 0),
        e4(ip4(10, 2, 0, 7), 32, 0, 0),
        e6(0x20010db800010000, 48, 0, 0),
    };
    struct livemap *m2 = apply(m, c, 3);
    assert_int_equal(livemap_count(m2), 7);
    assert_int_equal(livemap_lookup4(m2, ip4(10, 1, 9, 9), NOW), 2);
    assert_int_equal(livemap_lookup4(m2, ip4(10, 1, 2, 9), NOW), 4);
    assert_int_equal(livemap_lookup4(m2, ip4(10, 1, 2, 3), NOW), 5);
    assert_int_equal(livemap_lookup4(m2, ip4(10, 2, 0, 7), NOW), 2);
    assert_int_equal(look6(m2, 0x20010db800010001, 0, NOW), 3);
    assert_int_equal(look6(m2, 0x20010db800010002, 0, NOW), 2);
    /* ... and m still answers as before. */
    assert_int_equal(livemap_lookup4(m, ip4(10, 1, 2, 3), NOW), 0);
    assert_int_equal(look6(m, 0x20010db800010001, 0, NOW), 0);
    livemap_free(m2);
    livemap_free(m);
}

static void test_expiry_boundary(void **state)
{
    (void)state;
    const uint32_t t = NOW + 100;
    const struct livemap_entry e[] = {
        e4(ip4(192, 0, 2, 1), 32, 2, t),
        e4(ip4(198, 51, 100, 0), 24, 3, t),
        e4(ip4(198, 51, 100, 7), 32, 4, t - 50), /* ends first: the block shows */
        e6(0x20010db800000001, 64, 5, t),
    };
    struct livemap *m = build(e, 4);
    assert_int_equal(livemap_lookup4(m, ip4(192, 0, 2, 1), t - 1), 2);
    assert_int_equal(livemap_lookup4(m, ip4(192, 0, 2, 1), t), 0);
    assert_int_equal(livemap_lookup4(m, ip4(192, 0, 2, 1), t + 1), 0);
    assert_int_equal(livemap_lookup4(m, ip4(198, 51, 100, 9), t - 1), 3);
    assert_int_equal(livemap_lookup4(m, ip4(198, 51, 100, 9), t), 0);
    assert_int_equal(livemap_lookup4(m, ip4(198, 51, 100, 7), t - 51), 4);
    assert_int_equal(livemap_lookup4(m, ip4(198, 51, 100, 7), t - 50), 3);
    assert_int_equal(look6(m, 0x20010db800000001, 9, t - 1), 5);
    assert_int_equal(look6(m, 0x20010db800000001, 9, t), 0);
    assert_true(livemap_any4(m, ip4(192, 0, 2, 0), ip4(192, 0, 2, 255), t - 1));
    assert_false(livemap_any4(m, ip4(192, 0, 2, 0), ip4(192, 0, 2, 255), t));
    /* Expired entries are still entries until removed. */
    assert_int_equal(livemap_count(m), 4);
    /* The same through a delta. */
    const struct livemap_entry c[] = {e4(ip4(192, 0, 2, 2), 32, 6, t)};
    struct livemap *m2 = apply(m, c, 1);
    assert_int_equal(livemap_lookup4(m2, ip4(192, 0, 2, 2), t - 1), 6);
    assert_int_equal(livemap_lookup4(m2, ip4(192, 0, 2, 2), t), 0);
    livemap_free(m2);
    livemap_free(m);
}

static void test_invalid(void **state)
{
    (void)state;
    struct livemap_entry bad[] = {
        e4(ip4(1, 2, 3, 4), 24, 2, 0),    /* host bits under the prefix */
        e4(ip4(1, 2, 3, 4), 33, 2, 0),    /* too long */
        e4(0, 0, 2, 0),                   /* /0 */
        e4(0, 32, 2, 0),                  /* hi past 32 bits, below */
        e4(ip4(1, 2, 3, 4), 32, 2, 0),    /* family 5, below */
        e6(0x20010db800000001, 48, 2, 0), /* host bits */
        e6(0x20010db800000000, 65, 2, 0), /* longer than /64 */
        e6(0x20010db800000000, 0, 2, 0),  /* /0 */
    };
    bad[3].key.hi = UINT64_C(1) << 32;
    bad[4].key.family = 5;
    const struct livemap_entry good = e4(ip4(1, 2, 3, 4), 32, 2, 0);
    struct livemap *m = build(&good, 1);
    static char sentinel;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* Removals are checked too: a bad key is a caller's bug. */
        for (uint8_t code = 0; code < 2; code++) {
            struct livemap_entry two[2] = {good, bad[i]};
            two[1].code = code ? two[1].code : 0;
            struct livemap *out = (struct livemap *)(void *)&sentinel;
            assert_int_equal(livemap_build(two, 2, &out), ERR_INVAL);
            assert_ptr_equal(out, (void *)&sentinel);
            assert_int_equal(livemap_apply(m, two, 2, &out), ERR_INVAL);
            assert_ptr_equal(out, (void *)&sentinel);
        }
    }
    /* The same keys made valid are accepted. */
    const struct livemap_entry fixed[] = {e4(ip4(1, 2, 3, 0), 24, 3, 0),
                                          e6(0x20010db800000000, 48, 4, 0)};
    struct livemap *ok = apply(m, fixed, 2);
    assert_int_equal(livemap_lookup4(ok, ip4(1, 2, 3, 5), NOW), 3);
    assert_int_equal(look6(ok, 0x20010db800000001, 0, NOW), 4);
    livemap_free(ok);
    /* A refused change leaves m as it was (ASan: and nothing behind). */
    assert_int_equal(livemap_lookup4(m, ip4(1, 2, 3, 4), NOW), 2);
    assert_int_equal(livemap_lookup4(m, ip4(1, 2, 3, 5), NOW), 0);
    assert_int_equal(livemap_count(m), 1);
    livemap_free(m);
}

static void test_apply(void **state)
{
    (void)state;
    const struct livemap_entry e[] = {
        e4(ip4(192, 0, 2, 1), 32, 2, 0),  e4(ip4(192, 0, 2, 2), 32, 2, 0),
        e4(ip4(192, 0, 2, 3), 32, 2, 0),  e4(ip4(203, 0, 113, 0), 24, 3, 0),
        e6(0x20010db800000001, 64, 4, 0),
    };
    struct livemap *m0 = build(e, 5);
    const struct livemap_entry c1[] = {
        e4(ip4(192, 0, 2, 1), 32, 0, 0),    /* remove a base entry */
        e4(ip4(192, 0, 2, 2), 32, 9, 0),    /* change its code */
        e4(ip4(192, 0, 2, 4), 32, 5, 0),    /* add */
        e4(ip4(203, 0, 113, 0), 24, 0, 0),  /* remove a block */
        e4(ip4(198, 51, 100, 0), 24, 6, 0), /* add a block */
        e6(0x20010db800000001, 64, 0, 0),   e6(0x20010db800000002, 64, 7, 0),
    };
    struct livemap *m1 = apply(m0, c1, 7);
    assert_int_equal(livemap_count(m1), 5);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 1), NOW), 0);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 2), NOW), 9);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 3), NOW), 2);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 4), NOW), 5);
    assert_int_equal(livemap_lookup4(m1, ip4(203, 0, 113, 9), NOW), 0);
    assert_int_equal(livemap_lookup4(m1, ip4(198, 51, 100, 9), NOW), 6);
    assert_int_equal(look6(m1, 0x20010db800000001, 0, NOW), 0);
    assert_int_equal(look6(m1, 0x20010db800000002, 0, NOW), 7);
    assert_false(livemap_any4(m1, ip4(192, 0, 2, 1), ip4(192, 0, 2, 1), NOW));
    assert_true(livemap_any4(m1, ip4(192, 0, 2, 0), ip4(192, 0, 2, 3), NOW));
    /* m0 is untouched. */
    assert_int_equal(livemap_count(m0), 5);
    assert_int_equal(livemap_lookup4(m0, ip4(192, 0, 2, 1), NOW), 2);
    assert_int_equal(livemap_lookup4(m0, ip4(192, 0, 2, 2), NOW), 2);
    assert_int_equal(livemap_lookup4(m0, ip4(192, 0, 2, 4), NOW), 0);
    assert_int_equal(livemap_lookup4(m0, ip4(203, 0, 113, 9), NOW), 3);
    assert_int_equal(livemap_lookup4(m0, ip4(198, 51, 100, 9), NOW), 0);
    assert_int_equal(look6(m0, 0x20010db800000001, 0, NOW), 4);
    /* A second step: re-add the removed base entry, remove a delta-only
     * one, and make a host an exclusion. */
    const struct livemap_entry c2[] = {
        e4(ip4(192, 0, 2, 1), 32, 8, 0),
        e4(ip4(192, 0, 2, 4), 32, 0, 0),
        e4(ip4(192, 0, 2, 3), 32, LIVEMAP_EXCLUDE, 0),
    };
    struct livemap *m2 = apply(m1, c2, 3);
    assert_int_equal(livemap_count(m2), 5);
    assert_int_equal(livemap_lookup4(m2, ip4(192, 0, 2, 1), NOW), 8);
    assert_int_equal(livemap_lookup4(m2, ip4(192, 0, 2, 4), NOW), 0);
    assert_int_equal(livemap_lookup4(m2, ip4(192, 0, 2, 3), NOW), 0);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 1), NOW), 0);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 4), NOW), 5);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 3), NOW), 2);
    livemap_free(m1);
    livemap_free(m0);
    livemap_free(m2);
}

static void test_apply_order(void **state)
{
    (void)state;
    const uint32_t a = ip4(192, 0, 2, 1), b = ip4(192, 0, 2, 2), c = ip4(192, 0, 2, 3);
    const struct livemap_entry base[] = {e4(c, 32, 2, 0)};
    struct livemap *m0 = build(base, 1);
    const struct livemap_entry ch[] = {
        e4(a, 32, 3, 0),
        e4(a, 32, 0, 0),
        e4(a, 32, 4, 0), /* add, remove, add */
        e4(b, 32, 3, 0),
        e4(b, 32, 0, 0), /* add, remove */
        e4(c, 32, 0, 0),
        e4(c, 32, 5, 0),
        e4(c, 32, 0, 0), /* ends removed */
        e4(ip4(10, 0, 0, 0), 8, 3, 0),
        e4(ip4(10, 0, 0, 0), 8, 6, 0), /* the later code */
    };
    struct livemap *m1 = apply(m0, ch, sizeof(ch) / sizeof(ch[0]));
    assert_int_equal(livemap_lookup4(m1, a, NOW), 4);
    assert_int_equal(livemap_lookup4(m1, b, NOW), 0);
    assert_int_equal(livemap_lookup4(m1, c, NOW), 0);
    assert_int_equal(livemap_lookup4(m1, ip4(10, 1, 1, 1), NOW), 6);
    assert_int_equal(livemap_count(m1), 2);
    livemap_free(m0);
    livemap_free(m1);
}

static void test_any(void **state)
{
    (void)state;
    const struct livemap_entry e[] = {
        e4(ip4(192, 0, 2, 77), 32, 2, 0),  e4(ip4(192, 0, 3, 5), 32, LIVEMAP_EXCLUDE, 0),
        e4(ip4(192, 0, 4, 5), 32, 2, NOW), e4(ip4(172, 16, 0, 0), 12, 3, 0),
        e6(0x20010db8abcd0001, 64, 4, 0),  e6(0x20010db8ef000000, 40, 5, 0),
    };
    struct livemap *m = build(e, 6);
    assert_true(livemap_any4(m, ip4(192, 0, 2, 0), ip4(192, 0, 2, 255), NOW));
    assert_true(livemap_any4(m, ip4(192, 0, 0, 0), ip4(192, 0, 255, 255), NOW));
    assert_true(livemap_any4(m, ip4(192, 0, 2, 77), ip4(192, 0, 2, 77), NOW));
    assert_false(livemap_any4(m, ip4(192, 0, 2, 78), ip4(192, 0, 2, 255), NOW));
    assert_false(livemap_any4(m, ip4(192, 0, 2, 0), ip4(192, 0, 2, 76), NOW));
    assert_false(livemap_any4(m, ip4(192, 0, 3, 0), ip4(192, 0, 3, 255), NOW));
    assert_false(livemap_any4(m, ip4(192, 0, 4, 0), ip4(192, 0, 4, 255), NOW));
    assert_true(livemap_any4(m, ip4(192, 0, 4, 0), ip4(192, 0, 4, 255), NOW - 1));
    /* Blocks: inside, around, overlapping either edge, and beside. */
    assert_true(livemap_any4(m, ip4(172, 20, 1, 0), ip4(172, 20, 1, 255), NOW));
    assert_true(livemap_any4(m, ip4(172, 0, 0, 0), ip4(172, 255, 255, 255), NOW));
    assert_true(livemap_any4(m, ip4(172, 0, 0, 0), ip4(172, 16, 0, 0), NOW));
    assert_true(livemap_any4(m, ip4(172, 31, 255, 255), ip4(173, 0, 0, 0), NOW));
    assert_false(livemap_any4(m, ip4(172, 32, 0, 0), ip4(172, 255, 255, 255), NOW));
    assert_false(livemap_any4(m, ip4(172, 0, 0, 0), ip4(172, 15, 255, 255), NOW));
    assert_false(livemap_any4(m, ip4(192, 0, 2, 255), ip4(192, 0, 2, 0), NOW));
    assert_true(livemap_any4(m, 0, UINT32_MAX, NOW));

    uint8_t p[16];
    ip6(0x20010db8abcd0001, 0, p);
    assert_true(livemap_any6(m, p, 8, NOW));  /* 2001:db8: */
    assert_true(livemap_any6(m, p, 12, NOW)); /* 2001:db8:abcd: */
    assert_true(livemap_any6(m, p, 16, NOW));
    assert_true(livemap_any6(m, p, 20, NOW)); /* inside the listed /64 */
    assert_true(livemap_any6(m, p, 0, NOW));
    ip6(0x20010db8abcd0002, 0, p);
    assert_true(livemap_any6(m, p, 15, NOW));
    assert_false(livemap_any6(m, p, 16, NOW));
    assert_false(livemap_any6(m, p, 32, NOW));
    ip6(0x20010db8ef120000, 0, p); /* inside the /40 */
    assert_true(livemap_any6(m, p, 16, NOW));
    ip6(0x20010db8e0000000, 0, p); /* 2001:db8:e.. holds the /40 */
    assert_true(livemap_any6(m, p, 9, NOW));
    assert_false(livemap_any6(m, p, 10, NOW)); /* 2001:db8:e0.. does not */
    ip6(0x20010db900000000, 0, p);
    assert_false(livemap_any6(m, p, 8, NOW));
    livemap_free(m);
}

/* ---- a brute-force model: every rule by a linear scan ---- */

struct model {
    struct livemap_entry *e;
    size_t n, cap;
};

static int model_find(const struct model *md, const struct netkey *k)
{
    for (size_t i = 0; i < md->n; i++)
        if (md->e[i].key.family == k->family && md->e[i].key.bits == k->bits &&
            md->e[i].key.hi == k->hi)
            return (int)i;
    return -1;
}

static void model_set(struct model *md, const struct livemap_entry *c)
{
    int i = model_find(md, &c->key);
    if (c->code == 0) {
        if (i >= 0)
            md->e[i] = md->e[--md->n];
        return;
    }
    if (i >= 0) {
        md->e[i] = *c;
        return;
    }
    if (md->n == md->cap) {
        md->cap = md->cap ? 2 * md->cap : 256;
        md->e = realloc(md->e, md->cap * sizeof(*md->e));
        assert_non_null(md->e);
    }
    md->e[md->n++] = *c;
}

static struct model model_copy(const struct model *md)
{
    struct model c = {NULL, md->n, md->n + 1};
    c.e = malloc(c.cap * sizeof(*c.e));
    assert_non_null(c.e);
    memcpy(c.e, md->e, md->n * sizeof(*c.e));
    return c;
}

static uint64_t key_last(const struct netkey *k)
{
    unsigned width = k->family == 4 ? 32 : 64;
    return k->bits == 64 ? k->hi : k->hi | ((UINT64_C(1) << (width - k->bits)) - 1);
}

static uint8_t model_lookup(const struct model *md, unsigned family, uint64_t a, uint32_t now)
{
    unsigned width = family == 4 ? 32 : 64;
    int host = 0, best = 0, bestbits = -1;
    for (size_t i = 0; i < md->n; i++) {
        const struct livemap_entry *x = &md->e[i];
        if (x->key.family != family || a < x->key.hi || a > key_last(&x->key))
            continue;
        if (x->expires != 0 && x->expires <= now)
            continue;
        if (x->code == LIVEMAP_EXCLUDE)
            return 0;
        if (x->key.bits == width)
            host = x->code;
        else if (x->key.bits > bestbits) {
            best = x->code;
            bestbits = x->key.bits;
        }
    }
    return (uint8_t)(host ? host : best);
}

static bool model_any(const struct model *md, unsigned family, uint64_t first, uint64_t last,
                      uint32_t now)
{
    for (size_t i = 0; i < md->n; i++) {
        const struct livemap_entry *x = &md->e[i];
        if (x->key.family == family && x->key.hi <= last && key_last(&x->key) >= first &&
            x->code != LIVEMAP_EXCLUDE && (x->expires == 0 || x->expires > now))
            return true;
    }
    return false;
}

/* Keys packed into a few networks so that entries collide, nest and
 * shadow each other. */
static struct livemap_entry random_entry(bool removals)
{
    static const unsigned bits4[] = {8, 16, 18, 20, 22, 24, 26, 28, 30, 31};
    static const unsigned bits6[] = {32, 40, 48, 52, 56, 60, 63};
    uint8_t code = (uint8_t)(1 + next() % 9);
    if (next() % 10 == 0)
        code = LIVEMAP_EXCLUDE;
    if (removals && next() % 4 == 0)
        code = 0;
    uint32_t expires = next() % 2 ? 0 : NOW - 100 + next() % 200;
    unsigned r = next() % 16;
    if (r < 10)
        return e4(ip4(10, 0, 0, 0) | (next() & 0x3fff), 32, code, expires);
    if (r < 12) {
        unsigned b = bits4[next() % 10];
        return e4((ip4(10, 0, 0, 0) | (next() & 0x3fff)) & ~0u << (32 - b), b, code, expires);
    }
    uint64_t hi = UINT64_C(0x20010db800000000) | (next() & 0xfff);
    if (r < 15)
        return e6(hi, 64, code, expires);
    unsigned b = bits6[next() % 7];
    return e6(hi & ~UINT64_C(0) << (64 - b), b, code, expires);
}

static uint64_t random_addr(unsigned family)
{
    if (family == 4)
        return next() % 32 ? ip4(10, 0, 0, 0) | (next() & 0x3fff) : next();
    return UINT64_C(0x20010db800000000) | (next() % 32 ? next() & 0xfff : next());
}

static void check_against_model(const struct livemap *m, const struct model *md, unsigned q)
{
    assert_int_equal(livemap_count(m), md->n);
    for (unsigned i = 0; i < q; i++) {
        uint32_t now = NOW - 120 + next() % 240;
        uint64_t a = random_addr(4);
        assert_int_equal(livemap_lookup4(m, (uint32_t)a, now), model_lookup(md, 4, a, now));
        uint64_t h = random_addr(6);
        assert_int_equal(look6(m, h, next(), now), model_lookup(md, 6, h, now));
        /* Partial names: a random reversed-name depth. */
        unsigned octets = next() % 4;
        uint32_t mask4 = octets ? ~0u << (32 - 8 * octets) : 0;
        uint32_t f4 = (uint32_t)random_addr(4) & mask4;
        /* any4 and any6 ignore exclusions, as the model does. */
        bool got = livemap_any4(m, f4, f4 | ~mask4, now);
        bool want = model_any(md, 4, f4, f4 | ~mask4, now);
        assert_int_equal(got, want);
        unsigned nib = next() % 18;
        uint8_t p[16];
        ip6(random_addr(6), next(), p);
        uint64_t hi = 0;
        for (unsigned k = 0; k < 8; k++)
            hi = hi << 8 | p[k];
        unsigned n = nib > 16 ? 16 : nib;
        uint64_t mask6 = n ? ~UINT64_C(0) << (64 - 4 * n) : 0;
        assert_int_equal(livemap_any6(m, p, nib, now),
                         model_any(md, 6, hi & mask6, (hi & mask6) | ~mask6, now));
    }
}

struct version {
    struct livemap *m;
    struct model md;
};

static void test_random_chain(void **state)
{
    (void)state;
    enum { KEEP = 6, STEPS = 60 };
    struct version v[KEEP];
    memset(v, 0, sizeof(v));
    struct livemap_entry *buf = malloc(3000 * sizeof(*buf));
    assert_non_null(buf);
    for (size_t i = 0; i < 3000; i++) {
        buf[i] = random_entry(false);
        model_set(&v[0].md, &buf[i]);
    }
    v[0].m = build(buf, 3000);
    check_against_model(v[0].m, &v[0].md, 2000);
    size_t latest = 0;
    for (unsigned s = 0; s < STEPS; s++) {
        /* Mostly the latest version, sometimes an older one: apply must
         * work from any version. */
        size_t from = next() % 4 ? latest : next() % KEEP;
        while (!v[from].m)
            from = (from + 1) % KEEP;
        size_t to = next() % KEEP;
        while (to == from)
            to = next() % KEEP;
        size_t n = 1 + next() % (s % 10 == 9 ? 3000 : 400);
        for (size_t i = 0; i < n; i++) {
            buf[i] = random_entry(true);
            /* Repeat keys within a batch now and then. */
            if (i > 0 && next() % 8 == 0)
                buf[i].key = buf[next() % i].key;
        }
        struct model md = model_copy(&v[from].md);
        for (size_t i = 0; i < n; i++)
            model_set(&md, &buf[i]);
        struct livemap *m = apply(v[from].m, buf, n);
        check_against_model(m, &md, 300);
        /* The version applied from answers as before. */
        check_against_model(v[from].m, &v[from].md, 100);
        livemap_free(v[to].m);
        free(v[to].md.e);
        v[to].m = m;
        v[to].md = md;
        latest = to;
    }
    for (size_t i = 0; i < KEEP; i++) {
        if (v[i].m)
            check_against_model(v[i].m, &v[i].md, 500);
        livemap_free(v[i].m);
        free(v[i].md.e);
    }
    free(buf);
}

static int builder_key_cmp(const void *pa, const void *pb)
{
    const struct livemap_entry *a = pa, *b = pb;
    if (a->key.family != b->key.family)
        return a->key.family < b->key.family ? -1 : 1;
    if (a->key.bits != b->key.bits)
        return a->key.bits < b->key.bits ? -1 : 1;
    return a->key.hi < b->key.hi ? -1 : a->key.hi > b->key.hi;
}

static struct livemap *build_streamed(const struct livemap_entry *e, size_t n)
{
    struct livemap_builder *b;
    struct livemap *m = NULL;
    assert_int_equal(livemap_builder_new(&b), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(livemap_builder_add(b, &e[i]), 0);
    assert_int_equal(livemap_builder_finish(b, &m), 0);
    return m;
}

/* The streaming builder answers as the model does: in the database's key
 * order (unique keys, IPv4 hosts straight into the final arrays, past
 * several growths and the index threshold), and in any order with
 * repeated keys (the general build). */
static void test_builder(void **state)
{
    (void)state;
    enum { N = 3000, BIG = 300000 };
    struct livemap_entry *e = malloc(BIG * sizeof(*e));
    assert_non_null(e);
    struct model md = {0};
    for (size_t i = 0; i < N; i++) {
        e[i] = random_entry(false);
        model_set(&md, &e[i]);
    }
    /* Any order, repeats: the general path. */
    struct livemap *m = build_streamed(e, N);
    check_against_model(m, &md, 3000);
    assert_int_equal(livemap_count(m), md.n);
    livemap_free(m);
    /* Key order, one entry per key (the model's). */
    memcpy(e, md.e, md.n * sizeof(*e));
    qsort(e, md.n, sizeof(*e), builder_key_cmp);
    m = build_streamed(e, md.n);
    check_against_model(m, &md, 3000);
    assert_int_equal(livemap_count(m), md.n);
    livemap_free(m);
    free(md.e);

    /* Many sorted IPv4 hosts: the same answers as livemap_build. */
    for (size_t i = 0; i < BIG; i++)
        e[i] = e4(0x05000000u + 7u * (uint32_t)i, 32, (uint8_t)(2 + i % 5),
                  i % 3 ? 0 : 1000 + (uint32_t)i);
    struct livemap *a = build(e, BIG), *c = build_streamed(e, BIG);
    assert_int_equal(livemap_count(a), BIG);
    assert_int_equal(livemap_count(c), BIG);
    assert_int_equal(livemap_bytes(a), livemap_bytes(c));
    for (unsigned q = 0; q < 20000; q++) {
        uint32_t addr = 0x05000000u + next() % (7u * BIG + 10);
        uint32_t now = next() % 400000;
        assert_int_equal(livemap_lookup4(c, addr, now), livemap_lookup4(a, addr, now));
    }
    livemap_free(a);
    livemap_free(c);
    /* Bad keys are refused as by livemap_build. */
    struct livemap_builder *b;
    assert_int_equal(livemap_builder_new(&b), 0);
    struct livemap_entry bad = e4(0x05000001u, 24, 2, 0); /* host bits set */
    assert_int_equal(livemap_builder_add(b, &bad), ERR_INVAL);
    livemap_builder_free(b);
    free(e);
}

/* Enough changes at once that the delta is merged into a new base: the
 * hosts then cost what a base costs, not what a delta entry does. */
static void test_merge_compacts(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct livemap *m0 = build(NULL, 0);
    struct livemap_entry *c = malloc(N * sizeof(*c));
    assert_non_null(c);
    for (uint32_t i = 0; i < N; i++)
        c[i] = e4(ip4(10, 0, 0, 0) + 3 * i, 32, (uint8_t)(1 + i % 7), 0);
    struct livemap *m1 = apply(m0, c, N);
    assert_true(livemap_bytes(m1) < N * 12);
    assert_int_equal(livemap_count(m1), N);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(livemap_lookup4(m1, ip4(10, 0, 0, 0) + 3 * i, NOW), 1 + i % 7);
        assert_int_equal(livemap_lookup4(m1, ip4(10, 0, 0, 1) + 3 * i, NOW), 0);
    }
    /* Removing them all merges again, into an empty base. */
    for (uint32_t i = 0; i < N; i++)
        c[i].code = 0;
    struct livemap *m2 = apply(m1, c, N);
    assert_int_equal(livemap_count(m2), 0);
    assert_true(livemap_bytes(m2) < N * 12 / 2);
    assert_false(livemap_any4(m2, 0, UINT32_MAX, NOW));
    assert_true(livemap_any4(m1, 0, UINT32_MAX, NOW));
    assert_int_equal(livemap_count(m0), 0);
    livemap_free(m1);
    livemap_free(m0);
    livemap_free(m2);
    free(c);
}

/* Versions share bases; any order of freeing must leave the others
 * whole (ASan reports a use after free or a leak otherwise). */
static void test_free_any_order(void **state)
{
    (void)state;
    enum { N = 5000 };
    const struct livemap_entry e[] = {e4(ip4(192, 0, 2, 1), 32, 2, 0)};
    struct livemap *m0 = build(e, 1);
    const struct livemap_entry c1[] = {e4(ip4(192, 0, 2, 2), 32, 3, 0)};
    struct livemap *m1 = apply(m0, c1, 1); /* shares m0's base */
    struct livemap_entry *c = malloc(N * sizeof(*c));
    assert_non_null(c);
    for (uint32_t i = 0; i < N; i++)
        c[i] = e4(ip4(10, 0, 0, 0) + i, 32, 4, 0);
    struct livemap *m2 = apply(m1, c, N); /* a new base */
    struct livemap *m3 = apply(m2, c1, 0);
    livemap_free(m0);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 1), NOW), 2);
    assert_int_equal(livemap_lookup4(m1, ip4(192, 0, 2, 2), NOW), 3);
    livemap_free(m2);
    assert_int_equal(livemap_lookup4(m3, ip4(192, 0, 2, 1), NOW), 2);
    assert_int_equal(livemap_lookup4(m3, ip4(10, 0, 0, 9), NOW), 4);
    livemap_free(m1);
    assert_int_equal(livemap_lookup4(m3, ip4(192, 0, 2, 2), NOW), 3);
    assert_int_equal(livemap_count(m3), N + 2);
    livemap_free(m3);
    free(c);
}

/* Readers on one version while a writer builds and frees its
 * successors, as the server's workers and reload thread do. */
struct reader {
    const struct livemap *m;
    unsigned errors;
};

static void *reader_run(void *arg)
{
    struct reader *r = arg;
    for (uint32_t round = 0; round < 200; round++)
        for (uint32_t i = 0; i < 1000; i++) {
            uint8_t want = i % 2 ? 0 : (uint8_t)(1 + i % 5);
            if (livemap_lookup4(r->m, ip4(10, 0, 0, 0) + i, NOW) != want)
                r->errors++;
        }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    struct livemap_entry e[500];
    for (uint32_t i = 0; i < 500; i++)
        e[i] = e4(ip4(10, 0, 0, 0) + 2 * i, 32, (uint8_t)(1 + (2 * i) % 5), 0);
    struct livemap *m0 = build(e, 500);
    struct reader r[2] = {{m0, 0}, {m0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_run, &r[i]), 0);
    struct livemap_entry *c = malloc(5000 * sizeof(*c));
    assert_non_null(c);
    for (unsigned k = 0; k < 10; k++) {
        size_t n = k % 3 ? 50 : 5000;
        for (size_t i = 0; i < n; i++)
            /* Mostly new keys, so that the large batches merge. */
            c[i] = e4(ip4(10, 0, 0, 0) + next() % 100000, 32, (uint8_t)(next() % 4), 0);
        struct livemap *m1 = apply(m0, c, n);
        struct livemap *m2 = apply(m1, c, n / 2);
        livemap_free(m1);
        livemap_free(m2);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(r[i].errors, 0);
    }
    livemap_free(m0);
    free(c);
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Millions of hosts: the memory budget holds (12 bytes per IPv4 host, 16
 * per IPv6 /64), and the times are printed, not asserted. */
static void test_large(void **state)
{
    (void)state;
    const size_t n = SANITIZED ? 1000000 : 10000000;
    struct livemap_entry *e = malloc(n * sizeof(*e));
    assert_non_null(e);
    /* An odd multiplier is a bijection: n distinct addresses, unsorted. */
    for (size_t i = 0; i < n; i++)
        e[i] = e4((uint32_t)i * 0x9E3779B1u, 32, (uint8_t)(1 + i % 7), 0);
    struct timespec t0, t1, t2, t3;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct livemap *m = build(e, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(livemap_count(m), n);
    assert_true(livemap_bytes(m) <= 12 * n);
    for (unsigned q = 0; q < 100000; q++) {
        size_t i = next() % n;
        assert_int_equal(livemap_lookup4(m, (uint32_t)i * 0x9E3779B1u, NOW), 1 + i % 7);
    }
    /* Random addresses and /24s: address a is listed when its preimage
     * a * inverse (mod 2^32) is below n. */
    uint32_t inv = 0x9E3779B1u;
    for (int k = 0; k < 5; k++)
        inv *= 2 - 0x9E3779B1u * inv; /* Newton: each step doubles the correct bits */
    assert_int_equal(inv * 0x9E3779B1u, 1);
    for (unsigned q = 0; q < 20000; q++) {
        uint32_t a = next();
        uint32_t i = a * inv;
        assert_int_equal(livemap_lookup4(m, a, NOW), i < n ? 1 + i % 7 : 0);
        uint32_t first = a & ~0xffu;
        bool want = false;
        for (uint32_t x = first; x <= (first | 0xff); x++)
            want = want || x * inv < n;
        assert_int_equal(livemap_any4(m, first, first | 0xff, NOW), want);
    }
    struct livemap_entry c[10];
    for (uint32_t i = 0; i < 10; i++)
        c[i] = i % 2 ? e[i * 1000] : e4(ip4(240, 0, 0, 0) + i, 32, 9, 0);
    for (uint32_t i = 1; i < 10; i += 2)
        c[i].code = 0;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    struct livemap *m2 = apply(m, c, 10);
    clock_gettime(CLOCK_MONOTONIC, &t3);
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t a = (uint32_t)c[i].key.hi;
        assert_int_equal(livemap_lookup4(m2, a, NOW), c[i].code);
        assert_int_equal(livemap_lookup4(m, a, NOW), i % 2 ? 1 + (i * 1000) % 7 : 0);
    }
    assert_int_equal(livemap_count(m2), n);
    /* Not timed with a limit: printed so a regression shows in the log. */
    printf("# livemap: build %zu IPv4 hosts %.3f s, %.2f bytes/host; apply 10 %.1f us\n", n,
           seconds(&t0, &t1), (double)livemap_bytes(m) / (double)n, seconds(&t2, &t3) * 1e6);
    livemap_free(m2);
    livemap_free(m);

    const size_t n6 = n / 10;
    for (size_t i = 0; i < n6; i++)
        e[i] = e6(UINT64_C(0x2001000000000000) | (uint64_t)((uint32_t)i * 0x9E3779B1u) << 16, 64,
                  (uint8_t)(1 + i % 7), 0);
    m = build(e, n6);
    assert_int_equal(livemap_count(m), n6);
    assert_true(livemap_bytes(m) <= 16 * n6);
    for (unsigned q = 0; q < 10000; q++) {
        size_t i = next() % n6;
        assert_int_equal(look6(m, e[i].key.hi, next(), NOW), 1 + i % 7);
    }
    livemap_free(m);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_blocks_longest_wins),
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_apply_order),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_random_chain),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_merge_compacts),
        cmocka_unit_test(test_free_any_order),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
