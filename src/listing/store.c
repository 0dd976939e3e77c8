/* The listing database on SQLite: schema and migrations, cached statements,
 * records, events, history, allowlist and the change log. */
#include "listing/store.h"
#include "common/err.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Key values (netkey.hi, allow.lo/last) are stored as INTEGER, which
 * SQLite compares as signed 64-bit. They are stored with the top bit
 * flipped (v ^ 2^63), which maps unsigned order onto signed order, so an
 * index or ORDER BY on them is address order for IPv6 keys above
 * 8000::/1 too. The same encoding is used for both families. */
#define STORE_KEY_FLIP 0x8000000000000000ull

/* Migration i brings a database from user_version i to i + 1. Each runs
 * in its own transaction; never edit one that has shipped, add the next. */
static const char *const store_migrations[] = {
    /* 1: everything. */
    "CREATE TABLE listing ("
    " zone TEXT NOT NULL, fam INTEGER NOT NULL, bits INTEGER NOT NULL, hi INTEGER NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " reports INTEGER NOT NULL, traps INTEGER NOT NULL, code INTEGER NOT NULL,"
    " listed_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, reason TEXT NOT NULL,"
    " manual INTEGER NOT NULL, times_listed INTEGER NOT NULL, total_listed INTEGER NOT NULL,"
    " removals INTEGER NOT NULL, last_removal INTEGER NOT NULL,"
    " PRIMARY KEY (zone, fam, bits, hi)) WITHOUT ROWID, STRICT;"
    /* The sweep's query: listings that end, by end time. */
    "CREATE INDEX listing_expiry ON listing (zone, expires_at) WHERE code != 0;"
    "CREATE TABLE event ("
    " id INTEGER PRIMARY KEY, zone TEXT NOT NULL, fam INTEGER NOT NULL, bits INTEGER NOT NULL,"
    " hi INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, reporter TEXT NOT NULL,"
    " hash TEXT NOT NULL, text TEXT NOT NULL) STRICT;"
    "CREATE INDEX event_key ON event (zone, fam, bits, hi, at);"
    "CREATE UNIQUE INDEX event_hash ON event (zone, hash) WHERE hash != '';"
    "CREATE TABLE history ("
    " zone TEXT NOT NULL, fam INTEGER NOT NULL, bits INTEGER NOT NULL, hi INTEGER NOT NULL,"
    " listed_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, code INTEGER NOT NULL,"
    " how TEXT NOT NULL) STRICT;"
    "CREATE INDEX history_key ON history (zone, fam, bits, hi, ended_at);"
    /* lo/last: the first and last key value the block covers, so that
     * finding the block over a key is one range query on allow_range. */
    "CREATE TABLE allow ("
    " zone TEXT NOT NULL, fam INTEGER NOT NULL, bits INTEGER NOT NULL, hi INTEGER NOT NULL,"
    " lo INTEGER NOT NULL, last INTEGER NOT NULL, added INTEGER NOT NULL, note TEXT NOT NULL,"
    " PRIMARY KEY (zone, fam, bits, hi)) WITHOUT ROWID, STRICT;"
    "CREATE INDEX allow_range ON allow (zone, fam, lo);"
    /* AUTOINCREMENT: a sequence number is never reused, even after the
     * newest changes were pruned, so a follower never misses one. */
    "CREATE TABLE change ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, zone TEXT NOT NULL, at INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, fam INTEGER NOT NULL, bits INTEGER NOT NULL, hi INTEGER NOT NULL,"
    " code INTEGER NOT NULL, expires_at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX change_zone ON change (zone, seq);"
    "CREATE INDEX change_at ON change (at);",
    /* 2: pruning old events by time. */
    "CREATE INDEX event_at ON event (at);",
    /* 3: counters for the metrics, kept with the writes they count. */
    "CREATE TABLE counter ("
    " zone TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,"
    " PRIMARY KEY (zone, name)) WITHOUT ROWID, STRICT;",
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration per schema version");

#define STORE_LISTING_COLS                                                                         \
    "fam, bits, hi, first_seen, last_seen, reports, traps, code, listed_at, expires_at, reason, "  \
    "manual, times_listed, total_listed, removals, last_removal"
#define STORE_KEY_MATCH "zone = ?1 AND fam = ?2 AND bits = ?3 AND hi = ?4"

enum store_sql {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_GET,
    S_GET_LISTING,
    S_PUT,
    S_CHANGE_ADD,
    S_EVENT_ADD,
    S_EVENTS,
    S_HISTORY_ADD,
    S_HISTORY,
    S_ALLOW_ADD,
    S_ALLOW_DEL,
    S_ALLOW_FIND,
    S_ALLOW_FOREACH,
    S_LISTED,
    S_LISTED_BITS,
    S_COUNT_LISTED,
    S_NEXT_EXPIRY,
    S_LIVE,
    S_EXPIRED,
    S_COUNT24,
    S_ZONES,
    S_LAST_CHANGE,
    S_CHANGES,
    S_PRUNE,
    S_PRUNE_EVENTS,
    S_COUNTER_ADD,
    S_COUNTERS,
    S_ZONE_COUNTS,
    S_COUNT
};

static const char *const store_sql_text[S_COUNT] = {
    /* The metrics' numbers: listings in force through listing_expiry,
     * events by kind through event_key's zone prefix. */
    [S_ZONE_COUNTS] = "SELECT (SELECT count(*) FROM listing WHERE zone = ?1 AND code != 0 "
                      "AND (expires_at = 0 OR expires_at > ?2)), "
                      "(SELECT count(*) FROM allow WHERE zone = ?1), "
                      "(SELECT count(*) FROM event WHERE zone = ?1 AND kind = 'report'), "
                      "(SELECT count(*) FROM event WHERE zone = ?1 AND kind = 'trap'), "
                      "(SELECT count(*) FROM event WHERE zone = ?1 AND kind = 'refused'), "
                      "(SELECT count(*) FROM history WHERE zone = ?1)",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT store_op",
    [S_RELEASE] = "RELEASE store_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_op",
    [S_GET] = "SELECT " STORE_LISTING_COLS " FROM listing WHERE " STORE_KEY_MATCH,
    [S_GET_LISTING] = "SELECT code, expires_at FROM listing WHERE " STORE_KEY_MATCH,
    [S_PUT] = "INSERT OR REPLACE INTO listing (zone, " STORE_LISTING_COLS ") VALUES "
              "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    [S_CHANGE_ADD] = "INSERT INTO change (zone, at, kind, fam, bits, hi, code, expires_at) "
                     "VALUES (?1, ?5, ?6, ?2, ?3, ?4, ?7, ?8)",
    [S_EVENT_ADD] = "INSERT INTO event (zone, fam, bits, hi, at, kind, reporter, hash, text) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_EVENTS] = "SELECT at, kind, reporter, hash, text FROM event WHERE " STORE_KEY_MATCH
                 " AND at >= ?5 ORDER BY at, id",
    [S_HISTORY_ADD] = "INSERT INTO history (zone, fam, bits, hi, listed_at, ended_at, code, how) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_HISTORY] = "SELECT listed_at, ended_at, code, how FROM history WHERE " STORE_KEY_MATCH
                  " AND ended_at >= ?5 ORDER BY ended_at, rowid",
    [S_ALLOW_ADD] = "INSERT OR REPLACE INTO allow (zone, fam, bits, hi, lo, last, added, note) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_ALLOW_DEL] = "DELETE FROM allow WHERE " STORE_KEY_MATCH,
    /* Blocks nest or are disjoint: walking down from the key's first
     * value, the first block that reaches past its last value covers it. */
    [S_ALLOW_FIND] = "SELECT fam, bits, hi FROM allow WHERE zone = ?1 AND fam = ?2 AND lo <= ?3 "
                     "AND last >= ?4 ORDER BY lo DESC LIMIT 1",
    [S_ALLOW_FOREACH] = "SELECT fam, bits, hi, added, note FROM allow WHERE zone = ?1 "
                        "ORDER BY fam, lo, bits",
    /* Primary-key order: no sort, however many records. The row value
     * (?3, ?4, ?5) is a cursor: the walk starts at the first key after
     * it, a seek in the primary key, so a page deep in a zone costs what
     * the first one does. OFFSET skips rows one by one; LIMIT -1 is all. */
    [S_LISTED] = "SELECT " STORE_LISTING_COLS " FROM listing WHERE zone = ?1 "
                 "AND (fam, bits, hi) > (?3, ?4, ?5) AND code != 0 "
                 "AND (expires_at = 0 OR expires_at > ?2) ORDER BY zone, fam, bits, hi "
                 "LIMIT ?6 OFFSET ?7",
    /* One prefix length of one family: a range of the primary key. */
    [S_LISTED_BITS] = "SELECT " STORE_LISTING_COLS " FROM listing WHERE zone = ?1 AND fam = ?3 "
                      "AND bits = ?4 AND code != 0 AND (expires_at = 0 OR expires_at > ?2) "
                      "ORDER BY zone, fam, bits, hi",
    /* What a server loads: the key and the answer, nothing else. */
    [S_LIVE] = "SELECT fam, bits, hi, code, expires_at FROM listing WHERE zone = ?1 AND code != 0 "
               "AND (expires_at = 0 OR expires_at > ?2) ORDER BY zone, fam, bits, hi",
    /* NOT INDEXED: listing_expiry would qualify, but it does not hold
     * `code`, so the count would look up every row through the primary
     * key, 40 times slower (5 s at 1M) than reading the rows in order. */
    [S_COUNT_LISTED] = "SELECT count(*) FROM listing NOT INDEXED WHERE zone = ?1 AND code != 0 "
                       "AND (expires_at = 0 OR expires_at > ?2)",
    /* The first entry of listing_expiry past now: one seek. */
    [S_NEXT_EXPIRY] = "SELECT min(expires_at) FROM listing WHERE zone = ?1 AND code != 0 "
                      "AND expires_at > ?2",
    [S_EXPIRED] = "SELECT " STORE_LISTING_COLS " FROM listing WHERE zone = ?1 AND code != 0 "
                  "AND expires_at > 0 AND expires_at <= ?2 ORDER BY expires_at",
    [S_COUNT24] = "SELECT count(*) FROM listing WHERE zone = ?1 AND fam = 4 AND bits = 32 "
                  "AND hi BETWEEN ?2 AND ?3 AND manual = 0 AND ((code != 0 AND (expires_at = 0 "
                  "OR expires_at > ?4)) OR (listed_at != 0 AND listed_at >= ?5))",
    /* Distinct zones by repeated index seeks, not by a scan of every
     * record. */
    [S_ZONES] = "WITH RECURSIVE"
                " lz(z) AS (SELECT min(zone) FROM listing UNION ALL"
                "  SELECT (SELECT min(zone) FROM listing WHERE zone > lz.z) FROM lz"
                "  WHERE lz.z IS NOT NULL),"
                " az(z) AS (SELECT min(zone) FROM allow UNION ALL"
                "  SELECT (SELECT min(zone) FROM allow WHERE zone > az.z) FROM az"
                "  WHERE az.z IS NOT NULL)"
                " SELECT z FROM lz WHERE z IS NOT NULL UNION SELECT z FROM az WHERE z IS NOT NULL"
                " ORDER BY 1",
    [S_LAST_CHANGE] = "SELECT max(seq) FROM change WHERE zone = ?1",
    [S_CHANGES] = "SELECT seq, kind, fam, bits, hi, code, expires_at FROM change "
                  "WHERE zone = ?1 AND seq > ?2 ORDER BY seq",
    [S_PRUNE] = "DELETE FROM change WHERE at < ?1",
    [S_PRUNE_EVENTS] = "DELETE FROM event WHERE at < ?1",
    [S_COUNTER_ADD] = "INSERT INTO counter (zone, name, value) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (zone, name) DO UPDATE SET value = value + excluded.value",
    [S_COUNTERS] = "SELECT name, value FROM counter WHERE zone = ?1 ORDER BY name",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    char msg[256];
};

static int64_t store_enc(uint64_t v)
{
    v ^= STORE_KEY_FLIP;
    int64_t s;
    memcpy(&s, &v, sizeof(s));
    return s;
}

static uint64_t store_dec(int64_t s)
{
    uint64_t v;
    memcpy(&v, &s, sizeof(v));
    return v ^ STORE_KEY_FLIP;
}

static unsigned store_width(const struct netkey *k)
{
    return k->family == 4 ? 32 : 64;
}

/* The key values past the prefix, as a mask. */
static uint64_t store_host_mask(const struct netkey *k)
{
    unsigned w = store_width(k);
    return k->bits >= w ? 0 : (w == 64 ? ~0ull : 0xffffffffull) >> k->bits;
}

static bool store_key_valid(const struct netkey *k)
{
    if (!k || (k->family != 4 && k->family != 6))
        return false;
    if (k->bits < 1 || k->bits > store_width(k))
        return false;
    if (k->family == 4 && k->hi > 0xffffffffull)
        return false;
    return (k->hi & store_host_mask(k)) == 0;
}

static int store_invalid(struct store *st, const char *what)
{
    snprintf(st->msg, sizeof(st->msg), "%s", what);
    return ERR_INVAL;
}

/* Record SQLite's message and map its code to ours. */
static int store_sqlite_err(struct store *st, int rc)
{
    snprintf(st->msg, sizeof(st->msg), "%s", sqlite3_errmsg(st->db));
    return (rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;
}

/* The cached statement, prepared on first use. A walk's callback may call
 * the function that runs the walk: the cached statement is then busy and
 * a private one is prepared for the nested call (store_release finalizes
 * it). */
static sqlite3_stmt *store_acquire(struct store *st, enum store_sql id)
{
    sqlite3_stmt **slot = &st->stmt[id];
    if (*slot && !sqlite3_stmt_busy(*slot))
        return *slot;
    sqlite3_stmt *s = NULL;
    unsigned flags = *slot ? 0 : SQLITE_PREPARE_PERSISTENT;
    int rc = sqlite3_prepare_v3(st->db, store_sql_text[id], -1, flags, &s, NULL);
    if (rc != SQLITE_OK) {
        store_sqlite_err(st, rc);
        return NULL;
    }
    if (!*slot)
        *slot = s;
    return s;
}

static void store_release(struct store *st, enum store_sql id, sqlite3_stmt *s)
{
    if (!s)
        return;
    if (s != st->stmt[id]) {
        sqlite3_finalize(s);
        return;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Step once: SQLITE_ROW, SQLITE_DONE, or a negative error. */
static int store_step(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc;
    return store_sqlite_err(st, rc);
}

/* Run a statement without parameters or rows. */
static int store_run(struct store *st, enum store_sql id)
{
    sqlite3_stmt *s = store_acquire(st, id);
    if (!s)
        return ERR_IO;
    int rc = store_step(st, s);
    store_release(st, id, s);
    return rc < 0 ? rc : 0;
}

/* Bind zone and key as ?1..?4 (every keyed statement's first four). */
static void store_bind_key(sqlite3_stmt *s, const char *zone, const struct netkey *k)
{
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, k->family);
    sqlite3_bind_int(s, 3, k->bits);
    sqlite3_bind_int64(s, 4, store_enc(k->hi));
}

/* Bind a fixed-size text field, which may fill its array. */
static void store_bind_field(sqlite3_stmt *s, int i, const char *text, size_t size)
{
    sqlite3_bind_text(s, i, text, (int)strnlen(text, size), SQLITE_STATIC);
}

static void store_read_field(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void store_read_key(sqlite3_stmt *s, int col, struct netkey *k)
{
    *k = (struct netkey){0};
    k->family = (uint8_t)sqlite3_column_int(s, col);
    k->bits = (uint8_t)sqlite3_column_int(s, col + 1);
    k->hi = store_dec(sqlite3_column_int64(s, col + 2));
}

static unsigned store_read_count(sqlite3_stmt *s, int col)
{
    int64_t v = sqlite3_column_int64(s, col);
    return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

/* A row selected as STORE_LISTING_COLS. */
static void store_read_listing(sqlite3_stmt *s, struct store_listing *l)
{
    memset(l, 0, sizeof(*l));
    store_read_key(s, 0, &l->key);
    l->first_seen = (time_t)sqlite3_column_int64(s, 3);
    l->last_seen = (time_t)sqlite3_column_int64(s, 4);
    l->reports = store_read_count(s, 5);
    l->traps = store_read_count(s, 6);
    l->code = (uint8_t)sqlite3_column_int(s, 7);
    l->listed_at = (time_t)sqlite3_column_int64(s, 8);
    l->expires_at = (time_t)sqlite3_column_int64(s, 9);
    store_read_field(s, 10, l->reason, sizeof(l->reason));
    l->manual = sqlite3_column_int(s, 11) != 0;
    l->times_listed = store_read_count(s, 12);
    l->total_listed = sqlite3_column_int64(s, 13);
    l->removals = store_read_count(s, 14);
    l->last_removal = (time_t)sqlite3_column_int64(s, 15);
}

/* ---- opening ------------------------------------------------------------- */

static int store_pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(s, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* WAL lets the server read while ingest writes. An in-memory database
 * (tests of other modules) has no journal file and answers "memory". */
static int store_wal(sqlite3 *db, char *mode, size_t size)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(s, 0);
            snprintf(mode, size, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* One migration step in its own transaction: 1 when it migrated, 0 when
 * the schema is current. A current schema is seen without the write lock
 * (opening must not wait for a writer); an old one is read again inside
 * the transaction, as another process may have migrated meanwhile. */
static int store_migrate_step(sqlite3 *db, const char *path, char *err, size_t errsz)
{
    int64_t version = 0;
    int ret = ERR_IO;
    int rc = store_pragma_int(db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version < STORE_SCHEMA_VERSION) {
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = store_pragma_int(db, "PRAGMA user_version", &version);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errsz, "%s: %s", path, sqlite3_errmsg(db));
        goto exit;
    }
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errsz, "%s: schema version %lld is newer than this dnsblkit (%d)", path,
                 (long long)version, STORE_SCHEMA_VERSION);
        ret = ERR_UNSUPP;
        goto exit;
    }
    if (version < 0) {
        snprintf(err, errsz, "%s: bad schema version %lld", path, (long long)version);
        ret = ERR_INVAL;
        goto exit;
    }
    char set[64] = "";
    if (version < STORE_SCHEMA_VERSION) {
        snprintf(set, sizeof(set), "PRAGMA user_version = %lld", (long long)version + 1);
        rc = sqlite3_exec(db, store_migrations[version], NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, set, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && !sqlite3_get_autocommit(db))
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errsz, "%s: migration to schema version %lld: %s", path,
                 (long long)version + 1, sqlite3_errmsg(db));
        goto exit;
    }
    return version < STORE_SCHEMA_VERSION;
exit:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

#define STORE_PRAGMAS                                                                              \
    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384"

int store_cache_size(struct store *st, unsigned mib)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%u", mib * 1024u);
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : ERR_IO;
}

int store_open(const char *path, struct store **out, char *err, size_t errsz)
{
    char dummy[1];
    if (!err || errsz == 0) {
        err = dummy;
        errsz = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    if (!path)
        return ERR_INVAL;
    int ret = ERR_IO;
    struct store *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errsz, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    int rc = sqlite3_open_v2(
        path, &st->db, SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errsz, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        ret = rc == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    /* The timeout first: setting WAL mode itself takes a lock. A 16 MiB
     * page cache (default 2 MiB) halves the time of bulk writes into a
     * million records; more gained little. */
    char mode[16] = "";
    rc = sqlite3_busy_timeout(st->db, 10000);
    if (rc == SQLITE_OK)
        rc = store_wal(st->db, mode, sizeof(mode));
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, STORE_PRAGMAS, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errsz, "%s: %s", path, sqlite3_errmsg(st->db));
        goto fail;
    }
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        snprintf(err, errsz, "%s: cannot use WAL mode (journal mode is %s)", path, mode);
        goto fail;
    }
    while ((ret = store_migrate_step(st->db, path, err, errsz)) > 0)
        ;
    if (ret < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    store_close(st);
    return ret;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

const char *store_errmsg(const struct store *st)
{
    return st->msg;
}

/* ---- transactions ------------------------------------------------------- */

int store_begin(struct store *st)
{
    return store_run(st, S_BEGIN);
}

int store_commit(struct store *st)
{
    return store_run(st, S_COMMIT);
}

void store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        store_run(st, S_ROLLBACK);
}

/* An operation of several statements is atomic: its own transaction
 * outside the caller's, a savepoint inside one. */
static int store_op_begin(struct store *st, bool *own)
{
    *own = sqlite3_get_autocommit(st->db) != 0;
    return store_run(st, *own ? S_BEGIN : S_SAVEPOINT);
}

static int store_op_end(struct store *st, bool own, int ret)
{
    if (ret == 0) {
        ret = store_run(st, own ? S_COMMIT : S_RELEASE);
        if (ret == 0)
            return 0;
    }
    if (own) {
        store_run(st, S_ROLLBACK);
    } else {
        store_run(st, S_ROLLBACK_TO);
        store_run(st, S_RELEASE);
    }
    return ret;
}

/* ---- records ------------------------------------------------------------- */

int store_get(struct store *st, const char *zone, const struct netkey *key,
              struct store_listing *out)
{
    if (!zone || !store_key_valid(key))
        return store_invalid(st, "invalid zone or key");
    sqlite3_stmt *s = store_acquire(st, S_GET);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, key);
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW) {
        store_read_listing(s, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        memset(out, 0, sizeof(*out));
        out->key = *key;
        rc = ERR_NOTFOUND;
    }
    store_release(st, S_GET, s);
    return rc;
}

static int store_log_change(struct store *st, const char *zone, enum store_change_kind kind,
                            const struct netkey *key, uint8_t code, time_t expires_at)
{
    sqlite3_stmt *s = store_acquire(st, S_CHANGE_ADD);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, key);
    sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
    sqlite3_bind_int(s, 6, kind);
    sqlite3_bind_int(s, 7, code);
    sqlite3_bind_int64(s, 8, (int64_t)expires_at);
    int rc = store_step(st, s);
    store_release(st, S_CHANGE_ADD, s);
    return rc < 0 ? rc : 0;
}

/* Whether writing l changes what the server answers: 1 yes, 0 no. */
static int store_listing_changed(struct store *st, const char *zone, const struct store_listing *l)
{
    sqlite3_stmt *s = store_acquire(st, S_GET_LISTING);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, &l->key);
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW)
        rc = sqlite3_column_int(s, 0) != l->code ||
             sqlite3_column_int64(s, 1) != (int64_t)l->expires_at;
    else if (rc == SQLITE_DONE)
        rc = l->code != 0;
    store_release(st, S_GET_LISTING, s);
    return rc;
}

