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
    int (*start)(struct server *srv, void *arg);
    void (*stop)(void *arg);
    void *arg;
};

/* Load the data, bind the sockets, serve until SIGTERM or SIGINT,
 * reloading on SIGHUP and every check_interval seconds, with the service
 * (NULL for none) beside. Returns the process exit status: 0 after a
 * clean stop, 1 when startup failed (the reason is logged). */
int server_run(struct serve_conf *conf, const struct server_service *svc);

#endif
