/* Unit tests for the /metrics renderer: exact sample lines, HELP and TYPE
 * for every family, and label values escaped as the text format requires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_metrics.h"

/* True when `line` (without its line feed) is a whole line of text. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        bool starts = p == text || p[-1] == '\n';
        if (starts && p[n] == '\n')
            return true;
    }
    return false;
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = text; *p;) {
        if (strncmp(p, prefix, plen) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

static void set(_Atomic uint64_t *v, uint64_t x)
{
    atomic_store_explicit(v, x, memory_order_relaxed);
}

struct fixture {
    struct http_metrics m;
    struct server_zone_info zones[2];
    struct http_metrics_live live[1];
    struct server_zone_stats zstats[2];
};

static void fill(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    struct http_metrics *m = &f->m;
    m->now = 1700000100;
    set(&m->udp.queries, 1000);
    set(&m->udp.listed, 400);
    set(&m->udp.nodata, 10);
    set(&m->udp.nxdomain, 580);
    set(&m->udp.refused, 3);
    set(&m->udp.formerr, 2);
    set(&m->udp.notimp, 1);
    set(&m->udp.servfail, 4);
    set(&m->udp.truncated, 7);
    set(&m->udp.dropped, 5);
    set(&m->udp.ratelimited, 30);
    set(&m->udp.slipped, 11);
    set(&m->tcp.queries, 20);
    set(&m->tcp.listed, 11);
    set(&m->tcp.nxdomain, 9);
    /* 2^64 - 1: counters print in full, not as a signed or float value. */
    set(&m->tcp.dropped, UINT64_MAX);
    set(&m->tcp.tcp_refused_full, 6);
    set(&m->tcp.tcp_refused_address, 12);
    set(&m->tcp.tcp_closed_idle, 40);
    set(&m->tcp.tcp_closed_time, 2);
    set(&m->tcp.tcp_closed_queries, 8);
    m->counters.reloads = 3;
    m->counters.reload_refused = 1;
    m->counters.live_updates = 42;
    m->counters.xfr_done = 3;
    m->counters.xfr_refused = 2;
    m->counters.xfr_failed = 1;
    m->counters.xfr_records = 2000005;
    m->counters.xfr_bytes = 90600000;
    m->counters.started = 1700000000;
    m->counters.last_publish = 1700000040;

    snprintf(f->zones[0].zone, sizeof(f->zones[0].zone), "bl.test");
    f->zones[0].loaded = true;
    f->zones[0].entries = 12345;
    f->zones[0].serial = 4294967295u;
    snprintf(f->zones[1].zone, sizeof(f->zones[1].zone), "we\"ird\\zo\nne");
    f->zones[1].loaded = false;
    f->zones[1].entries = 0;
    f->zones[1].serial = 7;
    m->zones = f->zones;
    m->nzones = 2;

    snprintf(f->live[0].zone, sizeof(f->live[0].zone), "bl.test");
    f->live[0].listed = 17;
    f->live[0].allowlist = 2;
    f->live[0].reports = 8;
    f->live[0].traps = 30;
    f->live[0].refused = 1;
    f->live[0].ended = 4;
    const struct {
        const char *name;
        uint64_t v;
    } cs[] = {{"reports_listed", 12},      {"reports_refused", 3}, {"refused_not_public", 2},
              {"refused_broken_chain", 1}, {"ignored_bounce", 4},  {"listings_started", 9},
              {"ended_expired", 6},        {"ended_removed", 1}};
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        snprintf(f->live[0].counters[i].name, sizeof(f->live[0].counters[i].name), "%s",
                 cs[i].name);
        f->live[0].counters[i].value = cs[i].v;
    }
    f->live[0].ncounters = sizeof(cs) / sizeof(cs[0]);
    m->live = f->live;
    m->nlive = 1;

    snprintf(f->zstats[0].zone, sizeof(f->zstats[0].zone), "bl.test");
    f->zstats[0].n[ANSWER_QT_A][ANSWER_RES_LISTED] = 400;
    f->zstats[0].n[ANSWER_QT_A][ANSWER_RES_NXDOMAIN] = 580;
    f->zstats[0].n[ANSWER_QT_TXT][ANSWER_RES_LISTED] = 11;
    snprintf(f->zstats[1].zone, sizeof(f->zstats[1].zone), "we\"ird");
    f->zstats[1].n[ANSWER_QT_OTHER][ANSWER_RES_DROPPED] = 5;
    m->zstats = f->zstats;
    m->nzstats = 2;

    m->http[0].status = 200;
    m->http[0].count = 50;
    m->http[1].status = 404;
    m->http[1].count = 2;
    m->nhttp = 2;
}

