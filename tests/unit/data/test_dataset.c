/* Unit tests for the dataset life cycle: specs, loading several files,
 * change detection, reference counting, and the RFC 5782 query wrapper. */
#include "dstest.h"

#include <unistd.h>
#include <utime.h>

static void test_types(void **state)
{
    (void)state;
    const char *names[] = {"ip4set", "ip4tset", "ip4trie",  "ip6tset", "ip6trie",
                           "dnset",  "generic", "combined", "acl"};
    size_t n = 0;
    while (dataset_types[n])
        n++;
    assert_int_equal(n, 9);
    for (size_t i = 0; i < 9; i++) {
        const struct dataset_ops *ops = dataset_type(names[i]);
        assert_non_null(ops);
        assert_string_equal(ops->name, names[i]);
    }
    assert_null(dataset_type("ip4vset"));
    assert_null(dataset_type(""));
}

static void test_spec_errors(void **state)
{
    (void)state;
    struct dataset *ds = (struct dataset *)1;
    assert_int_equal(dataset_load("nosuchtype:/x", &ctx, &ds, errbuf, sizeof(errbuf)), ERR_INVAL);
    assert_null(ds);
    assert_string_equal(errbuf, "nosuchtype:/x: unknown dataset type 'nosuchtype'");
    assert_int_equal(dataset_load("ip4set", &ctx, &ds, errbuf, sizeof(errbuf)), ERR_INVAL);
    assert_string_equal(errbuf, "ip4set: expected type:file[,file...]");
    assert_int_equal(dataset_load("ip4set:", &ctx, &ds, errbuf, sizeof(errbuf)), ERR_INVAL);
    char spec[200], want[256];
    const char *a = write_file("a.txt", "1.2.3.4\n");
    snprintf(spec, sizeof(spec), "ip4set:%s,,%s", a, a);
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), ERR_INVAL);
    snprintf(want, sizeof(want), "%s: empty file name", spec);
    assert_string_equal(errbuf, want);
    snprintf(spec, sizeof(spec), "ip4set:%s/missing.txt", tmpdir);
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), ERR_IO);
    snprintf(want, sizeof(want), "%s/missing.txt: cannot stat: No such file or directory", tmpdir);
    assert_string_equal(errbuf, want);
}

static void test_several_files(void **state)
{
    (void)state;
    char spec[300];
    /* The default value is per file; $SOA from the first file wins. */
    const char *a = write_file("a.txt", "$SOA 0 ns.ex.com hm.ex.com 0 1h 1h 1d 1h\n"
                                        "$TTL 300\n:3:first\n1.1.1.1\n");
    const char *b = write_file("b.txt", "$SOA 60 other.ex.com x.ex.com 9 1 1 1 1\n2.2.2.2\n");
    snprintf(spec, sizeof(spec), "ip4set:%s,%s", a, b);
    struct dataset *ds;
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    assert_string_equal(ds->spec, spec);
    assert_int_equal(ds->nfiles, 2);
    assert_int_equal(ds->ttl, 300);
    assert_true(ds->soa.present);
    assert_int_equal(ds->soa.serial, 0);
    assert_int_equal(ds->soa.ttl, 300); /* zero TTL = the dataset's */
    const struct ds_result *r = ask(ds, "1.1.1.1");
    assert_int_equal(r->nrr, 2);
    assert_int_equal(r->rr[0].ttl, 300);
    r = ask(ds, "2.2.2.2");
    assert_int_equal(r->nrr, 1); /* b.txt has no default TXT */
    assert_true(ds->timestamp > 0);
    assert_int_equal(ds->entries, 2);
    dataset_unref(ds);
}

