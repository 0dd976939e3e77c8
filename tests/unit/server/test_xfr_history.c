/* Unit tests for the IXFR history: differences packed and walked back
 * (xfr_delta_put/walk), the per-zone ring of them (xfr_journal: depth,
 * restarts, forgetting, chains that outlive the ring's references), the
 * difference of two zone versions built from data files (xfr_diff:
 * applied to the old version's records it must give the new one's
 * exactly), and IXFR streamed by xfr_run from the history, read back
 * from a socket pair record by record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "common/name.h"
#include "data/zone_records.h"
#include "server/serve_conf.h"
#include "server/snapshot.h"
#include "server/xfr.h"
#include "server/xfr_diff.h"
#include "server/xfr_journal.h"
#include "server/xfr_store.h"
#include "wire/wire.h"

#include "xfr_stream_util.h"

static const uint8_t APEX[] = "\x02"
                              "bl\x07"
                              "example";
static const uint8_t APEX2[] = "\x05"
                               "other\x07"
                               "example";

/* ---- differences ------------------------------------------------------------- */

/* A delta from..to with no records, one reference (the caller's). */
static struct xfr_delta *delta(uint32_t from, uint32_t to)
{
    struct xfr_delta *d = xfr_delta_new();
    assert_non_null(d);
    d->from = from;
    d->to = to;
    return d;
}

/* Add a delta to the journal and drop the caller's reference: from then
 * on the journal alone holds it. */
static void add(struct xfr_journal *j, const uint8_t *apex, unsigned depth, uint32_t from,
                uint32_t to)
{
    struct xfr_delta *d = delta(from, to);
    assert_int_equal(xfr_journal_add(j, apex, depth, d), 0);
    xfr_delta_unref(d);
}

/* The chain from `from`, checked to run consecutively to `to`. */
static void assert_chain(struct xfr_journal *j, const uint8_t *apex, uint32_t from, uint32_t to,
                         unsigned want)
{
    struct xfr_delta **c = NULL;
    unsigned n = 0;
    assert_int_equal(xfr_journal_chain(j, apex, from, &c, &n), 0);
    assert_int_equal(n, want);
    uint32_t at = from;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(c[i]->from, at);
        at = c[i]->to;
    }
    assert_int_equal(at, to);
    xfr_journal_chain_free(c, n);
}

static void assert_no_chain(struct xfr_journal *j, const uint8_t *apex, uint32_t from)
{
    struct xfr_delta **c = (struct xfr_delta **)&c;
    unsigned n = 99;
    assert_int_equal(xfr_journal_chain(j, apex, from, &c, &n), ERR_NOTFOUND);
    assert_null(c);
    assert_int_equal(n, 0);
}

static void test_journal_ring(void **state)
{
    (void)state;
    struct xfr_journal j;
    xfr_journal_init(&j);
    uint32_t newest = 0;
    assert_false(xfr_journal_newest(&j, APEX, &newest));
    assert_no_chain(&j, APEX, 1);

    /* Depth 3, four versions: the oldest leaves. */
    for (uint32_t s = 1; s <= 4; s++)
        add(&j, APEX, 3, s, s + 1);
    assert_true(xfr_journal_newest(&j, APEX, &newest));
    assert_int_equal(newest, 5);
    assert_chain(&j, APEX, 2, 5, 3);
    assert_chain(&j, APEX, 3, 5, 2);
    assert_chain(&j, APEX, 4, 5, 1);
    assert_no_chain(&j, APEX, 1); /* dropped */
    assert_no_chain(&j, APEX, 5); /* the newest: nothing starts there */
    assert_no_chain(&j, APEX, 0);
    /* Another zone has its own history, empty so far. */
    assert_false(xfr_journal_newest(&j, APEX2, &newest));
    assert_no_chain(&j, APEX2, 2);
    add(&j, APEX2, 3, 2, 3);
    assert_chain(&j, APEX2, 2, 3, 1);
    assert_chain(&j, APEX, 2, 5, 3);

    /* A difference that does not start where the last one ended (a
     * version that could not be diffed): the history starts again. */
    add(&j, APEX, 3, 9, 10);
    assert_no_chain(&j, APEX, 2);
    assert_no_chain(&j, APEX, 4);
    assert_chain(&j, APEX, 9, 10, 1);
    assert_true(xfr_journal_newest(&j, APEX, &newest));
    assert_int_equal(newest, 10);

    /* Depth 0 forgets, the new difference too. */
    add(&j, APEX, 0, 10, 11);
    assert_false(xfr_journal_newest(&j, APEX, &newest));
    assert_no_chain(&j, APEX, 9);
    assert_no_chain(&j, APEX, 10);
    assert_chain(&j, APEX2, 2, 3, 1); /* the other zone keeps its own */

    /* After forgetting, the next difference starts a history. */
    add(&j, APEX, 5, 20, 21);
    add(&j, APEX, 5, 21, 22);
    add(&j, APEX, 5, 22, 23);
    add(&j, APEX, 5, 23, 24);
    assert_chain(&j, APEX, 20, 24, 4);
    /* A depth lowered by a reload drops every version past it at once. */
    add(&j, APEX, 2, 24, 25);
    assert_chain(&j, APEX, 23, 25, 2);
    assert_no_chain(&j, APEX, 22);

    xfr_journal_forget(&j, APEX);
    assert_false(xfr_journal_newest(&j, APEX, &newest));
    assert_no_chain(&j, APEX, 23);
    xfr_journal_forget(&j, APEX); /* twice, and a zone never seen: harmless */
    xfr_journal_forget(&j, (const uint8_t *)"\x04none\x00");
    add(&j, APEX, 2, 30, 31);
    assert_chain(&j, APEX, 30, 31, 1);
    assert_true(xfr_journal_newest(&j, APEX2, &newest));
    assert_int_equal(newest, 3);
    xfr_journal_destroy(&j);
}

/* What an IXFR asked before its difference is made waits on: the
 * history holding the client's version (a difference from it, the
 * newest ending there, or the base a restart set) but not yet the
 * served one. */
struct adder {
    struct xfr_journal *j;
    uint32_t from, to;
    int rc;
};

/* The follower's part, on a thread of its own (no cmocka checks here:
 * they may only fail on the test's thread). */
static void *add_later(void *arg)
{
    struct adder *a = arg;
    usleep(100 * 1000);
    struct xfr_delta *d = xfr_delta_new();
    a->rc = ERR_NOMEM;
    if (d) {
        d->from = a->from;
        d->to = a->to;
        a->rc = xfr_journal_add(a->j, APEX, 5, d);
        xfr_delta_unref(d);
    }
    return NULL;
}

