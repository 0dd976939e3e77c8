/* Tests for the TSIG module: keys, finding the record, and signing and
 * verifying against messages dnspython signed (interoperability), then
 * every way a signature can fail.
 *
 * The vectors were generated once with Debian 12's dnspython 2.3.0
 * (/usr/bin/python3), the clock fixed with unittest.mock at
 * T = 1790000000 (2026-09-21T14:13:20Z), key "tsig-key." (and
 * "key.bl.example." for the compressed owner) with secret
 * base64 "ZG5zYmxraXQgdHNpZyB0ZXN0IHNlY3JldCAwMTIzNDU2Nzg5YWJjZGVm":
 *
 *   at = lambda t: mock.patch("time.time", return_value=t)
 *   q = dns.message.make_query("bl.example.", "SOA", id=0x1000 + i)
 *   q.use_tsig(keyring, "tsig-key.", fudge=300, algorithm=ALG[i])
 *   with at(T): req = q.to_wire()
 *   r = dns.message.make_response(q)
 *   r.answer.append(dns.rrset.from_text("bl.example.", 3600, "IN", "SOA",
 *       "ns.bl.example. hostmaster.bl.example. 1 3600 600 86400 300"))
 *   with at(T + 1): resp = r.to_wire()
 *
 * The AXFR stream: make_query("bl.example.", "AXFR", id=0x2000) signed
 * at T; three answers built with make_response (the second and third
 * without the question), signed at T+1, T+2, T+3 with
 * r1.to_wire(multi=True), r2.to_wire(multi=True, tsig_ctx=r1.tsig_ctx),
 * r3.to_wire(multi=True, tsig_ctx=r2.tsig_ctx), and checked with
 * dns.message.from_wire(..., multi=True, tsig_ctx=...). The BADTIME
 * reply: make_response of the hmac-sha256 request, set_rcode(NOTAUTH),
 * use_tsig(..., tsig_error=BADTIME, other_data=48-bit T+1000), signed
 * with the clock at T (the request's time, which the reply echoes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "wire/tsig.h"
#include "wire/wire.h"
#include "wiretest.h"

#define T 1790000000
#define SECRET "ZG5zYmxraXQgdHNpZyB0ZXN0IHNlY3JldCAwMTIzNDU2Nzg5YWJjZGVm"
#define SECRET_TEXT "dnsblkit tsig test secret 0123456789abcdef"

/* SOA queries for bl.example., ids 0x1000..0x1004, signed at T. */
static const char *const req_hex[5] = {
    /* hmac-sha1 */
    "10000100000100000000000102626c076578616d706c65000006000108747369672d6b65790000fa00ff0000000000"
    "2f09686d61632d736861310000006ab13b80012c0014a708f55420ad9b250aa34684806a24fbece970e31000000000"
    "00",
    /* hmac-sha224 */
    "10010100000100000000000102626c076578616d706c65000006000108747369672d6b65790000fa00ff0000000000"
    "390b686d61632d7368613232340000006ab13b80012c001c84073c201616c3d4ea6389c6bd24c6d7db83845440a975"
    "e494fffd09100100000000",
    /* hmac-sha256 */
    "10020100000100000000000102626c076578616d706c65000006000108747369672d6b65790000fa00ff0000000000"
    "3d0b686d61632d7368613235360000006ab13b80012c002058df3b8f6435dc24fe191221f3886216e3e0ef207c066e"
    "8a56f6a568fe29f1b6100200000000",
    /* hmac-sha384 */
    "10030100000100000000000102626c076578616d706c65000006000108747369672d6b65790000fa00ff0000000000"
    "4d0b686d61632d7368613338340000006ab13b80012c0030b612989b8ea89844d1f7a1f83fcd756a85240bd6ba1b34"
    "b6e9383d476031ee6ac883ceb2ce20b16bcae8e6ade3e41747100300000000",
    /* hmac-sha512 */
    "10040100000100000000000102626c076578616d706c65000006000108747369672d6b65790000fa00ff0000000000"
    "5d0b686d61632d7368613531320000006ab13b80012c004012154ecf877c212c428f97f6c495311c0cb8b548addb3c"
    "1cf3ab628e1ca6781e5893805af1b81bf0cb3d3d73f5d54599fee68114f6ed52c58c9d2692f0fac07610040000000"
    "0",
};

/* Their answers (one SOA record), signed at T+1. */
static const char *const resp_hex[5] = {
    "10008100000100010000000102626c076578616d706c650000060001c00c0006000100000e100026026e73c00c0a68"
    "6f73746d6173746572c00c0000000100000e1000000258000151800000012c08747369672d6b65790000fa00ff0000"
    "0000002f09686d61632d736861310000006ab13b81012c0014ac3061759e11aac8a2b03d1830f671cbe3c10f9c1000"
    "00000000",
    "10018100000100010000000102626c076578616d706c650000060001c00c0006000100000e100026026e73c00c0a68"
    "6f73746d6173746572c00c0000000100000e1000000258000151800000012c08747369672d6b65790000fa00ff0000"
    "000000390b686d61632d7368613232340000006ab13b81012c001cff1ac4abc45fcfb50a97681bf34db0897103f86e"
    "322a5e8ab9a699e9100100000000",
    "10028100000100010000000102626c076578616d706c650000060001c00c0006000100000e100026026e73c00c0a68"
    "6f73746d6173746572c00c0000000100000e1000000258000151800000012c08747369672d6b65790000fa00ff0000"
    "0000003d0b686d61632d7368613235360000006ab13b81012c0020e356b0641cd7f0ed8330dd2ab2849758abad56bc"
    "62ca68e8a742ab6efbfc90dd100200000000",
    "10038100000100010000000102626c076578616d706c650000060001c00c0006000100000e100026026e73c00c0a68"
    "6f73746d6173746572c00c0000000100000e1000000258000151800000012c08747369672d6b65790000fa00ff0000"
    "0000004d0b686d61632d7368613338340000006ab13b81012c003013afd9d1fdbe2f0cc6f05cb40453ae5171f9727b"
    "19bc23c55d3cf5303e22c9cb929e5412273dda56fb5c36b02adaa293100300000000",
    "10048100000100010000000102626c076578616d706c650000060001c00c0006000100000e100026026e73c00c0a68"
    "6f73746d6173746572c00c0000000100000e1000000258000151800000012c08747369672d6b65790000fa00ff0000"
    "0000005d0b686d61632d7368613531320000006ab13b81012c004054ecc21c85ad195446a36a961b082e201f15871a"
    "0bb4293d73f5e859f629e295844592e7813e56c7e815ab90e106efa4a0b8bbda403e3c43bcdacee31827e1bd100400"
    "000000",
};