static void test_files_share_variables_not_defaults(void **state)
{
    (void)state;
    char spec[300];
    /* $n, $= and $MAXRANGE4 hold for the whole dataset, as in rbldnsd; the
     * ":" default ends with its file. */
    const char *a = write_file("a.txt", "$1 one\n$= <$=> $1\n$MAXRANGE4 /24\n:3:dflt\n1.1.1.1\n");
    const char *b = write_file("b.txt", "2.2.2.2 own\n3.3.3.3\n4.4.0.0/16\n");
    snprintf(spec, sizeof(spec), "ip4set:%s,%s", a, b);
    struct dataset *ds;
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    const struct ds_result *r = ask(ds, "1.1.1.1");
    assert_int_equal(r->nrr, 2);
    assert_memory_equal(r->rr[1].rdata, "<dflt> one", r->rr[1].rdlen);
    r = ask(ds, "2.2.2.2");
    assert_memory_equal(r->rr[0].rdata, "\x7f\0\0\x02", 4);
    assert_int_equal(r->rr[1].rdlen, strlen("<own> one"));
    assert_memory_equal(r->rr[1].rdata, "<own> one", r->rr[1].rdlen);
    r = ask(ds, "3.3.3.3");
    assert_memory_equal(r->rr[1].rdata, "<$> one", r->rr[1].rdlen);
    assert_false(ask(ds, "1.1.4.4")->exists); /* over $MAXRANGE4: skipped */
    dataset_unref(ds);
}

static void test_error_names_file_and_line(void **state)
{
    (void)state;
    char spec[300];
    const char *a = write_file("a.txt", "1.1.1.1\n");
    const char *b = write_file("b.txt", "2.2.2.2\n# x\nnot-an-address\n");
    snprintf(spec, sizeof(spec), "ip4trie:%s,%s", a, b);
    struct dataset *ds;
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), ERR_INVAL);
    expect_error(b, 3, "invalid IPv4 address");
}

static void test_changed(void **state)
{
    (void)state;
    char spec[200];
    const char *a = write_file("a.txt", "1.1.1.1\n");
    snprintf(spec, sizeof(spec), "ip4tset:%s", a);
    struct dataset *ds;
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    assert_false(dataset_changed(ds));
    /* A new mtime alone counts. */
    struct utimbuf ut = {.actime = 1000000000, .modtime = 1000000000};
    assert_int_equal(utime(a, &ut), 0);
    assert_true(dataset_changed(ds));
    dataset_unref(ds);

    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(ds->timestamp, 1000000000);
    /* Same mtime, other size. */
    write_file("a.txt", "1.1.1.1\n2.2.2.2\n");
    assert_int_equal(utime(a, &ut), 0);
    assert_true(dataset_changed(ds));
    dataset_unref(ds);

    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    assert_false(dataset_changed(ds));
    /* Replaced by rename: same size and mtime, other inode. */
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s/new", tmpdir);
    write_file("new", "1.1.1.1\n3.3.3.3\n");
    assert_int_equal(utime(tmp, &ut), 0);
    assert_int_equal(rename(tmp, a), 0);
    assert_true(dataset_changed(ds));
    dataset_unref(ds);

    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    unlink(a);
    assert_true(dataset_changed(ds));
    dataset_unref(ds);
}

static void test_refcount(void **state)
{
    (void)state;
    char spec[200];
    snprintf(spec, sizeof(spec), "ip4set:%s", write_file("a.txt", "1.1.1.1\n"));
    struct dataset *ds;
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(atomic_load(&ds->refs), 1);
    dataset_ref(ds);
    assert_int_equal(atomic_load(&ds->refs), 2);
    dataset_unref(ds);
    assert_true(ask(ds, "1.1.1.1")->exists); /* still alive */
    dataset_unref(ds);                       /* freed: ASan would catch misuse */
    dataset_unref(NULL);
}

static void test_create_and_finish(void **state)
{
    (void)state;
    struct dataset *ds;
    assert_int_equal(dataset_create(&ds_ip4tset_ops, &ctx, &ds), 0);
    assert_int_equal(ds->ttl, 2100);
    assert_int_equal(dataset_finish(ds, errbuf, sizeof(errbuf)), 0);
    assert_false(ask(ds, "1.1.1.1")->exists);
    assert_true(ask(ds, "2.0.0.127")->exists);
    dataset_unref(ds);
}

