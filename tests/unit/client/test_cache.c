/* Unit tests for the answer cache: hits and misses, expiry to the
 * millisecond, case, deletion inside a probe run, eviction when full,
 * dropping a zone, the stats, and random operations checked against a
 * plain array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/cache.h"
#include "common/err.h"

/* In cache.c for the tests, not in cache.h: the home slot of a key. */
size_t cache_test_home(const struct cache *c, const char *name, uint16_t qtype);

#define T0 5000000
#define A REPLY_TYPE_A
#define TXT REPLY_TYPE_TXT

static struct reply rep_a(uint32_t addr)
{
    struct reply r;
    memset(&r, 0, sizeof(r));
    r.rcode = 0;
    r.a[0] = addr;
    r.na = 1;
    r.a_ttl = 300;
    return r;
}

static void assert_same_reply(const struct reply *got, const struct reply *want)
{
    assert_int_equal(got->rcode, want->rcode);
    assert_int_equal(got->tc, want->tc);
    assert_int_equal(got->na, want->na);
    for (unsigned i = 0; i < want->na; i++)
        assert_int_equal(got->a[i], want->a[i]);
    assert_int_equal(got->a_ttl, want->a_ttl);
    assert_int_equal(got->has_txt, want->has_txt);
    assert_string_equal(got->txt, want->txt);
    assert_int_equal(got->txt_ttl, want->txt_ttl);
    assert_int_equal(got->has_soa, want->has_soa);
    assert_int_equal(got->soa_in_answer, want->soa_in_answer);
    assert_int_equal(got->soa_ttl, want->soa_ttl);
    assert_int_equal(got->soa_minimum, want->soa_minimum);
}

static struct cache *new_cache(size_t entries)
{
    struct cache *c = NULL;
    assert_int_equal(cache_new(entries, &c), 0);
    assert_non_null(c);
    return c;
}

static struct cache_stats stats(const struct cache *c)
{
    struct cache_stats s;
    memset(&s, 0xff, sizeof(s));
    cache_stats(c, &s);
    return s;
}

static void test_new(void **state)
{
    (void)state;
    struct cache *c = new_cache(1);
    struct cache_stats s = stats(c);
    assert_int_equal(s.capacity, 16); /* raised to the minimum */
    assert_int_equal(s.used, 0);
    assert_int_equal(s.hits, 0);
    assert_int_equal(s.misses, 0);
    assert_int_equal(s.stores, 0);
    assert_int_equal(s.evictions, 0);
    cache_free(c);

    c = new_cache(1000);
    assert_int_equal(stats(c).capacity, 1000);
    cache_free(c);

    /* More than can be allocated. */
    c = (struct cache *)&c;
    assert_int_equal(cache_new(SIZE_MAX / 2, &c), ERR_NOMEM);
    assert_null(c);
    cache_free(NULL);
}

static void test_hit_miss(void **state)
{
    (void)state;
    struct cache *c = new_cache(64);
    struct reply r = rep_a(0x7f000002), got;
    r.has_txt = true;
    strcpy(r.txt, "listed, see https://bl.example/lookup");
    r.txt_ttl = 200;
    r.has_soa = true;
    r.soa_ttl = 3600;
    r.soa_minimum = 60;
    r.a[1] = 0x7f00000a;
    r.na = 2;

    assert_false(cache_get(c, "2.0.0.127.bl.example", A, T0, &got));
    cache_put(c, "2.0.0.127.bl.example", A, &r, 60, T0);
    memset(&got, 0, sizeof(got));
    assert_true(cache_get(c, "2.0.0.127.bl.example", A, T0 + 1, &got));
    assert_same_reply(&got, &r);
    /* Another type, another name: not the same key. */
    assert_false(cache_get(c, "2.0.0.127.bl.example", TXT, T0 + 1, &got));
    assert_false(cache_get(c, "3.0.0.127.bl.example", A, T0 + 1, &got));
    assert_false(cache_get(c, "2.0.0.127.bl.exampl", A, T0 + 1, &got));
    assert_false(cache_get(c, "0.0.127.bl.example", A, T0 + 1, &got));

    struct reply nx;
    memset(&nx, 0, sizeof(nx));
    nx.rcode = 3;
    nx.has_soa = true;
    cache_put(c, "2.0.0.127.bl.example", TXT, &nx, 30, T0);
    assert_true(cache_get(c, "2.0.0.127.bl.example", TXT, T0 + 2, &got));
    assert_same_reply(&got, &nx);
    assert_true(cache_get(c, "2.0.0.127.bl.example", A, T0 + 2, &got));
    assert_same_reply(&got, &r);

    struct cache_stats s = stats(c);
    assert_int_equal(s.hits, 3);
    assert_int_equal(s.misses, 5);
    assert_int_equal(s.stores, 2);
    assert_int_equal(s.used, 2);
    assert_int_equal(s.evictions, 0);
    cache_free(c);
}

