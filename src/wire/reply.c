/* Writing a reply into a caller-owned buffer: header, echoed question,
 * records with compressed names, truncation, and the EDNS OPT record. */
#include "wire/wire.h"

#include <string.h>

#include "common/err.h"
#include "wire/compress.h"

#define FLAG_QR 0x8000u
#define FLAG_AA 0x0400u
#define FLAG_TC 0x0200u
#define FLAG_RD 0x0100u
#define FLAG_CD 0x0010u
#define CLASS_IN 1
#define TYPE_OPT 41
#define OPT_LEN 11 /* root owner, type, class, ttl, rdlen: no options */
#define TXT_CHUNK 255
#define OFF_COUNTS 4

static void write_counts(struct wire_reply *r)
{
    for (int s = 0; s < 3; s++)
        wire_put16(r->buf + OFF_COUNTS + 2 + 2 * s, r->count[s]);
}

/* A reply may always use 512 bytes (RFC 1035), never more than the buffer
 * or a 16-bit TCP length. */
static size_t clamp_limit(size_t limit, size_t cap)
{
    if (limit < WIRE_UDP_MIN)
        limit = WIRE_UDP_MIN;
    if (limit > WIRE_TCP_MAX)
        limit = WIRE_TCP_MAX;
    return limit < cap ? limit : cap;
}

static void reply_start(struct wire_reply *r, uint8_t *buf, size_t cap, size_t limit,
                        const struct wire_query *q, bool aa)
{
    r->buf = buf;
    r->cap = cap;
    r->limit = clamp_limit(limit, cap);
    r->len = 0;
    r->reserve = 0;
    memset(r->count, 0, sizeof(r->count));
    r->truncated = false;
    r->q = q;
    r->ncomp = 0;
    r->ext_rcode = 0;
    if (r->limit < WIRE_HEADER_LEN) {
        r->truncated = true; /* nothing can be written; finish returns 0 */
        return;
    }

    unsigned flags = FLAG_QR | (unsigned)(q->opcode & 0xf) << 11;
    if (aa)
        flags |= FLAG_AA;
    if (q->rd)
        flags |= FLAG_RD;
    if (q->cd)
        flags |= FLAG_CD;
    wire_put16(buf, q->id);
    wire_put16(buf + 2, (uint16_t)flags);
    memset(buf + OFF_COUNTS, 0, 8);
    r->len = WIRE_HEADER_LEN;

    if (q->qname_len > 0 && q->qname_len <= NAME_MAXWIRE && r->limit - r->len >= q->qname_len + 4) {
        /* The client's own spelling: 0x20-randomizing resolvers compare
         * it letter by letter. */
        memcpy(buf + r->len, q->qname, q->qname_len);
        r->len += q->qname_len;
        wire_put16(buf + r->len, q->qtype);
        wire_put16(buf + r->len + 2, q->qclass);
        r->len += 4;
        wire_put16(buf + OFF_COUNTS, 1);
        r->comp[r->ncomp++] = WIRE_HEADER_LEN;
    }
    if (q->edns && r->limit - r->len >= OPT_LEN)
        r->reserve = OPT_LEN;
}

void wire_reply_init(struct wire_reply *r, uint8_t *buf, size_t cap, size_t limit,
                     const struct wire_query *q)
{
    reply_start(r, buf, cap, limit, q, true);
}

void wire_reply_error(struct wire_reply *r, uint8_t *buf, size_t cap, const struct wire_query *q,
                      enum wire_rcode rcode)
{
    reply_start(r, buf, cap, WIRE_UDP_MIN, q, false);
    wire_reply_set_rcode(r, rcode);
}

void wire_reply_set_rcode(struct wire_reply *r, enum wire_rcode rcode)
{
    if (r->len < WIRE_HEADER_LEN)
        return;
    unsigned code = (unsigned)rcode;
    /* Codes above 15 need the OPT record's upper bits; a client without
     * EDNS cannot be told, so it gets a plain failure. */
    if (code > 0xf && r->reserve < OPT_LEN)
        code = WIRE_RCODE_SERVFAIL;
    r->buf[3] = (uint8_t)((r->buf[3] & 0xf0) | (code & 0xf));
    r->ext_rcode = (uint8_t)(code >> 4);
}

void wire_reply_set_aa(struct wire_reply *r, bool aa)
{
    if (r->len < WIRE_HEADER_LEN)
        return;
    if (aa)
        r->buf[2] |= FLAG_AA >> 8;
    else
        r->buf[2] &= (uint8_t) ~(FLAG_AA >> 8);
}