static char *render(const struct http_metrics *m)
{
    struct http_buf b;
    http_buf_init(&b);
    http_metrics_render(&b, m);
    assert_false(b.failed);
    char *text = http_buf_take(&b, NULL);
    assert_non_null(text);
    return text;
}

static void test_dns_counters(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(has_line(t, "# TYPE dnsblkit_dns_queries_total counter"));
    assert_true(has_line(t, "dnsblkit_dns_queries_total{transport=\"udp\"} 1000"));
    assert_true(has_line(t, "dnsblkit_dns_queries_total{transport=\"tcp\"} 20"));
    assert_true(has_line(t, "# TYPE dnsblkit_dns_responses_total counter"));
    assert_true(has_line(
        t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"noerror_listed\"} 400"));
    assert_true(
        has_line(t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"noerror_nodata\"} 10"));
    assert_true(
        has_line(t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"nxdomain\"} 580"));
    assert_true(has_line(t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"refused\"} 3"));
    assert_true(has_line(t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"formerr\"} 2"));
    assert_true(has_line(t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"notimp\"} 1"));
    assert_true(
        has_line(t, "dnsblkit_dns_responses_total{transport=\"udp\",rcode=\"servfail\"} 4"));
    assert_true(
        has_line(t, "dnsblkit_dns_responses_total{transport=\"tcp\",rcode=\"noerror_listed\"} 11"));
    assert_true(
        has_line(t, "dnsblkit_dns_responses_total{transport=\"tcp\",rcode=\"nxdomain\"} 9"));
    assert_true(
        has_line(t, "dnsblkit_dns_responses_total{transport=\"tcp\",rcode=\"servfail\"} 0"));
    /* Seven rcodes for each of two transports, nothing more. */
    assert_int_equal(count_lines_starting(t, "dnsblkit_dns_responses_total{"), 14);
    assert_true(has_line(t, "dnsblkit_dns_truncated_total{transport=\"udp\"} 7"));
    assert_true(has_line(t, "dnsblkit_dns_truncated_total{transport=\"tcp\"} 0"));
    assert_true(has_line(t, "dnsblkit_dns_dropped_total{transport=\"udp\"} 5"));
    /* 30 over the limit: 11 slipped, the other 19 dropped. */
    assert_true(has_line(t, "dnsblkit_dns_rate_limited_total{action=\"dropped\"} 19"));
    assert_true(has_line(t, "dnsblkit_dns_rate_limited_total{action=\"slipped\"} 11"));
    assert_true(has_line(t, "dnsblkit_dns_dropped_total{transport=\"tcp\"} 18446744073709551615"));
    /* The TCP limits: connections refused at once, and closed. */
    assert_true(has_line(t, "dnsblkit_tcp_connections_refused_total{reason=\"table_full\"} 6"));
    assert_true(has_line(t, "dnsblkit_tcp_connections_refused_total{reason=\"per_address\"} 12"));
    assert_true(has_line(t, "dnsblkit_tcp_connections_closed_total{reason=\"idle\"} 40"));
    assert_true(has_line(t, "dnsblkit_tcp_connections_closed_total{reason=\"max_time\"} 2"));
    assert_true(has_line(t, "dnsblkit_tcp_connections_closed_total{reason=\"max_queries\"} 8"));
    assert_int_equal(count_lines_starting(t, "dnsblkit_tcp_connections_closed_total{"), 3);
    free(t);
}