static void test_expiry_boundary(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply r = rep_a(0x7f000002), got;
    cache_put(c, "x.bl.example", A, &r, 60, T0);
    assert_true(cache_get(c, "x.bl.example", A, T0, &got));
    assert_true(cache_get(c, "x.bl.example", A, T0 + 59999, &got));
    assert_false(cache_get(c, "x.bl.example", A, T0 + 60000, &got));
    /* Found expired, it is gone for good, even for an earlier clock. */
    assert_int_equal(stats(c).used, 0);
    assert_false(cache_get(c, "x.bl.example", A, T0 + 1, &got));

    /* ttl 1: one second, not one millisecond less. */
    cache_put(c, "y.bl.example", A, &r, 1, T0);
    assert_true(cache_get(c, "y.bl.example", A, T0 + 999, &got));
    assert_false(cache_get(c, "y.bl.example", A, T0 + 1000, &got));

    /* The largest TTL does not overflow into the past. */
    cache_put(c, "z.bl.example", A, &r, UINT32_MAX, T0);
    assert_true(cache_get(c, "z.bl.example", A, T0 + 86400000LL * 365 * 100, &got));
    cache_put(c, "w.bl.example", A, &r, UINT32_MAX, INT64_MAX - 10);
    assert_true(cache_get(c, "w.bl.example", A, INT64_MAX - 5, &got));
    cache_free(c);
}

static void test_case_and_dot(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply r = rep_a(0x7f000004), got;
    cache_put(c, "Foo.BL.Example", A, &r, 60, T0);
    assert_true(cache_get(c, "foo.bl.example", A, T0, &got));
    assert_int_equal(got.a[0], 0x7f000004);
    assert_true(cache_get(c, "FOO.BL.EXAMPLE", A, T0, &got));
    assert_true(cache_get(c, "foo.bl.example.", A, T0, &got));
    /* Stored again in another case: the same entry. */
    struct reply r2 = rep_a(0x7f000005);
    cache_put(c, "fOO.bl.EXAMPLE.", A, &r2, 60, T0);
    assert_int_equal(stats(c).used, 1);
    assert_true(cache_get(c, "Foo.BL.Example", A, T0, &got));
    assert_int_equal(got.a[0], 0x7f000005);
    /* Only ASCII letters fold: bytes above 127 compare as they are. */
    cache_put(c, "\xc3\x89.bl.example", A, &r, 60, T0);
    assert_false(cache_get(c, "\xc3\xa9.bl.example", A, T0, &got));
    assert_true(cache_get(c, "\xc3\x89.BL.example", A, T0, &got));
    /* '[' is 'Z' + 1 and '{' is 'z' + 1: no folding of neighbours. */
    cache_put(c, "a[.bl.example", A, &r, 60, T0);
    assert_false(cache_get(c, "a{.bl.example", A, T0, &got));
    cache_free(c);
}

static void test_overwrite(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply r1 = rep_a(0x7f000002), r2 = rep_a(0x7f000003), got;
    cache_put(c, "k.bl.example", A, &r1, 3600, T0);
    cache_put(c, "k.bl.example", A, &r2, 10, T0 + 1000);
    assert_int_equal(stats(c).used, 1);
    assert_int_equal(stats(c).stores, 2);
    assert_true(cache_get(c, "k.bl.example", A, T0 + 10999, &got));
    assert_int_equal(got.a[0], 0x7f000003);
    /* The newer, shorter TTL counts, not the older one. */
    assert_false(cache_get(c, "k.bl.example", A, T0 + 11000, &got));
    cache_free(c);
}

