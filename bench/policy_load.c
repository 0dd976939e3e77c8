/* A load client for Postfix's policy delegation protocol, for
 * policyd_bench.py: CONNS connections, each with BATCH pipelined requests
 * in flight, for SECONDS; prints the answers received. Requests cycle
 * through the addresses in ADDRFILE (one a line), each with its own
 * instance, so policyd decides every one. In C so that the client's core
 * is not what limits the rate.
 *
 *   policy_load PORT CONNS BATCH SECONDS ADDRFILE */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: policy_load PORT CONNS BATCH SECONDS ADDRFILE\n");
        return 2;
    }
    int port = atoi(argv[1]), nconn = atoi(argv[2]), batch = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (nconn < 1 || nconn > MAXCONN || batch < 1)
        return 2;
    FILE *f = fopen(argv[5], "r");
    if (!f)
        return 1;
    char(*addrs)[64] = malloc(100000 * sizeof(*addrs));
    int naddr = 0;
    while (naddr < 100000 && fgets(addrs[naddr], 64, f)) {
        addrs[naddr][strcspn(addrs[naddr], "\n")] = '\0';
        if (addrs[naddr][0])
            naddr++;
    }
    fclose(f);
    if (!naddr)
        return 1;
    /* Batches built before the clock starts. */
    int nbatch = naddr / batch + 1;
    char **payload = calloc(nbatch, sizeof(*payload));
    size_t *plen = calloc(nbatch, sizeof(*plen));
    for (int b = 0, k = 0; b < nbatch; b++) {
        size_t cap = (size_t)batch * 200, len = 0;
        payload[b] = malloc(cap);
        for (int j = 0; j < batch; j++, k++)
            len += (size_t)snprintf(payload[b] + len, cap - len,
                                    "request=smtpd_access_policy\nprotocol_state=RCPT\n"
                                    "client_address=%s\ninstance=%x.%x\n"
                                    "sender=a@example.com\nrecipient=b@example.org\n\n",
                                    addrs[k % naddr], k, b);
        plen[b] = len;
    }
    int fd[MAXCONN], next[MAXCONN], missing[MAXCONN], lastnl[MAXCONN];
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(0x7f000001)};
    long done = 0;
    double deadline = now() + seconds;
    for (int i = 0; i < nconn; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd[i], (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            perror("connect");
            return 1;
        }
        next[i] = i % nbatch;
        missing[i] = batch;
        lastnl[i] = 0;
        if (write(fd[i], payload[next[i]], plen[next[i]]) != (ssize_t)plen[next[i]])
            return 1;
    }
    int open_conns = nconn;
    char buf[1 << 16];
    struct pollfd p[MAXCONN];
    while (open_conns > 0) {
        for (int i = 0; i < nconn; i++)
            p[i] = (struct pollfd){fd[i], fd[i] >= 0 ? POLLIN : 0, 0};
        if (poll(p, (nfds_t)nconn, 5000) <= 0) {
            fprintf(stderr, "policy_load: no answer for 5 s\n");
            return 1;
        }
        for (int i = 0; i < nconn; i++) {
            if (fd[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(fd[i], buf, sizeof(buf));
            if (n <= 0) {
                fprintf(stderr, "policy_load: the server closed a connection\n");
                return 1;
            }
            /* An answer ends in "\n\n", maybe split between reads. */
            for (ssize_t k = 0; k < n; k++) {
                if (buf[k] == '\n') {
                    if (lastnl[i]) {
                        missing[i]--;
                        done++;
                        lastnl[i] = 0;
                        continue;
                    }
                    lastnl[i] = 1;
                } else {
                    lastnl[i] = 0;
                }
            }
            if (missing[i] > 0)
                continue;
            if (now() >= deadline) {
                close(fd[i]);
                fd[i] = -1;
                open_conns--;
                continue;
            }
            next[i] = (next[i] + 1) % nbatch;
            missing[i] = batch;
            if (write(fd[i], payload[next[i]], plen[next[i]]) != (ssize_t)plen[next[i]])
                return 1;
        }
    }
    printf("%ld\n", done);
    return 0;
}
