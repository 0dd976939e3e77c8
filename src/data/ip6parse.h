/* IPv6 entry syntax of rbldnsd data files (ip6tset, ip6trie, acl): hex
 * groups separated by ':', at most one "::", optionally "/bits". Unlike
 * inet_pton, a prefix may stop after any group ("2001:db8" = 32 bits). */
#ifndef DBK_DATA_IP6PARSE_H
#define DBK_DATA_IP6PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Parse groups at s into out (16 bytes, network order, zero-filled).
 * *bits gets 16 per group given, or 128 when "::" was used. *end points
 * at the first character not consumed. ERR_INVAL when no group could be
 * read, a group exceeds 4 hex digits, or "::" leaves no room for zeros. */
int ip6parse_prefix(const char *s, uint8_t out[16], unsigned *bits, const char **end);

/* As ip6parse_prefix, then an optional "/bits" (0..128). A single group
 * without "/bits" is refused, as rbldnsd does, since it is more likely a
 * typo than a /16. */
int ip6parse_cidr(const char *s, uint8_t out[16], unsigned *bits, const char **end);

/* Clear the bits of a past the first `bits`; returns true when any of
 * them was set (a "non-zero host part"). */
bool ip6parse_mask(uint8_t a[16], unsigned bits);

/* The value of a hexadecimal digit (0-9, a-f, A-F), or -1 when c is none;
 * also for the nibble labels of reversed IPv6 query names, hence inline. */
static inline int ip6parse_hexdigit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whether c may follow an address in a data line: end of line,
 * whitespace, a comment character, or ':' starting a value. */
bool ip6parse_tail_ok(char c);

#endif
