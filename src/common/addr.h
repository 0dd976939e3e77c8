/* IPv4/IPv6 addresses: parsing and formatting of literals and of
 * listen specifications ("addr/port", as rbldnsd's -b takes them). */
#ifndef DBK_COMMON_ADDR_H
#define DBK_COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_IP4_STRLEN 16 /* "255.255.255.255" + NUL */
#define ADDR_IP6_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Parse a strict dotted quad ("1.2.3.4") into host byte order. */
int addr_ip4_parse(const char *s, uint32_t *out);

/* Format a host-order IPv4 address as a dotted quad; returns the length. */
int addr_ip4_format(uint32_t a, char out[ADDR_IP4_STRLEN]);

/* Parse an IPv6 literal (inet_pton syntax) into 16 network-order bytes. */
int addr_ip6_parse(const char *s, uint8_t out[16]);

/* Format 16 network-order bytes in RFC 5952 form; returns the length. */
int addr_ip6_format(const uint8_t a[16], char out[ADDR_IP6_STRLEN]);

/* A socket address as given on the command line. */
struct addr_sock {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Parse "addr[/port]" (rbldnsd's -b syntax): addr is an IPv4 or IPv6
 * literal, optionally in brackets, or "*" / "::" for any; default_port is used
 * when no port is given. */
int addr_sock_parse(const char *spec, uint16_t default_port, struct addr_sock *out);

/* Format a socket address as "addr/port" (for logs). */
void addr_sock_format(const struct sockaddr *sa, char *out, size_t outsz);

/* A network of either family as 128 bits, IPv4 in its IPv4-mapped form
 * (::ffff:a.b.c.d), so that testing an address is two masked compares
 * and an IPv4-mapped IPv6 client is its IPv4 address. */
struct addr_net {
    uint64_t hi, lo;   /* the network, host bits cleared */
    uint64_t mhi, mlo; /* its mask */
};

/* Parse "addr[/bits]" (IPv4 or IPv6; bits 0..32 or 0..128, all when
 * left out), host bits cleared. ERR_INVAL for anything else. */
int addr_net_parse(const char *s, struct addr_net *out);

/* The masks of a 128-bit prefix of `bits` (0..128). */
void addr_net_masks(unsigned bits, uint64_t *mhi, uint64_t *mlo);

/* An address as 128 bits, IPv4 mapped; false for a family without one. */
bool addr_sock_128(const struct sockaddr *sa, uint64_t *hi, uint64_t *lo);

/* Whether a is an IPv4 (mapped) address. */
static inline bool addr_128_is_ip4(uint64_t hi, uint64_t lo)
{
    return hi == 0 && (lo & ~0xffffffffull) == 0x0000ffff00000000ull;
}

static inline bool addr_net_has(const struct addr_net *n, uint64_t hi, uint64_t lo)
{
    return (hi & n->mhi) == n->hi && (lo & n->mlo) == n->lo;
}

#endif
