/* Unit tests for the listing policy: exact scores at the decay and window
 * boundaries, the listing and expiry rules, and duration parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "listing/policy.h"

#define H 3600
#define D 86400
#define NOW ((time_t)1700000000)

static struct policy_evidence score(const struct policy_event *ev, size_t n)
{
    struct policy_params p;
    policy_defaults(&p);
    struct policy_evidence e;
    policy_score(&p, ev, n, NOW, &e);
    return e;
}

static double report_at(time_t age)
{
    struct policy_event ev = {NOW - age, POLICY_REPORT};
    return score(&ev, 1).score;
}

static void test_defaults(void **state)
{
    (void)state;
    struct policy_params p;
    policy_defaults(&p);
    assert_true(p.report_fresh == 4 && p.report_floor == 1);
    assert_int_equal(p.report_decay, 48 * H);
    assert_int_equal(p.evidence_window, 7 * D);
    assert_true(p.trap_each == 5);
    assert_int_equal(p.trap_square, 6);
    assert_true(p.threshold == 5);
    assert_int_equal(p.min_reports, 2);
    assert_int_equal(p.min_traps, 1);
    assert_int_equal(p.expiry, 24 * H);
    assert_int_equal(p.expiry_two_reports, 12 * H);
    assert_int_equal(p.escalate_above, 4);
    assert_int_equal(p.escalate_window, 7 * D);
    assert_int_equal(p.removal_interval, 7 * D);
    assert_int_equal(p.max_report_age, 48 * H);
    assert_int_equal(p.code, 2);
    assert_int_equal(p.escalate_code, 3);
}

static void test_report_decay(void **state)
{
    (void)state;
    /* Linear from 4 to 1 over 48 h; these are exact in binary. */
    assert_true(report_at(0) == 4.0);
    assert_true(report_at(12 * H) == 3.25);
    assert_true(report_at(24 * H) == 2.5);
    assert_true(report_at(48 * H) == 1.0);
    assert_true(report_at(48 * H + 1) == 1.0);
    assert_true(report_at(3 * D) == 1.0);
    assert_true(report_at(7 * D) == 1.0);
    assert_true(report_at(7 * D + 1) == 0.0);
    /* Strictly between the ends: below fresh, above floor. */
    double w = report_at(1);
    assert_true(w < 4.0 && w > 3.99);
}

static void test_window_edges(void **state)
{
    (void)state;
    struct policy_event ev[] = {
        {NOW - 7 * D, POLICY_REPORT},
        {NOW - 7 * D - 1, POLICY_REPORT},
        {NOW - 7 * D - 1, POLICY_TRAP},
        {NOW - 30 * D, POLICY_TRAP},
    };
    struct policy_evidence e = score(ev, 4);
    assert_int_equal(e.reports, 1);
    assert_int_equal(e.traps, 0);
    assert_true(e.score == 1.0);
    assert_int_equal(e.last, NOW - 7 * D);

    e = score(ev + 1, 3); /* all outside */
    assert_int_equal(e.reports, 0);
    assert_int_equal(e.traps, 0);
    assert_true(e.score == 0.0);
    assert_int_equal(e.last, 0);

    e = score(NULL, 0);
    assert_int_equal(e.reports + e.traps, 0);
    assert_true(e.score == 0.0);
    assert_int_equal(e.last, 0);
}

static void test_traps(void **state)
{
    (void)state;
    struct policy_event ev[8];
    for (int i = 0; i < 8; i++)
        ev[i] = (struct policy_event){NOW - i * D, POLICY_TRAP};
    /* Trap hits do not decay, inside the window. */
    assert_true(score(ev, 1).score == 5.0);
    assert_true(score(ev, 2).score == 10.0);
    assert_true(score(ev, 5).score == 25.0);
    assert_true(score(ev, 6).score == 36.0);
    assert_true(score(ev, 7).score == 49.0);
    /* The eighth is 7 days old: still in. */
    assert_int_equal(score(ev, 8).traps, 8);
    assert_true(score(ev, 8).score == 64.0);
}

static void test_mixed_and_order(void **state)
{
    (void)state;
    /* Any order; last is the newest; reports and traps add up. */
    struct policy_event ev[] = {
        {NOW - 48 * H, POLICY_REPORT},
        {NOW - 1 * H, POLICY_TRAP},
        {NOW - 24 * H, POLICY_REPORT},
        {NOW - 2 * D, POLICY_TRAP},
    };
    struct policy_evidence e = score(ev, 4);
    assert_int_equal(e.reports, 2);
    assert_int_equal(e.traps, 2);
    assert_true(e.score == 1.0 + 2.5 + 10.0);
    assert_int_equal(e.last, NOW - 1 * H);
}