static void test_server_counters(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(has_line(t, "# TYPE dnsblkit_reloads_total counter"));
    assert_true(has_line(t, "dnsblkit_reloads_total 3"));
    assert_true(has_line(t, "# TYPE dnsblkit_reloads_refused_total counter"));
    assert_true(has_line(t, "dnsblkit_reloads_refused_total 1"));
    assert_true(has_line(t, "# TYPE dnsblkit_live_updates_total counter"));
    assert_true(has_line(t, "dnsblkit_live_updates_total 42"));
    assert_true(has_line(t, "dnsblkit_zone_transfers_total{result=\"sent\"} 3"));
    assert_true(has_line(t, "dnsblkit_zone_transfers_total{result=\"refused\"} 2"));
    assert_true(has_line(t, "dnsblkit_zone_transfers_total{result=\"failed\"} 1"));
    assert_true(has_line(t, "dnsblkit_zone_transfer_records_total 2000005"));
    assert_true(has_line(t, "dnsblkit_zone_transfer_bytes_total 90600000"));
    assert_true(has_line(t, "# TYPE dnsblkit_snapshot_age_seconds gauge"));
    assert_true(has_line(t, "dnsblkit_snapshot_age_seconds 60"));
    assert_true(has_line(t, "# TYPE dnsblkit_start_time_seconds gauge"));
    assert_true(has_line(t, "dnsblkit_start_time_seconds 1700000000"));
    free(t);

    /* Nothing published yet, or a clock stepped back: the age is 0. */
    f.m.counters.last_publish = 0;
    t = render(&f.m);
    assert_true(has_line(t, "dnsblkit_snapshot_age_seconds 0"));
    free(t);
    f.m.counters.last_publish = f.m.now + 30;
    t = render(&f.m);
    assert_true(has_line(t, "dnsblkit_snapshot_age_seconds 0"));
    free(t);
}

static void test_zones_and_escaping(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(has_line(t, "# TYPE dnsblkit_zone_entries gauge"));
    assert_true(has_line(t, "dnsblkit_zone_entries{zone=\"bl.test\"} 12345"));
    assert_true(has_line(t, "dnsblkit_zone_serial{zone=\"bl.test\"} 4294967295"));
    assert_true(has_line(t, "dnsblkit_zone_loaded{zone=\"bl.test\"} 1"));
    /* Quote, backslash and line feed escaped: the sample stays one line. */
    assert_true(has_line(t, "dnsblkit_zone_entries{zone=\"we\\\"ird\\\\zo\\nne\"} 0"));
    assert_true(has_line(t, "dnsblkit_zone_serial{zone=\"we\\\"ird\\\\zo\\nne\"} 7"));
    assert_true(has_line(t, "dnsblkit_zone_loaded{zone=\"we\\\"ird\\\\zo\\nne\"} 0"));
    assert_null(strstr(t, "we\"ird"));
    assert_null(strstr(t, "zo\nne"));
    free(t);
}

/* Answers by zone, type and result: the cells counted, none of the zeros. */
static void test_zone_answers(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(has_line(t, "# TYPE dnsblkit_dns_zone_answers_total counter"));
    assert_true(has_line(
        t, "dnsblkit_dns_zone_answers_total{zone=\"bl.test\",qtype=\"a\",result=\"listed\"} 400"));
    assert_true(has_line(t, "dnsblkit_dns_zone_answers_total{zone=\"bl.test\",qtype=\"a\","
                            "result=\"nxdomain\"} 580"));
    assert_true(has_line(t, "dnsblkit_dns_zone_answers_total{zone=\"bl.test\",qtype=\"txt\","
                            "result=\"listed\"} 11"));
    assert_true(has_line(t, "dnsblkit_dns_zone_answers_total{zone=\"we\\\"ird\",qtype=\"other\","
                            "result=\"dropped\"} 5"));
    assert_int_equal(count_lines_starting(t, "dnsblkit_dns_zone_answers_total{"), 4);
    free(t);
}

