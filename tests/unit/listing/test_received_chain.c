/* Unit tests for the Received: walk: each MTA's header format, forged
 * HELO literals and forged chains, folding, trusted-relay parsing, and
 * the corpus in tests/data/reports read with its folding left in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "listing/received_chain.h"

#define TRUSTED "192.0.2.0/24 2001:db8::/32"

/* The address as text, "-" when rchain_hop_ip finds none. */
static const char *hop(const char *value)
{
    static char text[INET6_ADDRSTRLEN];
    int family = 0;
    uint8_t addr[16];
    memset(addr, 0xee, sizeof(addr));
    int rc = rchain_hop_ip(value, &family, addr);
    if (rc == ERR_NOTFOUND)
        return "-";
    assert_int_equal(rc, 0);
    if (family == 4) {
        for (int i = 4; i < 16; i++)
            assert_int_equal(addr[i], 0); /* the rest is cleared */
        inet_ntop(AF_INET, addr, text, sizeof(text));
    } else {
        assert_int_equal(family, 6);
        inet_ntop(AF_INET6, addr, text, sizeof(text));
    }
    return text;
}

static void test_postfix(void **state)
{
    (void)state;
    assert_string_equal(hop("from promo.example (static.7.12.83.45.example [45.83.12.7]) by "
                            "mx1.dnsblkit.test (Postfix) with ESMTP id 4TqK1m2Xy9z9sRk for "
                            "<t@dnsblkit.test>; Tue, 12 Mar 2024 09:14:27 +0000 (UTC)"),
                        "45.83.12.7");
    assert_string_equal(hop("from helo.example (unknown [185.220.101.33]) by mx1.dnsblkit.test "
                            "(Postfix) with ESMTP id 1"),
                        "185.220.101.33");
    assert_string_equal(hop("from h.example (h.example [IPv6:2a01:4f8:1c17:abcd::1]) by mx1 "
                            "(Postfix) with ESMTPS id 2"),
                        "2a01:4f8:1c17:abcd::1");
    /* TLS details and an authenticated sender after the address. */
    assert_string_equal(hop("from out.example (out.example [91.200.12.44]) (using TLSv1.3 with "
                            "cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
                            "server-signature RSA-PSS (2048 bits)) (No client certificate "
                            "requested) (Authenticated sender: bob) by mx1 (Postfix) id 3"),
                        "91.200.12.44");
}

static void test_sendmail(void **state)
{
    (void)state;
    assert_string_equal(hop("from relay.example (relay.example [91.200.12.44] (may be forged)) "
                            "by mail.example (8.15.2/8.15.2) with ESMTP id 42E32lX1019123 for "
                            "<x@example>; Thu, 14 Mar 2024 03:02:47 GMT"),
                        "91.200.12.44");
    assert_string_equal(hop("from host.example (IDENT:root@host.example [91.200.12.45]) by "
                            "mail.example (8.14.4/8.14.4) with ESMTP id q1"),
                        "91.200.12.45");
    assert_string_equal(hop("from host (host [IPv6:2a02:c207:2034:5678::1]) by mail.example "
                            "(8.17.1/8.17.1) id q2"),
                        "2a02:c207:2034:5678::1");
}

