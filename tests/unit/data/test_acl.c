/* Unit tests for the acl dataset type: IPv4 and IPv6 client networks,
 * each action, default actions and values, longest prefix, '$' as the
 * client, and errors for bad lines. */
#include "dstest.h"

#include <sys/socket.h>

/* Load lines as an acl dataset read from "acl.txt". */
static int load(const char *const *lines, struct dataset **out)
{
    return load_lines(&ds_acl_ops, "acl.txt", lines, out);
}

/* Ask about 2.0.0.127 from the given client address. */
static void from(const struct dataset *ds, const char *client, struct lookup *l)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(client, ':')) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, client, &sin6->sin6_addr), 1);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, client, &sin->sin_addr), 1);
    }
    memcpy(l->wire, "\0012\0010\0010\003127", 10);
    ds_query_init(&l->q, l->wire, 10);
    ds_query_set_client(&l->q, &ss);
    run_query(ds, l);
}

static const char *const data[] = {
    "10.0.0.0/8",
    "10.1.0.0/16 :pass",
    "10.2.0.0/16 :refuse",
    "10.3.0.0/16 =empty",
    "10.4.0.0/16 :5:Listed for you, $",
    "192.168.1.1 :BLACKHOLE # comment",
    ":refuse",
    "172.16/12",
    ":127.0.0.9:default listed $",
    "172.17.0.0/16",
    "2001:db8::/32 :empty",
    "2001:db8:1::/48",
    "::1 :pass",
    NULL,
};

static void test_ipv4_actions(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);

    /* rbldnsd's default action is ignore. */
    from(ds, "10.9.9.9", &l);
    assert_int_equal(l.res.acl, DS_ACL_IGNORE);
    assert_int_equal(l.res.nrr, 0);
    /* Longer prefixes win. */
    from(ds, "10.1.2.3", &l);
    assert_int_equal(l.res.acl, DS_ACL_PASS);
    from(ds, "10.2.2.3", &l);
    assert_int_equal(l.res.acl, DS_ACL_REFUSE);
    from(ds, "10.3.2.3", &l);
    assert_int_equal(l.res.acl, DS_ACL_EMPTY);
    from(ds, "192.168.1.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_IGNORE);
    from(ds, "192.168.1.2", &l);
    assert_int_equal(l.res.acl, DS_ACL_NONE);

    /* A value: every query is answered listed, '$' = the client. */
    from(ds, "10.4.0.7", &l);
    assert_int_equal(l.res.acl, DS_ACL_LISTED);
    assert_int_equal(l.res.nrr, 2);
    assert_int_equal(l.res.rr[0].type, DNS_TYPE_A);
    assert_int_equal(l.res.rr[0].rdata[3], 5);
    assert_int_equal(l.res.rr[1].type, DNS_TYPE_TXT);
    assert_memory_equal(l.res.rr[1].rdata, "Listed for you, $", l.res.rr[1].rdlen);
    expect_subject(&l.res, "10.4.0.7");
    /* An acl says nothing about names, so nothing "exists" through it. */
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_defaults(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* After ":refuse" entries without a value refuse... */
    from(ds, "172.20.0.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_REFUSE);
    /* ...and after a default value they answer listed with it. */
    from(ds, "172.17.3.4", &l);
    assert_int_equal(l.res.acl, DS_ACL_LISTED);
    assert_int_equal(l.res.rr[0].rdata[3], 9);
    assert_memory_equal(l.res.rr[1].rdata, "default listed $", l.res.rr[1].rdlen);
    /* The IPv6 entry without a value after that default is listed too. */
    from(ds, "2001:db8:1::5", &l);
    assert_int_equal(l.res.acl, DS_ACL_LISTED);
    assert_int_equal(l.res.subject_len, strlen("2001:db8:1::5"));
    dataset_unref(ds);
}

/* The default action does not carry over into the next file of the
 * dataset: each file starts from "ignore", as in rbldnsd. */
static void test_default_resets_per_file(void **state)
{
    (void)state;
    char a[128], b[128], spec[300];
    snprintf(a, sizeof(a), "%s", write_file("a.acl", ":5:deflisted $\n10.0.0.0/8\n"));
    snprintf(b, sizeof(b), "%s", write_file("b.acl", "192.0.2.0/24\n"));
    snprintf(spec, sizeof(spec), "acl:%s,%s", a, b);
    struct dataset *ds = NULL;
    if (dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)) != 0)
        fail_msg("load failed: %s", errbuf);
    struct lookup l;
    from(ds, "10.1.2.3", &l);
    assert_int_equal(l.res.acl, DS_ACL_LISTED);
    from(ds, "192.0.2.9", &l);
    assert_int_equal(l.res.acl, DS_ACL_IGNORE);
    dataset_unref(ds);
}

