/* The answer path: RFC 1035/2308/5782/6891/8482 semantics on top of the
 * zone's datasets. */
#include "server/answer.h"
#include "common/err.h"
#include "common/log.h"
#include "wire/wire.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum { DNS_CLASS_IN = 1, DNS_CLASS_ANY = 255, DNS_TYPE_MAILB = 253, DNS_TYPE_MAILA = 254 };

#define ANSWER_MAX_WRITTEN 128

/* What has been written to the answer section, to skip duplicates when
 * several datasets list the same address with the same value. */
struct answer_seen {
    unsigned n;
    struct {
        uint16_t type;
        uint16_t len;
        const uint8_t *rdata;
        const char *subject;
    } rr[ANSWER_MAX_WRITTEN];
};

static bool answer_seen_dup(struct answer_seen *seen, const struct ds_rr *rr, const char *subject)
{
    for (unsigned i = 0; i < seen->n; i++) {
        if (seen->rr[i].type == rr->type && seen->rr[i].len == rr->rdlen &&
            (seen->rr[i].rdata == rr->rdata || !memcmp(seen->rr[i].rdata, rr->rdata, rr->rdlen)) &&
            (rr->type != DNS_TYPE_TXT || seen->rr[i].subject == subject))
            return true;
    }
    if (seen->n < ANSWER_MAX_WRITTEN) {
        seen->rr[seen->n].type = rr->type;
        seen->rr[seen->n].len = rr->rdlen;
        seen->rr[seen->n].rdata = rr->rdata;
        seen->rr[seen->n].subject = subject;
        seen->n++;
    }
    return false;
}

/* Precedence of ACL verdicts when the global and the zone ACL differ. */
static int answer_acl_rank(enum ds_acl_action a)
{
    switch (a) {
    case DS_ACL_IGNORE:
        return 4;
    case DS_ACL_REFUSE:
        return 3;
    case DS_ACL_EMPTY:
        return 2;
    case DS_ACL_LISTED:
        return 1;
    default:
        return 0;
    }
}

/* Whether a query name is one a dataset of these families could list:
 * what an ACL's "always listed" answers for. */
static bool answer_valid_name(unsigned family, const struct ds_query *q)
{
    if ((family & DS_FAM_IP4) && q->ip4_octets == 4)
        return true;
    if ((family & DS_FAM_IP6) && q->ip6_nibbles == 32)
        return true;
    return (family & DS_FAM_NAME) && q->sublabels > 0;
}

/* Whether the name is one of the RFC 5782 test entries for these
 * families; they stay right even for clients an ACL lies to. */
static bool answer_test_entry(unsigned family, const struct ds_query *q)
{
    if ((family & DS_FAM_IP4) && q->ip4_octets == 4 &&
        (q->ip4 == 0x7f000001u || q->ip4 == 0x7f000002u))
        return true;
    static const uint8_t mapped[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x7f, 0};
    if ((family & DS_FAM_IP6) && q->ip6_nibbles == 32 && !memcmp(q->ip6, mapped, 14) &&
        q->ip6[14] == 0 && (q->ip6[15] == 1 || q->ip6[15] == 2))
        return true;
    return (family & DS_FAM_NAME) && q->sublabels == 1 &&
           ((q->sublen == 5 && !memcmp(q->sub, "\x04test", 5)) ||
            (q->sublen == 8 && !memcmp(q->sub, "\x07invalid", 8)));
}

/* $TIMESTAMP expiry: data past its expiry time must not be served. */
static bool answer_expired(const struct zone *z, const struct zone *gacl)
{
    time_t now = time(NULL);
    return (z->expires && now >= z->expires) || (gacl && gacl->expires && now >= gacl->expires);
}

static uint32_t answer_ttl(const struct answer_opts *o, uint32_t ttl)
{
    if (ttl < o->ttl_min)
        return o->ttl_min;
    if (ttl > o->ttl_max)
        return o->ttl_max;
    return ttl;
}