int store_put(struct store *st, const char *zone, const struct store_listing *l)
{
    if (!zone || !l || !store_key_valid(&l->key))
        return store_invalid(st, "invalid zone or key");
    bool own;
    int ret = store_op_begin(st, &own);
    if (ret < 0)
        return ret;
    int changed = store_listing_changed(st, zone, l);
    if (changed < 0) {
        ret = changed;
        goto exit;
    }
    sqlite3_stmt *s = store_acquire(st, S_PUT);
    if (!s) {
        ret = ERR_IO;
        goto exit;
    }
    store_bind_key(s, zone, &l->key);
    sqlite3_bind_int64(s, 5, (int64_t)l->first_seen);
    sqlite3_bind_int64(s, 6, (int64_t)l->last_seen);
    sqlite3_bind_int64(s, 7, l->reports);
    sqlite3_bind_int64(s, 8, l->traps);
    sqlite3_bind_int(s, 9, l->code);
    sqlite3_bind_int64(s, 10, (int64_t)l->listed_at);
    sqlite3_bind_int64(s, 11, (int64_t)l->expires_at);
    store_bind_field(s, 12, l->reason, sizeof(l->reason));
    sqlite3_bind_int(s, 13, l->manual);
    sqlite3_bind_int64(s, 14, l->times_listed);
    sqlite3_bind_int64(s, 15, l->total_listed);
    sqlite3_bind_int64(s, 16, l->removals);
    sqlite3_bind_int64(s, 17, (int64_t)l->last_removal);
    ret = store_step(st, s);
    store_release(st, S_PUT, s);
    if (ret < 0)
        goto exit;
    ret = changed
              ? store_log_change(st, zone, STORE_CHANGE_LISTING, &l->key, l->code, l->expires_at)
              : 0;
exit:
    return store_op_end(st, own, ret);
}

