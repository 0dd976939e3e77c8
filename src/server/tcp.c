/* DNS over TCP (RFC 7766): one thread with epoll serves every connection;
 * several and pipelined queries per connection, idle connections closed
 * after the configured timeout, replies buffered when the peer is slow. */
#include "common/err.h"
#include "common/log.h"
#include "server/server_internal.h"
#include "wire/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCP_MSG_MAX 65535
#define TCP_OUT_HIGH (256 * 1024) /* stop reading while this much is unsent */
#define TCP_EVENTS 64

struct tcp_conn {
    int fd;
    time_t last;
    struct sockaddr_storage peer;
    size_t inlen;
    uint8_t in[2 + TCP_MSG_MAX];
    uint8_t *out;
    size_t outlen, outoff, outcap;
    struct tcp_conn *prev, *next;
};

struct tcp_server {
    struct server *srv;
    pthread_t thread;
    int epfd;
    const int *lfds;
    unsigned nlfds;
    unsigned nconns;
    struct tcp_conn *conns; /* list of open connections */
    struct epoch_reader *reader;
    struct answer_stats stats;
    uint8_t scratch[2 + TCP_MSG_MAX];
};

/* epoll user data: listening sockets are tagged by index, connections by
 * pointer (pointers are never this small). */
#define TCP_LISTEN_TAG(i) ((uint64_t)(i) + 1)

static void tcp_close(struct tcp_server *t, struct tcp_conn *c)
{
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
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
        if (t->nconns >= t->srv->conf->tcp_max_clients) {
            close(fd);
            continue;
        }
        struct tcp_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->last = time(NULL);
        c->peer = peer;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
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

/* Write what we can; returns <0 when the connection is broken. */
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
    struct epoll_event ev = {.data.ptr = c};
    bool backlog = c->outlen - c->outoff > 0;
    ev.events = EPOLLRDHUP | (backlog ? EPOLLOUT : 0) |
                (c->outlen - c->outoff < TCP_OUT_HIGH ? EPOLLIN : 0);
    epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

/* Answer every complete message in the input buffer. */
static int tcp_process(struct tcp_server *t, struct tcp_conn *c, const struct snapshot *snap)
{
    size_t off = 0;
    while (c->inlen - off >= 2 && c->outlen - c->outoff < TCP_OUT_HIGH) {
        size_t mlen = ((size_t)c->in[off] << 8) | c->in[off + 1];
        if (c->inlen - off - 2 < mlen)
            break;
        size_t rlen = answer_packet(snap, &t->srv->opts, c->in + off + 2, mlen,
                                    (const struct sockaddr *)&c->peer, true, t->scratch + 2,
                                    TCP_MSG_MAX, &t->stats);
        off += 2 + mlen;
        if (rlen == 0)
            continue;
        t->scratch[0] = (uint8_t)(rlen >> 8);
        t->scratch[1] = (uint8_t)rlen;
        if (tcp_queue(c, t->scratch, rlen + 2) < 0)
            return ERR_NOMEM;
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
    return tcp_flush(t, c);
}

static void tcp_readable(struct tcp_server *t, struct tcp_conn *c, const struct snapshot *snap)
{
    for (;;) {
        if (c->inlen == sizeof(c->in))
            break;
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
        if (n == 0) {
            /* The peer closed its side; answer what it sent, then close. */
            tcp_process(t, c, snap);
            tcp_close(t, c);
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
        c->last = time(NULL);
        if (c->inlen >= 2 && c->outlen - c->outoff < TCP_OUT_HIGH)
            break;
    }
    if (tcp_process(t, c, snap) < 0)
        tcp_close(t, c);
}

static void tcp_expire(struct tcp_server *t)
{
    time_t now = time(NULL);
    struct tcp_conn *c = t->conns;
    while (c) {
        struct tcp_conn *next = c->next;
        if (now - c->last >= (time_t)t->srv->conf->tcp_idle)
            tcp_close(t, c);
        c = next;
    }
}

static void *tcp_main(void *arg)
{
    struct tcp_server *t = arg;
    struct epoll_event ev[TCP_EVENTS];
    time_t last_sweep = time(NULL);
    while (!atomic_load_explicit(&t->srv->stop, memory_order_relaxed)) {
        epoch_offline(t->reader);
        int n = epoll_wait(t->epfd, ev, TCP_EVENTS, 500);
        epoch_online(&t->srv->epoch, t->reader);
        const struct snapshot *snap = server_snapshot(t->srv);
        for (int i = 0; i < n; i++) {
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
                if (tcp_flush(t, c) < 0) {
                    tcp_close(t, c);
                    continue;
                }
                c->last = time(NULL);
                /* Output drained: requests waiting in the buffer can go on. */
                if (c->inlen >= 2 && tcp_process(t, c, snap) < 0) {
                    tcp_close(t, c);
                    continue;
                }
            }
            if (ev[i].events & (EPOLLIN | EPOLLRDHUP))
                tcp_readable(t, c, snap);
        }
        time_t now = time(NULL);
        if (now != last_sweep) {
            tcp_expire(t);
            last_sweep = now;
        }
    }
    epoch_offline(t->reader);
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
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0)
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
    *out = t;
    return 0;
fail:
    if (t->epfd >= 0)
        close(t->epfd);
    free(t);
    return ERR_IO;
}

void tcp_server_join(struct tcp_server *t, struct answer_stats *total)
{
    pthread_join(t->thread, NULL);
    answer_stats_add(total, &t->stats);
    close(t->epfd);
    free(t);
}

struct answer_stats *tcp_server_stats(struct tcp_server *t)
{
    return &t->stats;
}