/* The database's counters, each in its family with its label. */
static void test_counters(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(has_line(t, "dnsblkit_reports_total{zone=\"bl.test\",verdict=\"listed\"} 12"));
    assert_true(has_line(t, "dnsblkit_reports_total{zone=\"bl.test\",verdict=\"refused\"} 3"));
    assert_true(
        has_line(t, "dnsblkit_reports_refused_total{zone=\"bl.test\",reason=\"not_public\"} 2"));
    assert_true(
        has_line(t, "dnsblkit_reports_refused_total{zone=\"bl.test\",reason=\"broken_chain\"} 1"));
    assert_true(
        has_line(t, "dnsblkit_reports_ignored_total{zone=\"bl.test\",reason=\"bounce\"} 4"));
    assert_true(has_line(t, "dnsblkit_listings_started_total{zone=\"bl.test\"} 9"));
    assert_true(has_line(t, "dnsblkit_listings_ended_total{zone=\"bl.test\",how=\"expired\"} 6"));
    assert_true(has_line(t, "dnsblkit_listings_ended_total{zone=\"bl.test\",how=\"removed\"} 1"));
    assert_int_equal(count_lines_starting(t, "dnsblkit_reports_total{"), 2);
    /* "listings_started" is not a reports_ counter, nor ended_* one. */
    assert_int_equal(count_lines_starting(t, "dnsblkit_listings_ended_total{"), 2);
    free(t);
}

static void test_live_and_http(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(has_line(t, "# TYPE dnsblkit_listings_active gauge"));
    assert_true(has_line(t, "dnsblkit_listings_active{zone=\"bl.test\"} 17"));
    assert_true(has_line(t, "dnsblkit_allowlist_entries{zone=\"bl.test\"} 2"));
    assert_true(has_line(t, "dnsblkit_reports_counted{zone=\"bl.test\",kind=\"report\"} 8"));
    assert_true(has_line(t, "dnsblkit_reports_counted{zone=\"bl.test\",kind=\"trap\"} 30"));
    assert_true(has_line(t, "dnsblkit_reports_counted{zone=\"bl.test\",kind=\"refused\"} 1"));
    assert_true(has_line(t, "dnsblkit_listings_ended{zone=\"bl.test\"} 4"));
    assert_true(has_line(t, "# TYPE dnsblkit_http_responses_total counter"));
    assert_true(has_line(t, "dnsblkit_http_responses_total{status=\"200\"} 50"));
    assert_true(has_line(t, "dnsblkit_http_responses_total{status=\"404\"} 2"));
    assert_int_equal(count_lines_starting(t, "dnsblkit_http_responses_total{"), 2);
    free(t);
}

/* Every family has exactly one HELP and one TYPE line, before its
 * samples, and every line is a comment or a sample of a known family. */
