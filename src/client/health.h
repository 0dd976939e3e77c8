/* The health of one DNS list as its users see it: a state machine fed
 * by probe rounds, with hysteresis. A round asks the list four things
 * (see checker.h): 127.0.0.2 (or ::FFFF:7F00:2, or TEST) must be listed
 * with a code inside 127/8; 127.0.0.1 (::FFFF:7F00:1, INVALID) must not
 * be; for address lists a random 127.x.y.z (x != 0) must not be listed
 * either (a list of 0.0.0.0/0 spares only 127.0.0.1); a fresh random
 * label must be NXDOMAIN (a wildcard answers it, a cache cannot); the
 * apex must have an SOA. Pure logic: the caller says
 * what time it is, so tests drive it with any clock. */
#ifndef DBK_CLIENT_HEALTH_H
#define DBK_CLIENT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

enum health_state {
    HEALTH_UNKNOWN,  /* no round has finished yet */
    HEALTH_HEALTHY,  /* used */
    HEALTH_SICK,     /* not used: contributes nothing to any score */
    HEALTH_DISABLED, /* switched off by configuration: never asked, never used */
};

/* The outcome of one probe round, the worst of its probes. */
enum health_outcome {
    HEALTH_GOOD,  /* every probe answered as a working list answers */
    HEALTH_BAD,   /* a soft failure: timeout, SERVFAIL, REFUSED, the test
                   * entry not listed, no SOA: sick after sick_after rounds */
    HEALTH_FATAL, /* the list answers everything or not as a DNSBL: a
                   * listing for 127.0.0.1 or the random label, an answer
                   * outside 127/8, an error code 127.255.255.252..255:
                   * sick at once */
};

struct health_conf {
    unsigned sick_after;    /* consecutive BAD rounds that make a list sick; default 2 */
    unsigned healthy_after; /* consecutive GOOD rounds that make a sick list healthy; default 2 */
};

#define HEALTH_DEFAULT_SICK_AFTER 2
#define HEALTH_DEFAULT_HEALTHY_AFTER 2

void health_conf_init(struct health_conf *c);

struct health {
    enum health_state state;
    unsigned bad_streak, good_streak;
    int64_t since_ms;      /* when the current state began (0 = never set) */
    int64_t last_good_ms;  /* when the last GOOD round finished; 0 = never */
    int64_t last_round_ms; /* when the last round finished; 0 = never */
    uint64_t rounds, changes;
    char why[160]; /* the last round's reason when it was not GOOD; else "" */
};

/* A list starts UNKNOWN, or DISABLED when `enabled` is false. */
void health_init(struct health *h, bool enabled, int64_t now_ms);

/* Feed one finished round. `why` (may be NULL for GOOD) says what went
 * wrong, e.g. "127.0.0.1 listed (127.0.0.2): answers everything".
 * Transitions:
 *   UNKNOWN: GOOD -> HEALTHY at once; FATAL -> SICK at once; BAD ->
 *            SICK after sick_after consecutive BAD rounds.
 *   HEALTHY: FATAL -> SICK at once; sick_after consecutive BAD -> SICK.
 *   SICK:    healthy_after consecutive GOOD -> HEALTHY (any non-GOOD
 *            round starts the count again).
 *   DISABLED: rounds are ignored.
 * Returns true when the state changed. */
bool health_round(struct health *h, const struct health_conf *c, enum health_outcome o,
                  const char *why, int64_t now_ms);

/* Whether answers from the list may count now: HEALTHY only. */
bool health_usable(const struct health *h);

/* Whether the last GOOD round is at most fresh_ms old (a listing from a
 * list that is not fresh is confirmed by a round before it counts). */
bool health_fresh(const struct health *h, int64_t now_ms, int64_t fresh_ms);

/* "unknown", "healthy", "sick", "disabled". */
const char *health_state_name(enum health_state s);

#endif
