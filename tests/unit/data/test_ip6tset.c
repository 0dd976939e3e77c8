/* Unit tests for the ip6tset dataset type: /64 entries, /128 exclusions,
 * the one shared value, empty non-terminals and errors for bad lines. */
#include "dstest.h"

/* Load lines as an ip6tset dataset read from "six.txt". */
static int load(const char *const *lines, struct dataset **out)
{
    return load_lines(&ds_ip6tset_ops, "six.txt", lines, out);
}

static const char *const data[] = {
    "2001:db8:1:2",
    "abac:adab:ad00:42f # a comment",
    "2001:db8:1:2 :9:per-entry values are ignored",
    ":5:Listed: $",
    ":6:a second value line is ignored",
    "!2001:db8:1:2::5",
    "!abac:adab:ad00:42f:face:f:a:beef",
    NULL,
};

static void test_listed(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    lookup_ip6(ds, "2001:db8:1:2::1", 32, &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 5);
    assert_true(txt_is(&l.res, "Listed: $"));
    expect_subject(&l.res, "2001:db8:1:2::1");

    lookup_ip6(ds, "2001:db8:1:2:ffff:ffff:ffff:ffff", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 5);
    lookup_ip6(ds, "abac:adab:ad00:42f:1::", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 5);

    /* The neighbouring /64s are not listed. */
    lookup_ip6(ds, "2001:db8:1:3::1", 32, &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup_ip6(ds, "2001:db8:1:1:ffff:ffff:ffff:ffff", 32, &l);
    assert_false(l.res.exists);
    assert_int_equal(ds->entries, 4);
    dataset_unref(ds);
}

static void test_exclusions(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    lookup_ip6(ds, "2001:db8:1:2::5", 32, &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup_ip6(ds, "2001:db8:1:2::4", 32, &l);
    assert_true(l.res.exists);
    lookup_ip6(ds, "abac:adab:ad00:42f:face:f:a:beef", 32, &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_partial_names(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* Above a listed /64 the names exist, empty. */
    lookup_ip6(ds, "2001:db8:1:2::", 1, &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup_ip6(ds, "2001:db8:1:2::", 16, &l);
    assert_true(l.res.exists);
    lookup_ip6(ds, "2001:db8:1:3::", 16, &l);
    assert_false(l.res.exists);
    lookup_ip6(ds, "2001:db9::", 8, &l);
    assert_false(l.res.exists);
    /* Inside a /64 too, down to 31 nibbles. */
    lookup_ip6(ds, "2001:db8:1:2:aaaa::", 20, &l);
    assert_true(l.res.exists);
    lookup_ip6(ds, "2001:db8:1:2::5", 31, &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    dataset_unref(ds);
}

static void test_whole_subtree_excluded(void **state)
{
    (void)state;
    char lines[20][64];
    const char *ptrs[20];
    unsigned n = 0;
    snprintf(lines[n], sizeof(lines[n]), "2001:db8:1:2");
    ptrs[n] = lines[n];
    n++;
    for (unsigned i = 0; i < 16; i++, n++) {
        snprintf(lines[n], sizeof(lines[n]), "!2001:db8:1:2::%x", 0x10 + i);
        ptrs[n] = lines[n];
    }
    ptrs[n] = NULL;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(ptrs, &ds), 0);
    /* All 16 addresses under 2001:db8:1:2::1x are excluded... */
    lookup_ip6(ds, "2001:db8:1:2::10", 31, &l);
    assert_false(l.res.exists);
    /* ...but not those under ::2x. */
    lookup_ip6(ds, "2001:db8:1:2::20", 31, &l);
    assert_true(l.res.exists);
    dataset_unref(ds);
}

static void test_default_value_and_test_entry(void **state)
{
    (void)state;
    static const char *const lines[] = {"2001:db8:1:2", NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    lookup_ip6(ds, "2001:db8:1:2::1", 32, &l);
    assert_int_equal(a_octet(&l.res, 0), 2);
    assert_null(find_rr(&l.res, DNS_TYPE_TXT, 0));
    assert_int_equal(l.res.rr[0].ttl, 2100);
    /* RFC 5782 test addresses, answered by every IPv6 dataset. */
    lookup_ip6(ds, "::ffff:7f00:2", 32, &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 2);
    lookup_ip6(ds, "::ffff:7f00:1", 32, &l);
    assert_int_equal(l.res.nrr, 0);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    static const char *const short_entry[] = {"2001:db8:1", NULL};
    static const char *const full_entry[] = {"# ok", "2001:db8:1:2::1", NULL};
    static const char *const short_excl[] = {"!2001:db8:1:2", NULL};
    static const char *const garbage[] = {"2001:db8:1:2x", NULL};
    static const char *const bad_group[] = {"12345:db8:1:2", NULL};
    static const char *const bad_value[] = {":999:x", NULL};
    struct dataset *ds;

    assert_int_equal(load(short_entry, &ds), ERR_INVAL);
    expect_error_part("six.txt", 1, "/64");
    assert_int_equal(load(full_entry, &ds), ERR_INVAL);
    expect_error_part("six.txt", 2, "");
    assert_int_equal(load(short_excl, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "128"));
    assert_int_equal(load(garbage, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "invalid IPv6 address"));
    assert_int_equal(load(bad_group, &ds), ERR_INVAL);
    assert_true(load(bad_value, &ds) < 0);
    expect_error_part("six.txt", 1, "");
}

static void test_min_prefix_limit(void **state)
{
    (void)state;
    static const char *const lines[] = {"2001:db8:1:2", NULL};
    struct dataset *ds;
    ctx.limits.min_prefix6 = 96;
    assert_int_equal(load(lines, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "minimum prefix"));
    ctx.limits.allow_world = true;
    assert_int_equal(load(lines, &ds), 0);
    dataset_unref(ds);
    ctx.limits.allow_world = false;
    ctx.limits.min_prefix6 = 8;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed),
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_partial_names),
        cmocka_unit_test(test_whole_subtree_excluded),
        cmocka_unit_test(test_default_value_and_test_entry),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_min_prefix_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
