/* Unit tests for the combined dataset type: $DATASET sections, routing to
 * subzones, per-section $TTL and $n, $SOA/$NS on the base zone, test
 * entries per sub-dataset, subjects, and errors for bad lines. */
#include "dstest.h"

/* Load lines as a combined dataset read from "comb.txt". */
static int load(const char *const *lines, struct dataset **out)
{
    return load_lines(&ds_combined_ops, "comb.txt", lines, out);
}

/* The example of rbldnsd(8), with $TTL and $1 inside sections. */
static const char *const data[] = {
    "# common section",
    "$NS 1w ns1.ex.com ns2.ex.com",
    "$TTL 100",
    "$1 common",
    "$DATASET ip4set:proxy proxies @",
    ":2:Open proxy $1, see http://bl.ex.com/proxy/$",
    "127.0.0.10",
    "$DATASET ip4set:relay relays @ # a comment",
    "$TTL 200",
    "$1 relayvar",
    "$SOA 1w ns1.ex.com admin.ex.com 0 2h 2h 1w 1h",
    ":3:Open relay $1 $",
    "127.0.2.10",
    "$DATASET dnset:names names.sub",
    "example.com :5:name $",
    "$DATASET ip6tset v6",
    "2001:db8:1:2",
    "$DATASET generic:common proxies relays multihop @",
    "@ A 127.0.0.8",
    "www A 127.0.0.8",
    "@ MX 10 mx.ex.com",
    NULL,
};

static void test_routing(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    /* The proxy list answers in "proxies" and at the base. */
    lookup(ds, "10.0.0.127.proxies", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 2);
    assert_true(txt_is(&l.res, "Open proxy common, see http://bl.ex.com/proxy/$"));
    expect_subject(&l.res, "127.0.0.10");
    lookup(ds, "10.0.0.127", &l);
    assert_int_equal(a_octet(&l.res, 0), 2);
    expect_subject(&l.res, "127.0.0.10");

    /* The relay list answers in "relays" and at the base, not "proxies". */
    lookup(ds, "10.2.0.127.relays", &l);
    assert_int_equal(a_octet(&l.res, 0), 3);
    lookup(ds, "10.2.0.127", &l);
    assert_int_equal(a_octet(&l.res, 0), 3);
    lookup(ds, "10.2.0.127.proxies", &l);
    assert_false(l.res.exists);
    lookup(ds, "10.0.0.127.relays", &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);

    /* A subzone of two labels, holding a dnset; '$' is the entry. */
    lookup(ds, "example.com.names.sub", &l);
    assert_int_equal(a_octet(&l.res, 0), 5);
    expect_subject(&l.res, "example.com");
    lookup(ds, "www.example.com.names.sub", &l);
    assert_false(l.res.exists);

    /* generic records in every subzone it names. */
    lookup(ds, "www.multihop", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 8);
    lookup(ds, "@", &l);
    assert_non_null(find_rr(&l.res, DNS_TYPE_MX, 0));
    assert_non_null(find_rr(&l.res, DNS_TYPE_A, 0));

    /* IPv6 in its subzone. */
    {
        static const char v6[] =
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6";
        lookup(ds, v6, &l);
        assert_true(l.res.exists);
        assert_int_equal(a_octet(&l.res, 0), 2);
    }
    assert_int_equal(ds->entries, 2 + 1 + 3 + 1);
    dataset_unref(ds);
}

