/* GET /metrics: the Prometheus text exposition format (version 0.0.4) of
 * what the server counts. A pure renderer over numbers the service
 * collected. */
#ifndef DBK_HTTP_HTTP_METRICS_H
#define DBK_HTTP_HTTP_METRICS_H

#include <stdint.h>
#include <time.h>

#include "http/http_buf.h"
#include "server/answer.h"
#include "server/server_lookup.h"

#define HTTP_METRICS_MAX_STATUS 16
#define HTTP_METRICS_MAX_COUNTERS 32

struct http_metrics_live {
    char zone[256];
    uint64_t listed;    /* listings in force */
    uint64_t allowlist; /* allowlist entries */
    uint64_t reports;   /* user reports counted (events kept) */
    uint64_t traps;     /* trap hits counted (events kept) */
    uint64_t refused;   /* reports refused as allowlisted (events kept) */
    uint64_t ended;     /* listings ended (history) */
    /* The zone's counters (store_counters): reports_<verdict>,
     * refused_<why>, ignored_<why>, listings_started, ended_<how>. */
    struct {
        char name[48];
        uint64_t value;
    } counters[HTTP_METRICS_MAX_COUNTERS];
    unsigned ncounters;
};

struct http_metrics {
    time_t now;
    struct answer_stats udp, tcp; /* DNS counters by transport */
    struct server_counters counters;
    const struct server_zone_info *zones;
    unsigned nzones;
    const struct http_metrics_live *live;
    unsigned nlive;
    const struct server_zone_stats *zstats; /* answers by zone, type, result */
    unsigned nzstats;
    struct {
        unsigned status;
        uint64_t count;
    } http[HTTP_METRICS_MAX_STATUS]; /* HTTP responses by status */
    unsigned nhttp;
};

/* Names (all prefixed dnsblkit_): dns_queries_total{transport},
 * dns_responses_total{transport,rcode} (rcode: noerror_listed,
 * noerror_nodata, nxdomain, refused, formerr, notimp, servfail),
 * dns_truncated_total{transport}, dns_dropped_total{transport},
 * reloads_total, reloads_refused_total, live_updates_total,
 * snapshot_age_seconds, start_time_seconds,
 * zone_entries{zone}, zone_serial{zone}, zone_loaded{zone},
 * listings_active{zone}, allowlist_entries{zone},
 * reports_counted{zone,kind} (kind: report, trap, refused; over the
 * evidence kept), listings_ended{zone},
 * http_responses_total{status}, and from the database's counters
 * reports_total{zone,verdict}, reports_refused_total{zone,reason},
 * reports_ignored_total{zone,reason}, listings_started_total{zone},
 * listings_ended_total{zone,how},
 * dns_zone_answers_total{zone,qtype,result} (qtype and result: the
 * names of answer_qtype_name and answer_result_name; cells that are
 * still 0 are left out). Counters end in _total; label values
 * are escaped as the format requires. */
void http_metrics_render(struct http_buf *b, const struct http_metrics *m);

#endif