static void test_ttl_zero(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply r = rep_a(0x7f000002), got;
    cache_put(c, "k.bl.example", A, &r, 60, T0);
    cache_put(c, "k.bl.example", TXT, &r, 60, T0);
    cache_put(c, "K.bl.example", A, &r, 0, T0 + 1);
    assert_false(cache_get(c, "k.bl.example", A, T0 + 2, &got));
    assert_true(cache_get(c, "k.bl.example", TXT, T0 + 2, &got));
    struct cache_stats s = stats(c);
    assert_int_equal(s.used, 1);
    assert_int_equal(s.stores, 2);
    /* Nothing to drop: nothing happens. */
    cache_put(c, "other.bl.example", A, &r, 0, T0 + 3);
    assert_false(cache_get(c, "other.bl.example", A, T0 + 3, &got));
    assert_int_equal(stats(c).used, 1);
    assert_int_equal(stats(c).stores, 2);
    cache_free(c);
}

static void test_long_names(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply r = rep_a(0x7f000002), got;
    char n253[256], n254[256];
    /* Labels of 63: 63*4 + 1 + 3 dots = 256 > 253; build exactly. */
    memset(n253, 'a', 253);
    for (int i = 63; i < 253; i += 64)
        n253[i] = '.';
    n253[253] = '\0';
    cache_put(c, n253, A, &r, 60, T0);
    assert_true(cache_get(c, n253, A, T0, &got));
    /* With a trailing dot it is the same name, still 253 bytes. */
    char dotted[256];
    memcpy(dotted, n253, 253);
    dotted[253] = '.';
    dotted[254] = '\0';
    assert_true(cache_get(c, dotted, A, T0, &got));

    memcpy(n254, n253, 253);
    n254[253] = 'b';
    n254[254] = '\0';
    cache_put(c, n254, A, &r, 60, T0);
    assert_false(cache_get(c, n254, A, T0, &got));
    assert_int_equal(stats(c).used, 1);
    assert_int_equal(cache_test_home(c, n254, A), SIZE_MAX);
    cache_free(c);
}

/* Find a name "<prefix><i>.bl.example" whose home slot is `home`. */
static void name_at(const struct cache *c, size_t home, const char *prefix, char *out, size_t outsz)
{
    for (unsigned i = 0; i < 1000000; i++) {
        snprintf(out, outsz, "%s%u.bl.example", prefix, i);
        if (cache_test_home(c, out, A) == home)
            return;
    }
    fail_msg("no name with home %zu", home);
}

static void test_delete_in_run(void **state)
{
    (void)state;
    struct reply got;
    /* A, B colliding; delete A; B must still be found. For every home
     * slot, the last one included (the run wraps to slot 0). */
    struct cache *c = new_cache(16);
    size_t slots = 32;
    for (size_t home = 0; home < slots; home++) {
        char a[64], b[64], d[64], e[64];
        name_at(c, home, "a", a, sizeof(a));
        name_at(c, home, "b", b, sizeof(b));
        name_at(c, home, "d", d, sizeof(d));
        /* e's home is the next slot: in the run, it sits after b and d. */
        name_at(c, (home + 1) % slots, "e", e, sizeof(e));
        struct reply ra = rep_a(1), rb = rep_a(2), rd = rep_a(3), re = rep_a(4);
        cache_put(c, a, A, &ra, 60, T0);
        cache_put(c, b, A, &rb, 60, T0);
        cache_put(c, d, A, &rd, 60, T0);
        cache_put(c, e, A, &re, 60, T0);
        assert_int_equal(stats(c).used, 4);

        cache_put(c, a, A, &ra, 0, T0); /* delete A */
        assert_false(cache_get(c, a, A, T0, &got));
        assert_true(cache_get(c, b, A, T0, &got));
        assert_int_equal(got.a[0], 2);
        assert_true(cache_get(c, d, A, T0, &got));
        assert_int_equal(got.a[0], 3);
        assert_true(cache_get(c, e, A, T0, &got));
        assert_int_equal(got.a[0], 4);

        /* Delete from the middle of what is left, then by expiry. */
        cache_put(c, d, A, &rd, 0, T0);
        assert_true(cache_get(c, b, A, T0, &got));
        assert_int_equal(got.a[0], 2);
        assert_true(cache_get(c, e, A, T0, &got));
        assert_int_equal(got.a[0], 4);
        cache_put(c, b, A, &rb, 1, T0);
        assert_false(cache_get(c, b, A, T0 + 1000, &got));
        assert_true(cache_get(c, e, A, T0, &got));
        assert_int_equal(got.a[0], 4);
        /* Put A back: found, and E still. */
        cache_put(c, a, A, &ra, 60, T0);
        assert_true(cache_get(c, a, A, T0, &got));
        assert_true(cache_get(c, e, A, T0, &got));
        cache_put(c, a, A, &ra, 0, T0);
        cache_put(c, e, A, &re, 0, T0);
        assert_int_equal(stats(c).used, 0);
    }
    cache_free(c);
}