static void test_exim(void **state)
{
    (void)state;
    /* No reverse name: Exim writes the address where the name goes. */
    assert_string_equal(hop("from [91.200.12.44] (helo=bulk.example) by mx2.dnsblkit.test with "
                            "esmtp (Exim 4.96) (envelope-from <a@b>) id 1rkXyY-0007Qr-1N"),
                        "91.200.12.44");
    /* ... and a HELO literal in the comment is not the peer. */
    assert_string_equal(hop("from [91.200.12.44] (helo=[5.6.7.8]) by mx2 with esmtp"),
                        "91.200.12.44");
    assert_string_equal(hop("from mail.example ([185.220.101.33] helo=mail.example) by mx with "
                            "esmtp (Exim 4.97)"),
                        "185.220.101.33");
    assert_string_equal(hop("from mail.example ([185.220.101.33]:51234 helo=mail.example) by "
                            "mx with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96)"),
                        "185.220.101.33");
    assert_string_equal(hop("from mail.example ([2a01:4f8:1c17:abcd::1]:40022 helo=x) by mx"),
                        "2a01:4f8:1c17:abcd::1");
    assert_string_equal(hop("from [2a01:4f8:1c17:abcd::1] (helo=x) by mx"),
                        "2a01:4f8:1c17:abcd::1");
    /* A HELO literal and nothing else: the peer is not recorded. */
    assert_string_equal(hop("from x (helo=[45.83.12.7]) by mx"), "-");
}

static void test_qmail(void **state)
{
    (void)state;
    assert_string_equal(hop("from unknown (HELO mail.example) (80.94.95.181) by mail.isp.example "
                            "with SMTP; 12 Mar 2024 09:14:27 -0000"),
                        "80.94.95.181");
    /* The HELO comment holds a forged literal; the peer comes after. */
    assert_string_equal(hop("from unknown (HELO 5.6.7.8) (80.94.95.181) by mx with SMTP"),
                        "80.94.95.181");
    assert_string_equal(hop("from unknown (HELO [5.6.7.8]) (80.94.95.181) by mx with SMTP"),
                        "80.94.95.181");
    assert_string_equal(hop("(qmail 12345 invoked from network); 12 Mar 2024 09:14:27 -0000"), "-");
    assert_string_equal(hop("(qmail 12345 invoked by uid 1000); 12 Mar 2024 09:14:27 -0000"), "-");
}

static void test_gmail_and_exchange(void **state)
{
    (void)state;
    assert_string_equal(hop("from mail-sor-f41.google.com (mail-sor-f41.google.com. "
                            "[209.85.220.41]) by mx.google.com with SMTPS id "
                            "a640c23a62f3a-a46...; Tue, 12 Mar 2024 02:14:27 -0700 (PDT)"),
                        "209.85.220.41");
    assert_string_equal(hop("from [192.168.1.20] ([85.214.132.117]) by smtp.gmail.com with "
                            "ESMTPSA id x12"),
                        "85.214.132.117");
    assert_string_equal(hop("from AM6PR04MB1234.eurprd04.prod.outlook.com (2603:10a6:20b:e2::14) "
                            "by AM0PR04MB5678.eurprd04.prod.outlook.com (2603:10a6:208:11d::19) "
                            "with Microsoft SMTP Server (version=TLS1_2, "
                            "cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7409.20; Tue, "
                            "12 Mar 2024 09:14:27 +0000"),
                        "2603:10a6:20b:e2::14");
    assert_string_equal(hop("from EX01.corp.example (10.20.30.40) by EX02.corp.example "
                            "(10.20.30.41) with Microsoft SMTP Server id 15.1.2507.35"),
                        "10.20.30.40");
    assert_string_equal(hop("from EUR04-DB3-obe.outbound.protection.outlook.com "
                            "(mail-db3eur04on2099.outbound.protection.outlook.com [40.107.6.99]) "
                            "by mx1.dnsblkit.test (Postfix) with ESMTPS id 9"),
                        "40.107.6.99");
}

static void test_no_from_part(void **state)
{
    (void)state;
    assert_string_equal(hop("by mx2.dnsblkit.test (Postfix, from userid 1000) id 5E6F7A8B9C; "
                            "Sat, 23 Mar 2024 00:00:01 +0000 (UTC)"),
                        "-");
    assert_string_equal(hop("BY mx2 (Postfix, from userid 0) id 1"), "-");
    assert_string_equal(hop("by"), "-");
    assert_string_equal(hop(""), "-");
    assert_string_equal(hop(" \r\n\t "), "-");
    assert_string_equal(hop(NULL), "-");
    /* An address in the receiver's part is not the sender's. */
    assert_string_equal(hop("from mailer.example by mx (mx [9.9.9.9]) with SMTP"), "-");
    assert_string_equal(hop("from mailer.example by mx (9.9.9.9) with SMTP"), "-");
}

