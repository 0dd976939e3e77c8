/* Unit tests for the count of a zone's listings the API's pages show:
 * exact after every kind of change (a write from another connection, a
 * listing ending by time), kept while nothing changed, reused stale only
 * in the window an expensive count earns, and that window's rule; and
 * the subject a lookup asks about. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "http/http_live.h"

#define Z "bl.example"
#define T0 ((time_t)1700000000)

struct fixture {
    char dir[64], path[128];
    struct http_live l;
    struct store *writer; /* another connection, as the CLI's would be */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/dbk_live_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/listing.db", f->dir);
    if (store_open(f->path, &f->l.st, err, sizeof(err)) != 0 ||
        store_open(f->path, &f->writer, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[192];
    store_close(f->l.st);
    store_close(f->writer);
    free(f->l.totals);
    const char *files[] = {"listing.db", "listing.db-wal", "listing.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void put(struct store *st, const char *zone, uint32_t addr, uint8_t code, time_t expires)
{
    struct store_listing l = {.key = {4, 32, addr}, .code = code, .expires_at = expires};
    l.listed_at = code ? T0 : 0;
    assert_int_equal(store_put(st, zone, &l), 0);
}

/* The total and its as-of time at `now`. */
static uint64_t total_at(struct fixture *f, const char *zone, time_t now, time_t *as_of)
{
    uint64_t n = UINT64_MAX;
    *as_of = 0;
    assert_int_equal(http_live_total(&f->l, zone, now, &n, as_of), 0);
    return n;
}

static void test_reuse_rule(void **state)
{
    (void)state;
    assert_int_equal(http_live_reuse_ms(0), 0);
    assert_int_equal(http_live_reuse_ms(19), 0);
    assert_int_equal(http_live_reuse_ms(20), 2000);
    assert_int_equal(http_live_reuse_ms(250), 25000);
    assert_int_equal(http_live_reuse_ms(600), 60000);
    assert_int_equal(http_live_reuse_ms(601), 60000);
    assert_int_equal(http_live_reuse_ms(3600000), 60000);
}

static void test_exact_after_changes(void **state)
{
    struct fixture *f = *state;
    time_t as_of;
    assert_int_equal(total_at(f, Z, T0, &as_of), 0);
    assert_int_equal(as_of, T0);

    put(f->writer, Z, 0x05060701, 2, 0);
    put(f->writer, Z, 0x05060702, 2, T0 + 10);
    put(f->writer, Z, 0x05060703, 0, 0); /* known, not listed */
    assert_int_equal(total_at(f, Z, T0, &as_of), 2);
    assert_int_equal(as_of, T0);
    /* Nothing changed: the same count, still exact a second later. */
    assert_int_equal(total_at(f, Z, T0 + 1, &as_of), 2);
    assert_int_equal(as_of, T0 + 1);
    assert_int_equal(f->l.totals[0].at, T0);

    /* A listing ends by time, with no write at all. */
    assert_int_equal(total_at(f, Z, T0 + 9, &as_of), 2);
    assert_int_equal(total_at(f, Z, T0 + 10, &as_of), 1);
    assert_int_equal(as_of, T0 + 10);

    /* Writes from another connection: a new listing, an ended one. */
    put(f->writer, Z, 0x05060704, 3, T0 + 100);
    assert_int_equal(total_at(f, Z, T0 + 10, &as_of), 2);
    put(f->writer, Z, 0x05060701, 0, 0);
    assert_int_equal(total_at(f, Z, T0 + 10, &as_of), 1);
    /* Another zone has its own count; its writes leave this one exact. */
    put(f->writer, "other.example", 0x05060701, 2, 0);
    put(f->writer, "other.example", 0x05060705, 2, 0);
    assert_int_equal(total_at(f, "other.example", T0 + 10, &as_of), 2);
    assert_int_equal(total_at(f, Z, T0 + 10, &as_of), 1);
    assert_int_equal(f->l.ntotals, 2);

    /* A clock stepped back: counted again, the ended listing is back. */
    assert_int_equal(total_at(f, Z, T0, &as_of), 2);
    assert_int_equal(as_of, T0);
}

/* An expensive count is reused, stale, inside its window only, and says
 * when it was counted. */
static void test_stale_inside_the_window(void **state)
{
    struct fixture *f = *state;
    time_t as_of;
    put(f->writer, Z, 0x05060701, 2, 0);
    assert_int_equal(total_at(f, Z, T0, &as_of), 1);
    /* The count of a small zone is cheap: no window. */
    assert_int_equal(f->l.totals[0].reuse_until_ms, 0);
    put(f->writer, Z, 0x05060702, 2, 0);
    assert_int_equal(total_at(f, Z, T0 + 1, &as_of), 2);
    assert_int_equal(as_of, T0 + 1);

    /* As if that count had taken long: its window never closes. */
    f->l.totals[0].reuse_until_ms = INT64_MAX;
    put(f->writer, Z, 0x05060703, 2, 0);
    assert_int_equal(total_at(f, Z, T0 + 5, &as_of), 2);
    assert_int_equal(as_of, T0 + 1);
    /* A second later: still the stale count, not counted again. */
    assert_int_equal(total_at(f, Z, T0 + 6, &as_of), 2);
    assert_int_equal(as_of, T0 + 1);
    /* The window closed: counted again, exact. */
    f->l.totals[0].reuse_until_ms = 1;
    assert_int_equal(total_at(f, Z, T0 + 7, &as_of), 3);
    assert_int_equal(as_of, T0 + 7);
}

static void test_subject(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        bool is_addr;
        unsigned bits;
    } ok[] = {
        {"192.0.2.1", "192.0.2.1", true, 32},
        {"192.0.2.1.", "192.0.2.1", true, 32}, /* once read as the domain "192.0.2.1" */
        {"2001:DB8::1", "2001:db8::1", true, 64},
        {"2001:db8::1..", "2001:db8::1", true, 64},
        {"Mail.Example.COM.", "mail.example.com", false, 0},
        {"under_score-1", "under_score-1", false, 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char out[256];
        struct netkey key;
        bool is_addr = !ok[i].is_addr;
        assert_int_equal(http_live_subject(ok[i].in, out, sizeof(out), &key, &is_addr), 0);
        assert_string_equal(out, ok[i].out);
        assert_int_equal(is_addr, ok[i].is_addr);
        if (is_addr)
            assert_int_equal(key.bits, ok[i].bits);
    }
    static const char *const bad[] = {"", ".", "..", "a b", "x/24", "192.0.2.1/32", "<script>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[256];
        struct netkey key;
        bool is_addr;
        assert_int_equal(http_live_subject(bad[i], out, sizeof(out), &key, &is_addr), ERR_INVAL);
    }
    char longname[300], out[256];
    struct netkey key;
    bool is_addr;
    memset(longname, 'a', 254);
    longname[254] = '\0';
    assert_int_equal(http_live_subject(longname, out, sizeof(out), &key, &is_addr), ERR_INVAL);
    longname[253] = '\0';
    assert_int_equal(http_live_subject(longname, out, sizeof(out), &key, &is_addr), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_rule),
        cmocka_unit_test(test_subject),
        T(test_exact_after_changes),
        T(test_stale_inside_the_window),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
