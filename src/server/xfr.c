/* Zone transfers out: who may, and the stream of AXFR messages (RFC 5936)
 * with the records zone_records makes of one snapshot's zone. */
#include "server/xfr.h"
#include "server/serial.h"
#include "common/err.h"
#include "common/log.h"
#include "data/zone_records.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { XFR_CLASS_IN = 1, XFR_CLASS_ANY = 255, XFR_TYPE_TSIG = 250 };

/* A message is closed once it holds this much (NSD's choice): a name can
 * only point at the first 16 KiB of a message, so past them compression
 * stops working. A record that does not fit an empty message alone gets
 * up to 64 KiB. */
#define XFR_MSG_SOFT 16384
#define XFR_MSG_HARD 65535
#define XFR_OPT_LEN 11
#define XFR_PTR_MAX 0x3FFF

/* ---- requests ------------------------------------------------------------- */

void xfr_request_from(struct xfr_request *rq, const struct wire_query *q)
{
    rq->q = *q;
    rq->have_serial = false;
    rq->serial = 0;
    rq->key = NULL;
}

/* Skip a possibly compressed name at pkt[*pos]. */
static int xfr_skip_name(const uint8_t *pkt, size_t len, size_t *pos)
{
    size_t p = *pos;
    for (unsigned n = 0; n < 128; n++) {
        if (p >= len)
            return ERR_FORMAT;
        uint8_t l = pkt[p];
        if ((l & 0xC0) == 0xC0) {
            if (p + 2 > len)
                return ERR_FORMAT;
            *pos = p + 2;
            return 0;
        }
        if (l > 63)
            return ERR_FORMAT;
        p += 1u + l;
        if (l == 0) {
            *pos = p;
            return 0;
        }
    }
    return ERR_FORMAT;
}

int xfr_parse_ixfr(const uint8_t *pkt, size_t len, struct xfr_request *rq)
{
    struct wire_query *q = &rq->q;
    memset(rq, 0, sizeof(*rq));
    if (len < WIRE_HEADER_LEN)
        return ERR_NOTFOUND;
    uint16_t flags = wire_get16(pkt + 2);
    if ((flags & 0x8000u) || ((flags >> 11) & 0xF) != 0 || wire_get16(pkt + 4) != 1 ||
        wire_get16(pkt + 6) != 0 || wire_get16(pkt + 8) != 1)
        return ERR_NOTFOUND;
    size_t p = WIRE_HEADER_LEN, n = 0;
    for (;;) {
        if (p >= len || pkt[p] > NAME_MAXLABEL || n + 1u + pkt[p] > NAME_MAXWIRE ||
            p + 1u + pkt[p] > len)
            return ERR_NOTFOUND;
        uint8_t l = pkt[p];
        memcpy(q->qname + n, pkt + p, 1u + (size_t)l);
        n += 1u + l;
        p += 1u + l;
        if (l == 0)
            break;
        q->qlabels++;
    }
    if (len - p < 4)
        return ERR_NOTFOUND;
    memcpy(q->lname, q->qname, n);
    name_lower(q->lname);
    q->qname_len = n;
    q->qtype = wire_get16(pkt + p);
    q->qclass = wire_get16(pkt + p + 2);
    p += 4;
    if (q->qtype != DNS_TYPE_IXFR)
        return ERR_NOTFOUND;
    /* The authority section: the client's SOA, whose serial says what it
     * has; it ends the RDATA, after two names. */
    if (xfr_skip_name(pkt, len, &p) < 0 || len - p < 10)
        return ERR_NOTFOUND;
    uint16_t type = wire_get16(pkt + p);
    size_t rdlen = wire_get16(pkt + p + 8);
    p += 10;
    if (type != DNS_TYPE_SOA || rdlen < 22 || len - p < rdlen)
        return ERR_NOTFOUND;
    rq->have_serial = true;
    rq->serial = wire_get32(pkt + p + rdlen - 20);
    p += rdlen;
    /* The additional section: an OPT is read, anything else passed
     * over; but a signed request (TSIG) is not taken, so that it is
     * never answered unverified: its TSIG is checked first, and the
     * request parsed again without it. */
    unsigned ar = wire_get16(pkt + 10);
    for (unsigned i = 0; i < ar; i++) {
        size_t owner = p;
        if (xfr_skip_name(pkt, len, &p) < 0 || len - p < 10)
            return ERR_NOTFOUND;
        uint16_t t = wire_get16(pkt + p);
        uint32_t ttl = wire_get32(pkt + p + 4);
        size_t rl = wire_get16(pkt + p + 8);
        if (len - p - 10 < rl || t == XFR_TYPE_TSIG)
            return ERR_NOTFOUND;
        if (t == DNS_TYPE_OPT && pkt[owner] == 0 && !q->edns) {
            uint16_t udp = wire_get16(pkt + p + 2);
            q->edns = true;
            q->edns_udp = udp < WIRE_UDP_MIN   ? WIRE_UDP_MIN
                          : udp > WIRE_UDP_MAX ? WIRE_UDP_MAX
                                               : udp;
            q->edns_version = (uint8_t)(ttl >> 16);
            q->edns_do = (ttl & 0x8000u) != 0;
        }
        p += 10 + rl;
    }
    if (p != len)
        return ERR_NOTFOUND;
    q->id = wire_get16(pkt);
    q->opcode = 0;
    q->rd = (flags & 0x0100u) != 0;
    q->cd = (flags & 0x0010u) != 0;
    if (!q->edns)
        q->edns_udp = WIRE_UDP_MIN;
    return 0;
}