bool store_listed_now(const struct store_listing *l, time_t now)
{
    return l->code != 0 && (l->expires_at == 0 || l->expires_at > now);
}

/* ---- events ----------------------------------------------------------------- */

int store_event_add(struct store *st, const char *zone, const struct netkey *key,
                    const struct store_event *ev)
{
    if (!zone || !ev || !store_key_valid(key))
        return store_invalid(st, "invalid zone or key");
    sqlite3_stmt *s = store_acquire(st, S_EVENT_ADD);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, key);
    sqlite3_bind_int64(s, 5, (int64_t)ev->when);
    store_bind_field(s, 6, ev->kind, sizeof(ev->kind));
    store_bind_field(s, 7, ev->reporter, sizeof(ev->reporter));
    store_bind_field(s, 8, ev->hash, sizeof(ev->hash));
    store_bind_field(s, 9, ev->text, sizeof(ev->text));
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        snprintf(st->msg, sizeof(st->msg), "event %.*s already recorded", 72, ev->hash);
        ret = ERR_EXISTS;
    } else if (rc != SQLITE_DONE) {
        ret = store_sqlite_err(st, rc);
    }
    store_release(st, S_EVENT_ADD, s);
    return ret;
}

int store_events(struct store *st, const char *zone, const struct netkey *key, time_t since,
                 int (*cb)(const struct store_event *ev, void *arg), void *arg)
{
    if (!zone || !cb || !store_key_valid(key))
        return store_invalid(st, "invalid zone or key");
    sqlite3_stmt *s = store_acquire(st, S_EVENTS);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, key);
    sqlite3_bind_int64(s, 5, (int64_t)since);
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        struct store_event ev = {.when = (time_t)sqlite3_column_int64(s, 0)};
        store_read_field(s, 1, ev.kind, sizeof(ev.kind));
        store_read_field(s, 2, ev.reporter, sizeof(ev.reporter));
        store_read_field(s, 3, ev.hash, sizeof(ev.hash));
        store_read_field(s, 4, ev.text, sizeof(ev.text));
        if ((ret = cb(&ev, arg)) != 0)
            break;
    }
    store_release(st, S_EVENTS, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}

