/* What policyd answers Postfix about one client, from the checker's
 * result: REJECT at or above reject-score, a PREPENDed X-DNSBL header at
 * or above mark-score, DUNNO otherwise; DUNNO (or DEFER_IF_PERMIT, when
 * configured) when no list could give a usable answer, so that a broken
 * list never rejects mail. Pure: no I/O, so every rule is a unit test. */
#ifndef DBK_POLICY_POLICY_DECIDE_H
#define DBK_POLICY_POLICY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/checker.h"

#define POLICY_TEXT_MAX 512

struct policy_decide_conf {
    int reject_score; /* at or above: reject; 0 = never */
    int mark_score;   /* at or above (and below reject_score): prepend; 0 = never */
    /* The rejection: a Postfix action "5NN x.y.z text", where $ip is the
     * client, $lists the lists that listed it, $score its score, $txt the
     * first of their TXT answers, $$ a dollar. */
    char reject_text[POLICY_TEXT_MAX];
    bool defer_when_blind; /* no usable answer from any list: DEFER_IF_PERMIT, not DUNNO */
};

/* Defaults: reject at 1, never mark, Postfix's own wording of
 * reject_rbl_client, DUNNO when blind. */
void policy_decide_conf_init(struct policy_decide_conf *c);

enum policy_verdict {
    POLICY_DUNNO,  /* nothing to say: Postfix goes on */
    POLICY_REJECT, /* reject_score reached */
    POLICY_MARK,   /* mark_score reached: a header for content filters */
    POLICY_BLIND,  /* no list answered usably: DUNNO or DEFER_IF_PERMIT */
};

/* What a message is checked by: the client's address against the
 * address lists, and optionally its HELO name and its sender's domain
 * against the domain lists. */
enum policy_subject { POLICY_CLIENT, POLICY_HELO, POLICY_SENDER };

/* The checks of one message summed up: each checker result is valid only
 * in its callback, so what the decision needs is taken from it there. */
struct policy_tally {
    int score;                   /* the sum of by_list over listed_by */
    int by_list[64];             /* list i's part: its weight for what it listed */
    bool usable;                 /* some list gave a valid answer */
    uint64_t listed_by;          /* bit i: list i listed a subject with a non-zero score */
    uint64_t scored_by;          /* bit i: list i added to the score (weight > 0) */
    char lists[POLICY_TEXT_MAX]; /* "zen.example, dbl.example (helo x.example)" */
    char txt[POLICY_TEXT_MAX];   /* the first TXT of a list that scored */
};

void policy_tally_init(struct policy_tally *t);

/* Add one subject's result: the lists that listed it with a positive
 * weight are named, those of a domain subject with it ("(helo NAME)",
 * "(sender NAME)"). A list that lists several subjects of a message (the
 * HELO name and the sender's domain, say) counts once, with the weight
 * of largest size. */
void policy_tally_add(struct policy_tally *t, const struct checker_result *r,
                      enum policy_subject s);

/* Add tally t to into, its lists after into's: so that the text is the
 * same whichever subject's check finished first. */
void policy_tally_merge(struct policy_tally *into, const struct policy_tally *t);

/* The action text (without "action=") for the tally of a message from
 * client ip. Returns the verdict. */
enum policy_verdict policy_decide_tally(const struct policy_decide_conf *c, const char *ip,
                                        const struct policy_tally *t, char *action,
                                        size_t actionsz);

/* The same for one result about the client alone. */
enum policy_verdict policy_decide(const struct policy_decide_conf *c, const char *ip,
                                  const struct checker_result *r, char *action, size_t actionsz);

/* Check a reject template: it must start with a 4NN or 5NN code and name
 * no other $variable. ERR_INVAL with why. */
int policy_decide_check_text(const char *text, const char **why);

#endif
