/* TSIG (RFC 8945): shared-secret HMAC signatures on DNS messages, for
 * signed queries, zone transfers and NOTIFY. Wire level only: the caller
 * owns every buffer and decides which keys a peer may use. */
#ifndef DBK_WIRE_TSIG_H
#define DBK_WIRE_TSIG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/name.h"

#define TSIG_TYPE 250
#define TSIG_MAC_MAX 64     /* HMAC-SHA512, the longest MAC we compute */
#define TSIG_SECRET_MAX 256 /* HMAC hashes longer keys first; 256 bytes is plenty */
#define TSIG_FUDGE 300      /* seconds of clock skew our signatures allow (RFC 8945 10) */

/* The TSIG Error field (RFC 8945 3) and the rcode of its error replies. */
enum {
    TSIG_ERR_BADSIG = 16,
    TSIG_ERR_BADKEY = 17,
    TSIG_ERR_BADTIME = 18,
    TSIG_ERR_BADTRUNC = 22,
};
#define TSIG_RCODE_NOTAUTH 9

/* The algorithms RFC 8945 6 lists as mandatory or recommended; MD5 and
 * GSS-TSIG are not supported (a request using them is BADKEY). */
enum tsig_alg {
    TSIG_HMAC_SHA1,
    TSIG_HMAC_SHA224,
    TSIG_HMAC_SHA256,
    TSIG_HMAC_SHA384,
    TSIG_HMAC_SHA512,
};

/* One shared secret. Plain data: copy it, keep arrays of it. */
struct tsig_key {
    uint8_t name[NAME_MAXWIRE]; /* wire form, folded to lower case */
    size_t name_len;
    enum tsig_alg alg;
    uint8_t secret[TSIG_SECRET_MAX];
    size_t secret_len;
    char text[NAME_MAXTEXT]; /* the name as text, for logs (never the secret) */
};

/* Parse "[alg:]name:base64secret", the form `dig -y` and `kdig -y` take;
 * alg defaults to hmac-sha256. On error returns ERR_INVAL and writes the
 * reason to why (when whysz > 0). */
int tsig_key_parse(const char *spec, struct tsig_key *k, char *why, size_t whysz);

/* "hmac-sha256" and friends, case-insensitive, with or without the final
 * dot: 0, or ERR_NOTFOUND for an algorithm we do not implement. */
int tsig_alg_from_text(const char *text, enum tsig_alg *alg);
const char *tsig_alg_text(enum tsig_alg alg);

/* A message's TSIG record, as tsig_find read it. The pointers point into
 * the message, so they live as long as it does. */
struct tsig_rr {
    size_t start;                   /* offset of its owner name: what is signed ends here */
    uint8_t key_name[NAME_MAXWIRE]; /* decompressed, folded to lower case */
    size_t key_name_len;
    uint8_t alg_name[NAME_MAXWIRE]; /* the same */
    size_t alg_name_len;
    uint64_t time_signed; /* seconds since the epoch, 48 bits */
    uint16_t fudge;
    const uint8_t *mac;
    uint16_t mac_len;
    uint16_t orig_id;
    uint16_t error;
    const uint8_t *other;
    uint16_t other_len;
};

/* Find the TSIG of a message. It must be the one last record of the
 * additional section (RFC 8945 5.1), of class ANY and TTL 0, with RDATA
 * that its fields fill exactly, and nothing may follow it. Returns 0 when
 * found; ERR_NOTFOUND when the message is well-formed and unsigned;
 * ERR_INVAL when it is malformed (records running past the end, trailing
 * bytes, a TSIG elsewhere or twice): the caller answers FORMERR. Reads
 * every record header, and allocates nothing. */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr);

/* Remove a found TSIG from the message in place (ARCOUNT decremented) and
 * return the new length, so that a parser that knows nothing of TSIG
 * (wire_parse_query) reads the rest. Verify first: the MAC needs the
 * message as it came. */
size_t tsig_strip(uint8_t *msg, const struct tsig_rr *rr);

/* Where an exchange stands. A request is signed with no prior MAC; the
 * first message answering it covers the request's MAC and all the TSIG
 * variables; every later message of a multi-message answer (AXFR/IXFR
 * over TCP) covers the previous MAC and the timers only (RFC 8945 5.3.1). */
enum tsig_phase { TSIG_PHASE_REQUEST, TSIG_PHASE_FIRST, TSIG_PHASE_NEXT };

/* The state of one exchange: a request and its answer's messages. */
struct tsig_ctx {
    const struct tsig_key *key; /* NULL when the request's key was unknown */
    enum tsig_phase phase;
    uint8_t mac[TSIG_MAC_MAX]; /* the exchange's last MAC (the prior MAC) */
    size_t mac_len;
    uint64_t time_signed; /* the request's (a BADTIME reply echoes it) */
    uint16_t peer_error;  /* TSIG_PEER_ERROR: the Error field the peer sent */
    uint64_t peer_time;   /* its clock, when that was BADTIME */
};