/* ---- who may ----------------------------------------------------------------- */

/* What a refusal's log line calls the request. */
static const char *xfr_kind(uint16_t qtype)
{
    switch (qtype) {
    case DNS_TYPE_AXFR:
        return "AXFR";
    case DNS_TYPE_IXFR:
        return "IXFR";
    case DNS_TYPE_SOA:
        return "signed SOA query";
    default:
        return "signed query";
    }
}

/* A refusal, in the log at most XFR_LOG_PER_SECOND times a second. */
void xfr_refusal(struct xfr_counters *xc, const struct xfr_request *rq,
                 const struct sockaddr *client, const char *why)
{
    if (xc) {
        atomic_fetch_add_explicit(&xc->refused, 1, memory_order_relaxed);
        int64_t now = (int64_t)time(NULL);
        int64_t sec = atomic_load_explicit(&xc->log_second, memory_order_relaxed);
        if (sec != now && atomic_compare_exchange_strong(&xc->log_second, &sec, now))
            atomic_store_explicit(&xc->log_count, 0, memory_order_relaxed);
        if (atomic_fetch_add_explicit(&xc->log_count, 1, memory_order_relaxed) >=
            XFR_LOG_PER_SECOND) {
            atomic_fetch_add_explicit(&xc->log_dropped, 1, memory_order_relaxed);
            return;
        }
    }
    char zone[NAME_MAXTEXT], peer[80] = "?";
    if (name_to_text(rq->q.lname, zone, sizeof(zone)) < 0)
        snprintf(zone, sizeof(zone), "?");
    if (client)
        addr_sock_format(client, peer, sizeof(peer));
    uint64_t dropped = xc ? atomic_exchange(&xc->log_dropped, 0) : 0;
    if (dropped)
        log_warning("%s of %s refused to %s: %s (%llu more refusals not logged)",
                    xfr_kind(rq->q.qtype), zone, peer, why, (unsigned long long)dropped);
    else
        log_warning("%s of %s refused to %s: %s", xfr_kind(rq->q.qtype), zone, peer, why);
}