static void test_forged_helo(void **state)
{
    (void)state;
    /* The HELO literal is the client's word; the comment is ours. */
    assert_string_equal(hop("from [1.2.3.4] (unknown [203.0.113.9]) by mx1 (Postfix)"),
                        "203.0.113.9");
    assert_string_equal(hop("from [IPv6:2001:db8::1] (unknown [45.83.12.7]) by mx1"), "45.83.12.7");
    assert_string_equal(hop("from [1.2.3.4] (unknown [IPv6:2a01:4f8:1c17:abcd::1]) by mx1"),
                        "2a01:4f8:1c17:abcd::1");
}

static void test_folding(void **state)
{
    (void)state;
    assert_string_equal(hop("from promo.example\r\n\t(static.example\r\n [45.83.12.7])\r\n\tby "
                            "mx1.dnsblkit.test (Postfix)"),
                        "45.83.12.7");
    /* " by " found across a fold and in any case. */
    assert_string_equal(hop("from mailer.example\n\tBY mx (mx [9.9.9.9])"), "-");
    assert_string_equal(hop("from mailer.example\r\n\tBy\r\n mx (9.9.9.9)"), "-");
    assert_string_equal(hop("  \r\n from   h   (h   [91.200.12.44])  \t by mx"), "91.200.12.44");
    /* Courier records an IPv4 peer as IPv4-mapped IPv6. */
    assert_string_equal(hop("from h (h [::ffff:45.83.12.7]) by courier.example with ESMTP"),
                        "45.83.12.7");
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *const junk[] = {
        "[[[[",
        "((((",
        "))))",
        "from [",
        "from (",
        "from [999.1.1.1] (unknown [1.2.3]) by mx",
        "from [IPv6:zz::zz] (x [IPv6:]) by mx",
        "from [] () by mx",
        "from x (1.2.3.4 helo=y) by mx",
        "from x (fe80::1%eth0) by mx",
        "from [1.2.3.4.5] by mx",
        "from x ([1.2.3.4) by mx",
        "from x (unknown [0000000000000000000000000000000000000000000000000000000000000001.2.3.4])",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        if (strcmp(hop(junk[i]), "-") != 0)
            fail_msg("\"%s\" gave %s", junk[i], hop(junk[i]));
    /* Unbalanced brackets do not hide a later comment. */
    assert_string_equal(hop("from [foo (h [45.83.12.7]) by mx"), "45.83.12.7");
    assert_string_equal(hop("from x ( (80.94.95.181) by mx"), "80.94.95.181");

    /* Longer than the scan window: no " by " within it, no crash. */
    size_t n = 10000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, '(', n);
    big[n] = '\0';
    assert_string_equal(hop(big), "-");
    memcpy(big, "from x (x [45.83.12.7]) ", 24);
    memset(big + 24, 'a', n - 24);
    assert_string_equal(hop(big), "45.83.12.7");
    free(big);
}