enum tsig_result {
    TSIG_OK,
    TSIG_FORMERR,    /* malformed; the reply is FORMERR without a TSIG */
    TSIG_BADKEY,     /* unknown key name, or a known name with another algorithm */
    TSIG_BADSIG,     /* the MAC is wrong (or truncated, which we do not accept) */
    TSIG_BADTIME,    /* the MAC is right, the time is outside the fudge */
    TSIG_UNSIGNED,   /* a response to a signed request came without a TSIG */
    TSIG_PEER_ERROR, /* the response carries a TSIG error: see ctx->peer_error */
    TSIG_INTERNAL,   /* the ctx is not awaiting this: SERVFAIL */
};

/* What a result means, for logs. */
const char *tsig_result_str(enum tsig_result r);

/* Start the exchange of a request we sign ourselves (NOTIFY, an SOA query):
 * tsig_sign then signs the request, tsig_verify_response checks the answer. */
void tsig_ctx_init(struct tsig_ctx *ctx, const struct tsig_key *key);

/* Check a request whose TSIG tsig_find returned in rr, against the keys we
 * share, in the order RFC 8945 5.2 gives: key (BADKEY), MAC (BADSIG),
 * time, |now - time signed| <= the request's fudge (BADTIME). The MAC is
 * over the message up to rr->start, with ARCOUNT decremented and the
 * original ID in place of the header's, then the TSIG variables. MACs are
 * compared in constant time. Truncated MACs (RFC 8945 5.2.2.1): a MAC Size
 * above the algorithm's output, or below max(10, output / 2), is FORMERR
 * as the RFC says; a shorter MAC the RFC would allow is BADSIG, since we
 * accept full-length MACs only (everyone sends them).
 * On TSIG_OK and TSIG_BADTIME, ctx is ready to sign the answer (the key,
 * which must outlive ctx, and the request's MAC and time); on TSIG_BADSIG
 * ctx->key names the key for the logs. Answer anything but TSIG_OK with
 * tsig_error_reply. The HMAC (nettle's) allocates nothing; its state is
 * on the stack. */
enum tsig_result tsig_verify_request(const struct tsig_key *keys, size_t nkeys, const uint8_t *msg,
                                     size_t len, const struct tsig_rr *rr, time_t now,
                                     struct tsig_ctx *ctx);

/* Sign the message msg[0..*len) in place: append a TSIG with our time and
 * TSIG_FUDGE, bump ARCOUNT, advance *len, remember the MAC as the next
 * prior MAC. What is covered follows ctx->phase: a request (after
 * tsig_ctx_init), the first answer to a verified request, or a later
 * message of the same answer; call it once per message, in order. For an
 * answer the caller writes the message with the request's ID (the TSIG's
 * Original ID is the header's). Returns ERR_SPACE, leaving the message
 * untouched, when cap - *len < tsig_space(ctx->key); ERR_RANGE when
 * ARCOUNT is already 65535; ERR_INVAL without a key or with a clock before
 * 1970. */
int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap, time_t now);

/* The bytes tsig_sign appends for this key, so a writer can keep them
 * free (e.g. subtract them from its size limit). */
size_t tsig_space(const struct tsig_key *key);

/* Check a response (the answer to our NOTIFY, or each message of a
 * transfer in order) against the exchange in ctx, which tsig_sign put
 * after the request. On TSIG_OK the next call checks the next message.
 * A TSIG error from the peer gives TSIG_PEER_ERROR with ctx->peer_error
 * set (and ctx->peer_time for a BADTIME the peer signed); an unsigned
 * BADKEY/BADSIG reply cannot be authenticated and is reported as such.
 * Every message must be signed: the up to 99 unsigned messages RFC 8945
 * 5.3.1 lets a transfer interleave give TSIG_UNSIGNED (we never receive
 * transfers). */
enum tsig_result tsig_verify_response(struct tsig_ctx *ctx, const uint8_t *msg, size_t len,
                                      time_t now);

/* Write into out the reply to a request that failed verification with
 * res (RFC 8945 5.3.2): the request's ID, opcode and RD, QR set, the
 * question echoed when the request has one readable question, and
 *   TSIG_FORMERR: rcode FORMERR, no TSIG (rr and ctx unused, may be NULL);
 *   TSIG_BADKEY, TSIG_BADSIG: rcode NOTAUTH and an unsigned TSIG (empty
 *     MAC) naming the request's key and algorithm, from rr;
 *   TSIG_BADTIME: rcode NOTAUTH and a TSIG signed with ctx (as tsig_sign
 *     would, ctx left as it was) whose Time Signed is the request's and
 *     whose Other Data is our clock, so the client can see the skew.
 * cap is the most the client takes (a UDP client without EDNS: 512):
 * a reply whose TSIG would not fit is the header and question alone with
 * TC set, so that the client asks again over TCP.
 * out must not overlap req. Returns 0 and the length in *outlen, ERR_SPACE
 * when not even the header and question fit, ERR_INVAL for another res or
 * a request shorter than a header. */
int tsig_error_reply(const struct tsig_ctx *ctx, enum tsig_result res, const struct tsig_rr *rr,
                     const uint8_t *req, size_t reqlen, uint8_t *out, size_t cap, size_t *outlen,
                     time_t now);

#endif
