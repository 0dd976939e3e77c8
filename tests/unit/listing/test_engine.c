/* Unit tests for the listing engine over a real store, with the clock
 * passed in: days of a list's life (reports ageing, listings expiring,
 * a /24 escalating and dropping, removals rate-limited) in milliseconds. */
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
#include "listing/engine.h"

#define Z "bl.example"
#define T0 ((time_t)1800000000)
#define H 3600
#define D 86400

struct fixture {
    char dir[64], path[128];
    struct listing_conf conf;
    struct store *st;
    struct engine e;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/dbk_engine_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/l.db", f->dir);
    listing_conf_init(&f->conf);
    const char *bad = NULL;
    if (rchain_trusted_parse("192.0.2.0/24", &f->conf.trusted, &bad) != 0 ||
        store_open(f->path, &f->st, err, sizeof(err)) != 0)
        return -1;
    f->e.st = f->st;
    f->e.conf = &f->conf;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    store_close(f->st);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A spam from `ip` through our MX, unique per n, dated `when`. */
static size_t spam(char *buf, size_t sz, const char *ip, int n, time_t when)
{
    char date[64];
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return (size_t)snprintf(buf, sz,
                            "Received: from x.example (unknown [%s])\r\n"
                            "\tby mx1.dnsblkit.test (Postfix) with ESMTP id A%d; %s\r\n"
                            "From: a@x.example\r\nTo: trap@dnsblkit.test\r\n"
                            "Subject: offer %d\r\nDate: %s\r\n"
                            "Message-ID: <%d.%s@x.example>\r\n\r\nbody\r\n",
                            ip, n, date, n, date, n, ip);
}

/* Report a spam and return the decision (the store write committed). */
static struct engine_decision feed(struct fixture *f, const char *ip, int n, const char *reporter,
                                   time_t now)
{
    char msg[1024];
    size_t len = spam(msg, sizeof(msg), ip, n, now);
    struct engine_decision d;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_report(&f->e, Z, msg, len, reporter, now, &d), 0);
    assert_int_equal(store_commit(f->st), 0);
    return d;
}

static struct netkey key4(const char *text)
{
    struct netkey k;
    assert_int_equal(netkey_parse(text, &k), 0);
    return k;
}

static struct engine_status status(struct fixture *f, const char *text, time_t now)
{
    struct engine_status s;
    struct netkey k = key4(text);
    assert_int_equal(engine_status(&f->e, Z, &k, now, &s), 0);
    return s;
}

static void test_reports_age_and_two_report_expiry(void **state)
{
    struct fixture *f = *state;
    struct engine_decision d = feed(f, "45.83.12.7", 1, "alice", T0);
    assert_int_equal(d.verdict, ENGINE_COUNTED);
    assert_true(d.score > 3.99 && d.score < 4.01);
    /* The second report a day later: the first weighs 2.5 by then. */
    d = feed(f, "45.83.12.7", 2, "bob", T0 + 24 * H);
    assert_int_equal(d.verdict, ENGINE_LISTED);
    assert_true(d.score > 6.49 && d.score < 6.51);
    assert_int_equal(d.code, 2);
    /* Only two reports: 12 h after the last. */
    assert_int_equal(d.expires, T0 + 36 * H);
    assert_true(status(f, "45.83.12.7", T0 + 36 * H - 1).listed);
    assert_false(status(f, "45.83.12.7", T0 + 36 * H).listed);
    /* A third report: 24 h after the last now. */
    d = feed(f, "45.83.12.7", 3, "carol", T0 + 30 * H);
    assert_int_equal(d.expires, T0 + 54 * H);
}

static void test_two_old_reports_do_not_list(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, "45.83.12.8", 1, "a", T0).verdict, ENGINE_COUNTED);
    /* Three days later the first is worth 1: 1 + 4 = 5 lists (two
     * reports); a week and a second later it is ignored: 4 does not. */
    assert_int_equal(feed(f, "45.83.12.8", 2, "b", T0 + 7 * D + 1).verdict, ENGINE_COUNTED);
}

static void test_trap_lists_then_sweep_closes(void **state)
{
    struct fixture *f = *state;
    struct engine_decision d = feed(f, "45.83.12.9", 1, NULL, T0);
    assert_int_equal(d.verdict, ENGINE_LISTED);
    assert_int_equal(d.traps, 1);
    assert_int_equal(d.expires, T0 + 24 * H);
    unsigned ended = 0;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_sweep(&f->e, Z, T0 + 24 * H - 1, &ended), 0);
    assert_int_equal(ended, 0);
    assert_int_equal(engine_sweep(&f->e, Z, T0 + 25 * H, &ended), 0);
    assert_int_equal(ended, 1);
    assert_int_equal(store_commit(f->st), 0);
    struct engine_status s = status(f, "45.83.12.9", T0 + 25 * H);
    assert_false(s.listed);
    /* It ended at its expiry, not when the sweep came by. */
    assert_int_equal(s.rec.total_listed, 24 * H);
    assert_int_equal(s.history_count, 1);
    assert_int_equal(s.history_secs, 24 * H);
    /* Listed again by the next hit: times_listed counts both. */
    feed(f, "45.83.12.9", 2, NULL, T0 + 26 * H);
    assert_int_equal(status(f, "45.83.12.9", T0 + 26 * H).rec.times_listed, 2);
}

