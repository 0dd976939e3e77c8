/* TSIG (RFC 8945): finding, checking and writing the TSIG record of a DNS
 * message; the HMAC itself is nettle's. Nettle rather than OpenSSL's
 * libcrypto: it maps a tenth of the memory into every `serve` process
 * (libcrypto alone added 1.4 MB of RSS to a small zone's server), and
 * its HMAC state lives on the stack, so a MAC allocates nothing. */
#include "wire/tsig.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "common/err.h"
#include "wire/wire.h"

#define CLASS_ANY 255
#define HDR_ARCOUNT 10
#define FLAG_QR 0x8000u
#define FLAG_TC 0x0200u
#define FLAGS_ECHOED 0x7900u /* opcode and RD */
#define RCODE_FORMERR 1
#define TIME_MAX 0xffffffffffffull /* 48 bits */
/* After the algorithm name: time (6), fudge, MAC size, ..., original ID,
 * error, other length (2 each). */
#define RDATA_FIXED 16

struct alg_info {
    const char *text;
    const uint8_t *wire;
    size_t wire_len;
    const struct nettle_hash *hash;
    size_t mac_len;
};

/* Wire names: the length byte, the label, and the string's own NUL as
 * the root label. */
#define ALG(t, w, d, n)                                                                            \
    {                                                                                              \
        t, (const uint8_t *)w, sizeof(w), d, n                                                     \
    }
static const struct alg_info algs[] = {
    [TSIG_HMAC_SHA1] = ALG("hmac-sha1", "\011hmac-sha1", &nettle_sha1, 20),
    [TSIG_HMAC_SHA224] = ALG("hmac-sha224", "\013hmac-sha224", &nettle_sha224, 28),
    [TSIG_HMAC_SHA256] = ALG("hmac-sha256", "\013hmac-sha256", &nettle_sha256, 32),
    [TSIG_HMAC_SHA384] = ALG("hmac-sha384", "\013hmac-sha384", &nettle_sha384, 48),
    [TSIG_HMAC_SHA512] = ALG("hmac-sha512", "\013hmac-sha512", &nettle_sha512, 64),
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static void put48(uint8_t *p, uint64_t v)
{
    wire_put16(p, (uint16_t)(v >> 32));
    wire_put32(p + 2, (uint32_t)v);
}

static uint64_t get48(const uint8_t *p)
{
    return (uint64_t)wire_get16(p) << 32 | wire_get32(p + 2);
}

/* ---- keys ---- */

int tsig_alg_from_text(const char *text, enum tsig_alg *alg)
{
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '.')
        n--;
    for (size_t i = 0; i < NALGS; i++) {
        if (strlen(algs[i].text) == n && strncasecmp(text, algs[i].text, n) == 0) {
            *alg = (enum tsig_alg)i;
            return 0;
        }
    }
    return ERR_NOTFOUND;
}

const char *tsig_alg_text(enum tsig_alg alg)
{
    return (size_t)alg < NALGS ? algs[alg].text : "unknown";
}

static int b64_digit(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict base64 (RFC 4648 4): whole quartets, '=' only as the padding of
 * the last one. The unused low bits of a padded quartet are ignored, as
 * BIND and OpenSSL ignore them. Returns ERR_INVAL or ERR_SPACE. */
static int base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    if (n == 0 || n % 4 != 0)
        return ERR_INVAL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int pad = 0;
        if (last && s[i + 3] == '=')
            pad = s[i + 2] == '=' ? 2 : 1;
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            int d = j < 4 - pad ? b64_digit(s[i + (size_t)j]) : 0;
            if (d < 0)
                return ERR_INVAL;
            v = v << 6 | (uint32_t)d;
        }
        size_t bytes = 3u - (size_t)pad;
        if (cap - o < bytes)
            return ERR_SPACE;
        for (size_t j = 0; j < bytes; j++)
            out[o++] = (uint8_t)(v >> (16 - 8 * j));
    }
    *outlen = o;
    return 0;
}

static int refuse(char *why, size_t whysz, const char *reason, const char *detail)
{
    if (whysz > 0)
        snprintf(why, whysz, "%s%s%s%s", reason, detail ? " '" : "", detail ? detail : "",
                 detail ? "'" : "");
    return ERR_INVAL;
}

