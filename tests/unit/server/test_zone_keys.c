/* Unit tests for keyed access: the key file's syntax and its refusals
 * (file:line), lookups without case, change checks; then a keyed zone in
 * a snapshot: known, unknown and missing keys, the apex with and without
 * a key, '$' in TXT, the ACL's precedence, the per-zone counter, and
 * reloads that take, keep or refuse a new key file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "server/answer.h"
#include "server/snapshot.h"
#include "server/zone_keys.h"

/* A key as the wire label a query carries (lower case already). */
static const uint8_t *label(const char *text)
{
    static uint8_t buf[1 + 256];
    size_t n = strlen(text);
    assert_true(n < 256);
    buf[0] = (uint8_t)n;
    memcpy(buf + 1, text, n);
    return buf;
}

static struct zone_keys *parse_ok(const char *text)
{
    struct zone_keys *k;
    char err[256] = "";
    int rc = zone_keys_parse(text, strlen(text), "keys.txt", &k, err, sizeof(err));
    if (rc != 0)
        fail_msg("zone_keys_parse: %s", err);
    return k;
}

static void test_parse_and_lookup(void **state)
{
    (void)state;
    struct zone_keys *k =
        parse_ok("# customers\n"
                 "\n"
                 "alpha123key\n"
                 "  Bravo-456-KEY   # second customer\r\n"
                 "charlie_789#no blank before the comment\n"
                 "alpha123key\n" /* twice: counted once */
                 "\t\n"
                 "d0123456789012345678901234567890123456789012345678901234567890x");
    assert_int_equal(k->count, 4);
    assert_true(zone_keys_has(k, label("alpha123key")));
    /* Keys compare without case: the file's capitals, a query's lower case. */
    assert_true(zone_keys_has(k, label("bravo-456-key")));
    assert_true(zone_keys_has(k, label("charlie_789")));
    assert_true(zone_keys_has(k, label("d0123456789012345678901234567890123456789012345678901234"
                                       "567890x")));
    assert_false(zone_keys_has(k, label("alpha123ke")));
    assert_false(zone_keys_has(k, label("alpha123keyy")));
    assert_false(zone_keys_has(k, label("customers")));
    assert_false(zone_keys_has(k, label("")));
    assert_false(zone_keys_has(k, label("127")));
    /* A set made from text has no file to change. */
    assert_false(zone_keys_changed(k));
    zone_keys_unref(k);

    k = parse_ok("");
    assert_int_equal(k->count, 0);
    assert_false(zone_keys_has(k, label("alpha123key")));
    zone_keys_unref(k);
    k = parse_ok("# nothing but comments\n\n   \n");
    assert_int_equal(k->count, 0);
    zone_keys_unref(k);
}

static void expect_parse_error(const char *text, const char *want)
{
    struct zone_keys *k = (struct zone_keys *)1;
    char err[256] = "";
    assert_int_equal(zone_keys_parse(text, strlen(text), "keys.txt", &k, err, sizeof(err)),
                     ERR_INVAL);
    assert_null(k);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("goodkey01\nshort\n", "keys.txt:2: bad key 'short' (8 to 63");
    expect_parse_error("goodkey01\n\nbad.key.here\n", "keys.txt:3: bad key 'bad.key.here'");
    expect_parse_error("two keys1 here2\n", "keys.txt:1: one key per line");
    expect_parse_error("# x\nbadkey\xc3\xa9xx\n", "keys.txt:2: bad key");
    char longkey[80];
    memset(longkey, 'a', 64);
    strcpy(longkey + 64, "\n");
    expect_parse_error(longkey, "keys.txt:1: bad key");
    expect_parse_error("goodkey01 ; comment\n", "keys.txt:1: one key per line");
}

