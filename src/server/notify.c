/* The NOTIFY sender: one record per (zone, secondary) with the NOTIFY of
 * the zone's newest serial, its tries and the secondary's silence; one
 * thread. */
#include "server/notify.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "wire/tsig.h"
#include "wire/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_OPCODE 4
#define NOTIFY_MSG_MAX                                                                             \
    (WIRE_HEADER_LEN + 2 * NAME_MAXWIRE + 14 + ZONE_SOA_RDMAX + 2 * NAME_MAXWIRE + 64 +            \
     TSIG_MAC_MAX)
/* The tries of one NOTIFY span 1 + 2 + 4 + 8 + 16 s: a secondary that
 * answers nothing for that long is given up on. */
#define NOTIFY_SILENCE ((double)((1u << NOTIFY_TRIES) - 1))

/* A secondary of a zone. The record lives while a NOTIFY is pending,
 * while the secondary is silent (so that it is warned about once, not
 * once per change) and until NOTIFY_GAP after the last send (so that the
 * next serial waits for it): at most one per configured pair. */
struct notify_peer {
    struct notify_peer *next;
    uint8_t apex[NAME_MAXWIRE];
    char zone[NAME_MAXTEXT];
    struct sockaddr_storage to;
    socklen_t tolen;
    /* The NOTIFY of the newest serial; a newer one takes its place. */
    uint32_t serial;
    uint16_t id;
    uint8_t msg[NOTIFY_MSG_MAX];
    size_t len;
    bool sign; /* signed with the zone's transfer-key */
    struct tsig_ctx tsig;
    /* Its tries: pending until an answer that verifies, or given up. */
    bool pending;
    unsigned tries; /* of this message; 0: not sent yet */
    double due;     /* CLOCK_MONOTONIC seconds of the next try, or of giving up */
    double first;   /* the first try of this message */
    double last_sent;
    bool said_send_error, said_unverified; /* once per job */
    /* The secondary has answered nothing since silent_since. */
    bool silent;
    double silent_since;
    unsigned silent_tries;
    bool warned; /* said so; not again until it answers */
};

struct notify {
    pthread_t thread;
    pthread_mutex_t lock;
    struct notify_peer *peers;
    int wake; /* eventfd */
    int fd4, fd6;
    int fd6_errno; /* why there is no fd6 */
    bool stop;
    struct notify_counters c;
};

static double notify_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool notify_same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

/* The message: opcode NOTIFY, AA, the zone's SOA as the question and
 * as the answer (RFC 1996 3.7: the new serial as a hint). */
static size_t notify_build(uint8_t *m, uint16_t id, const struct zone *z)
{
    wire_put16(m, id);
    wire_put16(m + 2, (uint16_t)(NOTIFY_OPCODE << 11) | 0x0400u);
    wire_put16(m + 4, 1);
    wire_put16(m + 6, 1);
    wire_put16(m + 8, 0);
    wire_put16(m + 10, 0);
    size_t p = WIRE_HEADER_LEN;
    memcpy(m + p, z->apex, z->apex_len);
    p += z->apex_len;
    wire_put16(m + p, DNS_TYPE_SOA);
    wire_put16(m + p + 2, 1);
    p += 4;
    wire_put16(m + p, 0xC000u | WIRE_HEADER_LEN);
    wire_put16(m + p + 2, DNS_TYPE_SOA);
    wire_put16(m + p + 4, 1);
    wire_put32(m + p + 6, z->soa_ttl);
    wire_put16(m + p + 10, z->soa_rdlen);
    memcpy(m + p + 12, z->soa_rdata, z->soa_rdlen);
    return p + 12 + z->soa_rdlen;
}

static const char *notify_rcode(unsigned rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : "an unknown rcode";
}

static void notify_peer_text(const struct notify_peer *p, char *out, size_t outsz)
{
    addr_sock_format((const struct sockaddr *)&p->to, out, outsz);
}

