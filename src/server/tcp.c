/* DNS over TCP (RFC 7766): one thread with epoll serves every connection;
 * several and pipelined queries per connection, replies buffered when the
 * peer is slow. Limits (tcp_limits.h): connections overall and per client
 * address (past them a new connection is closed at once), idle and total
 * time, queries per connection (the connection closes once the last
 * answer is sent). A zone transfer takes its connection to a thread of
 * its own, with a reference on the snapshot, and gives it back when done
 * (xfr.h); while it streams, the connection's time limits wait: the
 * transfer has its own bound (no progress for XFR_IO_TIMEOUT_S). */
#include "common/err.h"
#include "common/log.h"
#include "server/server_internal.h"
#include "server/tcp_limits.h"
#include "wire/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCP_MSG_MAX 65535
#define TCP_OUT_HIGH (256 * 1024) /* stop reading while this much is unsent */
#define TCP_EVENTS 64

struct tcp_conn {
    int fd;
    int64_t opened, last; /* monotonic milliseconds: accepted, last I/O */
    unsigned queries;     /* requests taken (answered, dropped, transfers) */
    bool finished;        /* took tcp-max-queries: close once the answers are out */
    struct sockaddr_storage peer;
    size_t inlen;
    uint8_t in[2 + TCP_MSG_MAX];
    uint8_t *out;
    size_t outlen, outoff, outcap;
    bool busy; /* a transfer thread has it: not in epoll, not expired */
    struct tcp_conn *prev, *next;
};

/* A transfer running on a thread of its own. */
struct tcp_xfer {
    struct tcp_server *t;
    struct tcp_conn *c;
    struct snapshot *snap; /* a reference, held to the end */
    struct xfr_job job;
    pthread_t thread;
    bool done; /* under t->xlock */
    int rc;
    struct tcp_xfer *next;
};

struct tcp_server {
    struct server *srv;
    pthread_t thread;
    int epfd;
    const int *lfds;
    unsigned nlfds;
    unsigned nconns;
    struct tcp_conn *conns; /* list of open connections */
    struct tcp_peers peers; /* connections per client address */
    struct tcp_limits limits;
    struct epoch_reader *reader;
    struct answer_stats stats;
    int evfd;              /* a transfer ended: its thread can be joined */
    pthread_mutex_t xlock; /* xfers, and their done flags */
    struct tcp_xfer *xfers;
    uint8_t scratch[2 + TCP_MSG_MAX];
};

/* epoll user data: listening sockets are tagged by index, connections by
 * pointer (pointers are never this small). */
#define TCP_LISTEN_TAG(i) ((uint64_t)(i) + 1)
#define TCP_EVENT_TAG(t) ((uint64_t)(t)->nlfds + 1)

/* What tcp_process and tcp_flush return besides 0 and errors: a transfer
 * took the connection, or the connection answered its last query and
 * sent every answer (the caller closes it). */
#define TCP_XFER 1
#define TCP_FINISHED 2

/* Milliseconds of a clock that a change of the date does not move
 * (coarse: a few ms is plenty for limits in seconds). */
static int64_t tcp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tcp_close(struct tcp_server *t, struct tcp_conn *c)
{
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    tcp_peers_release(&t->peers, (const struct sockaddr *)&c->peer);
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->out);
    free(c);
    t->nconns--;
}

static void tcp_accept(struct tcp_server *t, int lfd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        /* Past a limit the connection is closed before it costs
         * anything: UDP and the other clients go on as before. */
        if (t->nconns >= t->srv->conf->tcp_max_clients) {
            ANSWER_STAT_INC(&t->stats, tcp_refused_full);
            close(fd);
            continue;
        }
        if (tcp_peers_acquire(&t->peers, (const struct sockaddr *)&peer,
                              t->srv->conf->tcp_per_address) < 0) {
            ANSWER_STAT_INC(&t->stats, tcp_refused_address);
            close(fd);
            continue;
        }
        struct tcp_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            tcp_peers_release(&t->peers, (const struct sockaddr *)&peer);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->opened = c->last = tcp_now();
        c->peer = peer;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            tcp_peers_release(&t->peers, (const struct sockaddr *)&peer);
            close(fd);
            free(c);
            continue;
        }
        c->next = t->conns;
        if (t->conns)
            t->conns->prev = c;
        t->conns = c;
        t->nconns++;
    }
}