static void test_trusted_parse(void **state)
{
    (void)state;
    struct rchain_trusted t;
    const char *bad = "unset";
    assert_int_equal(rchain_trusted_parse(TRUSTED, &t, &bad), 0);
    assert_null(bad);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.net[0].family, 4);
    assert_int_equal(t.net[0].bits, 24);
    const uint8_t n0[4] = {192, 0, 2, 0};
    assert_memory_equal(t.net[0].addr, n0, 4);
    assert_int_equal(t.net[1].family, 6);
    assert_int_equal(t.net[1].bits, 32);
    const uint8_t n1[16] = {0x20, 0x01, 0x0d, 0xb8};
    assert_memory_equal(t.net[1].addr, n1, 16);

    const char *text = " 192.0.2.0/24,198.51.100.7 ,\t2001:db8::1\n0.0.0.0/0 ";
    assert_int_equal(rchain_trusted_parse(text, &t, &bad), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.net[1].bits, 32);
    assert_int_equal(t.net[2].bits, 128);
    assert_int_equal(t.net[3].bits, 0);

    assert_int_equal(rchain_trusted_parse("", &t, &bad), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(rchain_trusted_parse(" , ", &t, NULL), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(rchain_trusted_parse(NULL, &t, &bad), 0);
    assert_int_equal(t.n, 0);
}

static void test_trusted_errors(void **state)
{
    (void)state;
    static const char *const bad_tokens[] = {
        "bogus",          "192.0.2.10/24", /* host bits: likely a typo */
        "192.0.2.0/33",   "192.0.2.0/",     "192.0.2.0/x",       "192.0.2.0/-1",
        "2001:db8::/129", "2001:db8::1/32", "::ffff:192.0.2.1",  "IPv6:2001:db8::1",
        "[192.0.2.1]",    "192.0.2.0/0024", "mx1.dnsblkit.test",
    };
    for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "192.0.2.0/24 %s 2001:db8::/32", bad_tokens[i]);
        struct rchain_trusted t;
        const char *bad = NULL;
        if (rchain_trusted_parse(text, &t, &bad) != ERR_INVAL)
            fail_msg("accepted \"%s\"", bad_tokens[i]);
        assert_ptr_equal(bad, text + 13);
    }
    /* One block past the limit. */
    char many[64 * 16 + 32] = "";
    for (int i = 0; i < RCHAIN_MAX_TRUSTED; i++) {
        char tok[20];
        snprintf(tok, sizeof(tok), "10.0.%d.0/24 ", i);
        strcat(many, tok);
    }
    struct rchain_trusted t;
    const char *bad = NULL;
    assert_int_equal(rchain_trusted_parse(many, &t, &bad), 0);
    assert_int_equal(t.n, RCHAIN_MAX_TRUSTED);
    size_t at = strlen(many);
    strcat(many, "10.1.0.0/16");
    assert_int_equal(rchain_trusted_parse(many, &t, &bad), ERR_LIMIT);
    assert_ptr_equal(bad, many + at);
}

struct want {
    int rc;
    const char *ip;  /* source, when rc == 0 */
    unsigned hop;    /* its header */
    const char *why; /* part of the reason, when rc < 0 */
};

static void check_chain(const char *const *values, size_t n, struct want w)
{
    struct rchain_trusted t;
    assert_int_equal(rchain_trusted_parse(TRUSTED, &t, NULL), 0);
    struct rchain_source src;
    char why[160];
    int rc = rchain_source(values, n, &t, &src, why, sizeof(why));
    if (rc != w.rc)
        fail_msg("rc %d, want %d (%s)", rc, w.rc, why);
    if (rc == 0) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(src.family == 4 ? AF_INET : AF_INET6, src.addr, text, sizeof(text));
        assert_string_equal(text, w.ip);
        assert_int_equal(src.hop, w.hop);
        assert_string_equal(why, "");
    } else {
        if (!strstr(why, w.why))
            fail_msg("reason \"%s\" lacks \"%s\"", why, w.why);
        assert_null(strchr(why, '\n'));
    }
}

