/* What policyd answers Postfix about one client, from the checker's
 * result: REJECT at or above reject-score, a PREPENDed X-DNSBL header at
 * or above mark-score, DUNNO otherwise; DUNNO (or DEFER_IF_PERMIT, when
 * configured) when no list could give a usable answer, so that a broken
 * list never rejects mail. Pure: no I/O, so every rule is a unit test. */
#ifndef DBK_POLICY_POLICY_DECIDE_H
#define DBK_POLICY_POLICY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

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

/* The action text (without "action=") for result r about client ip.
 * Returns the verdict. */
enum policy_verdict policy_decide(const struct policy_decide_conf *c, const char *ip,
                                  const struct checker_result *r, char *action, size_t actionsz);

/* Check a reject template: it must start with a 4NN or 5NN code and name
 * no other $variable. ERR_INVAL with why. */
int policy_decide_check_text(const char *text, const char **why);

#endif
