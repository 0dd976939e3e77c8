/* Unit tests for the dnset dataset type: exact, wildcard and "dot" entries,
 * exclusions, several values per name, '$' subjects, empty non-terminals
 * and errors for bad lines. */
#include "dstest.h"

/* Load lines as a dnset dataset read from "dn.txt". */
static int load(const char *const *lines, struct dataset **out)
{
    return load_lines(&ds_dnset_ops, "dn.txt", lines, out);
}

static const char *const data[] = {
    ":3:listed $ here",
    "example.com",
    ".wild.org :4:wild $ entry",
    "*.sub.net",
    "!bad.wild.org",
    "!*.ex.wild.org",
    "dup.com :5:one",
    "dup.com :6:two",
    "dup.com :5:one",
    "Mixed.CASE.Org ; a comment, so the default value",
    NULL,
};

static void test_exact_entry(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    lookup(ds, "example.com", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 3);
    assert_true(has_txt(&l.res, "listed $ here"));
    expect_subject(&l.res, "example.com");

    /* Not a wildcard: subdomains are not listed. */
    lookup(ds, "a.example.com", &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);

    /* Case folds on load and on query. */
    lookup(ds, "MIXED.case.org", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 3);
    dataset_unref(ds);
}

static void test_wildcards(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    /* ".wild.org" lists the name itself and every subdomain; '$' stands
     * for the listed entry, as in rbldnsd, not the query. */
    lookup(ds, "wild.org", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 4);
    expect_subject(&l.res, "wild.org");
    lookup(ds, "x.y.wild.org", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 4);
    assert_true(has_txt(&l.res, "wild $ entry"));
    expect_subject(&l.res, "wild.org");

    /* "*.sub.net" lists subdomains only. */
    lookup(ds, "a.sub.net", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 3);
    expect_subject(&l.res, "sub.net");
    lookup(ds, "sub.net", &l);
    assert_int_equal(l.res.nrr, 0);
    dataset_unref(ds);
}

static void test_exclusions(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    /* "!bad.wild.org" removes that name only; its subdomains stay listed
     * through the wildcard, so it remains as an empty non-terminal. */
    lookup(ds, "bad.wild.org", &l);
    assert_int_equal(l.res.nrr, 0);
    assert_true(l.res.exists);
    lookup(ds, "a.bad.wild.org", &l);
    assert_int_equal(a_octet(&l.res, 0), 4);

    /* "!*.ex.wild.org" removes the subdomains, not the name. */
    lookup(ds, "ex.wild.org", &l);
    assert_int_equal(a_octet(&l.res, 0), 4);
    lookup(ds, "q.ex.wild.org", &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "r.q.ex.wild.org", &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_several_values(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* Both values in file order; the repeated line is dropped. */
    lookup(ds, "dup.com", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 5);
    assert_int_equal(a_octet(&l.res, 1), 6);
    assert_int_equal(a_octet(&l.res, 2), -1);
    assert_true(has_txt(&l.res, "one"));
    assert_true(has_txt(&l.res, "two"));
    dataset_unref(ds);
}

static void test_empty_non_terminals(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* Names above listed names exist without records. */
    lookup(ds, "com", &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "net", &l);
    assert_true(l.res.exists);
    lookup(ds, "case.org", &l);
    assert_true(l.res.exists);
    /* Unrelated names do not. */
    lookup(ds, "nothing.example", &l);
    assert_false(l.res.exists);
    lookup(ds, "le.com", &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_rfc5782_entries(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    lookup(ds, "test", &l);
    assert_true(l.res.exists);
    assert_true(l.res.nrr > 0);
    lookup(ds, "invalid", &l);
    assert_int_equal(l.res.nrr, 0);
    dataset_unref(ds);
}

static void test_exclusion_beats_value_on_same_name(void **state)
{
    (void)state;
    static const char *const lines[] = {"spam.example :2", "!spam.example", NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    lookup(ds, "spam.example", &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    assert_int_equal(ds->entries, 2);
    assert_true(ds->mem_bytes > 0);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    static const char *const root[] = {"example.com", ".", NULL};
    static const char *const star[] = {"*.", NULL};
    static const char *const dots[] = {"a..b", NULL};
    static const char *const longlabel[] = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", NULL};
    static const char *const badvalue[] = {"x.com :300", NULL};
    struct dataset *ds = NULL;

    assert_int_equal(load(root, &ds), ERR_INVAL);
    expect_error_part("dn.txt", 2, "invalid domain name");
    assert_int_equal(load(star, &ds), ERR_INVAL);
    expect_error_part("dn.txt", 1, "");
    assert_int_equal(load(dots, &ds), ERR_INVAL);
    assert_int_equal(load(longlabel, &ds), ERR_INVAL);
    assert_true(load(badvalue, &ds) < 0);
    expect_error_part("dn.txt", 1, "");
}

static void test_empty_dataset(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(none, &ds), 0);
    lookup(ds, "example.com", &l);
    assert_false(l.res.exists);
    assert_int_equal(ds->entries, 0);
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_entry),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_several_values),
        cmocka_unit_test(test_empty_non_terminals),
        cmocka_unit_test(test_rfc5782_entries),
        cmocka_unit_test(test_exclusion_beats_value_on_same_name),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_empty_dataset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