/* ---- history ----------------------------------------------------------------- */

int store_history_add(struct store *st, const char *zone, const struct netkey *key,
                      const struct store_past *p)
{
    if (!zone || !p || !store_key_valid(key))
        return store_invalid(st, "invalid zone or key");
    sqlite3_stmt *s = store_acquire(st, S_HISTORY_ADD);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, key);
    sqlite3_bind_int64(s, 5, (int64_t)p->listed_at);
    sqlite3_bind_int64(s, 6, (int64_t)p->ended_at);
    sqlite3_bind_int(s, 7, p->code);
    store_bind_field(s, 8, p->how, sizeof(p->how));
    int rc = store_step(st, s);
    store_release(st, S_HISTORY_ADD, s);
    return rc < 0 ? rc : 0;
}

int store_history(struct store *st, const char *zone, const struct netkey *key, time_t since,
                  int (*cb)(const struct store_past *p, void *arg), void *arg)
{
    if (!zone || !cb || !store_key_valid(key))
        return store_invalid(st, "invalid zone or key");
    sqlite3_stmt *s = store_acquire(st, S_HISTORY);
    if (!s)
        return ERR_IO;
    store_bind_key(s, zone, key);
    sqlite3_bind_int64(s, 5, (int64_t)since);
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        struct store_past p = {
            .listed_at = (time_t)sqlite3_column_int64(s, 0),
            .ended_at = (time_t)sqlite3_column_int64(s, 1),
            .code = (uint8_t)sqlite3_column_int(s, 2),
        };
        store_read_field(s, 3, p.how, sizeof(p.how));
        if ((ret = cb(&p, arg)) != 0)
            break;
    }
    store_release(st, S_HISTORY, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}

