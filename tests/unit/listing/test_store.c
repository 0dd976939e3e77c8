/* Unit tests for the listing database: schema handling, every table's
 * round trip, the change log's semantics, transactions, concurrent
 * writers, and that every acknowledged write survives kill -9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "listing/store.h"

#define Z "bl.example"
#define T0 ((time_t)1700000000)

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/dbk_store_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/listing.db", f->dir);
    char err[256];
    if (store_open(f->path, &f->st, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct netkey k4(uint32_t a, unsigned bits)
{
    return (struct netkey){.family = 4, .bits = (uint8_t)bits, .hi = a};
}

static struct netkey k6(uint64_t hi, unsigned bits)
{
    return (struct netkey){.family = 6, .bits = (uint8_t)bits, .hi = hi};
}

static bool key_eq(const struct netkey *a, const struct netkey *b)
{
    return a->family == b->family && a->bits == b->bits && a->hi == b->hi;
}

static struct store_listing listed(struct netkey k, uint8_t code, time_t expires)
{
    struct store_listing l = {.key = k, .code = code, .expires_at = expires};
    if (code) {
        l.listed_at = T0;
        l.times_listed = 1;
    }
    return l;
}

static int64_t pragma_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* ---- opening -------------------------------------------------------------- */

static void test_open_create(void **state)
{
    struct fixture *f = *state;
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(pragma_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    /* WAL mode is persistent in the file. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
    assert_string_equal(store_errmsg(f->st), "");

    /* Opening again an existing, current database migrates nothing. */
    struct store *again;
    char err[256];
    assert_int_equal(store_open(f->path, &again, err, sizeof(err)), 0);
    store_close(again);
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    struct store *st = (struct store *)1;
    char err[256], path[256];

    snprintf(path, sizeof(path), "%s/missing/dir/x.db", f->dir);
    assert_int_equal(store_open(path, &st, err, sizeof(err)), ERR_IO);
    assert_null(st);
    assert_memory_equal(err, path, strlen(path));
    assert_string_equal(err + strlen(path), ": unable to open database file");

    snprintf(path, sizeof(path), "%s/junk.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database. ", fp);
    fclose(fp);
    assert_int_equal(store_open(path, &st, err, sizeof(err)), ERR_IO);
    assert_null(st);
    assert_non_null(strstr(err, "file is not a database"));

    /* A tiny error buffer is not overrun, and none at all is accepted. */
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(store_open(path, &st, small, 4), ERR_IO);
    assert_int_equal(strlen(small), 3);
    assert_int_equal(small[4], 'x');
    assert_int_equal(store_open(path, &st, NULL, 0), ERR_IO);
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    struct store_listing l = listed(k4(0xc0000201, 32), 2, T0 + 3600);
    snprintf(l.reason, sizeof(l.reason), "two reports");
    assert_int_equal(store_put(f->st, Z, &l), 0);
    assert_int_equal(store_allow_add(f->st, Z, &(struct netkey){4, 24, 0xc6336400}, T0, "ours"), 0);
    store_close(f->st);
    f->st = NULL;

    char err[256];
    assert_int_equal(store_open(f->path, &f->st, err, sizeof(err)), 0);
    struct store_listing got;
    assert_int_equal(store_get(f->st, Z, &l.key, &got), 0);
    assert_int_equal(got.code, 2);
    assert_int_equal(got.expires_at, T0 + 3600);
    assert_string_equal(got.reason, "two reports");
    struct netkey block;
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0xc6336409}, &block), 0);
    assert_int_equal(block.hi, 0xc6336400);
    uint64_t seq;
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 2);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct store *st = NULL;
    char err[256], want[256];
    assert_int_equal(store_open(f->path, &st, err, sizeof(err)), ERR_UNSUPP);
    assert_null(st);
    snprintf(want, sizeof(want), "%s: schema version 7 is newer than this dnsblkit (%d)", f->path,
             STORE_SCHEMA_VERSION);
    assert_string_equal(err, want);
    /* Refusing does not touch the file. */
    assert_int_equal(pragma_int(f->path, "PRAGMA user_version"), 7);
}