static void test_source_walk(void **state)
{
    (void)state;
    const char *direct[] = {
        "from spam.example (unknown [45.83.12.7]) by mx1.dnsblkit.test (Postfix)",
    };
    check_chain(direct, 1, (struct want){0, "45.83.12.7", 0, NULL});

    /* Through mx2 (trusted), over IPv6 between our relays. */
    const char *via_mx2[] = {
        "from mx2.dnsblkit.test (mx2.dnsblkit.test [IPv6:2001:db8::11]) by mx1.dnsblkit.test",
        "from x.example (x.example [IPv6:2a01:4f8:1c17:abcd::1]) by mx2.dnsblkit.test",
        "from fake.example (fake.example [8.8.8.8]) by x.example",
    };
    check_chain(via_mx2, 3, (struct want){0, "2a01:4f8:1c17:abcd::1", 1, NULL});

    /* A content filter on loopback between our own hops. */
    const char *filter[] = {
        "from localhost (localhost [127.0.0.1]) by mx1.dnsblkit.test (Postfix)",
        "from mx1.dnsblkit.test ([127.0.0.1]) by localhost (amavisd-new, port 10024)",
        "from localhost (localhost [IPv6:::1]) by mx1.dnsblkit.test (Postfix)",
        "from spam.example (unknown [91.200.12.44]) by mx1.dnsblkit.test (Postfix)",
    };
    check_chain(filter, 4, (struct want){0, "91.200.12.44", 3, NULL});

    /* qmail's stamp above its own SMTP header is skipped. */
    const char *qmail[] = {
        "(qmail 4711 invoked from network); 12 Mar 2024 09:14:27 -0000",
        "from unknown (HELO [192.0.2.11]) (80.94.95.181) by mx1.dnsblkit.test with SMTP",
    };
    check_chain(qmail, 2, (struct want){0, "80.94.95.181", 1, NULL});
}

static void test_source_forged(void **state)
{
    (void)state;
    /* Below the real source, the spammer wrote a chain through our own
     * relays: the walk stops at the first untrusted hop. */
    const char *forged[] = {
        "from mail.bank.example (unknown [103.152.79.20]) by mx1.dnsblkit.test (Postfix)",
        "from mx2.dnsblkit.test (mx2.dnsblkit.test [192.0.2.11]) by relay.bank.example",
        "from innocent.example (innocent.example [171.161.100.100]) by mx2.dnsblkit.test",
    };
    check_chain(forged, 3, (struct want){0, "103.152.79.20", 0, NULL});

    /* The source forged a HELO of our mx2's address. */
    const char *helo[] = {
        "from [192.0.2.11] (unknown [185.220.101.33]) by mx1.dnsblkit.test (Postfix)",
        "from x (x [45.83.12.7]) by mx2.dnsblkit.test",
    };
    check_chain(helo, 2, (struct want){0, "185.220.101.33", 0, NULL});
}

static void test_source_errors(void **state)
{
    (void)state;
    check_chain(NULL, 0, (struct want){ERR_INVAL, NULL, 0, "no Received: headers"});

    const char *broken_top[] = {"from somewhere.example by mx1.dnsblkit.test with SMTP id 1"};
    check_chain(broken_top, 1, (struct want){ERR_INVAL, NULL, 0, "Received header 1 "});

    const char *broken[] = {
        "from mx2.dnsblkit.test (mx2.dnsblkit.test [192.0.2.11]) by mx1.dnsblkit.test",
        "from mailer.example by mx2.dnsblkit.test with SMTP id x7",
        "from spam.example (unknown [45.83.12.7]) by mailer.example",
    };
    check_chain(broken, 3,
                (struct want){ERR_INVAL, NULL, 0,
                              "Received header 2 (from the top) names no "
                              "sending address"});

    const char *internal[] = {
        "from mx2.dnsblkit.test (mx2.dnsblkit.test [192.0.2.11]) by mx1.dnsblkit.test",
        "from mx1.dnsblkit.test (mx1.dnsblkit.test [192.0.2.10]) by mx2.dnsblkit.test",
    };
    check_chain(internal, 2,
                (struct want){ERR_NOTFOUND, NULL, 0, "no hop from outside the trusted relays"});

    /* Submitted on mx2 itself: whatever lies below was never relayed. */
    const char *local[] = {
        "from mx2.dnsblkit.test (mx2.dnsblkit.test [192.0.2.11]) by mx1.dnsblkit.test",
        "by mx2.dnsblkit.test (Postfix, from userid 1000) id 5E6F7A8B9C",
        "from forged.example (forged.example [45.83.12.7]) by mx2.dnsblkit.test",
    };
    check_chain(local, 3, (struct want){ERR_NOTFOUND, NULL, 0, "local submission"});

    /* A reason buffer of any size, or none. */
    struct rchain_trusted t;
    assert_int_equal(rchain_trusted_parse(TRUSTED, &t, NULL), 0);
    struct rchain_source src;
    char tiny[8];
    assert_int_equal(rchain_source(broken, 3, &t, &src, tiny, sizeof(tiny)), ERR_INVAL);
    assert_string_equal(tiny, "Receive");
    assert_int_equal(rchain_source(broken, 3, &t, &src, NULL, 0), ERR_INVAL);
    assert_int_equal(rchain_source(internal, 2, &t, &src, tiny, 0), ERR_NOTFOUND);
    /* No trusted relays at all: the first hop is the source. */
    assert_int_equal(rchain_source(internal, 2, NULL, &src, NULL, 0), 0);
    assert_int_equal(src.hop, 0);
    assert_int_equal(src.family, 4);
}