struct answer_state {
    struct wire_reply r;
    const struct answer_opts *opts;
    uint16_t qtype;
    uint16_t any_type; /* for ANY: the one RRset type we answer (RFC 8482) */
    unsigned answered;
    bool exists;
    bool full; /* a record did not fit: stop adding */
    struct answer_seen seen;
    const struct zone *zone; /* once known: its counters take the result */
};

static unsigned answer_qtype_slot(uint16_t t)
{
    switch (t) {
    case DNS_TYPE_A:
        return ANSWER_QT_A;
    case DNS_TYPE_TXT:
        return ANSWER_QT_TXT;
    case DNS_TYPE_AAAA:
        return ANSWER_QT_AAAA;
    case DNS_TYPE_ANY:
        return ANSWER_QT_ANY;
    case DNS_TYPE_SOA:
        return ANSWER_QT_SOA;
    case DNS_TYPE_NS:
        return ANSWER_QT_NS;
    default:
        return ANSWER_QT_OTHER;
    }
}

const char *answer_qtype_name(unsigned slot)
{
    static const char *const names[ANSWER_QTYPES] = {"a",   "txt", "aaaa", "any",
                                                     "soa", "ns",  "other"};
    return slot < ANSWER_QTYPES ? names[slot] : "?";
}

const char *answer_result_name(unsigned slot)
{
    static const char *const names[ANSWER_RESULTS] = {
        "listed", "nodata", "nxdomain", "refused", "servfail", "notimp", "dropped", "refused_key"};
    return slot < ANSWER_RESULTS ? names[slot] : "?";
}