static const char *const alg_text[5] = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384",
                                        "hmac-sha512"};
static const size_t mac_size[5] = {20, 28, 32, 48, 64};
#define REQ_UNSIGNED 28  /* header, bl.example./SOA/IN */
#define RESP_UNSIGNED 78 /* and the SOA record */

/* A query for 2.0.0.127.bl.example./A with EDNS, key "key.bl.example."
 * (hmac-sha256), whose owner name dnspython compressed against the
 * question; signed at T. */
static const char req_compressed_edns[] =
    "3000010000010000000000020132013001300331323702626c076578616d706c65000001000100002904d000000000"
    "0000036b6579c01600fa00ff00000000003d0b686d61632d7368613235360000006ab13b80012c0020748c62757a3e"
    "aca82f9dc8d7cd43eade151f915c743cd9b651d2b9d4ca7cef04300000000000";

/* AXFR of bl.example. (hmac-sha256): the request at T, three answers at
 * T+1..T+3, each 81 bytes of TSIG after the message. */
static const char axfr_req[] =
    "20000100000100000000000102626c076578616d706c650000fc000108747369672d6b65790000fa00ff0000000000"
    "3d0b686d61632d7368613235360000006ab13b80012c0020f5f81affe58938edd67404dbc5045680850de7cb22a9a3"
    "e798f8335f887000a9200000000000";
static const char *const axfr_hex[3] = {
    "20008100000100020000000102626c076578616d706c650000fc0001c00c0006000100000e100026026e73c00c0a68"
    "6f73746d6173746572c00c0000000700000e1000000258000151800000012c01320130013003313237c00c00010001"
    "00000e1000047f00000208747369672d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006ab1"
    "3b81012c0020644c055e0501c971a1c8313b046f8258b5d56388cdec86fb53e37d573912149a200000000000",
    "2000810000000001000000010132013001300331323702626c076578616d706c65000010000100000e100011106c69"
    "7374656420666f7220746573747308747369672d6b65790000fa00ff00000000003d0b686d61632d73686132353600"
    "00006ab13b82012c00206e532912da676e9cb58cdc902de9cb1aabb2a36ad03ac03a43027502cdaecaaa2000000000"
    "00",
    "20008100000000010000000102626c076578616d706c65000006000100000e100026026e73c00c0a686f73746d6173"
    "746572c00c0000000700000e1000000258000151800000012c08747369672d6b65790000fa00ff00000000003d0b68"
    "6d61632d7368613235360000006ab13b83012c002055900296c14a8c399a88f03d118295692cb5273153a6e24b0bee"
    "beeeafb9b17f200000000000",
};
#define TSIG_RR_SHA256 81 /* owner 10, fixed 10, algorithm 13, 16, MAC 32 */

/* NOTAUTH/BADTIME answer to req_hex[2] from a server whose clock says
 * T+1000: signed, Time Signed T, Other Data T+1000. */
static const char badtime_reply[] =
    "10028109000100000000000102626c076578616d706c65000006000108747369672d6b65790000fa00ff0000000000"
    "430b686d61632d7368613235360000006ab13b80012c002070b12d14bf70d9f7c903db12adbbba2186262cfe87a9ce"
    "a63759d1706d4bdf6f10020012000600006ab13f68";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static struct tsig_key key_for(const char *spec)
{
    struct tsig_key k;
    char why[128] = "";
    int rc = tsig_key_parse(spec, &k, why, sizeof(why));
    if (rc != 0)
        fail_msg("%s: %s", spec, why);
    return k;
}

static struct tsig_key alg_key(unsigned i)
{
    char spec[128];
    snprintf(spec, sizeof(spec), "%s:tsig-key:%s", alg_text[i], SECRET);
    return key_for(spec);
}

/* ---- keys ---- */

static void test_key_parse(void **state)
{
    (void)state;
    struct tsig_key k = key_for("Tsig-Key.Example.:" SECRET);
    assert_int_equal(k.alg, TSIG_HMAC_SHA256); /* the default */
    assert_int_equal(k.name_len, 18);
    assert_memory_equal(k.name, "\010tsig-key\007example", 18);
    assert_string_equal(k.text, "tsig-key.example");
    assert_int_equal(k.secret_len, strlen(SECRET_TEXT));
    assert_memory_equal(k.secret, SECRET_TEXT, strlen(SECRET_TEXT));

    k = key_for("HMAC-SHA512.:xfr:YWJj");
    assert_int_equal(k.alg, TSIG_HMAC_SHA512);
    assert_int_equal(k.secret_len, 3);
    assert_memory_equal(k.secret, "abc", 3);
    assert_memory_equal(k.name, "\003xfr", 5);

    for (unsigned i = 0; i < 5; i++) {
        k = alg_key(i);
        assert_int_equal(k.alg, (enum tsig_alg)i);
        assert_string_equal(tsig_alg_text(k.alg), alg_text[i]);
        enum tsig_alg a;
        assert_int_equal(tsig_alg_from_text(alg_text[i], &a), 0);
        assert_int_equal(a, (enum tsig_alg)i);
    }
    enum tsig_alg a = TSIG_HMAC_SHA1;
    assert_int_equal(tsig_alg_from_text("hmac-md5.sig-alg.reg.int", &a), ERR_NOTFOUND);
    assert_int_equal(tsig_alg_from_text("hmac-sha2", &a), ERR_NOTFOUND);
    assert_int_equal(tsig_alg_from_text("", &a), ERR_NOTFOUND);
    assert_int_equal(a, TSIG_HMAC_SHA1); /* untouched */
}

