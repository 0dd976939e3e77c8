/* Unit tests for reading reported messages: the corpus in
 * tests/data/reports (raw trap deliveries, ARF reports, a bounce, an
 * auto-reply), the flags and hashes one header at a time, the refusals,
 * and a sweep of truncated and corrupted inputs that must not crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "listing/report_msg.h"

static char *slurp(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/data/reports/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the project root)", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void parse_file(const char *name, struct report_msg *m)
{
    size_t len;
    char *buf = slurp(name, &len);
    char why[160] = "unset";
    int rc = report_msg_parse(buf, len, 0, m, why, sizeof(why));
    if (rc != 0)
        fail_msg("%s: %d (%s)", name, rc, why);
    free(buf);
}

static int parse_text(const char *text, struct report_msg *m, char *why, size_t whysz)
{
    return report_msg_parse(text, strlen(text), 0, m, why, whysz);
}

static const char *source_ip(const struct report_msg *m)
{
    static char text[INET6_ADDRSTRLEN];
    assert_true(m->has_source_ip);
    assert_true(m->source_family == 4 || m->source_family == 6);
    inet_ntop(m->source_family == 4 ? AF_INET : AF_INET6, m->source_ip, text, sizeof(text));
    return text;
}

static void test_trap_postfix(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("trap-postfix.eml", &m);
    assert_false(m.arf);
    assert_string_equal(m.feedback_type, "");
    assert_false(m.has_source_ip);
    assert_int_equal(m.nreceived, 2);
    assert_string_equal(m.received[0],
                        "from promo-deals24.example (static.7.12.83.45.clients.your-host.example "
                        "[45.83.12.7]) by mx1.dnsblkit.test (Postfix) with ESMTP id "
                        "4TqK1m2Xy9z9sRk for <trap-4711@dnsblkit.test>; Tue, 12 Mar 2024 "
                        "09:14:27 +0000 (UTC)");
    assert_string_equal(m.received[1], "from [127.0.0.1] (localhost [127.0.0.1]) by "
                                       "promo-deals24.example with SMTP id a1b2c3d4; Tue, 12 "
                                       "Mar 2024 10:14:25 +0100");
    assert_int_equal(m.date, 1710234865); /* Date:, no ARF */
    assert_false(m.bounce);
    assert_false(m.autoreply);
    /* sha256("<20240312101425.7f3a9c@promo-deals24.example>") */
    assert_string_equal(m.hash, "c47a89ffef534037c41f4f488a461698a0229c67be793c533d791f4d806694cd");
    /* The UTF-8 emoji of the encoded subject is one '?'. */
    assert_string_equal(m.excerpt, "Subject: ? Last chance: 70% off everything | From: "
                                   "\"Mega Deals\" <info@promo-deals24.example>");
    report_msg_free(&m);
    assert_null(m.received);
    assert_int_equal(m.nreceived, 0);
    assert_string_equal(m.hash, "");
    report_msg_free(&m); /* freeing twice is harmless */
}

static void test_trap_exim_crlf(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("trap-exim.eml", &m);
    assert_false(m.arf);
    assert_int_equal(m.nreceived, 2);
    /* CRLF folding unfolded, no CR left behind. */
    assert_string_equal(m.received[1], "from [91.200.12.44] (helo=[91.200.12.44]) by "
                                       "mx2.dnsblkit.test with esmtp (Exim 4.96) "
                                       "(envelope-from <newsletter@cheap-pharma.example>) id "
                                       "1rkXyY-0007Qr-1N for spamtrap@dnsblkit.test; Wed, 13 "
                                       "Mar 2024 22:41:08 +0000");
    for (size_t i = 0; i < m.nreceived; i++)
        assert_null(strpbrk(m.received[i], "\r\n\t"));
    assert_int_equal(m.date, 1710369662);
    assert_string_equal(m.excerpt, "Subject: Your order #88213 is ready | From: Pharmacy Online "
                                   "<newsletter@cheap-pharma.example>");
    report_msg_free(&m);
}

