/* Unit tests for the ip4set dataset type, with expectations taken from
 * rbldnsd's behaviour on the same data. */
#include "dstest.h"

/* Load text as an ip4set dataset, from `path`. */
static struct dataset *load(const char *text)
{
    return load_text("ip4set", text);
}

static int load_error(const char *text)
{
    return load_text_error("ip4set", text);
}

static const char overlap_data[] = ":2:default $\n"
                                   "10.0.0.0/8 :3:eight\n"
                                   "10.1.0.0/16 :4:sixteen\n"
                                   "10.1.0.0/16 :5:sixteen-b\n"
                                   "10.1.2.3\n"
                                   "!10.1.2.4\n"
                                   "10.2.3.0/24\n"
                                   "10.2.3.7 :6:\n"
                                   "127.16-31\n";

static void test_most_specific_level_answers(void **state)
{
    (void)state;
    struct dataset *ds = load(overlap_data);
    const struct ds_result *r;

    r = ask(ds, "5.5.5.10"); /* only 10/8 */
    assert_true(r->exists);
    assert_int_equal(r->nrr, 2);
    expect_a(r, 0, 3);
    expect_txt(r, 1, "eight");
    assert_string_equal(r->subject, "10.5.5.5");

    r = ask(ds, "5.5.1.10"); /* both /16 values, not the /8 */
    assert_int_equal(r->nrr, 4);
    expect_a(r, 0, 4);
    expect_txt(r, 1, "sixteen");
    expect_a(r, 2, 5);
    expect_txt(r, 3, "sixteen-b");

    r = ask(ds, "3.2.1.10"); /* the /32 with the default value */
    assert_int_equal(r->nrr, 2);
    expect_a(r, 0, 2);
    expect_txt(r, 1, "default $");
    assert_int_equal(r->rr[0].ttl, 2100);

    r = ask(ds, "4.2.1.10"); /* excluded, though /16 and /8 cover it */
    assert_false(r->exists);
    assert_int_equal(r->nrr, 0);

    r = ask(ds, "7.3.2.10"); /* ":6:" = A without TXT */
    assert_int_equal(r->nrr, 1);
    expect_a(r, 0, 6);

    r = ask(ds, "5.0.20.127"); /* 127.16-31 short range */
    assert_true(r->exists);
    r = ask(ds, "5.0.40.127");
    assert_false(r->exists);
    r = ask(ds, "1.1.1.11");
    assert_false(r->exists);
    assert_int_equal(r->nrr, 0);

    /* 2^24 for 10/8, with the /16, /24 and /32 entries inside it changing
     * nothing but the one excluded address; 127.16-31 adds 2^20. */
    assert_int_equal(ds->ip4_total, (1u << 24) - 1 + (1u << 20));
    dataset_unref(ds);
}

static void test_partial_names(void **state)
{
    (void)state;
    struct dataset *ds = load("10.2.3.4\n"
                              "11.0.0.0/16\n"
                              "!11.0.5.0/24\n"
                              "!12.1.1.1\n");
    assert_true(ask(ds, "3.2.10")->exists);
    assert_true(ask(ds, "2.10")->exists);
    assert_true(ask(ds, "10")->exists);
    assert_false(ask(ds, "4.2.10")->exists);
    assert_false(ask(ds, "9")->exists);
    assert_true(ask(ds, "7.0.11")->exists);  /* inside the listed /16 */
    assert_false(ask(ds, "5.0.11")->exists); /* the excluded /24 */
    assert_false(ask(ds, "1.1.12")->exists); /* only an exclusion below */
    /* Partial names carry no records. */
    assert_int_equal(ask(ds, "3.2.10")->nrr, 0);
    dataset_unref(ds);
}