static void test_key_base64(void **state)
{
    (void)state;
    static const struct {
        const char *b64, *bytes;
        size_t n;
    } good[] = {
        {"YQ==", "a", 1},        {"YWI=", "ab", 2},           {"YWJj", "abc", 3},
        {"YWJjZA==", "abcd", 4}, {"+/+/", "\xfb\xff\xbf", 3}, {"AAAA", "\0\0\0", 3},
        {"YR==", "a", 1}, /* unused bits set: ignored, as BIND does */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char spec[64];
        snprintf(spec, sizeof(spec), "k:%s", good[i].b64);
        struct tsig_key k = key_for(spec);
        assert_int_equal(k.secret_len, good[i].n);
        assert_memory_equal(k.secret, good[i].bytes, good[i].n);
    }
    static const char *const bad[] = {
        "YQ", "YWJ", "Y===", "YQ=a", "Y Q=", "YQ==YQ==", "====", "YW-j", "YWJj\n", "=YWJ", "YWJj="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[64], why[128] = "";
        struct tsig_key k;
        snprintf(spec, sizeof(spec), "k:%s", bad[i]);
        assert_int_equal(tsig_key_parse(spec, &k, why, sizeof(why)), ERR_INVAL);
        assert_string_equal(why, "secret is not base64");
    }
    /* 256 bytes fit, 257 do not. */
    char spec[400] = "k:";
    for (int i = 0; i < 85; i++)
        strcat(spec, "AAAA");
    strcat(spec, "AA==");
    struct tsig_key k = key_for(spec);
    assert_int_equal(k.secret_len, 256);
    char why[128] = "";
    strcpy(spec + strlen(spec) - 4, "AAA=");
    assert_int_equal(tsig_key_parse(spec, &k, why, sizeof(why)), ERR_INVAL);
    assert_string_equal(why, "secret longer than 256 bytes");
}

static void test_key_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *why;
    } cases[] = {
        {"tsig-key", "expected [alg:]name:base64-secret"},
        {"", "expected [alg:]name:base64-secret"},
        {":" SECRET, "empty key name"},
        {"hmac-sha256::" SECRET, "empty key name"},
        {".:" SECRET, "empty key name"},
        {"hmac-md5:k:" SECRET, "unknown TSIG algorithm 'hmac-md5'"},
        {"sha256:k:" SECRET, "unknown TSIG algorithm 'sha256'"},
        {"a:b:c:" SECRET, "too many ':' (expected [alg:]name:base64-secret)"},
        {"k:", "empty secret (expected base64)"},
        {"k:not base64!", "secret is not base64"},
        {"a..b:" SECRET, "bad key name 'a..b'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tsig_key k;
        char why[128] = "";
        assert_int_equal(tsig_key_parse(cases[i].spec, &k, why, sizeof(why)), ERR_INVAL);
        assert_string_equal(why, cases[i].why);
    }
    /* A label over 63 bytes. */
    char spec[200], why[8] = "";
    memset(spec, 'a', 64);
    strcpy(spec + 64, ":" SECRET);
    struct tsig_key k;
    assert_int_equal(tsig_key_parse(spec, &k, why, sizeof(why)), ERR_INVAL);
    assert_string_equal(why, "bad key"); /* cut to the buffer */
    assert_int_equal(tsig_key_parse("k", &k, NULL, 0), ERR_INVAL);
}

/* ---- interoperability with dnspython ---- */

static void test_verify_dnspython_requests(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 5; i++) {
        uint8_t m[512];
        size_t n = unhex(req_hex[i], m, sizeof(m));
        struct tsig_key k = alg_key(i);
        struct tsig_rr rr;
        assert_int_equal(tsig_find(m, n, &rr), 0);
        assert_int_equal(rr.start, REQ_UNSIGNED);
        assert_memory_equal(rr.key_name, "\010tsig-key", 10);
        assert_int_equal(rr.time_signed, T);
        assert_int_equal(rr.fudge, 300);
        assert_int_equal(rr.mac_len, mac_size[i]);
        assert_int_equal(rr.orig_id, 0x1000 + i);
        assert_int_equal(rr.error, 0);
        assert_int_equal(rr.other_len, 0);

        struct tsig_ctx ctx;
        assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T, &ctx), TSIG_OK);
        assert_ptr_equal(ctx.key, &k);
        assert_int_equal(ctx.phase, TSIG_PHASE_FIRST);
        assert_int_equal(ctx.mac_len, mac_size[i]);
        assert_memory_equal(ctx.mac, rr.mac, mac_size[i]);
        assert_int_equal(ctx.time_signed, T);
        /* Another algorithm's key of the same name and secret: BADKEY. */
        struct tsig_key other = alg_key((i + 1) % 5);
        assert_int_equal(tsig_verify_request(&other, 1, m, n, &rr, T, &ctx), TSIG_BADKEY);
        assert_null(ctx.key);
    }
}

/* Our answer to each request, signed at T+1, is dnspython's byte for
 * byte: same MAC over the same bytes and variables, same record. */
static void test_sign_response_as_dnspython(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 5; i++) {
        uint8_t req[512], want[512], m[512];
        size_t rn = unhex(req_hex[i], req, sizeof(req));
        size_t wn = unhex(resp_hex[i], want, sizeof(want));
        struct tsig_key k = alg_key(i);
        struct tsig_rr rr;
        struct tsig_ctx ctx;
        assert_int_equal(tsig_find(req, rn, &rr), 0);
        assert_int_equal(tsig_verify_request(&k, 1, req, rn, &rr, T + 1, &ctx), TSIG_OK);

        memcpy(m, want, RESP_UNSIGNED);
        wire_put16(m + 10, 0);
        size_t n = RESP_UNSIGNED;
        assert_int_equal(tsig_space(&k), wn - RESP_UNSIGNED);
        assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), T + 1), 0);
        assert_int_equal(n, wn);
        assert_memory_equal(m, want, wn);
        assert_int_equal(ctx.phase, TSIG_PHASE_NEXT);
        struct tsig_rr out;
        assert_int_equal(tsig_find(m, n, &out), 0);
        assert_memory_equal(ctx.mac, out.mac, mac_size[i]);
    }
}

/* Our own signed request is dnspython's, and dnspython's answer to it
 * verifies with the context our signing left. */
