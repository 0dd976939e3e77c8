/* Unit tests for the ip4trie dataset type (CIDR, longest prefix match). */
#include "dstest.h"

/* Load text as an ip4trie dataset, from `path`. */
static struct dataset *load(const char *text)
{
    return load_text("ip4trie", text);
}

static int load_error(const char *text)
{
    return load_text_error("ip4trie", text);
}

static void test_longest_prefix(void **state)
{
    (void)state;
    struct dataset *ds = load(":2:default $\n"
                              "10.0.0.0/8 :3:eight\n"
                              "10.1.0.0/16 :4:sixteen\n"
                              "10.1.0.0/17 :5:seventeen\n"
                              "10.1.2.3\n"
                              "!10.1.2.4\n"
                              "10.1.2.4/30 :6:\n");
    const struct ds_result *r = ask(ds, "1.1.2.10");
    assert_int_equal(r->nrr, 2);
    expect_a(r, 0, 3);
    expect_txt(r, 1, "eight");
    r = ask(ds, "1.200.1.10");
    expect_a(r, 0, 4);
    r = ask(ds, "1.1.1.10"); /* /17 beats /16 */
    expect_a(r, 0, 5);
    expect_txt(r, 1, "seventeen");
    r = ask(ds, "3.2.1.10");
    expect_a(r, 0, 2);
    expect_txt(r, 1, "default $");
    assert_string_equal(r->subject, "10.1.2.3");
    assert_false(ask(ds, "4.2.1.10")->exists); /* exclusion, longest */
    r = ask(ds, "5.2.1.10");                   /* the /30 around it */
    assert_int_equal(r->nrr, 1);
    expect_a(r, 0, 6);
    assert_false(ask(ds, "1.1.1.11")->exists);
    /* 2^24 minus the one excluded address. */
    assert_int_equal(ds->ip4_total, (1u << 24) - 1);
    assert_int_equal(ds->entries, 6);
    dataset_unref(ds);
}

static void test_exclusion_nesting(void **state)
{
    (void)state;
    /* A listed block inside an excluded one inside a listed one. */
    struct dataset *ds = load("20.0.0.0/8\n!20.1.0.0/16\n20.1.1.0/24 :7\n");
    assert_true(ask(ds, "1.1.2.20")->exists);
    assert_false(ask(ds, "1.2.1.20")->exists);
    const struct ds_result *r = ask(ds, "1.1.1.20");
    expect_a(r, 0, 7);
    assert_int_equal(ds->ip4_total, (1u << 24) - (1u << 16) + 256);
    /* Partial names: inside the exclusion only the /24 exists. */
    assert_true(ask(ds, "1.1.20")->exists);
    assert_false(ask(ds, "2.1.20")->exists);
    assert_true(ask(ds, "1.20")->exists);
    assert_true(ask(ds, "2.20")->exists);
    assert_true(ask(ds, "20")->exists);
    assert_false(ask(ds, "21")->exists);
    assert_int_equal(ask(ds, "20")->nrr, 0);
    dataset_unref(ds);
}

static void test_duplicate_keeps_first(void **state)
{
    (void)state;
    struct dataset *ds = load("1.2.3.0/24 :3\n1.2.3.0/24 :4\n");
    expect_a(ask(ds, "9.3.2.1"), 0, 3);
    assert_int_equal(ds->entries, 1);
    dataset_unref(ds);
}

static void test_test_entries(void **state)
{
    (void)state;
    struct dataset *ds = load("127.0.0.0/8 :9\n");
    assert_false(ask(ds, "1.0.0.127")->exists);
    expect_a(ask(ds, "2.0.0.127"), 0, 9);
    dataset_unref(ds);
    ds = load("1.2.3.4\n");
    const struct ds_result *r = ask(ds, "2.0.0.127");
    assert_true(r->exists);
    expect_a(r, 0, 2);
    assert_true(ask(ds, "0.0.127")->exists);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    load_error("1.2.3.4-1.2.3.9\n");
    expect_error(path, 1, "IPv4 ranges are not accepted here, only CIDR blocks");
    load_error("1.2.3.0/24\n1.2.3.4/24\n");
    expect_error(path, 2, "IPv4 prefix has host bits set");
    assert_int_equal(load_error("10.0.0.0/7\n"), ERR_INVAL);
    expect_error(path, 1, "entry shorter than /8 refused");
}

static void test_allow_hostbits(void **state)
{
    (void)state;
    /* rbldnsd -e: 1.2.3.4/24 means 1.2.3.0/24. */
    ctx.allow_hostbits = true;
    struct dataset *ds = load("1.2.3.4/24 :5\n");
    ctx.allow_hostbits = false;
    expect_a(ask(ds, "9.3.2.1"), 0, 5);
    assert_false(ask(ds, "9.4.2.1")->exists);
    dataset_unref(ds);
}

static void test_world(void **state)
{
    (void)state;
    ctx.limits.allow_world = true;
    struct dataset *ds = load("0.0.0.0/0\n!10.0.0.0/8\n");
    assert_int_equal(ds->ip4_total, (1ull << 32) - (1u << 24));
    assert_true(ask(ds, "1.1.1.1")->exists);
    assert_false(ask(ds, "1.1.1.10")->exists);
    dataset_unref(ds);
    ctx.limits.allow_world = false;
    ctx.limits.max_ip4_total = 1u << 16;
    assert_int_equal(load_error("10.0.0.0/15\n"), ERR_LIMIT);
    assert_non_null(strstr(errbuf, "lists 131072 IPv4 addresses, more than the limit of 65536"));
}

static void test_maxrange_skips(void **state)
{
    (void)state;
    struct dataset *ds = load("$MAXRANGE4 256\n10.0.0.0/16\n10.1.1.0/24\n");
    assert_false(ask(ds, "1.0.0.10")->exists);
    assert_true(ask(ds, "1.1.1.10")->exists);
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_longest_prefix, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_exclusion_nesting, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_duplicate_keeps_first, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_test_entries, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_bad_lines, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_allow_hostbits, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_world, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_maxrange_skips, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
