/* Unit tests for the ip4tset dataset type (single addresses, one value). */
#include "dstest.h"

/* Load text as an ip4tset dataset, from `path`. */
static struct dataset *load(const char *text)
{
    return load_text("ip4tset", text);
}

static int load_error(const char *text)
{
    return load_text_error("ip4tset", text);
}

static void test_lookup(void **state)
{
    (void)state;
    struct dataset *ds = load(":3:tset $\n"
                              ":4:second default is ignored\n"
                              "10.0.0.5\n"
                              "10.0.0.1 this value is ignored\n"
                              "10.0.0.5\n"
                              "192.168.1.1\n");
    const struct ds_result *r = ask(ds, "5.0.0.10");
    assert_true(r->exists);
    assert_int_equal(r->nrr, 2);
    expect_a(r, 0, 3);
    expect_txt(r, 1, "tset $");
    assert_string_equal(r->subject, "10.0.0.5");
    r = ask(ds, "1.0.0.10");
    expect_a(r, 0, 3); /* one value for every entry */
    assert_false(ask(ds, "2.0.0.10")->exists);
    assert_false(ask(ds, "1.1.168.193")->exists);
    assert_true(ask(ds, "1.1.168.192")->exists);
    assert_int_equal(ds->entries, 3); /* the duplicate collapsed */
    assert_int_equal(ds->ip4_total, 3);
    assert_true(ds->mem_bytes >= 3 * sizeof(uint32_t));
    dataset_unref(ds);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A set large enough for the split (16+16 bit) form answers exactly like
 * a plain sorted list, for full addresses and for partial names, and uses
 * less than rbldnsd's 4 bytes per address (2 bytes + a 256 KiB table). */
static void check_large_set(size_t N)
{
    uint32_t *ref = malloc(N * sizeof(*ref));
    assert_non_null(ref);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        /* xorshift: addresses spread over the space, clustered enough that
         * some /24s and /16s hold several */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t a = (x % 4 == 0) ? (0x0b000000u | (x & 0x00ffff00u) | (x >> 24)) : x;
        if ((a >> 24) == 127 || (a >> 24) < 8)
            a ^= 0x40000000u;
        ref[i] = a;
        fprintf(fp, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    }
    /* Repeats of early entries, so that duplicates meet across merges. */
    for (size_t i = 0; i < N; i += 997)
        fprintf(fp, "%u.%u.%u.%u\n", ref[i] >> 24, (ref[i] >> 16) & 255, (ref[i] >> 8) & 255,
                ref[i] & 255);
    fclose(fp);
    qsort(ref, N, sizeof(*ref), cmp_u32);
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        if (n == 0 || ref[n - 1] != ref[i])
            ref[n++] = ref[i];
    char spec[160];
    snprintf(spec, sizeof(spec), "ip4tset:%s", path);
    struct dataset *ds = NULL;
    if (dataset_load(spec, &ctx, &ds, errbuf, sizeof(errbuf)))
        fail_msg("load failed: %s", errbuf);
    assert_int_equal(ds->entries, n);
    assert_true(ds->mem_bytes < 7 * n / 2); /* rbldnsd: 4 bytes each */
    char rev[32];
    uint32_t probe = 777;
    for (int i = 0; i < 20000; i++) {
        probe ^= probe << 13;
        probe ^= probe >> 17;
        probe ^= probe << 5;
        uint32_t a = (i % 2) ? ref[probe % n] : probe;
        if ((a >> 24) == 127)
            continue;
        if (i % 3 == 0)
            a ^= 1; /* neighbours of listed addresses */
        bool listed = bsearch(&a, ref, n, sizeof(*ref), cmp_u32) != NULL;
        snprintf(rev, sizeof(rev), "%u.%u.%u.%u", a & 255, (a >> 8) & 255, (a >> 16) & 255,
                 a >> 24);
        assert_int_equal(ask(ds, rev)->exists, listed);
        /* The /24 above it exists when any listed address is inside. */
        uint32_t net = a & 0xffffff00u;
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ref[mid] < net)
                lo = mid + 1;
            else
                hi = mid;
        }
        bool any = lo < n && ref[lo] <= (net | 255);
        snprintf(rev, sizeof(rev), "%u.%u.%u", (a >> 8) & 255, (a >> 16) & 255, a >> 24);
        assert_int_equal(ask(ds, rev)->exists, any);
    }
    /* The first and the last address of the set. */
    snprintf(rev, sizeof(rev), "%u.%u.%u.%u", ref[0] & 255, (ref[0] >> 8) & 255,
             (ref[0] >> 16) & 255, ref[0] >> 24);
    assert_true(ask(ds, rev)->exists);
    snprintf(rev, sizeof(rev), "%u.%u.%u.%u", ref[n - 1] & 255, (ref[n - 1] >> 8) & 255,
             (ref[n - 1] >> 16) & 255, ref[n - 1] >> 24);
    assert_true(ask(ds, rev)->exists);
    dataset_unref(ds);
    free(ref);
}