static void notify_send_one(struct notify *n, struct notify_peer *p, double now)
{
    int fd = p->to.ss_family == AF_INET6 ? n->fd6 : n->fd4;
    int err = fd < 0 ? n->fd6_errno : 0;
    if (fd >= 0) {
        ssize_t r = sendto(fd, p->msg, p->len, 0, (const struct sockaddr *)&p->to, p->tolen);
        if (r == (ssize_t)p->len)
            atomic_fetch_add_explicit(&n->c.sent, 1, memory_order_relaxed);
        else if (r < 0)
            err = errno;
    }
    if (err && !p->said_send_error) {
        /* Else silent until the warning of no answer, 31 s on, which
         * could not say why. */
        char peer[80];
        notify_peer_text(p, peer, sizeof(peer));
        log_warning("NOTIFY of %s serial %u to %s: cannot send: %s%s", p->zone, p->serial, peer,
                    fd < 0 ? "no IPv6 socket: " : "", strerror(err));
        p->said_send_error = true;
    }
    if (p->tries == 0)
        p->first = now;
    p->tries++;
    p->last_sent = now;
    if (!p->silent) {
        p->silent = true;
        p->silent_since = now;
        p->silent_tries = 0;
    }
    p->silent_tries++;
    /* 1, 2, 4, 8, 16 s after the tries. */
    p->due = now + (double)(1u << (p->tries - 1));
}

/* Unlink and free *pp's record; returns the next. */
static struct notify_peer *notify_drop(struct notify_peer **pp)
{
    struct notify_peer *p = *pp;
    *pp = p->next;
    free(p);
    return *pp;
}

static void notify_sooner(double *next, double t)
{
    if (*next < 0 || t < *next)
        *next = t;
}

/* Send what is due, give up what has run out, warn of secondaries silent
 * for NOTIFY_SILENCE, forget the rest; under the lock. Returns the
 * milliseconds until the next thing to do (-1: nothing). */
static int notify_due(struct notify *n)
{
    double now = notify_now(), next = -1;
    for (struct notify_peer **pp = &n->peers; *pp;) {
        struct notify_peer *p = *pp;
        if (p->pending && p->due <= now) {
            if (p->tries >= NOTIFY_TRIES)
                p->pending = false;
            else
                notify_send_one(n, p, now);
        }
        if (p->silent && !p->warned && now - p->silent_since >= NOTIFY_SILENCE) {
            char peer[80];
            notify_peer_text(p, peer, sizeof(peer));
            log_warning("NOTIFY of %s serial %u to %s: no answer to %u tries in %.0f s; it "
                        "will see the serial at its next refresh (not said again until it "
                        "answers)",
                        p->zone, p->serial, peer, p->silent_tries, now - p->silent_since);
            atomic_fetch_add_explicit(&n->c.failed, 1, memory_order_relaxed);
            p->warned = true;
        }
        if (!p->pending && !p->silent && now - p->last_sent >= NOTIFY_GAP) {
            notify_drop(pp);
            continue;
        }
        if (p->pending)
            notify_sooner(&next, p->due);
        if (p->silent && !p->warned)
            notify_sooner(&next, p->silent_since + NOTIFY_SILENCE);
        if (!p->pending && !p->silent)
            notify_sooner(&next, p->last_sent + NOTIFY_GAP);
        pp = &p->next;
    }
    if (next < 0)
        return -1;
    double ms = (next - now) * 1000.0 + 1;
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* An answer to the message of a record from its address: the NOTIFY is
 * done if it verifies (an unsigned NOTIFY has nothing to verify). One
 * that does not proves nothing, since anyone who sees or guesses the id
 * and port can send it: the tries go on. */
static void notify_answer(struct notify *n, const uint8_t *m, size_t len,
                          const struct sockaddr_storage *from)
{
    if (len < WIRE_HEADER_LEN || !(m[2] & 0x80) || ((m[2] >> 3) & 0xF) != NOTIFY_OPCODE)
        return;
    uint16_t id = wire_get16(m);
    unsigned rcode = m[3] & 0xF;
    struct notify_peer *p = n->peers;
    for (; p; p = p->next)
        if (p->id == id && p->tries > 0 && (p->pending || p->silent) &&
            notify_same_peer(&p->to, from))
            break;
    if (!p)
        return;
    char peer[80];
    notify_peer_text(p, peer, sizeof(peer));
    double now = notify_now();
    /* On a copy: a reply that fails leaves the exchange as it was for
     * the one that may still come. */
    struct tsig_ctx t = p->tsig;
    enum tsig_result tr = p->sign ? tsig_verify_response(&t, m, len, time(NULL)) : TSIG_OK;
    if (tr != TSIG_OK) {
        atomic_fetch_add_explicit(&n->c.unverified, 1, memory_order_relaxed);
        if (!p->said_unverified)
            log_warning("NOTIFY of %s serial %u to %s: an answer (%s) fails TSIG (%s); "
                        "discarded, still waiting for one that verifies",
                        p->zone, p->serial, peer, notify_rcode(rcode), tsig_result_str(tr));
        p->said_unverified = true;
        return;
    }
    if (p->warned)
        log_info("NOTIFY of %s serial %u to %s: it answers again, after %.0f s without an answer",
                 p->zone, p->serial, peer, now - p->silent_since);
    p->silent = false;
    p->warned = false;
    if (rcode == WIRE_RCODE_NOERROR) {
        atomic_fetch_add_explicit(&n->c.answered, 1, memory_order_relaxed);
        double ms = (now - p->first) * 1000.0;
        if (p->tries > 1)
            log_info("NOTIFY of %s serial %u to %s answered after %u tries, %.0f ms", p->zone,
                     p->serial, peer, p->tries, ms);
        else
            log_debug("NOTIFY of %s serial %u to %s answered in %.1f ms", p->zone, p->serial, peer,
                      ms);
    } else {
        atomic_fetch_add_explicit(&n->c.refused, 1, memory_order_relaxed);
        log_warning("NOTIFY of %s serial %u to %s answered %s: it is not configured to take "
                    "NOTIFY for the zone from us",
                    p->zone, p->serial, peer, notify_rcode(rcode));
    }
    p->pending = false;
}

static void notify_read(struct notify *n, int fd)
{
    uint8_t buf[1500];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
        if (r < 0)
            return;
        pthread_mutex_lock(&n->lock);
        notify_answer(n, buf, (size_t)r, &from);
        pthread_mutex_unlock(&n->lock);
    }
}