int tsig_key_parse(const char *spec, struct tsig_key *k, char *why, size_t whysz)
{
    char buf[NAME_MAXTEXT + 64];
    memset(k, 0, sizeof(*k));
    const char *last = strrchr(spec, ':');
    if (!last)
        return refuse(why, whysz, "expected [alg:]name:base64-secret", NULL);

    const char *name = spec;
    enum tsig_alg alg = TSIG_HMAC_SHA256;
    const char *first = strchr(spec, ':');
    if (first != last) {
        if (memchr(first + 1, ':', (size_t)(last - first - 1)))
            return refuse(why, whysz, "too many ':' (expected [alg:]name:base64-secret)", NULL);
        size_t n = (size_t)(first - spec);
        if (n >= sizeof(buf))
            return refuse(why, whysz, "unknown TSIG algorithm", NULL);
        memcpy(buf, spec, n);
        buf[n] = 0;
        if (tsig_alg_from_text(buf, &alg) != 0)
            return refuse(why, whysz, "unknown TSIG algorithm", buf);
        name = first + 1;
    }

    size_t n = (size_t)(last - name);
    if (n == 0 || (n == 1 && name[0] == '.'))
        return refuse(why, whysz, "empty key name", NULL);
    if (n >= sizeof(buf))
        return refuse(why, whysz, "key name too long", NULL);
    memcpy(buf, name, n);
    buf[n] = 0;
    if (name_from_text(buf, k->name, &k->name_len) != 0)
        return refuse(why, whysz, "bad key name", buf);
    if (name_to_text(k->name, k->text, sizeof(k->text)) < 0)
        return refuse(why, whysz, "bad key name", buf);

    const char *secret = last + 1;
    int rc = base64_decode(secret, strlen(secret), k->secret, sizeof(k->secret), &k->secret_len);
    if (rc == ERR_SPACE)
        return refuse(why, whysz, "secret longer than 256 bytes", NULL);
    if (rc != 0)
        return refuse(why, whysz,
                      *secret ? "secret is not base64" : "empty secret (expected base64)", NULL);
    k->alg = alg;
    return 0;
}

/* ---- finding the record ---- */

/* Step over a name in place: labels up to a root label or a pointer. */
static int skip_name(const uint8_t *msg, size_t len, size_t *pos)
{
    size_t p = *pos;
    for (;;) {
        if (p >= len)
            return ERR_INVAL;
        uint8_t l = msg[p];
        if ((l & 0xc0) == 0xc0) {
            if (len - p < 2)
                return ERR_INVAL;
            *pos = p + 2;
            return 0;
        }
        if (l > NAME_MAXLABEL) /* extended label types (RFC 6891 5) */
            return ERR_INVAL;
        if (len - p < 1u + l)
            return ERR_INVAL;
        p += 1u + l;
        if (l == 0) {
            *pos = p;
            return 0;
        }
    }
}

/* Read a name that may be compressed, folded to lower case, into out.
 * Pointers must point strictly backwards, which bounds the walk; the
 * expanded name must fit NAME_MAXWIRE. *pos moves past the name in
 * place. */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t *out, size_t *outlen)
{
    size_t p = *pos, n = 0, after = 0;
    bool jumped = false;
    for (;;) {
        if (p >= len)
            return ERR_INVAL;
        uint8_t l = msg[p];
        if ((l & 0xc0) == 0xc0) {
            if (len - p < 2)
                return ERR_INVAL;
            size_t to = (size_t)(l & 0x3f) << 8 | msg[p + 1];
            if (to >= p)
                return ERR_INVAL;
            if (!jumped)
                after = p + 2;
            jumped = true;
            p = to;
            continue;
        }
        if (l > NAME_MAXLABEL || len - p < 1u + l || n + 1u + l > NAME_MAXWIRE)
            return ERR_INVAL;
        memcpy(out + n, msg + p, 1u + (size_t)l);
        n += 1u + l;
        p += 1u + l;
        if (l == 0)
            break;
    }
    name_lower(out);
    *outlen = n;
    *pos = jumped ? after : p;
    return 0;
}