static void test_migrates_empty_file(void **state)
{
    struct fixture *f = *state;
    /* A database made by someone else at version 0 (no tables) is
     * migrated, and tables are really created. */
    char path[256], err[256];
    snprintf(path, sizeof(path), "%s/v0.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE other (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *st;
    assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
    store_close(st);
    assert_int_equal(pragma_int(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                      "AND name IN ('listing', 'event', 'history', 'allow', "
                                      "'change')"),
                     5);
    assert_int_equal(pragma_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

/* ---- records ---------------------------------------------------------------- */

static void test_get_put_roundtrip(void **state)
{
    struct fixture *f = *state;
    const struct netkey keys[] = {
        k4(0x01020304, 32),
        k4(0xffffffff, 32),
        k4(0x0a000000, 8),
        k6(0x20010db800010002ull, 64),
        k6(0xfd00000000000000ull, 8), /* top bit set */
        k6(0xffffffffffffffffull, 64),
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct store_listing l = {
            .key = keys[i],
            .first_seen = T0 - 86400 - (time_t)i,
            .last_seen = T0 - 60,
            .reports = 4000000000u,
            .traps = 7 + (unsigned)i,
            .code = 255,
            .listed_at = T0 - 3600,
            .expires_at = T0 + 86400,
            .manual = i % 2 == 1,
            .times_listed = 3,
            .total_listed = (int64_t)1 << 40,
            .removals = 2,
            .last_removal = T0 - 7 * 86400,
        };
        /* A reason filling its array to the last byte. */
        memset(l.reason, 'a' + (int)i, sizeof(l.reason) - 1);
        assert_int_equal(store_put(f->st, Z, &l), 0);
        struct store_listing got;
        memset(&got, 0x5a, sizeof(got));
        assert_int_equal(store_get(f->st, Z, &keys[i], &got), 0);
        assert_true(key_eq(&got.key, &keys[i]));
        assert_int_equal(got.first_seen, l.first_seen);
        assert_int_equal(got.last_seen, l.last_seen);
        assert_int_equal(got.reports, l.reports);
        assert_int_equal(got.traps, l.traps);
        assert_int_equal(got.code, 255);
        assert_int_equal(got.listed_at, l.listed_at);
        assert_int_equal(got.expires_at, l.expires_at);
        assert_string_equal(got.reason, l.reason);
        assert_int_equal(got.manual, l.manual);
        assert_int_equal(got.times_listed, 3);
        assert_int_equal(got.total_listed, (int64_t)1 << 40);
        assert_int_equal(got.removals, 2);
        assert_int_equal(got.last_removal, l.last_removal);
    }
    /* Replacing a record. */
    struct store_listing l = {.key = keys[0], .reports = 1};
    assert_int_equal(store_put(f->st, Z, &l), 0);
    struct store_listing got;
    assert_int_equal(store_get(f->st, Z, &keys[0], &got), 0);
    assert_int_equal(got.reports, 1);
    assert_int_equal(got.code, 0);
    assert_string_equal(got.reason, "");

    /* Missing: zeroed, key set. The same key in another zone, another
     * family, another prefix length are all different records. */
    const struct netkey other[] = {k4(0x01020305, 32), k6(0x01020304, 64), k4(0x01020300, 24)};
    for (size_t i = 0; i < 3; i++) {
        memset(&got, 0x5a, sizeof(got));
        assert_int_equal(store_get(f->st, Z, &other[i], &got), ERR_NOTFOUND);
        assert_true(key_eq(&got.key, &other[i]));
        assert_int_equal(got.code, 0);
        assert_int_equal(got.reports, 0);
        assert_int_equal(got.reason[0], '\0');
    }
    assert_int_equal(store_get(f->st, "other.example", &keys[0], &got), ERR_NOTFOUND);
}

static void test_invalid_keys(void **state)
{
    struct fixture *f = *state;
    const struct netkey bad[] = {
        {4, 0, 0},           /* no prefix */
        {4, 33, 0},          /* too long */
        {4, 24, 0x01020304}, /* host bits under the prefix */
        {4, 32, 1ull << 32}, /* not an IPv4 value */
        {6, 65, 0},          {6, 48, 0x20010db800010002ull}, {5, 32, 0}, {0, 0, 0},
    };
    struct store_listing got;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(store_get(f->st, Z, &bad[i], &got), ERR_INVAL);
        struct store_listing l = {.key = bad[i], .code = 2};
        assert_int_equal(store_put(f->st, Z, &l), ERR_INVAL);
        struct store_event ev = {.when = T0, .kind = "report"};
        assert_int_equal(store_event_add(f->st, Z, &bad[i], &ev), ERR_INVAL);
        assert_int_equal(store_allow_add(f->st, Z, &bad[i], T0, ""), ERR_INVAL);
        struct netkey b;
        assert_int_equal(store_allow_find(f->st, Z, &bad[i], &b), ERR_INVAL);
    }
    struct netkey good = k4(0x01020304, 32);
    assert_int_equal(store_get(f->st, NULL, &good, &got), ERR_INVAL);
    uint64_t seq = 99;
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 0); /* nothing was written */
    assert_string_equal(store_errmsg(f->st), "invalid zone or key");
}

static void test_listed_now(void **state)
{
    (void)state;
    struct store_listing l = {.code = 2, .expires_at = T0};
    assert_true(store_listed_now(&l, T0 - 1));
    assert_false(store_listed_now(&l, T0));
    l.expires_at = 0;
    assert_true(store_listed_now(&l, T0 + 1000000));
    l.code = 0;
    assert_false(store_listed_now(&l, T0));
}

/* ---- the change log ----------------------------------------------------------- */

struct changes {
    size_t n;
    struct store_change c[32];
    int stop_at; /* return 7 from this call (1-based), 0 = never */
};

static int collect_change(const struct store_change *c, void *arg)
{
    struct changes *cs = arg;
    if (cs->n < 32)
        cs->c[cs->n] = *c;
    cs->n++;
    return (int)cs->n == cs->stop_at ? 7 : 0;
}

static void test_change_log(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k4(0x01020304, 32), b = k6(0xfd00000000000000ull, 64);
    uint64_t seq = 99;
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 0);

    struct store_listing l = {.key = a, .reports = 1};
    assert_int_equal(store_put(f->st, Z, &l), 0); /* new, not listed: no change */
    l.code = 2;
    l.expires_at = T0 + 100;
    assert_int_equal(store_put(f->st, Z, &l), 0); /* listed: change 1 */
    l.reports = 5;
    l.last_seen = T0;
    snprintf(l.reason, sizeof(l.reason), "more");
    assert_int_equal(store_put(f->st, Z, &l), 0); /* same listing: none */
    l.expires_at = T0 + 200;
    assert_int_equal(store_put(f->st, Z, &l), 0); /* longer: change 2 */
    l.code = 3;
    assert_int_equal(store_put(f->st, Z, &l), 0); /* escalated: change 3 */
    struct store_listing lb = listed(b, 2, 0);
    assert_int_equal(store_put(f->st, "other.example", &lb), 0); /* change 4, other zone */
    l.code = 0;
    l.expires_at = 0;
    assert_int_equal(store_put(f->st, Z, &l), 0); /* delisted: change 5 */
    assert_int_equal(store_put(f->st, Z, &l), 0); /* still delisted: none */

    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 5);
    assert_int_equal(store_last_change(f->st, "other.example", &seq), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(store_last_change(f->st, "none.example", &seq), 0);
    assert_int_equal(seq, 0);

    struct changes cs = {0};
    assert_int_equal(store_changes(f->st, Z, 0, collect_change, &cs), 0);
    assert_int_equal(cs.n, 4);
    const uint64_t seqs[] = {1, 2, 3, 5};
    const uint8_t codes[] = {2, 2, 3, 0};
    const time_t exps[] = {T0 + 100, T0 + 200, T0 + 200, 0};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(cs.c[i].seq, seqs[i]);
        assert_int_equal(cs.c[i].kind, STORE_CHANGE_LISTING);
        assert_true(key_eq(&cs.c[i].key, &a));
        assert_int_equal(cs.c[i].code, codes[i]);
        assert_int_equal(cs.c[i].expires_at, exps[i]);
    }
    cs = (struct changes){0};
    assert_int_equal(store_changes(f->st, Z, 2, collect_change, &cs), 0);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.c[0].seq, 3);
    assert_int_equal(cs.c[1].seq, 5);
    cs = (struct changes){0};
    assert_int_equal(store_changes(f->st, Z, 5, collect_change, &cs), 0);
    assert_int_equal(cs.n, 0);
    cs = (struct changes){0};
    assert_int_equal(store_changes(f->st, Z, UINT64_MAX, collect_change, &cs), 0);
    assert_int_equal(cs.n, 0);
    cs = (struct changes){.stop_at = 2};
    assert_int_equal(store_changes(f->st, Z, 0, collect_change, &cs), 7);
    assert_int_equal(cs.n, 2);
    cs = (struct changes){0};
    assert_int_equal(store_changes(f->st, "other.example", 0, collect_change, &cs), 0);
    assert_int_equal(cs.n, 1);
    assert_true(key_eq(&cs.c[0].key, &b));
    assert_int_equal(cs.c[0].code, 2);
    assert_int_equal(cs.c[0].expires_at, 0);
}

static void test_prune_changes(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < 3; i++) {
        struct store_listing l = listed(k4(0x01020300 + i, 32), 2, T0);
        assert_int_equal(store_put(f->st, Z, &l), 0);
    }
    time_t now = time(NULL);
    uint64_t seq;
    /* Changes are stamped with the wall clock: an hour ago keeps them. */
    assert_int_equal(store_prune_changes(f->st, now - 3600), 0);
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(store_prune_changes(f->st, now + 2), 0);
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 0);
    struct changes cs = {0};
    assert_int_equal(store_changes(f->st, Z, 0, collect_change, &cs), 0);
    assert_int_equal(cs.n, 0);
    /* Sequence numbers are never reused after a prune. */
    struct store_listing l = listed(k4(0x01020309, 32), 2, T0);
    assert_int_equal(store_put(f->st, Z, &l), 0);
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 4);
    /* The records themselves stay. */
    struct store_listing got;
    assert_int_equal(store_get(f->st, Z, &(struct netkey){4, 32, 0x01020300}, &got), 0);
}

/* ---- events -------------------------------------------------------------------- */

struct events {
    size_t n;
    struct store_event ev[16];
    int stop_at;
};

static int collect_event(const struct store_event *ev, void *arg)
{
    struct events *es = arg;
    if (es->n < 16)
        es->ev[es->n] = *ev;
    es->n++;
    return (int)es->n == es->stop_at ? -42 : 0;
}

static struct store_event event(time_t when, const char *kind, const char *hash)
{
    struct store_event ev = {.when = when};
    snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
    snprintf(ev.reporter, sizeof(ev.reporter), "user@example.net");
    snprintf(ev.hash, sizeof(ev.hash), "%s", hash);
    snprintf(ev.text, sizeof(ev.text), "Received: from [%s]", kind);
    return ev;
}