/* Count the result against the zone, once it is known. */
static void answer_zone_count(const struct answer_state *st, struct answer_stats *stats,
                              unsigned result)
{
    if (!st->zone)
        return;
    _Atomic uint64_t *c = &stats->zone[st->zone->stat_slot][answer_qtype_slot(st->qtype)][result];
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Copy the records of one dataset result that match the query type. */
static void answer_add_result(struct answer_state *st, const struct ds_result *res)
{
    if (res->exists)
        st->exists = true;
    for (unsigned i = 0; i < res->nrr && !st->full; i++) {
        const struct ds_rr *rr = &res->rr[i];
        if (st->qtype == DNS_TYPE_ANY) {
            if (st->any_type == 0)
                st->any_type = rr->type;
            if (rr->type != st->any_type)
                continue;
        } else if (rr->type != st->qtype) {
            continue;
        }
        if (answer_seen_dup(&st->seen, rr, res->subject))
            continue;
        uint32_t ttl = answer_ttl(st->opts, rr->ttl);
        int rc;
        if (rr->type == DNS_TYPE_TXT)
            rc = wire_reply_add_txt(&st->r, WIRE_ANSWER, NULL, ttl, (const char *)rr->rdata,
                                    rr->rdlen, res->subject ? res->subject : "",
                                    res->subject ? res->subject_len : 0);
        else
            rc = wire_reply_add(&st->r, WIRE_ANSWER, NULL, rr->type, ttl, rr->rdata, rr->rdlen);
        if (rc == ERR_SPACE) {
            st->full = true;
            return;
        }
        if (rc == 0)
            st->answered++;
    }
}

/* The offset in lname of the last label before the apex at apex_off
 * (which is past the first label). */
static size_t answer_last_label(const uint8_t *lname, size_t apex_off)
{
    size_t i = 0;
    for (;;) {
        size_t next = i + 1 + lname[i];
        if (next >= apex_off)
            return i;
        i = next;
    }
}

static void answer_apex(struct answer_state *st, const struct zone *z)
{
    uint16_t t = st->qtype;
    st->exists = true;
    if (t == DNS_TYPE_SOA || t == DNS_TYPE_ANY) {
        if (wire_reply_add(&st->r, WIRE_ANSWER, NULL, DNS_TYPE_SOA,
                           answer_ttl(st->opts, z->soa_ttl), z->soa_rdata, z->soa_rdlen) == 0)
            st->answered++;
        if (t == DNS_TYPE_ANY)
            st->any_type = DNS_TYPE_SOA;
    } else if (t == DNS_TYPE_NS) {
        for (unsigned i = 0; i < z->ns.count; i++) {
            if (wire_reply_add(&st->r, WIRE_ANSWER, NULL, DNS_TYPE_NS,
                               answer_ttl(st->opts, z->ns.ttl ? z->ns.ttl : z->soa_ttl),
                               z->ns.name[i], (uint16_t)name_wire_len(z->ns.name[i])) == 0)
                st->answered++;
            else
                break;
        }
    }
}

static void answer_authority_soa(struct answer_state *st, const struct zone *z)
{
    wire_reply_add(&st->r, WIRE_AUTHORITY, z->apex, DNS_TYPE_SOA, answer_ttl(st->opts, z->neg_ttl),
                   z->soa_rdata, z->soa_rdlen);
}

static void answer_authority_ns(struct answer_state *st, const struct zone *z)
{
    for (unsigned i = 0; i < z->ns.count; i++)
        if (wire_reply_add(&st->r, WIRE_AUTHORITY, z->apex, DNS_TYPE_NS,
                           answer_ttl(st->opts, z->ns.ttl ? z->ns.ttl : z->soa_ttl), z->ns.name[i],
                           (uint16_t)name_wire_len(z->ns.name[i])) < 0)
            break;
}

static size_t answer_finish(struct answer_state *st, struct answer_stats *stats)
{
    size_t len = wire_reply_finish(&st->r);
    if (st->r.truncated)
        ANSWER_STAT_INC(stats, truncated);
    return len;
}

static size_t answer_rcode(struct answer_state *st, enum wire_rcode rc, struct answer_stats *stats)
{
    wire_reply_set_rcode(&st->r, rc);
    if (rc == WIRE_RCODE_REFUSED) {
        ANSWER_STAT_INC(stats, refused);
        answer_zone_count(st, stats, ANSWER_RES_REFUSED);
    } else if (rc == WIRE_RCODE_SERVFAIL) {
        ANSWER_STAT_INC(stats, servfail);
        answer_zone_count(st, stats, ANSWER_RES_SERVFAIL);
    } else if (rc == WIRE_RCODE_FORMERR) {
        ANSWER_STAT_INC(stats, formerr);
    } else if (rc == WIRE_RCODE_NOTIMP) {
        ANSWER_STAT_INC(stats, notimp);
        answer_zone_count(st, stats, ANSWER_RES_NOTIMP);
    }
    return answer_finish(st, stats);
}

static void answer_xfr_init(struct answer_state *st, const struct answer_opts *opts,
                            const struct wire_query *q, bool tcp, uint8_t *out, size_t outcap)
{
    size_t limit = tcp ? WIRE_TCP_MAX : (q->edns ? q->edns_udp : WIRE_UDP_MIN);
    wire_reply_init(&st->r, out, outcap, limit < outcap ? limit : outcap, q);
    st->opts = opts;
    st->qtype = q->qtype;
    st->any_type = 0;
    st->answered = 0;
    st->exists = false;
    st->full = false;
    st->seen.n = 0;
    st->zone = NULL;
}

size_t answer_xfr(const struct answer_opts *opts, const struct xfr_request *rq, enum xfr_verdict v,
                  const struct zone *z, bool tcp, uint8_t *out, size_t outcap,
                  struct answer_stats *stats)
{
    struct answer_state st;
    answer_xfr_init(&st, opts, &rq->q, tcp, out, outcap);
    st.zone = z;
    switch (v) {
    case XFR_SOA_ONLY:
        /* RFC 1995 2 and 4: our version; over UDP, a sign to use TCP. */
        if (wire_reply_add(&st.r, WIRE_ANSWER, NULL, DNS_TYPE_SOA, answer_ttl(opts, z->soa_ttl),
                           z->soa_rdata, z->soa_rdlen) == 0)
            st.answered++;
        ANSWER_STAT_INC(stats, listed);
        answer_zone_count(&st, stats, ANSWER_RES_LISTED);
        return answer_finish(&st, stats);
    case XFR_REFUSED:
        if (!z)
            wire_reply_set_aa(&st.r, false);
        return answer_rcode(&st, WIRE_RCODE_REFUSED, stats);
    case XFR_NOTAUTH:
        /* RFC 5936 2.2.1: a name we serve that is no zone's apex. */
        wire_reply_set_aa(&st.r, false);
        answer_rcode(&st, WIRE_RCODE_REFUSED, stats);
        wire_reply_set_rcode(&st.r, (enum wire_rcode)9);
        return answer_finish(&st, stats);
    case XFR_NOTIMP:
        return answer_rcode(&st, WIRE_RCODE_NOTIMP, stats);
    case XFR_GO:
    case XFR_SERVFAIL:
    default:
        return answer_rcode(&st, WIRE_RCODE_SERVFAIL, stats);
    }
}

/* ---- signed requests (RFC 8945) ------------------------------------------- */

int answer_tsig_verify(const struct answer_opts *opts, const uint8_t *req, size_t reqlen,
                       const struct tsig_rr *rr, const struct sockaddr *client, bool udp,
                       struct tsig_ctx *ctx, uint8_t *copy, size_t *copylen, uint8_t *out,
                       size_t outcap, size_t *outlen, struct answer_stats *stats)
{
    time_t now = time(NULL);
    enum tsig_result r = tsig_verify_request(opts->keys, opts->nkeys, req, reqlen, rr, now, ctx);
    memcpy(copy, req, reqlen);
    *copylen = tsig_strip(copy, rr);
    *outlen = 0;
    if (r == TSIG_OK)
        return 0;
    /* The log names the question, read from the request without its
     * TSIG; the client, the key it named and what was wrong. */
    struct xfr_request xrq;
    struct wire_query q;
    if (wire_parse_query(copy, *copylen, &q) == 0)
        xfr_request_from(&xrq, &q);
    else if (xfr_parse_ixfr(copy, *copylen, &xrq) != 0) {
        memset(&xrq, 0, sizeof(xrq));
        xrq.q.qtype = DNS_TYPE_SOA;
    }
    char key[NAME_MAXTEXT], why[NAME_MAXTEXT + 96];
    if (name_to_text(rr->key_name, key, sizeof(key)) < 0)
        snprintf(key, sizeof(key), "?");
    snprintf(why, sizeof(why), "TSIG %s (key %s)", tsig_result_str(r), key);
    xfr_refusal(opts->xfr, &xrq, client, why);
    if (r == TSIG_FORMERR)
        ANSWER_STAT_INC(stats, formerr);
    else
        ANSWER_STAT_INC(stats, refused);
    size_t n, cap = outcap;
    if (udp) {
        size_t limit = xrq.q.edns ? xrq.q.edns_udp : WIRE_UDP_MIN;
        cap = limit < cap ? limit : cap;
    }
    if (tsig_error_reply(ctx, r, rr, req, reqlen, out, cap, &n, now) == 0)
        *outlen = n;
    return ERR_PERM;
}

void answer_tsig_sign(struct tsig_ctx *ctx, uint8_t *out, size_t *len, size_t outcap)
{
    int rc = tsig_sign(ctx, out, len, outcap, time(NULL));
    if (rc < 0)
        log_warning("cannot sign an answer with TSIG key %s: %s", ctx->key ? ctx->key->text : "?",
                    err_str(rc));
}

static size_t answer_request(const struct snapshot *snap, const struct answer_opts *opts,
                             const uint8_t *req, size_t reqlen, const struct sockaddr *client,
                             bool tcp, uint8_t *out, size_t outcap, struct answer_stats *stats,
                             const struct tsig_key *signer, size_t reserve);

/* A request the parser refused because of its TSIG: verified, answered
 * without it, the answer signed. Only such requests come here, so
 * unsigned queries pay nothing for it. */
static size_t answer_signed(const struct snapshot *snap, const struct answer_opts *opts,
                            const uint8_t *req, size_t reqlen, const struct tsig_rr *rr,
                            const struct sockaddr *client, bool tcp, uint8_t *out, size_t outcap,
                            struct answer_stats *stats)
{
    uint8_t copy[WIRE_TCP_MAX];
    struct tsig_ctx ctx;
    size_t clen, n;
    if (reqlen > sizeof(copy))
        return 0;
    if (answer_tsig_verify(opts, req, reqlen, rr, client, !tcp, &ctx, copy, &clen, out, outcap, &n,
                           stats) < 0)
        return n;
    size_t space = tsig_space(ctx.key);
    if (outcap < space + WIRE_HEADER_LEN)
        return 0;
    n = answer_request(snap, opts, copy, clen, client, tcp, out, outcap - space, stats, ctx.key,
                       space);
    if (n)
        answer_tsig_sign(&ctx, out, &n, outcap);
    return n;
}

size_t answer_packet(const struct snapshot *snap, const struct answer_opts *opts,
                     const uint8_t *req, size_t reqlen, const struct sockaddr *client, bool tcp,
                     uint8_t *out, size_t outcap, struct answer_stats *stats)
{
    ANSWER_STAT_INC(stats, queries);
    return answer_request(snap, opts, req, reqlen, client, tcp, out, outcap, stats, NULL, 0);
}

/* A request, signed by `signer` (verified, its TSIG gone; `reserve`
 * bytes of the size limit kept for the signature) or not (NULL). */
static size_t answer_request(const struct snapshot *snap, const struct answer_opts *opts,
                             const uint8_t *req, size_t reqlen, const struct sockaddr *client,
                             bool tcp, uint8_t *out, size_t outcap, struct answer_stats *stats,
                             const struct tsig_key *signer, size_t reserve)
{
    struct wire_query q;
    struct answer_state st;
    struct xfr_request xrq;
    bool ixfr_soa = false;

    int prc = wire_parse_query(req, reqlen, &q);
    /* An IXFR carries the client's SOA, which the query parser refuses;
     * it is looked at only then, off the path of every other query. */
    if (prc == WIRE_FORMERR && xfr_parse_ixfr(req, reqlen, &xrq) == 0) {
        q = xrq.q;
        prc = 0;
        ixfr_soa = true;
    }
    if (prc == WIRE_DROP) {
        ANSWER_STAT_INC(stats, dropped);
        return 0;
    }
    if (prc == WIRE_FORMERR && !signer) {
        struct tsig_rr rr;
        if (tsig_find(req, reqlen, &rr) == 0)
            return answer_signed(snap, opts, req, reqlen, &rr, client, tcp, out, outcap, stats);
    }
    if (prc == WIRE_FORMERR || prc == WIRE_NOTIMP || prc < 0) {
        wire_reply_error(&st.r, out, outcap, &q,
                         prc == WIRE_NOTIMP ? WIRE_RCODE_NOTIMP : WIRE_RCODE_FORMERR);
        if (prc == WIRE_NOTIMP)
            ANSWER_STAT_INC(stats, notimp);
        else
            ANSWER_STAT_INC(stats, formerr);
        return wire_reply_finish(&st.r);
    }

    size_t limit = (tcp ? WIRE_TCP_MAX : (q.edns ? q.edns_udp : WIRE_UDP_MIN)) - reserve;
    if (limit > outcap)
        limit = outcap;
    wire_reply_init(&st.r, out, outcap, limit, &q);
    st.opts = opts;
    st.qtype = q.qtype;
    st.any_type = 0;
    st.answered = 0;
    st.exists = false;
    st.full = false;
    st.seen.n = 0;
    st.zone = NULL;

    if (q.edns && q.edns_version > 0)
        return answer_rcode(&st, WIRE_RCODE_BADVERS, stats);
    if (q.qtype == DNS_TYPE_OPT)
        return answer_rcode(&st, WIRE_RCODE_FORMERR, stats);
    if (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
        const struct zone *xz;
        if (!ixfr_soa)
            xfr_request_from(&xrq, &q);
        xrq.key = signer;
        enum xfr_verdict v = xfr_decide(snap, &xrq, client, tcp, opts->xfr, &xz);
        /* Streams start in the TCP front end, never here. The size
         * limit, less a signature's room, bounds the buffer. */
        return answer_xfr(opts, &xrq, v == XFR_GO ? XFR_SERVFAIL : v, xz, tcp, out, limit, stats);
    }
    if (q.qclass != DNS_CLASS_IN && q.qclass != DNS_CLASS_ANY)
        return answer_rcode(&st, WIRE_RCODE_REFUSED, stats);

    size_t apex_off;
    const struct zone *z = snap ? snapshot_find(snap, q.lname, &apex_off) : NULL;
    if (!z) {
        wire_reply_set_aa(&st.r, false);
        return answer_rcode(&st, WIRE_RCODE_REFUSED, stats);
    }
    st.zone = z;
    if (q.qtype == DNS_TYPE_MAILA || q.qtype == DNS_TYPE_MAILB)
        return answer_rcode(&st, WIRE_RCODE_NOTIMP, stats);
    const struct zone *gacl = snap->global_acl;
    if (!z->loaded || (gacl && !gacl->loaded))
        return answer_rcode(&st, WIRE_RCODE_SERVFAIL, stats);

    /* Keyed access: below the apex the label above it must be a known
     * key; the rest of the name is then asked as if the key were not
     * there, so the datasets, the apex, '$' in TXT and the ACLs'
     * "listed" answers see the name without it. The apex itself needs
     * no key (SOA and NS for resolvers and secondaries; no listings). */
    size_t sublen = apex_off;
    bool bad_key = false;
    if (z->keys && apex_off > 0) {
        size_t koff = answer_last_label(q.lname, apex_off);
        if (zone_keys_has(z->keys, q.lname + koff))
            sublen = koff;
        else
            bad_key = true;
    }
    struct ds_query dq;
    struct ds_result res;
    ds_query_init(&dq, q.lname, sublen);
    ds_query_set_client(&dq, client);

    /* ACLs speak first: the global one, then the zone's; the strongest
     * verdict wins (ignore, refuse, empty, listed, pass), and of two
     * "listed" verdicts the global one, as in rbldnsd. */
    struct ds_result acl_res[2];
    enum ds_acl_action acl = DS_ACL_NONE;
    const struct ds_result *acl_listed = NULL;
    const struct zone *acl_zones[2] = {gacl, z};
    for (unsigned k = 0; k < 2; k++) {
        const struct zone *az = acl_zones[k];
        for (unsigned i = 0; az && i < az->nacl; i++) {
            ds_result_reset(&acl_res[k]);
            if (dataset_query(az->acl[i], &dq, &acl_res[k]) < 0 || acl_res[k].acl == DS_ACL_NONE)
                continue;
            enum ds_acl_action v = acl_res[k].acl;
            if (answer_acl_rank(v) > answer_acl_rank(acl))
                acl = v;
            if (v == DS_ACL_LISTED && !acl_listed)
                acl_listed = &acl_res[k];
            break; /* the first matching entry of an ACL decides */
        }
    }
    if (acl == DS_ACL_IGNORE) {
        ANSWER_STAT_INC(stats, dropped);
        answer_zone_count(&st, stats, ANSWER_RES_DROPPED);
        return 0;
    }
    if (acl == DS_ACL_REFUSE)
        return answer_rcode(&st, WIRE_RCODE_REFUSED, stats);
    /* After the ACLs: a client they drop gets no answer, key or not. */
    if (bad_key) {
        wire_reply_set_rcode(&st.r, WIRE_RCODE_REFUSED);
        ANSWER_STAT_INC(stats, refused);
        answer_zone_count(&st, stats, ANSWER_RES_REFUSED_KEY);
        return answer_finish(&st, stats);
    }
    if ((z->expires || (gacl && gacl->expires)) && answer_expired(z, gacl))
        return answer_rcode(&st, WIRE_RCODE_SERVFAIL, stats);

    if (sublen == 0)
        answer_apex(&st, z);
    bool acl_answered = false;
    for (unsigned i = 0; i < z->nds && !st.full; i++) {
        const struct dataset *ds = z->ds[i];
        /* "empty" and "listed" replace what the blocklist datasets say
         * about valid names; generic data answers as usual. */
        bool override = (acl == DS_ACL_EMPTY || acl == DS_ACL_LISTED) && ds->ops->family &&
                        !answer_test_entry(ds->ops->family, &dq);
        if (override && acl == DS_ACL_EMPTY)
            continue;
        if (override) {
            if (!acl_answered && answer_valid_name(ds->ops->family, &dq)) {
                answer_add_result(&st, acl_listed);
                st.exists = true;
                acl_answered = true;
            }
            continue;
        }
        ds_result_reset(&res);
        if (dataset_query(ds, &dq, &res) == 0)
            answer_add_result(&st, &res);
    }

    if (st.answered > 0) {
        ANSWER_STAT_INC(stats, listed);
        answer_zone_count(&st, stats, ANSWER_RES_LISTED);
        if (opts->full_authority)
            answer_authority_ns(&st, z);
    } else if (st.exists || st.full) {
        ANSWER_STAT_INC(stats, nodata);
        answer_zone_count(&st, stats, ANSWER_RES_NODATA);
        if (!st.full)
            answer_authority_soa(&st, z);
    } else {
        ANSWER_STAT_INC(stats, nxdomain);
        answer_zone_count(&st, stats, ANSWER_RES_NXDOMAIN);
        wire_reply_set_rcode(&st.r, WIRE_RCODE_NXDOMAIN);
        answer_authority_soa(&st, z);
    }
    return answer_finish(&st, stats);
}

size_t answer_limited(const uint8_t *req, size_t reqlen, bool slip, uint8_t *out, size_t outcap,
                      struct answer_stats *stats)
{
    ANSWER_STAT_INC(stats, queries);
    ANSWER_STAT_INC(stats, ratelimited);
    if (!slip)
        return 0;
    struct wire_query q;
    struct wire_reply r;
    if (wire_parse_query(req, reqlen, &q) != 0)
        return 0;
    size_t limit = q.edns ? q.edns_udp : WIRE_UDP_MIN;
    wire_reply_init(&r, out, outcap, limit < outcap ? limit : outcap, &q);
    /* Nothing more can be added; finish sets TC. No data, so no claim
     * of authority either. */
    r.truncated = true;
    wire_reply_set_aa(&r, false);
    size_t len = wire_reply_finish(&r);
    if (len)
        ANSWER_STAT_INC(stats, slipped);
    return len;
}

/* One counter a line. */
/* clang-format off */
#define ANSWER_STATS_FIELDS(X)                                                                     \
    X(queries)                                                                                     \
    X(listed)                                                                                      \
    X(nodata)                                                                                      \
    X(nxdomain)                                                                                    \
    X(refused)                                                                                     \
    X(formerr)                                                                                     \
    X(notimp)                                                                                      \
    X(servfail)                                                                                    \
    X(truncated)                                                                                   \
    X(dropped)                                                                                     \
    X(ratelimited)                                                                                 \
    X(slipped)                                                                                     \
    X(tcp_refused_full)                                                                            \
    X(tcp_refused_address)                                                                         \
    X(tcp_closed_idle)                                                                             \
    X(tcp_closed_time)                                                                             \
    X(tcp_closed_queries)
/* clang-format on */

/* The per-zone counters, as one flat array. */
#define ANSWER_ZONE_CELLS ((size_t)ANSWER_MAX_ZONES * ANSWER_QTYPES * ANSWER_RESULTS)

void answer_stats_add(struct answer_stats *a, struct answer_stats *b)
{
#define ANSWER_ADD(f) a->f += atomic_load_explicit(&b->f, memory_order_relaxed);
    ANSWER_STATS_FIELDS(ANSWER_ADD)
#undef ANSWER_ADD
    _Atomic uint64_t *x = &a->zone[0][0][0], *y = &b->zone[0][0][0];
    for (size_t i = 0; i < ANSWER_ZONE_CELLS; i++)
        x[i] += atomic_load_explicit(&y[i], memory_order_relaxed);
}

void answer_stats_sub(struct answer_stats *a, struct answer_stats *b)
{
#define ANSWER_SUB(f) a->f -= atomic_load_explicit(&b->f, memory_order_relaxed);
    ANSWER_STATS_FIELDS(ANSWER_SUB)
#undef ANSWER_SUB
    _Atomic uint64_t *x = &a->zone[0][0][0], *y = &b->zone[0][0][0];
    for (size_t i = 0; i < ANSWER_ZONE_CELLS; i++)
        x[i] -= atomic_load_explicit(&y[i], memory_order_relaxed);
}