/* Read the TSIG record at msg[start], which spans up to end. */
static int parse_tsig(const uint8_t *msg, size_t end, size_t start, struct tsig_rr *rr)
{
    size_t p = start;
    rr->start = start;
    if (read_name(msg, end, &p, rr->key_name, &rr->key_name_len) != 0)
        return ERR_INVAL;
    /* Type, class, TTL and RDLENGTH are there: the caller walked them. */
    if (wire_get16(msg + p + 2) != CLASS_ANY || wire_get32(msg + p + 4) != 0)
        return ERR_INVAL;
    size_t rdend = p + 10 + wire_get16(msg + p + 8);
    p += 10;
    if (read_name(msg, rdend, &p, rr->alg_name, &rr->alg_name_len) != 0)
        return ERR_INVAL;
    if (rdend - p < RDATA_FIXED)
        return ERR_INVAL;
    rr->time_signed = get48(msg + p);
    rr->fudge = wire_get16(msg + p + 6);
    rr->mac_len = wire_get16(msg + p + 8);
    p += 10;
    if (rdend - p < (size_t)rr->mac_len + 6)
        return ERR_INVAL;
    rr->mac = msg + p;
    p += rr->mac_len;
    rr->orig_id = wire_get16(msg + p);
    rr->error = wire_get16(msg + p + 2);
    rr->other_len = wire_get16(msg + p + 4);
    p += 6;
    if (rdend - p != rr->other_len)
        return ERR_INVAL;
    rr->other = msg + p;
    return 0;
}

int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr)
{
    if (len < WIRE_HEADER_LEN)
        return ERR_INVAL;
    unsigned qd = wire_get16(msg + 4);
    unsigned ar = wire_get16(msg + HDR_ARCOUNT);
    unsigned total = wire_get16(msg + 6) + wire_get16(msg + 8) + ar;
    size_t pos = WIRE_HEADER_LEN;
    for (unsigned i = 0; i < qd; i++) {
        if (skip_name(msg, len, &pos) != 0 || len - pos < 4)
            return ERR_INVAL;
        pos += 4;
    }
    bool found = false;
    for (unsigned i = 0; i < total; i++) {
        size_t start = pos;
        if (skip_name(msg, len, &pos) != 0 || len - pos < 10)
            return ERR_INVAL;
        size_t rdlen = wire_get16(msg + pos + 8);
        bool tsig = wire_get16(msg + pos) == TSIG_TYPE;
        pos += 10;
        if (len - pos < rdlen)
            return ERR_INVAL;
        pos += rdlen;
        if (tsig) {
            /* Only as the last record, which must be in the additional
             * section: anywhere else it signs nothing that follows. */
            if (i != total - 1 || ar == 0)
                return ERR_INVAL;
            if (parse_tsig(msg, pos, start, rr) != 0)
                return ERR_INVAL;
            found = true;
        }
    }
    if (pos != len)
        return ERR_INVAL; /* bytes no MAC would cover */
    return found ? 0 : ERR_NOTFOUND;
}

size_t tsig_strip(uint8_t *msg, const struct tsig_rr *rr)
{
    wire_put16(msg + HDR_ARCOUNT, (uint16_t)(wire_get16(msg + HDR_ARCOUNT) - 1));
    return rr->start;
}

/* ---- the MAC ---- */

/* The three hash states of an HMAC (outer, inner, running), each big
 * enough for the largest hash we use. */
struct hmac_state {
    alignas(max_align_t) uint8_t outer[sizeof(struct sha512_ctx)];
    alignas(max_align_t) uint8_t inner[sizeof(struct sha512_ctx)];
    alignas(max_align_t) uint8_t state[sizeof(struct sha512_ctx)];
};

/* What one MAC covers (RFC 8945 4.3): the prior MAC, when there is one,
 * with its length; the message without its TSIG, with the original ID and
 * the ARCOUNT it had before the TSIG was added; then all the TSIG
 * variables, or only the timers for the later messages of an answer. */
struct cover {
    const uint8_t *prior;
    size_t prior_len;
    bool has_prior;
    const uint8_t *msg;
    size_t len; /* >= WIRE_HEADER_LEN */
    uint16_t id;
    uint16_t arcount;
    bool timers_only;
    const uint8_t *alg;
    size_t alg_len;
    uint64_t time;
    uint16_t fudge;
    uint16_t error;
    const uint8_t *other;
    uint16_t other_len;
};

