/* Unit tests for the policy protocol parser: whole and split requests,
 * pipelining, unknown attributes, every refusal, and the answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "policy/policy_proto.h"

static const char REQ[] = "request=smtpd_access_policy\n"
                          "protocol_state=RCPT\n"
                          "protocol_name=ESMTP\n"
                          "client_address=192.0.2.99\n"
                          "client_name=mail.example.com\n"
                          "helo_name=mail.example.com\n"
                          "sender=a@example.com\n"
                          "recipient=b@example.org\n"
                          "queue_id=8045F2AB23\n"
                          "instance=123.456.7\n"
                          "ccert_subject=\n"
                          "some_future_attribute=whatever it is\n"
                          "\n";

static void test_whole_request(void **state)
{
    (void)state;
    struct policy_parser p;
    policy_parser_init(&p);
    size_t used;
    const char *why = NULL;
    assert_int_equal(policy_parser_feed(&p, REQ, strlen(REQ), &used, &why), POLICY_REQUEST);
    assert_int_equal(used, strlen(REQ));
    assert_string_equal(p.req.request, "smtpd_access_policy");
    assert_string_equal(p.req.protocol_state, "RCPT");
    assert_string_equal(p.req.client_address, "192.0.2.99");
    assert_string_equal(p.req.client_name, "mail.example.com");
    assert_string_equal(p.req.helo_name, "mail.example.com");
    assert_string_equal(p.req.sender, "a@example.com");
    assert_string_equal(p.req.recipient, "b@example.org");
    assert_string_equal(p.req.queue_id, "8045F2AB23");
    assert_string_equal(p.req.instance, "123.456.7");
    assert_int_equal(p.req.attrs, 12);
}

/* Byte by byte, as the slowest client would send it. */
static void test_split_anywhere(void **state)
{
    (void)state;
    struct policy_parser p;
    policy_parser_init(&p);
    const char *why = NULL;
    size_t n = strlen(REQ), used;
    for (size_t i = 0; i < n; i++) {
        enum policy_feed r = policy_parser_feed(&p, REQ + i, 1, &used, &why);
        assert_int_equal(used, 1);
        assert_int_equal(r, i + 1 == n ? POLICY_REQUEST : POLICY_MORE);
    }
    assert_string_equal(p.req.client_address, "192.0.2.99");
}

/* Three requests in one read: each comes out in turn, with its own
 * values (nothing left over from the one before). */
static void test_pipelined(void **state)
{
    (void)state;
    char buf[4096];
    int n = snprintf(buf, sizeof(buf),
                     "%s"
                     "request=smtpd_access_policy\nclient_address=2001:db8::1\n\n"
                     "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n\r\n",
                     REQ);
    struct policy_parser p;
    policy_parser_init(&p);
    const char *why = NULL, *at = buf;
    size_t left = (size_t)n, used;
    assert_int_equal(policy_parser_feed(&p, at, left, &used, &why), POLICY_REQUEST);
    assert_string_equal(p.req.client_address, "192.0.2.99");
    at += used, left -= used;
    assert_int_equal(policy_parser_feed(&p, at, left, &used, &why), POLICY_REQUEST);
    assert_string_equal(p.req.client_address, "2001:db8::1");
    assert_string_equal(p.req.protocol_state, "");
    at += used, left -= used;
    assert_int_equal(policy_parser_feed(&p, at, left, &used, &why), POLICY_REQUEST);
    assert_string_equal(p.req.client_address, "");
    assert_string_equal(p.req.protocol_state, "RCPT"); /* CR tolerated */
    assert_int_equal(used, left);
}

static void refused(const char *text, size_t len, const char *want)
{
    struct policy_parser p;
    policy_parser_init(&p);
    size_t used;
    const char *why = NULL;
    if (policy_parser_feed(&p, text, len, &used, &why) != POLICY_MALFORMED)
        fail_msg("accepted: %.60s", text);
    if (!why || !strstr(why, want))
        fail_msg("for %.60s: why '%s', want '%s'", text, why ? why : "(none)", want);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("\n", 1, "empty request");
    refused("client_address=1.2.3.4\n\n", 24, "no request=");
    refused("request=something_else\n\n", 25, "other than");
    refused("request=smtpd_access_policy\njunk\n\n", 34, "not name=value");
    refused("request=smtpd_access_policy\n=x\n\n", 32, "not name=value");
    refused("request=smtpd_access_policy\nna me=x\n\n", 37, "characters");
    static const char nul[] = "request=smtpd_access_policy\nx=a\0b\n\n";
    refused(nul, sizeof(nul) - 1, "NUL");
    /* A value longer than its field. */
    char big[1200];
    int n = snprintf(big, sizeof(big), "request=smtpd_access_policy\nsender=");
    memset(big + n, 'a', 600);
    memcpy(big + n + 600, "\n\n", 2);
    refused(big, (size_t)n + 602, "too long for");
}

static void test_limits(void **state)
{
    (void)state;
    static char buf[POLICY_REQUEST_MAX + POLICY_LINE_MAX];
    /* A line longer than POLICY_LINE_MAX, however it arrives. */
    memcpy(buf, "x_attr=", 7);
    memset(buf + 7, 'v', POLICY_LINE_MAX);
    struct policy_parser p;
    policy_parser_init(&p);
    size_t used;
    const char *why = NULL;
    assert_int_equal(policy_parser_feed(&p, buf, 7 + POLICY_LINE_MAX, &used, &why),
                     POLICY_MALFORMED);
    assert_non_null(strstr(why, "line too long"));
    /* Too many attributes. */
    size_t n = 0;
    for (int i = 0; i <= POLICY_ATTRS_MAX; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a%d=1\n", i);
    policy_parser_init(&p);
    assert_int_equal(policy_parser_feed(&p, buf, n, &used, &why), POLICY_MALFORMED);
    assert_non_null(strstr(why, "too many attributes"));
    /* A request over POLICY_REQUEST_MAX in lines each short enough. */
    n = 0;
    while (n < POLICY_REQUEST_MAX + 100) {
        memcpy(buf + n, "x=", 2);
        memset(buf + n + 2, 'v', 997);
        buf[n + 999] = '\n';
        n += 1000;
    }
    policy_parser_init(&p);
    assert_int_equal(policy_parser_feed(&p, buf, n, &used, &why), POLICY_MALFORMED);
    assert_true(strstr(why, "request too long") || strstr(why, "too many"));
}

static void test_action(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(policy_format_action(out, sizeof(out), "DUNNO"), 14);
    assert_string_equal(out, "action=DUNNO\n\n");
    assert_int_equal(policy_format_action(out, sizeof(out), "REJECT a\nb"), 19);
    assert_string_equal(out, "action=REJECT a b\n\n");
    assert_int_equal(policy_format_action(out, 10, "REJECT listed"), ERR_SPACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_request), cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_pipelined),     cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