/* ---- allowlist ---------------------------------------------------------------- */

int store_allow_add(struct store *st, const char *zone, const struct netkey *block, time_t when,
                    const char *note)
{
    if (!zone || !store_key_valid(block))
        return store_invalid(st, "invalid zone or block");
    bool own;
    int ret = store_op_begin(st, &own);
    if (ret < 0)
        return ret;
    sqlite3_stmt *s = store_acquire(st, S_ALLOW_ADD);
    if (!s) {
        ret = ERR_IO;
        goto exit;
    }
    store_bind_key(s, zone, block);
    sqlite3_bind_int64(s, 5, store_enc(block->hi));
    sqlite3_bind_int64(s, 6, store_enc(block->hi | store_host_mask(block)));
    sqlite3_bind_int64(s, 7, (int64_t)when);
    sqlite3_bind_text(s, 8, note ? note : "", -1, SQLITE_STATIC);
    ret = store_step(st, s);
    store_release(st, S_ALLOW_ADD, s);
    if (ret >= 0)
        ret = store_log_change(st, zone, STORE_CHANGE_ALLOW, block, 1, 0);
exit:
    return store_op_end(st, own, ret);
}

int store_allow_del(struct store *st, const char *zone, const struct netkey *block)
{
    if (!zone || !store_key_valid(block))
        return store_invalid(st, "invalid zone or block");
    bool own;
    int ret = store_op_begin(st, &own);
    if (ret < 0)
        return ret;
    sqlite3_stmt *s = store_acquire(st, S_ALLOW_DEL);
    if (!s) {
        ret = ERR_IO;
        goto exit;
    }
    store_bind_key(s, zone, block);
    ret = store_step(st, s);
    store_release(st, S_ALLOW_DEL, s);
    if (ret < 0)
        goto exit;
    if (sqlite3_changes(st->db) == 0) {
        snprintf(st->msg, sizeof(st->msg), "no such allowlist block");
        ret = ERR_NOTFOUND;
        goto exit;
    }
    ret = store_log_change(st, zone, STORE_CHANGE_ALLOW, block, 0, 0);
exit:
    return store_op_end(st, own, ret);
}

