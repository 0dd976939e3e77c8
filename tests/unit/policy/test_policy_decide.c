/* Unit tests for policyd's decision: thresholds, the PREPENDed header,
 * the reject text and its variables, negative weights, and a blind
 * checker (no usable answer) never rejecting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "policy/policy_decide.h"

static struct checker_list_result lists[3];
static struct checker_result res;

/* A result over three lists with the given outcomes and scores. */
static void result(int score, enum checker_outcome o0, int s0, enum checker_outcome o1, int s1,
                   enum checker_outcome o2, int s2)
{
    static const char *const zones[] = {"zen.example", "bl.example", "swl.example"};
    enum checker_outcome o[] = {o0, o1, o2};
    int s[] = {s0, s1, s2};
    memset(lists, 0, sizeof(lists));
    for (int i = 0; i < 3; i++) {
        lists[i].list = (unsigned)i;
        lists[i].zone = zones[i];
        lists[i].outcome = o[i];
        lists[i].score = s[i];
    }
    memset(&res, 0, sizeof(res));
    res.subject = "192.0.2.99";
    res.score = score;
    res.nlists = 3;
    res.lists = lists;
}

static void test_reject(void **state)
{
    (void)state;
    struct policy_decide_conf c;
    policy_decide_conf_init(&c);
    char a[600];
    result(5, CHECKER_LISTED, 3, CHECKER_LISTED, 2, CHECKER_NOT_LISTED, 0);
    snprintf(lists[1].txt, sizeof(lists[1].txt), "see http://bl.example/lookup?ip=192.0.2.99");
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_REJECT);
    assert_string_equal(a, "554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked "
                           "using zen.example, bl.example; see "
                           "http://bl.example/lookup?ip=192.0.2.99");
    /* Without a TXT the trailing "; " goes. */
    lists[1].txt[0] = '\0';
    policy_decide(&c, "192.0.2.99", &res, a, sizeof(a));
    assert_string_equal(a, "554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked "
                           "using zen.example, bl.example");
    /* A TXT with bytes a reply line must not carry. */
    snprintf(lists[0].txt, sizeof(lists[0].txt), "bad\r\nline\x01");
    policy_decide(&c, "192.0.2.99", &res, a, sizeof(a));
    assert_non_null(strstr(a, "; bad??line?"));
    /* A template of one's own, with $$ and $score. */
    snprintf(c.reject_text, sizeof(c.reject_text), "550 5.7.1 [$ip] scored $score ($$5 max)");
    policy_decide(&c, "192.0.2.99", &res, a, sizeof(a));
    assert_string_equal(a, "550 5.7.1 [192.0.2.99] scored 5 ($5 max)");
}

static void test_thresholds(void **state)
{
    (void)state;
    struct policy_decide_conf c;
    policy_decide_conf_init(&c);
    c.reject_score = 4;
    c.mark_score = 2;
    char a[600];
    result(3, CHECKER_LISTED, 3, CHECKER_NOT_LISTED, 0, CHECKER_NOT_LISTED, 0);
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_MARK);
    assert_string_equal(a, "PREPEND X-DNSBL: score=3; lists=zen.example");
    result(1, CHECKER_LISTED, 3, CHECKER_NOT_LISTED, 0, CHECKER_LISTED, -2);
    /* The allowlist took it below both; its negative part is no "list". */
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_DUNNO);
    assert_string_equal(a, "DUNNO");
    c.reject_score = 0; /* never */
    result(50, CHECKER_LISTED, 50, CHECKER_NOT_LISTED, 0, CHECKER_NOT_LISTED, 0);
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_MARK);
    c.mark_score = 0;
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_DUNNO);
}

/* Every list ignored (sick, disabled) or silent: nothing is rejected,
 * whatever the score says. */
static void test_blind(void **state)
{
    (void)state;
    struct policy_decide_conf c;
    policy_decide_conf_init(&c);
    char a[600];
    result(0, CHECKER_IGNORED, 0, CHECKER_ERROR, 0, CHECKER_SKIPPED, 0);
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_BLIND);
    assert_string_equal(a, "DUNNO");
    c.defer_when_blind = true;
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_BLIND);
    assert_string_equal(a, "DEFER_IF_PERMIT Service temporarily unavailable");
    /* One list answering is enough to decide. */
    result(0, CHECKER_IGNORED, 0, CHECKER_NOT_LISTED, 0, CHECKER_ERROR, 0);
    assert_int_equal(policy_decide(&c, "192.0.2.99", &res, a, sizeof(a)), POLICY_DUNNO);
}

/* A message checked by client, HELO and sender: the scores add up, the
 * domain lists are named with what they listed, the first TXT is the
 * first list's that scored, and one usable subject is enough. */