enum xfr_verdict xfr_decide(const struct snapshot *snap, const struct xfr_request *rq,
                            const struct sockaddr *client, bool tcp, struct xfr_counters *xc,
                            const struct zone **zone)
{
    size_t apex_off = 0;
    const struct zone *z = NULL;
    *zone = NULL;
    if ((rq->q.qclass == XFR_CLASS_IN || rq->q.qclass == XFR_CLASS_ANY) && snap)
        z = snapshot_find(snap, rq->q.lname, &apex_off);
    if (!z) {
        xfr_refusal(xc, rq, client, "not a zone of this server");
        return XFR_REFUSED;
    }
    *zone = z;
    if (apex_off != 0) {
        xfr_refusal(xc, rq, client, "not the name of a zone");
        return XFR_NOTAUTH;
    }
    if (!xfr_conf_allows(z->xfr, client)) {
        xfr_refusal(xc, rq, client, "not in allow-transfer");
        return XFR_REFUSED;
    }
    const struct tsig_key *need = z->xfr ? z->xfr->key : NULL;
    if (need && rq->key != need) {
        char why[2 * NAME_MAXTEXT + 64];
        if (rq->key)
            snprintf(why, sizeof(why), "signed with TSIG key %s, not transfer-key %s",
                     rq->key->text, need->text);
        else
            snprintf(why, sizeof(why), "not signed with TSIG (transfer-key %s)", need->text);
        xfr_refusal(xc, rq, client, why);
        return XFR_REFUSED;
    }
    /* What answer_packet answers SERVFAIL for is not handed out either. */
    const struct zone *g = snap->global_acl;
    time_t now = time(NULL);
    if (!z->loaded || (z->expires && now >= z->expires) ||
        (g && (!g->loaded || (g->expires && now >= g->expires))))
        return XFR_SERVFAIL;
    if (rq->q.qtype == DNS_TYPE_IXFR &&
        (!tcp || (rq->have_serial && serial_ge(rq->serial, z->serial))))
        return XFR_SOA_ONLY;
    if (!tcp)
        return XFR_NOTIMP;
    if (xc && atomic_load(&xc->active) >= XFR_MAX_ACTIVE) {
        xfr_refusal(xc, rq, client, "too many transfers at once");
        return XFR_SERVFAIL;
    }
    return XFR_GO;
}

bool xfr_is_request(const uint8_t *pkt, size_t len)
{
    /* The question's type, past its name: no full parse for the queries
     * that are not transfers. */
    size_t p = WIRE_HEADER_LEN;
    if (len < WIRE_HEADER_LEN || wire_get16(pkt + 4) != 1)
        return false;
    while (p < len && pkt[p] != 0 && pkt[p] <= NAME_MAXLABEL)
        p += 1u + pkt[p];
    if (p >= len || pkt[p] != 0 || len - p < 3)
        return false;
    uint16_t t = wire_get16(pkt + p + 1);
    return t == DNS_TYPE_AXFR || t == DNS_TYPE_IXFR;
}

/* ---- the stream ------------------------------------------------------------- */

struct xfr_out {
    const struct xfr_job *job;
    uint8_t *buf; /* 2-byte TCP length, then the message */
    size_t len;   /* bytes of the message */
    uint16_t ancount;
    bool first; /* the first message carries the question */
    /* Compression: the previous owner's labels and where in this
     * message each of its suffixes can be pointed at (0: nowhere). */
    uint8_t prev[NAME_MAXWIRE];
    unsigned prevlabels;
    size_t prevlab[NAME_MAXLABELS + 1]; /* label starts in prev */
    uint16_t prevoff[NAME_MAXLABELS + 1];
    uint64_t messages, bytes, records;
    time_t last_progress;
    int err;
    struct tsig_ctx tsig; /* when the request was signed: the stream's MACs */
};

