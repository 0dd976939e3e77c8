/* The listing engine: what happens when evidence arrives or an operator
 * acts. Each operation reads and writes the store inside one transaction
 * the caller opens and commits (so a batch of reports costs one commit),
 * applies the policy, and says what it decided. The clock is a parameter:
 * every operation takes `now`. */
#ifndef DBK_LISTING_ENGINE_H
#define DBK_LISTING_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "listing/listing_conf.h"
#include "listing/netkey.h"
#include "listing/store.h"

struct engine {
    struct store *st;
    const struct listing_conf *conf;
};

enum engine_verdict {
    ENGINE_LISTED = 1, /* counted, and the address is listed */
    ENGINE_COUNTED,    /* counted, not (yet) enough to list */
    ENGINE_IGNORED,    /* a bounce or an auto-reply: not evidence */
    ENGINE_DUPLICATE,  /* this message was counted before */
    ENGINE_REFUSED,    /* not usable: see reason */
};

struct engine_decision {
    enum engine_verdict verdict;
    char reason[256]; /* one line: why refused or ignored, or "" */
    const char *why;  /* why refused or ignored, as a stable word for the
                         counters: unparsable, bounce, autoreply, too_old,
                         arf_no_source, broken_chain, internal,
                         not_public, allowlisted; NULL otherwise */
    bool has_key;
    struct netkey key; /* the source, when found */
    double score;
    unsigned reports, traps; /* inside the evidence window */
    uint8_t code;            /* when listed */
    time_t expires;          /* when listed; 0 = no end */
    bool escalated;          /* the source's /24 is listed as a whole */
};

/* Take one reported message (raw RFC 5322 or ARF): a trap hit when
 * reporter is NULL, else a user report by `reporter`. Returns 0 with the
 * decision (refusals are decisions, not errors), or a negative error
 * when the store fails (the caller rolls back). */
int engine_report(struct engine *e, const char *zone, const char *msg, size_t len,
                  const char *reporter, time_t now, struct engine_decision *d);

/* The widest blocks an operator may list: like the server's world guard,
 * a listing of a large part of the Internet is taken for a typo. */
#define ENGINE_MIN_PREFIX4 8
#define ENGINE_MIN_PREFIX6 16

/* Manual listing by an operator: code 2..254, for_secs 0 = until deleted.
 * ERR_EXISTS when the key is allowlisted, ERR_LIMIT when it is wider than
 * the minimum prefix or not public address space (reason in why). An
 * operator's listing is not changed by later evidence. */
int engine_list_add(struct engine *e, const char *zone, const struct netkey *key, uint8_t code,
                    const char *reason, uint32_t for_secs, const char *who, time_t now, char *why,
                    size_t whysz);

/* End a listing: by an operator ("deleted") or by the address's owner
 * through the lookup page ("removed": at most once per removal-interval,
 * and not for an operator's listing or a block: ERR_LIMIT otherwise).
 * ERR_NOTFOUND when not listed. */
int engine_list_del(struct engine *e, const char *zone, const struct netkey *key, const char *who,
                    time_t now);
int engine_self_remove(struct engine *e, const char *zone, const struct netkey *key, time_t now,
                       char *why, size_t whysz);

/* Allowlist a block (ending listings inside it) or take it off. */
int engine_allow_add(struct engine *e, const char *zone, const struct netkey *block,
                     const char *note, time_t now);
int engine_allow_del(struct engine *e, const char *zone, const struct netkey *block);

/* Close listings that have expired and /24 escalations whose count has
 * fallen; returns the number of listings ended in *ended. */
int engine_sweep(struct engine *e, const char *zone, time_t now, unsigned *ended);

/* Everything known of a key, for `list show` and the lookup page. */
struct engine_status {
    struct store_listing rec; /* key set, zeroed when unknown */
    bool known;
    bool listed; /* in force at now */
    bool allowlisted;
    struct netkey allow_block;
    bool covered;               /* not listed itself, but inside a listed block */
    bool escalated;             /* ... which is its /24, listed by escalation */
    struct store_listing block; /* that block's record (the longest) */
    double score;
    unsigned reports, traps; /* inside the evidence window */
    unsigned history_count;  /* listings ended in the last 30 days */
    int64_t history_secs;    /* their total duration */
};

int engine_status(struct engine *e, const char *zone, const struct netkey *key, time_t now,
                  struct engine_status *out);

const char *engine_verdict_name(enum engine_verdict v);

/* The evidence in words: "1 trap hit", "2 user reports and 3 trap hits",
 * "no reports or trap hits". */
void engine_evidence_words(unsigned reports, unsigned traps, char *out, size_t outsz);

#endif