/* Write owner, type, class, TTL and a placeholder RDLENGTH at *pos; the
 * record is committed by rr_commit. */
static int rr_begin(struct wire_reply *r, enum wire_section sec, const uint8_t *owner,
                    uint16_t type, uint32_t ttl, size_t *pos, size_t end)
{
    if ((unsigned)sec > WIRE_ADDITIONAL)
        return ERR_INVAL;
    /* Records are appended, so sections must come in order. */
    for (unsigned s = (unsigned)sec + 1; s <= WIRE_ADDITIONAL; s++)
        if (r->count[s] != 0)
            return ERR_INVAL;
    if (r->truncated || r->len < WIRE_HEADER_LEN || r->count[sec] == UINT16_MAX)
        return ERR_SPACE;

    int rc;
    size_t used;
    if (owner == NULL && wire_get16(r->buf + OFF_COUNTS) == 1) {
        if (end - *pos < 2)
            return ERR_SPACE;
        wire_put16(r->buf + *pos, 0xc000u | WIRE_HEADER_LEN);
        *pos += 2;
    } else {
        rc = wire_compress_name(r, pos, end, owner ? owner : r->q->qname, NAME_MAXWIRE, &used);
        if (rc != 0)
            return rc;
    }
    if (end - *pos < 10)
        return ERR_SPACE;
    wire_put16(r->buf + *pos, type);
    wire_put16(r->buf + *pos + 2, CLASS_IN);
    wire_put32(r->buf + *pos + 4, ttl);
    *pos += 10;
    return 0;
}

static void rr_commit(struct wire_reply *r, enum wire_section sec, size_t rdata_pos, size_t end)
{
    wire_put16(r->buf + rdata_pos - 2, (uint16_t)(end - rdata_pos));
    r->len = end;
    r->count[sec]++;
    write_counts(r);
}

/* Undo a record that failed part-way: forget names it recorded for
 * compression, and remember a lack of space as truncation. */
static int rr_abort(struct wire_reply *r, unsigned ncomp, int rc)
{
    r->ncomp = ncomp;
    if (rc == ERR_SPACE)
        r->truncated = true;
    return rc;
}

static int put_bytes(struct wire_reply *r, size_t *pos, size_t end, const uint8_t *p, size_t n)
{
    if (end - *pos < n)
        return ERR_SPACE;
    if (n > 0)
        memcpy(r->buf + *pos, p, n);
    *pos += n;
    return 0;
}

/* RDATA of the types whose names may be compressed (RFC 3597 4 lists
 * exactly these well-known ones); anything else is copied as is. */
static int put_rdata(struct wire_reply *r, size_t *pos, size_t end, uint16_t type,
                     const uint8_t *rdata, size_t rdlen)
{
    size_t used = 0, used2 = 0;
    int rc;
    switch (type) {
    case 2:  /* NS */
    case 5:  /* CNAME */
    case 12: /* PTR */
        rc = wire_compress_name(r, pos, end, rdata, rdlen, &used);
        if (rc == 0 && used != rdlen)
            rc = ERR_INVAL;
        return rc;
    case 15: /* MX: preference, exchange */
        if (rdlen < 3)
            return ERR_INVAL;
        rc = put_bytes(r, pos, end, rdata, 2);
        if (rc == 0)
            rc = wire_compress_name(r, pos, end, rdata + 2, rdlen - 2, &used);
        if (rc == 0 && used != rdlen - 2)
            rc = ERR_INVAL;
        return rc;
    case 6: /* SOA: mname, rname, five 32-bit fields */
        rc = wire_compress_name(r, pos, end, rdata, rdlen, &used);
        if (rc == 0)
            rc = wire_compress_name(r, pos, end, rdata + used, rdlen - used, &used2);
        if (rc == 0 && rdlen - used - used2 != 20)
            rc = ERR_INVAL;
        if (rc == 0)
            rc = put_bytes(r, pos, end, rdata + used + used2, 20);
        return rc;
    default:
        return put_bytes(r, pos, end, rdata, rdlen);
    }
}