static void *notify_main(void *arg)
{
    struct notify *n = arg;
    for (;;) {
        pthread_mutex_lock(&n->lock);
        bool stop = n->stop;
        int timeout = stop ? 0 : notify_due(n);
        pthread_mutex_unlock(&n->lock);
        if (stop)
            break;
        struct pollfd p[3] = {{.fd = n->wake, .events = POLLIN},
                              {.fd = n->fd4, .events = POLLIN},
                              {.fd = n->fd6, .events = POLLIN}};
        if (poll(p, 3, timeout) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            uint64_t v;
            if (read(n->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
                break;
        }
        if (p[1].revents & POLLIN)
            notify_read(n, n->fd4);
        if (p[2].revents & POLLIN)
            notify_read(n, n->fd6);
    }
    return NULL;
}

/* Bind fd to the source address a (len 0: leave it to the kernel). */
static int notify_bind(int fd, const struct addr_sock *a, char *why, size_t whysz)
{
    if (a->len == 0)
        return 0;
    char text[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr_in *in = (const void *)&a->ss;
    const struct sockaddr_in6 *in6 = (const void *)&a->ss;
    inet_ntop(a->ss.ss_family,
              a->ss.ss_family == AF_INET ? (const void *)&in->sin_addr
                                         : (const void *)&in6->sin6_addr,
              text, sizeof(text));
    if (fd < 0) {
        snprintf(why, whysz, "notify-source %s: no socket of its family (%s)", text,
                 strerror(errno));
        return ERR_IO;
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
        snprintf(why, whysz, "notify-source %s: cannot bind: %s", text, strerror(errno));
        return ERR_IO;
    }
    return 0;
}

int notify_start(const struct addr_sock src[2], struct notify **out, char *why, size_t whysz)
{
    struct notify *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(why, whysz, "out of memory");
        return ERR_NOMEM;
    }
    pthread_mutex_init(&n->lock, NULL);
    n->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* Without a notify-source the sockets stay unbound: the kernel picks
     * the source address and port. A host without IPv6 has no fd6:
     * NOTIFYs to IPv6 say so at their first try. */
    n->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    n->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    n->fd6_errno = n->fd6 < 0 ? errno : 0;
    snprintf(why, whysz, "cannot open its sockets: %s", strerror(errno));
    int rc = n->wake < 0 || n->fd4 < 0 ? ERR_IO : 0;
    if (rc == 0)
        rc = notify_bind(n->fd4, &src[0], why, whysz);
    if (rc == 0) {
        errno = n->fd6_errno;
        rc = notify_bind(n->fd6, &src[1], why, whysz);
    }
    if (rc == 0 && pthread_create(&n->thread, NULL, notify_main, n) != 0) {
        snprintf(why, whysz, "cannot start its thread");
        rc = ERR_IO;
    }
    if (rc) {
        if (n->wake >= 0)
            close(n->wake);
        if (n->fd4 >= 0)
            close(n->fd4);
        if (n->fd6 >= 0)
            close(n->fd6);
        pthread_mutex_destroy(&n->lock);
        free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static bool notify_configured(const struct xfr_conf *x, const struct sockaddr_storage *to)
{
    for (unsigned i = 0; i < x->nnotify; i++)
        if (notify_same_peer(&x->notify[i].ss, to))
            return true;
    return false;
}

/* Put z's NOTIFY to x->notify[i] into its record, a new one if there is
 * none. Under the lock. */
static int notify_one(struct notify *n, const struct zone *z, const struct xfr_conf *x, unsigned i,
                      double now)
{
    const struct addr_sock *to = &x->notify[i];
    struct notify_peer *p = n->peers;
    while (p && !(name_equal(p->apex, z->apex) && notify_same_peer(&p->to, &to->ss)))
        p = p->next;
    /* Built aside: a message that cannot be signed leaves the record's
     * as it was. */
    uint8_t msg[NOTIFY_MSG_MAX];
    uint16_t id;
    if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
        id = (uint16_t)(z->serial * 2654435761u + i);
    size_t len = notify_build(msg, id, z);
    struct tsig_ctx tsig;
    if (x->key) {
        /* Signed once: the retries repeat the message, well within
         * its time's fudge. */
        tsig_ctx_init(&tsig, x->key);
        if (tsig_sign(&tsig, msg, &len, sizeof(msg), time(NULL)) < 0) {
            log_error("NOTIFY of %s: cannot sign with TSIG key %s", z->name, x->key->text);
            return ERR_INVAL;
        }
    }
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        memcpy(p->apex, z->apex, z->apex_len);
        snprintf(p->zone, sizeof(p->zone), "%s", z->name);
        p->to = to->ss;
        p->tolen = to->len;
        p->last_sent = now - NOTIFY_GAP;
        p->next = n->peers;
        n->peers = p;
    }
    memcpy(p->msg, msg, len);
    p->len = len;
    p->id = id;
    p->serial = z->serial;
    p->sign = x->key != NULL;
    if (p->sign)
        p->tsig = tsig;
    if (!p->pending) {
        p->pending = true;
        p->said_send_error = false;
        p->said_unverified = false;
    }
    /* The new message's tries start again, the first not sooner than
     * NOTIFY_GAP after the last send: a zone changing several times a
     * second costs a NOTIFY a second, the newest serial. */
    p->tries = 0;
    p->due = p->last_sent + NOTIFY_GAP > now ? p->last_sent + NOTIFY_GAP : now;
    return 0;
}

int notify_zone(struct notify *n, const struct zone *z, const struct xfr_conf *x)
{
    int rc = 0;
    double now = notify_now();
    pthread_mutex_lock(&n->lock);
    /* Secondaries the zone no longer names are forgotten. */
    for (struct notify_peer **pp = &n->peers; *pp;) {
        if (name_equal((*pp)->apex, z->apex) && !notify_configured(x, &(*pp)->to))
            notify_drop(pp);
        else
            pp = &(*pp)->next;
    }
    for (unsigned i = 0; i < x->nnotify; i++) {
        int r = notify_one(n, z, x, i, now);
        if (r < 0)
            rc = r;
        if (r == ERR_NOMEM)
            break;
    }
    pthread_mutex_unlock(&n->lock);
    uint64_t one = 1;
    if (write(n->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
        rc = ERR_IO;
    return rc;
}

const struct notify_counters *notify_counters(const struct notify *n)
{
    return &n->c;
}

void notify_stop(struct notify *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    n->stop = true;
    pthread_mutex_unlock(&n->lock);
    uint64_t one = 1;
    if (write(n->wake, &one, sizeof(one)) < 0)
        log_debug("notify: cannot wake the sender: %s", strerror(errno));
    pthread_join(n->thread, NULL);
    while (n->peers)
        notify_drop(&n->peers);
    close(n->wake);
    close(n->fd4);
    if (n->fd6 >= 0)
        close(n->fd6);
    pthread_mutex_destroy(&n->lock);
    free(n);
}