static void test_client_side_as_dnspython(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 5; i++) {
        uint8_t want[512], m[512], resp[512];
        size_t wn = unhex(req_hex[i], want, sizeof(want));
        size_t pn = unhex(resp_hex[i], resp, sizeof(resp));
        struct tsig_key k = alg_key(i);
        struct tsig_ctx ctx;
        tsig_ctx_init(&ctx, &k);
        memcpy(m, want, REQ_UNSIGNED);
        wire_put16(m + 10, 0);
        size_t n = REQ_UNSIGNED;
        assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), T), 0);
        assert_int_equal(n, wn);
        assert_memory_equal(m, want, wn);
        assert_int_equal(ctx.phase, TSIG_PHASE_FIRST);
        assert_int_equal(ctx.time_signed, T);

        struct tsig_ctx late = ctx;
        assert_int_equal(tsig_verify_response(&ctx, resp, pn, T + 2), TSIG_OK);
        assert_int_equal(ctx.phase, TSIG_PHASE_NEXT);
        /* The clock is checked on answers too. */
        assert_int_equal(tsig_verify_response(&late, resp, pn, T + 302), TSIG_BADTIME);
        assert_int_equal(late.phase, TSIG_PHASE_FIRST);
    }
}

static void test_axfr_stream_sign(void **state)
{
    (void)state;
    uint8_t req[512];
    size_t rn = unhex(axfr_req, req, sizeof(req));
    struct tsig_key k = key_for("tsig-key:" SECRET);
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(req, rn, &rr), 0);
    assert_int_equal(tsig_verify_request(&k, 1, req, rn, &rr, T, &ctx), TSIG_OK);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t want[512], m[512];
        size_t wn = unhex(axfr_hex[i], want, sizeof(want));
        size_t n = wn - TSIG_RR_SHA256;
        memcpy(m, want, n);
        wire_put16(m + 10, (uint16_t)(wire_get16(m + 10) - 1));
        assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), T + 1 + i), 0);
        assert_int_equal(n, wn);
        assert_memory_equal(m, want, wn);
    }
}

static void test_axfr_stream_verify(void **state)
{
    (void)state;
    uint8_t req[512], m[3][512];
    size_t n[3];
    unhex(axfr_req, req, sizeof(req));
    for (unsigned i = 0; i < 3; i++)
        n[i] = unhex(axfr_hex[i], m[i], sizeof(m[i]));
    struct tsig_key k = key_for("tsig-key:" SECRET);
    struct tsig_ctx ctx;
    tsig_ctx_init(&ctx, &k);
    size_t len = REQ_UNSIGNED;
    wire_put16(req + 10, 0);
    assert_int_equal(tsig_sign(&ctx, req, &len, sizeof(req), T), 0);
    struct tsig_ctx start = ctx;

    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(tsig_verify_response(&ctx, m[i], n[i], T + 3), TSIG_OK);
    /* Replayed, or out of order: the chain of prior MACs breaks. */
    assert_int_equal(tsig_verify_response(&ctx, m[2], n[2], T + 3), TSIG_BADSIG);
    ctx = start;
    assert_int_equal(tsig_verify_response(&ctx, m[1], n[1], T + 3), TSIG_BADSIG);
    ctx = start;
    assert_int_equal(tsig_verify_response(&ctx, m[0], n[0], T + 3), TSIG_OK);
    assert_int_equal(tsig_verify_response(&ctx, m[2], n[2], T + 3), TSIG_BADSIG);
    /* A later message is not a first answer either. */
    ctx = start;
    assert_int_equal(tsig_verify_response(&ctx, m[1], n[1], T + 3), TSIG_BADSIG);
}

static void test_compressed_owner_and_strip(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n = unhex(req_compressed_edns, m, sizeof(m));
    struct tsig_key keys[2] = {key_for("tsig-key:" SECRET), key_for("Key.BL.example:" SECRET)};
    struct tsig_rr rr;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    assert_int_equal(rr.key_name_len, 16);
    assert_memory_equal(rr.key_name, "\003key\002bl\007example", 16);
    struct tsig_ctx ctx;
    assert_int_equal(tsig_verify_request(keys, 2, m, n, &rr, T, &ctx), TSIG_OK);
    assert_ptr_equal(ctx.key, &keys[1]);

    /* The query parser refuses the TSIG and reads the query without it. */
    struct wire_query q;
    assert_int_equal(wire_parse_query(m, n, &q), WIRE_FORMERR);
    size_t len = tsig_strip(m, &rr);
    assert_int_equal(len, rr.start);
    assert_int_equal(wire_get16(m + 10), 1);
    assert_int_equal(wire_parse_query(m, len, &q), 0);
    assert_true(q.edns);
    assert_int_equal(q.qtype, 1);
    assert_int_equal(q.qlabels, 6);
    assert_int_equal(tsig_find(m, len, &rr), ERR_NOTFOUND);
}

/* ---- failures ---- */

static void test_wrong_key(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n = unhex(req_hex[2], m, sizeof(m));
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(m, n, &rr), 0);

    struct tsig_key other_name = key_for("tsig-key2:" SECRET);
    assert_int_equal(tsig_verify_request(&other_name, 1, m, n, &rr, T, &ctx), TSIG_BADKEY);
    assert_null(ctx.key);
    assert_int_equal(tsig_verify_request(NULL, 0, m, n, &rr, T, &ctx), TSIG_BADKEY);

    struct tsig_key wrong_secret = key_for("tsig-key:"
                                           "AAAA" SECRET);
    assert_int_equal(tsig_verify_request(&wrong_secret, 1, m, n, &rr, T, &ctx), TSIG_BADSIG);
    assert_ptr_equal(ctx.key, &wrong_secret);

    /* The first key that matches name and algorithm is used. */
    struct tsig_key keys[3] = {other_name, key_for("hmac-sha1:tsig-key:" SECRET),
                               key_for("TSIG-KEY.:" SECRET)};
    assert_int_equal(tsig_verify_request(keys, 3, m, n, &rr, T, &ctx), TSIG_OK);
    assert_ptr_equal(ctx.key, &keys[2]);
}

/* Every bit of the message matters, but the ID, for which the MAC covers
 * the TSIG's Original ID (a forwarder may change the header's), and the
 * letter case of the key and algorithm names. */