static void test_ranges_split(void **state)
{
    (void)state;
    struct dataset *ds = load("10.0.0.250-10.0.1.5 :7:r\n");
    assert_true(ask(ds, "250.0.0.10")->exists);
    assert_true(ask(ds, "255.0.0.10")->exists);
    assert_true(ask(ds, "0.1.0.10")->exists);
    assert_true(ask(ds, "5.1.0.10")->exists);
    assert_false(ask(ds, "6.1.0.10")->exists);
    assert_false(ask(ds, "249.0.0.10")->exists);
    assert_int_equal(ds->ip4_total, 12);
    /* A /20 becomes sixteen /24 entries. */
    dataset_unref(ds);
    ds = load("10.16.0.0/20\n");
    assert_int_equal(ds->entries, 16);
    assert_int_equal(ds->ip4_total, 4096);
    assert_true(ask(ds, "1.1.31.16.10")->exists == false); /* 5 labels: not IPv4 */
    assert_true(ask(ds, "1.15.16.10")->exists);
    assert_false(ask(ds, "1.16.16.10")->exists);
    dataset_unref(ds);
}

static void test_duplicates_collapse(void **state)
{
    (void)state;
    struct dataset *ds = load("1.2.3.4 :3:x\n1.2.3.4 :3:x\n1.2.3.4\n");
    const struct ds_result *r = ask(ds, "4.3.2.1");
    assert_int_equal(r->nrr, 3); /* A+TXT of one value, A of the other */
    assert_int_equal(ds->entries, 2);
    assert_int_equal(ds->ip4_total, 1);
    dataset_unref(ds);
}

static void test_test_entries(void **state)
{
    (void)state;
    /* The data lists all of 127/8: 127.0.0.1 must still not be listed. */
    struct dataset *ds = load("127.0.0.0/8 :4:loop\n");
    const struct ds_result *r = ask(ds, "1.0.0.127");
    assert_false(r->exists);
    assert_int_equal(r->nrr, 0);
    r = ask(ds, "2.0.0.127");
    assert_true(r->exists);
    expect_a(r, 0, 4); /* the data's own value wins */
    dataset_unref(ds);

    ds = load("1.2.3.4\n");
    r = ask(ds, "2.0.0.127");
    assert_true(r->exists);
    assert_int_equal(r->nrr, 2);
    expect_a(r, 0, 2);
    assert_int_equal(r->rr[1].type, DNS_TYPE_TXT);
    assert_true(ask(ds, "0.0.127")->exists);
    assert_true(ask(ds, "0.127")->exists);
    assert_true(ask(ds, "127")->exists);
    assert_false(ask(ds, "1.0.127")->exists);
    /* IPv6 test entries belong to IPv6 types only. */
    assert_false(
        ask(ds, "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0")->exists);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    load_error("1.2.3.4\n1.2.3.256\n");
    expect_error(path, 2, "invalid IPv4 address");

    load_error("1.2.3.4\n\n12.0.0.5/24\n");
    expect_error(path, 3, "IPv4 prefix has host bits set");

    load_error("1.2.3.4 :0:zero\n");
    expect_error(path, 1, "invalid A value in '0:zero'");
}

static void test_allow_hostbits(void **state)
{
    (void)state;
    ctx.allow_hostbits = true;
    struct dataset *ds = load("12.0.0.5/24\n");
    ctx.allow_hostbits = false;
    assert_true(ask(ds, "200.0.0.12")->exists);
    assert_int_equal(ds->ip4_total, 256);
    dataset_unref(ds);
}

static void test_min_prefix(void **state)
{
    (void)state;
    assert_int_equal(load_error("4.0.0.0/7\n"), ERR_INVAL);
    expect_error(path, 1, "entry shorter than /8 refused");
    load_error("# a range wider than a /8\n1.0.0.0-2.0.0.0\n");
    expect_error(path, 2, "entry shorter than /8 refused");
    /* Exclusions may be as wide as they like. */
    struct dataset *ds = load("!0.0.0.0/0\n1.2.3.4\n");
    assert_true(ask(ds, "4.3.2.1")->exists);
    dataset_unref(ds);
    /* allow_world lifts the limits. */
    ctx.limits.allow_world = true;
    ds = load("0/0\n");
    assert_true(ask(ds, "4.3.2.1")->exists);
    assert_int_equal(ds->ip4_total, 1ull << 32);
    dataset_unref(ds);
}

