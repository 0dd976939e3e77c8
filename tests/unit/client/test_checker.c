/* Unit tests for the checker's decisions: scores over several specs and
 * lists (negative weights included), the confirmation round for
 * listings from lists not probed lately (with an injected clock), lists
 * that answer everything or outside 127/8, sick and disabled lists not
 * asked. The lists are served by a scripted responder on loopback, so
 * the test controls each answer and the moment a list goes bad; the
 * system tests (tests/system/test_check.py) do the same with real
 * servers and Unbound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/checker.h"
#include "common/err.h"

/* How a zone of the responder answers. */
enum mode {
    M_HEALTHY,  /* test entry and the names in `listed` listed, the rest NXDOMAIN */
    M_EVERYONE, /* 127.0.0.2 for every name (AHBL 2015) */
    M_PARKED,   /* 192.0.2.80 for every name (spamcop.net 2021) */
    M_NOTEST,   /* as M_HEALTHY without the test entry 127.0.0.2 */
    M_ALLIPS,   /* every address listed but 127.0.0.1 (0.0.0.0/0 in a data file) */
    M_GONE,     /* NXDOMAIN for every name, the apex too: the domain expired */
};

struct zone {
    const char *name;
    _Atomic int mode;
    const char *listed[4]; /* "1.2.0.192" -> codes */
    uint32_t codes[4][2];
    _Atomic unsigned queries;
};

static struct zone zones[] = {
    {"a.test", M_HEALTHY, {"1.2.0.192"}, {{0x7f000002, 0x7f000004}}, 0},
    {"b.test", M_HEALTHY, {"1.2.0.192"}, {{0x7f000002, 0}}, 0},
    {"c.test",
     M_HEALTHY,
     {"1.2.0.192", "2.2.0.192", "3.2.0.192"},
     {{0x7f000002, 0}, {0x7f000002, 0}, {0x7f000002, 0}},
     0},
    {"w.test", M_PARKED, {NULL}, {{0, 0}}, 0},
    {"d.test", M_HEALTHY, {"1.2.0.192"}, {{0x7f000002, 0}}, 0},
    {"e.test", M_HEALTHY, {"1.2.0.192", "2.2.0.192"}, {{0x7f000002, 0}, {0x7f000002, 0}}, 0},
    {"f.test", M_ALLIPS, {NULL}, {{0, 0}}, 0},
    {"g.test", M_HEALTHY, {"1.2.0.192"}, {{0x7f000002, 0}}, 0},
};
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static int srv_fd = -1;
static uint16_t srv_port;
static pthread_t srv_thread;
static atomic_bool srv_stop;
static int64_t now_ms;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return now_ms;
}

/* The query name in text (lower case), and where the question ends. */
static size_t qname_text(const uint8_t *q, size_t len, char *out, size_t outsz)
{
    size_t off = 12, n = 0;
    while (off < len && q[off]) {
        uint8_t l = q[off];
        if (n)
            out[n++] = '.';
        for (unsigned i = 1; i <= l && off + i < len && n + 1 < outsz; i++)
            out[n++] = (char)(q[off + i] | 0x20);
        off += 1u + l;
    }
    out[n] = '\0';
    return off + 1 + 4;
}

static void put_rr(uint8_t *r, size_t *len, uint16_t type, const uint8_t *rdata, uint16_t rdlen)
{
    static const uint8_t fixed[] = {0xc0, 0x0c};
    memcpy(r + *len, fixed, 2);
    r[*len + 2] = (uint8_t)(type >> 8);
    r[*len + 3] = (uint8_t)type;
    r[*len + 4] = 0;
    r[*len + 5] = 1; /* IN */
    r[*len + 6] = 0;
    r[*len + 7] = 0;
    r[*len + 8] = 0;
    r[*len + 9] = 60; /* TTL */
    r[*len + 10] = (uint8_t)(rdlen >> 8);
    r[*len + 11] = (uint8_t)rdlen;
    memcpy(r + *len + 12, rdata, rdlen);
    *len += 12u + rdlen;
    r[7]++; /* ANCOUNT */
}