static void test_altered_bytes(void **state)
{
    (void)state;
    uint8_t orig[512];
    size_t n = unhex(req_hex[2], orig, sizeof(orig));
    struct tsig_key k = alg_key(2);
    for (size_t i = 0; i < n; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t m[512];
            memcpy(m, orig, n);
            m[i] ^= (uint8_t)(1u << bit);
            struct tsig_rr rr;
            struct tsig_ctx ctx;
            int rc = tsig_find(m, n, &rr);
            enum tsig_result res =
                rc == 0 ? tsig_verify_request(&k, 1, m, n, &rr, T, &ctx) : TSIG_FORMERR;
            /* The key and algorithm names are compared and digested
             * in lower case (RFC 8945 4.3.3), so their letters' case
             * does not count. */
            bool in_names = (i >= REQ_UNSIGNED && i < REQ_UNSIGNED + 10) ||
                            (i >= REQ_UNSIGNED + 20 && i < REQ_UNSIGNED + 33);
            bool case_flip = bit == 5 && ((orig[i] | 0x20) >= 'a' && (orig[i] | 0x20) <= 'z');
            if (i < 2 || (in_names && case_flip))
                assert_int_equal(res, TSIG_OK);
            else if (res == TSIG_OK)
                fail_msg("byte %zu bit %u changed, still verifies", i, bit);
        }
    }
    /* The Original ID itself is covered. */
    uint8_t m[512];
    memcpy(m, orig, n);
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    m[rr.mac + rr.mac_len - m] ^= 1;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    assert_int_equal(rr.orig_id, 0x1102);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T, &ctx), TSIG_BADSIG);
    /* A MAC byte. */
    memcpy(m, orig, n);
    m[n - 10] ^= 0x80;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T, &ctx), TSIG_BADSIG);
}

static void test_time_fudge(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n = unhex(req_hex[2], m, sizeof(m));
    struct tsig_key k = alg_key(2);
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T + 300, &ctx), TSIG_OK);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T - 300, &ctx), TSIG_OK);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T + 301, &ctx), TSIG_BADTIME);
    /* BADTIME comes after the MAC check, and leaves ctx able to sign. */
    assert_ptr_equal(ctx.key, &k);
    assert_int_equal(ctx.mac_len, 32);
    assert_int_equal(ctx.time_signed, T);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, T - 301, &ctx), TSIG_BADTIME);
    assert_int_equal(tsig_verify_request(&k, 1, m, n, &rr, 0, &ctx), TSIG_BADTIME);
    /* A bad MAC outside the fudge is BADSIG, not BADTIME. */
    struct tsig_key wrong = key_for("tsig-key:YWJj");
    assert_int_equal(tsig_verify_request(&wrong, 1, m, n, &rr, T + 1000, &ctx), TSIG_BADSIG);
}

/* Append a TSIG record by hand (owner "tsig-key.", hmac-sha256 unless
 * alg is given) with the fields given. */
static void put_tsig(struct pkt *p, const char *alg, uint64_t time, uint16_t fudge,
                     const uint8_t *mac, uint16_t mac_len, uint16_t id, uint16_t other_len)
{
    put_raw(p, "\010tsig-key", 10);
    put16(p, TSIG_TYPE);
    put16(p, 255);
    put32(p, 0);
    size_t alen = strlen(alg) + 2;
    put16(p, (uint16_t)(alen + 16 + mac_len + other_len));
    put8(p, (uint8_t)strlen(alg));
    put_raw(p, alg, strlen(alg) + 1);
    put16(p, (uint16_t)(time >> 32));
    put32(p, (uint32_t)time);
    put16(p, fudge);
    put16(p, mac_len);
    put_raw(p, mac, mac_len);
    put16(p, id);
    put16(p, 0);
    put16(p, other_len);
    for (uint16_t i = 0; i < other_len; i++)
        put8(p, (uint8_t)i);
}

/* The dnspython request for hmac-sha256, its TSIG rebuilt with the MAC
 * cut or padded to mac_len bytes. */
static size_t with_mac_len(uint8_t *out, const char *alg, unsigned ai, uint16_t mac_len)
{
    uint8_t m[512];
    size_t n = unhex(req_hex[ai], m, sizeof(m));
    struct tsig_rr rr;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    uint8_t mac[128] = {0};
    memcpy(mac, rr.mac, rr.mac_len);
    struct pkt p;
    memcpy(p.b, m, REQ_UNSIGNED);
    p.n = REQ_UNSIGNED;
    put_tsig(&p, alg, T, 300, mac, mac_len, rr.orig_id, 0);
    memcpy(out, p.b, p.n);
    return p.n;
}

static enum tsig_result verify(unsigned ai, const uint8_t *m, size_t n)
{
    struct tsig_key k = alg_key(ai);
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    if (tsig_find(m, n, &rr) != 0)
        return TSIG_FORMERR;
    return tsig_verify_request(&k, 1, m, n, &rr, T, &ctx);
}

static void test_mac_sizes(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n;
    n = with_mac_len(m, "hmac-sha256", 2, 32);
    assert_int_equal(verify(2, m, n), TSIG_OK); /* the rebuilding is faithful */
    n = with_mac_len(m, "hmac-sha256", 2, 33);
    assert_int_equal(verify(2, m, n), TSIG_FORMERR);
    n = with_mac_len(m, "hmac-sha256", 2, 15);
    assert_int_equal(verify(2, m, n), TSIG_FORMERR);
    n = with_mac_len(m, "hmac-sha256", 2, 0);
    assert_int_equal(verify(2, m, n), TSIG_FORMERR);
    /* A truncation the RFC allows, and the right prefix: still refused. */
    n = with_mac_len(m, "hmac-sha256", 2, 16);
    assert_int_equal(verify(2, m, n), TSIG_BADSIG);
    n = with_mac_len(m, "hmac-sha256", 2, 31);
    assert_int_equal(verify(2, m, n), TSIG_BADSIG);
    /* hmac-sha1: 10 bytes is the floor, not half of 20. */
    n = with_mac_len(m, "hmac-sha1", 0, 9);
    assert_int_equal(verify(0, m, n), TSIG_FORMERR);
    n = with_mac_len(m, "hmac-sha1", 0, 10);
    assert_int_equal(verify(0, m, n), TSIG_BADSIG);
    n = with_mac_len(m, "hmac-sha1", 0, 20);
    assert_int_equal(verify(0, m, n), TSIG_OK);
    n = with_mac_len(m, "hmac-sha512", 4, 31);
    assert_int_equal(verify(4, m, n), TSIG_FORMERR);
    /* An algorithm we do not implement is BADKEY, like an unknown key. */
    n = with_mac_len(m, "hmac-md5", 2, 16);
    assert_int_equal(verify(2, m, n), TSIG_BADKEY);
}

