/* The running list server: listening sockets, UDP workers, the TCP
 * thread, and the reload loop that publishes new snapshots. */
#ifndef DBK_SERVER_SERVER_H
#define DBK_SERVER_SERVER_H

#include "server/serve_conf.h"

struct server;

/* A service that runs beside the DNS workers (the HTTP server of a
 * higher layer): started once the server answers DNS, stopped before the
 * workers and the data go. start returns 0, or the server stops with
 * status 1. It may use server_lookup.h from its own threads. */
struct server_service {
    /* Optional: what needs root (binding a port below 1024, loading a
     * library from outside a chroot), run before privileges are dropped
     * and before the data loads. 0, or the server stops with status 1. */
    int (*prepare)(void *arg, bool jailed); /* jailed: a chroot follows */
    int (*start)(struct server *srv, void *arg);
    void (*stop)(void *arg);
    void *arg;
};

/* Bind the sockets, drop privileges to conf->user (in conf->chroot_dir),
 * load the data, serve until SIGTERM or SIGINT,
 * reloading on SIGHUP and every check_interval seconds, with the service
 * (NULL for none) beside. Returns the process exit status: 0 after a
 * clean stop, 1 when startup failed (the reason is logged). */
int server_run(struct serve_conf *conf, const struct server_service *svc);

#endif