/* Thousands of keys: every one is found, no neighbour is. */
static void test_many_keys(void **state)
{
    (void)state;
    enum { N = 20000 };
    char *text = malloc((size_t)N * 16);
    assert_non_null(text);
    size_t len = 0;
    for (unsigned i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "cust%08u\n", i * 2);
    struct zone_keys *k;
    char err[256];
    assert_int_equal(zone_keys_parse(text, len, "many", &k, err, sizeof(err)), 0);
    assert_int_equal(k->count, N);
    char key[32];
    for (unsigned i = 0; i < 2 * N; i++) {
        snprintf(key, sizeof(key), "cust%08u", i);
        assert_int_equal(zone_keys_has(k, label(key)), i % 2 == 0);
    }
    zone_keys_unref(k);
    free(text);
}

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    /* A new file renamed over the old: a new inode, as a careful writer
     * does, so a change is seen even within the same second and size. */
    char tmp[180];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static int make_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-keys-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_load_and_changes(void **state)
{
    (void)state;
    char path[160], err[512];
    snprintf(path, sizeof(path), "%s/k.txt", dir);
    write_file("k.txt", "firstkey1\n");
    struct zone_keys *k;
    assert_int_equal(zone_keys_load(path, &k, err, sizeof(err)), 0);
    assert_string_equal(k->path, path);
    assert_int_equal(k->count, 1);
    assert_false(zone_keys_changed(k));
    write_file("k.txt", "firstkey1\nsecondkey\n");
    assert_true(zone_keys_changed(k));
    zone_keys_unref(k);
    /* A parse error names the file and line. */
    write_file("k.txt", "firstkey1\nno\n");
    assert_int_equal(zone_keys_load(path, &k, err, sizeof(err)), ERR_INVAL);
    char want[200];
    snprintf(want, sizeof(want), "%s:2: bad key 'no'", path);
    assert_non_null(strstr(err, want));
    /* A file that is not there. */
    snprintf(path, sizeof(path), "%s/missing.txt", dir);
    assert_int_equal(zone_keys_load(path, &k, err, sizeof(err)), ERR_IO);
    assert_null(k);
    assert_non_null(strstr(err, "missing.txt: cannot read"));
}

/* ---- a keyed zone in a snapshot ----------------------------------------- */

static struct serve_conf conf;
static const struct answer_opts opts = {0, UINT32_MAX, false, NULL, NULL, 0};

static size_t make_query(uint8_t *p, const char *name, uint16_t type)
{
    memset(p, 0, 12);
    p[0] = 0x12;
    p[1] = 0x34;
    p[5] = 1;
    size_t n = 12;
    for (const char *s = name; *s;) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        p[n++] = (uint8_t)l;
        memcpy(p + n, s, l);
        n += l;
        s += l;
        if (*s == '.')
            s++;
    }
    p[n++] = 0;
    p[n++] = (uint8_t)(type >> 8);
    p[n++] = (uint8_t)type;
    p[n++] = 0;
    p[n++] = 1;
    return n;
}

struct reply {
    size_t len;
    unsigned rcode, ancount, nscount;
    uint8_t buf[4096];
};

static void ask(const struct snapshot *s, const char *name, uint16_t type, const char *client,
                struct answer_stats *stats, struct reply *r)
{
    uint8_t q[512];
    size_t qlen = make_query(q, name, type);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, client, &sin.sin_addr), 1);
    r->len = answer_packet(s, &opts, q, qlen, (const struct sockaddr *)&sin, false, r->buf,
                           sizeof(r->buf), stats);
    r->rcode = r->len ? r->buf[3] & 0xF : 99;
    r->ancount = r->len ? (unsigned)(r->buf[6] << 8 | r->buf[7]) : 0;
    r->nscount = r->len ? (unsigned)(r->buf[8] << 8 | r->buf[9]) : 0;
}

static bool reply_has(const struct reply *r, const char *text)
{
    return memmem(r->buf, r->len, text, strlen(text)) != NULL;
}

static struct snapshot *build(const struct snapshot *prev, struct snapshot_stats *st)
{
    struct snapshot *s;
    char err[1024];
    int rc = snapshot_build(&conf, prev, false, &s, st, err, sizeof(err));
    if (rc != 0)
        fail_msg("snapshot_build: %s", err);
    return s;
}