static void test_find_malformed(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n = unhex(req_hex[2], m, sizeof(m));
    struct tsig_rr rr;

    /* Unsigned, well-formed. */
    assert_int_equal(tsig_find(m, REQ_UNSIGNED, &rr), ERR_INVAL); /* ARCOUNT still 1 */
    uint8_t u[512];
    memcpy(u, m, REQ_UNSIGNED);
    wire_put16(u + 10, 0);
    assert_int_equal(tsig_find(u, REQ_UNSIGNED, &rr), ERR_NOTFOUND);
    assert_int_equal(tsig_find(u, 11, &rr), ERR_INVAL);

    /* Cut anywhere: never found. */
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(tsig_find(m, cut, &rr), ERR_INVAL);

    /* A byte after it. */
    uint8_t x[600];
    memcpy(x, m, n);
    x[n] = 0;
    assert_int_equal(tsig_find(x, n + 1, &rr), ERR_INVAL);

    /* A record after it. */
    struct pkt p;
    memcpy(p.b, m, n);
    p.n = n;
    wire_put16(p.b + 10, 2);
    put_raw(&p, "\0", 1);
    put16(&p, 1);
    put16(&p, 1);
    put32(&p, 0);
    put16(&p, 4);
    put32(&p, 0x7f000002);
    assert_int_equal(tsig_find(p.b, p.n, &rr), ERR_INVAL);

    /* Two TSIGs. */
    memcpy(p.b, m, n);
    memcpy(p.b + n, m + REQ_UNSIGNED, n - REQ_UNSIGNED);
    p.n = n + n - REQ_UNSIGNED;
    wire_put16(p.b + 10, 2);
    assert_int_equal(tsig_find(p.b, p.n, &rr), ERR_INVAL);

    /* The only record, but in the answer section. */
    memcpy(p.b, m, n);
    wire_put16(p.b + 6, 1);
    wire_put16(p.b + 10, 0);
    assert_int_equal(tsig_find(p.b, n, &rr), ERR_INVAL);

    /* Class IN; a TTL. */
    memcpy(p.b, m, n);
    wire_put16(p.b + REQ_UNSIGNED + 12, 1);
    assert_int_equal(tsig_find(p.b, n, &rr), ERR_INVAL);
    memcpy(p.b, m, n);
    p.b[REQ_UNSIGNED + 17] = 1;
    assert_int_equal(tsig_find(p.b, n, &rr), ERR_INVAL);

    /* RDATA its fields do not fill: other data claimed, RDLENGTH not
     * grown; RDLENGTH grown over a trailing byte. */
    memcpy(p.b, m, n);
    wire_put16(p.b + n - 2, 1);
    assert_int_equal(tsig_find(p.b, n, &rr), ERR_INVAL);
    memcpy(p.b, m, n);
    p.b[n] = 0;
    wire_put16(p.b + REQ_UNSIGNED + 18, (uint16_t)(wire_get16(p.b + REQ_UNSIGNED + 18) + 1));
    assert_int_equal(tsig_find(p.b, n + 1, &rr), ERR_INVAL);
    /* MAC size past the RDATA. */
    memcpy(p.b, m, n);
    wire_put16(p.b + REQ_UNSIGNED + 20 + 13 + 8, 200);
    assert_int_equal(tsig_find(p.b, n, &rr), ERR_INVAL);

    /* Compression loops and forward pointers in the owner name. */
    memcpy(p.b, m, n);
    p.b[REQ_UNSIGNED] = 0xc0;
    p.b[REQ_UNSIGNED + 1] = (uint8_t)REQ_UNSIGNED;
    memmove(p.b + REQ_UNSIGNED + 2, m + REQ_UNSIGNED + 10, n - REQ_UNSIGNED - 10);
    size_t pn = n - 8;
    assert_int_equal(tsig_find(p.b, pn, &rr), ERR_INVAL);
    p.b[REQ_UNSIGNED + 1] = 12; /* back to "bl.example.": found, but not our key */
    assert_int_equal(tsig_find(p.b, pn, &rr), 0);
    assert_memory_equal(rr.key_name, "\002bl\007example", 12);
    assert_int_equal(verify(2, p.b, pn), TSIG_BADKEY);

    /* Extended label type in a question name. */
    memcpy(p.b, m, n);
    p.b[12] = 0x42;
    assert_int_equal(tsig_find(p.b, n, &rr), ERR_INVAL);
}

static void test_other_data_covered(void **state)
{
    (void)state;
    /* A request with Other Data (a TSIG with 3 bytes of it), signed by us
     * at the client side as a response-like first message would not be:
     * build it by hand and check both tsig_find and the MAC refuse
     * changes to it. */
    struct tsig_key k = alg_key(2);
    uint8_t m[512];
    size_t n = with_mac_len(m, "hmac-sha256", 2, 32);
    struct pkt p;
    memcpy(p.b, m, REQ_UNSIGNED);
    p.n = REQ_UNSIGNED;
    struct tsig_rr rr;
    assert_int_equal(tsig_find(m, n, &rr), 0);
    put_tsig(&p, "hmac-sha256", T, 300, rr.mac, 32, rr.orig_id, 3);
    assert_int_equal(tsig_find(p.b, p.n, &rr), 0);
    assert_int_equal(rr.other_len, 3);
    assert_memory_equal(rr.other, "\0\1\2", 3);
    struct tsig_ctx ctx;
    /* The MAC was over no Other Data. */
    assert_int_equal(tsig_verify_request(&k, 1, p.b, p.n, &rr, T, &ctx), TSIG_BADSIG);
}

