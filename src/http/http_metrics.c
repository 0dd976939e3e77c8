/* The Prometheus text exposition format (0.0.4) of the server's counters. */
#include "http/http_metrics.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>

#define HTTP_METRICS_PREFIX "dnsblkit_"

static void http_metrics_family(struct http_buf *b, const char *name, const char *type,
                                const char *help)
{
    http_buf_printf(b, "# HELP " HTTP_METRICS_PREFIX "%s %s\n", name, help);
    http_buf_printf(b, "# TYPE " HTTP_METRICS_PREFIX "%s %s\n", name, type);
}

/* A label value as the format requires: backslash, double quote and
 * line feed escaped, everything else (UTF-8 included) as it is. The
 * zone names come from a configuration file, so they are not trusted to
 * be free of these. `max` bounds fixed-size fields that may lack a NUL. */
static void http_metrics_label(struct http_buf *b, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\\':
            http_buf_puts(b, "\\\\");
            break;
        case '"':
            http_buf_puts(b, "\\\"");
            break;
        case '\n':
            http_buf_puts(b, "\\n");
            break;
        default:
            http_buf_add(b, s + i, 1);
        }
    }
}

/* One sample of a family with a single zone label. */
static void http_metrics_zone_sample(struct http_buf *b, const char *name, const char *zone,
                                     size_t zmax, uint64_t v)
{
    http_buf_printf(b, HTTP_METRICS_PREFIX "%s{zone=\"", name);
    http_metrics_label(b, zone, zmax);
    http_buf_printf(b, "\"} %" PRIu64 "\n", v);
}

