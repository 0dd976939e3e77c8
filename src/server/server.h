/* The running list server: listening sockets, UDP workers, the TCP
 * thread, and the reload loop that publishes new snapshots. */
#ifndef DBK_SERVER_SERVER_H
#define DBK_SERVER_SERVER_H

#include "server/serve_conf.h"

/* Load the data, bind the sockets, serve until SIGTERM or SIGINT,
 * reloading on SIGHUP and every check_interval seconds. Returns the
 * process exit status: 0 after a clean stop, 1 when startup failed (the
 * reason is logged). */
int server_run(struct serve_conf *conf);

#endif