static void test_sign_limits(void **state)
{
    (void)state;
    uint8_t want[512], m[512];
    unhex(req_hex[2], want, sizeof(want));
    struct tsig_key k = alg_key(2);
    struct tsig_ctx ctx;
    size_t space = tsig_space(&k);
    assert_int_equal(space, 81);

    tsig_ctx_init(&ctx, &k);
    memcpy(m, want, REQ_UNSIGNED);
    wire_put16(m + 10, 0);
    memset(m + REQ_UNSIGNED, 0xee, sizeof(m) - REQ_UNSIGNED);
    size_t n = REQ_UNSIGNED;
    assert_int_equal(tsig_sign(&ctx, m, &n, REQ_UNSIGNED + space - 1, T), ERR_SPACE);
    assert_int_equal(n, REQ_UNSIGNED);
    assert_int_equal(wire_get16(m + 10), 0);
    assert_int_equal(m[REQ_UNSIGNED], 0xee);
    assert_int_equal(ctx.phase, TSIG_PHASE_REQUEST);
    assert_int_equal(tsig_sign(&ctx, m, &n, REQ_UNSIGNED + space, T), 0);
    assert_int_equal(n, REQ_UNSIGNED + space);
    assert_memory_equal(m, want, n);

    /* ARCOUNT full. */
    tsig_ctx_init(&ctx, &k);
    n = REQ_UNSIGNED;
    wire_put16(m + 10, 0xffff);
    assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), T), ERR_RANGE);
    assert_int_equal(n, REQ_UNSIGNED);
    /* No key; no header; a clock before 1970. */
    wire_put16(m + 10, 0);
    tsig_ctx_init(&ctx, NULL);
    assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), T), ERR_INVAL);
    tsig_ctx_init(&ctx, &k);
    n = 11;
    assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), T), ERR_INVAL);
    n = REQ_UNSIGNED;
    assert_int_equal(tsig_sign(&ctx, m, &n, sizeof(m), -1), ERR_INVAL);
    assert_int_equal(n, REQ_UNSIGNED);

    /* tsig_space for the longest name and MAC. */
    struct tsig_key big = key_for("hmac-sha512:a.b:YWJj");
    assert_int_equal(tsig_space(&big), 5 + 10 + 13 + 16 + 64);
}

static void test_badtime_reply_as_dnspython(void **state)
{
    (void)state;
    uint8_t req[512], want[512], out[512];
    size_t rn = unhex(req_hex[2], req, sizeof(req));
    size_t wn = unhex(badtime_reply, want, sizeof(want));
    struct tsig_key k = alg_key(2);
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(req, rn, &rr), 0);
    assert_int_equal(tsig_verify_request(&k, 1, req, rn, &rr, T + 1000, &ctx), TSIG_BADTIME);
    size_t n = 0;
    assert_int_equal(
        tsig_error_reply(&ctx, TSIG_BADTIME, &rr, req, rn, out, sizeof(out), &n, T + 1000), 0);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, wn);
    assert_int_equal(ctx.phase, TSIG_PHASE_FIRST); /* untouched */
    /* One byte short of the signed reply: the header and question with
     * TC, no TSIG (the client asks again over TCP); short of those too,
     * nothing. */
    struct tsig_rr wrr;
    assert_int_equal(tsig_find(want, wn, &wrr), 0);
    size_t qend = wrr.start;
    assert_int_equal(tsig_error_reply(&ctx, TSIG_BADTIME, &rr, req, rn, out, wn - 1, &n, T + 1000),
                     0);
    assert_int_equal(n, qend);
    assert_int_equal(wire_get16(out + 2) & 0x0200, 0x0200);
    assert_int_equal(wire_get16(out + 10), 0);
    assert_memory_equal(out, want, 2);
    assert_memory_equal(out + 12, want + 12, qend - 12);
    assert_int_equal(
        tsig_error_reply(&ctx, TSIG_BADTIME, &rr, req, rn, out, qend - 1, &n, T + 1000), ERR_SPACE);
}

/* Client and server ends of failed exchanges: what the server answers,
 * and what the client makes of it. */
static void test_error_replies_end_to_end(void **state)
{
    (void)state;
    struct tsig_key ours = alg_key(2);
    struct tsig_key theirs = key_for("tsig-key:YWJjZA==");
    struct tsig_key stranger = key_for("someone:" SECRET);
    const struct {
        const struct tsig_key *server;
        time_t server_now;
        enum tsig_result res;
        uint16_t error;
    } cases[] = {
        {&stranger, T, TSIG_BADKEY, TSIG_ERR_BADKEY},
        {&theirs, T, TSIG_BADSIG, TSIG_ERR_BADSIG},
        {NULL, T + 400, TSIG_BADTIME, TSIG_ERR_BADTIME},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tsig_key *server = cases[i].server ? cases[i].server : &ours;
        uint8_t req[512], out[512];
        struct pkt p;
        put_header(&p, 0x4242, 0x2100 /* NOTIFY, RD */, 1, 0, 0, 0);
        put_question(&p, "bl.example", 6);
        memcpy(req, p.b, p.n);
        size_t rn = p.n, qend = p.n;
        struct tsig_ctx client, server_ctx;
        tsig_ctx_init(&client, &ours);
        assert_int_equal(tsig_sign(&client, req, &rn, sizeof(req), T), 0);

        struct tsig_rr rr;
        assert_int_equal(tsig_find(req, rn, &rr), 0);
        enum tsig_result res =
            tsig_verify_request(server, 1, req, rn, &rr, cases[i].server_now, &server_ctx);
        assert_int_equal(res, cases[i].res);
        size_t n = 0;
        assert_int_equal(tsig_error_reply(&server_ctx, res, &rr, req, rn, out, sizeof(out), &n,
                                          cases[i].server_now),
                         0);
        /* Header: ID, QR, opcode NOTIFY, RD, NOTAUTH; the question. */
        assert_int_equal(wire_get16(out), 0x4242);
        assert_int_equal(wire_get16(out + 2), 0x8000 | 0x2100 | TSIG_RCODE_NOTAUTH);
        assert_int_equal(wire_get16(out + 4), 1);
        assert_int_equal(wire_get16(out + 10), 1);
        assert_memory_equal(out + 12, req + 12, qend - 12);
        struct tsig_rr back;
        assert_int_equal(tsig_find(out, n, &back), 0);
        assert_int_equal(back.start, qend);
        assert_int_equal(back.error, cases[i].error);
        assert_memory_equal(back.key_name, "\010tsig-key", 10);
        assert_memory_equal(back.alg_name, "\013hmac-sha256", 13);
        assert_int_equal(back.orig_id, 0x4242);
        assert_int_equal(back.time_signed, T);
        if (res == TSIG_BADTIME) {
            assert_int_equal(back.mac_len, 32);
            assert_int_equal(back.other_len, 6);
        } else {
            assert_int_equal(back.mac_len, 0);
            assert_int_equal(back.other_len, 0);
        }

        assert_int_equal(tsig_verify_response(&client, out, n, T), TSIG_PEER_ERROR);
        assert_int_equal(client.peer_error, cases[i].error);
        assert_int_equal(client.peer_time, res == TSIG_BADTIME ? T + 400 : 0);
        assert_int_equal(client.phase, TSIG_PHASE_FIRST);
        if (res == TSIG_BADTIME) {
            /* Signed: a changed byte is caught before the error is read. */
            out[n - 1] ^= 1;
            assert_int_equal(tsig_verify_response(&client, out, n, T), TSIG_BADSIG);
        }
        /* Room for the header and question only (a UDP client's 512
         * bytes, long names): those, with TC and no TSIG. */
        size_t tn = 0;
        assert_int_equal(tsig_error_reply(&server_ctx, res, &rr, req, rn, out, qend + 5, &tn,
                                          cases[i].server_now),
                         0);
        assert_int_equal(tn, qend);
        assert_int_equal(wire_get16(out + 2), 0x8000 | 0x2100 | 0x0200 | TSIG_RCODE_NOTAUTH);
        assert_int_equal(wire_get16(out + 10), 0);
        assert_memory_equal(out + 12, req + 12, qend - 12);
    }
}

