/* Asking DNS from the mail host's side: c-ares (timeouts, retries, TCP
 * on truncation, /etc/resolv.conf: done right already), one channel,
 * any number of queries in flight, answers parsed by reply.h. The
 * caller drives it with resolver_step. Single-threaded. */
#ifndef DBK_CLIENT_RESOLVER_H
#define DBK_CLIENT_RESOLVER_H

#include <stddef.h>
#include <poll.h>
#include <stdint.h>

#include "client/reply.h"

struct resolver_conf {
    /* "addr/port[,addr/port...]" (IPv6 as 2001:db8::1/53 or [2001:db8::1]/53;
     * the port defaults to 53), or NULL for /etc/resolv.conf's. */
    const char *servers;
    unsigned timeout_ms; /* first try; c-ares doubles it on each retry; default 1000 */
    unsigned tries;      /* default 2 */
    /* Queries on the wire at once; more wait their turn. Answers that
     * arrive together must fit the socket's receive buffer, or the
     * kernel drops them and each costs a timeout. Default 256. */
    unsigned max_inflight;
};

void resolver_conf_init(struct resolver_conf *c);

struct resolver;

/* ERR_INVAL (bad servers; err says which), ERR_IO (c-ares could not
 * start, e.g. no resolv.conf), ERR_NOMEM. */
int resolver_new(const struct resolver_conf *c, struct resolver **out, char *err, size_t errsz);

/* Every query still pending gets its callback with ERR_IO first. */
void resolver_free(struct resolver *r);

/* status 0: rep holds the answer, whatever its rcode (SERVFAIL and
 * REFUSED included); ERR_TIMEOUT: no answer after every try; ERR_IO:
 * the network failed or the resolver is being freed; ERR_FORMAT: an
 * answer that does not parse. rep is NULL unless status is 0, and valid
 * during the call only. rtt_ms is the time from send to answer. The
 * callback may start new queries. */
typedef void (*resolver_fn)(void *arg, int status, const struct reply *rep, uint32_t rtt_ms);

/* Ask (name, qtype) with recursion desired, class IN. ERR_INVAL for a
 * name c-ares refuses, ERR_IO while the resolver is being freed; the
 * callback is not called then. It may be called before this returns,
 * when c-ares cannot send at all (no usable server). */
int resolver_query(struct resolver *r, const char *name, uint16_t qtype, resolver_fn fn, void *arg);

/* The same, handing over the answer's bytes (status 0; the rcode is in
 * them) for a parser of the caller's own (reply_ns). */
typedef void (*resolver_raw_fn)(void *arg, int status, const uint8_t *pkt, size_t len);
int resolver_query_raw(struct resolver *r, const char *name, uint16_t qtype, resolver_raw_fn fn,
                       void *arg);

/* Queries asked and not yet answered (sent or waiting their turn). */
unsigned resolver_pending(const struct resolver *r);

/* For a loop of the caller's own (policyd's): the sockets to poll, at
 * most `max` of them (RESOLVER_MAX_FDS is enough), and *timeout_ms
 * lowered to when c-ares's next timer is due (-1 in: no limit of the
 * caller's). Then resolver_process with the same array after poll,
 * which runs the callbacks of the answers and of the timeouts due. */
#define RESOLVER_MAX_FDS 16
unsigned resolver_pollfds(struct resolver *r, struct pollfd *out, unsigned max, int *timeout_ms);
void resolver_process(struct resolver *r, const struct pollfd *fds, unsigned n);

/* Wait at most max_ms (less when a c-ares timer is due sooner) for
 * answers and process them, running their callbacks. Returns 0, or
 * ERR_IO when poll failed for another reason than a signal. */
int resolver_step(struct resolver *r, int max_ms);

#endif