static void test_expired_reused(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply r = rep_a(7), got;
    char name[64];
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "old%u.bl.example", i);
        cache_put(c, name, A, &r, 10, T0);
    }
    assert_int_equal(stats(c).used, 16);
    /* All expired, the table full. While fewer than 8 entries (the
     * eviction window) are live, a window always holds an expired one:
     * the first 8 new keys take expired room without an eviction. */
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "new%u.bl.example", i);
        struct reply rn = rep_a(100 + i);
        cache_put(c, name, A, &rn, 10, T0 + 10000);
        assert_true(cache_get(c, name, A, T0 + 10000, &got));
        assert_int_equal(got.a[0], 100 + i);
        if (i < 8)
            assert_int_equal(stats(c).evictions, 0);
    }
    /* Later a window may hold only new entries, and one is evicted: each
     * eviction costs one of them, never more. */
    struct cache_stats s = stats(c);
    assert_int_equal(s.used, 16);
    unsigned present = 0;
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "new%u.bl.example", i);
        if (cache_get(c, name, A, T0 + 10000, &got)) {
            assert_int_equal(got.a[0], 100 + i);
            present++;
        }
        snprintf(name, sizeof(name), "old%u.bl.example", i);
        assert_false(cache_get(c, name, A, T0 + 10000, &got));
    }
    assert_int_equal(present, 16 - s.evictions);
    cache_free(c);

    /* An expired entry in a new key's run is taken in place: a full
     * table of live entries but one, and a key with that one's home. */
    c = new_cache(16);
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "live%u.bl.example", i);
        struct reply rl = rep_a(i);
        cache_put(c, name, A, &rl, i == 5 ? 1 : 3600, T0);
    }
    char n[64];
    name_at(c, cache_test_home(c, "live5.bl.example", A), "n", n, sizeof(n));
    cache_put(c, n, A, &r, 60, T0 + 1000);
    s = stats(c);
    assert_int_equal(s.used, 16);
    assert_int_equal(s.evictions, 0);
    assert_true(cache_get(c, n, A, T0 + 1000, &got));
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "live%u.bl.example", i);
        assert_int_equal(cache_get(c, name, A, T0 + 1000, &got), i != 5);
    }
    cache_free(c);
}

static void test_eviction(void **state)
{
    (void)state;
    struct cache *c = new_cache(16);
    struct reply got;
    char name[64];
    /* Entry i lives 1000 + i seconds: rank by TTL is rank by i. */
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "e%u.bl.example", i);
        struct reply r = rep_a(i);
        cache_put(c, name, A, &r, 1000 + i, T0);
    }
    assert_int_equal(stats(c).used, 16);
    assert_int_equal(stats(c).evictions, 0);

    bool gone[16] = {false};
    for (unsigned round = 0; round < 8; round++) {
        snprintf(name, sizeof(name), "new%u.bl.example", round);
        struct reply r = rep_a(100 + round);
        cache_put(c, name, A, &r, 5000, T0);
        struct cache_stats s = stats(c);
        assert_int_equal(s.used, 16);
        assert_int_equal(s.capacity, 16);
        assert_int_equal(s.evictions, round + 1);
        assert_true(cache_get(c, name, A, T0, &got));
        assert_int_equal(got.a[0], 100 + round);
        /* Exactly one more of the first ones is gone, never a newer,
         * longer-lived one. The window holds 8 entries and the victim
         * expires first among them: at worst the window holds the `round`
         * new ones and the longest-lived old ones, and the victim is the
         * 9th shortest-lived old one left, so at most index 8 + round
         * (8 in the first round: never one of the 7 that live longest). */
        unsigned lost = 0;
        for (unsigned i = 0; i < 16; i++) {
            snprintf(name, sizeof(name), "e%u.bl.example", i);
            bool hit = cache_get(c, name, A, T0, &got);
            if (hit)
                assert_int_equal(got.a[0], i);
            if (!hit && !gone[i]) {
                gone[i] = true;
                assert_true(i < 9 + round);
            }
            lost += gone[i];
        }
        assert_int_equal(lost, round + 1);
        for (unsigned k = 0; k <= round; k++) {
            snprintf(name, sizeof(name), "new%u.bl.example", k);
            assert_true(cache_get(c, name, A, T0, &got));
        }
    }
    cache_free(c);
}

