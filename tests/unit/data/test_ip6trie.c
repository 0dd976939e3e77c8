/* Unit tests for the ip6trie dataset type: CIDR ranges with values,
 * longest prefix wins, exclusions, "::" addresses versus value lines,
 * empty non-terminals and errors for bad lines. */
#include "dstest.h"

/* Load lines as an ip6trie dataset read from "trie6.txt". */
static int load(const char *const *lines, struct dataset **out)
{
    return load_lines(&ds_ip6trie_ops, "trie6.txt", lines, out);
}

static const char *const data[] = {
    ":127.0.1.2: Listed, see http://example.com/lookup?$",
    "2001:21ab:c000/36",
    "2001:21ab:def7:4242 :127.0.1.3: This one smells funny",
    "2605:6001:42::/52",
    "2605:6001:42:f00::/56 :7:inner",
    "::1\t\t# localhost",
    "!2605:6001:42::bead   # exclusion",
    NULL,
};

static void test_values_and_longest_prefix(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    lookup_ip6(ds, "2001:21ab:c000::1", 32, &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 2);
    assert_true(has_txt(&l.res, "Listed, see http://example.com/lookup?$"));
    lookup_ip6(ds, "2001:21ab:cfff:ffff::", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 2);
    lookup_ip6(ds, "2001:21ab:d000::", 32, &l);
    assert_false(l.res.exists);

    lookup_ip6(ds, "2001:21ab:def7:4242:1:2:3:4", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 3);
    assert_true(has_txt(&l.res, "This one smells funny"));

    /* The /56 inside the /52 wins for its addresses. */
    lookup_ip6(ds, "2605:6001:42:f00::9", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 7);
    assert_true(has_txt(&l.res, "inner"));
    lookup_ip6(ds, "2605:6001:42:e00::9", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 2);

    /* "::1" is an address, not a value line. */
    lookup_ip6(ds, "::1", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 2);
    expect_subject(&l.res, "::1");
    assert_int_equal(ds->entries, 6);
    dataset_unref(ds);
}

static void test_exclusion(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    lookup_ip6(ds, "2605:6001:42::bead", 32, &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup_ip6(ds, "2605:6001:42::beae", 32, &l);
    assert_true(l.res.exists);
    dataset_unref(ds);
}

static void test_partial_names(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* Above a listed range. */
    lookup_ip6(ds, "2001:21ab::", 4, &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup_ip6(ds, "2001:21ab:def7::", 12, &l);
    assert_true(l.res.exists);
    /* Inside a listed range. */
    lookup_ip6(ds, "2001:21ab:c000:1234::", 20, &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    /* Nowhere near. */
    lookup_ip6(ds, "3000::", 4, &l);
    assert_false(l.res.exists);
    lookup_ip6(ds, "2001:21ab:d000::", 12, &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

/* The default is expanded where an entry uses it, so a $n set after the
 * default line counts (checked against rbldnsd), as in every type. */
static void test_default_expanded_per_entry(void **state)
{
    (void)state;
    static const char *const lines[] = {":3:foo $1 bar", "$1 VAR", "2001:db8::/32", NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    lookup_ip6(ds, "2001:db8::1", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 3);
    assert_true(txt_is(&l.res, "foo VAR bar"));
    dataset_unref(ds);
}

static void test_duplicate_keeps_first(void **state)
{
    (void)state;
    static const char *const lines[] = {"2001:db8::/32 :3", "2001:db8::/32 :4", NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    lookup_ip6(ds, "2001:db8::1", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 3);
    assert_int_equal(ds->entries, 1);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    static const char *const host_bits[] = {"2001:db8::1/32", NULL};
    static const char *const bare[] = {"# x", "", "2001", NULL};
    static const char *const too_long[] = {"2001:db8::/129", NULL};
    static const char *const two_gaps[] = {"2001::1::2", NULL};
    static const char *const bad_default[] = {":x:y", NULL};
    static const char *const garbage[] = {"2001:db8::/32x", NULL};
    struct dataset *ds;

    assert_int_equal(load(host_bits, &ds), ERR_INVAL);
    expect_error_part("trie6.txt", 1, "host part");
    assert_int_equal(load(bare, &ds), ERR_INVAL);
    expect_error_part("trie6.txt", 3, "");
    assert_int_equal(load(too_long, &ds), ERR_INVAL);
    assert_int_equal(load(two_gaps, &ds), ERR_INVAL);
    assert_true(load(bad_default, &ds) < 0);
    expect_error_part("trie6.txt", 1, "");
    assert_int_equal(load(garbage, &ds), ERR_INVAL);
}

static void test_min_prefix_limit(void **state)
{
    (void)state;
    static const char *const world[] = {"::/0", NULL};
    static const char *const excl[] = {"2001:db8::/32", "!::/1", NULL};
    struct dataset *ds;
    assert_int_equal(load(world, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "minimum prefix"));
    /* Exclusions list nothing, so they may be as wide as they like. */
    assert_int_equal(load(excl, &ds), 0);
    dataset_unref(ds);
    ctx.limits.allow_world = true;
    assert_int_equal(load(world, &ds), 0);
    dataset_unref(ds);
    ctx.limits.allow_world = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_longest_prefix),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_partial_names),
        cmocka_unit_test(test_default_expanded_per_entry),
        cmocka_unit_test(test_duplicate_keeps_first),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_min_prefix_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
