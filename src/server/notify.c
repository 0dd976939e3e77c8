/* The NOTIFY sender: a list of NOTIFYs being tried, one thread. */
#include "server/notify.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "wire/tsig.h"
#include "wire/wire.h"

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

struct notify_job {
    struct notify_job *next;
    uint8_t apex[NAME_MAXWIRE];
    char zone[NAME_MAXTEXT];
    struct sockaddr_storage to;
    socklen_t tolen;
    uint32_t serial;
    uint16_t id;
    unsigned tries;
    double due; /* CLOCK_MONOTONIC seconds of the next try, or of giving up */
    double first;
    uint8_t msg[NOTIFY_MSG_MAX];
    size_t len;
    bool sign; /* signed with the zone's transfer-key */
    struct tsig_ctx tsig;
};

struct notify {
    pthread_t thread;
    pthread_mutex_t lock;
    struct notify_job *jobs;
    int wake; /* eventfd */
    int fd4, fd6;
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
static void notify_build(struct notify_job *j, const struct zone *z)
{
    uint8_t *m = j->msg;
    wire_put16(m, j->id);
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
    j->len = p + 12 + z->soa_rdlen;
}

static const char *notify_rcode(unsigned rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : "an unknown rcode";
}

static void notify_peer_text(const struct notify_job *j, char *out, size_t outsz)
{
    addr_sock_format((const struct sockaddr *)&j->to, out, outsz);
}

static void notify_send_one(struct notify *n, struct notify_job *j, double now)
{
    int fd = j->to.ss_family == AF_INET6 ? n->fd6 : n->fd4;
    if (fd >= 0 &&
        sendto(fd, j->msg, j->len, 0, (const struct sockaddr *)&j->to, j->tolen) == (ssize_t)j->len)
        atomic_fetch_add_explicit(&n->c.sent, 1, memory_order_relaxed);
    j->tries++;
    /* 1, 2, 4, 8, 16 s after the tries. */
    j->due = now + (double)(1u << (j->tries - 1));
}

/* Unlink and free *pp's job; returns the next. */
static struct notify_job *notify_drop(struct notify_job **pp)
{
    struct notify_job *j = *pp;
    *pp = j->next;
    free(j);
    return *pp;
}

/* Send what is due, give up what has run out; under the lock. Returns
 * the milliseconds until the next thing to do (-1: nothing). */
static int notify_due(struct notify *n)
{
    double now = notify_now(), next = -1;
    for (struct notify_job **pp = &n->jobs; *pp;) {
        struct notify_job *j = *pp;
        if (j->due <= now) {
            if (j->tries >= NOTIFY_TRIES) {
                char peer[80];
                notify_peer_text(j, peer, sizeof(peer));
                log_warning("NOTIFY of %s serial %u to %s: no answer to %u tries in %.0f s; it "
                            "will see the serial at its next refresh",
                            j->zone, j->serial, peer, j->tries, now - j->first);
                atomic_fetch_add_explicit(&n->c.failed, 1, memory_order_relaxed);
                notify_drop(pp);
                continue;
            }
            notify_send_one(n, j, now);
        }
        if (next < 0 || j->due < next)
            next = j->due;
        pp = &j->next;
    }
    if (next < 0)
        return -1;
    double ms = (next - now) * 1000.0 + 1;
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* An answer: the job with its id from its address is done. */
static void notify_answer(struct notify *n, const uint8_t *m, size_t len,
                          const struct sockaddr_storage *from)
{
    if (len < WIRE_HEADER_LEN || !(m[2] & 0x80) || ((m[2] >> 3) & 0xF) != NOTIFY_OPCODE)
        return;
    uint16_t id = wire_get16(m);
    unsigned rcode = m[3] & 0xF;
    for (struct notify_job **pp = &n->jobs; *pp; pp = &(*pp)->next) {
        struct notify_job *j = *pp;
        if (j->id != id || !notify_same_peer(&j->to, from))
            continue;
        char peer[80];
        notify_peer_text(j, peer, sizeof(peer));
        double ms = (notify_now() - j->first) * 1000.0;
        enum tsig_result tr =
            j->sign ? tsig_verify_response(&j->tsig, m, len, time(NULL)) : TSIG_OK;
        if (tr != TSIG_OK) {
            /* Not proof that the secondary heard us: it will see the
             * serial at its refresh, as after no answer at all. */
            atomic_fetch_add_explicit(&n->c.refused, 1, memory_order_relaxed);
            log_warning("NOTIFY of %s serial %u to %s: the answer (%s) fails TSIG: %s", j->zone,
                        j->serial, peer, notify_rcode(rcode), tsig_result_str(tr));
        } else if (rcode == WIRE_RCODE_NOERROR) {
            atomic_fetch_add_explicit(&n->c.answered, 1, memory_order_relaxed);
            if (j->tries > 1)
                log_info("NOTIFY of %s serial %u to %s answered after %u tries, %.0f ms", j->zone,
                         j->serial, peer, j->tries, ms);
            else
                log_debug("NOTIFY of %s serial %u to %s answered in %.1f ms", j->zone, j->serial,
                          peer, ms);
        } else {
            atomic_fetch_add_explicit(&n->c.refused, 1, memory_order_relaxed);
            log_warning("NOTIFY of %s serial %u to %s answered %s: it is not configured to take "
                        "NOTIFY for the zone from us",
                        j->zone, j->serial, peer, notify_rcode(rcode));
        }
        notify_drop(pp);
        return;
    }
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

int notify_start(struct notify **out)
{
    struct notify *n = calloc(1, sizeof(*n));
    if (!n)
        return ERR_NOMEM;
    pthread_mutex_init(&n->lock, NULL);
    n->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* Unbound sockets: the kernel picks the source address and port. A
     * host without IPv6 has no fd6, and NOTIFYs to IPv6 fail quietly
     * into their retries and the warning. */
    n->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    n->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->wake < 0 || n->fd4 < 0 || pthread_create(&n->thread, NULL, notify_main, n) != 0) {
        if (n->wake >= 0)
            close(n->wake);
        if (n->fd4 >= 0)
            close(n->fd4);
        if (n->fd6 >= 0)
            close(n->fd6);
        pthread_mutex_destroy(&n->lock);
        free(n);
        return ERR_IO;
    }
    *out = n;
    return 0;
}

int notify_zone(struct notify *n, const struct zone *z, const struct xfr_conf *x)
{
    int rc = 0;
    pthread_mutex_lock(&n->lock);
    for (unsigned i = 0; i < x->nnotify; i++) {
        const struct addr_sock *to = &x->notify[i];
        /* A newer serial replaces the one still being tried. */
        for (struct notify_job **pp = &n->jobs; *pp;) {
            if (name_equal((*pp)->apex, z->apex) && notify_same_peer(&(*pp)->to, &to->ss))
                notify_drop(pp);
            else
                pp = &(*pp)->next;
        }
        struct notify_job *j = calloc(1, sizeof(*j));
        if (!j) {
            rc = ERR_NOMEM;
            break;
        }
        memcpy(j->apex, z->apex, z->apex_len);
        snprintf(j->zone, sizeof(j->zone), "%s", z->name);
        j->to = to->ss;
        j->tolen = to->len;
        j->serial = z->serial;
        if (getrandom(&j->id, sizeof(j->id), 0) != (ssize_t)sizeof(j->id))
            j->id = (uint16_t)(z->serial * 2654435761u + i);
        j->first = notify_now();
        j->due = j->first;
        notify_build(j, z);
        if (x->key) {
            /* Signed once: the retries repeat the message, well within
             * its time's fudge. */
            tsig_ctx_init(&j->tsig, x->key);
            if (tsig_sign(&j->tsig, j->msg, &j->len, sizeof(j->msg), time(NULL)) < 0) {
                log_error("NOTIFY of %s: cannot sign with TSIG key %s", z->name, x->key->text);
                free(j);
                rc = ERR_INVAL;
                continue;
            }
            j->sign = true;
        }
        j->next = n->jobs;
        n->jobs = j;
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
    while (n->jobs)
        notify_drop(&n->jobs);
    close(n->wake);
    close(n->fd4);
    if (n->fd6 >= 0)
        close(n->fd6);
    pthread_mutex_destroy(&n->lock);
    free(n);
}