static void test_event_dedupe(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k4(0x01020304, 32), b = k4(0x01020305, 32);
    struct store_event ev = event(T0, "report", "sha256:aaaa");
    assert_int_equal(store_event_add(f->st, Z, &a, &ev), 0);
    /* The same message again, for any key of the zone, is refused. */
    ev.when = T0 + 10;
    assert_int_equal(store_event_add(f->st, Z, &a, &ev), ERR_EXISTS);
    assert_int_equal(store_event_add(f->st, Z, &b, &ev), ERR_EXISTS);
    assert_non_null(strstr(store_errmsg(f->st), "sha256:aaaa"));
    /* In another zone it is new. */
    assert_int_equal(store_event_add(f->st, "other.example", &a, &ev), 0);
    /* Events without a hash are never duplicates. */
    struct store_event trap = event(T0 + 20, "trap", "");
    assert_int_equal(store_event_add(f->st, Z, &a, &trap), 0);
    assert_int_equal(store_event_add(f->st, Z, &a, &trap), 0);

    struct events es = {0};
    assert_int_equal(store_events(f->st, Z, &a, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 3);
    assert_int_equal(es.ev[0].when, T0); /* the first one, unchanged */
    assert_string_equal(es.ev[0].hash, "sha256:aaaa");
    es = (struct events){0};
    assert_int_equal(store_events(f->st, Z, &b, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 0);

    /* A refused duplicate inside a transaction leaves the rest of it. */
    assert_int_equal(store_begin(f->st), 0);
    struct store_event fresh = event(T0 + 30, "report", "sha256:bbbb");
    assert_int_equal(store_event_add(f->st, Z, &b, &fresh), 0);
    assert_int_equal(store_event_add(f->st, Z, &b, &ev), ERR_EXISTS);
    assert_int_equal(store_commit(f->st), 0);
    es = (struct events){0};
    assert_int_equal(store_events(f->st, Z, &b, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 1);
    assert_string_equal(es.ev[0].hash, "sha256:bbbb");
}

static void test_prune_events(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k4(0x01020304, 32);
    struct store_event old = event(T0, "report", "sha256:old");
    struct store_event fresh = event(T0 + 100, "trap", "");
    assert_int_equal(store_event_add(f->st, Z, &a, &old), 0);
    assert_int_equal(store_event_add(f->st, "other.example", &a, &old), 0);
    assert_int_equal(store_event_add(f->st, Z, &a, &fresh), 0);
    assert_int_equal(store_prune_events(f->st, T0 + 100), 0);
    struct events es = {0};
    assert_int_equal(store_events(f->st, Z, &a, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 1);
    assert_int_equal(es.ev[0].when, T0 + 100);
    es = (struct events){0};
    assert_int_equal(store_events(f->st, "other.example", &a, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 0); /* every zone */
    /* A pruned message's hash is free again. */
    assert_int_equal(store_event_add(f->st, Z, &a, &old), 0);
}

/* A version 1 database (before the event time index and the counters)
 * is migrated to the current version with its data. */
static void test_migrates_v1(void **state)
{
    struct fixture *f = *state;
    struct store_listing l = listed(k4(0x01020304, 32), 2, T0);
    assert_int_equal(store_put(f->st, Z, &l), 0);
    store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DROP INDEX event_at; DROP TABLE counter; PRAGMA user_version = 1", NULL,
                     NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    char err[256];
    assert_int_equal(store_open(f->path, &f->st, err, sizeof(err)), 0);
    assert_int_equal(pragma_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(
        pragma_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'event_at'"), 1);
    assert_int_equal(
        pragma_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'counter'"), 1);
    struct store_listing got;
    assert_int_equal(store_get(f->st, Z, &l.key, &got), 0);
    assert_int_equal(got.code, 2);
}

struct counters {
    unsigned n;
    char name[8][64];
    uint64_t value[8];
};

static int collect_counter(const char *name, uint64_t value, void *arg)
{
    struct counters *c = arg;
    assert_true(c->n < 8);
    snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
    c->value[c->n++] = value;
    return 0;
}

/* Counters add up per zone, move with their transaction, and list by
 * name. */
static void test_counters(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_count(f->st, Z, "reports_listed", 1), 0);
    assert_int_equal(store_count(f->st, Z, "reports_listed", 2), 0);
    assert_int_equal(store_count(f->st, Z, "ended_expired", 5), 0);
    assert_int_equal(store_count(f->st, "other.example", "reports_listed", 7), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_count(f->st, Z, "reports_listed", 100), 0);
    store_rollback(f->st); /* a counter moves only with its write */
    assert_int_equal(store_count(f->st, Z, "", 1), ERR_INVAL);
    struct counters c = {0};
    assert_int_equal(store_counters(f->st, Z, collect_counter, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.name[0], "ended_expired");
    assert_int_equal(c.value[0], 5);
    assert_string_equal(c.name[1], "reports_listed");
    assert_int_equal(c.value[1], 3);
}

static void test_events_since(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k6(0x20010db800000001ull, 64);
    const time_t when[] = {T0 + 300, T0 - 86400 * 8, T0, T0 + 100, T0 - 1};
    for (size_t i = 0; i < 5; i++) {
        char hash[16];
        snprintf(hash, sizeof(hash), "h%zu", i);
        struct store_event ev = event(when[i], i % 2 ? "trap" : "report", hash);
        assert_int_equal(store_event_add(f->st, Z, &a, &ev), 0);
    }
    /* An event of a neighbouring key is not this key's. */
    struct store_event other = event(T0 + 50, "report", "");
    assert_int_equal(
        store_event_add(f->st, Z, &(struct netkey){6, 64, 0x20010db800000002ull}, &other), 0);

    struct events es = {0};
    assert_int_equal(store_events(f->st, Z, &a, T0, collect_event, &es), 0);
    assert_int_equal(es.n, 3);
    assert_int_equal(es.ev[0].when, T0);
    assert_int_equal(es.ev[1].when, T0 + 100);
    assert_int_equal(es.ev[2].when, T0 + 300);
    assert_string_equal(es.ev[0].hash, "h2");
    assert_string_equal(es.ev[0].kind, "report");
    assert_string_equal(es.ev[1].kind, "trap");
    assert_string_equal(es.ev[1].reporter, "user@example.net");
    assert_string_equal(es.ev[1].text, "Received: from [trap]");

    es = (struct events){0};
    assert_int_equal(store_events(f->st, Z, &a, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 5);
    assert_int_equal(es.ev[0].when, T0 - 86400 * 8);

    es = (struct events){.stop_at = 2};
    assert_int_equal(store_events(f->st, Z, &a, 0, collect_event, &es), -42);
    assert_int_equal(es.n, 2);
}

/* A callback may use the store, even the same query. */
struct nested {
    struct store *st;
    size_t outer, inner;
};

static int count_inner(const struct store_event *ev, void *arg)
{
    (void)ev;
    ((struct nested *)arg)->inner++;
    return 0;
}

static int nested_outer(const struct store_event *ev, void *arg)
{
    struct nested *n = arg;
    n->outer++;
    return store_events(n->st, Z, &(struct netkey){4, 32, 0x05060708}, ev->when, count_inner, n);
}

static void test_nested_walk(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k4(0x05060708, 32);
    for (int i = 0; i < 3; i++) {
        struct store_event ev = event(T0 + i, "report", "");
        assert_int_equal(store_event_add(f->st, Z, &a, &ev), 0);
    }
    struct nested n = {f->st, 0, 0};
    assert_int_equal(store_events(f->st, Z, &a, 0, nested_outer, &n), 0);
    assert_int_equal(n.outer, 3);
    assert_int_equal(n.inner, 3 + 2 + 1);
    /* And the cached statement still works afterwards. */
    n = (struct nested){f->st, 0, 0};
    assert_int_equal(store_events(f->st, Z, &a, T0 + 2, count_inner, &n), 0);
    assert_int_equal(n.inner, 1);
}

/* ---- history ------------------------------------------------------------------------ */

struct pasts {
    size_t n;
    struct store_past p[8];
};

static int collect_past(const struct store_past *p, void *arg)
{
    struct pasts *ps = arg;
    if (ps->n < 8)
        ps->p[ps->n] = *p;
    ps->n++;
    return 0;
}

static void test_history(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k4(0x01020304, 32);
    const struct store_past ps[] = {
        {T0 - 100, T0 + 50, 2, "expired"},
        {T0 - 900, T0 - 500, 2, "removed"},
        {T0, T0 + 10, 3, "deleted"},
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(store_history_add(f->st, Z, &a, &ps[i]), 0);
    assert_int_equal(store_history_add(f->st, Z, &(struct netkey){4, 32, 0x01020305}, &ps[0]), 0);

    struct pasts got = {0};
    assert_int_equal(store_history(f->st, Z, &a, 0, collect_past, &got), 0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.p[0].ended_at, T0 - 500);
    assert_string_equal(got.p[0].how, "removed");
    assert_int_equal(got.p[1].listed_at, T0);
    assert_int_equal(got.p[1].ended_at, T0 + 10);
    assert_int_equal(got.p[1].code, 3);
    assert_string_equal(got.p[1].how, "deleted");
    assert_int_equal(got.p[2].ended_at, T0 + 50);

    got = (struct pasts){0};
    assert_int_equal(store_history(f->st, Z, &a, T0 + 10, collect_past, &got), 0);
    assert_int_equal(got.n, 2);
    got = (struct pasts){0};
    assert_int_equal(store_history(f->st, "other.example", &a, 0, collect_past, &got), 0);
    assert_int_equal(got.n, 0);
}

/* ---- allowlist ------------------------------------------------------------------------ */

struct allows {
    size_t n;
    struct netkey k[8];
    time_t when[8];
    char note[8][32];
};

static int collect_allow(const struct netkey *block, time_t when, const char *note, void *arg)
{
    struct allows *as = arg;
    if (as->n < 8) {
        as->k[as->n] = *block;
        as->when[as->n] = when;
        snprintf(as->note[as->n], sizeof(as->note[0]), "%s", note);
    }
    as->n++;
    return 0;
}

static void test_allowlist(void **state)
{
    struct fixture *f = *state;
    const struct netkey b24 = k4(0xc0000200, 24), b8 = k4(0x0a000000, 8), in8 = k4(0x0a010200, 24),
                        side = k4(0x0a000500, 24), b48 = k6(0x20010db800010000ull, 48),
                        top = k6(0xfd12345600000000ull, 32);
    assert_int_equal(store_allow_add(f->st, Z, &b24, T0, "customer"), 0);
    assert_int_equal(store_allow_add(f->st, Z, &b8, T0 + 1, "rfc1918"), 0);
    assert_int_equal(store_allow_add(f->st, Z, &in8, T0 + 2, NULL), 0);
    assert_int_equal(store_allow_add(f->st, Z, &side, T0 + 3, "x"), 0);
    assert_int_equal(store_allow_add(f->st, Z, &b48, T0 + 4, "v6"), 0);
    assert_int_equal(store_allow_add(f->st, Z, &top, T0 + 5, "ula"), 0);

    struct netkey got;
    /* A /24 covers its /32s, and itself. */
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0xc0000207}, &got), 0);
    assert_true(key_eq(&got, &b24));
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0xc00002ff}, &got), 0);
    assert_int_equal(store_allow_find(f->st, Z, &b24, &got), 0);
    assert_true(key_eq(&got, &b24));
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0xc0000300}, &got),
                     ERR_NOTFOUND);
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0xc00001ff}, &got),
                     ERR_NOTFOUND);
    /* A wider key than the block is not covered. */
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 23, 0xc0000200}, &got),
                     ERR_NOTFOUND);
    /* Nested blocks: past blocks that end before the key to the /8. */
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0x0a090909}, &got), 0);
    assert_true(key_eq(&got, &b8));
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0x0a010203}, &got), 0);
    assert_true(key_eq(&got, &in8)); /* the innermost is found first */
    /* IPv6: a /48 covers a /64; top-bit keys order correctly. */
    assert_int_equal(
        store_allow_find(f->st, Z, &(struct netkey){6, 64, 0x20010db80001abcdull}, &got), 0);
    assert_true(key_eq(&got, &b48));
    assert_int_equal(
        store_allow_find(f->st, Z, &(struct netkey){6, 64, 0x20010db80002abcdull}, &got),
        ERR_NOTFOUND);
    assert_int_equal(
        store_allow_find(f->st, Z, &(struct netkey){6, 64, 0xfd123456ffff0001ull}, &got), 0);
    assert_true(key_eq(&got, &top));
    assert_int_equal(
        store_allow_find(f->st, Z, &(struct netkey){6, 64, 0xfd12345700000000ull}, &got),
        ERR_NOTFOUND);
    /* Families and zones are separate. */
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){6, 64, 0xc0000207}, &got),
                     ERR_NOTFOUND);
    assert_int_equal(
        store_allow_find(f->st, "other.example", &(struct netkey){4, 32, 0xc0000207}, &got),
        ERR_NOTFOUND);

    /* Re-adding replaces the note. */
    assert_int_equal(store_allow_add(f->st, Z, &b24, T0 + 9, "customer 2"), 0);

    struct allows as = {0};
    assert_int_equal(store_allow_foreach(f->st, Z, collect_allow, &as), 0);
    assert_int_equal(as.n, 6);
    const struct netkey order[] = {b8, side, in8, b24, b48, top};
    for (size_t i = 0; i < 6; i++)
        assert_true(key_eq(&as.k[i], &order[i]));
    assert_string_equal(as.note[3], "customer 2");
    assert_int_equal(as.when[3], T0 + 9);
    assert_string_equal(as.note[2], "");
    assert_string_equal(as.note[0], "rfc1918");

    assert_int_equal(store_allow_del(f->st, Z, &b24), 0);
    assert_int_equal(store_allow_del(f->st, Z, &b24), ERR_NOTFOUND);
    assert_int_equal(store_allow_del(f->st, "other.example", &b8), ERR_NOTFOUND);
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0xc0000207}, &got),
                     ERR_NOTFOUND);
    assert_int_equal(store_allow_del(f->st, Z, &in8), 0);
    assert_int_equal(store_allow_find(f->st, Z, &(struct netkey){4, 32, 0x0a010203}, &got), 0);
    assert_true(key_eq(&got, &b8));

    /* Every add and every delete that found a block is a change. */
    struct changes cs = {0};
    assert_int_equal(store_changes(f->st, Z, 0, collect_change, &cs), 0);
    assert_int_equal(cs.n, 9);
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(cs.c[i].kind, STORE_CHANGE_ALLOW);
    assert_true(key_eq(&cs.c[0].key, &b24));
    assert_int_equal(cs.c[0].code, 1);
    assert_true(key_eq(&cs.c[6].key, &b24));
    assert_int_equal(cs.c[6].code, 1);
    assert_true(key_eq(&cs.c[7].key, &b24));
    assert_int_equal(cs.c[7].code, 0);
    assert_true(key_eq(&cs.c[8].key, &in8));
    assert_int_equal(cs.c[8].code, 0);
}

