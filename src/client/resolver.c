/* The c-ares channel behind the list client: servers from the caller or
 * resolv.conf, raw queries with ares_send so that every rcode and the
 * authority section reach reply_parse, and a poll loop. */
#include "client/resolver.h"
#include "common/addr.h"
#include "common/err.h"

#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct resolver_query {
    struct resolver *r;
    resolver_fn fn;
    resolver_raw_fn raw; /* instead of fn */
    void *arg;
    struct timespec sent;
    struct resolver_query *next; /* in the queue */
    unsigned char *pkt;          /* while queued */
    int len;
};

struct resolver {
    ares_channel channel;
    unsigned pending; /* asked, not yet answered */
    unsigned inflight, max_inflight;
    struct resolver_query *head, *tail; /* waiting their turn */
    bool draining;                      /* resolver_drain is running: a callback must not nest it */
    bool freeing;                       /* resolver_free: no new query is taken */
};

void resolver_conf_init(struct resolver_conf *c)
{
    c->servers = NULL;
    c->timeout_ms = 1000;
    c->tries = 2;
    c->max_inflight = 256;
}

/* "addr/port,..." in c-ares's "addr:port,[v6]:port" form. */
static int resolver_servers_csv(const char *spec, char *out, size_t outsz, char *err, size_t errsz)
{
    char buf[1024];
    size_t used = 0;
    snprintf(buf, sizeof(buf), "%s", spec);
    out[0] = '\0';
    for (char *save, *tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        struct addr_sock a;
        if (addr_sock_parse(tok, 53, &a) < 0) {
            snprintf(err, errsz, "bad resolver address '%s' (want addr/port)", tok);
            return ERR_INVAL;
        }
        char host[64];
        unsigned port;
        const struct sockaddr *sa = (const struct sockaddr *)&a.ss;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
            uint32_t h = ntohl(sin->sin_addr.s_addr);
            char t[ADDR_IP4_STRLEN];
            addr_ip4_format(h, t);
            snprintf(host, sizeof(host), "%s", t);
            port = ntohs(sin->sin_port);
        } else {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
            char t[ADDR_IP6_STRLEN];
            addr_ip6_format(sin6->sin6_addr.s6_addr, t);
            snprintf(host, sizeof(host), "[%s]", t);
            port = ntohs(sin6->sin6_port);
        }
        int n = snprintf(out + used, outsz - used, "%s%s:%u", used ? "," : "", host, port);
        if (n < 0 || (size_t)n >= outsz - used) {
            snprintf(err, errsz, "too many resolver addresses");
            return ERR_INVAL;
        }
        used += (size_t)n;
    }
    if (used == 0) {
        snprintf(err, errsz, "no resolver address in '%s'", spec);
        return ERR_INVAL;
    }
    return 0;
}

int resolver_new(const struct resolver_conf *c, struct resolver **out, char *err, size_t errsz)
{
    static int lib_rc = -1;
    if (lib_rc < 0)
        lib_rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (lib_rc != ARES_SUCCESS) {
        snprintf(err, errsz, "c-ares: %s", ares_strerror(lib_rc));
        return ERR_IO;
    }
    char csv[2048];
    if (c->servers && resolver_servers_csv(c->servers, csv, sizeof(csv), err, errsz) < 0)
        return ERR_INVAL;
    struct resolver *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errsz, "out of memory");
        return ERR_NOMEM;
    }
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    o.timeout = (int)(c->timeout_ms ? c->timeout_ms : 1000);
    o.tries = (int)(c->tries ? c->tries : 2);
    /* Every rcode reaches us: SERVFAIL and REFUSED are news about the
     * list's health, not something to hide by trying elsewhere. */
    o.flags = ARES_FLAG_NOCHECKRESP;
    /* Room for a burst of answers (the kernel caps it at rmem_max). */
    o.socket_receive_buffer_size = 1 << 20;
    r->max_inflight = c->max_inflight ? c->max_inflight : 256;
    int rc = ares_init_options(&r->channel, &o,
                               ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
                                   ARES_OPT_SOCK_RCVBUF);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errsz, "c-ares: %s", ares_strerror(rc));
        free(r);
        return ERR_IO;
    }
    if (c->servers && (rc = ares_set_servers_ports_csv(r->channel, csv)) != ARES_SUCCESS) {
        snprintf(err, errsz, "c-ares: cannot use %s: %s", c->servers, ares_strerror(rc));
        ares_destroy(r->channel);
        free(r);
        return ERR_INVAL;
    }
    *out = r;
    return 0;
}

void resolver_free(struct resolver *r)
{
    if (!r)
        return;
    /* Queued queries end first, then ares_destroy ends every query on
     * the wire with ARES_EDESTRUCTION. Callbacks may ask new queries:
     * they are refused from now on. */
    r->freeing = true;
    while (r->head) {
        struct resolver_query *q = r->head;
        r->head = q->next;
        if (!r->head)
            r->tail = NULL;
        r->pending--;
        ares_free_string(q->pkt);
        if (q->raw)
            q->raw(q->arg, ERR_IO, NULL, 0);
        else
            q->fn(q->arg, ERR_IO, NULL, 0);
        free(q);
    }
    ares_destroy(r->channel);
    free(r);
}

static uint32_t resolver_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (uint32_t)ms;
}

static void resolver_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

/* ares_send copies the packet, and may call resolver_done (which frees
 * q) before it returns, when it cannot send at all: q is not touched
 * after it. */
