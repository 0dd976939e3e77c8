/* The listing policy: how evidence scores, when an address is listed,
 * when its listing ends, when a /24 is listed as a whole. Pure arithmetic
 * over events and a clock the caller passes in, so tests can run days in
 * microseconds. The defaults are SpamCop's published policy. */
#ifndef DBK_LISTING_POLICY_H
#define DBK_LISTING_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct policy_params {
    double report_fresh;         /* weight of a user report just received (4) */
    double report_floor;         /* its weight at report_decay (1) */
    uint32_t report_decay;       /* seconds of linear decay (48 h) */
    uint32_t evidence_window;    /* events older than this count for
                                    nothing, reports and trap hits (7 d) */
    double trap_each;            /* score of each trap hit below trap_square (5) */
    unsigned trap_square;        /* from this many hits the score is hits^2 (6) */
    double threshold;            /* score at which an address is listed (5) */
    unsigned min_reports;        /* ... with at least this many reports (2) */
    unsigned min_traps;          /* ... or this many trap hits (1) */
    uint32_t expiry;             /* listing ends this long after the last
                                    event (24 h) */
    uint32_t expiry_two_reports; /* ... or this long when the only evidence
                                    is exactly two reports (12 h) */
    unsigned escalate_above;     /* a /24 with more than this many listed
                                    addresses ... (4) */
    uint32_t escalate_window;    /* ... listed within this window (7 d) */
    uint32_t removal_interval;   /* self-removal at most once per this (7 d) */
    uint32_t max_report_age;     /* refuse reports of mail older than this (48 h) */
    uint8_t code;                /* answer code of a listing: 127.0.0.code (2) */
    uint8_t escalate_code;       /* answer code of an escalated /24 (3) */
};

/* SpamCop's values. */
void policy_defaults(struct policy_params *p);

enum policy_event_kind {
    POLICY_REPORT = 1, /* a user's spam report */
    POLICY_TRAP = 2,   /* a spam-trap hit */
};

struct policy_event {
    time_t when;
    enum policy_event_kind kind;
};

/* The evidence against an address at `now`. */
struct policy_evidence {
    unsigned reports; /* reports inside the window */
    unsigned traps;   /* trap hits inside the window */
    double score;
    time_t last; /* newest event inside the window, 0 if none */
};

/* Score events (any order; events in the future count as fresh). */
void policy_score(const struct policy_params *p, const struct policy_event *ev, size_t n,
                  time_t now, struct policy_evidence *out);

/* Whether the evidence lists the address. */
bool policy_should_list(const struct policy_params *p, const struct policy_evidence *e);

/* When a listing on this evidence ends: last event + expiry, or
 * + expiry_two_reports when the only evidence is exactly two reports. */
time_t policy_expires(const struct policy_params *p, const struct policy_evidence *e);

/* Whether a /24 with `listed` addresses listed within the window is listed
 * as a whole. */
bool policy_escalates(const struct policy_params *p, unsigned listed);

/* Whether a self-removal is allowed now, given the last one (0 = never). */
bool policy_removal_allowed(const struct policy_params *p, time_t last_removal, time_t now);

/* Parse a duration: "90" (seconds), "90s", "15m", "12h", "7d", "2w". */
int policy_parse_duration(const char *text, uint32_t *out);

#endif
