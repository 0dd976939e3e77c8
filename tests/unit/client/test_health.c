/* Unit tests for the list health state machine: every transition of the
 * table in health.h, hysteresis both ways, the reasons kept, freshness,
 * and disabled lists; driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/health.h"

/* The fake clock: an arbitrary start far from 0 (0 means "never"). */
#define T0 1000000

static struct health_conf conf(unsigned sick_after, unsigned healthy_after)
{
    struct health_conf c;
    health_conf_init(&c);
    c.sick_after = sick_after;
    c.healthy_after = healthy_after;
    return c;
}

static void test_conf_defaults(void **state)
{
    (void)state;
    struct health_conf c;
    memset(&c, 0xff, sizeof(c));
    health_conf_init(&c);
    assert_int_equal(c.sick_after, 2);
    assert_int_equal(c.healthy_after, 2);
    assert_int_equal(HEALTH_DEFAULT_SICK_AFTER, 2);
    assert_int_equal(HEALTH_DEFAULT_HEALTHY_AFTER, 2);
}

static void test_init(void **state)
{
    (void)state;
    struct health h;
    memset(&h, 0x5a, sizeof(h));
    health_init(&h, true, T0);
    assert_int_equal(h.state, HEALTH_UNKNOWN);
    assert_int_equal(h.since_ms, T0);
    assert_int_equal(h.last_good_ms, 0);
    assert_int_equal(h.last_round_ms, 0);
    assert_int_equal(h.rounds, 0);
    assert_int_equal(h.changes, 0);
    assert_int_equal(h.bad_streak, 0);
    assert_int_equal(h.good_streak, 0);
    assert_string_equal(h.why, "");
    assert_false(health_usable(&h));

    health_init(&h, false, T0 + 5);
    assert_int_equal(h.state, HEALTH_DISABLED);
    assert_int_equal(h.since_ms, T0 + 5);
    assert_false(health_usable(&h));
}

static void test_startup_good(void **state)
{
    (void)state;
    struct health_conf c = conf(2, 2);
    struct health h;
    health_init(&h, true, T0);
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 100));
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_true(health_usable(&h));
    assert_int_equal(h.since_ms, T0 + 100);
    assert_int_equal(h.last_good_ms, T0 + 100);
    assert_int_equal(h.last_round_ms, T0 + 100);
    assert_int_equal(h.rounds, 1);
    assert_int_equal(h.changes, 1);
    /* More GOOD rounds: no change, since stays. */
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 200));
    assert_int_equal(h.since_ms, T0 + 100);
    assert_int_equal(h.last_good_ms, T0 + 200);
    assert_int_equal(h.rounds, 2);
    assert_int_equal(h.changes, 1);
}

static void test_startup_bad_and_fatal(void **state)
{
    (void)state;
    struct health_conf c = conf(2, 2);
    struct health h;
    health_init(&h, true, T0);
    /* One BAD round is not enough to judge a list we know nothing of. */
    assert_false(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 1));
    assert_int_equal(h.state, HEALTH_UNKNOWN);
    assert_false(health_usable(&h));
    assert_true(health_round(&h, &c, HEALTH_BAD, "timeout again", T0 + 2));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_string_equal(h.why, "timeout again");
    assert_int_equal(h.since_ms, T0 + 2);

    health_init(&h, true, T0);
    assert_true(health_round(&h, &c, HEALTH_FATAL, "answers everything", T0 + 1));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_int_equal(h.changes, 1);
    assert_string_equal(h.why, "answers everything");
}

static void test_bad_streak(void **state)
{
    (void)state;
    struct health_conf c = conf(2, 2);
    struct health h;
    health_init(&h, true, T0);
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 1));
    assert_false(health_round(&h, &c, HEALTH_BAD, "SERVFAIL", T0 + 2));
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_true(health_usable(&h));
    assert_int_equal(h.bad_streak, 1);
    assert_string_equal(h.why, "SERVFAIL");
    /* A GOOD round in between resets the streak, and the reason. */
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 3));
    assert_int_equal(h.bad_streak, 0);
    assert_string_equal(h.why, "");
    assert_false(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 4));
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_true(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 5));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_false(health_usable(&h));
    assert_int_equal(h.since_ms, T0 + 5);
    assert_int_equal(h.last_good_ms, T0 + 3);
    assert_int_equal(h.last_round_ms, T0 + 5);
    assert_int_equal(h.rounds, 5);
    assert_int_equal(h.changes, 2);
}