static void test_future_and_unknown(void **state)
{
    (void)state;
    struct policy_event ev[] = {
        {NOW + 5 * D, POLICY_REPORT}, /* a skewed clock: fresh, and "now" */
        {NOW - 1, (enum policy_event_kind)7},
    };
    struct policy_evidence e = score(ev, 2);
    assert_int_equal(e.reports, 1);
    assert_int_equal(e.traps, 0);
    assert_true(e.score == 4.0);
    assert_int_equal(e.last, NOW);
}

static bool lists(const struct policy_event *ev, size_t n)
{
    struct policy_params p;
    policy_defaults(&p);
    struct policy_evidence e = score(ev, n);
    return policy_should_list(&p, &e);
}

static void test_should_list(void **state)
{
    (void)state;
    struct policy_event one_fresh = {NOW, POLICY_REPORT};
    assert_false(lists(&one_fresh, 1));

    struct policy_event two_fresh[] = {{NOW, POLICY_REPORT}, {NOW - 60, POLICY_REPORT}};
    assert_true(lists(two_fresh, 2)); /* about 8 >= 5 */

    struct policy_event trap = {NOW - 6 * D, POLICY_TRAP};
    assert_true(lists(&trap, 1));

    struct policy_event old[] = {{NOW - 3 * D, POLICY_REPORT}, {NOW - 3 * D, POLICY_REPORT}};
    assert_true(score(old, 2).score == 2.0);
    assert_false(lists(old, 2));

    /* Exactly the threshold lists: 2.5 + 2.5 at 24 h. */
    struct policy_event day[] = {{NOW - 24 * H, POLICY_REPORT}, {NOW - 24 * H, POLICY_REPORT}};
    assert_true(score(day, 2).score == 5.0);
    assert_true(lists(day, 2));
    /* Just under it does not. */
    struct policy_event older[] = {{NOW - 24 * H - 1, POLICY_REPORT},
                                   {NOW - 24 * H, POLICY_REPORT}};
    assert_false(lists(older, 2));

    /* The score alone is not enough: one report above a lowered threshold. */
    struct policy_params p;
    policy_defaults(&p);
    p.threshold = 3;
    struct policy_evidence e;
    policy_score(&p, &one_fresh, 1, NOW, &e);
    assert_false(policy_should_list(&p, &e));
    p.min_reports = 1;
    assert_true(policy_should_list(&p, &e));
    /* Nor are the counts alone. */
    policy_defaults(&p);
    e = (struct policy_evidence){.reports = 10, .traps = 3, .score = 4.99};
    assert_false(policy_should_list(&p, &e));
}

static void test_expires(void **state)
{
    (void)state;
    struct policy_params p;
    policy_defaults(&p);
    struct policy_evidence e = {.reports = 2, .traps = 0, .score = 8, .last = NOW};
    assert_int_equal(policy_expires(&p, &e), NOW + 12 * H);
    e.reports = 3;
    assert_int_equal(policy_expires(&p, &e), NOW + 24 * H);
    e.reports = 2;
    e.traps = 1;
    assert_int_equal(policy_expires(&p, &e), NOW + 24 * H);
    e.reports = 0;
    assert_int_equal(policy_expires(&p, &e), NOW + 24 * H);

    /* From scored events: the newest event counts, not now. */
    struct policy_event ev[] = {{NOW - 10 * H, POLICY_REPORT}, {NOW - 2 * H, POLICY_REPORT}};
    policy_score(&p, ev, 2, NOW, &e);
    assert_int_equal(policy_expires(&p, &e), NOW - 2 * H + 12 * H);
}

static void test_escalates_and_removal(void **state)
{
    (void)state;
    struct policy_params p;
    policy_defaults(&p);
    assert_false(policy_escalates(&p, 0));
    assert_false(policy_escalates(&p, 4));
    assert_true(policy_escalates(&p, 5));

    assert_true(policy_removal_allowed(&p, 0, NOW));
    assert_false(policy_removal_allowed(&p, NOW, NOW));
    assert_false(policy_removal_allowed(&p, NOW - 7 * D + 1, NOW));
    assert_true(policy_removal_allowed(&p, NOW - 7 * D, NOW));
    /* A removal "in the future" (clock stepped back) does not allow one. */
    assert_false(policy_removal_allowed(&p, NOW + H, NOW));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_report_decay),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_traps),
        cmocka_unit_test(test_mixed_and_order),
        cmocka_unit_test(test_future_and_unknown),
        cmocka_unit_test(test_should_list),
        cmocka_unit_test(test_expires),
        cmocka_unit_test(test_escalates_and_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
