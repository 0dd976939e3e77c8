/* rbldnsd's IPv4 entry syntax, shared by every type that lists IPv4
 * addresses (ip4set, ip4tset, ip4trie, acl): addresses, incomplete
 * prefixes, CIDR blocks and ranges. A leading '!' is the caller's. */
#ifndef DBK_DATA_IP4PARSE_H
#define DBK_DATA_IP4PARSE_H

#include <stdint.h>

/* Accept CIDR blocks with host bits set ("10.1.2.3/8"), clearing those
 * bits, as rbldnsd -e does. Without it they are refused as likely typos. */
#define IP4PARSE_HOSTBITS 1u

/* Parse one IPv4 entry at the start of s. Accepted forms, as in rbldnsd
 * (octets are decimal 0..255):
 *   1.2.3.4                  one address
 *   1.2.3  1.2               incomplete prefix: 1.2.3.0/24, 1.2.0.0/16
 *   1.2.3.0/24  1.2/16  10/8 CIDR; a bare "10" without /len is refused
 *   1.2.3.4-1.2.3.20         inclusive range; both ends have the same
 *   1.2.3-1.2.9              number of octets and the end is completed
 *                            with 255s (1.2.3.0-1.2.9.255)
 *   1.2.3.4-20  1.2-9        short range: the end replaces the last octet
 *                            given (1.2.3.4-1.2.3.20, 1.2.0.0-1.2.9.255)
 * The entry ends at the end of the string, a blank, ':', '#' or ';'.
 * On success returns 0 and sets *first and *last (host order, inclusive),
 * *bits to the prefix length for CIDR and prefix forms or -1 for a range,
 * and *end (if not NULL) to the first byte after the entry. On failure
 * returns ERR_INVAL (syntax, reversed range) or ERR_RANGE (host bits set
 * without IP4PARSE_HOSTBITS) and sets *why (if not NULL) to a short
 * English reason. */
int ip4parse_range(const char *s, unsigned flags, uint32_t *first, uint32_t *last, int *bits,
                   const char **end, const char **why);

/* The same, accepting only CIDR and prefix forms (what ip4trie and acl
 * take): sets *addr (network address, host order) and *bits. */
int ip4parse_cidr(const char *s, unsigned flags, uint32_t *addr, unsigned *bits, const char **end,
                  const char **why);

/* Split an inclusive range into the fewest CIDR blocks, calling fn for
 * each in address order; stops early and returns fn's value when it is
 * nonzero. */
typedef int (*ip4parse_block_fn)(uint32_t addr, unsigned bits, void *arg);
int ip4parse_blocks(uint32_t first, uint32_t last, ip4parse_block_fn fn, void *arg);

#endif