static void resolver_send(struct resolver *r, struct resolver_query *q)
{
    unsigned char *pkt = q->pkt;
    int len = q->len;
    q->pkt = NULL;
    r->inflight++;
    clock_gettime(CLOCK_MONOTONIC, &q->sent);
    ares_send(r->channel, pkt, len, resolver_done, q);
    ares_free_string(pkt);
}

/* Send queued queries while there is room; a callback of a query that
 * fails at once comes back here, and the outer loop carries on. */
static void resolver_drain(struct resolver *r)
{
    if (r->draining)
        return;
    r->draining = true;
    while (r->head && r->inflight < r->max_inflight && !r->freeing) {
        struct resolver_query *q = r->head;
        r->head = q->next;
        if (!r->head)
            r->tail = NULL;
        resolver_send(r, q);
    }
    r->draining = false;
}

static void resolver_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct resolver_query *q = arg;
    struct resolver *r = q->r;
    r->pending--;
    r->inflight--;
    uint32_t rtt = resolver_ms_since(&q->sent);
    if (q->raw) {
        if (status == ARES_SUCCESS && abuf && alen > 0)
            q->raw(q->arg, 0, abuf, (size_t)alen);
        else
            q->raw(q->arg, status == ARES_ETIMEOUT ? ERR_TIMEOUT : ERR_IO, NULL, 0);
    } else if (status == ARES_SUCCESS && abuf && alen > 0) {
        struct reply rep;
        if (reply_parse(abuf, (size_t)alen, &rep) == 0)
            q->fn(q->arg, 0, &rep, rtt);
        else
            q->fn(q->arg, ERR_FORMAT, NULL, rtt);
    } else if (status == ARES_ETIMEOUT) {
        q->fn(q->arg, ERR_TIMEOUT, NULL, rtt);
    } else if (status == ARES_EBADRESP) {
        q->fn(q->arg, ERR_FORMAT, NULL, rtt);
    } else {
        q->fn(q->arg, ERR_IO, NULL, rtt);
    }
    free(q);
    /* The freed place goes to the next in line (none while freeing). */
    if (!r->freeing)
        resolver_drain(r);
}

static int resolver_ask(struct resolver *r, const char *name, uint16_t qtype, resolver_fn fn,
                        resolver_raw_fn raw, void *arg);

int resolver_query(struct resolver *r, const char *name, uint16_t qtype, resolver_fn fn, void *arg)
{
    return resolver_ask(r, name, qtype, fn, NULL, arg);
}

int resolver_query_raw(struct resolver *r, const char *name, uint16_t qtype, resolver_raw_fn fn,
                       void *arg)
{
    return resolver_ask(r, name, qtype, NULL, fn, arg);
}

static int resolver_ask(struct resolver *r, const char *name, uint16_t qtype, resolver_fn fn,
                        resolver_raw_fn raw, void *arg)
{
    if (r->freeing)
        return ERR_IO;
    unsigned char *buf;
    int len;
    /* The id is c-ares's to set; 0 here. */
    if (ares_create_query(name, 1 /* IN */, qtype, 0, 1, &buf, &len, 0) != ARES_SUCCESS)
        return ERR_INVAL;
    struct resolver_query *q = malloc(sizeof(*q));
    if (!q) {
        ares_free_string(buf);
        return ERR_NOMEM;
    }
    q->r = r;
    q->fn = fn;
    q->raw = raw;
    q->arg = arg;
    q->next = NULL;
    q->pkt = buf;
    q->len = len;
    r->pending++;
    if (r->inflight < r->max_inflight && !r->head && !r->draining) {
        resolver_send(r, q);
        return 0;
    }
    if (r->tail)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
    return 0;
}

unsigned resolver_pending(const struct resolver *r)
{
    return r->pending;
}

unsigned resolver_pollfds(struct resolver *r, struct pollfd *out, unsigned max, int *timeout_ms)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    /* The bit tests by hand: c-ares's macros shift a signed 1 into the
     * sign bit for the last socket. */
    unsigned bits = (unsigned)ares_getsock(r->channel, socks, ARES_GETSOCK_MAXNUM);
    unsigned n = 0;
    for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
        short ev = 0;
        if (bits & 1u << i)
            ev |= POLLIN;
        if (bits & 1u << (i + ARES_GETSOCK_MAXNUM))
            ev |= POLLOUT;
        if (!ev)
            continue;
        out[n].fd = socks[i];
        out[n].events = ev;
        out[n].revents = 0;
        n++;
    }
    int max_ms = *timeout_ms < 0 ? 60000 : *timeout_ms;
    struct timeval maxtv = {max_ms / 1000, (max_ms % 1000) * 1000}, tv;
    struct timeval *t = ares_timeout(r->channel, &maxtv, &tv);
    int wait = (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
    if (*timeout_ms < 0 || wait < *timeout_ms)
        *timeout_ms = wait;
    return n;
}

void resolver_process(struct resolver *r, const struct pollfd *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        ares_socket_t rfd =
            fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD;
        ares_socket_t wfd = fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD;
        ares_process_fd(r->channel, rfd, wfd);
    }
    /* Timers: retries and timeouts due by now. */
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

int resolver_step(struct resolver *r, int max_ms)
{
    struct pollfd pfd[RESOLVER_MAX_FDS];
    int wait = max_ms;
    unsigned n = resolver_pollfds(r, pfd, RESOLVER_MAX_FDS, &wait);
    if (poll(pfd, n, wait) < 0) {
        if (errno == EINTR)
            return 0;
        return ERR_IO;
    }
    resolver_process(r, pfd, n);
    return 0;
}