int wire_reply_add(struct wire_reply *r, enum wire_section sec, const uint8_t *owner, uint16_t type,
                   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    unsigned ncomp = r->ncomp;
    size_t end = r->limit - r->reserve, pos = r->len;
    if (rdata == NULL && rdlen > 0)
        return ERR_INVAL;
    int rc = rr_begin(r, sec, owner, type, ttl, &pos, end);
    if (rc != 0)
        return rr_abort(r, ncomp, rc);
    size_t rdata_pos = pos;
    rc = put_rdata(r, &pos, end, type, rdata, rdlen);
    if (rc != 0)
        return rr_abort(r, ncomp, rc);
    rr_commit(r, sec, rdata_pos, pos);
    return 0;
}

/* Emit text into TXT character-strings, starting a new one whenever the
 * current one (length byte at *lenpos) holds 255 bytes. */
static int txt_emit(struct wire_reply *r, size_t *pos, size_t end, size_t *lenpos, const char *s,
                    size_t n)
{
    while (n > 0) {
        if (r->buf[*lenpos] == TXT_CHUNK) {
            if (end - *pos < 1)
                return ERR_SPACE;
            *lenpos = (*pos)++;
            r->buf[*lenpos] = 0;
        }
        size_t room = TXT_CHUNK - r->buf[*lenpos];
        size_t take = n < room ? n : room;
        if (end - *pos < take)
            return ERR_SPACE;
        memcpy(r->buf + *pos, s, take);
        *pos += take;
        r->buf[*lenpos] = (uint8_t)(r->buf[*lenpos] + take);
        s += take;
        n -= take;
    }
    return 0;
}

static int put_txt(struct wire_reply *r, size_t *pos, size_t end, const char *tmpl, size_t tmpl_len,
                   const char *subject, size_t subject_len)
{
    if (end - *pos < 1)
        return ERR_SPACE;
    size_t lenpos = (*pos)++;
    r->buf[lenpos] = 0; /* an empty template still gives one empty string */
    size_t i = 0;
    while (i < tmpl_len) {
        const char *dollar = memchr(tmpl + i, '$', tmpl_len - i);
        size_t lit = dollar ? (size_t)(dollar - (tmpl + i)) : tmpl_len - i;
        int rc = txt_emit(r, pos, end, &lenpos, tmpl + i, lit);
        if (rc != 0)
            return rc;
        i += lit;
        if (i >= tmpl_len)
            break;
        if (i + 1 < tmpl_len && tmpl[i + 1] == '$') {
            rc = txt_emit(r, pos, end, &lenpos, "$", 1);
            i += 2;
        } else {
            rc = txt_emit(r, pos, end, &lenpos, subject, subject_len);
            i += 1;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int wire_reply_add_txt(struct wire_reply *r, enum wire_section sec, const uint8_t *owner,
                       uint32_t ttl, const char *tmpl, size_t tmpl_len, const char *subject,
                       size_t subject_len)
{
    unsigned ncomp = r->ncomp;
    size_t end = r->limit - r->reserve, pos = r->len;
    if ((tmpl == NULL && tmpl_len > 0) || (subject == NULL && subject_len > 0))
        return ERR_INVAL;
    int rc = rr_begin(r, sec, owner, 16, ttl, &pos, end);
    if (rc != 0)
        return rr_abort(r, ncomp, rc);
    size_t rdata_pos = pos;
    rc = put_txt(r, &pos, end, tmpl, tmpl_len, subject, subject_len);
    if (rc == 0 && pos - rdata_pos > UINT16_MAX)
        rc = ERR_SPACE;
    if (rc != 0)
        return rr_abort(r, ncomp, rc);
    rr_commit(r, sec, rdata_pos, pos);
    return 0;
}

size_t wire_reply_finish(struct wire_reply *r)
{
    if (r->len < WIRE_HEADER_LEN)
        return 0;
    if (r->q->edns && r->reserve >= OPT_LEN && r->count[WIRE_ADDITIONAL] < UINT16_MAX) {
        uint8_t *p = r->buf + r->len;
        p[0] = 0; /* root owner */
        wire_put16(p + 1, TYPE_OPT);
        wire_put16(p + 3, WIRE_EDNS_ADVERTISE);
        /* TTL field: extended rcode, version 0, flags. RFC 3225 wants the
         * DO bit copied from the query, though we serve no signatures. */
        wire_put32(p + 5, (uint32_t)r->ext_rcode << 24 | (r->q->edns_do ? 0x8000u : 0));
        wire_put16(p + 9, 0);
        r->len += OPT_LEN;
        r->reserve = 0; /* written: a second finish adds nothing */
        r->count[WIRE_ADDITIONAL]++;
    }
    if (r->truncated)
        r->buf[2] |= FLAG_TC >> 8;
    write_counts(r);
    return r->len;
}