static void test_duplicates_and_refusals(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, "45.83.12.10", 1, NULL, T0).verdict, ENGINE_LISTED);
    assert_int_equal(feed(f, "45.83.12.10", 1, NULL, T0 + 60).verdict, ENGINE_DUPLICATE);
    struct engine_decision d = feed(f, "10.1.2.3", 2, NULL, T0);
    assert_int_equal(d.verdict, ENGINE_REFUSED);
    assert_non_null(strstr(d.reason, "not a public address"));
    /* Mail older than max-report-age (48 h) does not count. */
    char msg[1024];
    size_t len = spam(msg, sizeof(msg), "45.83.12.11", 3, T0 - 49 * H);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_report(&f->e, Z, msg, len, NULL, T0, &d), 0);
    store_rollback(f->st);
    assert_int_equal(d.verdict, ENGINE_REFUSED);
    assert_non_null(strstr(d.reason, "too old"));
}

static void test_escalation_and_its_end(void **state)
{
    struct fixture *f = *state;
    char ip[32];
    for (int i = 1; i <= 4; i++) {
        snprintf(ip, sizeof(ip), "62.210.5.%d", i);
        assert_false(feed(f, ip, i, NULL, T0 + i).escalated);
    }
    assert_false(status(f, "62.210.5.99", T0 + 10).escalated);
    assert_true(feed(f, "62.210.5.5", 5, NULL, T0 + 5).escalated);
    struct engine_status s = status(f, "62.210.5.99", T0 + 10);
    assert_true(s.escalated);
    assert_int_equal(s.block.code, 3);
    /* The listings expire after a day, but were listed within 7 days:
     * the /24 stays until the week is over. */
    unsigned ended;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_sweep(&f->e, Z, T0 + 2 * D, &ended), 0);
    assert_int_equal(ended, 5);
    assert_true(status(f, "62.210.5.99", T0 + 2 * D).escalated);
    assert_int_equal(engine_sweep(&f->e, Z, T0 + 7 * D + 10, &ended), 0);
    assert_int_equal(ended, 1);
    assert_int_equal(store_commit(f->st), 0);
    assert_false(status(f, "62.210.5.99", T0 + 7 * D + 10).escalated);
}

static void test_allowlist_and_manual(void **state)
{
    struct fixture *f = *state;
    char why[200];
    struct netkey block = key4("104.16.0.0/16"), host = key4("104.16.1.1");
    assert_int_equal(feed(f, "104.16.1.1", 1, NULL, T0).verdict, ENGINE_LISTED);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_allow_add(&f->e, Z, &block, "cdn", T0 + 10), 0);
    assert_int_equal(engine_list_add(&f->e, Z, &host, 4, "x", 0, "op", T0 + 11, why, sizeof(why)),
                     ERR_EXISTS);
    assert_non_null(strstr(why, "allowlisted"));
    assert_int_equal(store_commit(f->st), 0);
    struct engine_status s = status(f, "104.16.1.1", T0 + 20);
    assert_false(s.listed);
    assert_true(s.allowlisted);
    assert_int_equal(feed(f, "104.16.1.1", 2, NULL, T0 + 30).verdict, ENGINE_REFUSED);
    /* A manual listing for an hour, then deleted by hand. */
    struct netkey other = key4("77.88.0.0/16");
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(
        engine_list_add(&f->e, Z, &other, 4, "range", 3600, "op", T0, why, sizeof(why)), 0);
    assert_int_equal(store_commit(f->st), 0);
    s = status(f, "77.88.0.0/16", T0 + 10);
    assert_true(s.listed && s.rec.manual);
    assert_int_equal(s.rec.code, 4);
    assert_int_equal(s.rec.expires_at, T0 + 3600);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_list_del(&f->e, Z, &other, "op", T0 + 20), 0);
    assert_int_equal(engine_list_del(&f->e, Z, &other, "op", T0 + 21), ERR_NOTFOUND);
    assert_int_equal(store_commit(f->st), 0);
    assert_false(status(f, "77.88.0.0/16", T0 + 30).listed);
}

static void test_self_removal_limit(void **state)
{
    struct fixture *f = *state;
    char why[200];
    struct netkey k = key4("45.83.12.20");
    feed(f, "45.83.12.20", 1, NULL, T0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_self_remove(&f->e, Z, &k, T0 + 10, why, sizeof(why)), 0);
    assert_int_equal(engine_self_remove(&f->e, Z, &k, T0 + 11, why, sizeof(why)), ERR_NOTFOUND);
    assert_int_equal(store_commit(f->st), 0);
    /* Relisted by the next hit; a second removal within 7 days refused,
     * allowed after. */
    assert_int_equal(feed(f, "45.83.12.20", 2, NULL, T0 + 20).verdict, ENGINE_LISTED);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_self_remove(&f->e, Z, &k, T0 + 30, why, sizeof(why)), ERR_LIMIT);
    assert_non_null(strstr(why, "removed already"));
    store_rollback(f->st);
    assert_int_equal(feed(f, "45.83.12.20", 3, NULL, T0 + 7 * D + 5).verdict, ENGINE_LISTED);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_self_remove(&f->e, Z, &k, T0 + 7 * D + 10, why, sizeof(why)), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(status(f, "45.83.12.20", T0 + 7 * D + 11).rec.removals, 2);
}