static int tcp_queue(struct tcp_conn *c, const uint8_t *data, size_t len)
{
    if (c->outlen + len > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + len)
            cap *= 2;
        uint8_t *n = realloc(c->out, cap);
        if (!n)
            return ERR_NOMEM;
        c->out = n;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, data, len);
    c->outlen += len;
    return 0;
}

/* Write what we can; returns <0 when the connection is broken, and
 * TCP_FINISHED when it has sent the answer to its last query. */
static int tcp_flush(struct tcp_server *t, struct tcp_conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return ERR_IO;
        }
        c->outoff += (size_t)n;
    }
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
    bool backlog = c->outlen - c->outoff > 0;
    if (c->finished && !backlog)
        return TCP_FINISHED;
    /* A finished connection reads no more: what it sends is not
     * answered. */
    struct epoll_event ev = {.data.ptr = c};
    ev.events = EPOLLRDHUP | (backlog ? EPOLLOUT : 0) |
                (!c->finished && c->outlen - c->outoff < TCP_OUT_HIGH ? EPOLLIN : 0);
    epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

static void *tcp_xfer_main(void *arg)
{
    struct tcp_xfer *x = arg;
    x->rc = xfr_run(&x->job);
    /* The connection's queued replies went first; nothing is left. */
    x->c->outoff = x->c->outlen = 0;
    snapshot_free(x->snap);
    /* A transfer's plan is tens of MB for a big zone, freed in this
     * thread's arena: give it back now rather than keep it for the next. */
    malloc_trim(0);
    atomic_fetch_sub(&x->job.xc->active, 1);
    pthread_mutex_lock(&x->t->xlock);
    x->done = true;
    pthread_mutex_unlock(&x->t->xlock);
    uint64_t one = 1;
    if (write(x->t->evfd, &one, sizeof(one)) < 0) {
        /* The counter cannot overflow in practice; the sweep at the next
         * event finds the transfer done anyway. */
    }
    return NULL;
}

/* Hand the connection to a transfer thread. */
static int tcp_xfer_start(struct tcp_server *t, struct tcp_conn *c, const struct snapshot *snap,
                          const struct zone *z, const struct xfr_request *rq,
                          const struct tsig_ctx *tsig)
{
    struct tcp_xfer *x = calloc(1, sizeof(*x));
    if (!x)
        return ERR_NOMEM;
    x->t = t;
    x->c = c;
    x->job.zone = z;
    x->job.rq = *rq;
    x->job.fd = c->fd;
    x->job.peer = c->peer;
    x->job.ttl_min = t->srv->opts.ttl_min;
    x->job.ttl_max = t->srv->opts.ttl_max;
    x->job.stop = &t->srv->stop;
    x->job.xc = &t->srv->xfr;
    x->job.journal = &t->srv->journal;
    if (tsig) {
        x->job.sign = true;
        x->job.tsig = *tsig;
    }
    x->job.pending = c->out ? c->out + c->outoff : NULL;
    x->job.npending = c->outlen - c->outoff;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->busy = true;
    x->snap = snapshot_ref(snap);
    atomic_fetch_add(&t->srv->xfr.active, 1);
    if (pthread_create(&x->thread, NULL, tcp_xfer_main, x) != 0) {
        atomic_fetch_sub(&t->srv->xfr.active, 1);
        snapshot_free(x->snap);
        c->busy = false;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev);
        free(x);
        return ERR_IO;
    }
    pthread_mutex_lock(&t->xlock);
    x->next = t->xfers;
    t->xfers = x;
    pthread_mutex_unlock(&t->xlock);
    return 0;
}

/* A transfer request: streamed by a thread of its own (returns TCP_XFER,
 * the connection is the thread's now), or answered in one message queued
 * in t->scratch (returns 0 with *rlen set). A signed request (RFC 8945)
 * is verified first and every message of its answer signed. */