static void mac_add(struct hmac_state *h, const struct nettle_hash *hash, const uint8_t *p,
                    size_t n)
{
    hmac_update(h->state, hash, n, p);
}

static int compute_mac(const struct tsig_key *k, const struct cover *c, uint8_t *out,
                       size_t *outlen)
{
    const struct nettle_hash *hash = algs[k->alg].hash;
    struct hmac_state h;
    hmac_set_key(h.outer, h.inner, h.state, hash, k->secret_len, k->secret);

    uint8_t b[NAME_MAXWIRE + NAME_MAXWIRE + 32];
    size_t n = 0;
    if (c->has_prior) {
        wire_put16(b, (uint16_t)c->prior_len);
        mac_add(&h, hash, b, 2);
        mac_add(&h, hash, c->prior, c->prior_len);
    }
    memcpy(b, c->msg, WIRE_HEADER_LEN);
    wire_put16(b, c->id);
    wire_put16(b + HDR_ARCOUNT, c->arcount);
    mac_add(&h, hash, b, WIRE_HEADER_LEN);
    mac_add(&h, hash, c->msg + WIRE_HEADER_LEN, c->len - WIRE_HEADER_LEN);

    if (!c->timers_only) {
        memcpy(b, k->name, k->name_len);
        n = k->name_len;
        wire_put16(b + n, CLASS_ANY);
        wire_put32(b + n + 2, 0); /* TTL */
        n += 6;
        memcpy(b + n, c->alg, c->alg_len);
        n += c->alg_len;
    }
    put48(b + n, c->time);
    wire_put16(b + n + 6, c->fudge);
    n += 8;
    if (!c->timers_only) {
        wire_put16(b + n, c->error);
        wire_put16(b + n + 2, c->other_len);
        n += 4;
    }
    mac_add(&h, hash, b, n);
    if (!c->timers_only && c->other_len > 0)
        mac_add(&h, hash, c->other, c->other_len);
    hmac_digest(h.outer, h.inner, h.state, hash, hash->digest_size, out);
    *outlen = hash->digest_size;
    /* The key's derived pads are as secret as the key; explicit_bzero,
     * since a plain memset of a dying local is optimised away. */
    explicit_bzero(&h, sizeof(h));
    return 0;
}

static bool alg_matches(const struct tsig_key *k, const struct tsig_rr *rr)
{
    const struct alg_info *a = &algs[k->alg];
    return rr->alg_name_len == a->wire_len && memcmp(rr->alg_name, a->wire, a->wire_len) == 0;
}

static bool key_matches(const struct tsig_key *k, const struct tsig_rr *rr)
{
    return (size_t)k->alg < NALGS && rr->key_name_len == k->name_len &&
           memcmp(rr->key_name, k->name, k->name_len) == 0 && alg_matches(k, rr);
}

/* The MAC check of RFC 8945 5.2.2, with its size rules (5.2.2.1). */
static enum tsig_result check_mac(const struct tsig_key *k, const uint8_t *msg,
                                  const struct tsig_rr *rr, const uint8_t *prior, size_t prior_len,
                                  bool has_prior, bool timers_only)
{
    size_t full = algs[k->alg].mac_len;
    size_t least = full / 2 > 10 ? full / 2 : 10;
    if (rr->mac_len > full || rr->mac_len < least)
        return TSIG_FORMERR;
    if (rr->mac_len < full)
        return TSIG_BADSIG;
    if (rr->start < WIRE_HEADER_LEN)
        return TSIG_FORMERR;

    struct cover c = {
        .prior = prior,
        .prior_len = prior_len,
        .has_prior = has_prior,
        .msg = msg,
        .len = rr->start,
        .id = rr->orig_id,
        .arcount = (uint16_t)(wire_get16(msg + HDR_ARCOUNT) - 1),
        .timers_only = timers_only,
        .alg = rr->alg_name,
        .alg_len = rr->alg_name_len,
        .time = rr->time_signed,
        .fudge = rr->fudge,
        .error = rr->error,
        .other = rr->other,
        .other_len = rr->other_len,
    };
    uint8_t mac[TSIG_MAC_MAX];
    size_t mac_len = 0;
    if (compute_mac(k, &c, mac, &mac_len) != 0)
        return TSIG_INTERNAL;
    if (mac_len != full || !memeql_sec(mac, rr->mac, full))
        return TSIG_BADSIG;
    return TSIG_OK;
}