/* An operator's listing: evidence does not rewrite it, its owner cannot
 * remove it, addresses inside a listed block show as listed, and nothing
 * too wide or outside public space is taken. */
static void test_manual_listings_stand(void **state)
{
    struct fixture *f = *state;
    char why[200];
    struct netkey host = key4("45.83.12.30"), range = key4("77.88.0.0/16");
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(
        engine_list_add(&f->e, Z, &host, 4, "hijacked", 3600, "op", T0, why, sizeof(why)), 0);
    assert_int_equal(
        engine_list_add(&f->e, Z, &range, 6, "a bad range", 0, "op", T0, why, sizeof(why)), 0);
    struct netkey wide = key4("0.0.0.0/1"), priv = key4("10.0.0.0/8");
    assert_int_equal(engine_list_add(&f->e, Z, &wide, 2, "", 0, "op", T0, why, sizeof(why)),
                     ERR_LIMIT);
    assert_non_null(strstr(why, "wider than /8"));
    assert_int_equal(engine_list_add(&f->e, Z, &priv, 2, "", 0, "op", T0, why, sizeof(why)),
                     ERR_LIMIT);
    assert_non_null(strstr(why, "not (all) public"));
    assert_int_equal(store_commit(f->st), 0);

    struct engine_decision d = feed(f, "45.83.12.30", 1, NULL, T0 + 10);
    assert_int_equal(d.verdict, ENGINE_LISTED);
    assert_int_equal(d.code, 4);
    assert_int_equal(d.expires, T0 + 3600);
    struct engine_status s = status(f, "45.83.12.30", T0 + 20);
    assert_string_equal(s.rec.reason, "hijacked");
    assert_true(s.rec.manual);
    assert_int_equal(s.rec.traps, 1); /* the evidence is kept all the same */

    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_self_remove(&f->e, Z, &host, T0 + 30, why, sizeof(why)), ERR_LIMIT);
    assert_non_null(strstr(why, "operators"));
    assert_int_equal(engine_self_remove(&f->e, Z, &range, T0 + 30, why, sizeof(why)), ERR_LIMIT);
    store_rollback(f->st);

    s = status(f, "77.88.1.2", T0 + 40);
    assert_false(s.listed);
    assert_true(s.covered);
    assert_false(s.escalated);
    assert_int_equal(s.block.code, 6);
    assert_int_equal(s.block.key.bits, 16);
}

struct named {
    unsigned n;
    char name[16][64];
    uint64_t value[16];
};

static int collect_named(const char *name, uint64_t value, void *arg)
{
    struct named *c = arg;
    assert_true(c->n < 16);
    snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
    c->value[c->n++] = value;
    return 0;
}

static uint64_t counter(struct fixture *f, const char *name)
{
    struct named c = {0};
    assert_int_equal(store_counters(f->st, Z, collect_named, &c), 0);
    for (unsigned i = 0; i < c.n; i++)
        if (!strcmp(c.name[i], name))
            return c.value[i];
    return 0;
}

/* Every decision and every listing's start and end moves a counter. */
static void test_counters(void **state)
{
    struct fixture *f = *state;
    feed(f, "45.83.12.40", 1, NULL, T0);        /* listed */
    feed(f, "45.83.12.40", 1, NULL, T0 + 1);    /* duplicate */
    feed(f, "10.9.8.7", 2, NULL, T0 + 2);       /* refused: not public */
    feed(f, "45.83.12.41", 3, "alice", T0 + 3); /* counted */
    struct engine_decision d;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_report(&f->e, Z, "garbage", 7, NULL, T0 + 4, &d), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_string_equal(d.why, "unparsable");
    unsigned ended;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(engine_sweep(&f->e, Z, T0 + 2 * D, &ended), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(counter(f, "reports_listed"), 1);
    assert_int_equal(counter(f, "reports_duplicate"), 1);
    assert_int_equal(counter(f, "reports_counted"), 1);
    assert_int_equal(counter(f, "reports_refused"), 2);
    assert_int_equal(counter(f, "refused_not_public"), 1);
    assert_int_equal(counter(f, "refused_unparsable"), 1);
    assert_int_equal(counter(f, "listings_started"), 1);
    assert_int_equal(counter(f, "ended_expired"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reports_age_and_two_report_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_old_reports_do_not_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trap_lists_then_sweep_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_and_its_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowlist_and_manual, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_removal_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manual_listings_stand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