static void test_journal_wait(void **state)
{
    (void)state;
    struct xfr_journal j;
    xfr_journal_init(&j);
    /* Nothing known of the zone: no wait. */
    assert_int_equal(xfr_journal_wait(&j, APEX, 7, 8, 5000), -1);
    /* A restart at 7: the next difference starts there. */
    xfr_journal_restart(&j, APEX, 7);
    assert_int_equal(xfr_journal_wait(&j, APEX, 7, 8, 50), 0);    /* times out */
    assert_int_equal(xfr_journal_wait(&j, APEX, 6, 8, 5000), -1); /* not held */
    /* The difference comes while an IXFR waits: it wakes at once. */
    pthread_t th;
    struct adder a = {&j, 7, 8, -1};
    assert_int_equal(pthread_create(&th, NULL, add_later, &a), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(xfr_journal_wait(&j, APEX, 7, 8, 5000), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    assert_chain(&j, APEX, 7, 8, 1);
    /* Reached, or passed: no wait. The newest ending at the client's
     * version, a newer one served: wait. */
    assert_int_equal(xfr_journal_wait(&j, APEX, 7, 8, 5000), 1);
    assert_int_equal(xfr_journal_wait(&j, APEX, 7, 6, 5000), 1);
    assert_int_equal(xfr_journal_wait(&j, APEX, 8, 9, 50), 0);
    /* Forgotten while waited for: no more waiting. */
    xfr_journal_forget(&j, APEX);
    assert_int_equal(xfr_journal_wait(&j, APEX, 8, 9, 5000), -1);
    xfr_journal_destroy(&j);
}

/* Past the first allocations: more than 8 zones, more than 8 versions. */
static void test_journal_grows(void **state)
{
    (void)state;
    struct xfr_journal j;
    xfr_journal_init(&j);
    uint8_t apex[20][NAME_MAXWIRE];
    for (unsigned z = 0; z < 20; z++) {
        char text[32];
        size_t len;
        snprintf(text, sizeof(text), "z%u.example", z);
        assert_int_equal(name_from_text(text, apex[z], &len), 0);
        for (uint32_t s = 0; s < 30; s++)
            add(&j, apex[z], 100, 1000 * z + s, 1000 * z + s + 1);
    }
    for (unsigned z = 0; z < 20; z++) {
        uint32_t newest = 0;
        assert_true(xfr_journal_newest(&j, apex[z], &newest));
        assert_int_equal(newest, 1000 * z + 30);
        assert_chain(&j, apex[z], 1000 * z, 1000 * z + 30, 30);
        assert_chain(&j, apex[z], 1000 * z + 29, 1000 * z + 30, 1);
    }
    /* Names compare as DNS names: case does not matter (built by hand,
     * as name_from_text folds to lower case). */
    uint8_t upper[NAME_MAXWIRE];
    memcpy(upper, apex[7], name_wire_len(apex[7]));
    for (size_t p = 0; upper[p]; p += 1u + upper[p])
        for (unsigned k = 1; k <= upper[p]; k++)
            if (upper[p + k] >= 'a' && upper[p + k] <= 'z')
                upper[p + k] = (uint8_t)(upper[p + k] - 32);
    assert_memory_equal(upper,
                        "\x02Z7\x07"
                        "EXAMPLE",
                        12);
    assert_chain(&j, upper, 7000, 7030, 30);
    xfr_journal_destroy(&j);
}

struct rec_list {
    struct zrec_rr rr[2048];
    uint8_t owner[2048][NAME_MAXWIRE];
    uint8_t *rdata[2048];
    unsigned n;
};

/* A record of size k: an owner of 1..n labels, RDATA of k bytes of a
 * pattern, so that a byte out of place shows. */
static void make_rr(struct rec_list *l, unsigned i, uint16_t rdlen)
{
    uint8_t *o = l->owner[i];
    size_t p = 0;
    for (unsigned lab = 0; lab <= i % 5; lab++) {
        unsigned w = 1 + (i + lab) % 40;
        o[p++] = (uint8_t)w;
        for (unsigned k = 0; k < w; k++)
            o[p++] = (uint8_t)('a' + (i + k) % 26);
    }
    memcpy(o + p, APEX, sizeof(APEX));
    p += sizeof(APEX);
    l->rdata[i] = malloc(rdlen ? rdlen : 1);
    assert_non_null(l->rdata[i]);
    for (unsigned k = 0; k < rdlen; k++)
        l->rdata[i][k] = (uint8_t)(i * 7 + k);
    l->rr[i] = (struct zrec_rr){.owner = o,
                                .owner_len = p,
                                .type = (uint16_t)(i % 3 ? DNS_TYPE_TXT : DNS_TYPE_A),
                                .ttl = 0xFFFFFF00u + i,
                                .rdata = l->rdata[i],
                                .rdlen = rdlen};
}

struct walk_check {
    const struct rec_list *want;
    unsigned first, step; /* the records expected: first, first+step, ... */
    unsigned seen, stop_after;
};

static int check_rr(const struct zrec_rr *rr, void *arg)
{
    struct walk_check *w = arg;
    const struct zrec_rr *e = &w->want->rr[w->first + w->seen * w->step];
    assert_int_equal(rr->owner_len, e->owner_len);
    assert_memory_equal(rr->owner, e->owner, e->owner_len);
    assert_int_equal(rr->type, e->type);
    assert_int_equal(rr->ttl, e->ttl);
    assert_int_equal(rr->rdlen, e->rdlen);
    if (e->rdlen)
        assert_memory_equal(rr->rdata, e->rdata, e->rdlen);
    w->seen++;
    return w->stop_after && w->seen == w->stop_after ? 77 : 0;
}

static void test_delta_roundtrip(void **state)
{
    (void)state;
    static struct rec_list l;
    memset(&l, 0, sizeof(l));
    /* Sizes 0, 1, 4, around 256 (the first buffer), 65535 (the largest
     * RDATA), then many small ones. */
    static const uint16_t sizes[] = {0, 1, 4, 200, 255, 256, 300, 65535, 17, 1000};
    unsigned n = 1200;
    for (unsigned i = 0; i < n; i++)
        make_rr(&l, i, i < 10 ? sizes[i] : (uint16_t)(i % 61));
    struct xfr_delta *d = delta(1, 2);
    /* Even records go, odd ones come: both sides kept apart. */
    size_t del_len = 0, add_len = 0;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(xfr_delta_put(d, i % 2, &l.rr[i]), 0);
        size_t sz = 1 + l.rr[i].owner_len + 8 + l.rr[i].rdlen;
        if (i % 2)
            add_len += sz;
        else
            del_len += sz;
    }
    assert_int_equal(d->ndel, n / 2);
    assert_int_equal(d->nadd, n / 2);
    assert_int_equal(d->del_len, del_len);
    assert_int_equal(d->add_len, add_len);
    assert_true(d->del_cap >= d->del_len);
    assert_true(d->add_cap >= d->add_len);

    struct walk_check w = {.want = &l, .first = 0, .step = 2};
    assert_int_equal(xfr_delta_walk(d, false, check_rr, &w), 0);
    assert_int_equal(w.seen, n / 2);
    w = (struct walk_check){.want = &l, .first = 1, .step = 2};
    assert_int_equal(xfr_delta_walk(d, true, check_rr, &w), 0);
    assert_int_equal(w.seen, n / 2);
    /* A callback's error stops the walk and comes back. */
    w = (struct walk_check){.want = &l, .first = 1, .step = 2, .stop_after = 3};
    assert_int_equal(xfr_delta_walk(d, true, check_rr, &w), 77);
    assert_int_equal(w.seen, 3);
    /* One record past the first 256 bytes at once. */
    struct xfr_delta *big = delta(3, 4);
    assert_int_equal(xfr_delta_put(big, true, &l.rr[7]), 0);
    assert_int_equal(big->add_len, 1 + l.rr[7].owner_len + 8 + 65535);
    w = (struct walk_check){.want = &l, .first = 7, .step = 1};
    assert_int_equal(xfr_delta_walk(big, true, check_rr, &w), 0);
    assert_int_equal(w.seen, 1);
    xfr_delta_unref(big);

    xfr_delta_unref(d);
    for (unsigned i = 0; i < n; i++)
        free(l.rdata[i]);
}

/* A chain holds its own references: the ring may drop every difference
 * in it, even the journal go, and the chain still reads them (ASan
 * would see a read of freed memory). */
static void test_chain_outlives_ring(void **state)
{
    (void)state;
    static struct rec_list l;
    memset(&l, 0, sizeof(l));
    for (unsigned i = 0; i < 40; i++)
        make_rr(&l, i, (uint16_t)(i * 13));
    struct xfr_journal j;
    xfr_journal_init(&j);
    struct xfr_delta *a = delta(1, 2), *b = delta(2, 3);
    for (unsigned i = 0; i < 20; i++) {
        assert_int_equal(xfr_delta_put(a, false, &l.rr[i]), 0);
        assert_int_equal(xfr_delta_put(b, true, &l.rr[20 + i]), 0);
    }
    assert_int_equal(xfr_journal_add(&j, APEX, 2, a), 0);
    assert_int_equal(xfr_journal_add(&j, APEX, 2, b), 0);
    /* The journal took a reference of its own. */
    assert_int_equal(atomic_load(&a->refs), 2);
    xfr_delta_unref(a);
    xfr_delta_unref(b);

    struct xfr_delta **c = NULL;
    unsigned n = 0;
    assert_int_equal(xfr_journal_chain(&j, APEX, 1, &c, &n), 0);
    assert_int_equal(n, 2);
    assert_ptr_equal(c[0], a);
    assert_ptr_equal(c[1], b);
    assert_int_equal(atomic_load(&c[0]->refs), 2);

    /* Two newer versions push both out of the ring (depth 2)... */
    add(&j, APEX, 2, 3, 4);
    add(&j, APEX, 2, 4, 5);
    assert_no_chain(&j, APEX, 1);
    assert_no_chain(&j, APEX, 2);
    /* ...and the chain is now their only holder. */
    assert_int_equal(atomic_load(&c[0]->refs), 1);
    assert_int_equal(atomic_load(&c[1]->refs), 1);
    xfr_journal_destroy(&j);

    struct walk_check w = {.want = &l, .first = 0, .step = 1};
    assert_int_equal(xfr_delta_walk(c[0], false, check_rr, &w), 0);
    assert_int_equal(w.seen, 20);
    w = (struct walk_check){.want = &l, .first = 20, .step = 1};
    assert_int_equal(xfr_delta_walk(c[1], true, check_rr, &w), 0);
    assert_int_equal(w.seen, 20);
    assert_int_equal(c[0]->from, 1);
    assert_int_equal(c[1]->to, 3);
    xfr_journal_chain_free(c, n);
    for (unsigned i = 0; i < 40; i++)
        free(l.rdata[i]);
}

/* ---- versions of a zone built from files ------------------------------------- */

static char dir[64];

/* v1 -> v2 -> v3: the versions an IXFR walks; v4 replaces all of v1;
 * three small ones (A records without TXT, one per address) try the
 * bound of xfr_diff's limit. */
#define NVER 7
#define SMALL_NEW 4
#define SMALL_AT 5
#define SMALL_PAST 6
static struct serve_conf confs[NVER];
static struct snapshot *snaps[NVER];
static struct snapshot *v1again; /* v1's files loaded a second time */

static const char *const main_data[NVER] = {
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 10 600 300 86400 300\n"
    "$NS 3600 ns1.example.net. ns2.example.org.\n"
    ":127.0.0.2:Listed\n"
    "10.1.0.0/16\n"
    "192.0.2.0/24 :3:Block\n"
    "!192.0.2.7\n"
    "198.51.100.1 :2:Spam from $\n"
    "198.51.100.2 :2:Spam from $\n"
    "198.51.100.3\n",
    /* 198.51.100.2 gone, .4 and 203.0.113.5 new, the exclusion moved
     * from .7 to .9, ns2 replaced by ns3 and the NS TTL changed. */
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 11 600 300 86400 300\n"
    "$NS 7200 ns1.example.net. ns3.example.org.\n"
    ":127.0.0.2:Listed\n"
    "10.1.0.0/16\n"
    "192.0.2.0/24 :3:Block\n"
    "!192.0.2.9\n"
    "198.51.100.1 :2:Spam from $\n"
    "198.51.100.3\n"
    "198.51.100.4 :2:Spam from $\n"
    "203.0.113.5\n",
    /* 198.51.100.1 gone, .5 new. */
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 12 600 300 86400 300\n"
    "$NS 7200 ns1.example.net. ns3.example.org.\n"
    ":127.0.0.2:Listed\n"
    "10.1.0.0/16\n"
    "192.0.2.0/24 :3:Block\n"
    "!192.0.2.9\n"
    "198.51.100.3\n"
    "198.51.100.4 :2:Spam from $\n"
    "198.51.100.5\n"
    "203.0.113.5\n",
    /* Other addresses altogether. */
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 13 600 300 86400 300\n"
    "$NS 3600 ns1.example.net. ns2.example.org.\n"
    ":127.0.0.2:Listed\n"
    "10.9.0.0/16\n",
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 30 600 300 86400 300\n"
    ":127.0.0.2:\n"
    "198.51.100.9\n",
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 28 600 300 86400 300\n"
    ":127.0.0.2:\n"
    "198.51.100.1\n"
    "198.51.100.2\n"
    "198.51.100.3\n",
    "$SOA 3600 ns1.example.net. hostmaster.example.net. 29 600 300 86400 300\n"
    ":127.0.0.2:\n"
    "198.51.100.1\n"
    "198.51.100.2\n"
    "198.51.100.3\n"
    "198.51.100.4\n",
};

/* A second dataset of the zone whose $TTL changes from v1 to v2: its
 * records are other records to a secondary. */
static const char *const ttl_data[NVER] = {
    "$TTL 300\n:127.0.0.4:Short\n100.64.0.0/30\n",
    "$TTL 900\n:127.0.0.4:Short\n100.64.0.0/30\n",
    "$TTL 900\n:127.0.0.4:Short\n100.64.0.0/30\n",
    NULL,
    NULL,
    NULL,
    NULL,
};

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void build_version(unsigned v)
{
    char name[32], spec[256], err[512];
    serve_conf_init(&confs[v]);
    assert_int_equal(serve_conf_add_listen(&confs[v], "127.0.0.1/53"), 0);
    snprintf(name, sizeof(name), "main%u.txt", v + 1);
    write_file(name, main_data[v]);
    snprintf(spec, sizeof(spec), "bl.example:ip4set:%s/%s", dir, name);
    assert_int_equal(serve_conf_add_zonespec(&confs[v], spec), 0);
    if (ttl_data[v]) {
        snprintf(name, sizeof(name), "ttl%u.txt", v + 1);
        write_file(name, ttl_data[v]);
        snprintf(spec, sizeof(spec), "bl.example:ip4set:%s/%s", dir, name);
        assert_int_equal(serve_conf_add_zonespec(&confs[v], spec), 0);
    }
    assert_int_equal(serve_conf_finish(&confs[v], err, sizeof(err)), 0);
    struct snapshot_stats st;
    if (snapshot_build(&confs[v], NULL, true, &snaps[v], &st, err, sizeof(err)) != 0)
        fail_msg("snapshot_build v%u: %s", v + 1, err);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-hist-XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (unsigned v = 0; v < NVER; v++)
        build_version(v);
    struct snapshot_stats st;
    char err[512];
    assert_int_equal(snapshot_build(&confs[0], NULL, true, &v1again, &st, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    snapshot_free(v1again);
    for (unsigned v = 0; v < NVER; v++) {
        snapshot_free(snaps[v]);
        serve_conf_free(&confs[v]);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static const struct zone *ver(unsigned v)
{
    assert_int_equal(snaps[v]->nzones, 1);
    return snaps[v]->zones[0];
}

static const struct zrec_opts OPTS = {0, UINT32_MAX, 0};

/* A record as bytes: owner length, owner, type, TTL, RDATA length,
 * RDATA (the packing of a delta), so that equal records compare equal
 * with memcmp. */
struct blob {
    uint8_t b[1 + NAME_MAXWIRE + 8 + 512];
    size_t len;
    bool gone;
};

struct blobs {
    struct blob *v;
    size_t n, cap;
};

static void blob_of(struct blob *b, const struct zrec_rr *rr)
{
    assert_true(rr->rdlen <= 512);
    b->b[0] = (uint8_t)rr->owner_len;
    memcpy(b->b + 1, rr->owner, rr->owner_len);
    uint8_t *p = b->b + 1 + rr->owner_len;
    wire_put16(p, rr->type);
    wire_put32(p + 2, rr->ttl);
    wire_put16(p + 6, rr->rdlen);
    memcpy(p + 8, rr->rdata, rr->rdlen);
    b->len = 1 + rr->owner_len + 8 + rr->rdlen;
    b->gone = false;
}

static struct blob *blobs_push(struct blobs *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        assert_non_null(s->v);
    }
    return &s->v[s->n++];
}

static int collect_rr(const struct zrec_rr *rr, void *arg)
{
    blob_of(blobs_push(arg), rr);
    return 0;
}

/* Every record of a version as a transfer has them: the apex's NS (TTL
 * as xfr_run gives it) and everything zrec_emit plans. The SOA is the
 * delta's own business (soa_from, soa_to). */
static void zone_records(const struct zone *z, struct blobs *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < z->ns.count; i++) {
        struct zrec_rr rr = {.owner = z->apex,
                             .owner_len = z->apex_len,
                             .type = DNS_TYPE_NS,
                             .ttl = z->ns.ttl ? z->ns.ttl : z->soa_ttl,
                             .rdata = z->ns.name[i],
                             .rdlen = (uint16_t)name_wire_len(z->ns.name[i])};
        collect_rr(&rr, out);
    }
    struct zrec *plan = NULL;
    char why[256];
    assert_int_equal(zrec_plan(z->apex, z->ds, z->nds, &OPTS, &plan, why, sizeof(why)), 0);
    assert_int_equal(zrec_emit(plan, collect_rr, out), 0);
    zrec_free(plan);
}

static bool blob_eq(const struct blob *a, const struct blob *b)
{
    return a->len == b->len && !memcmp(a->b, b->b, a->len);
}

static struct blob *blobs_find(struct blobs *s, const struct blob *b)
{
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].gone && blob_eq(&s->v[i], b))
            return &s->v[i];
    return NULL;
}

/* Removing a record the old version does not have, or adding one it
 * already has, is a wrong difference: fail right there. */
static int apply_del(const struct zrec_rr *rr, void *arg)
{
    struct blob b;
    blob_of(&b, rr);
    struct blob *have = blobs_find(arg, &b);
    if (!have)
        fail_msg("deleted record not in the old version (owner length %zu, type %u)", rr->owner_len,
                 rr->type);
    have->gone = true;
    return 0;
}

static int apply_add(const struct zrec_rr *rr, void *arg)
{
    struct blob b;
    blob_of(&b, rr);
    if (blobs_find(arg, &b))
        fail_msg("added record already in the old version (type %u)", rr->type);
    *blobs_push(arg) = b;
    return 0;
}

static int blob_cmp(const void *a, const void *b)
{
    const struct blob *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->b, y->b, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Old's records with d applied equal new's records, as multisets. */
static void assert_diff_applies(const struct zone *old, const struct zone *new,
                                const struct xfr_delta *d)
{
    struct blobs have, want;
    zone_records(old, &have);
    zone_records(new, &want);
    assert_int_equal(xfr_delta_walk(d, false, apply_del, &have), 0);
    assert_int_equal(xfr_delta_walk(d, true, apply_add, &have), 0);
    size_t k = 0;
    for (size_t i = 0; i < have.n; i++)
        if (!have.v[i].gone)
            have.v[k++] = have.v[i];
    have.n = k;
    assert_int_equal(have.n, want.n);
    qsort(have.v, have.n, sizeof(*have.v), blob_cmp);
    qsort(want.v, want.n, sizeof(*want.v), blob_cmp);
    for (size_t i = 0; i < want.n; i++)
        assert_true(blob_eq(&have.v[i], &want.v[i]));
    free(have.v);
    free(want.v);
}

/* How many records of one side of d have this owner and type. */
struct count_arg {
    uint8_t owner[NAME_MAXWIRE];
    size_t owner_len;
    uint16_t type;
    uint32_t ttl; /* of the last one counted */
    unsigned n;
};

static int count_rr(const struct zrec_rr *rr, void *arg)
{
    struct count_arg *c = arg;
    if (rr->type == c->type && rr->owner_len == c->owner_len &&
        !memcmp(rr->owner, c->owner, c->owner_len)) {
        c->n++;
        c->ttl = rr->ttl;
    }
    return 0;
}

static unsigned count(const struct xfr_delta *d, bool add, const char *owner, uint16_t type,
                      uint32_t *ttl)
{
    struct count_arg c = {.type = type};
    assert_int_equal(name_from_text(owner, c.owner, &c.owner_len), 0);
    assert_int_equal(xfr_delta_walk(d, add, count_rr, &c), 0);
    if (ttl)
        *ttl = c.ttl;
    return c.n;
}

static void test_diff(void **state)
{
    (void)state;
    struct xfr_delta *d = NULL;
    char why[256];
    assert_int_equal(xfr_diff(ver(0), ver(1), &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_non_null(d);
    assert_int_equal(d->from, 10);
    assert_int_equal(d->to, 11);
    /* The SOAs are the versions' own, serial and all. */
    assert_int_equal(d->soa_from_len, ver(0)->soa_rdlen);
    assert_memory_equal(d->soa_from, ver(0)->soa_rdata, ver(0)->soa_rdlen);
    assert_int_equal(d->soa_to_len, ver(1)->soa_rdlen);
    assert_memory_equal(d->soa_to, ver(1)->soa_rdata, ver(1)->soa_rdlen);
    assert_int_equal(wire_get32(d->soa_to + d->soa_to_len - 20), 11);
    assert_int_equal(d->soa_from_ttl, 3600);
    assert_int_equal(d->soa_to_ttl, 3600);
    assert_diff_applies(ver(0), ver(1), d);
    /* Gone: both NS (TTL 3600), the second dataset's 4 addresses with
     * TTL 300 (A and TXT), 192.0.2.9 (now excluded) and 198.51.100.2, A
     * and TXT each: 14. New: both NS (TTL 7200), the 4 addresses with
     * TTL 900, 192.0.2.7, 198.51.100.4 and 203.0.113.5: 16. */
    assert_int_equal(d->ndel, 14);
    assert_int_equal(d->nadd, 16);

    /* What the edit did, record by record. */
    uint32_t ttl;
    assert_int_equal(count(d, false, "bl.example", DNS_TYPE_NS, &ttl), 2);
    assert_int_equal(ttl, 3600);
    assert_int_equal(count(d, true, "bl.example", DNS_TYPE_NS, &ttl), 2);
    assert_int_equal(ttl, 7200);
    assert_int_equal(count(d, false, "2.100.51.198.bl.example", DNS_TYPE_A, NULL), 1);
    assert_int_equal(count(d, false, "2.100.51.198.bl.example", DNS_TYPE_TXT, NULL), 1);
    assert_int_equal(count(d, true, "4.100.51.198.bl.example", DNS_TYPE_TXT, NULL), 1);
    assert_int_equal(count(d, true, "5.113.0.203.bl.example", DNS_TYPE_A, NULL), 1);
    /* The exclusion moved: .7 listed again, .9 gone. */
    assert_int_equal(count(d, true, "7.2.0.192.bl.example", DNS_TYPE_A, NULL), 1);
    assert_int_equal(count(d, true, "7.2.0.192.bl.example", DNS_TYPE_TXT, NULL), 1);
    assert_int_equal(count(d, false, "9.2.0.192.bl.example", DNS_TYPE_A, NULL), 1);
    assert_int_equal(count(d, false, "7.2.0.192.bl.example", DNS_TYPE_A, NULL), 0);
    /* The second dataset's TTL: its records went with 300, came with 900. */
    assert_int_equal(count(d, false, "1.0.64.100.bl.example", DNS_TYPE_A, &ttl), 1);
    assert_int_equal(ttl, 300);
    assert_int_equal(count(d, true, "1.0.64.100.bl.example", DNS_TYPE_A, &ttl), 1);
    assert_int_equal(ttl, 900);
    /* The unchanged /16 is not in it. */
    assert_int_equal(count(d, false, "*.0.1.10.bl.example", DNS_TYPE_A, NULL), 0);
    assert_int_equal(count(d, true, "*.0.1.10.bl.example", DNS_TYPE_A, NULL), 0);
    /* Records counted are records walked. */
    struct blobs all = {0};
    assert_int_equal(xfr_delta_walk(d, false, collect_rr, &all), 0);
    assert_int_equal(all.n, d->ndel);
    all.n = 0;
    assert_int_equal(xfr_delta_walk(d, true, collect_rr, &all), 0);
    assert_int_equal(all.n, d->nadd);
    free(all.v);
    xfr_delta_unref(d);

    /* The next step, and the two steps at once. */
    assert_int_equal(xfr_diff(ver(1), ver(2), &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 2); /* 198.51.100.1 A and TXT */
    assert_int_equal(d->nadd, 2); /* 198.51.100.5 A and TXT */
    assert_diff_applies(ver(1), ver(2), d);
    xfr_delta_unref(d);
    assert_int_equal(xfr_diff(ver(0), ver(2), &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_diff_applies(ver(0), ver(2), d);
    xfr_delta_unref(d);
    /* Backwards is a difference too. */
    assert_int_equal(xfr_diff(ver(2), ver(0), &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->from, 12);
    assert_int_equal(d->to, 10);
    assert_diff_applies(ver(2), ver(0), d);
    xfr_delta_unref(d);
}

static void test_diff_identical(void **state)
{
    (void)state;
    struct xfr_delta *d = NULL;
    char why[256];
    /* The same zone, and the same files loaded again into datasets of
     * their own: records are compared, not pointers. */
    assert_int_equal(xfr_diff(ver(0), ver(0), &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 0);
    assert_int_equal(d->nadd, 0);
    assert_int_equal(d->del_len + d->add_len, 0);
    xfr_delta_unref(d);
    assert_ptr_not_equal(v1again->zones[0]->all[0], ver(0)->all[0]);
    assert_int_equal(xfr_diff(ver(0), v1again->zones[0], &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 0);
    assert_int_equal(d->nadd, 0);
    xfr_delta_unref(d);
}

static void test_diff_limit(void **state)
{
    (void)state;
    struct xfr_delta *d = (struct xfr_delta *)&d;
    char why[256] = "";
    /* v4 has other addresses: the whole of v1 goes and all of v4 comes,
     * more than v4 has records, so the whole zone is the cheaper answer. */
    assert_int_equal(xfr_diff(ver(0), ver(3), &OPTS, NULL, &d, why, sizeof(why)), ERR_LIMIT);
    assert_null(d);
    assert_string_equal(why, "more changes than the zone has records");
    /* The other way too: all of v4 goes, all of v1 comes. */
    d = (struct xfr_delta *)&d;
    assert_int_equal(xfr_diff(ver(3), ver(0), &OPTS, NULL, &d, why, sizeof(why)), ERR_LIMIT);
    assert_null(d);

    /* The bound. The new zone has 3 records (198.51.100.9's A, the test
     * entry's A and its TXT, which the test entry has even without a
     * value's TXT) and its SOA. Four changes (.1, .2, .3 go, .9 comes)
     * are no more than its records with the SOA: a difference. Five
     * (.4 goes too) are more: the whole zone. */
    struct blobs r;
    zone_records(ver(SMALL_NEW), &r);
    assert_int_equal(r.n, 3);
    free(r.v);
    assert_int_equal(xfr_diff(ver(SMALL_AT), ver(SMALL_NEW), &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 3);
    assert_int_equal(d->nadd, 1);
    assert_diff_applies(ver(SMALL_AT), ver(SMALL_NEW), d);
    xfr_delta_unref(d);
    d = (struct xfr_delta *)&d;
    assert_int_equal(xfr_diff(ver(SMALL_PAST), ver(SMALL_NEW), &OPTS, NULL, &d, why, sizeof(why)),
                     ERR_LIMIT);
    assert_null(d);
    /* A version beyond the record cap is refused by its plan. */
    struct zrec_opts capped = {0, UINT32_MAX, 100};
    d = (struct xfr_delta *)&d;
    assert_int_equal(xfr_diff(ver(0), ver(1), &capped, NULL, &d, why, sizeof(why)), ERR_LIMIT);
    assert_null(d);
    assert_true(why[0] != '\0');
}

static atomic_bool stop_flag;

/* A snapshot of one ip4set file of n addresses 10.0.x.y (every
 * `skip`th left out when skip) and the extra lines; the caller frees. */
static struct snapshot *big_version(struct serve_conf *c, const char *name, unsigned n,
                                    unsigned skip, const char *extra)
{
    char path[128], spec[256], err[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(":127.0.0.2:Listed, see $\n", f);
    for (unsigned i = 0; i < n; i++)
        if (!skip || i % skip != 7)
            fprintf(f, "10.0.%u.%u\n", i / 256, i % 256);
    fputs(extra, f);
    assert_int_equal(fclose(f), 0);
    serve_conf_init(c);
    assert_int_equal(serve_conf_add_listen(c, "127.0.0.1/53"), 0);
    snprintf(spec, sizeof(spec), "bl.example:ip4set:%s", path);
    assert_int_equal(serve_conf_add_zonespec(c, spec), 0);
    assert_int_equal(serve_conf_finish(c, err, sizeof(err)), 0);
    struct snapshot *snap = NULL;
    struct snapshot_stats st;
    if (snapshot_build(c, NULL, true, &snap, &st, err, sizeof(err)) != 0)
        fail_msg("snapshot_build %s: %s", name, err);
    return snap;
}

/* Zones of thousands of records, changed at both ends and all through:
 * each version's second walk stops at the last record it must copy,
 * and a stop asked for ends the diff with nothing made. */
static void test_diff_big(void **state)
{
    (void)state;
    struct serve_conf ca, cb;
    /* 6,000 addresses, each an A and a TXT naming it. B lacks every
     * 1000th (six, from the first /24 to the twentieth) and has three more:
     * below A's addresses, in the /24 of its last one, and above. */
    struct snapshot *a = big_version(&ca, "bigA.txt", 6000, 0, "");
    struct snapshot *b =
        big_version(&cb, "bigB.txt", 6000, 1000, "9.255.255.255\n10.0.23.200\n10.1.0.0\n");
    struct xfr_delta *d = NULL;
    char why[256];
    assert_int_equal(xfr_diff(a->zones[0], b->zones[0], &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 2 * 6);
    assert_int_equal(d->nadd, 2 * 3);
    assert_int_equal(count(d, false, "7.0.0.10.bl.example", DNS_TYPE_TXT, NULL), 1);
    assert_int_equal(count(d, false, "143.19.0.10.bl.example", DNS_TYPE_A, NULL), 1);
    assert_int_equal(count(d, true, "0.0.1.10.bl.example", DNS_TYPE_A, NULL), 1);
    assert_int_equal(count(d, true, "255.255.255.9.bl.example", DNS_TYPE_TXT, NULL), 1);
    assert_diff_applies(a->zones[0], b->zones[0], d);
    xfr_delta_unref(d);
    /* Only additions, then only removals: one side walks again, the
     * other not at all. */
    struct serve_conf cc;
    struct snapshot *c = big_version(&cc, "bigC.txt", 6000, 0, "10.0.23.200\n");
    assert_int_equal(xfr_diff(a->zones[0], c->zones[0], &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 0);
    assert_int_equal(d->nadd, 2);
    assert_diff_applies(a->zones[0], c->zones[0], d);
    xfr_delta_unref(d);
    assert_int_equal(xfr_diff(c->zones[0], a->zones[0], &OPTS, NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d->ndel, 2);
    assert_int_equal(d->nadd, 0);
    assert_int_equal(count(d, false, "200.23.0.10.bl.example", DNS_TYPE_A, NULL), 1);
    assert_diff_applies(c->zones[0], a->zones[0], d);
    xfr_delta_unref(d);
    snapshot_free(c);
    serve_conf_free(&cc);
    /* One version over the record cap: its plan fails, the other side
     * stops walking (or finishes first), and the reason is the plan's,
     * not the other side's giving up. */
    struct serve_conf cd;
    struct snapshot *big = big_version(&cd, "bigD.txt", 7000, 0, "");
    struct zrec_opts capped = {0, UINT32_MAX, 13000};
    d = (struct xfr_delta *)&d;
    why[0] = '\0';
    assert_int_equal(xfr_diff(a->zones[0], big->zones[0], &capped, NULL, &d, why, sizeof(why)),
                     ERR_LIMIT);
    assert_null(d);
    assert_non_null(strstr(why, "13000"));
    snapshot_free(big);
    serve_conf_free(&cd);
    /* The server stopping: the diff gives up (it looks every 4096
     * records) and hands back nothing. */
    atomic_store(&stop_flag, true);
    d = (struct xfr_delta *)&d;
    assert_int_equal(xfr_diff(a->zones[0], b->zones[0], &OPTS, &stop_flag, &d, why, sizeof(why)),
                     ERR_IO);
    assert_null(d);
    atomic_store(&stop_flag, false);
    snapshot_free(a);
    snapshot_free(b);
    serve_conf_free(&ca);
    serve_conf_free(&cb);
}

/* The TTL clamp applies to every record of the difference, NS and SOA
 * too, as it does to an AXFR. */
static void test_diff_clamp(void **state)
{
    (void)state;
    struct zrec_opts o = {600, 1000, 0};
    struct xfr_delta *d = NULL;
    char why[256];
    assert_int_equal(xfr_diff(ver(0), ver(1), &o, NULL, &d, why, sizeof(why)), 0);
    uint32_t ttl;
    /* The NS TTL went from 3600 to 7200: both clamp to 1000, so the NS
     * that stayed (ns1) is no change at all. */
    assert_int_equal(count(d, false, "bl.example", DNS_TYPE_NS, &ttl), 1);
    assert_int_equal(ttl, 1000);
    assert_int_equal(count(d, true, "bl.example", DNS_TYPE_NS, &ttl), 1);
    assert_int_equal(ttl, 1000);
    assert_int_equal(count(d, false, "1.0.64.100.bl.example", DNS_TYPE_A, &ttl), 1);
    assert_int_equal(ttl, 600);
    assert_int_equal(count(d, true, "1.0.64.100.bl.example", DNS_TYPE_A, &ttl), 1);
    assert_int_equal(ttl, 900);
    assert_int_equal(d->soa_from_ttl, 1000);
    assert_int_equal(d->soa_to_ttl, 1000);
    xfr_delta_unref(d);
}

/* ---- IXFR streamed from the history ------------------------------------------ */

/* An IXFR query for name carrying, in its authority section, an SOA
 * with the client's serial (the owner compressed against the question),
 * as a secondary sends it. */
static size_t make_ixfr(uint8_t *p, const char *name, uint32_t serial)
{
    memset(p, 0, 12);
    p[0] = 0xAB;
    p[1] = 0xCD;
    p[5] = 1; /* one question */
    p[9] = 1; /* one authority record */
    size_t n = 12 + put_name(p + 12, name);
    wire_put16(p + n, DNS_TYPE_IXFR);
    wire_put16(p + n + 2, 1);
    n += 4;
    wire_put16(p + n, 0xC00C);
    wire_put16(p + n + 2, DNS_TYPE_SOA);
    wire_put16(p + n + 4, 1);
    wire_put32(p + n + 6, 0);
    n += 12; /* past the RDATA length, filled in below */
    size_t rd = n;
    n += put_name(p + n, "a.example");
    n += put_name(p + n, "b.example");
    wire_put32(p + n, serial);
    memset(p + n + 4, 0, 16);
    n += 20;
    wire_put16(p + rd - 2, (uint16_t)(n - rd));
    return n;
}

static struct xfr_counters xc;

/* An IXFR of zone z from `serial`, answered by xfr_run with the history
 * j (NULL: none), read back whole from a socket pair. */
static int ixfr(const struct zone *z, struct xfr_journal *j, uint32_t serial, struct stream *s)
{
    uint8_t q[512];
    size_t qn = make_ixfr(q, "bl.example", serial);
    struct runner r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(xfr_parse_ixfr(q, qn, &r.job.rq), 0);
    assert_true(r.job.rq.have_serial);
    assert_int_equal(r.job.rq.serial, serial);
    r.job.zone = z;
    r.job.stop = &stop_flag;
    r.job.xc = &xc;
    r.job.journal = j;
    return xfr_stream_run(&r, NULL, s);
}

/* The owner of a wire name as read_name writes it. */
static void owner_text(const uint8_t *w, char *out)
{
    size_t o = 0;
    for (size_t p = 0; w[p]; p += 1u + w[p]) {
        memcpy(out + o, w + p + 1, w[p]);
        o += w[p];
        out[o++] = '.';
    }
    out[o] = '\0';
}

static void assert_soa(const struct rr_seen *r, const uint8_t *rdata, uint16_t rdlen, uint32_t ttl)
{
    assert_string_equal(r->owner, "bl.example.");
    assert_int_equal(r->type, DNS_TYPE_SOA);
    assert_int_equal(r->ttl, ttl);
    assert_int_equal(r->rdlen, rdlen);
    assert_memory_equal(r->rdata, rdata, rdlen);
}

struct expect {
    const struct stream *s;
    size_t at;
};

static int expect_rr(const struct zrec_rr *rr, void *arg)
{
    struct expect *e = arg;
    assert_true(e->at < e->s->n);
    const struct rr_seen *r = &e->s->rr[e->at++];
    char owner[NAME_MAXTEXT + 2];
    owner_text(rr->owner, owner);
    assert_string_equal(r->owner, owner);
    assert_int_equal(r->type, rr->type);
    assert_int_equal(r->ttl, rr->ttl);
    assert_int_equal(r->rdlen, rr->rdlen);
    assert_memory_equal(r->rdata, rr->rdata, rr->rdlen);
    return 0;
}

/* The stream from e->at on is the chain in RFC 1995's condensed form,
 * the opening SOA (the newest) included. */
static void assert_ixfr(struct expect *e, struct xfr_delta *const *chain, unsigned n)
{
    const struct stream *s = e->s;
    const struct xfr_delta *last = chain[n - 1];
    assert_true(e->at < s->n);
    assert_soa(&s->rr[e->at++], last->soa_to, last->soa_to_len, last->soa_to_ttl);
    for (unsigned i = 0; i < n; i++) {
        const struct xfr_delta *d = chain[i];
        assert_true(e->at < s->n);
        assert_soa(&s->rr[e->at++], d->soa_from, d->soa_from_len, d->soa_from_ttl);
        assert_int_equal(xfr_delta_walk(d, false, expect_rr, e), 0);
        assert_true(e->at < s->n);
        assert_soa(&s->rr[e->at++], d->soa_to, d->soa_to_len, d->soa_to_ttl);
        assert_int_equal(xfr_delta_walk(d, true, expect_rr, e), 0);
    }
    assert_true(e->at < s->n);
    assert_soa(&s->rr[e->at++], last->soa_to, last->soa_to_len, last->soa_to_ttl);
    assert_int_equal(e->at, s->n);
}

static uint32_t rr_serial(const struct rr_seen *r)
{
    return wire_get32(r->rdata + r->rdlen - 20);
}

static void test_ixfr_stream(void **state)
{
    (void)state;
    struct xfr_journal j;
    xfr_journal_init(&j);
    struct xfr_delta *d[2];
    char why[256];
    assert_int_equal(xfr_diff(ver(0), ver(1), &OPTS, NULL, &d[0], why, sizeof(why)), 0);
    assert_int_equal(xfr_diff(ver(1), ver(2), &OPTS, NULL, &d[1], why, sizeof(why)), 0);
    assert_int_equal(xfr_journal_add(&j, APEX, 100, d[0]), 0);
    assert_int_equal(xfr_journal_add(&j, APEX, 100, d[1]), 0);

    /* From the oldest serial: both versions, in order. */
    uint64_t done = atomic_load(&xc.done), nixfr = atomic_load(&xc.ixfr);
    struct stream s;
    assert_int_equal(ixfr(ver(2), &j, 10, &s), 0);
    assert_int_equal(s.rcode, 0);
    assert_int_equal(s.questions, 1);
    /* SOA 12, SOA 10, gone, SOA 11, new, SOA 11, gone, SOA 12, new, SOA 12. */
    assert_int_equal(s.n, 6 + d[0]->ndel + d[0]->nadd + d[1]->ndel + d[1]->nadd);
    assert_int_equal(rr_serial(&s.rr[0]), 12);
    assert_int_equal(rr_serial(&s.rr[1]), 10);
    assert_int_equal(rr_serial(&s.rr[s.n - 1]), 12);
    struct expect e = {.s = &s};
    assert_ixfr(&e, d, 2);
    assert_int_equal(atomic_load(&xc.done), done + 1);
    assert_int_equal(atomic_load(&xc.ixfr), nixfr + 1);
    free(s.rr);

    /* From the middle: the last version only. */
    assert_int_equal(ixfr(ver(2), &j, 11, &s), 0);
    assert_int_equal(s.n, 4 + d[1]->ndel + d[1]->nadd);
    e = (struct expect){.s = &s};
    assert_ixfr(&e, d + 1, 1);
    assert_int_equal(atomic_load(&xc.ixfr), nixfr + 2);
    free(s.rr);

    /* From a serial the history does not have: the whole zone, AXFR's
     * form (SOA, NS, the records, SOA), not counted as an IXFR. */
    struct blobs want;
    zone_records(ver(2), &want);
    const struct zone *z = ver(2);
    uint32_t serials[] = {9, 12, 13};
    for (unsigned k = 0; k < 3; k++) {
        assert_int_equal(ixfr(z, &j, serials[k], &s), 0);
        assert_int_equal(s.n, 2 + want.n);
        assert_soa(&s.rr[0], z->soa_rdata, z->soa_rdlen, z->soa_ttl);
        assert_soa(&s.rr[s.n - 1], z->soa_rdata, z->soa_rdlen, z->soa_ttl);
        for (size_t i = 1; i + 1 < s.n; i++)
            assert_int_not_equal(s.rr[i].type, DNS_TYPE_SOA);
        free(s.rr);
    }
    assert_int_equal(atomic_load(&xc.ixfr), nixfr + 2);
    assert_int_equal(atomic_load(&xc.done), done + 5);
    /* Without a history at all, the same. */
    assert_int_equal(ixfr(z, NULL, 10, &s), 0);
    assert_int_equal(s.n, 2 + want.n);
    assert_int_equal(atomic_load(&xc.ixfr), nixfr + 2);
    free(s.rr);
    free(want.v);

    /* A secondary applying the stream to what v1 held ends with v3. */
    assert_int_equal(ixfr(ver(2), &j, 10, &s), 0);
    struct blobs have;
    zone_records(ver(0), &have);
    zone_records(ver(2), &want);
    /* Sections between the SOAs: odd ones go, even ones come. */
    unsigned soas = 0;
    for (size_t i = 1; i + 1 < s.n; i++) {
        const struct rr_seen *r = &s.rr[i];
        if (r->type == DNS_TYPE_SOA) {
            soas++;
            continue;
        }
        uint8_t owner[NAME_MAXWIRE];
        size_t olen;
        assert_int_equal(name_from_text(r->owner, owner, &olen), 0);
        struct zrec_rr rr = {.owner = owner,
                             .owner_len = olen,
                             .type = r->type,
                             .ttl = r->ttl,
                             .rdata = r->rdata,
                             .rdlen = r->rdlen};
        if (soas % 2)
            apply_del(&rr, &have);
        else
            apply_add(&rr, &have);
    }
    assert_int_equal(soas, 4);
    size_t alive = 0;
    for (size_t i = 0; i < have.n; i++)
        alive += !have.v[i].gone;
    assert_int_equal(alive, want.n);
    for (size_t i = 0; i < want.n; i++)
        assert_non_null(blobs_find(&have, &want.v[i]));
    free(have.v);
    free(want.v);
    free(s.rr);

    xfr_delta_unref(d[0]);
    xfr_delta_unref(d[1]);
    xfr_journal_destroy(&j);
}

/* A side of a difference with no records has no buffer (d->del or
 * d->add is NULL): every version that only added records, or only
 * removed some, has one, and xfr_stream_ixfr walks both sides of every
 * version. The walk once did NULL + 0, which UBSan aborts on. */
static void test_one_sided(void **state)
{
    (void)state;
    /* An empty delta walks nothing. */
    static struct rec_list l;
    struct xfr_delta *e = delta(2, 3);
    struct walk_check w = {.want = &l};
    assert_int_equal(xfr_delta_walk(e, false, check_rr, &w), 0);
    assert_int_equal(xfr_delta_walk(e, true, check_rr, &w), 0);
    assert_int_equal(w.seen, 0);
    xfr_delta_unref(e);

    /* A version that only added 198.51.100.4, answered by IXFR:
     * SOA 29, SOA 28, (nothing gone), SOA 29, the new A, SOA 29. */
    struct xfr_journal j;
    xfr_journal_init(&j);
    struct xfr_delta *d = NULL;
    char why[256];
    assert_int_equal(xfr_diff(ver(SMALL_AT), ver(SMALL_PAST), &OPTS, NULL, &d, why, sizeof(why)),
                     0);
    assert_int_equal(d->ndel, 0);
    assert_int_equal(d->nadd, 1);
    assert_int_equal(xfr_journal_add(&j, APEX, 10, d), 0);
    struct stream s;
    assert_int_equal(ixfr(ver(SMALL_PAST), &j, 28, &s), 0);
    assert_int_equal(s.n, 5);
    struct expect x = {.s = &s};
    assert_ixfr(&x, &d, 1);
    assert_string_equal(s.rr[3].owner, "4.100.51.198.bl.example.");
    free(s.rr);
    xfr_delta_unref(d);
    xfr_journal_destroy(&j);
}

/* ---- the history on disk (xfr_store) ------------------------------------------ */

static void assert_delta_equal(const struct xfr_delta *a, const struct xfr_delta *b)
{
    assert_int_equal(a->from, b->from);
    assert_int_equal(a->to, b->to);
    assert_int_equal(a->ndel, b->ndel);
    assert_int_equal(a->nadd, b->nadd);
    assert_int_equal(a->to_records, b->to_records);
    assert_int_equal(a->soa_from_len, b->soa_from_len);
    assert_memory_equal(a->soa_from, b->soa_from, a->soa_from_len);
    assert_int_equal(a->soa_to_ttl, b->soa_to_ttl);
    assert_int_equal(a->soa_to_len, b->soa_to_len);
    assert_memory_equal(a->soa_to, b->soa_to, a->soa_to_len);
    assert_int_equal(a->del_len, b->del_len);
    assert_int_equal(a->add_len, b->add_len);
    if (a->del_len)
        assert_memory_equal(a->del, b->del, a->del_len);
    if (a->add_len)
        assert_memory_equal(a->add, b->add, a->add_len);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* The CRC at the end made right again after an edit, so that the
 * structure checks behind it are reached. */
static void fix_crc(uint8_t *buf, size_t len)
{
    uLong crc = crc32(crc32(0, Z_NULL, 0), buf, (uInt)(len - 4));
    wire_put32(buf + len - 4, (uint32_t)crc);
}

/* The differences v1 -> v2 -> v3 in d, saved as v3's history in path;
 * returns the digest they were saved under. */
static uint64_t save_history(struct xfr_delta *d[2], char *path, size_t pathsz)
{
    char why[512];
    assert_int_equal(xfr_diff(ver(0), ver(1), &OPTS, NULL, &d[0], why, sizeof(why)), 0);
    assert_int_equal(xfr_diff(ver(1), ver(2), &OPTS, NULL, &d[1], why, sizeof(why)), 0);
    assert_int_equal(xfr_store_path(dir, ver(2), path, pathsz), 0);
    uint64_t digest = xfr_store_zone_digest(ver(2), 0, UINT32_MAX);
    assert_int_equal(xfr_store_save(path, ver(2), digest, d, 2, why, sizeof(why)), 0);
    return digest;
}

static void test_store_roundtrip(void **state)
{
    (void)state;
    char why[512], path[128];
    struct xfr_delta *d[2];
    const struct zone *z = ver(2);
    uint64_t digest = save_history(d, path, sizeof(path));

    struct xfr_delta **back = NULL;
    unsigned n = 0;
    assert_int_equal(xfr_store_load(path, z, digest, &back, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    for (unsigned i = 0; i < 2; i++)
        assert_delta_equal(back[i], d[i]);
    /* What was read back answers as the original: applied to v1's
     * records it gives v3's. */
    assert_diff_applies(ver(1), ver(2), back[1]);
    xfr_journal_chain_free(back, n);

    /* Another version of the zone, other TTL limits: not used. */
    assert_int_equal(xfr_store_load(path, ver(1), digest, &back, &n, why, sizeof(why)), ERR_EXISTS);
    assert_non_null(strstr(why, "ends at serial"));
    assert_int_equal(xfr_store_load(path, z, xfr_store_zone_digest(z, 60, UINT32_MAX), &back, &n,
                                    why, sizeof(why)),
                     ERR_EXISTS);
    assert_null(back);
    assert_int_equal(n, 0);
    /* The same serial, but not the same data: a zone of other datasets
     * (its fingerprint), another SOA, another zone. */
    struct zone other = *z;
    other.nall = 0;
    assert_int_equal(xfr_store_load(path, &other, digest, &back, &n, why, sizeof(why)), ERR_EXISTS);
    assert_non_null(strstr(why, "data is not what it was"));
    other = *z;
    other.soa_rdata[other.soa_rdlen - 16] ^= 1; /* the refresh timer */
    assert_int_equal(xfr_store_load(path, &other, digest, &back, &n, why, sizeof(why)), ERR_EXISTS);
    assert_string_equal(why, "the zone's SOA changed");
    other = *z;
    assert_int_equal(name_from_text("other.example", other.apex, &other.apex_len), 0);
    assert_int_equal(xfr_store_load(path, &other, digest, &back, &n, why, sizeof(why)), ERR_FORMAT);
    assert_string_equal(why, "the file is another zone's");
    assert_null(back);

    /* Names that are no safe file names are not kept. */
    struct zone fake = *z;
    const char *bad[] = {"a/b.example", "..", ".hidden", "a..b", "Upper.example", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake.name = (char *)bad[i];
        assert_int_equal(xfr_store_path(dir, &fake, path, sizeof(path)), ERR_INVAL);
    }
    assert_int_equal(xfr_store_load("/nonexistent/ixfr-x", z, digest, &back, &n, why, sizeof(why)),
                     ERR_NOTFOUND);
    xfr_delta_unref(d[0]);
    xfr_delta_unref(d[1]);
}

/* Damage of every kind is refused with a reason, never read past: each
 * byte flipped, each length cut short, and edits with the CRC made
 * right again. */
static void test_store_damage(void **state)
{
    (void)state;
    char why[512], path[128];
    struct xfr_delta *d[2];
    const struct zone *z = ver(2);
    uint64_t digest = save_history(d, path, sizeof(path));
    size_t len;
    uint8_t *buf = read_all(path, &len);
    struct xfr_delta **back = NULL;
    unsigned n = 0;
    assert_int_equal(xfr_store_parse(buf, len, z, digest, &back, &n, why, sizeof(why)), 0);
    xfr_journal_chain_free(back, n);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, buf, len);
        copy[i] ^= 0x21;
        assert_int_equal(xfr_store_parse(copy, len, z, digest, &back, &n, why, sizeof(why)),
                         ERR_FORMAT);
        assert_null(back);
    }
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        if (cut >= 12)
            fix_crc(part, cut);
        int rc = xfr_store_parse(part, cut, NULL, 0, &back, &n, why, sizeof(why));
        assert_int_equal(rc, ERR_FORMAT);
        free(part);
    }
    /* The count of differences (after magic, apex, digest, fingerprint)
     * made huge: refused before anything is allocated for it. */
    size_t at = 8 + 1 + z->apex_len + 16;
    memcpy(copy, buf, len);
    wire_put32(copy + at, 0x7fffffff);
    fix_crc(copy, len);
    assert_int_equal(xfr_store_parse(copy, len, NULL, 0, &back, &n, why, sizeof(why)), ERR_FORMAT);
    assert_string_equal(why, "more differences than the file holds");
    /* One difference said: bytes left over. */
    memcpy(copy, buf, len);
    wire_put32(copy + at, 1);
    fix_crc(copy, len);
    assert_int_equal(xfr_store_parse(copy, len, NULL, 0, &back, &n, why, sizeof(why)), ERR_FORMAT);
    assert_string_equal(why, "bytes after the last difference");
    /* The first difference's "to" serial changed: its SOA says another. */
    memcpy(copy, buf, len);
    wire_put32(copy + at + 8, d[0]->to + 1);
    fix_crc(copy, len);
    assert_int_equal(xfr_store_parse(copy, len, NULL, 0, &back, &n, why, sizeof(why)), ERR_FORMAT);
    assert_string_equal(why, "a difference's SOA has another serial than it");
    /* Whole and untouched, without a zone to match: read. */
    assert_int_equal(xfr_store_parse(buf, len, NULL, 0, &back, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    xfr_journal_chain_free(back, n);
    free(copy);
    free(buf);
    xfr_delta_unref(d[0]);
    xfr_delta_unref(d[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_ring),        cmocka_unit_test(test_journal_grows),
        cmocka_unit_test(test_journal_wait),        cmocka_unit_test(test_delta_roundtrip),
        cmocka_unit_test(test_chain_outlives_ring), cmocka_unit_test(test_diff),
        cmocka_unit_test(test_diff_identical),      cmocka_unit_test(test_diff_limit),
        cmocka_unit_test(test_diff_clamp),          cmocka_unit_test(test_ixfr_stream),
        cmocka_unit_test(test_one_sided),           cmocka_unit_test(test_diff_big),
        cmocka_unit_test(test_store_roundtrip),     cmocka_unit_test(test_store_damage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