/* The window is the message's fudge, but never wider than ours: a fudge
 * of 65535 s would let a captured request be replayed for 18 hours. */
static bool time_ok(uint64_t signed_at, uint16_t fudge, time_t now)
{
    int64_t f = fudge < TSIG_FUDGE ? fudge : TSIG_FUDGE;
    int64_t d = (int64_t)now - (int64_t)signed_at;
    return d <= f && d >= -f;
}

const char *tsig_result_str(enum tsig_result r)
{
    switch (r) {
    case TSIG_OK:
        return "ok";
    case TSIG_FORMERR:
        return "malformed TSIG";
    case TSIG_BADKEY:
        return "unknown key or algorithm";
    case TSIG_BADSIG:
        return "bad signature";
    case TSIG_BADTIME:
        return "signed outside the time fudge";
    case TSIG_UNSIGNED:
        return "not signed";
    case TSIG_PEER_ERROR:
        return "refused by the peer";
    case TSIG_INTERNAL:
        return "internal error";
    }
    return "unknown result";
}

void tsig_ctx_init(struct tsig_ctx *ctx, const struct tsig_key *key)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->key = key;
    ctx->phase = TSIG_PHASE_REQUEST;
}

enum tsig_result tsig_verify_request(const struct tsig_key *keys, size_t nkeys, const uint8_t *msg,
                                     size_t len, const struct tsig_rr *rr, time_t now,
                                     struct tsig_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->phase = TSIG_PHASE_FIRST;
    if (rr->start < WIRE_HEADER_LEN || rr->start > len)
        return TSIG_FORMERR;
    const struct tsig_key *k = NULL;
    for (size_t i = 0; i < nkeys && !k; i++)
        if (key_matches(&keys[i], rr))
            k = &keys[i];
    if (!k)
        return TSIG_BADKEY;
    ctx->key = k;
    enum tsig_result res = check_mac(k, msg, rr, NULL, 0, false, false);
    if (res != TSIG_OK)
        return res;
    memcpy(ctx->mac, rr->mac, rr->mac_len);
    ctx->mac_len = rr->mac_len;
    ctx->time_signed = rr->time_signed;
    return time_ok(rr->time_signed, rr->fudge, now) ? TSIG_OK : TSIG_BADTIME;
}

size_t tsig_space(const struct tsig_key *key)
{
    return key->name_len + 10 + algs[key->alg].wire_len + RDATA_FIXED + algs[key->alg].mac_len;
}

/* Write a TSIG RR at p (the caller checked the room); returns its size. */
static size_t put_rr(uint8_t *p, const uint8_t *owner, size_t owner_len, const uint8_t *alg,
                     size_t alg_len, uint64_t time, uint16_t fudge, const uint8_t *mac,
                     size_t mac_len, uint16_t id, uint16_t error, const uint8_t *other,
                     uint16_t other_len)
{
    size_t n = 0;
    memcpy(p, owner, owner_len);
    n += owner_len;
    size_t rdlen = alg_len + RDATA_FIXED + mac_len + other_len;
    wire_put16(p + n, TSIG_TYPE);
    wire_put16(p + n + 2, CLASS_ANY);
    wire_put32(p + n + 4, 0);
    wire_put16(p + n + 8, (uint16_t)rdlen);
    n += 10;
    memcpy(p + n, alg, alg_len);
    n += alg_len;
    put48(p + n, time);
    wire_put16(p + n + 6, fudge);
    wire_put16(p + n + 8, (uint16_t)mac_len);
    n += 10;
    if (mac_len > 0)
        memcpy(p + n, mac, mac_len);
    n += mac_len;
    wire_put16(p + n, id);
    wire_put16(p + n + 2, error);
    wire_put16(p + n + 4, other_len);
    n += 6;
    if (other_len > 0)
        memcpy(p + n, other, other_len);
    return n + other_len;
}

/* Sign msg[0..*len) as a message of ctx's exchange with the given time,
 * error and other data; the phase is the caller's to advance. */
