/* policyd's decision: a checker result in, a Postfix action out. */
#include "policy/policy_decide.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void policy_decide_conf_init(struct policy_decide_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->reject_score = 1;
    c->mark_score = 0;
    /* Postfix's wording for reject_rbl_client, so logs read the same. */
    snprintf(c->reject_text, sizeof(c->reject_text),
             "554 5.7.1 Service unavailable; Client host [$ip] blocked using $lists; $txt");
    c->defer_when_blind = false;
}

/* Append text to out (of outsz, used *n), dropping what does not fit and
 * any byte that is not printable ASCII: a list's TXT goes into a reply
 * line Postfix sends to the client. */
static void policy_put(char *out, size_t outsz, size_t *n, const char *text)
{
    for (; *text && *n + 1 < outsz; text++) {
        unsigned char c = (unsigned char)*text;
        out[(*n)++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[*n] = '\0';
}

void policy_tally_init(struct policy_tally *t)
{
    /* Not a memset of the buffers: three tallies a request. by_list[i]
     * is read only where listed_by has bit i. */
    t->score = 0;
    t->usable = false;
    t->listed_by = t->scored_by = 0;
    t->lists[0] = t->txt[0] = '\0';
}

/* Take a list's part w for a subject: the one of largest size wins. */
static void policy_take(struct policy_tally *t, unsigned list, int w)
{
    uint64_t bit = UINT64_C(1) << list;
    if (!(t->listed_by & bit) || abs(w) > abs(t->by_list[list]))
        t->by_list[list] = w;
    t->listed_by |= bit;
    if (w > 0)
        t->scored_by |= bit;
}

static void policy_sum(struct policy_tally *t)
{
    t->score = 0;
    for (unsigned i = 0; i < 64; i++)
        if (t->listed_by >> i & 1)
            t->score += t->by_list[i];
}

void policy_tally_add(struct policy_tally *t, const struct checker_result *r, enum policy_subject s)
{
    size_t n = strlen(t->lists);
    for (unsigned i = 0; i < r->nlists; i++) {
        const struct checker_list_result *l = &r->lists[i];
        if (l->outcome == CHECKER_LISTED || l->outcome == CHECKER_NOT_LISTED)
            t->usable = true;
        if (l->outcome != CHECKER_LISTED || l->score == 0 || l->list >= 64)
            continue;
        policy_take(t, l->list, l->score);
        /* An allowlist's (negative) weight lowers the score; it is no
         * reason to name it in a rejection. */
        if (l->score < 0)
            continue;
        if (n)
            policy_put(t->lists, sizeof(t->lists), &n, ", ");
        policy_put(t->lists, sizeof(t->lists), &n, l->zone);
        if (s != POLICY_CLIENT) {
            policy_put(t->lists, sizeof(t->lists), &n, s == POLICY_HELO ? " (helo " : " (sender ");
            policy_put(t->lists, sizeof(t->lists), &n, r->subject);
            policy_put(t->lists, sizeof(t->lists), &n, ")");
        }
        if (!t->txt[0] && l->txt[0]) {
            size_t k = 0;
            policy_put(t->txt, sizeof(t->txt), &k, l->txt);
        }
    }
    policy_sum(t);
}

void policy_tally_merge(struct policy_tally *into, const struct policy_tally *t)
{
    size_t n = strlen(into->lists);
    into->usable |= t->usable;
    for (unsigned i = 0; i < 64; i++)
        if (t->listed_by >> i & 1)
            policy_take(into, i, t->by_list[i]);
    policy_sum(into);
    if (n && t->lists[0])
        policy_put(into->lists, sizeof(into->lists), &n, ", ");
    policy_put(into->lists, sizeof(into->lists), &n, t->lists);
    if (!into->txt[0])
        memcpy(into->txt, t->txt, strlen(t->txt) + 1);
}

/* Expand a reject template. */
static void policy_expand(const char *tmpl, const char *ip, const struct policy_tally *t, char *out,
                          size_t outsz)
{
    char score[16];
    snprintf(score, sizeof(score), "%d", t->score);
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = tmpl; *p && n + 1 < outsz; p++) {
        if (*p != '$') {
            char one[2] = {*p, '\0'};
            policy_put(out, outsz, &n, one);
            continue;
        }
        static const char *const names[] = {"ip", "lists", "score", "txt"};
        const char *vals[] = {ip, t->lists, score, t->txt};
        bool done = false;
        if (p[1] == '$') {
            policy_put(out, outsz, &n, "$");
            p++;
            continue;
        }
        for (size_t k = 0; k < 4 && !done; k++) {
            size_t len = strlen(names[k]);
            if (!strncmp(p + 1, names[k], len)) {
                policy_put(out, outsz, &n, vals[k]);
                p += len;
                done = true;
            }
        }
        if (!done)
            policy_put(out, outsz, &n, "$");
    }
    /* A template ending in "; $txt" with no TXT would end in "; ". */
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == ';'))
        out[--n] = '\0';
}

enum policy_verdict policy_decide_tally(const struct policy_decide_conf *c, const char *ip,
                                        const struct policy_tally *t, char *action, size_t actionsz)
{
    if (!t->usable) {
        /* Every list sick, unreachable or switched off: their silence is
         * no reason to refuse mail. */
        snprintf(action, actionsz, "%s",
                 c->defer_when_blind ? "DEFER_IF_PERMIT Service "
                                       "temporarily unavailable"
                                     : "DUNNO");
        return POLICY_BLIND;
    }
    if (c->reject_score > 0 && t->score >= c->reject_score) {
        policy_expand(c->reject_text, ip, t, action, actionsz);
        return POLICY_REJECT;
    }
    if (c->mark_score > 0 && t->score >= c->mark_score) {
        snprintf(action, actionsz, "PREPEND X-DNSBL: score=%d; lists=%s", t->score, t->lists);
        return POLICY_MARK;
    }
    snprintf(action, actionsz, "DUNNO");
    return POLICY_DUNNO;
}

enum policy_verdict policy_decide(const struct policy_decide_conf *c, const char *ip,
                                  const struct checker_result *r, char *action, size_t actionsz)
{
    struct policy_tally t;
    policy_tally_init(&t);
    policy_tally_add(&t, r, POLICY_CLIENT);
    return policy_decide_tally(c, ip, &t, action, actionsz);
}

int policy_decide_check_text(const char *text, const char **why)
{
    if (!((text[0] == '4' || text[0] == '5') && text[1] >= '0' && text[1] <= '9' &&
          text[2] >= '0' && text[2] <= '9' && text[3] == ' ')) {
        *why = "it must start with a 4NN or 5NN code and a blank, such as 554 5.7.1";
        return ERR_INVAL;
    }
    for (const char *p = text; *p; p++) {
        if (*p != '$')
            continue;
        if (p[1] == '$') {
            p++;
            continue;
        }
        if (strncmp(p + 1, "ip", 2) && strncmp(p + 1, "lists", 5) && strncmp(p + 1, "score", 5) &&
            strncmp(p + 1, "txt", 3)) {
            *why = "a $ that is none of $ip, $lists, $score, $txt and $$";
            return ERR_INVAL;
        }
    }
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
            *why = "a character that is not printable ASCII";
            return ERR_INVAL;
        }
    return 0;
}
