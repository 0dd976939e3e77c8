/* Unit tests for the ip6tset dataset type: /64 entries, /128 exclusions,
 * the one shared value, empty non-terminals and errors for bad lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "data/datafile.h"
#include "data/dataset.h"

static struct ds_load_ctx ctx = {
    .zone = "bl6.example",
    .default_ttl = 2100,
    .limits = {.min_prefix4 = 8, .min_prefix6 = 8, .max_ip4_total = 1u << 28},
};

static char errbuf[DATAFILE_ERRLEN];

static int load(const char *const *lines, struct dataset **out)
{
    struct dataset *ds;
    struct datafile df;
    char buf[1024];
    int rc = dataset_create(&ds_ip6tset_ops, &ctx, &ds);
    if (rc < 0)
        return rc;
    datafile_init(&df, ds, "six.txt");
    for (unsigned i = 0; lines[i]; i++) {
        snprintf(buf, sizeof(buf), "%s", lines[i]);
        if ((rc = datafile_feed(&df, buf)) < 0) {
            snprintf(errbuf, sizeof(errbuf), "%s", df.err);
            break;
        }
    }
    datafile_cleanup(&df);
    if (rc == 0)
        rc = dataset_finish(ds, errbuf, sizeof(errbuf));
    if (rc < 0) {
        dataset_unref(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

struct lookup {
    uint8_t wire[80];
    struct ds_query q;
    struct ds_result res;
};

/* Query the first `nibbles` nibbles of addr as a reversed nibble name. */
static void lookup(const struct dataset *ds, const char *addr, unsigned nibbles, struct lookup *l)
{
    uint8_t a[16];
    size_t pos = 0;
    assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
    for (unsigned i = nibbles; i-- > 0;) {
        unsigned v = i % 2 ? a[i / 2] & 15 : a[i / 2] >> 4;
        l->wire[pos++] = 1;
        l->wire[pos++] = (uint8_t) "0123456789abcdef"[v];
    }
    ds_query_init(&l->q, l->wire, pos);
    ds_result_reset(&l->res);
    assert_int_equal(dataset_query(ds, &l->q, &l->res), 0);
}

static int a_octet(const struct ds_result *res)
{
    for (unsigned i = 0; i < res->nrr; i++)
        if (res->rr[i].type == DNS_TYPE_A)
            return res->rr[i].rdata[3];
    return -1;
}

static const char *txt_of(const struct ds_result *res, size_t *len)
{
    for (unsigned i = 0; i < res->nrr; i++)
        if (res->rr[i].type == DNS_TYPE_TXT) {
            *len = res->rr[i].rdlen;
            return (const char *)res->rr[i].rdata;
        }
    return NULL;
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
    size_t len;
    assert_int_equal(load(data, &ds), 0);

    lookup(ds, "2001:db8:1:2::1", 32, &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res), 5);
    const char *t = txt_of(&l.res, &len);
    assert_non_null(t);
    assert_int_equal(len, strlen("Listed: $"));
    assert_memory_equal(t, "Listed: $", len);
    assert_int_equal(l.res.subject_len, strlen("2001:db8:1:2::1"));
    assert_memory_equal(l.res.subject, "2001:db8:1:2::1", l.res.subject_len);

    lookup(ds, "2001:db8:1:2:ffff:ffff:ffff:ffff", 32, &l);
    assert_int_equal(a_octet(&l.res), 5);
    lookup(ds, "abac:adab:ad00:42f:1::", 32, &l);
    assert_int_equal(a_octet(&l.res), 5);

    /* The neighbouring /64s are not listed. */
    lookup(ds, "2001:db8:1:3::1", 32, &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "2001:db8:1:1:ffff:ffff:ffff:ffff", 32, &l);
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
    lookup(ds, "2001:db8:1:2::5", 32, &l);
    assert_false(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "2001:db8:1:2::4", 32, &l);
    assert_true(l.res.exists);
    lookup(ds, "abac:adab:ad00:42f:face:f:a:beef", 32, &l);
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
    lookup(ds, "2001:db8:1:2::", 1, &l);
    assert_true(l.res.exists);
    assert_int_equal(l.res.nrr, 0);
    lookup(ds, "2001:db8:1:2::", 16, &l);
    assert_true(l.res.exists);
    lookup(ds, "2001:db8:1:3::", 16, &l);
    assert_false(l.res.exists);
    lookup(ds, "2001:db9::", 8, &l);
    assert_false(l.res.exists);
    /* Inside a /64 too, down to 31 nibbles. */
    lookup(ds, "2001:db8:1:2:aaaa::", 20, &l);
    assert_true(l.res.exists);
    lookup(ds, "2001:db8:1:2::5", 31, &l);
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
    lookup(ds, "2001:db8:1:2::10", 31, &l);
    assert_false(l.res.exists);
    /* ...but not those under ::2x. */
    lookup(ds, "2001:db8:1:2::20", 31, &l);
    assert_true(l.res.exists);
    dataset_unref(ds);
}

static void test_default_value_and_test_entry(void **state)
{
    (void)state;
    static const char *const lines[] = {"2001:db8:1:2", NULL};
    struct dataset *ds;
    struct lookup l;
    size_t len;
    assert_int_equal(load(lines, &ds), 0);
    lookup(ds, "2001:db8:1:2::1", 32, &l);
    assert_int_equal(a_octet(&l.res), 2);
    assert_null(txt_of(&l.res, &len));
    assert_int_equal(l.res.rr[0].ttl, 2100);
    /* RFC 5782 test addresses, answered by every IPv6 dataset. */
    lookup(ds, "::ffff:7f00:2", 32, &l);
    assert_true(l.res.exists);
    assert_int_equal(a_octet(&l.res), 2);
    lookup(ds, "::ffff:7f00:1", 32, &l);
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
    assert_non_null(strstr(errbuf, "six.txt:1: "));
    assert_non_null(strstr(errbuf, "/64"));
    assert_int_equal(load(full_entry, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "six.txt:2: "));
    assert_int_equal(load(short_excl, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "128"));
    assert_int_equal(load(garbage, &ds), ERR_INVAL);
    assert_non_null(strstr(errbuf, "invalid IPv6 address"));
    assert_int_equal(load(bad_group, &ds), ERR_INVAL);
    assert_true(load(bad_value, &ds) < 0);
    assert_non_null(strstr(errbuf, "six.txt:1: "));
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