static void test_fatal_from_healthy(void **state)
{
    (void)state;
    struct health_conf c = conf(3, 2);
    struct health h;
    health_init(&h, true, T0);
    health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 1);
    assert_true(health_round(&h, &c, HEALTH_FATAL, "127.0.0.1 listed (127.0.0.2)", T0 + 2));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_int_equal(h.since_ms, T0 + 2);
    assert_string_equal(h.why, "127.0.0.1 listed (127.0.0.2)");
    /* A FATAL after a BAD: still at once, whatever the streak. */
    health_init(&h, true, T0);
    health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 1);
    assert_false(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 2));
    assert_true(health_round(&h, &c, HEALTH_FATAL, "answer 203.0.113.9", T0 + 3));
    assert_int_equal(h.state, HEALTH_SICK);
}

static void test_recovery(void **state)
{
    (void)state;
    struct health_conf c = conf(2, 3);
    struct health h;
    health_init(&h, true, T0);
    health_round(&h, &c, HEALTH_FATAL, "wildcard", T0 + 1);
    assert_int_equal(h.state, HEALTH_SICK);
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 2));
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 3));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_string_equal(h.why, "");
    /* A BAD round interrupts: the count starts over. */
    assert_false(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 4));
    assert_int_equal(h.good_streak, 0);
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 5));
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 6));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_false(health_usable(&h));
    /* So does a FATAL one. */
    assert_false(health_round(&h, &c, HEALTH_FATAL, "wildcard", T0 + 7));
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 8));
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 9));
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 10));
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_true(health_usable(&h));
    assert_int_equal(h.since_ms, T0 + 10);
    assert_int_equal(h.changes, 2);
    assert_int_equal(h.rounds, 10);
    /* Healthy again, a single BAD does not flap it back. */
    assert_false(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 11));
    assert_int_equal(h.state, HEALTH_HEALTHY);
}

static void test_thresholds_of_one(void **state)
{
    (void)state;
    struct health_conf c = conf(1, 1);
    struct health h;
    health_init(&h, true, T0);
    assert_true(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 1));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 2));
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_true(health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 3));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 4));
    assert_int_equal(h.changes, 4);
    assert_int_equal(h.since_ms, T0 + 4);

    /* 0 is taken as 1, not as "sick without a bad round". */
    c = conf(0, 0);
    health_init(&h, true, T0);
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 1));
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_true(health_round(&h, &c, HEALTH_BAD, "x", T0 + 2));
    assert_int_equal(h.state, HEALTH_SICK);
    assert_true(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 3));
    assert_int_equal(h.state, HEALTH_HEALTHY);
}

static void test_disabled(void **state)
{
    (void)state;
    struct health_conf c = conf(1, 1);
    struct health h;
    health_init(&h, false, T0);
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 1));
    assert_false(health_round(&h, &c, HEALTH_FATAL, "x", T0 + 2));
    assert_false(health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 3));
    assert_int_equal(h.state, HEALTH_DISABLED);
    assert_false(health_usable(&h));
    assert_false(health_fresh(&h, T0 + 3, 1000000));
    assert_int_equal(h.rounds, 0);
    assert_int_equal(h.changes, 0);
    assert_int_equal(h.since_ms, T0);
    assert_int_equal(h.last_good_ms, 0);
    assert_string_equal(h.why, "");
}

static void test_fresh(void **state)
{
    (void)state;
    struct health_conf c = conf(2, 2);
    struct health h;
    health_init(&h, true, T0);
    /* Never good: never fresh. */
    assert_false(health_fresh(&h, T0, 1000));
    health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 10);
    assert_false(health_fresh(&h, T0 + 10, 1000));

    health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 100);
    assert_true(health_fresh(&h, T0 + 100, 1000));
    assert_true(health_fresh(&h, T0 + 1099, 1000));
    assert_true(health_fresh(&h, T0 + 1100, 1000)); /* exactly fresh_ms old */
    assert_false(health_fresh(&h, T0 + 1101, 1000));
    assert_true(health_fresh(&h, T0 + 100, 0));
    assert_false(health_fresh(&h, T0 + 101, 0));
    /* A BAD round afterwards does not move the last GOOD one. */
    health_round(&h, &c, HEALTH_BAD, "timeout", T0 + 500);
    assert_true(health_fresh(&h, T0 + 1100, 1000));
    assert_false(health_fresh(&h, T0 + 1101, 1000));
    /* Freshness does not depend on the state: a sick list's last good
     * round is still when it was. */
    health_round(&h, &c, HEALTH_FATAL, "wildcard", T0 + 600);
    assert_int_equal(h.state, HEALTH_SICK);
    assert_true(health_fresh(&h, T0 + 700, 1000));
}