/* ---- queries over a zone ---------------------------------------------------------------- */

struct listings {
    size_t n;
    struct store_listing l[16];
    struct store *st; /* set: close each listing from the callback */
    int stop_at;
};

static int collect_listing(const struct store_listing *l, void *arg)
{
    struct listings *ls = arg;
    if (ls->n < 16)
        ls->l[ls->n] = *l;
    ls->n++;
    if (ls->st) {
        struct store_listing closed = *l;
        closed.code = 0;
        closed.expires_at = 0;
        int rc = store_put(ls->st, Z, &closed);
        if (rc)
            return rc;
    }
    return (int)ls->n == ls->stop_at ? 5 : 0;
}

struct lives {
    size_t n;
    struct netkey k[16];
    uint8_t code[16];
    time_t expires[16];
};

static int collect_live(const struct netkey *key, uint8_t code, time_t expires_at, void *arg)
{
    struct lives *lv = arg;
    assert_true(lv->n < 16);
    lv->k[lv->n] = *key;
    lv->code[lv->n] = code;
    lv->expires[lv->n++] = expires_at;
    return 0;
}

static void test_foreach_listed(void **state)
{
    struct fixture *f = *state;
    const time_t now = T0;
    /* In scrambled order; the walk is by family, prefix length, value. */
    struct store_listing ls[] = {
        listed(k6(0xfd00000000000000ull, 64), 2, 0),
        listed(k4(0xc0000201, 32), 2, now + 1),
        listed(k4(0x0a000000, 8), 3, 0),
        listed(k6(0x20010db800000000ull, 64), 2, now + 100),
        listed(k4(0x01020304, 32), 2, now + 100),
        listed(k4(0x01020300, 24), 3, now + 100),
        listed(k4(0x7f000002, 32), 2, now),     /* expired right now */
        listed(k4(0x7f000003, 32), 2, now - 1), /* expired */
        listed(k4(0x7f000004, 32), 0, 0),       /* not listed */
        listed(k6(0x8000000000000000ull, 64), 2, 0),
    };
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        assert_int_equal(store_put(f->st, Z, &ls[i]), 0);
    assert_int_equal(store_put(f->st, "other.example", &ls[4]), 0);

    struct listings got = {0};
    assert_int_equal(store_foreach_listed(f->st, Z, now, collect_listing, &got), 0);
    const struct netkey order[] = {
        k4(0x0a000000, 8),
        k4(0x01020300, 24),
        k4(0x01020304, 32),
        k4(0xc0000201, 32),
        k6(0x20010db800000000ull, 64),
        k6(0x8000000000000000ull, 64),
        k6(0xfd00000000000000ull, 64),
    };
    assert_int_equal(got.n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_true(key_eq(&got.l[i].key, &order[i]));
    assert_int_equal(got.l[0].code, 3);
    assert_int_equal(got.l[3].expires_at, now + 1);

    /* The server's narrow walk sees the same records, keys and answers. */
    struct lives lv = {0};
    assert_int_equal(store_foreach_live(f->st, Z, now, collect_live, &lv), 0);
    assert_int_equal(lv.n, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_true(key_eq(&lv.k[i], &got.l[i].key));
        assert_int_equal(lv.code[i], got.l[i].code);
        assert_int_equal(lv.expires[i], got.l[i].expires_at);
    }

    /* One family and prefix length only. */
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed_bits(f->st, Z, 4, 32, now, collect_listing, &got), 0);
    assert_int_equal(got.n, 2);
    assert_true(key_eq(&got.l[0].key, &order[2]));
    assert_true(key_eq(&got.l[1].key, &order[3]));
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed_bits(f->st, Z, 4, 24, now, collect_listing, &got), 0);
    assert_int_equal(got.n, 1);
    assert_true(key_eq(&got.l[0].key, &order[1]));
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed_bits(f->st, Z, 6, 24, now, collect_listing, &got), 0);
    assert_int_equal(got.n, 0);

    /* A second later 192.0.2.1 has expired too. */
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed(f->st, Z, now + 1, collect_listing, &got), 0);
    assert_int_equal(got.n, 6);
    got = (struct listings){.stop_at = 3};
    assert_int_equal(store_foreach_listed(f->st, Z, now, collect_listing, &got), 5);
    assert_int_equal(got.n, 3);
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed(f->st, "none.example", now, collect_listing, &got), 0);
    assert_int_equal(got.n, 0);
}