static void test_large_split_form(void **state)
{
    (void)state;
    check_large_set(200000); /* split form, built in one merge */
}

/* More than the staging buffer holds: several merges into the split form,
 * with addresses of later batches sorting between earlier ones. */
static void test_large_set_merged(void **state)
{
    (void)state;
    check_large_set(1300000);
}

static void test_default_value(void **state)
{
    (void)state;
    struct dataset *ds = load("1.2.3.4\n");
    const struct ds_result *r = ask(ds, "4.3.2.1");
    assert_int_equal(r->nrr, 1);
    expect_a(r, 0, 2);
    dataset_unref(ds);
}

static void test_partial_and_test_entries(void **state)
{
    (void)state;
    struct dataset *ds = load("10.1.2.3\n11.0.0.1\n");
    assert_true(ask(ds, "2.1.10")->exists);
    assert_true(ask(ds, "1.10")->exists);
    assert_true(ask(ds, "10")->exists);
    assert_false(ask(ds, "3.1.10")->exists);
    assert_false(ask(ds, "12")->exists);
    assert_int_equal(ask(ds, "2.1.10")->nrr, 0);
    assert_true(ask(ds, "2.0.0.127")->exists);
    assert_false(ask(ds, "1.0.0.127")->exists);
    assert_true(ask(ds, "0.0.127")->exists);
    dataset_unref(ds);
}

static void test_empty(void **state)
{
    (void)state;
    struct dataset *ds = load("# nothing\n");
    assert_false(ask(ds, "4.3.2.1")->exists);
    assert_false(ask(ds, "1")->exists);
    assert_int_equal(ds->entries, 0);
    dataset_unref(ds);
}

static void test_bad_lines(void **state)
{
    (void)state;
    load_error("1.2.3.4\n10.0.0.0/24\n");
    expect_error(path, 2, "ip4tset takes single IPv4 addresses only");
    load_error("1.2.3\n");
    expect_error(path, 1, "ip4tset takes single IPv4 addresses only");
    load_error("!1.2.3.4\n");
    expect_error(path, 1, "invalid IPv4 address");
    load_error("1.2.3.4\n$BOGUS 1\n");
    expect_error(path, 2, "unknown directive '$BOGUS'");
}

static void test_total_guard(void **state)
{
    (void)state;
    ctx.limits.max_ip4_total = 2;
    assert_int_equal(load_error("1.1.1.1\n1.1.1.2\n1.1.1.3\n"), ERR_LIMIT);
    assert_non_null(strstr(errbuf, "lists 3 IPv4 addresses, more than the limit of 2"));
    ctx.limits.allow_world = true;
    struct dataset *ds = load("1.1.1.1\n1.1.1.2\n1.1.1.3\n");
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_default_value, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_partial_and_test_entries, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_empty, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_bad_lines, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_total_guard, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_large_split_form, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_large_set_merged, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