int store_allow_find(struct store *st, const char *zone, const struct netkey *key,
                     struct netkey *block)
{
    if (!zone || !store_key_valid(key))
        return store_invalid(st, "invalid zone or key");
    sqlite3_stmt *s = store_acquire(st, S_ALLOW_FIND);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, key->family);
    sqlite3_bind_int64(s, 3, store_enc(key->hi));
    sqlite3_bind_int64(s, 4, store_enc(key->hi | store_host_mask(key)));
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW) {
        store_read_key(s, 0, block);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = ERR_NOTFOUND;
    }
    store_release(st, S_ALLOW_FIND, s);
    return rc;
}

int store_allow_foreach(struct store *st, const char *zone,
                        int (*cb)(const struct netkey *block, time_t when, const char *note,
                                  void *arg),
                        void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, S_ALLOW_FOREACH);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        struct netkey k;
        store_read_key(s, 0, &k);
        const unsigned char *note = sqlite3_column_text(s, 4);
        if ((ret = cb(&k, (time_t)sqlite3_column_int64(s, 3), note ? (const char *)note : "",
                      arg)) != 0)
            break;
    }
    store_release(st, S_ALLOW_FOREACH, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}

/* ---- queries over a zone ----------------------------------------------------- */

/* Call cb for each row of s, a statement selecting STORE_LISTING_COLS
 * (bound by the caller), and release it: the one walk of every query
 * that reads whole records. */