/* The records of test_listed_page in walk order, and the ones it skips. */
static const time_t page_now = T0;

static void put_page_records(struct store *st)
{
    const time_t now = page_now;
    const struct store_listing ls[] = {
        listed(k6(0xfd00000000000000ull, 64), 2, 0),
        listed(k4(0xc0000201, 32), 2, now + 1),
        listed(k4(0x0a000000, 8), 3, 0),
        listed(k6(0x20010db800000000ull, 64), 2, now + 100),
        listed(k4(0x01020304, 32), 2, now + 100),
        listed(k4(0x01020300, 24), 3, now + 50),
        listed(k4(0x7f000002, 32), 2, now),     /* expired right now */
        listed(k4(0x7f000003, 32), 2, now - 1), /* expired */
        listed(k4(0x7f000004, 32), 0, now + 5), /* not listed, an old end kept */
        listed(k6(0x8000000000000000ull, 64), 2, 0),
    };
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        assert_int_equal(store_put(st, Z, &ls[i]), 0);
    /* Another zone's record, earlier than every one of Z's in key order
     * and with the earliest end. */
    struct store_listing other = listed(k4(0x01000000, 8), 2, now + 1);
    assert_int_equal(store_put(st, "other.example", &other), 0);
}

static const struct netkey page_order[] = {
    {4, 8, 0x0a000000},
    {4, 24, 0x01020300},
    {4, 32, 0x01020304},
    {4, 32, 0xc0000201},
    {6, 64, 0x20010db800000000ull},
    {6, 64, 0x8000000000000000ull},
    {6, 64, 0xfd00000000000000ull},
};
#define PAGE_N (sizeof(page_order) / sizeof(page_order[0]))

/* A page: `want` records from page_order[first] on. */
static void assert_page(struct store *st, const struct netkey *after, uint64_t offset,
                        unsigned limit, size_t first, size_t want)
{
    struct listings got = {0};
    assert_int_equal(
        store_foreach_listed_page(st, Z, page_now, after, offset, limit, collect_listing, &got), 0);
    assert_int_equal(got.n, want);
    for (size_t i = 0; i < want; i++)
        assert_true(key_eq(&got.l[i].key, &page_order[first + i]));
}