static void setup_conf(void)
{
    char spec[256];
    write_file("bl.txt", ":127.0.0.2:Listed $ here\n192.0.2.1\n");
    write_file("open.txt", "192.0.2.1\n");
    write_file("keys.txt", "# two customers\ncustomer1key\nCustomer2Key\n");
    write_file("refuse.acl", "192.0.2.66 :refuse\n192.0.2.77 :ignore\n192.0.2.88 :empty\n");
    serve_conf_init(&conf);
    assert_int_equal(serve_conf_add_listen(&conf, "127.0.0.1/53"), 0);
    snprintf(spec, sizeof(spec), "bl.example:ip4set:%s/bl.txt", dir);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
    snprintf(spec, sizeof(spec), "bl.example:acl:%s/refuse.acl", dir);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
    snprintf(spec, sizeof(spec), "open.example:ip4set:%s/open.txt", dir);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/keys.txt", dir);
    conf.zones[0].keys = strdup(path);
    char err[512];
    assert_int_equal(serve_conf_finish(&conf, err, sizeof(err)), 0);
}

static const struct zone *find_zone(const struct snapshot *s, const char *wire)
{
    size_t off;
    const struct zone *z = snapshot_find(s, (const uint8_t *)wire, &off);
    assert_non_null(z);
    assert_int_equal(off, 0);
    return z;
}

static const struct zone *bl_zone(const struct snapshot *s)
{
    return find_zone(s, "\x02"
                        "bl\x07"
                        "example");
}

static const struct zone *open_zone(const struct snapshot *s)
{
    return find_zone(s, "\x04"
                        "open\x07"
                        "example");
}

enum { A = 1, NS = 2, SOA = 6, TXT = 16, REFUSED = 5, NXDOMAIN = 3 };

