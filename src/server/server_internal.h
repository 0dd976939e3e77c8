/* State shared by the server's threads (server.c, udp.c, tcp.c). */
#ifndef DBK_SERVER_SERVER_INTERNAL_H
#define DBK_SERVER_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "server/answer.h"
#include "server/epoch.h"
#include "server/ratelimit.h"
#include "server/serve_conf.h"
#include "server/notify.h"
#include "server/serial.h"
#include "server/snapshot.h"
#include "server/xfr_follow.h"
#include "server/xfr_journal.h"

#define SERVER_MAX_SERVICE_READERS 8

struct udp_worker;
struct tcp_server;

/* A service thread's place among the snapshot's readers. */
struct server_reader {
    struct epoch_reader *er;
};

struct server {
    const struct serve_conf *conf;
    struct answer_opts opts;
    struct ratelimit *ratelimit;   /* NULL when UDP responses are not limited */
    struct snapshot *_Atomic snap; /* the published snapshot */
    struct epoch_domain epoch;
    atomic_bool stop;
    /* For services (server_lookup.h): the workers' counters, and what the
     * reload loop has done. */
    struct udp_worker **workers;
    unsigned nworkers;
    struct tcp_server *tcp;
    _Atomic uint64_t reloads, reload_refused, live_updates;
    struct xfr_counters xfr;     /* zone transfers (opts.xfr points here) */
    struct xfr_journal journal;  /* IXFR's history, kept by the follower */
    struct serial_book *serials; /* every zone's last serial (serial.h) */
    int64_t serials_saved;       /* when the book was last written, or tried */
    int64_t serials_failing;     /* when a failure to write it was last logged; 0: none */
    struct notify *notify;       /* NULL when no zone names secondaries */
    struct xfr_follow *follow;   /* NULL when no zone is transferred or notifies */
    _Atomic int64_t started, last_publish;
    pthread_mutex_t readers_lock;
    struct server_reader readers[SERVER_MAX_SERVICE_READERS];
    unsigned nreaders;
};

/* Load the current snapshot; valid until the reader's next offline or
 * quiescent point. */
static inline const struct snapshot *server_snapshot(struct server *s)
{
    return atomic_load_explicit(&s->snap, memory_order_acquire);
}

/* UDP: one worker per socket; all sockets of one address share the port
 * through SO_REUSEPORT so the kernel spreads packets over workers. */
struct udp_worker;
int udp_worker_start(struct server *srv, int fd, struct udp_worker **out);
void udp_worker_join(struct udp_worker *w, struct answer_stats *total);
struct answer_stats *udp_worker_stats(struct udp_worker *w);

/* TCP: one thread multiplexing every connection (RFC 7766). */
struct tcp_server;
int tcp_server_start(struct server *srv, const int *listen_fds, unsigned nfds,
                     struct tcp_server **out);
void tcp_server_join(struct tcp_server *t, struct answer_stats *total);
struct answer_stats *tcp_server_stats(struct tcp_server *t);

#endif
