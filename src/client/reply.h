/* A DNS response as a list client needs it: the rcode, the A records
 * and TXT strings of the answer section (after any CNAME, whatever their
 * owner: a resolver followed the chain), with their TTLs, and an SOA from
 * the answer or authority section for negative caching (RFC 2308). Our
 * own small parser, since c-ares 1.18 parses no authority section. */
#ifndef DBK_CLIENT_REPLY_H
#define DBK_CLIENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLY_MAX_A 16
#define REPLY_TXT_MAX 512

#define REPLY_TYPE_A 1
#define REPLY_TYPE_NS 2
#define REPLY_TYPE_SOA 6
#define REPLY_TYPE_TXT 16

struct reply {
    int rcode; /* 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ... */
    bool tc;
    uint32_t a[REPLY_MAX_A]; /* host order, first REPLY_MAX_A */
    unsigned na;
    uint32_t a_ttl;              /* smallest TTL among them */
    char txt[REPLY_TXT_MAX + 1]; /* the first TXT record's strings joined, NUL-terminated,
                                    bytes outside printable ASCII replaced by '?' */
    bool has_txt;
    uint32_t txt_ttl;
    bool has_soa;       /* an SOA in the answer or authority section */
    bool soa_in_answer; /* it was in the answer section (an SOA query answered) */
    uint32_t soa_ttl, soa_minimum;
    /* The probe rounds its list had started when it came (0 from
     * reply_parse; the checker sets it before caching): a cached listing
     * counts at once only if a round started after it has passed. */
    unsigned got_round;
};

/* Parse a response. Returns 0, or ERR_FORMAT for anything malformed
 * (short, a name that loops or runs out of the packet, counts past the
 * end, QR not set). Records of other types and classes are skipped. */
int reply_parse(const uint8_t *pkt, size_t len, struct reply *out);

/* How long the reply may be cached, RFC 2308: a positive answer (NOERROR
 * with A or TXT records) by its records' smallest TTL; a negative one
 * (NXDOMAIN, or NOERROR without them) by min(SOA TTL, SOA minimum), and
 * not at all without an SOA; SERVFAIL, REFUSED and the rest never.
 * Clamped to [min_ttl, max_ttl] when cacheable. Returns the seconds, or
 * 0 for "do not cache". */
uint32_t reply_cache_ttl(const struct reply *r, uint32_t min_ttl, uint32_t max_ttl);

/* The targets of the NS records in the answer section (class IN), in
 * text: lower case, no trailing dot ("ns1.example.org"); the first `max`
 * of them. Returns how many there were in all (0 for none), or
 * ERR_FORMAT as reply_parse. For the monitor's delegation check only:
 * kept out of struct reply, which every cache entry holds. */
#define REPLY_NAME_MAX 256
int reply_ns(const uint8_t *pkt, size_t len, char (*names)[REPLY_NAME_MAX], unsigned max);

#endif