/* The Received: fields of a corpus file, folding (and CRLF) left in. */
static size_t corpus_received(const char *name, char ***values)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/data/reports/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the project root)", path);
    char line[4096];
    size_t n = 0;
    char **v = NULL;
    bool in = false;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '\n' || (line[0] == '\r' && line[1] == '\n'))
            break;
        if ((line[0] == ' ' || line[0] == '\t') && in) {
            size_t old = strlen(v[n - 1]);
            v[n - 1] = realloc(v[n - 1], old + strlen(line) + 1);
            assert_non_null(v[n - 1]);
            strcpy(v[n - 1] + old, line);
            continue;
        }
        in = strncasecmp(line, "Received:", 9) == 0;
        if (in) {
            v = realloc(v, (n + 1) * sizeof(*v));
            assert_non_null(v);
            v[n] = strdup(line + 9);
            assert_non_null(v[n]);
            n++;
        }
    }
    fclose(f);
    *values = v;
    return n;
}

static void check_corpus(const char *name, struct want w)
{
    char **v;
    size_t n = corpus_received(name, &v);
    check_chain((const char *const *)v, n, w);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void test_corpus(void **state)
{
    (void)state;
    check_corpus("trap-postfix.eml", (struct want){0, "45.83.12.7", 0, NULL});
    check_corpus("trap-exim.eml", (struct want){0, "91.200.12.44", 1, NULL});
    check_corpus("trap-forged-chain.eml", (struct want){0, "103.152.79.20", 0, NULL});
    check_corpus("user-forwarded.eml", (struct want){0, "2a02:c207:2034:5678::1", 2, NULL});
    check_corpus("bounce.eml", (struct want){0, "46.4.113.25", 0, NULL});
    check_corpus("autoreply.eml", (struct want){0, "82.165.159.12", 0, NULL});
    check_corpus("private-source.eml", (struct want){0, "192.168.1.5", 0, NULL});
    check_corpus("broken-chain.eml", (struct want){ERR_INVAL, NULL, 0, "Received header 2 "});
    check_corpus("internal.eml", (struct want){ERR_NOTFOUND, NULL, 0, "local submission"});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postfix),
        cmocka_unit_test(test_sendmail),
        cmocka_unit_test(test_exim),
        cmocka_unit_test(test_qmail),
        cmocka_unit_test(test_gmail_and_exchange),
        cmocka_unit_test(test_no_from_part),
        cmocka_unit_test(test_forged_helo),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_trusted_parse),
        cmocka_unit_test(test_trusted_errors),
        cmocka_unit_test(test_source_walk),
        cmocka_unit_test(test_source_forged),
        cmocka_unit_test(test_source_errors),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