static void test_drop_zone(void **state)
{
    (void)state;
    struct cache *c = new_cache(64);
    struct reply r = rep_a(0x7f000002), got;
    static const char *const under[] = {
        "bl.example",
        "2.0.0.127.bl.example",
        "X.BL.EXAMPLE",
        "a.b.c.bl.example.",
    };
    static const char *const other[] = {
        "notbl.example", "bl.example.com", "example",   "2.0.0.127.other.example",
        "l.example",     "xbl.example",    "b.example", "bl.exampl",
    };
    for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
        cache_put(c, under[i], A, &r, 60, T0);
        cache_put(c, under[i], TXT, &r, 60, T0);
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        cache_put(c, other[i], A, &r, 60, T0);
    assert_int_equal(stats(c).used, 16);

    cache_drop_zone(c, "BL.Example.");
    for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
        assert_false(cache_get(c, under[i], A, T0, &got));
        assert_false(cache_get(c, under[i], TXT, T0, &got));
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        if (!cache_get(c, other[i], A, T0, &got))
            fail_msg("%s dropped with bl.example", other[i]);
    }
    assert_int_equal(stats(c).used, 8);
    /* A zone with nothing cached, and an empty one: no change. */
    cache_drop_zone(c, "zz.example");
    cache_drop_zone(c, "");
    assert_int_equal(stats(c).used, 8);
    cache_drop_zone(c, "example");
    assert_int_equal(stats(c).used, 2);
    assert_true(cache_get(c, "bl.example.com", A, T0, &got));
    assert_true(cache_get(c, "bl.exampl", A, T0, &got));
    cache_free(c);
}

static void test_drop_zone_full_table(void **state)
{
    (void)state;
    /* A full table, runs wrapping around its end: every entry of the
     * zone goes, every other one stays. */
    for (unsigned pass = 0; pass < 20; pass++) {
        struct cache *c = new_cache(16);
        struct reply r = rep_a(1), got;
        char name[64];
        for (unsigned i = 0; i < 16; i++) {
            snprintf(name, sizeof(name), "%u.%s.example", i * 31 + pass,
                     i % 3 == 0 ? "bl" : "other");
            cache_put(c, name, A, &r, 60, T0);
        }
        assert_int_equal(stats(c).used, 16);
        cache_drop_zone(c, "bl.example");
        assert_int_equal(stats(c).used, 10);
        for (unsigned i = 0; i < 16; i++) {
            snprintf(name, sizeof(name), "%u.%s.example", i * 31 + pass,
                     i % 3 == 0 ? "bl" : "other");
            assert_int_equal(cache_get(c, name, A, T0, &got), i % 3 != 0);
        }
        cache_free(c);
    }
}

/* The reference model: a plain array searched from end to end. */
struct model_entry {
    char name[48]; /* lower case */
    uint16_t qtype;
    uint32_t value;
    int64_t expires;
    bool live;
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 16) % n);
}

static const char *const zones[] = {"z0.example",  "z1.example",     "z2.example",
                                    "xz1.example", "z1.example.org", "example"};
#define NZONES (sizeof(zones) / sizeof(zones[0]))

/* Key k's name: the zone apexes first, then names under them. */
static void key_name(unsigned k, char *out, size_t outsz)
{
    if (k < NZONES)
        snprintf(out, outsz, "%s", zones[k]);
    else
        snprintf(out, outsz, "n%u.%s", k, zones[k % NZONES]);
}

static void random_case(char *s)
{
    for (; *s; s++) {
        if (*s >= 'a' && *s <= 'z' && rnd(2))
            *s = (char)(*s - 'a' + 'A');
    }
}