static void test_forged_chain_hash(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("trap-forged-chain.eml", &m);
    assert_int_equal(m.nreceived, 3);
    assert_int_equal(m.date, 1710385360);
    /* No Message-ID: the text without its Received: fields. */
    assert_string_equal(m.hash, "65b78e9f1868815298c4e4422138a9fae94ca1d2fde3953da9ad10eb5fa2571b");
    report_msg_free(&m);
}

static void test_user_forwarded(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("user-forwarded.eml", &m);
    assert_false(m.arf);
    assert_int_equal(m.nreceived, 3);
    assert_non_null(strstr(m.received[2], "[IPv6:2a02:c207:2034:5678::1]"));
    /* ISO-8859-1 u-umlaut from quoted-printable: one '?'. */
    assert_string_equal(m.excerpt, "Subject: Garantierte Rendite ?ber 40% | From: Crypto Yield "
                                   "<offers@crypto-yield.example>");
    assert_false(m.bounce);
    assert_false(m.autoreply);
    report_msg_free(&m);
}

/* A user's report with the spam attached: with REPORT_MSG_ATTACHED the
 * attachment is the reported message; without, the user's own mail. */
static void test_user_attached(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp("user-attached.eml", &len);
    char why[160] = "unset";
    struct report_msg m;
    assert_int_equal(report_msg_parse(buf, len, REPORT_MSG_ATTACHED, &m, why, sizeof(why)), 0);
    assert_true(m.forwarded);
    assert_false(m.arf);
    assert_int_equal(m.nreceived, 2);
    assert_non_null(strstr(m.received[1], "[5.188.206.14]"));
    assert_non_null(strstr(m.excerpt, "Subject: Your parcel is waiting"));
    assert_int_equal(m.date, 1710430798); /* the spam's Date:, not the user's */
    char attached_hash[REPORT_HASH_HEX];
    memcpy(attached_hash, m.hash, sizeof(attached_hash));
    report_msg_free(&m);

    assert_int_equal(report_msg_parse(buf, len, 0, &m, why, sizeof(why)), 0);
    assert_false(m.forwarded);
    assert_int_equal(m.nreceived, 1);
    assert_non_null(strstr(m.received[0], "[91.10.28.2]"));
    assert_non_null(strstr(m.excerpt, "Subject: Fwd: Your parcel is waiting"));
    assert_string_not_equal(m.hash, attached_hash);
    report_msg_free(&m);

    /* A message without an attachment is itself the reported one. */
    parse_file("trap-postfix.eml", &m);
    assert_false(m.forwarded);
    report_msg_free(&m);
    free(buf);
}

static void test_arf_abuse(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("arf-abuse.eml", &m);
    assert_true(m.arf);
    assert_string_equal(m.feedback_type, "abuse");
    assert_string_equal(source_ip(&m), "80.94.95.181");
    assert_int_equal(m.source_family, 4);
    /* The reported message's headers, not the report's own. */
    assert_int_equal(m.nreceived, 2);
    assert_non_null(strstr(m.received[0], "[10.20.0.7]"));
    assert_string_equal(m.received[1], "from prize-center.example (unknown [80.94.95.181]) by "
                                       "mx-in.mailbox-provider.example (Postfix) with ESMTP id "
                                       "7C1D2E3F40 for <bob@mailbox-provider.example>; Sat, 16 "
                                       "Mar 2024 10:47:12 +0000 (UTC)");
    assert_int_equal(m.date, 1710586032); /* Arrival-Date, not Date: */
    assert_false(m.bounce);
    assert_false(m.autoreply);
    assert_string_equal(m.hash, "4deeaeefdb7386ed243f367c984be2b5d2dc2b2a202b3aac6ab8856995511c2c");
    assert_string_equal(m.excerpt, "Subject: Claim your prize now | From: \"Prize Center\" "
                                   "<winner@prize-center.example>");
    report_msg_free(&m);
}