static void test_ttl_vars_soa_ns(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* $TTL in a section stays there; the common one reaches the rest. */
    lookup(ds, "10.2.0.127.relays", &l);
    assert_int_equal(find_rr(&l.res, DNS_TYPE_A, 0)->ttl, 200);
    /* $1 set in the common part wins over the section's own. */
    assert_true(txt_is(&l.res, "Open relay common $"));
    lookup(ds, "10.0.0.127.proxies", &l);
    assert_int_equal(find_rr(&l.res, DNS_TYPE_A, 0)->ttl, 100);
    lookup(ds, "www", &l);
    assert_int_equal(find_rr(&l.res, DNS_TYPE_A, 0)->ttl, 100);
    assert_int_equal(ds->ttl, 100);
    /* $SOA and $NS belong to the base zone wherever they stand. */
    assert_true(ds->soa.present);
    assert_int_equal(ds->soa.minimum, 3600);
    assert_int_equal(ds->ns.count, 2);
    dataset_unref(ds);
}

static void test_names_that_exist(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* A subzone's own name exists even without records of its own. */
    lookup(ds, "names.sub", &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    /* Above a subzone: an empty non-terminal. */
    lookup(ds, "sub", &l);
    assert_true(l.res.exists);
    lookup(ds, "nothing.sub", &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_test_entries_per_dataset(void **state)
{
    (void)state;
    static const char *const lines[] = {"$DATASET ip4set only", "127.0.0.10", NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    lookup(ds, "2.0.0.127.only", &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res, 0), 2);
    lookup(ds, "1.0.0.127.only", &l);
    assert_int_equal(l.res.nrr, 0);
    /* No dataset at the base: nothing answers there. */
    lookup(ds, "2.0.0.127", &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *lines[4];
        const char *why;
        unsigned line;
    } cases[] = {
        {{"127.0.0.2", NULL}, "outside a dataset", 1},
        {{":2:x", NULL}, "outside a dataset", 1},
        {{"$DATASET nosuch x", NULL}, "unknown dataset type", 1},
        {{"$DATASET combined x", NULL}, "cannot be used inside combined", 1},
        {{"$DATASET acl x", NULL}, "cannot be used inside combined", 1},
        {{"$DATASET", NULL}, "needs a dataset type", 1},
        {{"$DATASET ip4set a..b", NULL}, "invalid subzone", 1},
        {{"$FOO bar", NULL}, "unknown directive", 1},
        {{"$DATASET dnset x", "ok.example", "bad..name", NULL}, "invalid domain name", 3},
    };
    struct dataset *ds;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(load(cases[i].lines, &ds), ERR_INVAL);
        expect_error_part("comb.txt", cases[i].line, cases[i].why);
    }
}

/* The real reading path: files, the section running on into the next one. */
static void test_load_files(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(dataset_load("combined:tests/unit/data/files6/combined.txt,"
                                  "tests/unit/data/files6/combined2.txt",
                                  &ctx, &ds, errbuf, sizeof(errbuf)),
                     0);
    lookup(ds, "10.0.0.127", &l);
    assert_int_equal(a_octet(&l.res, 0), 2);
    lookup(ds, "www.spam.example.rhs", &l);
    assert_int_equal(a_octet(&l.res, 0), 4);
    expect_subject(&l.res, "spam.example");
    lookup(ds, "spam2.example.rhs", &l);
    assert_int_equal(a_octet(&l.res, 0), 5);
    lookup(ds, "8.b.d.0.1.0.0.2.six", &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "proxies", &l);
    assert_int_equal(a_octet(&l.res, 0), 8);
    assert_int_equal(find_rr(&l.res, DNS_TYPE_A, 0)->ttl, 2100);
    assert_true(ds->soa.present);
    assert_int_equal(ds->ns.count, 2);
    dataset_unref(ds);

    assert_int_equal(dataset_load("combined:tests/unit/data/files6/combined2.txt", &ctx, &ds,
                                  errbuf, sizeof(errbuf)),
                     ERR_INVAL);
    expect_error_part("combined2.txt", 2, "outside a dataset");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),          cmocka_unit_test(test_ttl_vars_soa_ns),
        cmocka_unit_test(test_names_that_exist), cmocka_unit_test(test_test_entries_per_dataset),
        cmocka_unit_test(test_bad_lines),        cmocka_unit_test(test_load_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