static void test_error_reply_formerr_and_misuse(void **state)
{
    (void)state;
    uint8_t req[512], out[512];
    size_t rn = unhex(req_hex[2], req, sizeof(req));
    size_t n = 0;
    assert_int_equal(tsig_error_reply(NULL, TSIG_FORMERR, NULL, req, rn, out, sizeof(out), &n, T),
                     0);
    assert_int_equal(n, REQ_UNSIGNED);
    assert_int_equal(wire_get16(out + 2), 0x8101); /* QR, RD, FORMERR */
    assert_int_equal(wire_get16(out + 4), 1);
    assert_int_equal(wire_get16(out + 10), 0);
    assert_memory_equal(out + 12, req + 12, REQ_UNSIGNED - 12);
    assert_int_equal(tsig_error_reply(NULL, TSIG_FORMERR, NULL, req, rn, out, 27, &n, T),
                     ERR_SPACE);

    /* A question that cannot be echoed (compressed) is left out. */
    req[12] = 0xc0;
    req[13] = 12;
    assert_int_equal(tsig_error_reply(NULL, TSIG_FORMERR, NULL, req, rn, out, sizeof(out), &n, T),
                     0);
    assert_int_equal(n, 12);
    assert_int_equal(wire_get16(out + 4), 0);

    struct tsig_ctx ctx;
    tsig_ctx_init(&ctx, NULL);
    assert_int_equal(tsig_error_reply(&ctx, TSIG_OK, NULL, req, rn, out, sizeof(out), &n, T),
                     ERR_INVAL);
    assert_int_equal(tsig_error_reply(&ctx, TSIG_BADSIG, NULL, req, rn, out, sizeof(out), &n, T),
                     ERR_INVAL);
    assert_int_equal(tsig_error_reply(&ctx, TSIG_BADTIME, NULL, req, rn, out, sizeof(out), &n, T),
                     ERR_INVAL);
    assert_int_equal(tsig_error_reply(&ctx, TSIG_FORMERR, NULL, req, 11, out, sizeof(out), &n, T),
                     ERR_INVAL);
}

static void test_verify_response_failures(void **state)
{
    (void)state;
    uint8_t req[512], resp[512];
    unhex(req_hex[2], req, sizeof(req));
    size_t pn = unhex(resp_hex[2], resp, sizeof(resp));
    struct tsig_key k = alg_key(2);
    struct tsig_ctx ctx, start;
    tsig_ctx_init(&ctx, &k);
    assert_int_equal(tsig_verify_response(&ctx, resp, pn, T + 1), TSIG_INTERNAL); /* no request */
    size_t rn = REQ_UNSIGNED;
    wire_put16(req + 10, 0);
    assert_int_equal(tsig_sign(&ctx, req, &rn, sizeof(req), T), 0);
    start = ctx;

    /* Unsigned. */
    uint8_t u[512];
    memcpy(u, resp, RESP_UNSIGNED);
    wire_put16(u + 10, 0);
    assert_int_equal(tsig_verify_response(&ctx, u, RESP_UNSIGNED, T + 1), TSIG_UNSIGNED);
    assert_int_equal(tsig_verify_response(&ctx, resp, pn - 1, T + 1), TSIG_FORMERR);
    /* Signed with another key: answered by someone else. */
    struct tsig_key other = key_for("tsig-key2:" SECRET);
    struct tsig_ctx octx = ctx;
    octx.key = &other;
    assert_int_equal(tsig_verify_response(&octx, resp, pn, T + 1), TSIG_BADKEY);
    struct tsig_key sha1 = alg_key(0);
    octx.key = &sha1;
    assert_int_equal(tsig_verify_response(&octx, resp, pn, T + 1), TSIG_BADKEY);
    /* A byte of the answer changed. */
    resp[40] ^= 1;
    assert_int_equal(tsig_verify_response(&ctx, resp, pn, T + 1), TSIG_BADSIG);
    resp[40] ^= 1;
    /* Nothing above moved the exchange on. */
    assert_memory_equal(&ctx, &start, sizeof(ctx));
    assert_int_equal(tsig_verify_response(&ctx, resp, pn, T + 1), TSIG_OK);
}

static void test_result_strings(void **state)
{
    (void)state;
    assert_string_equal(tsig_result_str(TSIG_OK), "ok");
    assert_string_equal(tsig_result_str(TSIG_BADKEY), "unknown key or algorithm");
    assert_string_equal(tsig_result_str(TSIG_BADTIME), "signed outside the time fudge");
    assert_string_equal(tsig_result_str((enum tsig_result)99), "unknown result");
    assert_string_equal(tsig_alg_text((enum tsig_alg)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_key_base64),
        cmocka_unit_test(test_key_parse_errors),
        cmocka_unit_test(test_verify_dnspython_requests),
        cmocka_unit_test(test_sign_response_as_dnspython),
        cmocka_unit_test(test_client_side_as_dnspython),
        cmocka_unit_test(test_axfr_stream_sign),
        cmocka_unit_test(test_axfr_stream_verify),
        cmocka_unit_test(test_compressed_owner_and_strip),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_altered_bytes),
        cmocka_unit_test(test_time_fudge),
        cmocka_unit_test(test_mac_sizes),
        cmocka_unit_test(test_find_malformed),
        cmocka_unit_test(test_other_data_covered),
        cmocka_unit_test(test_sign_limits),
        cmocka_unit_test(test_badtime_reply_as_dnspython),
        cmocka_unit_test(test_error_replies_end_to_end),
        cmocka_unit_test(test_error_reply_formerr_and_misuse),
        cmocka_unit_test(test_verify_response_failures),
        cmocka_unit_test(test_result_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
