/* IPv4/IPv6 addresses: parsing and formatting of literals and of
 * listen specifications ("addr/port", as rbldnsd's -b takes them). */
#ifndef DBK_COMMON_ADDR_H
#define DBK_COMMON_ADDR_H

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

#endif