static void test_every_family_declared(void **state)
{
    (void)state;
    static const struct {
        const char *name, *type;
    } families[] = {
        {"dns_queries_total", "counter"},
        {"dns_responses_total", "counter"},
        {"dns_truncated_total", "counter"},
        {"dns_dropped_total", "counter"},
        {"dns_rate_limited_total", "counter"},
        {"tcp_connections_refused_total", "counter"},
        {"tcp_connections_closed_total", "counter"},
        {"reloads_total", "counter"},
        {"reloads_refused_total", "counter"},
        {"live_updates_total", "counter"},
        {"zone_transfers_total", "counter"},
        {"zone_transfer_records_total", "counter"},
        {"zone_transfer_bytes_total", "counter"},
        {"snapshot_age_seconds", "gauge"},
        {"start_time_seconds", "gauge"},
        {"zone_entries", "gauge"},
        {"zone_serial", "gauge"},
        {"zone_loaded", "gauge"},
        {"listings_active", "gauge"},
        {"allowlist_entries", "gauge"},
        {"reports_counted", "gauge"},
        {"listings_ended", "gauge"},
        {"http_responses_total", "counter"},
        {"dns_zone_answers_total", "counter"},
        {"reports_total", "counter"},
        {"reports_refused_total", "counter"},
        {"reports_ignored_total", "counter"},
        {"listings_started_total", "counter"},
        {"listings_ended_total", "counter"},
    };
    const size_t nf = sizeof(families) / sizeof(families[0]);
    struct fixture f;
    fill(&f);
    char *t = render(&f.m);
    assert_true(t[strlen(t) - 1] == '\n');
    char line[512];
    for (size_t i = 0; i < nf; i++) {
        snprintf(line, sizeof(line), "# HELP dnsblkit_%s ", families[i].name);
        assert_int_equal(count_lines_starting(t, line), 1);
        snprintf(line, sizeof(line), "# TYPE dnsblkit_%s %s", families[i].name, families[i].type);
        assert_true(has_line(t, line));
        snprintf(line, sizeof(line), "# TYPE dnsblkit_%s ", families[i].name);
        assert_int_equal(count_lines_starting(t, line), 1);
        /* The TYPE line comes before the family's first sample. */
        char sample[300];
        snprintf(sample, sizeof(sample), "\ndnsblkit_%s", families[i].name);
        const char *type_at = strstr(t, line);
        const char *first = strstr(t, sample);
        if (first)
            assert_true(type_at < first);
    }
    assert_int_equal(count_lines_starting(t, "# TYPE "), nf);
    /* Every sample line belongs to one of the families. */
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (*p != '#') {
            bool known = false;
            for (size_t i = 0; i < nf && !known; i++) {
                snprintf(line, sizeof(line), "dnsblkit_%s", families[i].name);
                size_t n = strlen(line);
                known = strncmp(p, line, n) == 0 && (p[n] == ' ' || p[n] == '{');
            }
            assert_true(known);
        }
        p = nl + 1;
    }
    free(t);
}

/* No zones, no live data, no HTTP statuses: the families are still
 * declared (so a scraper sees them) and carry no samples. */
static void test_empty(void **state)
{
    (void)state;
    struct http_metrics m;
    memset(&m, 0, sizeof(m));
    char *t = render(&m);
    assert_true(has_line(t, "# TYPE dnsblkit_zone_entries gauge"));
    assert_true(has_line(t, "# TYPE dnsblkit_http_responses_total counter"));
    assert_null(strstr(t, "{zone="));
    assert_null(strstr(t, "{status="));
    assert_true(has_line(t, "dnsblkit_dns_queries_total{transport=\"udp\"} 0"));
    assert_true(has_line(t, "dnsblkit_start_time_seconds 0"));
    free(t);
}

/* A status count beyond the array's size is not read. */
static void test_http_status_bound(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    for (unsigned i = 0; i < HTTP_METRICS_MAX_STATUS; i++) {
        f.m.http[i].status = 200 + i;
        f.m.http[i].count = i;
    }
    f.m.nhttp = HTTP_METRICS_MAX_STATUS + 5;
    char *t = render(&f.m);
    assert_int_equal(count_lines_starting(t, "dnsblkit_http_responses_total{"),
                     HTTP_METRICS_MAX_STATUS);
    free(t);
}

/* A buffer that has already failed stays failed and grows no further. */
static void test_failed_buffer(void **state)
{
    (void)state;
    struct fixture f;
    fill(&f);
    struct http_buf b;
    http_buf_init(&b);
    b.failed = true;
    http_metrics_render(&b, &f.m);
    assert_true(b.failed);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    http_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_counters),          cmocka_unit_test(test_server_counters),
        cmocka_unit_test(test_zones_and_escaping),    cmocka_unit_test(test_live_and_http),
        cmocka_unit_test(test_zone_answers),          cmocka_unit_test(test_counters),
        cmocka_unit_test(test_every_family_declared), cmocka_unit_test(test_empty),
        cmocka_unit_test(test_http_status_bound),     cmocka_unit_test(test_failed_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
