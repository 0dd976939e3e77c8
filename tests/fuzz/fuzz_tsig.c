/* Fuzz harness for TSIG: any bytes as a signed request to tsig_find and
 * tsig_verify_request with fixed keys (one per algorithm, and a key whose
 * name dnspython compresses), then the error reply or, for a request that
 * verifies, a signed answer that a client's context must accept. Any
 * broken invariant aborts. The corpus seeds are dnspython-signed at T. */
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/name.h"
#include "wire/tsig.h"
#include "wire/wire.h"
#include "fuzz_common.h"

#define T 1790000000
#define SECRET "ZG5zYmxraXQgdHNpZyB0ZXN0IHNlY3JldCAwMTIzNDU2Nzg5YWJjZGVm"

static struct tsig_key keys[6];
static size_t nkeys;

static void load_keys(void)
{
    static const char *const specs[] = {
        "hmac-sha1:tsig-key:" SECRET,   "hmac-sha224:tsig-key:" SECRET,
        "hmac-sha256:tsig-key:" SECRET, "hmac-sha384:tsig-key:" SECRET,
        "hmac-sha512:tsig-key:" SECRET, "key.bl.example:" SECRET,
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        CHECK(tsig_key_parse(specs[i], &keys[nkeys++], NULL, 0) == 0);
}

/* What tsig_find promises about a record it returns. */
static void check_rr(const uint8_t *m, size_t len, const struct tsig_rr *rr)
{
    CHECK(rr->start >= WIRE_HEADER_LEN && rr->start < len);
    CHECK(rr->key_name_len >= 1 && rr->key_name_len <= NAME_MAXWIRE);
    CHECK(name_wire_len(rr->key_name) == rr->key_name_len);
    CHECK(rr->alg_name_len >= 1 && rr->alg_name_len <= NAME_MAXWIRE);
    CHECK(name_wire_len(rr->alg_name) == rr->alg_name_len);
    CHECK(rr->time_signed <= 0xffffffffffffull);
    CHECK(rr->mac >= m + rr->start && rr->mac + rr->mac_len <= m + len);
    CHECK(rr->other >= rr->mac + rr->mac_len && rr->other + rr->other_len == m + len);
    CHECK(wire_get16(m + 10) >= 1);
}

/* An error reply to the request must be well-formed and carry the error
 * (or no TSIG at all for FORMERR). */
static void check_error_reply(const struct tsig_ctx *ctx, enum tsig_result res,
                              const struct tsig_rr *rr, const uint8_t *m, size_t len, time_t now)
{
    static uint8_t out[WIRE_HEADER_LEN + NAME_MAXWIRE + 4 + 2 * NAME_MAXWIRE + 128];
    size_t n = 0;
    CHECK(tsig_error_reply(ctx, res, rr, m, len, out, sizeof(out), &n, now) == 0);
    CHECK(n >= WIRE_HEADER_LEN && n <= sizeof(out));
    CHECK(wire_get16(out) == wire_get16(m));
    CHECK(out[2] & 0x80);
    struct tsig_rr back;
    int rc = tsig_find(out, n, &back);
    if (res == TSIG_FORMERR) {
        CHECK(rc == ERR_NOTFOUND);
        CHECK((out[3] & 0xf) == 1);
        return;
    }
    CHECK(rc == 0);
    CHECK((out[3] & 0xf) == TSIG_RCODE_NOTAUTH);
    CHECK(back.key_name_len == rr->key_name_len &&
          memcmp(back.key_name, rr->key_name, rr->key_name_len) == 0);
    CHECK(back.error == (res == TSIG_BADKEY   ? TSIG_ERR_BADKEY
                         : res == TSIG_BADSIG ? TSIG_ERR_BADSIG
                                              : TSIG_ERR_BADTIME));
    CHECK(back.mac_len == (res == TSIG_BADTIME ? ctx->mac_len : 0));
    /* Short of room for the TSIG: the header and question alone, TC
     * set; short of those too, refused. Never overrun. */
    size_t q = back.start, tn = 0;
    CHECK(tsig_error_reply(ctx, res, rr, m, len, out, n - 1, &tn, now) == 0);
    CHECK(tn == q && (out[2] & 0x02) && wire_get16(out + 10) == 0);
    CHECK(tsig_error_reply(ctx, res, rr, m, len, out, q - 1, &tn, now) == ERR_SPACE);
}

/* Sign an answer (the request stripped, QR set) in up to three messages
 * and check that the requester's side accepts each in turn. */
static void check_answer(const struct tsig_ctx *server, const struct tsig_rr *rr, const uint8_t *m)
{
    static uint8_t msg[WIRE_TCP_MAX];
    struct tsig_ctx s = *server, client = *server;
    size_t body = rr->start;
    CHECK(client.phase == TSIG_PHASE_FIRST);
    for (unsigned i = 0; i < 3; i++) {
        memcpy(msg, m, body);
        msg[2] |= 0x80;
        size_t n = tsig_strip(msg, rr);
        CHECK(n == body);
        CHECK(tsig_sign(&s, msg, &n, body + tsig_space(s.key) - 1, T + i) == ERR_SPACE);
        CHECK(n == body);
        CHECK(tsig_sign(&s, msg, &n, sizeof(msg), T + i) == 0);
        CHECK(n == body + tsig_space(s.key));
        CHECK(tsig_verify_response(&client, msg, n, T + i) == TSIG_OK);
        CHECK(client.mac_len == s.mac_len && memcmp(client.mac, s.mac, s.mac_len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (nkeys == 0)
        load_keys();
    if (size > WIRE_TCP_MAX - 512)
        return 0; /* room for the answer's TSIG */
    struct tsig_rr rr;
    int rc = tsig_find(data, size, &rr);
    CHECK(rc == 0 || rc == ERR_NOTFOUND || rc == ERR_INVAL);
    if (rc == ERR_INVAL && size >= WIRE_HEADER_LEN)
        check_error_reply(NULL, TSIG_FORMERR, NULL, data, size, T);
    if (rc != 0)
        return 0;
    check_rr(data, size, &rr);

    /* Now, and a clock far off: the MAC check comes first either way. */
    static const time_t clocks[] = {T, T + 100000};
    enum tsig_result first = TSIG_INTERNAL;
    for (size_t c = 0; c < 2; c++) {
        struct tsig_ctx ctx;
        enum tsig_result res = tsig_verify_request(keys, nkeys, data, size, &rr, clocks[c], &ctx);
        CHECK(res == TSIG_OK || res == TSIG_FORMERR || res == TSIG_BADKEY || res == TSIG_BADSIG ||
              res == TSIG_BADTIME);
        /* Only the time check may see the clocks differently. */
        if (c == 0)
            first = res;
        else if (first != TSIG_OK && first != TSIG_BADTIME)
            CHECK(res == first);
        else
            CHECK(res == TSIG_OK || res == TSIG_BADTIME);
        if (res == TSIG_OK) {
            CHECK(ctx.key != NULL && ctx.phase == TSIG_PHASE_FIRST);
            check_answer(&ctx, &rr, data);
        } else {
            check_error_reply(&ctx, res, &rr, data, size, clocks[c]);
        }
    }

    /* The same bytes as an answer to a request we signed. */
    struct tsig_ctx client;
    tsig_ctx_init(&client, &keys[2]);
    client.phase = TSIG_PHASE_FIRST;
    client.mac_len = 32;
    enum tsig_result res = tsig_verify_response(&client, data, size, T);
    CHECK(res != TSIG_INTERNAL && res != TSIG_UNSIGNED);
    return 0;
}