static void test_timestamp_directive(void **state)
{
    (void)state;
    char spec[200];
    const char *a = write_file("a.txt", "$TIMESTAMP 2021:06:01:12:00 0\n1.1.1.1\n");
    snprintf(spec, sizeof(spec), "ip4set:%s", a);
    struct dataset *ds;
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(ds->timestamp, 1622548800);
    assert_int_equal(ds->expires, 0);
    dataset_unref(ds);
    a = write_file("a.txt", "1.1.1.1\n$TIMESTAMP 2021:06:01 +1d\n");
    assert_int_equal(dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)), ERR_INVAL);
    expect_error(a, 2, "data expired (by $TIMESTAMP) at 2021-06-02 00:00:00 UTC");
}

static void test_result_helpers(void **state)
{
    (void)state;
    struct ds_result r;
    ds_result_reset(&r);
    assert_false(r.exists);
    assert_null(r.subject);
    assert_int_equal(r.nrr, 0);
    assert_int_equal(r.acl, DS_ACL_NONE);
    for (unsigned i = 0; i < DS_MAX_RR; i++)
        assert_int_equal(ds_result_add(&r, DNS_TYPE_A, 1, "\x7f\0\0\2", 4), 0);
    assert_int_equal(ds_result_add(&r, DNS_TYPE_A, 1, "\x7f\0\0\2", 4), ERR_SPACE);
    assert_int_equal(r.nrr, DS_MAX_RR);
}

/* A fake name-family type, to check the TEST / INVALID entries. */
static int name_query(const struct dataset *ds, const struct ds_query *qq, struct ds_result *r)
{
    (void)ds;
    (void)qq;
    r->exists = true; /* "lists" every name */
    return ds_result_add(r, DNS_TYPE_A, 1, "\x7f\0\0\x09", 4);
}

static const struct dataset_ops name_ops = {
    .name = "fake-names",
    .family = DS_FAM_NAME,
    .query = name_query,
};

static void test_name_family_test_entries(void **state)
{
    (void)state;
    struct dataset *ds;
    assert_int_equal(dataset_create(&name_ops, &ctx, &ds), 0);
    const struct ds_result *r = ask(ds, "invalid");
    assert_false(r->exists);
    assert_int_equal(r->nrr, 0);
    r = ask(ds, "test");
    assert_true(r->exists);
    assert_int_equal(r->nrr, 1); /* the data's own answer */
    r = ask(ds, "spam.example");
    assert_true(r->exists);
    assert_string_equal(r->subject, "spam.example");
    /* "2.0.0.127" is just a name to a name family. */
    r = ask(ds, "1.0.0.127");
    assert_true(r->exists);
    dataset_unref(ds);
}

/* A fake type that lists nothing, answering IPv6 names. */
static const struct dataset_ops ip6_ops = {
    .name = "fake-ip6",
    .family = DS_FAM_IP6,
};

static void test_ip6_family_test_entries(void **state)
{
    (void)state;
    struct dataset *ds;
    assert_int_equal(dataset_create(&ip6_ops, &ctx, &ds), 0);
    const char *t2 = "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0";
    const char *t1 = "1.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0";
    const struct ds_result *r = ask(ds, t2);
    assert_true(r->exists);
    assert_int_equal(r->nrr, 2);
    assert_string_equal(r->subject, "::ffff:127.0.0.2");
    assert_false(ask(ds, t1)->exists);
    /* Names above the test entry exist. */
    assert_true(ask(ds, t2 + 2)->exists);
    assert_true(ask(ds, t2 + 40)->exists);
    assert_true(ask(ds, "0")->exists);
    assert_false(ask(ds, "1")->exists);
    assert_false(ask(ds, "1.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0")->exists);
    /* IPv4 test names mean nothing to an IPv6-only type. */
    assert_false(ask(ds, "2.0.0.127")->exists);
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test_setup_teardown(test_spec_errors, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_several_files, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_files_share_variables_not_defaults, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_error_names_file_and_line, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_changed, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_refcount, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_create_and_finish),
        cmocka_unit_test_setup_teardown(test_timestamp_directive, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_result_helpers),
        cmocka_unit_test(test_name_family_test_entries),
        cmocka_unit_test(test_ip6_family_test_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