static void test_listed_page(void **state)
{
    struct fixture *f = *state;
    put_page_records(f->st);

    /* From the start: the whole walk, or its first records. */
    assert_page(f->st, NULL, 0, 100, 0, PAGE_N);
    assert_page(f->st, NULL, 0, 3, 0, 3);
    assert_page(f->st, NULL, 0, 0, 0, 0);
    assert_page(f->st, NULL, 5, 100, 5, 2);

    /* After each record: the rest, which chains pages to the full walk. */
    for (size_t i = 0; i < PAGE_N; i++) {
        assert_page(f->st, &page_order[i], 0, 100, i + 1, PAGE_N - i - 1);
        assert_page(f->st, &page_order[i], 0, 1, i + 1, i + 1 < PAGE_N);
    }

    /* After keys that are no record. Prefix length sorts before the
     * address: 11.0.0.0/8 comes before 1.2.3.0/24. */
    assert_page(f->st, &(struct netkey){4, 8, 0x0b000000}, 0, 100, 1, PAGE_N - 1);
    assert_page(f->st, &(struct netkey){4, 32, 0x01020301}, 0, 100, 2, PAGE_N - 2);
    assert_page(f->st, &(struct netkey){4, 1, 0x00000000}, 0, 100, 0, PAGE_N);
    /* Past the expired and unlisted 127.0.0.2-4 to 192.0.2.1. */
    assert_page(f->st, &(struct netkey){4, 32, 0x01020304}, 0, 1, 3, 1);
    assert_page(f->st, &(struct netkey){4, 32, 0x7f000003}, 0, 1, 3, 1);
    /* The last IPv4 address, then IPv6. */
    assert_page(f->st, &(struct netkey){4, 32, 0xffffffff}, 0, 100, 4, 3);
    assert_page(f->st, &(struct netkey){4, 24, 0xffffff00}, 0, 100, 2, PAGE_N - 2);
    /* IPv6 values on both sides of the stored sign bit compare as
     * unsigned: 7fff:... before 8000::, ffff:... after everything. */
    assert_page(f->st, &(struct netkey){6, 1, 0}, 0, 100, 4, 3);
    assert_page(f->st, &(struct netkey){6, 64, 0x7fffffffffffffffull}, 0, 100, 5, 2);
    assert_page(f->st, &(struct netkey){6, 1, 0x8000000000000000ull}, 0, 100, 4, 3);
    assert_page(f->st, &(struct netkey){6, 64, 0xffffffffffffffffull}, 0, 100, 0, 0);

    /* The offset counts from the cursor. */
    assert_page(f->st, &page_order[0], 2, 2, 3, 2);
    assert_page(f->st, &page_order[3], 2, 100, 6, 1);
    assert_page(f->st, &page_order[3], 3, 100, 0, 0);
    assert_page(f->st, NULL, PAGE_N, 100, 0, 0);
    assert_page(f->st, NULL, UINT64_MAX, 100, 0, 0);
    assert_page(f->st, &page_order[1], UINT64_MAX, 100, 0, 0);

    /* Expired at a later now: 192.0.2.1 (now + 1), then 1.2.3.0/24. */
    struct listings got = {0};
    assert_int_equal(store_foreach_listed_page(f->st, Z, page_now + 50, &page_order[0], 0, 100,
                                               collect_listing, &got),
                     0);
    assert_int_equal(got.n, 4);
    assert_true(key_eq(&got.l[0].key, &page_order[2]));
    assert_true(key_eq(&got.l[1].key, &page_order[4]));

    /* Another zone's records stay out, from the start or after a key. */
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed_page(f->st, "other.example", page_now, &page_order[0], 0,
                                               100, collect_listing, &got),
                     0);
    assert_int_equal(got.n, 0);
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed_page(f->st, "other.example", page_now, NULL, 0, 100,
                                               collect_listing, &got),
                     0);
    assert_int_equal(got.n, 1);
    assert_true(key_eq(&got.l[0].key, &(struct netkey){4, 8, 0x01000000}));

    /* The callback's stop, and bad cursors. */
    got = (struct listings){.stop_at = 2};
    assert_int_equal(
        store_foreach_listed_page(f->st, Z, page_now, NULL, 0, 100, collect_listing, &got), 5);
    assert_int_equal(got.n, 2);
    const struct netkey bad[] = {
        {4, 24, 0x01020304}, /* host bits */
        {4, 0, 0},           {4, 33, 0}, {6, 65, 0}, {5, 8, 0}, {4, 32, 0x100000000ull},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            store_foreach_listed_page(f->st, Z, page_now, &bad[i], 0, 1, collect_listing, &got),
            ERR_INVAL);
    assert_int_equal(
        store_foreach_listed_page(f->st, NULL, page_now, NULL, 0, 1, collect_listing, &got),
        ERR_INVAL);

    /* The full walk is the same walk: a nested page inside it works. */
    got = (struct listings){0};
    assert_int_equal(store_foreach_listed(f->st, Z, page_now, collect_listing, &got), 0);
    assert_int_equal(got.n, PAGE_N);
}