static int sign_with(const struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
                     uint64_t time, uint16_t error, const uint8_t *other, uint16_t other_len,
                     uint8_t *mac, size_t *mac_len)
{
    const struct tsig_key *k = ctx->key;
    const struct alg_info *a = &algs[k->alg];
    if (*len < WIRE_HEADER_LEN || cap < *len)
        return ERR_INVAL;
    if (cap - *len < tsig_space(k) + other_len)
        return ERR_SPACE;
    uint16_t ar = wire_get16(msg + HDR_ARCOUNT);
    if (ar == UINT16_MAX)
        return ERR_RANGE;
    struct cover c = {
        .prior = ctx->mac,
        .prior_len = ctx->mac_len,
        .has_prior = ctx->phase != TSIG_PHASE_REQUEST,
        .msg = msg,
        .len = *len,
        .id = wire_get16(msg),
        .arcount = ar,
        .timers_only = ctx->phase == TSIG_PHASE_NEXT,
        .alg = a->wire,
        .alg_len = a->wire_len,
        .time = time,
        .fudge = TSIG_FUDGE,
        .error = error,
        .other = other,
        .other_len = other_len,
    };
    int rc = compute_mac(k, &c, mac, mac_len);
    if (rc != 0)
        return rc;
    *len += put_rr(msg + *len, k->name, k->name_len, a->wire, a->wire_len, time, TSIG_FUDGE, mac,
                   *mac_len, c.id, error, other, other_len);
    wire_put16(msg + HDR_ARCOUNT, (uint16_t)(ar + 1));
    return 0;
}

static bool clock_ok(time_t now)
{
    return now >= 0 && (uint64_t)now <= TIME_MAX;
}

int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap, time_t now)
{
    if (!ctx->key || (size_t)ctx->key->alg >= NALGS || !clock_ok(now))
        return ERR_INVAL;
    uint8_t mac[TSIG_MAC_MAX];
    size_t mac_len = 0;
    int rc = sign_with(ctx, msg, len, cap, (uint64_t)now, 0, NULL, 0, mac, &mac_len);
    if (rc != 0)
        return rc;
    memcpy(ctx->mac, mac, mac_len);
    ctx->mac_len = mac_len;
    if (ctx->phase == TSIG_PHASE_REQUEST)
        ctx->time_signed = (uint64_t)now;
    ctx->phase = ctx->phase == TSIG_PHASE_REQUEST ? TSIG_PHASE_FIRST : TSIG_PHASE_NEXT;
    return 0;
}

enum tsig_result tsig_verify_response(struct tsig_ctx *ctx, const uint8_t *msg, size_t len,
                                      time_t now)
{
    if (!ctx->key || ctx->phase == TSIG_PHASE_REQUEST)
        return TSIG_INTERNAL;
    struct tsig_rr rr;
    int rc = tsig_find(msg, len, &rr);
    if (rc == ERR_NOTFOUND)
        return TSIG_UNSIGNED;
    if (rc != 0)
        return TSIG_FORMERR;
    if (!key_matches(ctx->key, &rr))
        return TSIG_BADKEY;
    if (rr.error != 0 && rr.mac_len == 0) {
        ctx->peer_error = rr.error;
        return TSIG_PEER_ERROR;
    }
    enum tsig_result res =
        check_mac(ctx->key, msg, &rr, ctx->mac, ctx->mac_len, true, ctx->phase == TSIG_PHASE_NEXT);
    if (res != TSIG_OK)
        return res;
    if (rr.error != 0) {
        ctx->peer_error = rr.error;
        if (rr.error == TSIG_ERR_BADTIME && rr.other_len == 6)
            ctx->peer_time = get48(rr.other);
        return TSIG_PEER_ERROR;
    }
    if (!time_ok(rr.time_signed, rr.fudge, now))
        return TSIG_BADTIME;
    memcpy(ctx->mac, rr.mac, rr.mac_len);
    ctx->mac_len = rr.mac_len;
    ctx->phase = TSIG_PHASE_NEXT;
    return TSIG_OK;
}

/* The length of the request's one question (name and type and class)
 * when it can be echoed: uncompressed, well-formed, complete; else 0. */
static size_t question_len(const uint8_t *req, size_t len)
{
    if (wire_get16(req + 4) != 1)
        return 0;
    size_t p = WIRE_HEADER_LEN;
    for (;;) {
        if (p >= len || req[p] > NAME_MAXLABEL || len - p < 1u + req[p])
            return 0;
        uint8_t l = req[p];
        p += 1u + l;
        if (p - WIRE_HEADER_LEN > NAME_MAXWIRE)
            return 0;
        if (l == 0)
            break;
    }
    if (len - p < 4)
        return 0;
    return p + 4 - WIRE_HEADER_LEN;
}