static uint64_t http_metrics_get(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* Each counter of struct answer_stats as a transport-labelled sample. */
enum http_metrics_field {
    HM_QUERIES,
    HM_LISTED,
    HM_NODATA,
    HM_NXDOMAIN,
    HM_REFUSED,
    HM_FORMERR,
    HM_NOTIMP,
    HM_SERVFAIL,
    HM_TRUNCATED,
    HM_DROPPED,
};

static uint64_t http_metrics_field(const struct answer_stats *s, enum http_metrics_field f)
{
    switch (f) {
    case HM_QUERIES:
        return http_metrics_get(&s->queries);
    case HM_LISTED:
        return http_metrics_get(&s->listed);
    case HM_NODATA:
        return http_metrics_get(&s->nodata);
    case HM_NXDOMAIN:
        return http_metrics_get(&s->nxdomain);
    case HM_REFUSED:
        return http_metrics_get(&s->refused);
    case HM_FORMERR:
        return http_metrics_get(&s->formerr);
    case HM_NOTIMP:
        return http_metrics_get(&s->notimp);
    case HM_SERVFAIL:
        return http_metrics_get(&s->servfail);
    case HM_TRUNCATED:
        return http_metrics_get(&s->truncated);
    case HM_DROPPED:
        return http_metrics_get(&s->dropped);
    }
    return 0;
}

static void http_metrics_by_transport(struct http_buf *b, const struct http_metrics *m,
                                      const char *name, enum http_metrics_field f)
{
    http_buf_printf(b, HTTP_METRICS_PREFIX "%s{transport=\"udp\"} %" PRIu64 "\n", name,
                    http_metrics_field(&m->udp, f));
    http_buf_printf(b, HTTP_METRICS_PREFIX "%s{transport=\"tcp\"} %" PRIu64 "\n", name,
                    http_metrics_field(&m->tcp, f));
}

static void http_metrics_dns(struct http_buf *b, const struct http_metrics *m)
{
    static const struct {
        const char *rcode;
        enum http_metrics_field f;
    } rcodes[] = {
        {"noerror_listed", HM_LISTED}, {"noerror_nodata", HM_NODATA}, {"nxdomain", HM_NXDOMAIN},
        {"refused", HM_REFUSED},       {"formerr", HM_FORMERR},       {"notimp", HM_NOTIMP},
        {"servfail", HM_SERVFAIL},
    };
    const struct {
        const char *name;
        const struct answer_stats *s;
    } transports[] = {{"udp", &m->udp}, {"tcp", &m->tcp}};

    http_metrics_family(b, "dns_queries_total", "counter", "DNS queries received.");
    http_metrics_by_transport(b, m, "dns_queries_total", HM_QUERIES);

    http_metrics_family(b, "dns_responses_total", "counter", "DNS responses sent, by rcode.");
    for (size_t t = 0; t < sizeof(transports) / sizeof(transports[0]); t++)
        for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
            http_buf_printf(b,
                            HTTP_METRICS_PREFIX
                            "dns_responses_total{transport=\"%s\",rcode=\"%s\"} %" PRIu64 "\n",
                            transports[t].name, rcodes[i].rcode,
                            http_metrics_field(transports[t].s, rcodes[i].f));

    http_metrics_family(b, "dns_truncated_total", "counter",
                        "DNS responses truncated (TC set) to fit the transport.");
    http_metrics_by_transport(b, m, "dns_truncated_total", HM_TRUNCATED);

    http_metrics_family(b, "dns_dropped_total", "counter", "DNS requests dropped unanswered.");
    http_metrics_by_transport(b, m, "dns_dropped_total", HM_DROPPED);

    /* Only UDP is limited: a TCP client cannot forge its address. */
    uint64_t limited = http_metrics_get(&m->udp.ratelimited);
    uint64_t slipped = http_metrics_get(&m->udp.slipped);
    http_metrics_family(b, "dns_rate_limited_total", "counter",
                        "UDP responses over the rate limit: dropped, or slipped (sent empty "
                        "with TC set).");
    http_buf_printf(b,
                    HTTP_METRICS_PREFIX "dns_rate_limited_total{action=\"dropped\"} %" PRIu64 "\n",
                    limited >= slipped ? limited - slipped : 0);
    http_buf_printf(
        b, HTTP_METRICS_PREFIX "dns_rate_limited_total{action=\"slipped\"} %" PRIu64 "\n", slipped);

    const struct answer_stats *t = &m->tcp;
    http_metrics_family(b, "tcp_connections_refused_total", "counter",
                        "TCP connections closed at once: the table was full (tcp-clients), or "
                        "the client address held its share (tcp-clients-per-address).");
    http_buf_printf(
        b, HTTP_METRICS_PREFIX "tcp_connections_refused_total{reason=\"table_full\"} %" PRIu64 "\n",
        http_metrics_get(&t->tcp_refused_full));
    http_buf_printf(b,
                    HTTP_METRICS_PREFIX
                    "tcp_connections_refused_total{reason=\"per_address\"} %" PRIu64 "\n",
                    http_metrics_get(&t->tcp_refused_address));
    http_metrics_family(b, "tcp_connections_closed_total", "counter",
                        "TCP connections closed by the server for a limit: idle "
                        "(tcp-idle-timeout), max_time (tcp-max-time), max_queries "
                        "(tcp-max-queries).");
    static const char *const reasons[] = {"idle", "max_time", "max_queries"};
    const uint64_t closed[] = {http_metrics_get(&t->tcp_closed_idle),
                               http_metrics_get(&t->tcp_closed_time),
                               http_metrics_get(&t->tcp_closed_queries)};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        http_buf_printf(
            b, HTTP_METRICS_PREFIX "tcp_connections_closed_total{reason=\"%s\"} %" PRIu64 "\n",
            reasons[i], closed[i]);
}

static void http_metrics_server(struct http_buf *b, const struct http_metrics *m)
{
    const struct server_counters *c = &m->counters;

    http_metrics_family(b, "reloads_total", "counter", "Snapshots published from data files.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "reloads_total %" PRIu64 "\n", c->reloads);

    http_metrics_family(b, "reloads_refused_total", "counter",
                        "Datasets or reloads refused; the last good data kept serving.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "reloads_refused_total %" PRIu64 "\n",
                    c->reload_refused);

    http_metrics_family(b, "live_updates_total", "counter",
                        "Snapshots published for changes of live listing data.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "live_updates_total %" PRIu64 "\n", c->live_updates);

    http_metrics_family(b, "zone_transfers_total", "counter",
                        "Zone transfers (AXFR, and IXFR answered with the whole zone) by result: "
                        "sent whole, refused (a client not in allow-transfer, the record cap), "
                        "failed (the connection went).");
    http_buf_printf(b, HTTP_METRICS_PREFIX "zone_transfers_total{result=\"sent\"} %" PRIu64 "\n",
                    c->xfr_done);
    http_buf_printf(b, HTTP_METRICS_PREFIX "zone_transfers_total{result=\"refused\"} %" PRIu64 "\n",
                    c->xfr_refused);
    http_buf_printf(b, HTTP_METRICS_PREFIX "zone_transfers_total{result=\"failed\"} %" PRIu64 "\n",
                    c->xfr_failed);
    http_metrics_family(b, "zone_transfer_records_total", "counter",
                        "Records sent in whole zone transfers.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "zone_transfer_records_total %" PRIu64 "\n",
                    c->xfr_records);
    http_metrics_family(b, "zone_transfer_bytes_total", "counter",
                        "Bytes of DNS messages sent in whole zone transfers.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "zone_transfer_bytes_total %" PRIu64 "\n", c->xfr_bytes);

    /* Before the first publication there is no snapshot to be old; a
     * clock stepped back must not give a negative age either. */
    long long age = 0;
    if (c->last_publish > 0 && m->now > c->last_publish)
        age = (long long)(m->now - c->last_publish);
    http_metrics_family(b, "snapshot_age_seconds", "gauge",
                        "Seconds since the current snapshot was published.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "snapshot_age_seconds %lld\n", age);

    http_metrics_family(b, "start_time_seconds", "gauge",
                        "When the server started answering, in seconds since the epoch.");
    http_buf_printf(b, HTTP_METRICS_PREFIX "start_time_seconds %lld\n", (long long)c->started);
}

static void http_metrics_zones(struct http_buf *b, const struct http_metrics *m)
{
    const size_t zmax = sizeof(m->zones[0].zone);

    http_metrics_family(b, "zone_entries", "gauge", "Entries of the zone's datasets.");
    for (unsigned i = 0; i < m->nzones; i++)
        http_metrics_zone_sample(b, "zone_entries", m->zones[i].zone, zmax, m->zones[i].entries);

    http_metrics_family(b, "zone_serial", "gauge", "The zone's SOA serial.");
    for (unsigned i = 0; i < m->nzones; i++)
        http_metrics_zone_sample(b, "zone_serial", m->zones[i].zone, zmax, m->zones[i].serial);

    http_metrics_family(b, "zone_loaded", "gauge",
                        "1 when the zone's data is loaded, 0 while a load is pending.");
    for (unsigned i = 0; i < m->nzones; i++)
        http_metrics_zone_sample(b, "zone_loaded", m->zones[i].zone, zmax,
                                 m->zones[i].loaded ? 1 : 0);
}

static void http_metrics_live(struct http_buf *b, const struct http_metrics *m)
{
    const size_t zmax = sizeof(m->live[0].zone);

    http_metrics_family(b, "listings_active", "gauge",
                        "Listings in force in the zone (counted at most once a minute).");
    for (unsigned i = 0; i < m->nlive; i++)
        http_metrics_zone_sample(b, "listings_active", m->live[i].zone, zmax, m->live[i].listed);

    http_metrics_family(b, "allowlist_entries", "gauge", "Allowlist entries of the zone.");
    for (unsigned i = 0; i < m->nlive; i++)
        http_metrics_zone_sample(b, "allowlist_entries", m->live[i].zone, zmax,
                                 m->live[i].allowlist);

    /* Gauges, not counters: the sweep prunes old evidence, so these fall. */
    http_metrics_family(b, "reports_counted", "gauge",
                        "Reports in the evidence kept, by kind (report, trap, refused).");
    for (unsigned i = 0; i < m->nlive; i++) {
        const struct http_metrics_live *l = &m->live[i];
        const struct {
            const char *kind;
            uint64_t v;
        } kinds[] = {{"report", l->reports}, {"trap", l->traps}, {"refused", l->refused}};
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            http_buf_puts(b, HTTP_METRICS_PREFIX "reports_counted{zone=\"");
            http_metrics_label(b, l->zone, zmax);
            http_buf_printf(b, "\",kind=\"%s\"} %" PRIu64 "\n", kinds[k].kind, kinds[k].v);
        }
    }

    http_metrics_family(b, "listings_ended", "gauge",
                        "Listings ended, in the history the zone keeps.");
    for (unsigned i = 0; i < m->nlive; i++)
        http_metrics_zone_sample(b, "listings_ended", m->live[i].zone, zmax, m->live[i].ended);
}

static void http_metrics_zone_answers(struct http_buf *b, const struct http_metrics *m)
{
    http_metrics_family(b, "dns_zone_answers_total", "counter",
                        "DNS answers of the zone, by query type and result.");
    for (unsigned i = 0; i < m->nzstats; i++) {
        const struct server_zone_stats *z = &m->zstats[i];
        for (unsigned t = 0; t < ANSWER_QTYPES; t++)
            for (unsigned r = 0; r < ANSWER_RESULTS; r++) {
                if (!z->n[t][r])
                    continue; /* 64 zones x 49 cells of zeros help nobody */
                http_buf_puts(b, HTTP_METRICS_PREFIX "dns_zone_answers_total{zone=\"");
                http_metrics_label(b, z->zone, sizeof(z->zone));
                http_buf_printf(b, "\",qtype=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                                answer_qtype_name(t), answer_result_name(r), z->n[t][r]);
            }
    }
}

/* The database's counters of live zones: each family takes the counters
 * whose name starts with its prefix, the rest of the name as its label. */
static void http_metrics_counters(struct http_buf *b, const struct http_metrics *m)
{
    static const struct {
        const char *family, *prefix, *label, *help;
    } fams[] = {
        {"reports_total", "reports_", "verdict",
         "Reported messages taken, by decision (listed, counted, ignored, duplicate, refused)."},
        {"reports_refused_total", "refused_", "reason", "Reported messages refused, by reason."},
        {"reports_ignored_total", "ignored_", "reason",
         "Reported messages ignored (bounces, auto-replies), by reason."},
        {"listings_started_total", "listings_started", NULL, "Listings started."},
        {"listings_ended_total", "ended_", "how",
         "Listings ended, by how (expired, deleted, removed, allowed)."},
    };
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
        http_metrics_family(b, fams[f].family, "counter", fams[f].help);
        size_t plen = strlen(fams[f].prefix);
        for (unsigned i = 0; i < m->nlive; i++) {
            const struct http_metrics_live *l = &m->live[i];
            unsigned nc =
                l->ncounters < HTTP_METRICS_MAX_COUNTERS ? l->ncounters : HTTP_METRICS_MAX_COUNTERS;
            for (unsigned k = 0; k < nc; k++) {
                const char *name = l->counters[k].name;
                bool whole = !fams[f].label;
                if (whole ? strcmp(name, fams[f].prefix) != 0
                          : strncmp(name, fams[f].prefix, plen) != 0 || !name[plen])
                    continue;
                http_buf_printf(b, HTTP_METRICS_PREFIX "%s{zone=\"", fams[f].family);
                http_metrics_label(b, l->zone, sizeof(l->zone));
                if (!whole) {
                    http_buf_printf(b, "\",%s=\"", fams[f].label);
                    http_metrics_label(b, name + plen, sizeof(l->counters[k].name) - plen);
                }
                http_buf_printf(b, "\"} %" PRIu64 "\n", l->counters[k].value);
            }
        }
    }
}

static void http_metrics_http(struct http_buf *b, const struct http_metrics *m)
{
    unsigned n = m->nhttp < HTTP_METRICS_MAX_STATUS ? m->nhttp : HTTP_METRICS_MAX_STATUS;
    http_metrics_family(b, "http_responses_total", "counter", "HTTP responses sent, by status.");
    for (unsigned i = 0; i < n; i++)
        http_buf_printf(b, HTTP_METRICS_PREFIX "http_responses_total{status=\"%u\"} %" PRIu64 "\n",
                        m->http[i].status, m->http[i].count);
}

void http_metrics_render(struct http_buf *b, const struct http_metrics *m)
{
    http_metrics_dns(b, m);
    http_metrics_server(b, m);
    http_metrics_zones(b, m);
    http_metrics_zone_answers(b, m);
    http_metrics_live(b, m);
    http_metrics_counters(b, m);
    http_metrics_http(b, m);
}
