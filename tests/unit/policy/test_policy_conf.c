/* Unit tests for [policyd]: every key, the defaults, the allowlist, and
 * the file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "policy/policy_conf.h"

static int load(const char *text, struct policy_conf *c, char *err, size_t errsz)
{
    char path[] = "/tmp/dbk-policyconf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    policy_conf_init(c);
    int rc = policy_conf_load(c, path, err, errsz);
    unlink(path);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    struct policy_conf c;
    char err[256];
    assert_int_equal(load("[check]\nlists = bl.example\n", &c, err, sizeof(err)), 0);
    assert_int_equal(c.nlisten, 1);
    assert_false(c.listen[0].unix_socket);
    assert_string_equal(c.listen[0].host, "127.0.0.1");
    assert_int_equal(c.listen[0].port, 10040);
    assert_string_equal(c.state, "RCPT");
    assert_int_equal(c.decide.reject_score, 1);
    assert_int_equal(c.decide.mark_score, 0);
    assert_false(c.decide.defer_when_blind);
    assert_int_equal(c.max_connections, 256);
    assert_false(policy_conf_allowed(&c, "192.0.2.1"));
    assert_false(c.check_helo);
    assert_false(c.check_sender);
    assert_int_equal(c.answer_timeout_ms, 5000);
}

static void test_every_key(void **state)
{
    (void)state;
    struct policy_conf c;
    char err[256];
    int rc = load("[policyd]\n"
                  "listen = 127.0.0.1/10041, [::1]/10041\n"
                  "listen = unix:/run/dnsblkit/policyd.sock\n"
                  "state = END-OF-MESSAGE\n"
                  "reject-score = 5\n"
                  "mark-score = 2\n"
                  "reject-text = 550 5.7.1 [$ip] listed by $lists\n"
                  "when-blind = DEFER_IF_PERMIT\n"
                  "allow = 192.0.2.0/24 2001:db8::/32\n"
                  "max-connections = 1000\n"
                  "answer-timeout = 2500ms\n"
                  "user = nobody:nogroup\n"
                  "chroot = /var/empty\n"
                  "check-helo = yes\n"
                  "check-sender = on\n",
                  &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nlisten, 3);
    assert_string_equal(c.listen[1].host, "::1");
    assert_true(c.listen[2].unix_socket);
    assert_string_equal(c.listen[2].path, "/run/dnsblkit/policyd.sock");
    assert_string_equal(c.state, "END-OF-MESSAGE");
    assert_int_equal(c.decide.reject_score, 5);
    assert_int_equal(c.decide.mark_score, 2);
    assert_string_equal(c.decide.reject_text, "550 5.7.1 [$ip] listed by $lists");
    assert_true(c.decide.defer_when_blind);
    assert_true(c.check_helo);
    assert_true(c.check_sender);
    assert_int_equal(c.answer_timeout_ms, 2500);
    assert_true(c.user.set);
    assert_int_equal(c.user.uid, 65534);
    assert_int_equal(c.user.gid, 65534);
    assert_string_equal(c.chroot_dir, "/var/empty");
    assert_int_equal(c.max_connections, 1000);
    assert_true(policy_conf_allowed(&c, "192.0.2.200"));
    assert_true(policy_conf_allowed(&c, "::ffff:192.0.2.7"));
    assert_true(policy_conf_allowed(&c, "2001:db8:ff::1"));
    assert_false(policy_conf_allowed(&c, "192.0.3.1"));
    assert_false(policy_conf_allowed(&c, "192.0.2.0/24"));
    assert_false(policy_conf_allowed(&c, "unknown"));
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[policyd]\nlisten = nowhere\n", ":2: bad listen 'nowhere'"},
        {"[policyd]\nlisten = unix:relative.sock\n", ":2: bad listen 'unix:relative.sock'"},
        {"[policyd]\nstate = SOMETIME\n", ":2: bad state 'SOMETIME'"},
        {"[policyd]\nreject-score = -1\n", ":2: bad reject-score '-1'"},
        {"[policyd]\nmark-score = x\n", ":2: bad mark-score 'x'"},
        {"[policyd]\nreject-text = REJECT go away\n", ":2: bad reject-text"},
        {"[policyd]\nreject-text = 554 5.7.1 $who\n", "none of $ip"},
        {"[policyd]\nwhen-blind = REJECT\n", ":2: bad when-blind 'REJECT'"},
        {"[policyd]\nallow = 192.0.2.0/33\n", ":2: bad allow '192.0.2.0/33'"},
        {"[policyd]\nmax-connections = 0\n", ":2: bad max-connections '0'"},
        {"[policyd]\ncolour = red\n", ":2: unknown key 'colour' in [policyd]"},
        {"[policyd]\nanswer-timeout = 50ms\n", ":2: bad answer-timeout '50ms' (100ms..60s"},
        {"[policyd]\nanswer-timeout = 2m\n", ":2: bad answer-timeout '2m'"},
        {"[policyd]\nuser = no-such-user-here\n", ":2: bad user 'no-such-user-here'"},
        {"[policyd]\nchroot = relative\n", ":2: bad chroot 'relative' (an absolute path)"},
        {"[policyd]\ncheck-helo = maybe\n", ":2: bad check-helo 'maybe' (yes or no)"},
        {"[policyd]\n\ncheck-sender = 2\n", ":3: bad check-sender '2' (yes or no)"},
        {"[policyd]\nreject-score = 3\nmark-score = 3\n", "would never mark"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct policy_conf c;
        char err[256] = "";
        if (load(bad[i].text, &c, err, sizeof(err)) == 0)
            fail_msg("accepted: %s", bad[i].text);
        if (!strstr(err, bad[i].want))
            fail_msg("for %s got '%s', want '%s'", bad[i].text, err, bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
