/* Finding the source of a reported message: walk its Received: headers
 * from the top (the newest, added by our own edge), skipping hops handed
 * over by our trusted relays; the first hop that came from outside them
 * is the source. A chain that breaks (a hop we must trust that names no
 * sending address) may be forged and is refused. */
#ifndef DBK_LISTING_RECEIVED_CHAIN_H
#define DBK_LISTING_RECEIVED_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Trusted relays: a short list of CIDR blocks, IPv4 and IPv6. */
#define RCHAIN_MAX_TRUSTED 64

struct rchain_trusted {
    unsigned n;
    struct {
        int family; /* 4 or 6 */
        unsigned bits;
        uint8_t addr[16]; /* IPv4 in the first 4 bytes, network order */
    } net[RCHAIN_MAX_TRUSTED];
};

/* Parse "192.0.2.0/24 2001:db8::/32 198.51.100.7" (space or comma
 * separated). Returns 0, or ERR_INVAL (ERR_LIMIT past RCHAIN_MAX_TRUSTED
 * blocks) with *bad pointing at the token. */
int rchain_trusted_parse(const char *text, struct rchain_trusted *out, const char **bad);

/* The address a Received: header says the message came from: the
 * connecting IP the receiving host recorded (Postfix/Sendmail "(rdns
 * [ip])", Exim "[ip]" or "(... [ip] helo=...)", qmail "(ip)", "[IPv6:...]"),
 * not the HELO argument. The value may be folded (CRLF + whitespace).
 * Returns 0 with family 4 or 6 and addr set, or ERR_NOTFOUND. */
int rchain_hop_ip(const char *value, int *family, uint8_t addr[16]);

struct rchain_source {
    int family; /* 4 or 6 */
    uint8_t addr[16];
    unsigned hop; /* index of the Received: header it came from */
};

/* Walk values[0..n) (top first). Returns 0 with the source, or
 * ERR_NOTFOUND (no untrusted hop: internal mail) or ERR_INVAL (a trusted
 * hop names no address: the chain is broken), with a one-line reason in
 * why. Loopback peers (127/8, ::1) count as trusted: that is the host
 * itself (a content filter). A trusted host's header with no from-part
 * (a local submission) ends the walk with ERR_NOTFOUND, except qmail's
 * "(qmail N invoked from network)" stamp, which is skipped. */
int rchain_source(const char *const *values, size_t n, const struct rchain_trusted *trusted,
                  struct rchain_source *out, char *why, size_t whysz);

#endif