static void test_arf_headers_only(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("arf-headers-only.eml", &m);
    assert_true(m.arf);
    assert_string_equal(m.feedback_type, "abuse");
    assert_string_equal(source_ip(&m), "185.220.101.33");
    assert_int_equal(m.nreceived, 1);
    assert_non_null(strstr(m.received[0], "([185.220.101.33]:38712 helo=seo-rank-fast.example)"));
    assert_int_equal(m.date, 1710683921);
    /* No Message-ID: the header block without Received:, up to the
     * boundary's line break. */
    assert_string_equal(m.hash, "2d1c3950761394c796fd7bb54d2b1e5d3520d7acca0c109c1cc4cbd78138edf3");
    assert_string_equal(m.excerpt, "Subject: First page of Google in 7 days - guaranteed | From: "
                                   "SEO Rank Fast <sales@seo-rank-fast.example>");
    report_msg_free(&m);
}

static void test_arf_ipv6(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("arf-ipv6.eml", &m);
    assert_true(m.arf);
    assert_int_equal(m.source_family, 6);
    assert_string_equal(source_ip(&m), "2a01:4f8:1c17:abcd::1");
    assert_int_equal(m.nreceived, 1);
    assert_int_equal(m.date, 1710742904);
    report_msg_free(&m);
}

static void test_bounce_and_autoreply_files(void **state)
{
    (void)state;
    struct report_msg m;
    parse_file("bounce.eml", &m);
    assert_false(m.arf); /* a delivery-status report is no feedback report */
    assert_true(m.bounce);
    assert_true(m.autoreply); /* Postfix marks its bounces auto-replied */
    assert_int_equal(m.nreceived, 2);
    assert_int_equal(m.date, 1710868374);
    assert_string_equal(m.hash, "860f7c16720018111ee06bec784c38b1f593241c07b58847a17a846d16d03072");
    report_msg_free(&m);

    parse_file("autoreply.eml", &m);
    assert_true(m.autoreply);
    assert_false(m.bounce);
    assert_int_equal(m.date, 1710936003);
    report_msg_free(&m);

    static const char *const plain[] = {"private-source.eml", "broken-chain.eml", "internal.eml"};
    for (size_t i = 0; i < 3; i++) {
        parse_file(plain[i], &m);
        assert_false(m.arf);
        assert_false(m.bounce);
        assert_false(m.autoreply);
        assert_int_equal(m.nreceived, 2 - (i == 0));
        report_msg_free(&m);
    }
}

static void expect_flags(const char *headers, bool bounce, bool autoreply)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "Received: from x (x [45.83.12.7]) by mx1\n"
             "Subject: t\n%s\n\nbody\n",
             headers);
    struct report_msg m;
    char why[128];
    assert_int_equal(parse_text(text, &m, why, sizeof(why)), 0);
    if (m.bounce != bounce || m.autoreply != autoreply)
        fail_msg("[%s]: bounce %d autoreply %d, want %d %d", headers, m.bounce, m.autoreply, bounce,
                 autoreply);
    report_msg_free(&m);
}

static void test_flags(void **state)
{
    (void)state;
    expect_flags("From: a@example.com", false, false);
    expect_flags("Return-Path: <>", true, false);
    expect_flags("Return-Path: < >", true, false);
    expect_flags("Return-Path: <a@example.com>", false, false);
    expect_flags("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example>", true, false);
    expect_flags("Sender: mailer-daemon@mx.example", true, false);
    expect_flags("From: mailer-daemon.fan@example.com", false, false);
    /* postmaster writes mail by hand too: only its reports count. */
    expect_flags("From: postmaster@example.com", false, false);
    expect_flags("From: postmaster@example.com\nContent-Type: multipart/report; "
                 "report-type=disposition-notification; boundary=x",
                 true, false);
    expect_flags("Content-Type: multipart/report; report-type=delivery-status; boundary=x", true,
                 false);
    expect_flags("Content-Type: multipart/report; report-type=\"Delivery-Status\"; boundary=x",
                 true, false);
    expect_flags("Auto-Submitted: auto-replied", false, true);
    expect_flags("Auto-Submitted: auto-generated", false, true);
    expect_flags("Auto-Submitted: no", false, false);
    expect_flags("Auto-Submitted: No (a person wrote this)", false, false);
    expect_flags("Auto-Submitted:", false, false);
    expect_flags("X-Autoreply: yes", false, true);
    expect_flags("X-Autorespond: vacation", false, true);
    expect_flags("Precedence: auto_reply", false, true);
    expect_flags("Precedence: bulk", false, false);
    expect_flags("Precedence: list", false, false);
}

