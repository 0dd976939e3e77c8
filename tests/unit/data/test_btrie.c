/* Unit tests for the binary prefix trie (btrie). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "data/btrie.h"

static uint32_t lookup4(const struct btrie *t, uint32_t a, unsigned bits, unsigned *plen)
{
    uint8_t k[16];
    uint32_t v = 0;
    btrie_key_ip4(a, k);
    if (!btrie_lookup(t, k, bits, &v, plen))
        return 0xDEAD;
    return v;
}

static void insert4(struct btrie *t, uint32_t a, unsigned bits, uint32_t v)
{
    uint8_t k[16];
    btrie_key_ip4(a, k);
    assert_int_equal(btrie_insert(t, k, bits, v, NULL), 0);
}

static uint32_t mask4(unsigned len)
{
    return len == 0 ? 0 : 0xFFFFFFFFu << (32 - len);
}

static void test_empty(void **state)
{
    (void)state;
    struct btrie *t;
    assert_int_equal(btrie_new(&t), 0);
    assert_int_equal(lookup4(t, 0x01020304, 32, NULL), 0xDEAD);
    uint8_t k[16] = {0};
    assert_false(btrie_any_under(t, k, 0, BTRIE_NOVALUE));
    assert_int_equal(btrie_count(t), 0);
    btrie_free(t);
}

static void test_longest_match(void **state)
{
    (void)state;
    struct btrie *t;
    unsigned plen = 99;
    assert_int_equal(btrie_new(&t), 0);
    insert4(t, 0x0A000000, 8, 1);  /* 10/8 */
    insert4(t, 0x0A010000, 16, 2); /* 10.1/16 */
    insert4(t, 0x0A010203, 32, 3); /* 10.1.2.3 */
    insert4(t, 0x0A018000, 17, 4); /* 10.1.128/17 */
    assert_int_equal(btrie_count(t), 4);

    assert_int_equal(lookup4(t, 0x0A010203, 32, &plen), 3);
    assert_int_equal(plen, 32);
    assert_int_equal(lookup4(t, 0x0A010204, 32, &plen), 2);
    assert_int_equal(plen, 16);
    assert_int_equal(lookup4(t, 0x0A01F000, 32, &plen), 4);
    assert_int_equal(plen, 17);
    assert_int_equal(lookup4(t, 0x0A020000, 32, &plen), 1);
    assert_int_equal(plen, 8);
    assert_int_equal(lookup4(t, 0x0B000000, 32, NULL), 0xDEAD);
    /* A partial key only sees prefixes no longer than itself. */
    assert_int_equal(lookup4(t, 0x0A010200, 24, &plen), 2);
    assert_int_equal(lookup4(t, 0x0A000000, 8, &plen), 1);
    assert_int_equal(lookup4(t, 0x0A000000, 7, &plen), 0xDEAD);
    btrie_free(t);
}

static void test_insert_order_independent(void **state)
{
    (void)state;
    /* Longer first, then the shorter one that must slot in above it. */
    struct btrie *t;
    assert_int_equal(btrie_new(&t), 0);
    insert4(t, 0xC0A80101, 32, 7);
    insert4(t, 0xC0A80100, 24, 8);
    insert4(t, 0xC0A80000, 16, 9);
    insert4(t, 0x00000000, 0, 10); /* default route */
    assert_int_equal(lookup4(t, 0xC0A80101, 32, NULL), 7);
    assert_int_equal(lookup4(t, 0xC0A80102, 32, NULL), 8);
    assert_int_equal(lookup4(t, 0xC0A80202, 32, NULL), 9);
    assert_int_equal(lookup4(t, 0x01010101, 32, NULL), 10);
    btrie_free(t);
}

static void test_duplicate_and_range(void **state)
{
    (void)state;
    struct btrie *t;
    uint8_t k[16];
    uint32_t old = 0;
    assert_int_equal(btrie_new(&t), 0);
    btrie_key_ip4(0x7F000002, k);
    assert_int_equal(btrie_insert(t, k, 32, 1, NULL), 0);
    assert_int_equal(btrie_insert(t, k, 32, 2, &old), ERR_EXISTS);
    assert_int_equal(old, 1);
    assert_int_equal(lookup4(t, 0x7F000002, 32, NULL), 1);
    assert_int_equal(btrie_insert(t, k, 129, 2, NULL), ERR_RANGE);
    /* Bits past the prefix length do not matter. */
    btrie_key_ip4(0x7F0000FF, k);
    assert_int_equal(btrie_insert(t, k, 24, 5, NULL), 0);
    btrie_key_ip4(0x7F000000, k);
    assert_int_equal(btrie_insert(t, k, 24, 6, &old), ERR_EXISTS);
    assert_int_equal(old, 5);
    assert_int_equal(btrie_count(t), 2);
    btrie_free(t);
}

static void test_any_under(void **state)
{
    (void)state;
    struct btrie *t;
    uint8_t k[16];
    assert_int_equal(btrie_new(&t), 0);
    insert4(t, 0x0A010203, 32, 1);
    insert4(t, 0x0B000000, 8, 2);
    insert4(t, 0x0C010100, 24, BTRIE_NOVALUE); /* an exclusion */

    btrie_key_ip4(0x0A010200, k);
    assert_true(btrie_any_under(t, k, 24, BTRIE_NOVALUE));
    assert_true(btrie_any_under(t, k, 8, BTRIE_NOVALUE));
    assert_false(btrie_any_under(t, k, 32, BTRIE_NOVALUE)); /* 10.1.2.0 itself */
    btrie_key_ip4(0x0A010300, k);
    assert_false(btrie_any_under(t, k, 24, BTRIE_NOVALUE));
    /* A shorter prefix containing the key is not "under" it. */
    btrie_key_ip4(0x0B010000, k);
    assert_false(btrie_any_under(t, k, 16, BTRIE_NOVALUE));
    btrie_key_ip4(0x0B000000, k);
    assert_true(btrie_any_under(t, k, 8, BTRIE_NOVALUE));
    /* Skipped values do not count. */
    btrie_key_ip4(0x0C000000, k);
    assert_true(btrie_any_under(t, k, 8, 7));
    assert_false(btrie_any_under(t, k, 8, BTRIE_NOVALUE));
    btrie_free(t);
}