static void test_tally(void **state)
{
    (void)state;
    struct policy_decide_conf c;
    policy_decide_conf_init(&c);
    c.reject_score = 5;
    c.mark_score = 2;
    char a[600];
    struct policy_tally t;
    policy_tally_init(&t);
    /* The client: every address list sick or silent. */
    result(0, CHECKER_IGNORED, 0, CHECKER_ERROR, 0, CHECKER_SKIPPED, 0);
    policy_tally_add(&t, &res, POLICY_CLIENT);
    assert_false(t.usable);
    assert_int_equal(policy_decide_tally(&c, "192.0.2.99", &t, a, sizeof(a)), POLICY_BLIND);
    /* The HELO name: listed by one domain list. */
    result(3, CHECKER_SKIPPED, 0, CHECKER_LISTED, 3, CHECKER_SKIPPED, 0);
    res.subject = "spam.example";
    snprintf(lists[1].txt, sizeof(lists[1].txt), "helo listed");
    policy_tally_add(&t, &res, POLICY_HELO);
    assert_true(t.usable);
    assert_int_equal(policy_decide_tally(&c, "192.0.2.99", &t, a, sizeof(a)), POLICY_MARK);
    assert_string_equal(a, "PREPEND X-DNSBL: score=3; lists=bl.example (helo spam.example)");
    /* The sender's domain: listed by two, one of them an allowlist. */
    result(1, CHECKER_LISTED, 2, CHECKER_NOT_LISTED, 0, CHECKER_LISTED, -1);
    res.subject = "sender.example";
    snprintf(lists[0].txt, sizeof(lists[0].txt), "sender listed");
    policy_tally_add(&t, &res, POLICY_SENDER);
    assert_int_equal(t.score, 4);
    assert_int_equal(t.listed_by, 0x7);
    assert_int_equal(t.scored_by, 0x3);
    assert_int_equal(policy_decide_tally(&c, "192.0.2.99", &t, a, sizeof(a)), POLICY_MARK);
    c.reject_score = 4;
    assert_int_equal(policy_decide_tally(&c, "192.0.2.99", &t, a, sizeof(a)), POLICY_REJECT);
    assert_string_equal(a, "554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked "
                           "using bl.example (helo spam.example), zen.example (sender "
                           "sender.example); helo listed");
    /* Merged in subject order, whatever order the checks finished in:
     * the sender's tally added first, then merged after the HELO's. */
    struct policy_tally helo, sender, all;
    policy_tally_init(&sender);
    policy_tally_add(&sender, &res, POLICY_SENDER);
    result(3, CHECKER_SKIPPED, 0, CHECKER_LISTED, 3, CHECKER_SKIPPED, 0);
    res.subject = "spam.example";
    policy_tally_init(&helo);
    policy_tally_add(&helo, &res, POLICY_HELO);
    policy_tally_init(&all);
    policy_tally_merge(&all, &helo);
    policy_tally_merge(&all, &sender);
    assert_int_equal(all.score, 4);
    assert_true(all.usable);
    assert_string_equal(all.lists, "bl.example (helo spam.example), zen.example (sender "
                                   "sender.example)");
    assert_string_equal(all.txt, "sender listed"); /* the HELO's list had none this time */

    /* The HELO name and the sender's domain both on one domain list: the
     * list counts once (3, not 6), and the text names both subjects. */
    result(3, CHECKER_SKIPPED, 0, CHECKER_LISTED, 3, CHECKER_SKIPPED, 0);
    res.subject = "spam.example";
    policy_tally_init(&helo);
    policy_tally_add(&helo, &res, POLICY_HELO);
    policy_tally_init(&sender);
    policy_tally_add(&sender, &res, POLICY_SENDER);
    policy_tally_init(&all);
    policy_tally_merge(&all, &helo);
    policy_tally_merge(&all, &sender);
    assert_int_equal(all.score, 3);
    c.reject_score = 5;
    assert_int_equal(policy_decide_tally(&c, "192.0.2.99", &all, a, sizeof(a)), POLICY_MARK);
    assert_string_equal(a, "PREPEND X-DNSBL: score=3; lists=bl.example (helo spam.example), "
                           "bl.example (sender spam.example)");
    /* Of two parts of one list, the larger in size counts. */
    result(2, CHECKER_SKIPPED, 0, CHECKER_LISTED, 2, CHECKER_SKIPPED, 0);
    policy_tally_init(&sender);
    policy_tally_add(&sender, &res, POLICY_SENDER);
    policy_tally_merge(&all, &sender);
    assert_int_equal(all.score, 3);
}

static void test_check_text(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(policy_decide_check_text("554 5.7.1 [$ip] on $lists: $txt ($score, $$)", &why),
                     0);
    assert_int_equal(policy_decide_check_text("450 4.7.1 later", &why), 0);
    static const char *const bad[] = {"REJECT listed", "654 x",     "55 x",         "554",
                                      "554 $who",      "554 end $", "554 tab\there"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (policy_decide_check_text(bad[i], &why) != ERR_INVAL || !why)
            fail_msg("accepted: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject),     cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_blind),      cmocka_unit_test(test_tally),
        cmocka_unit_test(test_check_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