static void put_a(uint8_t *r, size_t *len, uint32_t a)
{
    uint8_t rd[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    put_rr(r, len, 1, rd, 4);
}

static size_t answer(const uint8_t *q, size_t qlen, uint8_t *r)
{
    char name[300];
    size_t qend = qname_text(q, qlen, name, sizeof(name));
    if (qend > qlen)
        return 0;
    uint16_t qtype = (uint16_t)(q[qend - 4] << 8 | q[qend - 3]);
    memcpy(r, q, qend);
    r[2] = 0x84 | (q[2] & 0x01); /* QR AA, RD copied */
    r[3] = 0x80;                 /* RA */
    memset(r + 6, 0, 6);
    size_t len = qend;
    for (size_t z = 0; z < NZONES; z++) {
        struct zone *zn = &zones[z];
        size_t zl = strlen(zn->name), nl = strlen(name);
        bool apex = !strcmp(name, zn->name);
        if (!apex && !(nl > zl && name[nl - zl - 1] == '.' && !strcmp(name + nl - zl, zn->name)))
            continue;
        atomic_fetch_add(&zn->queries, 1);
        int mode = atomic_load(&zn->mode);
        if (mode == M_GONE) {
            r[3] |= 3;
            return len;
        }
        if (apex && qtype == 6) {
            static const uint8_t soa[22] = {0, 0,    0,    0, 0, 1,    0,    0, 0x0e, 0x10, 0,
                                            0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0,    0,    60};
            put_rr(r, &len, 6, soa, sizeof(soa));
            return len;
        }
        if (qtype != 1 && qtype != 16) {
            return len; /* NODATA */
        }
        if (mode == M_EVERYONE || mode == M_PARKED) {
            if (qtype == 1)
                put_a(r, &len, mode == M_EVERYONE ? 0x7f000002 : 0xc0000250);
            return len;
        }
        char head[300];
        snprintf(head, sizeof(head), "%.*s", (int)(nl - zl - 1), name);
        if (mode == M_ALLIPS) {
            unsigned o[4];
            char extra;
            if (sscanf(head, "%u.%u.%u.%u%c", &o[0], &o[1], &o[2], &o[3], &extra) == 4 &&
                strcmp(head, "1.0.0.127") != 0) {
                if (qtype == 1)
                    put_a(r, &len, 0x7f000002);
                return len;
            }
            r[3] |= 3;
            return len;
        }
        if (!strcmp(head, "2.0.0.127") && mode != M_NOTEST) {
            if (qtype == 1) {
                put_a(r, &len, 0x7f000002);
            } else {
                /* NODATA for its TXT, with the SOA that makes it
                 * cacheable (RFC 2308): an authority record. */
                static const uint8_t soa[22] = {0, 0,    0,    0, 0, 1,    0,    0, 0x0e, 0x10, 0,
                                                0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0,    0,    60};
                put_rr(r, &len, 6, soa, sizeof(soa));
                r[7]--; /* ANCOUNT */
                r[9]++; /* NSCOUNT */
            }
            return len;
        }
        for (unsigned i = 0; i < 4 && zn->listed[i]; i++)
            if (!strcmp(head, zn->listed[i])) {
                for (unsigned k = 0; k < 2 && zn->codes[i][k]; k++)
                    if (qtype == 1)
                        put_a(r, &len, zn->codes[i][k]);
                if (qtype == 16) {
                    static const uint8_t txt[] = {6, 'l', 'i', 's', 't', 'e', 'd'};
                    put_rr(r, &len, 16, txt, sizeof(txt));
                }
                return len;
            }
        r[3] |= 3; /* NXDOMAIN */
        return len;
    }
    r[3] |= 5; /* REFUSED: not ours */
    return len;
}

static void *serve(void *arg)
{
    (void)arg;
    uint8_t q[512], r[1024];
    while (!atomic_load(&srv_stop)) {
        struct pollfd p = {srv_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(srv_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        size_t len = answer(q, (size_t)n, r);
        if (len)
            sendto(srv_fd, r, len, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    srv_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(srv_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    getsockname(srv_fd, (struct sockaddr *)&sin, &sl);
    srv_port = ntohs(sin.sin_port);
    atomic_store(&srv_stop, false);
    return pthread_create(&srv_thread, NULL, serve, NULL);
}

static int teardown(void **state)
{
    (void)state;
    atomic_store(&srv_stop, true);
    pthread_join(srv_thread, NULL);
    close(srv_fd);
    return 0;
}

static int64_t fresh_ms; /* the next new_checker's freshness */

static struct checker *new_checker(const char *const *specs, size_t n, bool enabled)
{
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1/%u", srv_port);
    struct checker_conf c;
    checker_conf_init(&c);
    c.resolver.servers = servers;
    c.resolver.timeout_ms = 300;
    c.clock_ms = fake_clock;
    c.fresh_ms = fresh_ms;
    struct checker *ck;
    char err[256];
    assert_int_equal(checker_new(&c, &ck, err, sizeof(err)), 0);
    for (size_t i = 0; i < n; i++) {
        struct listspec s;
        char why[128];
        assert_int_equal(listspec_parse(specs[i], &s, why, sizeof(why)), 0);
        assert_true(checker_add(ck, &s, CHECKER_IP, enabled) >= 0);
    }
    return ck;
}

struct got {
    bool done;
    int score;
    bool listed;
    enum checker_outcome outcome[8];
    int list_score[8];
    char why[8][200];
    char txt[8][REPLY_TXT_MAX + 1];
};

static void got_fn(void *arg, const struct checker_result *res)
{
    struct got *g = arg;
    g->done = true;
    g->score = res->score;
    g->listed = res->listed;
    for (unsigned i = 0; i < res->nlists && i < 8; i++) {
        g->outcome[i] = res->lists[i].outcome;
        g->list_score[i] = res->lists[i].score;
        snprintf(g->why[i], sizeof(g->why[i]), "%s", res->lists[i].why);
        snprintf(g->txt[i], sizeof(g->txt[i]), "%s", res->lists[i].txt);
    }
}

static void check(struct checker *ck, const char *subject, struct got *g)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(checker_check(ck, subject, CHECKER_TXT, got_fn, g), 0);
    for (int i = 0; i < 100 && !g->done; i++)
        assert_int_equal(checker_run(ck, 100), 0);
    assert_true(g->done);
}

static void test_scores(void **state)
{
    (void)state;
    static const char *const specs[] = {"a.test=127.0.0.2*3", "a.test=127.0.0.4*2",
                                        "a.test=127.0.0.9*50", "b.test*-1"};
    struct checker *ck = new_checker(specs, 4, true);
    struct got g;
    check(ck, "192.0.2.1", &g);
    /* Two specs of a.test match (3 + 2; 127.0.0.9 is not answered),
     * the allowlist takes one off. */
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    assert_int_equal(g.list_score[0], 5);
    assert_string_equal(g.txt[0], "listed");
    assert_int_equal(g.outcome[1], CHECKER_LISTED);
    assert_int_equal(g.list_score[1], -1);
    assert_int_equal(g.score, 4);
    assert_true(g.listed);
    check(ck, "192.0.2.77", &g);
    assert_int_equal(g.outcome[0], CHECKER_NOT_LISTED);
    assert_int_equal(g.score, 0);
    assert_false(g.listed);
    /* Not an address or a domain. */
    assert_int_equal(checker_check(ck, "not an address", 0, got_fn, &g), ERR_INVAL);
    checker_free(ck);
}

static void test_confirmation(void **state)
{
    (void)state;
    static const char *const specs[] = {"c.test"};
    struct checker *ck = new_checker(specs, 1, true);
    struct got g;
    now_ms = 1000000;
    /* Never probed: the listing waits for a round, which passes. */
    check(ck, "192.0.2.1", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    struct checker_list_info in;
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_HEALTHY);
    assert_int_equal(in.health.rounds, 1);

    /* The round that confirmed it started after the answer came (in the
     * same millisecond: the clock stands still): the cached listing
     * counts at once, without a query or another round. */
    unsigned before = atomic_load(&zones[2].queries);
    check(ck, "192.0.2.1", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    assert_true(g.listed);
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.rounds, 1);
    assert_int_equal(in.cache_hits, 1);
    assert_int_equal(atomic_load(&zones[2].queries), before); /* its TXT is cached too */

    /* A listing that came while a round ran (started before it) waits for
     * the next round, even from the cache. */
    now_ms += 1000;
    checker_probe_all(ck);      /* round 2 runs... */
    check(ck, "192.0.2.3", &g); /* ...while this answer comes: round 3 confirms it */
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.rounds, 3);

    /* The list starts answering everything (AHBL 2015), a second after a
     * round passed: the next new listing is confirmed first, the round
     * finds 127.0.0.1 listed, the list is sick at once, the listing is
     * ignored. */
    atomic_store(&zones[2].mode, M_EVERYONE);
    now_ms += 1000;
    check(ck, "192.0.2.2", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    assert_false(g.listed);
    assert_non_null(strstr(g.why[0], "sick"));
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_SICK);
    assert_int_equal(in.health.rounds, 4);
    assert_non_null(strstr(in.health.why, "answers everything"));

    /* A sick list is not even asked. */
    before = atomic_load(&zones[2].queries);
    check(ck, "192.0.2.4", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    assert_int_equal(atomic_load(&zones[2].queries), before);

    /* Healthy again: sick_after/healthy_after rounds of 2. */
    atomic_store(&zones[2].mode, M_HEALTHY);
    for (int i = 0; i < 2; i++) {
        checker_probe_all(ck);
        while (checker_pending(ck))
            assert_int_equal(checker_run(ck, 100), 0);
    }
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_HEALTHY);
    check(ck, "192.0.2.1", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    checker_free(ck);
}

/* A listing without TXT: its empty TXT answer is cached too, so the next
 * check of the address asks nothing at all. */
static void test_no_txt_cached(void **state)
{
    (void)state;
    static const char *const specs[] = {"b.test"};
    struct checker *ck = new_checker(specs, 1, true);
    struct got g;
    now_ms = 3000000;
    check(ck, "127.0.0.2", &g); /* the test entry: listed, no TXT */
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    assert_string_equal(g.txt[0], "");
    unsigned before = atomic_load(&zones[1].queries);
    check(ck, "127.0.0.2", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    assert_int_equal(atomic_load(&zones[1].queries), before);
    checker_free(ck);
}

/* freshness > 0 trades safety for a round trip: within it a new listing
 * counts without a round, even from a list that has just turned into a
 * wildcard; past it, it is confirmed as by default. */
static void test_freshness_window(void **state)
{
    (void)state;
    static const char *const specs[] = {"c.test"};
    fresh_ms = 10000;
    struct checker *ck = new_checker(specs, 1, true);
    fresh_ms = 0;
    struct got g;
    now_ms = 2000000;
    check(ck, "192.0.2.1", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    struct checker_list_info in;
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.rounds, 1);

    atomic_store(&zones[2].mode, M_EVERYONE);
    now_ms += 5000;
    check(ck, "192.0.2.2", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED); /* the risk taken */
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.rounds, 1);

    now_ms += 6000;
    check(ck, "192.0.2.3", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_SICK);
    atomic_store(&zones[2].mode, M_HEALTHY);
    checker_free(ck);
}

/* A healthy list whose confirmation round fails softly (the test entry
 * went missing) is still healthy (sick_after 2), but the listing that
 * waited for that round does not count. */
static void test_failed_confirmation(void **state)
{
    (void)state;
    static const char *const specs[] = {"e.test"};
    struct checker *ck = new_checker(specs, 1, true);
    struct got g;
    now_ms = 5000000;
    check(ck, "192.0.2.1", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    atomic_store(&zones[5].mode, M_NOTEST);
    now_ms += 20000;
    check(ck, "192.0.2.2", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    assert_non_null(strstr(g.why[0], "confirmation round failed"));
    struct checker_list_info in;
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_HEALTHY);
    /* Right after, still no: the last round did not pass, so the
     * listing (from the cache now) waits for another, the second bad
     * one in a row: the list is sick. */
    now_ms += 1000;
    check(ck, "192.0.2.2", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_SICK);
    atomic_store(&zones[5].mode, M_HEALTHY);
    for (int i = 0; i < 2; i++) {
        checker_probe_all(ck);
        while (checker_pending(ck))
            assert_int_equal(checker_run(ck, 100), 0);
    }
    now_ms += 1000;
    check(ck, "192.0.2.2", &g);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    checker_free(ck);
}

/* NXDOMAIN at the apex: the list's domain is gone, and one round says so. */
static void test_zone_gone(void **state)
{
    (void)state;
    static const char *const specs[] = {"g.test"};
    struct checker *ck = new_checker(specs, 1, true);
    now_ms = 7000000;
    atomic_store(&zones[7].mode, M_GONE);
    checker_probe_all(ck);
    while (checker_pending(ck))
        assert_int_equal(checker_run(ck, 100), 0);
    struct checker_list_info in;
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.rounds, 1);
    assert_int_equal(in.health.state, HEALTH_SICK);
    assert_non_null(strstr(in.health.why, "the zone is gone"));
    atomic_store(&zones[7].mode, M_HEALTHY);
    checker_free(ck);
}

/* With periodic rounds, a round that goes against the list's state is
 * followed by the next at once: a list missing its test entry is sick
 * after sick-after (2) rounds without waiting a probe interval between
 * them, and back after healthy-after rounds the same way; a settled list
 * waits the interval. The clock stands still: only the streaks run
 * rounds. */
static void test_unsettled_rounds_follow_at_once(void **state)
{
    (void)state;
    static const char *const specs[] = {"g.test"};
    struct checker *ck = new_checker(specs, 1, true);
    struct checker_list_info in;
    now_ms = 8000000;
    atomic_store(&zones[7].mode, M_NOTEST);
    checker_set_periodic(ck, true);
    for (int i = 0; i < 20; i++)
        assert_int_equal(checker_run(ck, 50), 0);
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_SICK);
    assert_int_equal(in.health.rounds, 2); /* sick, settled: no third */
    int timeout = -1;
    struct pollfd fds[RESOLVER_MAX_FDS];
    checker_pollfds(ck, fds, RESOLVER_MAX_FDS, &timeout);
    assert_int_equal(timeout, 30000); /* the next round, a probe interval on */

    atomic_store(&zones[7].mode, M_HEALTHY);
    now_ms += 30000;
    for (int i = 0; i < 20; i++)
        assert_int_equal(checker_run(ck, 50), 0);
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_HEALTHY);
    assert_int_equal(in.health.rounds, 4);
    checker_set_periodic(ck, false);
    atomic_store(&zones[7].mode, M_HEALTHY);
    checker_free(ck);
}

/* A list that lists every address but 127.0.0.1 passes the test entries
 * and the random name; the random loopback address gives it away. */
static void test_lists_all_addresses(void **state)
{
    (void)state;
    static const char *const specs[] = {"f.test"};
    struct checker *ck = new_checker(specs, 1, true);
    struct got g;
    check(ck, "198.51.100.7", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    struct checker_list_info in;
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_SICK);
    assert_non_null(strstr(in.health.why, "random address"));
    checker_free(ck);
}

static void test_parked(void **state)
{
    (void)state;
    static const char *const specs[] = {"w.test*5", "d.test"};
    struct checker *ck = new_checker(specs, 2, true);
    struct got g;
    check(ck, "192.0.2.1", &g);
    /* 192.0.2.80 is no DNSBL answer: ignored, and the list is probed. */
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    assert_non_null(strstr(g.why[0], "outside 127/8"));
    assert_int_equal(g.outcome[1], CHECKER_LISTED);
    assert_int_equal(g.score, 1);
    while (checker_pending(ck))
        assert_int_equal(checker_run(ck, 100), 0);
    struct checker_list_info in;
    checker_list_info(ck, 0, &in);
    assert_int_equal(in.health.state, HEALTH_SICK);
    checker_free(ck);
}

/* A loop of the caller's own (policyd's): checker_pollfds beside other
 * sockets, checker_process after poll; with periodic probing the
 * timeout says when the next round is due. */
static void test_external_loop(void **state)
{
    (void)state;
    static const char *const specs[] = {"a.test"};
    struct checker *ck = new_checker(specs, 1, true);
    checker_set_periodic(ck, true);
    now_ms = 9000000;
    int other[2];
    assert_int_equal(pipe(other), 0);
    struct got g;
    memset(&g, 0, sizeof(g));
    assert_int_equal(checker_check(ck, "192.0.2.1", 0, got_fn, &g), 0);
    struct checker_list_info in;
    for (int i = 0; i < 200; i++) {
        checker_list_info(ck, 0, &in);
        if (g.done && !in.probing && in.health.rounds >= 1)
            break;
        struct pollfd fds[1 + RESOLVER_MAX_FDS];
        fds[0].fd = other[0];
        fds[0].events = POLLIN;
        int timeout = 100;
        unsigned n = checker_pollfds(ck, fds + 1, RESOLVER_MAX_FDS, &timeout);
        assert_true(timeout >= 0 && timeout <= 100);
        assert_true(poll(fds, n + 1, timeout) >= 0);
        assert_int_equal(fds[0].revents, 0); /* nobody wrote to it */
        checker_process(ck, fds + 1, n);
    }
    assert_true(g.done);
    assert_int_equal(g.outcome[0], CHECKER_LISTED);
    assert_int_equal(in.health.state, HEALTH_HEALTHY);
    /* Nothing in flight: the next round is due in probe_interval (30 s
     * by the test's clock), which is the wait asked for... */
    struct pollfd fds[RESOLVER_MAX_FDS];
    int timeout = -1;
    checker_pollfds(ck, fds, RESOLVER_MAX_FDS, &timeout);
    assert_int_equal(timeout, 30000);
    /* ...and once it is due, no wait at all, and processing starts it. */
    now_ms += 30000;
    timeout = -1;
    unsigned n = checker_pollfds(ck, fds, RESOLVER_MAX_FDS, &timeout);
    assert_int_equal(timeout, 0);
    checker_process(ck, fds, n);
    checker_list_info(ck, 0, &in);
    assert_true(in.probing);
    while (checker_pending(ck))
        assert_int_equal(checker_run(ck, 100), 0);
    close(other[0]);
    close(other[1]);
    checker_free(ck);
}

static void test_disabled(void **state)
{
    (void)state;
    static const char *const specs[] = {"d.test"};
    struct checker *ck = new_checker(specs, 1, false);
    unsigned before = atomic_load(&zones[4].queries);
    struct got g;
    check(ck, "192.0.2.1", &g);
    assert_int_equal(g.outcome[0], CHECKER_IGNORED);
    assert_non_null(strstr(g.why[0], "disabled"));
    checker_probe_all(ck);
    assert_int_equal(checker_pending(ck), 0);
    assert_int_equal(atomic_load(&zones[4].queries), before);
    checker_free(ck);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_confirmation),
        cmocka_unit_test(test_freshness_window),
        cmocka_unit_test(test_no_txt_cached),
        cmocka_unit_test(test_zone_gone),
        cmocka_unit_test(test_unsettled_rounds_follow_at_once),
        cmocka_unit_test(test_parked),
        cmocka_unit_test(test_failed_confirmation),
        cmocka_unit_test(test_lists_all_addresses),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_external_loop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