/* Write all of buf, waiting for the socket as needed. */
static int xfr_send(struct xfr_out *o, const uint8_t *buf, size_t len)
{
    const struct xfr_job *job = o->job;
    size_t off = 0;
    while (off < len) {
        if (atomic_load_explicit(job->stop, memory_order_relaxed))
            return ERR_IO;
        ssize_t n = send(job->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            o->last_progress = time(NULL);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return ERR_IO;
        if (time(NULL) - o->last_progress >= XFR_IO_TIMEOUT_S)
            return ERR_TIMEOUT;
        struct pollfd pfd = {.fd = job->fd, .events = POLLOUT};
        poll(&pfd, 1, 500);
    }
    o->bytes += len;
    return 0;
}

static void xfr_msg_start(struct xfr_out *o)
{
    const struct wire_query *q = &o->job->rq.q;
    uint8_t *m = o->buf + 2;
    uint16_t flags = 0x8000u | 0x0400u | (q->rd ? 0x0100u : 0) | (q->cd ? 0x0010u : 0);
    wire_put16(m, q->id);
    wire_put16(m + 2, flags);
    memset(m + 4, 0, 8);
    o->len = WIRE_HEADER_LEN;
    o->ancount = 0;
    o->prevlabels = 0;
    if (o->first) {
        /* The question, as asked (RFC 5936 2.2.1): later messages leave
         * it out. Its name is where the zone's names can point first. */
        memcpy(m + o->len, q->qname, q->qname_len);
        wire_put16(m + o->len + q->qname_len, q->qtype);
        wire_put16(m + o->len + q->qname_len + 2, q->qclass);
        wire_put16(m + 4, 1);
        size_t p = 0;
        while (q->qname[p]) {
            o->prevlab[o->prevlabels] = p;
            o->prevoff[o->prevlabels] = (uint16_t)(WIRE_HEADER_LEN + p);
            o->prevlabels++;
            p += (size_t)q->qname[p] + 1;
        }
        memcpy(o->prev, q->qname, q->qname_len);
        o->len += q->qname_len + 4;
    }
}

/* Close the message (OPT when asked with EDNS) and send it. */
static int xfr_msg_flush(struct xfr_out *o)
{
    const struct wire_query *q = &o->job->rq.q;
    uint8_t *m = o->buf + 2;
    wire_put16(m + 6, o->ancount);
    if (q->edns) {
        uint8_t *p = m + o->len;
        p[0] = 0;
        wire_put16(p + 1, DNS_TYPE_OPT);
        wire_put16(p + 3, WIRE_EDNS_ADVERTISE);
        wire_put32(p + 5, q->edns_do ? 0x8000u : 0);
        wire_put16(p + 9, 0);
        o->len += XFR_OPT_LEN;
        wire_put16(m + 10, 1);
    }
    /* Every message signed, each MAC over the previous one (RFC 8945
     * 5.3.1), room for it kept by xfr_add. */
    if (o->job->sign) {
        int src = tsig_sign(&o->tsig, m, &o->len, XFR_MSG_HARD, time(NULL));
        if (src < 0)
            return src;
    }
    wire_put16(o->buf, (uint16_t)o->len);
    int rc = xfr_send(o, o->buf, o->len + 2);
    o->messages++;
    o->first = false;
    xfr_msg_start(o);
    return rc;
}

static bool xfr_label_eq(const uint8_t *a, const uint8_t *b)
{
    if (a[0] != b[0])
        return false;
    for (unsigned i = 1; i <= a[0]; i++) {
        uint8_t x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (uint8_t)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

/* Write owner at m[*pos] (room up to end), pointing at the longest
 * suffix it shares with the previous owner when that one can be pointed
 * at; the owner becomes the previous one. */
static int xfr_put_owner(struct xfr_out *o, const uint8_t *owner, size_t olen, size_t *pos,
                         size_t end)
{
    uint8_t *m = o->buf + 2;
    size_t lab[NAME_MAXLABELS + 1];
    unsigned n = 0;
    for (size_t p = 0; owner[p]; p += (size_t)owner[p] + 1)
        lab[n++] = p;
    /* Labels shared at the end, then the longest of those suffixes with
     * a place to point at. */
    unsigned k = 0;
    while (k < n && k < o->prevlabels &&
           xfr_label_eq(owner + lab[n - 1 - k], o->prev + o->prevlab[o->prevlabels - 1 - k]))
        k++;
    while (k > 0 && o->prevoff[o->prevlabels - k] == 0)
        k--;
    unsigned lit = n - k;
    size_t litlen = lit == n ? olen : lab[lit];
    size_t need = litlen + (k ? 2 : 0);
    if (end - *pos < need)
        return ERR_SPACE;
    uint16_t off[NAME_MAXLABELS + 1];
    for (unsigned i = 0; i < lit; i++) {
        size_t at = *pos + lab[i];
        off[i] = at <= XFR_PTR_MAX ? (uint16_t)at : 0;
    }
    for (unsigned i = lit; i < n; i++)
        off[i] = o->prevoff[o->prevlabels - (n - i)];
    memcpy(m + *pos, owner, litlen);
    *pos += litlen;
    if (k) {
        wire_put16(m + *pos, (uint16_t)(0xC000u | o->prevoff[o->prevlabels - k]));
        *pos += 2;
    }
    memcpy(o->prev, owner, olen);
    memcpy(o->prevlab, lab, n * sizeof(lab[0]));
    memcpy(o->prevoff, off, n * sizeof(off[0]));
    o->prevlabels = n;
    return 0;
}

/* Add one record, starting a new message when this one is full. */
static int xfr_add(struct xfr_out *o, const uint8_t *owner, size_t olen, uint16_t type,
                   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    size_t reserve =
        (o->job->rq.q.edns ? XFR_OPT_LEN : 0) + (o->job->sign ? tsig_space(o->tsig.key) : 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t limit = (o->ancount == 0 ? XFR_MSG_HARD : XFR_MSG_SOFT) - reserve;
        size_t pos = o->len;
        uint8_t *m = o->buf + 2;
        if (limit > pos && xfr_put_owner(o, owner, olen, &pos, limit) == 0 &&
            limit - pos >= 10u + rdlen) {
            wire_put16(m + pos, type);
            wire_put16(m + pos + 2, XFR_CLASS_IN);
            wire_put32(m + pos + 4, ttl);
            wire_put16(m + pos + 8, rdlen);
            if (rdlen)
                memcpy(m + pos + 10, rdata, rdlen);
            o->len = pos + 10 + rdlen;
            o->ancount++;
            o->records++;
            return 0;
        }
        if (o->ancount == 0)
            return ERR_SPACE; /* bigger than any message */
        int rc = xfr_msg_flush(o);
        if (rc)
            return rc;
    }
    return ERR_SPACE;
}

static int xfr_add_rr(const struct zrec_rr *rr, void *arg)
{
    struct xfr_out *o = arg;
    return xfr_add(o, rr->owner, rr->owner_len, rr->type, rr->ttl, rr->rdata, rr->rdlen);
}

static uint32_t xfr_ttl(const struct xfr_job *job, uint32_t ttl)
{
    if (ttl < job->ttl_min)
        return job->ttl_min;
    if (ttl > job->ttl_max)
        return job->ttl_max;
    return ttl;
}

static int xfr_add_soa(struct xfr_out *o)
{
    const struct zone *z = o->job->zone;
    return xfr_add(o, z->apex, z->apex_len, DNS_TYPE_SOA, xfr_ttl(o->job, z->soa_ttl), z->soa_rdata,
                   z->soa_rdlen);
}

/* A one-message reply with an rcode, when the plan cannot be made. */
static int xfr_send_rcode(struct xfr_out *o, unsigned rcode)
{
    uint8_t *m = o->buf + 2;
    m[3] = (uint8_t)((m[3] & 0xF0) | (rcode & 0xF));
    return xfr_msg_flush(o);
}

/* IXFR from the history (RFC 1995 4): the newest SOA, then per version
 * its old SOA, the records that went, its new SOA and the records that
 * came, then the newest SOA again. */
static int xfr_stream_ixfr(struct xfr_out *o, struct xfr_delta *const *chain, unsigned n)
{
    const struct zone *z = o->job->zone;
    const struct xfr_delta *last = chain[n - 1];
    int rc = xfr_add(o, z->apex, z->apex_len, DNS_TYPE_SOA, last->soa_to_ttl, last->soa_to,
                     last->soa_to_len);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        const struct xfr_delta *d = chain[i];
        rc = xfr_add(o, z->apex, z->apex_len, DNS_TYPE_SOA, d->soa_from_ttl, d->soa_from,
                     d->soa_from_len);
        if (rc == 0)
            rc = xfr_delta_walk(d, false, xfr_add_rr, o);
        if (rc == 0)
            rc = xfr_add(o, z->apex, z->apex_len, DNS_TYPE_SOA, d->soa_to_ttl, d->soa_to,
                         d->soa_to_len);
        if (rc == 0)
            rc = xfr_delta_walk(d, true, xfr_add_rr, o);
    }
    if (rc == 0)
        rc = xfr_add(o, z->apex, z->apex_len, DNS_TYPE_SOA, last->soa_to_ttl, last->soa_to,
                     last->soa_to_len);
    if (rc == 0)
        rc = xfr_msg_flush(o);
    return rc;
}

/* An IXFR the history answers: streamed and logged; ERR_NOTFOUND when
 * the history does not reach the client's serial (the whole zone then). */
static int xfr_run_ixfr(const struct xfr_job *job, struct xfr_out *o, const char *zone,
                        const char *peer, const struct timespec *t0)
{
    struct xfr_delta **chain = NULL;
    unsigned n = 0;
    if (job->rq.q.qtype != DNS_TYPE_IXFR || !job->rq.have_serial || !job->journal)
        return ERR_NOTFOUND;
    /* The history holds the client's version but not yet the one served:
     * the follower is diffing it (a secondary that polled the SOA rather
     * than waiting for the NOTIFY). Waiting a little for the difference
     * beats sending the whole zone; a secondary waits seconds for a first
     * message (Knot: 5). */
    int r = serial_gt(job->zone->serial, job->rq.serial) ? 0 : -1;
    for (int waited = 0; r == 0 && waited < XFR_IXFR_WAIT_MS && !atomic_load(job->stop);
         waited += XFR_IXFR_WAIT_STEP_MS)
        r = xfr_journal_wait(job->journal, job->zone->apex, job->rq.serial, job->zone->serial,
                             XFR_IXFR_WAIT_STEP_MS);
    if (r != 1 || xfr_journal_chain(job->journal, job->zone->apex, job->rq.serial, &chain, &n) != 0)
        return ERR_NOTFOUND;
    uint64_t del = 0, add = 0;
    for (unsigned i = 0; i < n; i++) {
        del += chain[i]->ndel;
        add += chain[i]->nadd;
    }
    uint32_t to = chain[n - 1]->to;
    if (del + add > chain[n - 1]->to_records) {
        /* Many versions of much change: the whole zone is less to send
         * (RFC 1995 lets the server choose). */
        log_debug("IXFR of %s from serial %u to %s: %llu changed records, more than the zone's "
                  "%llu; sending the whole zone",
                  zone, job->rq.serial, peer, (unsigned long long)(del + add),
                  (unsigned long long)chain[n - 1]->to_records);
        xfr_journal_chain_free(chain, n);
        return ERR_NOTFOUND;
    }
    int rc = xfr_stream_ixfr(o, chain, n);
    xfr_journal_chain_free(chain, n);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
    if (rc == 0) {
        atomic_fetch_add(&job->xc->done, 1);
        atomic_fetch_add(&job->xc->ixfr, 1);
        atomic_fetch_add(&job->xc->records, o->records);
        atomic_fetch_add(&job->xc->bytes, o->bytes);
        log_info("IXFR of %s serial %u -> %u to %s: %u versions, %llu records gone, %llu new, "
                 "%llu messages, %llu bytes in %.1f ms",
                 zone, job->rq.serial, to, peer, n, (unsigned long long)del,
                 (unsigned long long)add, (unsigned long long)o->messages,
                 (unsigned long long)o->bytes, ms);
        return 0;
    }
    atomic_fetch_add(&job->xc->failed, 1);
    log_warning("IXFR of %s serial %u -> %u to %s stopped after %llu records, %.1f ms: %s", zone,
                job->rq.serial, to, peer, (unsigned long long)o->records, ms,
                rc == ERR_TIMEOUT                        ? "the peer read nothing for too long"
                : rc == ERR_IO && atomic_load(job->stop) ? "the server is stopping"
                : rc == ERR_IO                           ? "the connection broke"
                                                         : err_str(rc));
    return rc;
}

int xfr_run(const struct xfr_job *job)
{
    const struct zone *z = job->zone;
    struct xfr_out *o = calloc(1, sizeof(*o));
    uint8_t *buf = malloc(2 + XFR_MSG_HARD);
    struct zrec *plan = NULL;
    char why[256] = "", zone[NAME_MAXTEXT], peer[80];
    struct timespec t0, t1;
    int rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (name_to_text(z->apex, zone, sizeof(zone)) < 0)
        snprintf(zone, sizeof(zone), "?");
    addr_sock_format((const struct sockaddr *)&job->peer, peer, sizeof(peer));
    const char *kind = job->rq.q.qtype == DNS_TYPE_IXFR ? "IXFR (answered in full)" : "AXFR";
    if (!o || !buf) {
        free(o);
        free(buf);
        atomic_fetch_add(&job->xc->failed, 1);
        log_error("%s of %s to %s failed: out of memory", kind, zone, peer);
        return ERR_NOMEM;
    }
    o->job = job;
    o->buf = buf;
    o->first = true;
    if (job->sign)
        o->tsig = job->tsig;
    o->last_progress = time(NULL);
    xfr_msg_start(o);

    /* What the connection had queued before the request goes first. */
    rc = job->npending ? xfr_send(o, job->pending, job->npending) : 0;
    o->bytes = 0;
    if (rc == 0) {
        int ir = xfr_run_ixfr(job, o, zone, peer, &t0);
        if (ir != ERR_NOTFOUND) {
            free(o);
            free(buf);
            return ir;
        }
    }
    struct zrec_opts zo = {.ttl_min = job->ttl_min,
                           .ttl_max = job->ttl_max,
                           .max_records = z->xfr ? z->xfr->max_records : 0};
    if (rc == 0)
        rc = zrec_plan(z->apex, z->ds, z->nds, &zo, &plan, why, sizeof(why));
    if (rc == ERR_LIMIT || rc == ERR_UNSUPP) {
        /* Refused: the secondary keeps what it has and says so. */
        char msg[400];
        snprintf(msg, sizeof(msg), "%s%s", why,
                 rc == ERR_LIMIT ? " (raise transfer-max-records to allow it)" : "");
        xfr_refusal(job->xc, &job->rq, (const struct sockaddr *)&job->peer, msg);
        rc = xfr_send_rcode(o, WIRE_RCODE_REFUSED);
        free(o);
        free(buf);
        return rc ? rc : ERR_LIMIT;
    }
    if (rc && plan == NULL && o->bytes == 0 && rc != ERR_IO && rc != ERR_TIMEOUT)
        xfr_send_rcode(o, WIRE_RCODE_SERVFAIL);
    if (rc == 0) {
        /* SOA, NS, the records, SOA again (RFC 5936 2.2). */
        rc = xfr_add_soa(o);
        for (unsigned i = 0; rc == 0 && i < z->ns.count; i++)
            rc = xfr_add(o, z->apex, z->apex_len, DNS_TYPE_NS,
                         xfr_ttl(job, z->ns.ttl ? z->ns.ttl : z->soa_ttl), z->ns.name[i],
                         (uint16_t)name_wire_len(z->ns.name[i]));
        if (rc == 0)
            rc = zrec_emit(plan, xfr_add_rr, o);
        if (rc == 0)
            rc = xfr_add_soa(o);
        if (rc == 0)
            rc = xfr_msg_flush(o);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    uint32_t serial = z->serial;
    if (rc == 0) {
        const struct zrec_stats *st = zrec_stats(plan);
        atomic_fetch_add(&job->xc->done, 1);
        atomic_fetch_add(&job->xc->records, o->records);
        atomic_fetch_add(&job->xc->bytes, o->bytes);
        log_info("%s of %s serial %u to %s: %llu records (%llu names, %llu wildcards), %llu "
                 "messages, %llu bytes in %.1f ms",
                 kind, zone, serial, peer, (unsigned long long)o->records,
                 (unsigned long long)st->names, (unsigned long long)st->wildcards,
                 (unsigned long long)o->messages, (unsigned long long)o->bytes, ms);
        if (st->range_txt || st->inexact)
            log_info("%s of %s: %llu IPv6 wildcards name their range in TXT where dnsblkit "
                     "names the address; %llu names a secondary answers otherwise",
                     kind, zone, (unsigned long long)st->range_txt,
                     (unsigned long long)st->inexact);
    } else {
        atomic_fetch_add(&job->xc->failed, 1);
        log_warning("%s of %s serial %u to %s stopped after %llu records, %.1f ms: %s", kind, zone,
                    serial, peer, (unsigned long long)o->records, ms,
                    why[0]                                   ? why
                    : rc == ERR_TIMEOUT                      ? "the peer read nothing for too long"
                    : rc == ERR_IO && atomic_load(job->stop) ? "the server is stopping"
                    : rc == ERR_IO                           ? "the connection broke"
                                                             : err_str(rc));
    }
    zrec_free(plan);
    free(o);
    free(buf);
    return rc;
}