static int store_walk_listings(struct store *st, enum store_sql which, sqlite3_stmt *s,
                               int (*cb)(const struct store_listing *l, void *arg), void *arg)
{
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        struct store_listing l;
        store_read_listing(s, &l);
        if ((ret = cb(&l, arg)) != 0)
            break;
    }
    store_release(st, which, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}

/* S_LISTED: records in force after the key `after` (NULL: from the
 * first), past `offset` of them, at most `limit` (-1: all). */
static int store_walk_listed(struct store *st, const char *zone, time_t now,
                             const struct netkey *after, uint64_t offset, int64_t limit,
                             int (*cb)(const struct store_listing *l, void *arg), void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    if (after && !store_key_valid(after))
        return store_invalid(st, "invalid key to start after");
    sqlite3_stmt *s = store_acquire(st, S_LISTED);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)now);
    /* From the start: before every key, as no family is 0. */
    sqlite3_bind_int(s, 3, after ? after->family : 0);
    sqlite3_bind_int(s, 4, after ? after->bits : 0);
    sqlite3_bind_int64(s, 5, after ? store_enc(after->hi) : INT64_MIN);
    sqlite3_bind_int64(s, 6, limit);
    sqlite3_bind_int64(s, 7, offset > INT64_MAX ? INT64_MAX : (int64_t)offset);
    return store_walk_listings(st, S_LISTED, s, cb, arg);
}

int store_foreach_listed(struct store *st, const char *zone, time_t now,
                         int (*cb)(const struct store_listing *l, void *arg), void *arg)
{
    return store_walk_listed(st, zone, now, NULL, 0, -1, cb, arg);
}

int store_foreach_listed_page(struct store *st, const char *zone, time_t now,
                              const struct netkey *after, uint64_t offset, unsigned limit,
                              int (*cb)(const struct store_listing *l, void *arg), void *arg)
{
    return store_walk_listed(st, zone, now, after, offset, limit, cb, arg);
}

int store_foreach_listed_bits(struct store *st, const char *zone, int family, unsigned bits,
                              time_t now, int (*cb)(const struct store_listing *l, void *arg),
                              void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, S_LISTED_BITS);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)now);
    sqlite3_bind_int(s, 3, family);
    sqlite3_bind_int(s, 4, (int)bits);
    return store_walk_listings(st, S_LISTED_BITS, s, cb, arg);
}

/* One count or extreme of a zone at `now` (?1, ?2): 0 and *out, or an
 * error. NULL (no rows) reads as 0. */
static int store_zone_number(struct store *st, enum store_sql which, const char *zone, time_t now,
                             int64_t *out)
{
    *out = 0;
    if (!zone)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, which);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)now);
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = store_invalid(st, "count returned no row");
    }
    store_release(st, which, s);
    return rc;
}

int store_count_listed(struct store *st, const char *zone, time_t now, uint64_t *count)
{
    int64_t n;
    int rc = store_zone_number(st, S_COUNT_LISTED, zone, now, &n);
    *count = n < 0 ? 0 : (uint64_t)n;
    return rc;
}

int store_next_expiry(struct store *st, const char *zone, time_t now, time_t *at)
{
    int64_t t;
    int rc = store_zone_number(st, S_NEXT_EXPIRY, zone, now, &t);
    *at = (time_t)t;
    return rc;
}

struct store_listings {
    struct store_listing *v;
    size_t n, cap;
};

static int store_collect(const struct store_listing *l, void *arg)
{
    struct store_listings *c = arg;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        struct store_listing *nv = realloc(c->v, ncap * sizeof(*nv));
        if (!nv)
            return ERR_NOMEM;
        c->v = nv;
        c->cap = ncap;
    }
    c->v[c->n++] = *l;
    return 0;
}

int store_foreach_expired(struct store *st, const char *zone, time_t now,
                          int (*cb)(const struct store_listing *l, void *arg), void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    /* Read the whole set before the first callback: the sweep's callback
     * closes each listing (writes the row), which a running query over
     * the same table would see or not, undefined. */
    struct store_listings c = {0};
    sqlite3_stmt *s = store_acquire(st, S_EXPIRED);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)now);
    int rc = store_walk_listings(st, S_EXPIRED, s, store_collect, &c);
    for (size_t i = 0; i < c.n && rc == 0; i++)
        rc = cb(&c.v[i], arg);
    free(c.v);
    return rc;
}

int store_count_listed24(struct store *st, const char *zone, const struct netkey *net, time_t now,
                         time_t since, unsigned *count)
{
    if (!zone || !store_key_valid(net) || net->family != 4 || net->bits != 24)
        return store_invalid(st, "invalid zone or /24");
    sqlite3_stmt *s = store_acquire(st, S_COUNT24);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, store_enc(net->hi));
    sqlite3_bind_int64(s, 3, store_enc(net->hi | 0xff));
    sqlite3_bind_int64(s, 4, (int64_t)now);
    sqlite3_bind_int64(s, 5, (int64_t)since);
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW) {
        *count = (unsigned)sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = store_invalid(st, "count returned no row");
    }
    store_release(st, S_COUNT24, s);
    return rc;
}

