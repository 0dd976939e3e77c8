/* Query names of a DNS list (RFC 5782 section 2): an IPv4 address
 * reversed (192.0.2.99 -> 99.2.0.192.zone), an IPv6 address as 32
 * reversed nibbles, a domain (RHSBL) as itself under the zone; and the
 * names the health probes ask. */
#ifndef DBK_CLIENT_QNAME_H
#define DBK_CLIENT_QNAME_H

#include <stddef.h>
#include <stdint.h>

/* A subject: what is checked against lists. */
enum qname_kind { QNAME_IP4, QNAME_IP6, QNAME_DOMAIN };

struct qname_subject {
    enum qname_kind kind;
    uint32_t ip4;     /* host order */
    uint8_t ip6[16];  /* network order */
    char domain[254]; /* lower case, no trailing dot */
};

/* Parse "192.0.2.99", "2001:db8::1" or "example.com" (a domain: labels of
 * letters, digits, '-' and '_', 1..63 bytes each, at least two labels,
 * total <= 253; a trailing dot is dropped, case folded). An IPv4-mapped
 * IPv6 address is taken as its IPv4 address. ERR_INVAL otherwise. */
int qname_subject_parse(const char *text, struct qname_subject *out);

/* The subject in its usual text form ("192.0.2.99", "2001:db8::1",
 * "example.com"). */
int qname_subject_format(const struct qname_subject *s, char *out, size_t outsz);

/* The query name of subject s under zone (no trailing dot), e.g.
 * "99.2.0.192.bl.example". ERR_SPACE when it does not fit outsz or is
 * longer than 253 bytes. */
int qname_build(const struct qname_subject *s, const char *zone, char *out, size_t outsz);

/* A random label for the wildcard probe: 16 lower-case letters and
 * digits from getrandom, prefixed "dbk-" (20 bytes + NUL). */
void qname_random_label(char out[21]);

#endif