static void test_hash(void **state)
{
    (void)state;
    struct report_msg a, b;
    char why[128];
    /* A folded Message-ID is hashed trimmed, with its brackets:
     * sha256("<abc@example.com>"). */
    assert_int_equal(
        parse_text("Subject: x\nMessage-ID:\n <abc@example.com>  \n\nbody\n", &a, why, sizeof(why)),
        0);
    assert_string_equal(a.hash, "a1c01306268e0d2c69f4426068f5e4d0ab1e61c29f34afe61da456b48b8dfea6");
    report_msg_free(&a);

    /* Without one: Received: fields (folded or not) and CRLF do not
     * change the hash; the body does. */
    assert_int_equal(parse_text("Received: from a (a [45.83.12.7]) by mx1\n"
                                "Subject: same\nFrom: x@example.com\n\nbody\n",
                                &a, why, sizeof(why)),
                     0);
    assert_int_equal(parse_text("Received: from b\r\n\t(b [91.200.12.44])\r\n by mx2\r\n"
                                "RECEIVED : from c by mx1\r\n"
                                "Subject: same\r\nFrom: x@example.com\r\n\r\nbody\r\n",
                                &b, why, sizeof(why)),
                     0);
    assert_string_equal(a.hash, b.hash);
    assert_int_equal(strlen(a.hash), 64);
    report_msg_free(&b);
    assert_int_equal(
        parse_text("Subject: same\nFrom: x@example.com\n\nother body\n", &b, why, sizeof(why)), 0);
    assert_string_not_equal(a.hash, b.hash);
    report_msg_free(&a);
    report_msg_free(&b);
    /* A Received: line in the body is part of the text. */
    assert_int_equal(parse_text("Subject: same\n\nReceived: x\n", &a, why, sizeof(why)), 0);
    assert_int_equal(parse_text("Subject: same\n\nReceived: y\n", &b, why, sizeof(why)), 0);
    assert_string_not_equal(a.hash, b.hash);
    report_msg_free(&a);
    report_msg_free(&b);
}