static void test_total_guard(void **state)
{
    (void)state;
    ctx.limits.max_ip4_total = 1000;
    struct dataset *ds = load("10.0.0.0/23\n!10.0.1.0/24\n10.0.9.0/24\n"); /* 512 listed */
    assert_int_equal(ds->ip4_total, 512);
    dataset_unref(ds);
    assert_int_equal(load_error("10.0.0.0/22\n"), ERR_LIMIT);
    assert_non_null(strstr(errbuf, "lists 1024 IPv4 addresses, more than the limit of 1000"));
    char spec[160];
    snprintf(spec, sizeof(spec), "ip4set:%s", path);
    assert_true(strncmp(errbuf, spec, strlen(spec)) == 0);
}

/* The listed-address count (the world guard's measure) agrees with
 * asking for every address, on random nested blocks and exclusions of
 * every level inside 10.0.0.0/14. */
static void test_total_counts_answers(void **state)
{
    (void)state;
    uint32_t rng = 12345;
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 800; i++) {
        rng = rng * 1103515245u + 12345u;
        unsigned bits = 14 + (rng >> 8) % 19;
        rng = rng * 1103515245u + 12345u;
        uint32_t a = 0x0a000000u | ((rng >> 4) & 0x3ffffu);
        a &= ~0u << (32 - bits);
        len += (size_t)snprintf(text + len, cap - len, "%s%u.%u.%u.%u/%u\n", i % 10 ? "" : "!",
                                a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, bits);
        assert_true(len < cap);
    }
    struct dataset *ds = load(text);
    uint64_t listed = 0;
    char name[32];
    for (uint32_t a = 0x0a000000u; a < 0x0a040000u; a++) {
        snprintf(name, sizeof(name), "%u.%u.%u.%u", a & 255, (a >> 8) & 255, (a >> 16) & 255,
                 a >> 24);
        listed += ask(ds, name)->exists;
    }
    assert_true(listed > 0);
    assert_int_equal(ds->ip4_total, listed);
    dataset_unref(ds);
    free(text);
}

/* A level big enough for its /16 index: every entry is found, the
 * addresses between them are not, across /16 boundaries and at the ends
 * of the address space. */
static void test_indexed_level(void **state)
{
    (void)state;
    enum { N = 6000 };
    size_t cap = N * 24, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t a = 0x01000000u + i * 40503u; /* spread over many /16s */
        len += (size_t)snprintf(text + len, cap - len, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
                                (a >> 8) & 255, a & 255);
    }
    len += (size_t)snprintf(text + len, cap - len, "255.255.255.255\n0.0.0.1\n");
    struct dataset *ds = load(text);
    char name[32];
    for (uint32_t i = 0; i < N; i++) {
        uint32_t a = 0x01000000u + i * 40503u;
        for (int d = -1; d <= 1; d++) {
            uint32_t x = a + (uint32_t)d;
            snprintf(name, sizeof(name), "%u.%u.%u.%u", x & 255, (x >> 8) & 255, (x >> 16) & 255,
                     x >> 24);
            assert_int_equal(ask(ds, name)->exists, d == 0);
        }
    }
    assert_true(ask(ds, "255.255.255.255")->exists);
    assert_true(ask(ds, "1.0.0.0")->exists);
    assert_false(ask(ds, "254.255.255.255")->exists);
    dataset_unref(ds);
    free(text);
}

static void test_maxrange_skips(void **state)
{
    (void)state;
    struct dataset *ds = load("$MAXRANGE4 /24\n10.0.0.0/16\n10.1.1.0/24\n");
    assert_false(ask(ds, "1.0.0.10")->exists);
    assert_true(ask(ds, "1.1.1.10")->exists);
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_most_specific_level_answers, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_partial_names, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_ranges_split, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_duplicates_collapse, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_test_entries, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_bad_lines, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_allow_hostbits, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_min_prefix, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_total_guard, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_maxrange_skips, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_total_counts_answers, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_indexed_level, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