static void test_why(void **state)
{
    (void)state;
    struct health_conf c = conf(5, 2);
    struct health h;
    health_init(&h, true, T0);
    /* A non-GOOD round without a reason still says something. */
    health_round(&h, &c, HEALTH_BAD, NULL, T0 + 1);
    assert_true(strlen(h.why) > 0);

    /* A long reason is cut to fit, NUL-terminated. */
    char lng[400];
    memset(lng, 'x', sizeof(lng) - 1);
    lng[sizeof(lng) - 1] = '\0';
    health_round(&h, &c, HEALTH_BAD, lng, T0 + 2);
    assert_int_equal(strlen(h.why), sizeof(h.why) - 1);
    assert_memory_equal(h.why, lng, sizeof(h.why) - 1);

    /* Exactly the room there is: kept whole. */
    char fit[sizeof(h.why)];
    memset(fit, 'y', sizeof(fit) - 1);
    fit[sizeof(fit) - 1] = '\0';
    health_round(&h, &c, HEALTH_BAD, fit, T0 + 3);
    assert_string_equal(h.why, fit);

    /* A cut inside a two-byte character leaves the whole character out:
     * 158 ASCII bytes, then U+00E9 (c3 a9) across the 159-byte limit. */
    char utf[200];
    memset(utf, 'a', 158);
    utf[158] = (char)0xc3;
    utf[159] = (char)0xa9;
    memset(utf + 160, 'b', 10);
    utf[170] = '\0';
    health_round(&h, &c, HEALTH_BAD, utf, T0 + 4);
    assert_int_equal(strlen(h.why), 158);
    assert_memory_equal(h.why, utf, 158);

    /* A character that ends right at the limit is kept. */
    memset(utf, 'a', 157);
    utf[157] = (char)0xc3;
    utf[158] = (char)0xa9;
    memset(utf + 159, 'b', 10);
    utf[169] = '\0';
    health_round(&h, &c, HEALTH_BAD, utf, T0 + 5);
    assert_int_equal(strlen(h.why), 159);
    assert_memory_equal(h.why, utf, 159);

    /* GOOD clears it. */
    health_round(&h, &c, HEALTH_GOOD, NULL, T0 + 6);
    assert_string_equal(h.why, "");
    health_round(&h, &c, HEALTH_GOOD, "ignored", T0 + 7);
    assert_string_equal(h.why, "");
}

static void test_null_conf(void **state)
{
    (void)state;
    /* Without a configuration, the defaults apply. */
    struct health h;
    health_init(&h, true, T0);
    assert_false(health_round(&h, NULL, HEALTH_BAD, "timeout", T0 + 1));
    assert_true(health_round(&h, NULL, HEALTH_BAD, "timeout", T0 + 2));
    assert_int_equal(h.state, HEALTH_SICK);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(health_state_name(HEALTH_UNKNOWN), "unknown");
    assert_string_equal(health_state_name(HEALTH_HEALTHY), "healthy");
    assert_string_equal(health_state_name(HEALTH_SICK), "sick");
    assert_string_equal(health_state_name(HEALTH_DISABLED), "disabled");
    assert_string_equal(health_state_name((enum health_state)42), "invalid");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_defaults), cmocka_unit_test(test_init),
        cmocka_unit_test(test_startup_good),  cmocka_unit_test(test_startup_bad_and_fatal),
        cmocka_unit_test(test_bad_streak),    cmocka_unit_test(test_fatal_from_healthy),
        cmocka_unit_test(test_recovery),      cmocka_unit_test(test_thresholds_of_one),
        cmocka_unit_test(test_disabled),      cmocka_unit_test(test_fresh),
        cmocka_unit_test(test_why),           cmocka_unit_test(test_null_conf),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