static void test_count_listed(void **state)
{
    struct fixture *f = *state;
    uint64_t n = 99;
    assert_int_equal(store_count_listed(f->st, Z, page_now, &n), 0);
    assert_int_equal(n, 0);
    put_page_records(f->st);
    assert_int_equal(store_count_listed(f->st, Z, page_now, &n), 0);
    assert_int_equal(n, PAGE_N);
    assert_int_equal(store_count_listed(f->st, Z, page_now + 1, &n), 0);
    assert_int_equal(n, PAGE_N - 1);
    assert_int_equal(store_count_listed(f->st, Z, page_now + 100, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(store_count_listed(f->st, "other.example", page_now, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_count_listed(f->st, "none.example", page_now, &n), 0);
    assert_int_equal(n, 0);
    /* Ending one listing counts at once. */
    struct store_listing l = listed(page_order[0], 0, 0);
    assert_int_equal(store_put(f->st, Z, &l), 0);
    assert_int_equal(store_count_listed(f->st, Z, page_now, &n), 0);
    assert_int_equal(n, PAGE_N - 1);
    assert_int_equal(store_count_listed(f->st, NULL, page_now, &n), ERR_INVAL);
}

static void test_next_expiry(void **state)
{
    struct fixture *f = *state;
    time_t at = 99;
    assert_int_equal(store_next_expiry(f->st, Z, page_now, &at), 0);
    assert_int_equal(at, 0);
    put_page_records(f->st);
    /* Ten seconds earlier 127.0.0.3 was still in force, ending first. */
    assert_int_equal(store_next_expiry(f->st, Z, page_now - 10, &at), 0);
    assert_int_equal(at, page_now - 1);
    /* Now: not the expired ones, not the unlisted one's end at now + 5,
     * not the other zone's. */
    assert_int_equal(store_next_expiry(f->st, Z, page_now, &at), 0);
    assert_int_equal(at, page_now + 1);
    assert_int_equal(store_next_expiry(f->st, Z, page_now + 1, &at), 0);
    assert_int_equal(at, page_now + 50);
    assert_int_equal(store_next_expiry(f->st, Z, page_now + 50, &at), 0);
    assert_int_equal(at, page_now + 100);
    /* After the last end: the ones left never end. */
    assert_int_equal(store_next_expiry(f->st, Z, page_now + 100, &at), 0);
    assert_int_equal(at, 0);
    assert_int_equal(store_next_expiry(f->st, "other.example", page_now, &at), 0);
    assert_int_equal(at, page_now + 1);
    assert_int_equal(store_next_expiry(f->st, NULL, page_now, &at), ERR_INVAL);
}

struct sweep {
    size_t n;
    time_t last;
};

static int sweep_check(const struct store_listing *l, void *arg)
{
    struct sweep *sw = arg;
    if (l->expires_at < sw->last)
        return -1;
    sw->last = l->expires_at;
    sw->n++;
    return 0;
}

static void test_foreach_expired(void **state)
{
    struct fixture *f = *state;
    const time_t now = T0;
    struct store_listing ls[] = {
        listed(k4(0x01000001, 32), 2, now - 10),
        listed(k4(0x01000002, 32), 2, now),
        listed(k4(0x01000003, 32), 2, now + 1),  /* still listed */
        listed(k4(0x01000004, 32), 2, 0),        /* never expires */
        listed(k4(0x01000005, 32), 0, now - 10), /* already closed */
        listed(k6(0x20010db800000000ull, 64), 2, now - 5),
    };
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        assert_int_equal(store_put(f->st, Z, &ls[i]), 0);
    struct store_listing elsewhere = listed(k4(0x01000009, 32), 2, now - 10);
    assert_int_equal(store_put(f->st, "other.example", &elsewhere), 0);

    struct listings got = {.stop_at = 1};
    assert_int_equal(store_foreach_expired(f->st, Z, now, collect_listing, &got), 5);
    assert_int_equal(got.n, 1);

    /* The sweep closes each one from the callback: each is seen once. */
    got = (struct listings){.st = f->st};
    assert_int_equal(store_foreach_expired(f->st, Z, now, collect_listing, &got), 0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.l[0].key.hi, 0x01000001); /* by expiry time */
    assert_int_equal(got.l[1].key.hi, 0x20010db800000000ull);
    assert_int_equal(got.l[2].key.hi, 0x01000002);
    got = (struct listings){0};
    assert_int_equal(store_foreach_expired(f->st, Z, now, collect_listing, &got), 0);
    assert_int_equal(got.n, 0);
    got = (struct listings){0};
    assert_int_equal(store_foreach_expired(f->st, Z, now + 1, collect_listing, &got), 0);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.l[0].key.hi, 0x01000003);

    /* A large sweep: every one seen once, in expiry order. */
    for (uint32_t i = 0; i < 500; i++) {
        struct store_listing l = listed(k4(0x02000000 + i, 32), 2, now - 1000 + (i * 7) % 500);
        assert_int_equal(store_put(f->st, "big.example", &l), 0);
    }
    struct sweep sw = {0};
    assert_int_equal(store_foreach_expired(f->st, "big.example", now, sweep_check, &sw), 0);
    assert_int_equal(sw.n, 500);
    assert_int_equal(sw.last, now - 1000 + 499);
}

static void test_count_listed24(void **state)
{
    struct fixture *f = *state;
    const time_t now = T0, since = T0 - 7 * 86400;
    struct store_listing ls[] = {
        listed(k4(0x01020301, 32), 2, now + 10), /* listed */
        listed(k4(0x01020302, 32), 2, 0),        /* listed */
        listed(k4(0x010203ff, 32), 2, now + 10), /* listed, last address */
        listed(k4(0x01020300, 32), 2, now + 10), /* listed, first address */
        listed(k4(0x01020303, 32), 2, now - 10), /* ended, started in the window */
        listed(k4(0x01020304, 32), 2, now - 10), /* ended, started before it */
        listed(k4(0x01020305, 32), 2, now + 10), /* manual */
        listed(k4(0x01020306, 32), 0, 0),        /* never listed */
        listed(k4(0x01020400, 32), 2, now + 10), /* next /24 */
        listed(k4(0x010202ff, 32), 2, now + 10), /* previous /24 */
        listed(k4(0x01020300, 24), 3, now + 10), /* the block itself */
    };
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        ls[i].listed_at = since - 100;
    ls[4].listed_at = since;
    ls[5].listed_at = since - 1;
    ls[6].manual = true;
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        assert_int_equal(store_put(f->st, Z, &ls[i]), 0);

    unsigned n = 99;
    const struct netkey net = k4(0x01020300, 24);
    assert_int_equal(store_count_listed24(f->st, Z, &net, now, since, &n), 0);
    assert_int_equal(n, 5);
    /* Later, the expiring ones end; the one that started in the window
     * still counts. */
    assert_int_equal(store_count_listed24(f->st, Z, &net, now + 10, since, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_count_listed24(f->st, Z, &net, now + 10, since + 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_count_listed24(f->st, "other.example", &net, now, since, &n), 0);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(
        store_count_listed24(f->st, Z, &(struct netkey){4, 32, 0x01020301}, now, since, &n),
        ERR_INVAL);
    assert_int_equal(store_count_listed24(f->st, Z, &(struct netkey){6, 24, 0x01020300ull << 32},
                                          now, since, &n),
                     ERR_INVAL);
    assert_int_equal(n, 99);
}

struct zones {
    size_t n;
    char z[8][32];
};

static int collect_zone(const char *zone, void *arg)
{
    struct zones *zs = arg;
    if (zs->n < 8)
        snprintf(zs->z[zs->n], sizeof(zs->z[0]), "%s", zone);
    zs->n++;
    return 0;
}

static void test_zones(void **state)
{
    struct fixture *f = *state;
    struct zones zs = {0};
    assert_int_equal(store_zones(f->st, collect_zone, &zs), 0);
    assert_int_equal(zs.n, 0);

    struct store_listing l = listed(k4(0x01020304, 32), 2, 0);
    assert_int_equal(store_put(f->st, "b.example", &l), 0);
    assert_int_equal(store_put(f->st, "d.example", &l), 0);
    l.key.hi++;
    assert_int_equal(store_put(f->st, "b.example", &l), 0);
    assert_int_equal(store_allow_add(f->st, "a.example", &l.key, T0, ""), 0);
    assert_int_equal(store_allow_add(f->st, "b.example", &l.key, T0, ""), 0);
    /* Events alone do not make a zone. */
    struct store_event ev = event(T0, "report", "");
    assert_int_equal(store_event_add(f->st, "e.example", &l.key, &ev), 0);

    zs = (struct zones){0};
    assert_int_equal(store_zones(f->st, collect_zone, &zs), 0);
    assert_int_equal(zs.n, 3);
    assert_string_equal(zs.z[0], "a.example");
    assert_string_equal(zs.z[1], "b.example");
    assert_string_equal(zs.z[2], "d.example");

    /* Many zones, in name order. */
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), "z%02d.example", 39 - i);
        assert_int_equal(store_put(f->st, name, &l), 0);
    }
    zs = (struct zones){0};
    assert_int_equal(store_zones(f->st, collect_zone, &zs), 0);
    assert_int_equal(zs.n, 43);
    assert_string_equal(zs.z[3], "z00.example");
    assert_string_equal(zs.z[4], "z01.example");
}

/* ---- transactions --------------------------------------------------------------------- */

static void test_rollback(void **state)
{
    struct fixture *f = *state;
    struct netkey a = k4(0x01020304, 32);
    struct store_listing l = listed(a, 2, T0 + 100);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, Z, &l), 0);
    struct store_event ev = event(T0, "report", "h1");
    assert_int_equal(store_event_add(f->st, Z, &a, &ev), 0);
    assert_int_equal(store_allow_add(f->st, Z, &a, T0, ""), 0);
    struct store_past p = {T0, T0 + 1, 2, "expired"};
    assert_int_equal(store_history_add(f->st, Z, &a, &p), 0);
    /* Visible inside the transaction... */
    struct store_listing got;
    assert_int_equal(store_get(f->st, Z, &a, &got), 0);
    /* ... and a nested begin is an error that leaves it open. */
    assert_int_equal(store_begin(f->st), ERR_IO);
    assert_non_null(strstr(store_errmsg(f->st), "within a transaction"));
    store_rollback(f->st);

    assert_int_equal(store_get(f->st, Z, &a, &got), ERR_NOTFOUND);
    struct events es = {0};
    assert_int_equal(store_events(f->st, Z, &a, 0, collect_event, &es), 0);
    assert_int_equal(es.n, 0);
    struct pasts ps = {0};
    assert_int_equal(store_history(f->st, Z, &a, 0, collect_past, &ps), 0);
    assert_int_equal(ps.n, 0);
    struct netkey b;
    assert_int_equal(store_allow_find(f->st, Z, &a, &b), ERR_NOTFOUND);
    uint64_t seq = 9;
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 0);
    /* The hash is free again. */
    assert_int_equal(store_event_add(f->st, Z, &a, &ev), 0);

    /* Rollback outside a transaction does nothing; commit is an error. */
    store_rollback(f->st);
    assert_int_equal(store_commit(f->st), ERR_IO);

    /* Committed writes stay. */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, Z, &l), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_get(f->st, Z, &a, &got), 0);
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_int_equal(seq, 1);
}