static void test_excerpt(void **state)
{
    (void)state;
    struct report_msg m;
    char why[128];
    char text[2048];
    char subject[401];
    memset(subject, 'S', 400);
    subject[400] = '\0';
    snprintf(text, sizeof(text), "Subject: %s\nFrom: Long <long@example.com>\n\nb\n", subject);
    assert_int_equal(parse_text(text, &m, why, sizeof(why)), 0);
    /* A long subject is cut so the From still shows. */
    assert_true(strlen(m.excerpt) < REPORT_EXCERPT);
    assert_non_null(strstr(m.excerpt, "SSS... | From: Long <long@example.com>"));
    assert_int_equal(strncmp(m.excerpt, "Subject: SSS", 12), 0);
    report_msg_free(&m);

    /* Raw 8-bit, control characters and an encoded word: printable
     * ASCII out, each foreign character one '?'. */
    assert_int_equal(
        parse_text("Subject: Caf\xc3\xa9 \x01 =?UTF-8?Q?na=C3=AFve?=\n\nb\n", &m, why, sizeof(why)),
        0);
    assert_string_equal(m.excerpt, "Subject: Caf? ? na?ve | From: (none)");
    for (const char *p = m.excerpt; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    report_msg_free(&m);
}

static void test_dates(void **state)
{
    (void)state;
    struct report_msg m;
    char why[128];
    assert_int_equal(parse_text("Subject: x\n\nb\n", &m, why, sizeof(why)), 0);
    assert_int_equal(m.date, 0);
    assert_int_equal(m.nreceived, 0);
    report_msg_free(&m);
    assert_int_equal(parse_text("Subject: x\nDate: not a date at all\n\nb\n", &m, why, sizeof(why)),
                     0);
    assert_int_equal(m.date, 0);
    report_msg_free(&m);
    assert_int_equal(parse_text("Date: Thu, 01 Jan 1970 00:01:40 +0000\nSubject: x\n\nb\n", &m, why,
                                sizeof(why)),
                     0);
    assert_int_equal(m.date, 100);
    report_msg_free(&m);
}

/* An ARF report around the given feedback fields and third part. */
static void arf(char *out, size_t outsz, const char *fields, const char *third)
{
    snprintf(out, outsz,
             "From: fbl@example.net\nSubject: report\nMIME-Version: 1.0\n"
             "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\n\n"
             "--b\nContent-Type: text/plain\n\nA report.\n\n"
             "--b\nContent-Type: message/feedback-report\n\n%s\n\n"
             "%s"
             "--b--\n",
             fields, third);
}

static void test_arf_fields(void **state)
{
    (void)state;
    struct report_msg m;
    char why[128], text[2048];
    const char *orig = "--b\nContent-Type: message/rfc822\n\n"
                       "Received: from x (x [45.83.12.7]) by mx.example.net\n"
                       "Date: Thu, 01 Jan 1970 00:01:40 +0000\n"
                       "Subject: spam\n\nspam body\n\n";

    /* Folded fields, mapped IPv6, Feedback-Type in any case. */
    arf(text, sizeof(text),
        "Feedback-Type:\n  Abuse\nVersion: 1\nSource-IP: [::ffff:91.200.12.44]\n"
        "Arrival-Date: Thu, 01 Jan 1970 00:03:20\n +0000",
        orig);
    assert_int_equal(parse_text(text, &m, why, sizeof(why)), 0);
    assert_true(m.arf);
    assert_string_equal(m.feedback_type, "abuse");
    assert_int_equal(m.source_family, 4);
    assert_string_equal(source_ip(&m), "91.200.12.44");
    assert_int_equal(m.date, 200);
    assert_int_equal(m.nreceived, 1);
    report_msg_free(&m);

    /* A Source-IP that is no address, and an Arrival-Date that is no
     * date: no source, the reported Date: instead. */
    arf(text, sizeof(text),
        "Feedback-Type: fraud\nSource-IP: mail.example.com\nArrival-Date: yesterday", orig);
    assert_int_equal(parse_text(text, &m, why, sizeof(why)), 0);
    assert_string_equal(m.feedback_type, "fraud");
    assert_false(m.has_source_ip);
    assert_int_equal(m.date, 100);
    report_msg_free(&m);

    /* The draft's Received-Date, and an overlong Feedback-Type cut. */
    arf(text, sizeof(text),
        "Feedback-Type: "
        "abcdefghijklmnopqrstuvwxyz0123456789\nReceived-Date: Thu, 01 Jan 1970 00:05:00 +0000",
        orig);
    assert_int_equal(parse_text(text, &m, why, sizeof(why)), 0);
    assert_string_equal(m.feedback_type, "abcdefghijklmnopqrstuvwxyz01234");
    assert_int_equal(m.date, 300);
    report_msg_free(&m);

    /* An IPv6 Source-IP. */
    arf(text, sizeof(text), "Feedback-Type: abuse\nSource-IP: 2a01:4f8:1c17:abcd::1", orig);
    assert_int_equal(parse_text(text, &m, why, sizeof(why)), 0);
    assert_string_equal(source_ip(&m), "2a01:4f8:1c17:abcd::1");
    report_msg_free(&m);
}

static void expect_refused(const char *text, size_t len, const char *why_part)
{
    if (len == SIZE_MAX)
        len = strlen(text);
    struct report_msg m;
    memset(&m, 0x5a, sizeof(m));
    char why[128] = "unset";
    int rc = report_msg_parse(text, len, 0, &m, why, sizeof(why));
    if (rc != ERR_INVAL)
        fail_msg("rc %d, want ERR_INVAL", rc);
    if (!strstr(why, why_part))
        fail_msg("reason \"%s\" lacks \"%s\"", why, why_part);
    /* Nothing to free afterwards, and freeing is still safe. */
    assert_null(m.received);
    assert_int_equal(m.nreceived, 0);
    report_msg_free(&m);
}

static void test_refused(void **state)
{
    (void)state;
    expect_refused("", 0, "not a mail message");
    expect_refused(NULL, 0, "not a mail message");
    expect_refused("\n\nbody only\n", 12, "not a mail message");
    expect_refused("hello world, no header here\n", 28, "not a mail message");
    expect_refused("\x00\x01\x02\x03", 4, "not a mail message");

    char text[2048];
    /* The third part missing. */
    arf(text, sizeof(text), "Feedback-Type: abuse\nSource-IP: 45.83.12.7", "");
    expect_refused(text, SIZE_MAX, "ARF report without the reported message");
    /* Present but empty. */
    arf(text, sizeof(text), "Feedback-Type: abuse", "--b\nContent-Type: message/rfc822\n\n\n");
    expect_refused(text, SIZE_MAX, "ARF report without the reported message");
    arf(text, sizeof(text), "Feedback-Type: abuse",
        "--b\nContent-Type: text/rfc822-headers\n\nno headers in here\n\n");
    expect_refused(text, SIZE_MAX, "ARF report without the reported message");
    /* No feedback part at all. */
    expect_refused("Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
                   "--b\nContent-Type: message/rfc822\n\nSubject: x\n\ny\n--b--\n",
                   SIZE_MAX, "message/feedback-report");
    /* Not even a multipart. */
    expect_refused("Content-Type: multipart/report; report-type=feedback-report\n\nno parts\n",
                   SIZE_MAX, "ARF report without");

    /* A NULL or zero-sized why is allowed. */
    struct report_msg m;
    assert_int_equal(report_msg_parse("", 0, 0, &m, NULL, 0), ERR_INVAL);
    char one[1] = {'x'};
    assert_int_equal(report_msg_parse("", 0, 0, &m, one, 0), ERR_INVAL);
    assert_int_equal(one[0], 'x');
}

static uint32_t rng = 2463534242u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Every prefix and many corrupted copies of each corpus file parse or are
 * refused, and never crash (run under ASan too). */
static void test_no_crash_on_damage(void **state)
{
    (void)state;
    static const char *const files[] = {
        "arf-abuse.eml",    "arf-headers-only.eml", "arf-ipv6.eml",  "bounce.eml",
        "trap-postfix.eml", "trap-exim.eml",        "autoreply.eml", "user-forwarded.eml",
    };
    size_t runs = 0;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len;
        char *orig = slurp(files[f], &len);
        char *copy = malloc(len);
        assert_non_null(copy);
        for (size_t cut = 0; cut <= len; cut += 1 + cut / 16) {
            memcpy(copy, orig, cut);
            struct report_msg m;
            int rc = report_msg_parse(copy, cut, 0, &m, NULL, 0);
            assert_true(rc == 0 || rc == ERR_INVAL);
            report_msg_free(&m);
            runs++;
        }
        static const char noise[] = "\0\r\n:;<>[]()\"=-\x80\xff ";
        for (int round = 0; round < 200; round++) {
            memcpy(copy, orig, len);
            for (int k = 0; k < 1 + round % 8; k++)
                copy[next() % len] = noise[next() % (sizeof(noise) - 1)];
            struct report_msg m;
            int rc = report_msg_parse(copy, len, 0, &m, NULL, 0);
            assert_true(rc == 0 || rc == ERR_INVAL);
            for (size_t i = 0; rc == 0 && i < m.nreceived; i++)
                assert_null(strpbrk(m.received[i], "\r\n"));
            report_msg_free(&m);
            runs++;
        }
        free(copy);
        free(orig);
    }
    assert_true(runs > 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trap_postfix),
        cmocka_unit_test(test_trap_exim_crlf),
        cmocka_unit_test(test_forged_chain_hash),
        cmocka_unit_test(test_user_forwarded),
        cmocka_unit_test(test_user_attached),
        cmocka_unit_test(test_arf_abuse),
        cmocka_unit_test(test_arf_headers_only),
        cmocka_unit_test(test_arf_ipv6),
        cmocka_unit_test(test_bounce_and_autoreply_files),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_arf_fields),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_no_crash_on_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
