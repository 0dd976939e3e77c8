/* What a listing is about: an IPv4 address or block, or an IPv6 /64 or
 * shorter block. IPv6 sources are listed per /64 (one host has a /64), so
 * an IPv6 key keeps only the upper 64 bits. */
#ifndef DBK_LISTING_NETKEY_H
#define DBK_LISTING_NETKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETKEY_STRLEN 64

struct netkey {
    uint8_t family; /* 4 or 6 */
    uint8_t bits;   /* prefix length: 1..32 for IPv4, 1..64 for IPv6 */
    uint64_t hi;    /* IPv4: the address in the low 32 bits, host order;
                       IPv6: the first 64 bits, host order; bits past the
                       prefix are zero */
};

/* Parse "1.2.3.4", "1.2.3.0/24", "2001:db8::1" (-> its /64) or
 * "2001:db8::/48". Host bits set under the prefix are refused (ERR_INVAL)
 * as a likely typo; an IPv6 prefix longer than /64 is refused. */
int netkey_parse(const char *text, struct netkey *out);

/* An IPv4 address or an IPv6 address's /64. */
void netkey_from_ip4(uint32_t addr, struct netkey *out);
void netkey_from_ip6(const uint8_t addr[16], struct netkey *out);

/* "1.2.3.4", "1.2.3.0/24", "2001:db8:1:2::/64"; returns the length. */
int netkey_format(const struct netkey *k, char *out, size_t outsz);

/* Whether `outer` contains `inner` (same family, shorter or equal prefix). */
bool netkey_contains(const struct netkey *outer, const struct netkey *inner);

/* Whether the key lies entirely in public unicast space: not loopback,
 * private (RFC 1918, ULA), link-local, CGNAT, multicast, documentation,
 * benchmarking, reserved or unspecified. *why names the range otherwise. */
bool netkey_is_public(const struct netkey *k, const char **why);

/* The IPv4 /24 holding an IPv4 key (escalation). */
void netkey_net24(const struct netkey *k, struct netkey *out);

#endif
