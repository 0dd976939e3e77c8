/* DNS messages on the wire (RFC 1035, EDNS(0) RFC 6891): parsing a query
 * and writing a reply into a caller-owned buffer, without allocating.
 * This is the server's hot path; everything here is fuzzed. */
#ifndef DBK_WIRE_WIRE_H
#define DBK_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/name.h"

#define WIRE_HEADER_LEN 12
#define WIRE_UDP_MIN 512  /* reply size without EDNS */
#define WIRE_UDP_MAX 4096 /* largest EDNS buffer we honour */
#define WIRE_TCP_MAX 65535
#define WIRE_EDNS_ADVERTISE 1232 /* our own EDNS buffer size (DNS flag day 2020) */

enum wire_rcode {
    WIRE_RCODE_NOERROR = 0,
    WIRE_RCODE_FORMERR = 1,
    WIRE_RCODE_SERVFAIL = 2,
    WIRE_RCODE_NXDOMAIN = 3,
    WIRE_RCODE_NOTIMP = 4,
    WIRE_RCODE_REFUSED = 5,
    WIRE_RCODE_NOTAUTH = 9,  /* RFC 8945: a TSIG that does not verify */
    WIRE_RCODE_BADVERS = 16, /* extended, needs OPT */
};

enum wire_section { WIRE_ANSWER = 0, WIRE_AUTHORITY = 1, WIRE_ADDITIONAL = 2 };

/* What wire_parse_query found in a request. */
struct wire_query {
    uint16_t id;
    uint8_t opcode;
    bool rd, cd;
    uint16_t qtype, qclass;
    uint8_t qname[NAME_MAXWIRE]; /* as sent (letter case preserved) */
    uint8_t lname[NAME_MAXWIRE]; /* folded to lower case */
    size_t qname_len;            /* wire length, root label included */
    unsigned qlabels;

    bool edns; /* an OPT record was present */
    uint8_t edns_version;
    bool edns_do;      /* DNSSEC OK bit */
    uint16_t edns_udp; /* requester's UDP payload size, clamped to
                          [WIRE_UDP_MIN, WIRE_UDP_MAX] */
};

/* Results of wire_parse_query besides 0 (a query we can answer). */
enum {
    WIRE_DROP = -100,    /* not worth a reply: shorter than a header, or QR set */
    WIRE_FORMERR = -101, /* reply FORMERR (header copied, no question if unusable) */
    WIRE_NOTIMP = -102,  /* opcode other than QUERY: reply NOTIMP */
};

/* Parse a request. The question must hold exactly one uncompressed name;
 * the only record allowed after it is one OPT in the additional section.
 * On WIRE_FORMERR/WIRE_NOTIMP, q->id, q->opcode and q->rd are still valid
 * for the reply, and q->qname_len is nonzero if the question was readable
 * (so the reply can echo it). */
int wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q);

/* A reply being written. */
struct wire_reply {
    uint8_t *buf;
    size_t cap;        /* size of buf */
    size_t limit;      /* the most this reply may use (UDP size or 65535) */
    size_t len;        /* bytes written so far */
    size_t reserve;    /* bytes kept free for the OPT record */
    uint16_t count[3]; /* records per section */
    bool truncated;
    const struct wire_query *q;
    /* Compression: where names already written start, so later names
     * (owner names, SOA/NS/MX targets) can point at their suffixes. */
    unsigned ncomp;
    uint16_t comp[16];
    /* Upper 8 bits of a 12-bit rcode (BADVERS), carried in the OPT record
     * that wire_reply_finish writes. */
    uint8_t ext_rcode;
};

/* Start a reply to q: header (id, QR=1, opcode, RD copied, AA set), and
 * the question echoed with the client's letter case. `limit` is the size
 * the reply must fit in; when q->edns, room for an OPT record is reserved
 * and written by wire_reply_finish. */
void wire_reply_init(struct wire_reply *r, uint8_t *buf, size_t cap, size_t limit,
                     const struct wire_query *q);

/* Start a bare error reply (FORMERR, NOTIMP) to a request that did not
 * parse: header only, plus the question when q->qname_len is set. */
void wire_reply_error(struct wire_reply *r, uint8_t *buf, size_t cap, const struct wire_query *q,
                      enum wire_rcode rcode);

void wire_reply_set_rcode(struct wire_reply *r, enum wire_rcode rcode);
void wire_reply_set_aa(struct wire_reply *r, bool aa);

/* Append one record. `owner` is a wire name (compressed against what is
 * already in the packet), or NULL for the query name itself. `rdata` is
 * wire RDATA; for NS, CNAME, PTR, MX, SOA the names inside it are
 * compressed where possible. Returns ERR_SPACE (and sets r->truncated)
 * when the record does not fit; the packet is left as before the call. */
int wire_reply_add(struct wire_reply *r, enum wire_section sec, const uint8_t *owner, uint16_t type,
                   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/* Append a TXT record built from a template: '$' becomes `subject`, "$$"
 * becomes '$'; the text is split into character-strings of at most 255
 * bytes. Same return contract as wire_reply_add. */
int wire_reply_add_txt(struct wire_reply *r, enum wire_section sec, const uint8_t *owner,
                       uint32_t ttl, const char *tmpl, size_t tmpl_len, const char *subject,
                       size_t subject_len);

/* Finish the reply: add the OPT record when the query had EDNS (our
 * buffer size, extended rcode bits), set TC if a record did not fit, and
 * return the message length. */
size_t wire_reply_finish(struct wire_reply *r);

/* Lower-level helpers, exposed for tests. */
uint16_t wire_get16(const uint8_t *p);
uint32_t wire_get32(const uint8_t *p);
void wire_put16(uint8_t *p, uint16_t v);
void wire_put32(uint8_t *p, uint32_t v);

#endif