static void test_ip6_keys(void **state)
{
    (void)state;
    struct btrie *t;
    uint8_t k[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint32_t v;
    unsigned plen;
    assert_int_equal(btrie_new(&t), 0);
    assert_int_equal(btrie_insert(t, k, 32, 1, NULL), 0);
    k[15] = 1;
    assert_int_equal(btrie_insert(t, k, 128, 2, NULL), 0);
    assert_true(btrie_lookup(t, k, 128, &v, &plen));
    assert_int_equal(v, 2);
    assert_int_equal(plen, 128);
    k[15] = 2;
    assert_true(btrie_lookup(t, k, 128, &v, &plen));
    assert_int_equal(v, 1);
    assert_int_equal(plen, 32);
    k[1] = 2;
    assert_false(btrie_lookup(t, k, 128, &v, &plen));
    btrie_free(t);
}

struct walk_rec {
    unsigned n;
    uint32_t values[8];
    int parents[8];
};

static int walk_cb(const uint8_t key[16], unsigned bits, uint32_t value, const uint32_t *parent,
                   void *arg)
{
    struct walk_rec *r = arg;
    (void)key;
    (void)bits;
    r->values[r->n] = value;
    r->parents[r->n] = parent ? (int)*parent : -1;
    r->n++;
    return value == 99 ? 42 : 0;
}

static void test_walk(void **state)
{
    (void)state;
    struct btrie *t;
    struct walk_rec r = {0};
    assert_int_equal(btrie_new(&t), 0);
    insert4(t, 0x0B000000, 8, 3);
    insert4(t, 0x0A010000, 16, 2);
    insert4(t, 0x0A000000, 8, 1);
    insert4(t, 0x0A010203, 32, 4);
    assert_int_equal(btrie_walk(t, walk_cb, &r), 0);
    assert_int_equal(r.n, 4);
    /* Key order, containers first, each with its nearest stored parent. */
    assert_int_equal(r.values[0], 1);
    assert_int_equal(r.parents[0], -1);
    assert_int_equal(r.values[1], 2);
    assert_int_equal(r.parents[1], 1);
    assert_int_equal(r.values[2], 4);
    assert_int_equal(r.parents[2], 2);
    assert_int_equal(r.values[3], 3);
    assert_int_equal(r.parents[3], -1);

    /* A nonzero return stops the walk. */
    insert4(t, 0x01000000, 8, 99);
    memset(&r, 0, sizeof(r));
    assert_int_equal(btrie_walk(t, walk_cb, &r), 42);
    assert_int_equal(r.n, 1);
    btrie_free(t);
}

/* Compare against a brute-force list on random prefixes. */
static void test_random_against_list(void **state)
{
    (void)state;
    enum { N = 3000, Q = 20000 };
    static uint32_t pa[N], pv[N];
    static unsigned pl[N];
    unsigned n = 0;
    struct btrie *t;
    assert_int_equal(btrie_new(&t), 0);
    srand(12345);
    for (unsigned i = 0; i < N; i++) {
        unsigned len = 8 + (unsigned)rand() % 25;
        /* Few distinct high bits, so prefixes nest a lot. */
        uint32_t a = ((uint32_t)rand() << 8) ^ (uint32_t)rand();
        a = (a & 0x0003FFFF) | 0x0A000000;
        a &= mask4(len);
        uint8_t k[16];
        btrie_key_ip4(a, k);
        int rc = btrie_insert(t, k, len, i, NULL);
        bool dup = false;
        for (unsigned j = 0; j < n; j++)
            if (pa[j] == a && pl[j] == len)
                dup = true;
        assert_int_equal(rc, dup ? ERR_EXISTS : 0);
        if (!dup) {
            pa[n] = a;
            pl[n] = len;
            pv[n] = i;
            n++;
        }
    }
    assert_int_equal(btrie_count(t), n);
    size_t before = btrie_bytes(t);
    btrie_shrink(t);
    assert_true(btrie_bytes(t) <= before);
    for (unsigned q = 0; q < Q; q++) {
        uint32_t a = 0x0A000000 | (((uint32_t)rand() << 8 ^ (uint32_t)rand()) & 0x0003FFFF);
        int best = -1;
        for (unsigned j = 0; j < n; j++) {
            if ((a & mask4(pl[j])) == pa[j] && (best < 0 || pl[j] > pl[best]))
                best = (int)j;
        }
        unsigned plen;
        uint32_t got = lookup4(t, a, 32, &plen);
        if (best < 0) {
            assert_int_equal(got, 0xDEAD);
        } else {
            assert_int_equal(got, pv[best]);
            assert_int_equal(plen, pl[best]);
        }
    }
    btrie_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_longest_match),
        cmocka_unit_test(test_insert_order_independent),
        cmocka_unit_test(test_duplicate_and_range),
        cmocka_unit_test(test_any_under),
        cmocka_unit_test(test_ip6_keys),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_random_against_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
