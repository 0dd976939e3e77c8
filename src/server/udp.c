/* UDP workers: batched recvmmsg/sendmmsg over preallocated buffers, one
 * thread per SO_REUSEPORT socket, with a plain recvmsg fallback. */
#include "common/err.h"
#include "common/log.h"
#include "server/server_internal.h"
#include "wire/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define UDP_BATCH 32
#define UDP_REQ_MAX 4096

struct udp_worker {
    struct server *srv;
    int fd;
    pthread_t thread;
    struct epoch_reader *reader;
    bool use_mmsg;
    struct answer_stats stats;
    struct mmsghdr rmsg[UDP_BATCH];
    struct mmsghdr smsg[UDP_BATCH];
    struct iovec riov[UDP_BATCH];
    struct iovec siov[UDP_BATCH];
    struct sockaddr_storage peer[UDP_BATCH];
    uint8_t req[UDP_BATCH][UDP_REQ_MAX];
    uint8_t resp[UDP_BATCH][WIRE_UDP_MAX];
};

static void udp_prepare(struct udp_worker *w)
{
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        w->riov[i].iov_base = w->req[i];
        w->riov[i].iov_len = UDP_REQ_MAX;
        memset(&w->rmsg[i], 0, sizeof(w->rmsg[i]));
        w->rmsg[i].msg_hdr.msg_name = &w->peer[i];
        w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
        w->rmsg[i].msg_hdr.msg_iovlen = 1;
        w->siov[i].iov_base = w->resp[i];
    }
}

/* Receive a batch; returns the number of packets, 0 on timeout/EINTR. */
static int udp_receive(struct udp_worker *w)
{
    for (unsigned i = 0; i < UDP_BATCH; i++)
        w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->peer[i]);
    if (w->use_mmsg) {
        int n = recvmmsg(w->fd, w->rmsg, UDP_BATCH, MSG_WAITFORONE, NULL);
        if (n >= 0)
            return n;
        if (errno != ENOSYS)
            return 0;
        log_warning("recvmmsg not available, falling back to recvmsg");
        w->use_mmsg = false;
    }
    ssize_t len = recvmsg(w->fd, &w->rmsg[0].msg_hdr, 0);
    if (len < 0)
        return 0;
    w->rmsg[0].msg_len = (unsigned)len;
    return 1;
}

static void udp_send(struct udp_worker *w, unsigned count)
{
    unsigned done = 0;
    if (w->use_mmsg) {
        while (done < count) {
            int n = sendmmsg(w->fd, w->smsg + done, count - done, 0);
            if (n <= 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                /* Skip the packet the kernel refused (e.g. an unreachable
                 * peer) and go on with the rest. */
                done++;
                continue;
            }
            done += (unsigned)n;
        }
        return;
    }
    for (; done < count; done++)
        while (sendmsg(w->fd, &w->smsg[done].msg_hdr, 0) < 0 && errno == EINTR)
            ;
}

static void *udp_worker_main(void *arg)
{
    struct udp_worker *w = arg;
    struct server *srv = w->srv;
    while (!atomic_load_explicit(&srv->stop, memory_order_relaxed)) {
        epoch_offline(w->reader);
        int n = udp_receive(w);
        if (n <= 0)
            continue;
        epoch_online(&srv->epoch, w->reader);
        const struct snapshot *snap = server_snapshot(srv);
        uint32_t now = 0;
        if (srv->ratelimit) {
            /* The coarse clock is a read of memory, not a system call. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
            now = (uint32_t)ts.tv_sec;
        }
        unsigned out = 0;
        for (int i = 0; i < n; i++) {
            struct msghdr *rh = &w->rmsg[i].msg_hdr;
            const struct sockaddr *peer = (const struct sockaddr *)&w->peer[i];
            enum ratelimit_verdict v = RATELIMIT_PASS;
            /* What answer_packet drops unread (no header, a response)
             * spends nobody's budget. */
            if (srv->ratelimit && w->rmsg[i].msg_len >= WIRE_HEADER_LEN && !(w->req[i][2] & 0x80))
                v = ratelimit_check(srv->ratelimit, peer, now);
            size_t len = v == RATELIMIT_PASS
                             ? answer_packet(snap, &srv->opts, w->req[i], w->rmsg[i].msg_len, peer,
                                             false, w->resp[out], sizeof(w->resp[out]), &w->stats)
                             : answer_limited(w->req[i], w->rmsg[i].msg_len, v == RATELIMIT_SLIP,
                                              w->resp[out], sizeof(w->resp[out]), &w->stats);
            if (len == 0)
                continue;
            struct msghdr *sh = &w->smsg[out].msg_hdr;
            memset(sh, 0, sizeof(*sh));
            if (out != (unsigned)i)
                memcpy(&w->peer[out], &w->peer[i], rh->msg_namelen);
            sh->msg_name = &w->peer[out];
            sh->msg_namelen = rh->msg_namelen;
            w->siov[out].iov_base = w->resp[out];
            w->siov[out].iov_len = len;
            sh->msg_iov = &w->siov[out];
            sh->msg_iovlen = 1;
            out++;
        }
        epoch_offline(w->reader);
        if (out)
            udp_send(w, out);
    }
    epoch_offline(w->reader);
    return NULL;
}

int udp_worker_start(struct server *srv, int fd, struct udp_worker **out)
{
    struct udp_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return ERR_NOMEM;
    w->srv = srv;
    w->fd = fd;
    w->use_mmsg = true;
    udp_prepare(w);
    int rc = epoch_register(&srv->epoch, &w->reader);
    if (rc < 0) {
        free(w);
        return rc;
    }
    if (pthread_create(&w->thread, NULL, udp_worker_main, w) != 0) {
        free(w);
        return ERR_NOMEM;
    }
    *out = w;
    return 0;
}

void udp_worker_join(struct udp_worker *w, struct answer_stats *total)
{
    pthread_join(w->thread, NULL);
    answer_stats_add(total, &w->stats);
    free(w);
}

struct answer_stats *udp_worker_stats(struct udp_worker *w)
{
    return &w->stats;
}