static int tcp_xfer_request(struct tcp_server *t, struct tcp_conn *c, const struct snapshot *snap,
                            const uint8_t *msg, size_t mlen, size_t *rlen)
{
    struct xfr_request rq;
    struct wire_query q;
    struct tsig_ctx ctx;
    const struct answer_opts *opts = &t->srv->opts;
    const struct sockaddr *peer = (const struct sockaddr *)&c->peer;
    bool sign = false;
    *rlen = 0;
    int prc = wire_parse_query(msg, mlen, &q);
    if (prc == 0) {
        xfr_request_from(&rq, &q);
    } else if (xfr_parse_ixfr(msg, mlen, &rq) != 0) {
        struct tsig_rr tr;
        if (tsig_find(msg, mlen, &tr) != 0)
            return -1;              /* not one after all: answered as any query */
        uint8_t copy[WIRE_TCP_MAX]; /* as answer_packet's signed path: no allocation */
        size_t clen, n;
        if (answer_tsig_verify(opts, msg, mlen, &tr, peer, false, &ctx, copy, &clen, t->scratch + 2,
                               TCP_MSG_MAX, &n, &t->stats) < 0) {
            ANSWER_STAT_INC(&t->stats, queries);
            *rlen = n;
            return 0;
        }
        prc = wire_parse_query(copy, clen, &q);
        if (prc == 0)
            xfr_request_from(&rq, &q);
        else
            prc = xfr_parse_ixfr(copy, clen, &rq);
        if (prc != 0)
            return -1; /* answer_packet says what is wrong with it, signed */
        rq.key = ctx.key;
        sign = true;
    }
    if (rq.q.edns && rq.q.edns_version > 0)
        return -1; /* BADVERS, as for any query */
    const struct zone *z;
    enum xfr_verdict v = xfr_decide(snap, &rq, peer, true, &t->srv->xfr, &z);
    ANSWER_STAT_INC(&t->stats, queries);
    if (v == XFR_GO && tcp_xfer_start(t, c, snap, z, &rq, sign ? &ctx : NULL) == 0)
        return TCP_XFER;
    size_t space = sign ? tsig_space(ctx.key) : 0;
    *rlen = answer_xfr(opts, &rq, v, z, true, t->scratch + 2, TCP_MSG_MAX - space, &t->stats);
    if (sign && *rlen)
        answer_tsig_sign(&ctx, t->scratch + 2, rlen, TCP_MSG_MAX);
    return 0;
}

/* Answer every complete message in the input buffer, up to the
 * connection's last (tcp-max-queries). Returns TCP_XFER when a transfer
 * took the connection (the caller must leave it alone), TCP_FINISHED
 * when the last answer is sent (the caller closes it), else 0 or an
 * error to close it. */
static int tcp_process(struct tcp_server *t, struct tcp_conn *c, const struct snapshot *snap)
{
    size_t off = 0;
    unsigned max_queries = t->srv->conf->tcp_max_queries;
    while (!c->finished && c->inlen - off >= 2 && c->outlen - c->outoff < TCP_OUT_HIGH) {
        size_t mlen = ((size_t)c->in[off] << 8) | c->in[off + 1];
        if (c->inlen - off - 2 < mlen)
            break;
        const uint8_t *msg = c->in + off + 2;
        size_t rlen = 0;
        c->queries++;
        if (max_queries && c->queries >= max_queries)
            c->finished = true;
        int xr = xfr_is_request(msg, mlen) ? tcp_xfer_request(t, c, snap, msg, mlen, &rlen) : -1;
        if (xr == TCP_XFER) {
            /* What follows the request waits for the transfer's end. */
            off += 2 + mlen;
            memmove(c->in, c->in + off, c->inlen - off);
            c->inlen -= off;
            return TCP_XFER;
        }
        if (xr < 0)
            rlen = answer_packet(snap, &t->srv->opts, msg, mlen, (const struct sockaddr *)&c->peer,
                                 true, t->scratch + 2, TCP_MSG_MAX, &t->stats);
        off += 2 + mlen;
        if (rlen == 0)
            continue;
        t->scratch[0] = (uint8_t)(rlen >> 8);
        t->scratch[1] = (uint8_t)rlen;
        if (tcp_queue(c, t->scratch, rlen + 2) < 0)
            return ERR_NOMEM;
    }
    if (c->finished)
        c->inlen = 0; /* what came after the last query is not answered */
    else if (off > 0) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
    return tcp_flush(t, c);
}

