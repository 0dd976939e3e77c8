/* Checking subjects against many DNS lists at once, safely: every list
 * asked in parallel (one round trip for N lists), answers validated
 * (verdict.h), weighted (listspec.h) and cached (cache.h), and each
 * list's health watched by probe rounds (health.h), so that a list that
 * broke (a parking wildcard, a list answering everything, an error code
 * for our resolver) contributes nothing to any score. The confirmation
 * rule closes the gap between probe rounds: a new listing counts only
 * after a round started once it came has passed (a cached one, once such
 * a round has passed since it first came); fresh_ms > 0 trades that for
 * speed, trusting listings from a list that passed a round that recently.
 * Single-threaded; driven by checker_run. */
#ifndef DBK_CLIENT_CHECKER_H
#define DBK_CLIENT_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/health.h"
#include "client/listspec.h"
#include "client/qname.h"
#include "client/reply.h"
#include "client/resolver.h"
#include "client/verdict.h"

#define CHECKER_MAX_LISTS 64
#define CHECKER_MAX_SPECS 128

/* What a list is asked about, and so which RFC 5782 test entries its
 * probes use. */
enum checker_kind {
    CHECKER_IP,     /* IPv4 and IPv6 addresses; probed with 127.0.0.2 / 127.0.0.1 */
    CHECKER_IP6,    /* the same, probed with ::FFFF:7F00:2 / ::FFFF:7F00:1 instead (an
                     * IPv6 list need not list the IPv4 test entries) */
    CHECKER_DOMAIN, /* domains (RHSBL); probed with TEST / INVALID */
};

struct checker_conf {
    struct resolver_conf resolver;
    uint32_t min_ttl, max_ttl; /* cache clamp, seconds; postscreen's 60 and 3600 */
    size_t cache_entries;      /* default 65536; 0 = no cache */
    int64_t probe_interval_ms; /* periodic rounds (checker_set_periodic); default 30000 */
    int64_t fresh_ms;          /* default 0: every new listing is confirmed */
    struct health_conf health;
    int threshold; /* a score at or above it is "listed"; default 1 */
    /* Run by /bin/sh -c on each state change while periodic probing is on
     * (checker_set_periodic), except a list found healthy at startup; or
     * NULL. */
    const char *on_change;
    /* The clock, in milliseconds; NULL for CLOCK_MONOTONIC (tests inject one). */
    int64_t (*clock_ms)(void *arg);
    void *clock_arg;
};

void checker_conf_init(struct checker_conf *c);

struct checker;

int checker_new(const struct checker_conf *c, struct checker **out, char *err, size_t errsz);
void checker_free(struct checker *ck);

/* Add a spec. Specs of one zone share one list: asked once, probed once,
 * each scoring on its own. The first spec of a zone sets its kind and
 * whether it is enabled (the kill switch); later ones must agree
 * (ERR_INVAL otherwise). ERR_LIMIT past CHECKER_MAX_LISTS or _SPECS.
 * Returns the list's index. */
int checker_add(struct checker *ck, const struct listspec *spec, enum checker_kind kind,
                bool enabled);

unsigned checker_nlists(const struct checker *ck);

/* A list as the monitor shows it. */
struct checker_list_info {
    const char *zone;
    enum checker_kind kind;
    struct health health;
    bool probing;         /* a round is running */
    uint32_t last_rtt_ms; /* the slowest probe of the last round */
    char last_round[512]; /* what each probe of the last round found, "; "-separated */
    uint64_t queries, listed, ignored, errors; /* checks' answers */
    uint64_t cache_hits;                       /* of queries, those the cache answered */
};

void checker_list_info(const struct checker *ck, unsigned list, struct checker_list_info *out);

/* One list's part in a check. */
enum checker_outcome {
    CHECKER_NOT_LISTED, /* a valid answer that lists nothing (or only filtered codes) */
    CHECKER_LISTED,     /* counted: `score` holds the sum of the matching specs' weights */
    CHECKER_IGNORED,    /* the list is sick, disabled, or failed the confirmation round, or
                         * its answer was bogus: `why` says which; it counts nothing */
    CHECKER_ERROR,      /* no usable answer: timeout, SERVFAIL, ... (`why`) */
    CHECKER_SKIPPED,    /* not asked: the list is for another kind of subject */
};

struct checker_list_result {
    unsigned list;
    const char *zone;
    enum checker_outcome outcome;
    enum health_state health; /* at the time of the result */
    struct reply rep;         /* the A answer when there was one (rep.na codes) */
    bool cached;
    int score;
    char txt[REPLY_TXT_MAX + 1]; /* with CHECKER_TXT, for listed subjects: the TXT answer */
    char why[200];
};

struct checker_result {
    const char *subject; /* as given */
    struct qname_subject parsed;
    int score;
    bool listed; /* score >= threshold */
    unsigned nlists;
    const struct checker_list_result *lists; /* one per list, in order of checker_add */
};

/* Valid during the call only. */
typedef void (*checker_done_fn)(void *arg, const struct checker_result *res);

#define CHECKER_TXT 1u /* also ask TXT of the lists that list the subject */

/* Check a subject (an IPv4 or IPv6 address or a domain, qname.h) against
 * every list. fn runs once, from checker_run (or from this call when no
 * list needs asking). ERR_INVAL for a subject that is none of these. */
int checker_check(struct checker *ck, const char *subject, unsigned flags, checker_done_fn fn,
                  void *arg);

/* Start a probe round for every enabled list not already probing. */
void checker_probe_all(struct checker *ck);

/* Called on every state change of a list (after the log line and the
 * on_change command). */
typedef void (*checker_change_fn)(void *arg, unsigned list, enum health_state from,
                                  enum health_state to, const char *why);
void checker_on_change(struct checker *ck, checker_change_fn fn, void *arg);

/* With periodic on, checker_run starts a round for each list whose last
 * one is probe_interval_ms old. */
void checker_set_periodic(struct checker *ck, bool on);

/* Checks and probe rounds not yet finished. */
unsigned checker_pending(const struct checker *ck);

/* Checks not yet finished, probe rounds aside. */
unsigned checker_checks(const struct checker *ck);

/* For a loop of the caller's own, as resolver_pollfds and
 * resolver_process: the sockets to poll and *timeout_ms lowered to the
 * next timer (c-ares's, or a periodic round's); then, after poll,
 * checker_process runs what is due. RESOLVER_MAX_FDS entries are
 * enough. */
unsigned checker_pollfds(struct checker *ck, struct pollfd *out, unsigned max, int *timeout_ms);
void checker_process(struct checker *ck, const struct pollfd *fds, unsigned n);

/* Process answers and timers for at most max_ms; returns early when
 * nothing is pending (and periodic is off). 0, or ERR_IO. */
int checker_run(struct checker *ck, int max_ms);

const char *checker_kind_name(enum checker_kind k);

#endif