static void test_ipv6_and_mapped(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    from(ds, "2001:db8:2::1", &l);
    assert_int_equal(l.res.acl, DS_ACL_EMPTY);
    from(ds, "::1", &l);
    assert_int_equal(l.res.acl, DS_ACL_PASS);
    from(ds, "2001:db9::1", &l);
    assert_int_equal(l.res.acl, DS_ACL_NONE);
    /* An IPv4 client on a dual-stack socket is looked up as IPv4. */
    from(ds, "::ffff:10.2.0.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_REFUSE);
    assert_int_equal(ds->entries, 11);
    assert_int_equal(ds->ip4_total, 0);
    dataset_unref(ds);
}

static void test_no_client(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    memcpy(l.wire, "\0012\0010\0010\003127", 10);
    ds_query_init(&l.q, l.wire, 10);
    run_query(ds, &l);
    assert_int_equal(l.res.acl, DS_ACL_NONE);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *lines[3];
        const char *why;
        unsigned line;
    } cases[] = {
        {{"10.0.0.1/8", NULL}, "", 1},
        {{"10.0.0.0/8", "10.0.0.0/8x", NULL}, "", 2},
        {{"2001:db8::1/32", NULL}, "host part", 1},
        {{"2001:db8::g", NULL}, "IPv6", 1},
        {{"10.0.0.0/8 =nonsense", NULL}, "invalid acl keyword", 1},
        {{"=nonsense", NULL}, "invalid acl keyword", 1},
        {{"!10.0.0.0/8", NULL}, "", 1},
        {{"10.0.0.0/8 :999:x", NULL}, "", 1},
    };
    struct dataset *ds;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (load(cases[i].lines, &ds) >= 0)
            fail_msg("case %zu loaded", i);
        expect_error_part("acl.txt", cases[i].line, cases[i].why);
    }
}

/* A default value answers through the $= base template like any value,
 * its own text inserted as written (checked against rbldnsd). */
static void test_default_value_and_base_template(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "$= base <$=>", ":5:deflisted $", "127.0.0.0/8", "10.0.0.0/8 :6", NULL,
    };
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    from(ds, "127.0.0.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_LISTED);
    expect_a(&l.res, 0, 5);
    expect_txt(&l.res, 1, "base <deflisted $$>");
    from(ds, "10.1.2.3", &l);
    expect_a(&l.res, 0, 6);
    expect_txt(&l.res, 1, "base <deflisted $$>");
    dataset_unref(ds);
}

static void test_duplicate_and_maxrange(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "10.0.0.0/8 :refuse", "10.0.0.0/8 :pass",    "$MAXRANGE4 /16",
        "11.0.0.0/8 :refuse", "12.0.0.0/16 :refuse", NULL,
    };
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(lines, &ds), 0);
    from(ds, "10.0.0.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_REFUSE);
    /* Larger than $MAXRANGE4: skipped with a warning, as rbldnsd does. */
    from(ds, "11.0.0.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_NONE);
    from(ds, "12.0.0.1", &l);
    assert_int_equal(l.res.acl, DS_ACL_REFUSE);
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_actions),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_default_resets_per_file, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test(test_ipv6_and_mapped),
        cmocka_unit_test(test_no_client),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_duplicate_and_maxrange),
        cmocka_unit_test(test_default_value_and_base_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