/* The error reply without its TSIG, TC set: it does not fit in what the
 * client can take over UDP (long key and question names, no EDNS), and
 * a cut TSIG would be none; over TCP it gets the whole reply. RFC 8945
 * has no word for this case (its error replies are the question and the
 * TSIG, which here is what does not fit; it comes of a request already
 * over 512 bytes without EDNS); a truncated reply is what any DNS client
 * knows to ask again over TCP for. */
static int tsig_error_truncated(uint8_t *out, size_t len, size_t *outlen)
{
    wire_put16(out + 2, (uint16_t)(wire_get16(out + 2) | FLAG_TC));
    wire_put16(out + HDR_ARCOUNT, 0);
    *outlen = len;
    return 0;
}

int tsig_error_reply(const struct tsig_ctx *ctx, enum tsig_result res, const struct tsig_rr *rr,
                     const uint8_t *req, size_t reqlen, uint8_t *out, size_t cap, size_t *outlen,
                     time_t now)
{
    if (reqlen < WIRE_HEADER_LEN)
        return ERR_INVAL;
    uint16_t error;
    switch (res) {
    case TSIG_FORMERR:
        error = 0;
        break;
    case TSIG_BADKEY:
        error = TSIG_ERR_BADKEY;
        break;
    case TSIG_BADSIG:
        error = TSIG_ERR_BADSIG;
        break;
    case TSIG_BADTIME:
        error = TSIG_ERR_BADTIME;
        if (!ctx || !ctx->key || (size_t)ctx->key->alg >= NALGS || !clock_ok(now))
            return ERR_INVAL;
        break;
    default:
        return ERR_INVAL;
    }
    if (error != 0 && error != TSIG_ERR_BADTIME && !rr)
        return ERR_INVAL;

    size_t qlen = question_len(req, reqlen);
    if (cap < WIRE_HEADER_LEN + qlen)
        return ERR_SPACE;
    uint16_t rcode = res == TSIG_FORMERR ? RCODE_FORMERR : TSIG_RCODE_NOTAUTH;
    wire_put16(out, wire_get16(req));
    wire_put16(out + 2, (uint16_t)(FLAG_QR | (wire_get16(req + 2) & FLAGS_ECHOED) | rcode));
    wire_put16(out + 4, qlen ? 1 : 0);
    wire_put16(out + 6, 0);
    wire_put16(out + 8, 0);
    wire_put16(out + 10, 0);
    memcpy(out + WIRE_HEADER_LEN, req + WIRE_HEADER_LEN, qlen);
    size_t len = WIRE_HEADER_LEN + qlen;

    if (res == TSIG_BADTIME) {
        /* Signed as the answer to the request (its MAC comes first), with
         * the request's time and ours in Other Data (RFC 8945 5.2.3). */
        uint8_t other[6], mac[TSIG_MAC_MAX];
        size_t mac_len = 0;
        put48(other, (uint64_t)now);
        struct tsig_ctx first = *ctx;
        first.phase = TSIG_PHASE_FIRST;
        int rc =
            sign_with(&first, out, &len, cap, ctx->time_signed, error, other, 6, mac, &mac_len);
        if (rc == ERR_SPACE)
            return tsig_error_truncated(out, len, outlen);
        if (rc != 0)
            return rc;
    } else if (res != TSIG_FORMERR) {
        /* Unsigned: we do not share the key, or the MAC proved nothing,
         * so the request's MAC may not be used (RFC 8945 5.3.2). */
        size_t need = rr->key_name_len + 10 + rr->alg_name_len + RDATA_FIXED;
        if (cap - len < need)
            return tsig_error_truncated(out, len, outlen);
        len += put_rr(out + len, rr->key_name, rr->key_name_len, rr->alg_name, rr->alg_name_len,
                      rr->time_signed, rr->fudge, NULL, 0, wire_get16(req), error, NULL, 0);
        wire_put16(out + HDR_ARCOUNT, 1);
    }
    *outlen = len;
    return 0;
}