int store_zone_counts(struct store *st, const char *zone, time_t now, struct store_zone_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (!zone)
        return store_invalid(st, "no zone");
    sqlite3_stmt *s = store_acquire(st, S_ZONE_COUNTS);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)now);
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW) {
        out->listed = (uint64_t)sqlite3_column_int64(s, 0);
        out->allowlist = (uint64_t)sqlite3_column_int64(s, 1);
        out->reports = (uint64_t)sqlite3_column_int64(s, 2);
        out->traps = (uint64_t)sqlite3_column_int64(s, 3);
        out->refused = (uint64_t)sqlite3_column_int64(s, 4);
        out->ended = (uint64_t)sqlite3_column_int64(s, 5);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = store_invalid(st, "count returned no row");
    }
    store_release(st, S_ZONE_COUNTS, s);
    return rc;
}

int store_zones(struct store *st, int (*cb)(const char *zone, void *arg), void *arg)
{
    if (!cb)
        return store_invalid(st, "no callback");
    /* Collected first, as the sweep writes in each zone from the callback. */
    char **zones = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = store_acquire(st, S_ZONES);
    if (!s)
        return ERR_IO;
    int rc;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nz = realloc(zones, ncap * sizeof(*zones));
            if (!nz) {
                rc = ERR_NOMEM;
                break;
            }
            zones = nz;
            cap = ncap;
        }
        const unsigned char *z = sqlite3_column_text(s, 0);
        if (!(zones[n] = strdup(z ? (const char *)z : ""))) {
            rc = ERR_NOMEM;
            break;
        }
        n++;
    }
    store_release(st, S_ZONES, s);
    if (rc != SQLITE_DONE)
        goto exit;
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cb(zones[i], arg);
exit:
    for (size_t i = 0; i < n; i++)
        free(zones[i]);
    free(zones);
    return rc;
}

/* ---- the change log ------------------------------------------------------------ */

int store_last_change(struct store *st, const char *zone, uint64_t *seq)
{
    if (!zone)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, S_LAST_CHANGE);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    int rc = store_step(st, s);
    if (rc == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(s, 0); /* NULL (no change) reads as 0 */
        *seq = v < 0 ? 0 : (uint64_t)v;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        *seq = 0;
        rc = 0;
    }
    store_release(st, S_LAST_CHANGE, s);
    return rc;
}

int store_changes(struct store *st, const char *zone, uint64_t after,
                  int (*cb)(const struct store_change *c, void *arg), void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, S_CHANGES);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, after > INT64_MAX ? INT64_MAX : (int64_t)after);
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        struct store_change c = {
            .seq = (uint64_t)sqlite3_column_int64(s, 0),
            .kind = (enum store_change_kind)sqlite3_column_int(s, 1),
            .code = (uint8_t)sqlite3_column_int(s, 5),
            .expires_at = (time_t)sqlite3_column_int64(s, 6),
        };
        store_read_key(s, 2, &c.key);
        if ((ret = cb(&c, arg)) != 0)
            break;
    }
    store_release(st, S_CHANGES, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}

int store_prune_changes(struct store *st, time_t before)
{
    sqlite3_stmt *s = store_acquire(st, S_PRUNE);
    if (!s)
        return ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)before);
    int rc = store_step(st, s);
    store_release(st, S_PRUNE, s);
    return rc < 0 ? rc : 0;
}

int store_prune_events(struct store *st, time_t before)
{
    sqlite3_stmt *s = store_acquire(st, S_PRUNE_EVENTS);
    if (!s)
        return ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)before);
    int rc = store_step(st, s);
    store_release(st, S_PRUNE_EVENTS, s);
    return rc < 0 ? rc : 0;
}

int store_foreach_live(struct store *st, const char *zone, time_t now,
                       int (*cb)(const struct netkey *key, uint8_t code, time_t expires_at,
                                 void *arg),
                       void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, S_LIVE);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)now);
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        struct netkey k;
        store_read_key(s, 0, &k);
        if ((ret = cb(&k, (uint8_t)sqlite3_column_int(s, 3), (time_t)sqlite3_column_int64(s, 4),
                      arg)) != 0)
            break;
    }
    store_release(st, S_LIVE, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}

void store_trim(struct store *st)
{
    sqlite3_db_release_memory(st->db);
}

int store_count(struct store *st, const char *zone, const char *name, uint64_t delta)
{
    if (!zone || !name || !name[0])
        return store_invalid(st, "invalid zone or counter");
    sqlite3_stmt *s = store_acquire(st, S_COUNTER_ADD);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)delta);
    int rc = store_step(st, s);
    store_release(st, S_COUNTER_ADD, s);
    return rc < 0 ? rc : 0;
}

int store_counters(struct store *st, const char *zone,
                   int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
    if (!zone || !cb)
        return store_invalid(st, "invalid zone");
    sqlite3_stmt *s = store_acquire(st, S_COUNTERS);
    if (!s)
        return ERR_IO;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
    int rc, ret = 0;
    while ((rc = store_step(st, s)) == SQLITE_ROW) {
        char name[64];
        store_read_field(s, 0, name, sizeof(name));
        if ((ret = cb(name, (uint64_t)sqlite3_column_int64(s, 1), arg)) != 0)
            break;
    }
    store_release(st, S_COUNTERS, s);
    return ret != 0 ? ret : rc < 0 ? rc : 0;
}
