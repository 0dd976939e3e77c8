/* Unit tests for the generic dataset type: A, TXT, MX and AAAA records at
 * relative names, "@", TTLs, literal '$' in TXT, empty non-terminals and
 * errors for bad lines. */
#include "dstest.h"

/* Load lines as a generic dataset read from "gen.txt". */
static int load(const char *const *lines, struct dataset **out)
{
    return load_lines(&ds_generic_ops, "gen.txt", lines, out);
}

static const char *const data[] = {
    "$TTL 1h",
    "@ A 127.0.0.8",
    "www 3000 A 127.0.0.9",
    "about TXT \"ex.com combined blocklist\"",
    "@ MX 10 mx.ex.com",
    "@ 2d IN mx 20 MX2.ex.com.",
    "price TXT costs $5",
    "v6.host AAAA 2001:db8::1",
    "www A 127.0.0.10",
    NULL,
};

static void test_records(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    const struct ds_rr *rr;
    assert_int_equal(load(data, &ds), 0);
    assert_int_equal(ds->entries, 8);

    lookup(ds, "@", &l);
    assert_true(l.res.exists);
    rr = find_rr(&l.res, DNS_TYPE_A, 0);
    assert_non_null(rr);
    assert_int_equal(rr->rdlen, 4);
    assert_memory_equal(rr->rdata, "\x7f\x00\x00\x08", 4);
    assert_int_equal(rr->ttl, 3600);

    /* MX rdata: preference, then the exchange as an uncompressed name. */
    rr = find_rr(&l.res, DNS_TYPE_MX, 0);
    assert_non_null(rr);
    assert_int_equal(rr->rdlen, 2 + 11);
    assert_memory_equal(rr->rdata,
                        "\x00\x0a\x02mx\x02"
                        "ex\x03"
                        "com\x00",
                        13);
    rr = find_rr(&l.res, DNS_TYPE_MX, 1);
    assert_non_null(rr);
    assert_int_equal(rr->ttl, 2 * 86400);
    assert_memory_equal(rr->rdata,
                        "\x00\x14\x03mx2\x02"
                        "ex\x03"
                        "com\x00",
                        14);

    /* Two A records at one name, each with its TTL, in file order. */
    lookup(ds, "WWW", &l);
    assert_int_equal(l.res.nrr, 2);
    assert_int_equal(l.res.rr[0].ttl, 3000);
    assert_int_equal(l.res.rr[0].rdata[3], 9);
    assert_int_equal(l.res.rr[1].ttl, 3600);
    assert_int_equal(l.res.rr[1].rdata[3], 10);

    lookup(ds, "about", &l);
    rr = find_rr(&l.res, DNS_TYPE_TXT, 0);
    assert_non_null(rr);
    assert_int_equal(rr->rdlen, strlen("ex.com combined blocklist"));
    assert_memory_equal(rr->rdata, "ex.com combined blocklist", rr->rdlen);

    /* A '$' in generic TXT is literal, so it is escaped for the template. */
    lookup(ds, "price", &l);
    rr = find_rr(&l.res, DNS_TYPE_TXT, 0);
    assert_non_null(rr);
    assert_int_equal(rr->rdlen, strlen("costs $$5"));
    assert_memory_equal(rr->rdata, "costs $$5", rr->rdlen);

    lookup(ds, "v6.host", &l);
    rr = find_rr(&l.res, DNS_TYPE_AAAA, 0);
    assert_non_null(rr);
    assert_int_equal(rr->rdlen, 16);
    assert_memory_equal(rr->rdata, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    dataset_unref(ds);
}

static void test_names(void **state)
{
    (void)state;
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(data, &ds), 0);
    /* "host" is above "v6.host": it exists, without records. */
    lookup(ds, "host", &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "nothing", &l);
    assert_false(l.res.exists);
    lookup(ds, "a.www", &l);
    assert_false(l.res.exists);
    lookup(ds, "ww", &l);
    assert_false(l.res.exists);
    /* generic has no test entries. */
    lookup(ds, "test", &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_empty(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    struct dataset *ds;
    struct lookup l;
    assert_int_equal(load(none, &ds), 0);
    lookup(ds, "@", &l);
    assert_false(l.res.exists);
    lookup(ds, "www", &l);
    assert_false(l.res.exists);
    dataset_unref(ds);
}

static void test_long_txt_truncated(void **state)
{
    (void)state;
    char line[400];
    const char *lines[] = {line, NULL};
    struct dataset *ds;
    struct lookup l;
    memcpy(line, "t TXT ", 6);
    memset(line + 6, 'x', 300);
    line[306] = '\0';
    assert_int_equal(load(lines, &ds), 0);
    lookup(ds, "t", &l);
    assert_int_equal(l.res.nrr, 1);
    assert_int_equal(l.res.rr[0].rdlen, 255);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    /* Each case: one or two lines, the last one bad, and what the error says. */
    static const struct {
        const char *first, *bad, *why;
    } cases[] = {
        {"@ A 127.0.0.8", "x CNAME y", "unsupported record type"},
        {NULL, "x A 1.2.3", "invalid A"},
        {NULL, "x A 1.2.3.4 junk", "invalid A"},
        {NULL, "x MX 70000 mx.example", "MX preference"},
        {NULL, "x MX 10", "MX exchange"},
        {NULL, "x MX 10 a..b", "MX exchange"},
        {NULL, "x 1q A 127.0.0.2", "invalid TTL"},
        {NULL, "x AAAA 1.2.3.4", "invalid AAAA"},
        {NULL, "a..b A 127.0.0.2", "invalid owner"},
        {NULL, "x", "missing record type"},
        {NULL, "$DATASET ip4set x", "unknown directive"},
    };
    struct dataset *ds;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *lines[3] = {NULL, NULL, NULL};
        unsigned n = 0;
        if (cases[i].first)
            lines[n++] = cases[i].first;
        lines[n++] = cases[i].bad;
        assert_int_equal(load(lines, &ds), ERR_INVAL);
        expect_error_part("gen.txt", n, cases[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records),   cmocka_unit_test(test_names),
        cmocka_unit_test(test_empty),     cmocka_unit_test(test_long_txt_truncated),
        cmocka_unit_test(test_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