static bool model_in_zone(const char *name, const char *zone)
{
    size_t n = strlen(name), z = strlen(zone);
    if (n == z)
        return strcmp(name, zone) == 0;
    return n > z && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

static struct model_entry *model_find(struct model_entry *m, size_t n, const char *name,
                                      uint16_t qtype)
{
    for (size_t i = 0; i < n; i++) {
        if (m[i].live && m[i].qtype == qtype && strcmp(m[i].name, name) == 0)
            return &m[i];
    }
    return NULL;
}

/* Random puts (some with ttl 0), gets, zone drops and clock steps.
 * With keys <= capacity the cache never has to evict, and every get
 * must agree with the model exactly; with more, a hit must still be
 * exactly the model's answer, and each live entry the cache lost must
 * be paid for by an eviction. */
static void stress(size_t capacity, unsigned nkeys, unsigned ops, uint64_t seed)
{
    rng_state = seed;
    struct cache *c = new_cache(capacity);
    size_t mcap = 2 * nkeys + 1;
    struct model_entry *m = test_calloc(mcap, sizeof(*m));
    assert_non_null(m);
    size_t mn = 0;
    int64_t now = T0;
    uint64_t gets = 0, lost = 0, puts = 0;
    for (unsigned op = 0; op < ops; op++) {
        unsigned k = rnd(nkeys);
        uint16_t qtype = rnd(2) ? A : TXT;
        char canon[48], name[48];
        key_name(k, canon, sizeof(canon));
        memcpy(name, canon, sizeof(name));
        random_case(name);
        struct model_entry *e = model_find(m, mn, canon, qtype);
        if (e && now >= e->expires) {
            e->live = false;
            e = NULL;
        }
        unsigned what = rnd(100);
        if (what < 45) {
            struct reply r = rep_a(op);
            uint32_t ttl = rnd(10) == 0 ? 0 : rnd(30);
            cache_put(c, name, qtype, &r, ttl, now);
            if (ttl == 0) {
                if (e)
                    e->live = false;
                continue;
            }
            puts++;
            if (!e) {
                for (e = m; e < m + mn && e->live; e++)
                    ;
                if (e == m + mn) {
                    assert_true(mn < mcap);
                    mn++;
                }
                memcpy(e->name, canon, sizeof(e->name));
                e->qtype = qtype;
                e->live = true;
            }
            e->value = op;
            e->expires = now + (int64_t)ttl * 1000;
        } else if (what < 90) {
            struct reply got;
            bool hit = cache_get(c, name, qtype, now, &got);
            gets++;
            if (hit) {
                if (!e)
                    fail_msg("op %u: hit for %s/%u, absent in the model (seed %llu)", op, name,
                             qtype, (unsigned long long)seed);
                assert_int_equal(got.na, 1);
                assert_int_equal(got.a[0], e->value);
            } else if (e) {
                if (nkeys * 2 <= capacity)
                    fail_msg("op %u: miss for %s/%u, live in the model (seed %llu)", op, name,
                             qtype, (unsigned long long)seed);
                e->live = false;
                lost++;
            }
        } else if (what < 92) {
            const char *zone = zones[rnd(NZONES)];
            cache_drop_zone(c, zone);
            for (size_t i = 0; i < mn; i++) {
                if (m[i].live && model_in_zone(m[i].name, zone))
                    m[i].live = false;
            }
        } else {
            now += rnd(2000);
        }
        struct cache_stats s = stats(c);
        assert_true(s.used <= capacity);
        assert_true(lost <= s.evictions);
    }
    struct cache_stats s = stats(c);
    assert_int_equal(s.hits + s.misses, gets);
    assert_int_equal(s.stores, puts);
    if (nkeys * 2 <= capacity)
        assert_int_equal(s.evictions, 0);
    else
        assert_true(s.evictions > 0);
    test_free(m);
    cache_free(c);
}

static void test_stress_exact(void **state)
{
    (void)state;
    /* 500 names x 2 types in 1000 entries. */
    stress(1000, 500, 100000, 0x9e3779b97f4a7c15ull);
}

static void test_stress_evicting(void **state)
{
    (void)state;
    stress(64, 400, 100000, 0x2545f4914f6cdd1dull);
    stress(16, 40, 50000, 12345);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_hit_miss),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_case_and_dot),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_ttl_zero),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_delete_in_run),
        cmocka_unit_test(test_expired_reused),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_drop_zone),
        cmocka_unit_test(test_drop_zone_full_table),
        cmocka_unit_test(test_stress_exact),
        cmocka_unit_test(test_stress_evicting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