/* Close after tcp_process or tcp_flush returned rc (not TCP_XFER). */
static void tcp_close_after(struct tcp_server *t, struct tcp_conn *c, int rc)
{
    if (rc == TCP_FINISHED)
        ANSWER_STAT_INC(&t->stats, tcp_closed_queries);
    tcp_close(t, c);
}

static void tcp_readable(struct tcp_server *t, struct tcp_conn *c, const struct snapshot *snap)
{
    for (;;) {
        if (c->inlen == sizeof(c->in))
            break;
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
        if (n == 0) {
            /* The peer closed its side; answer what it sent, then close
             * (after the transfer, if it asked for one). */
            int rc = tcp_process(t, c, snap);
            if (rc != TCP_XFER)
                tcp_close_after(t, c, rc);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            tcp_close(t, c);
            return;
        }
        c->inlen += (size_t)n;
        c->last = tcp_now();
        if (c->inlen >= 2 && c->outlen - c->outoff < TCP_OUT_HIGH)
            break;
    }
    int rc = tcp_process(t, c, snap);
    if (rc < 0 || rc == TCP_FINISHED)
        tcp_close_after(t, c, rc);
}

/* Close what has passed a time limit and count why; a connection whose
 * transfer streams is the transfer's to bound. */
static bool tcp_expire_one(struct tcp_server *t, struct tcp_conn *c, int64_t now)
{
    switch (tcp_limits_expired(&t->limits, now, c->opened, c->last)) {
    case TCP_EXPIRY_TIME:
        ANSWER_STAT_INC(&t->stats, tcp_closed_time);
        break;
    case TCP_EXPIRY_IDLE:
        ANSWER_STAT_INC(&t->stats, tcp_closed_idle);
        break;
    case TCP_EXPIRY_NONE:
    default:
        return false;
    }
    tcp_close(t, c);
    return true;
}

static void tcp_expire(struct tcp_server *t)
{
    int64_t now = tcp_now();
    struct tcp_conn *c = t->conns;
    while (c) {
        struct tcp_conn *next = c->next;
        if (!c->busy)
            tcp_expire_one(t, c, now);
        c = next;
    }
}

/* Join the transfers that ended (all of them, waiting, when `all`) and
 * take their connections back: a connection goes on with the requests
 * it sent meanwhile, or closes when its transfer failed, when the
 * transfer was its last query, or when its total time passed meanwhile
 * (the transfer was not cut for it; what comes after it is). */
static void tcp_xfers_reap(struct tcp_server *t, const struct snapshot *snap, bool all)
{
    uint64_t count;
    if (read(t->evfd, &count, sizeof(count)) < 0) {
        /* Nothing to read: another sweep got it; the list says. */
    }
    for (;;) {
        struct tcp_xfer *x = NULL;
        pthread_mutex_lock(&t->xlock);
        for (struct tcp_xfer **pp = &t->xfers; *pp; pp = &(*pp)->next) {
            if (all || (*pp)->done) {
                x = *pp;
                *pp = x->next;
                break;
            }
        }
        pthread_mutex_unlock(&t->xlock);
        if (!x)
            return;
        pthread_join(x->thread, NULL);
        struct tcp_conn *c = x->c;
        int rc = x->rc;
        free(x);
        c->busy = false;
        c->last = tcp_now();
        if (all || rc != 0) {
            tcp_close(t, c);
            continue;
        }
        if (c->finished) {
            tcp_close_after(t, c, TCP_FINISHED);
            continue;
        }
        if (tcp_expire_one(t, c, c->last))
            continue;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            tcp_close(t, c);
            continue;
        }
        int prc = c->inlen >= 2 ? tcp_process(t, c, snap) : 0;
        if (prc < 0 || prc == TCP_FINISHED)
            tcp_close_after(t, c, prc);
    }
}