struct writer {
    const char *path;
    int rc;
};

static void *second_writer(void *arg)
{
    struct writer *w = arg;
    struct store *st;
    char err[256];
    w->rc = store_open(w->path, &st, err, sizeof(err));
    if (w->rc)
        return NULL;
    struct store_listing l = listed(k4(0x09090909, 32), 2, 0);
    /* Waits for the first writer's transaction instead of failing. */
    w->rc = store_put(st, Z, &l);
    store_close(st);
    return NULL;
}

static void test_concurrent_writers_wait(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->st), 0);
    struct store_listing l = listed(k4(0x08080808, 32), 2, 0);
    assert_int_equal(store_put(f->st, Z, &l), 0);

    struct writer w = {f->path, -100};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, second_writer, &w), 0);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(w.rc, 0); /* opened, and still waiting to write */
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, 0);

    struct store_listing got;
    assert_int_equal(store_get(f->st, Z, &(struct netkey){4, 32, 0x09090909}, &got), 0);
    struct changes cs = {0};
    assert_int_equal(store_changes(f->st, Z, 0, collect_change, &cs), 0);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.c[0].key.hi, 0x08080808);
    assert_int_equal(cs.c[1].key.hi, 0x09090909);
}

/* ---- durability ---------------------------------------------------------------------------- */

/* The child commits write i, then acknowledges it on the pipe. */
static void durability_child(const char *path, int fd)
{
    struct store *st;
    char err[256];
    if (store_open(path, &st, err, sizeof(err)) != 0)
        _exit(2);
    for (uint32_t i = 0; i < 10000000; i++) {
        struct store_listing l = listed(k4(0x0b000000 + i, 32), 2, T0 + i);
        l.reports = i;
        struct store_event ev = event(T0 + i, "report", "");
        if (store_begin(st) || store_put(st, Z, &l) || store_event_add(st, Z, &l.key, &ev) ||
            store_commit(st))
            _exit(3);
        if (write(fd, &i, sizeof(i)) != sizeof(i))
            _exit(4);
    }
    _exit(5);
}

static void test_durability_kill9(void **state)
{
    struct fixture *f = *state;
    store_close(f->st); /* no connection may cross fork() */
    f->st = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        durability_child(f->path, fds[1]);
    }
    close(fds[1]);
    enum { KILL_AFTER = 300 };
    uint32_t acked = 0, idx;
    while (acked < KILL_AFTER && read(fds[0], &idx, sizeof(idx)) == sizeof(idx)) {
        assert_int_equal(idx, acked);
        acked++;
    }
    assert_int_equal(acked, KILL_AFTER); /* the child was still running */
    assert_int_equal(kill(pid, SIGKILL), 0);
    /* Acknowledgements already in the pipe count too. */
    while (read(fds[0], &idx, sizeof(idx)) == sizeof(idx)) {
        assert_int_equal(idx, acked);
        acked++;
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    char err[256];
    assert_int_equal(store_open(f->path, &f->st, err, sizeof(err)), 0);
    for (uint32_t i = 0; i < acked; i++) {
        struct store_listing got;
        assert_int_equal(store_get(f->st, Z, &(struct netkey){4, 32, 0x0b000000 + i}, &got), 0);
        assert_int_equal(got.reports, i);
        assert_int_equal(got.expires_at, T0 + i);
        struct events es = {0};
        assert_int_equal(store_events(f->st, Z, &got.key, 0, collect_event, &es), 0);
        assert_int_equal(es.n, 1);
    }
    /* At most the one write in flight when killed got past its ack. */
    uint64_t seq;
    assert_int_equal(store_last_change(f->st, Z, &seq), 0);
    assert_true(seq == acked || seq == acked + 1);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* The metrics' counts: each table counted in its zone only, listings
 * only while in force. */
static void test_zone_counts(void **state)
{
    struct fixture *f = *state;
    const time_t now = T0;
    struct store_zone_counts n;
    assert_int_equal(store_zone_counts(f->st, Z, now, &n), 0);
    assert_int_equal(n.listed + n.allowlist + n.reports + n.traps + n.refused + n.ended, 0);

    const struct netkey a = k4(0x01020301, 32), gone = k4(0x01020303, 32), net = k4(0x0a000000, 8);
    const struct store_listing ls[] = {
        listed(a, 2, 0),                         /* until deleted */
        listed(k4(0x01020302, 32), 2, now + 10), /* ends later */
        listed(gone, 2, now - 10),               /* expired */
        listed(k4(0x01020304, 32), 0, 0),        /* known, not listed */
    };
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        assert_int_equal(store_put(f->st, Z, &ls[i]), 0);
    assert_int_equal(store_put(f->st, "other.example", &ls[0]), 0);
    const char *kinds[] = {"report", "report", "report", "trap", "trap", "refused", "add"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct store_event ev = event(now - (time_t)i, kinds[i], "");
        assert_int_equal(store_event_add(f->st, Z, &a, &ev), 0);
    }
    struct store_event other = event(now, "trap", "");
    assert_int_equal(store_event_add(f->st, "other.example", &a, &other), 0);
    assert_int_equal(store_allow_add(f->st, Z, &net, now, "ours"), 0);
    struct store_past p = {.listed_at = now - 100, .ended_at = now - 50, .code = 2};
    snprintf(p.how, sizeof(p.how), "expired");
    assert_int_equal(store_history_add(f->st, Z, &gone, &p), 0);
    assert_int_equal(store_history_add(f->st, Z, &gone, &p), 0);

    assert_int_equal(store_zone_counts(f->st, Z, now, &n), 0);
    assert_int_equal(n.listed, 2);
    assert_int_equal(n.allowlist, 1);
    assert_int_equal(n.reports, 3);
    assert_int_equal(n.traps, 2);
    assert_int_equal(n.refused, 1);
    assert_int_equal(n.ended, 2);
    /* Later, the one with an end is no longer in force. */
    assert_int_equal(store_zone_counts(f->st, Z, now + 10, &n), 0);
    assert_int_equal(n.listed, 1);
    assert_int_equal(store_zone_counts(f->st, "other.example", now, &n), 0);
    assert_int_equal(n.listed, 1);
    assert_int_equal(n.traps, 1);
    assert_int_equal(n.reports + n.allowlist + n.ended, 0);
    assert_int_equal(store_zone_counts(f->st, NULL, now, &n), ERR_INVAL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_create),
        T(test_open_errors),
        T(test_reopen_keeps_data),
        T(test_newer_schema_refused),
        T(test_migrates_empty_file),
        T(test_get_put_roundtrip),
        T(test_invalid_keys),
        cmocka_unit_test(test_listed_now),
        T(test_change_log),
        T(test_prune_changes),
        T(test_prune_events),
        T(test_migrates_v1),
        T(test_counters),
        T(test_event_dedupe),
        T(test_events_since),
        T(test_nested_walk),
        T(test_history),
        T(test_allowlist),
        T(test_foreach_listed),
        T(test_listed_page),
        T(test_count_listed),
        T(test_next_expiry),
        T(test_foreach_expired),
        T(test_count_listed24),
        T(test_zones),
        T(test_zone_counts),
        T(test_rollback),
        T(test_concurrent_writers_wait),
        T(test_durability_kill9),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