static void test_keyed_answers(void **state)
{
    (void)state;
    setup_conf();
    struct snapshot_stats st;
    struct snapshot *s = build(NULL, &st);
    assert_int_equal(st.loaded, 4); /* three datasets and the keys */
    static struct answer_stats stats;
    memset(&stats, 0, sizeof(stats));
    struct reply r;

    /* A known key: answered as the name without it. */
    ask(s, "1.2.0.192.customer1key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.ancount, 1);
    /* Any case, as DNS names go. */
    ask(s, "1.2.0.192.CUSTOMER2KEY.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.ancount, 1);
    /* '$' names the address asked about, not the key. */
    ask(s, "1.2.0.192.customer1key.bl.example", TXT, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    assert_true(reply_has(&r, "Listed 192.0.2.1 here"));
    /* Not listed: NXDOMAIN, as without keys. */
    ask(s, "2.2.0.192.customer1key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, NXDOMAIN);
    /* The test entries, through a key. */
    ask(s, "2.0.0.127.customer1key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    ask(s, "1.0.0.127.customer1key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, NXDOMAIN);

    /* An unknown key, and none: REFUSED, nothing said about the name. */
    ask(s, "1.2.0.192.customer3key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);
    assert_int_equal(r.ancount + r.nscount, 0);
    ask(s, "1.2.0.192.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);
    ask(s, "2.0.0.127.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);
    ask(s, "nokeyhere.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);

    /* The apex needs no key; KEY.apex answers as the apex. */
    ask(s, "bl.example", SOA, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.ancount, 1);
    ask(s, "customer1key.bl.example", SOA, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.ancount, 1);
    ask(s, "customer1key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, 0); /* NODATA with the SOA */
    assert_int_equal(r.ancount, 0);
    assert_int_equal(r.nscount, 1);
    ask(s, "nokey1234.bl.example", SOA, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);

    /* The ACL speaks first: refuse and ignore whatever the key. */
    ask(s, "1.2.0.192.customer1key.bl.example", A, "192.0.2.66", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);
    ask(s, "1.2.0.192.customer3key.bl.example", A, "192.0.2.77", &stats, &r);
    assert_int_equal(r.len, 0);
    /* "empty" answers the name without the key as unlisted, and still
     * wants a key. */
    ask(s, "1.2.0.192.customer1key.bl.example", A, "192.0.2.88", &stats, &r);
    assert_int_equal(r.rcode, NXDOMAIN);
    ask(s, "2.0.0.127.customer1key.bl.example", A, "192.0.2.88", &stats, &r);
    assert_int_equal(r.ancount, 1); /* the test entry stays right */
    ask(s, "1.2.0.192.bl.example", A, "192.0.2.88", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);

    /* A zone without keys is not touched. */
    ask(s, "1.2.0.192.open.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    ask(s, "1.2.0.192.customer1key.open.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, NXDOMAIN);

    /* Counted per zone: 6 for keys, the ACL's refusal apart. */
    const struct zone *bl = bl_zone(s);
    uint64_t by_key = 0, refused = 0;
    for (unsigned t = 0; t < ANSWER_QTYPES; t++) {
        by_key += stats.zone[bl->stat_slot][t][ANSWER_RES_REFUSED_KEY];
        refused += stats.zone[bl->stat_slot][t][ANSWER_RES_REFUSED];
    }
    assert_int_equal(by_key, 6);
    assert_int_equal(refused, 1);
    assert_int_equal(stats.refused, 7);
    assert_string_equal(answer_result_name(ANSWER_RES_REFUSED_KEY), "refused_key");
    snapshot_free(s);
    serve_conf_free(&conf);
}

static void test_keys_reload(void **state)
{
    (void)state;
    setup_conf();
    struct snapshot_stats st;
    struct snapshot *s1 = build(NULL, &st);
    static struct answer_stats stats;
    struct reply r;

    /* Unchanged: the same set, shared. */
    struct snapshot *s2 = build(s1, &st);
    assert_int_equal(st.loaded, 0);
    assert_int_equal(st.reused, 4);
    assert_non_null(bl_zone(s1)->keys);
    assert_ptr_equal(bl_zone(s2)->keys, bl_zone(s1)->keys);
    assert_null(open_zone(s2)->keys);
    assert_false(snapshot_changed(s2));
    snapshot_free(s1);

    /* A new customer, one gone (1 of 2 is within the 50% guard). */
    write_file("keys.txt", "customer1key\nnewcustomer3\n");
    assert_true(snapshot_changed(s2));
    struct snapshot *s3 = build(s2, &st);
    assert_int_equal(st.loaded, 1);
    assert_int_equal(st.failed, 0);
    ask(s3, "1.2.0.192.newcustomer3.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    ask(s3, "1.2.0.192.customer2key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.rcode, REFUSED);
    /* The old snapshot still answers with its own keys meanwhile. */
    ask(s2, "1.2.0.192.customer2key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    snapshot_free(s2);

    /* A broken file keeps the keys that serve. */
    write_file("keys.txt", "customer1key\nbad key line\n");
    struct snapshot *s4 = build(s3, &st);
    assert_int_equal(st.failed, 1);
    ask(s4, "1.2.0.192.newcustomer3.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    snapshot_free(s3);

    /* An emptied file is refused by the shrink guard. */
    write_file("keys.txt", "");
    struct snapshot *s5 = build(s4, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.loaded, 0);
    ask(s5, "1.2.0.192.customer1key.bl.example", A, "203.0.113.1", &stats, &r);
    assert_int_equal(r.ancount, 1);
    snapshot_free(s4);
    snapshot_free(s5);
    serve_conf_free(&conf);

    /* At startup a bad key file fails the build, saying where. */
    write_file("keys.txt", "customer1key\nx\n");
    serve_conf_init(&conf);
    assert_int_equal(serve_conf_add_listen(&conf, "127.0.0.1/53"), 0);
    char spec[256], path[160], err[1024];
    snprintf(spec, sizeof(spec), "bl.example:ip4set:%s/bl.txt", dir);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
    snprintf(path, sizeof(path), "%s/keys.txt", dir);
    conf.zones[0].keys = strdup(path);
    assert_int_equal(serve_conf_finish(&conf, err, sizeof(err)), 0);
    struct snapshot *bad;
    assert_int_equal(snapshot_build(&conf, NULL, true, &bad, &st, err, sizeof(err)), ERR_INVAL);
    char want[200];
    snprintf(want, sizeof(want), "%s:2: bad key 'x'", path);
    assert_non_null(strstr(err, want));
    serve_conf_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_lookup),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test_setup_teardown(test_load_and_changes, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_keyed_answers, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_keys_reload, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