static void *tcp_main(void *arg)
{
    struct tcp_server *t = arg;
    struct epoll_event ev[TCP_EVENTS];
    int64_t last_sweep = tcp_now() / 1000;
    while (!atomic_load_explicit(&t->srv->stop, memory_order_relaxed)) {
        epoch_offline(t->reader);
        int n = epoll_wait(t->epfd, ev, TCP_EVENTS, 500);
        epoch_online(&t->srv->epoch, t->reader);
        const struct snapshot *snap = server_snapshot(t->srv);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == TCP_EVENT_TAG(t)) {
                tcp_xfers_reap(t, snap, false);
                continue;
            }
            if (ev[i].data.u64 <= t->nlfds) {
                tcp_accept(t, t->lfds[ev[i].data.u64 - 1]);
                continue;
            }
            struct tcp_conn *c = ev[i].data.ptr;
            if (ev[i].events & (EPOLLERR | EPOLLHUP)) {
                tcp_close(t, c);
                continue;
            }
            if (ev[i].events & EPOLLOUT) {
                int fr = tcp_flush(t, c);
                if (fr < 0 || fr == TCP_FINISHED) {
                    tcp_close_after(t, c, fr);
                    continue;
                }
                c->last = tcp_now();
                /* Output drained: requests waiting in the buffer can go on. */
                int pr = c->inlen >= 2 ? tcp_process(t, c, snap) : 0;
                if (pr < 0 || pr == TCP_FINISHED)
                    tcp_close_after(t, c, pr);
                if (pr != 0)
                    continue;
            }
            if (ev[i].events & (EPOLLIN | EPOLLRDHUP))
                tcp_readable(t, c, snap);
        }
        /* The limits are whole seconds: a sweep a second closes each
         * connection less than a second after its limit. */
        int64_t now = tcp_now() / 1000;
        if (now != last_sweep) {
            tcp_expire(t);
            last_sweep = now;
        }
    }
    epoch_offline(t->reader);
    /* The transfers see the stop flag and end; their connections close
     * with the others. */
    tcp_xfers_reap(t, NULL, true);
    while (t->conns)
        tcp_close(t, t->conns);
    return NULL;
}

int tcp_server_start(struct server *srv, const int *listen_fds, unsigned nfds,
                     struct tcp_server **out)
{
    struct tcp_server *t = calloc(1, sizeof(*t));
    if (!t)
        return ERR_NOMEM;
    t->srv = srv;
    t->lfds = listen_fds;
    t->nlfds = nfds;
    t->evfd = -1;
    t->limits.idle = srv->conf->tcp_idle;
    t->limits.max_time = srv->conf->tcp_max_time;
    if (tcp_peers_init(&t->peers, srv->conf->tcp_max_clients) < 0) {
        free(t);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&t->xlock, NULL);
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0)
        goto fail;
    t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event eev = {.events = EPOLLIN, .data.u64 = TCP_EVENT_TAG(t)};
    if (t->evfd < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &eev) < 0)
        goto fail;
    for (unsigned i = 0; i < nfds; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TCP_LISTEN_TAG(i)};
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, listen_fds[i], &ev) < 0)
            goto fail;
    }
    if (epoch_register(&srv->epoch, &t->reader) < 0)
        goto fail;
    if (pthread_create(&t->thread, NULL, tcp_main, t) != 0)
        goto fail;
    const struct serve_conf *cf = srv->conf;
    log_info("tcp: at most %u connections, %u per client address, idle %u s, %u s and %u queries "
             "per connection (0 = no limit)",
             cf->tcp_max_clients, cf->tcp_per_address, cf->tcp_idle, cf->tcp_max_time,
             cf->tcp_max_queries);
    *out = t;
    return 0;
fail:
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->evfd >= 0)
        close(t->evfd);
    pthread_mutex_destroy(&t->xlock);
    tcp_peers_free(&t->peers);
    free(t);
    return ERR_IO;
}

void tcp_server_join(struct tcp_server *t, struct answer_stats *total)
{
    pthread_join(t->thread, NULL);
    answer_stats_add(total, &t->stats);
    close(t->epfd);
    close(t->evfd);
    pthread_mutex_destroy(&t->xlock);
    tcp_peers_free(&t->peers);
    free(t);
}

struct answer_stats *tcp_server_stats(struct tcp_server *t)
{
    return &t->stats;
}
