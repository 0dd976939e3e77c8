/* Asking the served data outside DNS, for services that run beside the
 * workers (the lookup page, the JSON API, the metrics): what every zone
 * answers about a subject, the zones and their sizes, and the counters.
 * A service thread takes a reader place once; each call then holds the
 * current snapshot only for its own duration, as a worker does for a
 * batch of packets. */
#ifndef DBK_SERVER_SERVER_LOOKUP_H
#define DBK_SERVER_SERVER_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/answer.h"

struct server;
struct server_reader;

/* A place among the snapshot's readers for the calling thread (one per
 * thread; freed with the server). */
int server_reader_new(struct server *srv, struct server_reader **out);

#define SERVER_LOOKUP_MAX_ZONES 16
#define SERVER_LOOKUP_MAX_CODES 8

struct server_zone_answer {
    char zone[256];                         /* as configured, lower case */
    bool listed;                            /* the name has A records */
    uint8_t codes[SERVER_LOOKUP_MAX_CODES]; /* 127.0.0.N of each A, in order */
    unsigned ncodes;
    char txt[512]; /* the first TXT with '$' filled in, or "" */
    /* Zones served from the listing database (dataset = listing): the
     * configuration file that names it, else "". */
    char live_config[512];
};

struct server_lookup_result {
    unsigned n;
    struct server_zone_answer z[SERVER_LOOKUP_MAX_ZONES];
};

/* Every zone whose data answers names of the subject's kind: an IPv4
 * address ("192.0.2.1"), an IPv6 address (its full nibble name), or a
 * domain name ("example.com"). The RFC 5782 test entries answer as they
 * do in DNS; ACL datasets are not consulted (the page is not a DNS
 * client). ERR_INVAL for a subject that is none of these. */
int server_lookup(struct server *srv, struct server_reader *r, const char *subject,
                  struct server_lookup_result *out);

struct server_zone_info {
    char zone[256];
    bool loaded;           /* false while a quickstart load is pending */
    uint64_t entries;      /* entries of its datasets */
    uint32_t serial;       /* the SOA serial */
    time_t data_time;      /* newest data of its datasets */
    char live_config[512]; /* as in server_zone_answer */
};

/* The zones of the current snapshot (at most max; *n is the total). */
int server_zones(struct server *srv, struct server_reader *r, struct server_zone_info *out,
                 unsigned max, unsigned *n);

/* The DNS counters so far, over every worker, by transport. */
void server_stats(struct server *srv, struct answer_stats *udp, struct answer_stats *tcp);

/* DNS answers of one zone by query type and result (answer.h's slots),
 * summed over workers and transports. */
struct server_zone_stats {
    char zone[256]; /* "(other)" for zones past the counted ones */
    uint64_t n[ANSWER_QTYPES][ANSWER_RESULTS];
};

/* The configured zones' counters, in configuration order (at most max;
 * *n is how many there are). */
int server_zone_stats(struct server *srv, struct server_zone_stats *out, unsigned max, unsigned *n);

struct server_counters {
    uint64_t reloads;        /* snapshots published from files */
    uint64_t reload_refused; /* datasets or reloads refused (old data kept) */
    uint64_t live_updates;   /* snapshots published for live datasets */
    time_t started;          /* when the server started answering */
    time_t last_publish;     /* when the current snapshot was published */
    /* Zone transfers (xfr.h): sent whole (their records and bytes),
     * refused (client not allowed, past the record cap, too many at
     * once), started and not finished. */
    uint64_t xfr_done, xfr_records, xfr_bytes, xfr_refused, xfr_failed;
};

void server_counters(struct server *srv, struct server_counters *out);

#endif
