/* The benchmark's floor: the cheapest possible UDP DNS responder (one thread,
 * recvmmsg a batch, flip each header into an NXDOMAIN reply, sendmmsg it
 * back). Its CPU time per query is what the kernel charges for the socket
 * work alone, the yardstick for a real server's cost on loopback.
 *
 * Usage: floor -b 127.0.0.1/PORT   (runs until SIGTERM/SIGINT)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 32, PKT = 1232, DNS_HEADER = 12 };

static int floor_parse_bind(const char *spec, struct sockaddr_in *sa)
{
    char host[64];
    const char *slash = strchr(spec, '/');
    size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    long port = slash ? strtol(slash + 1, NULL, 10) : 53;
    if (port <= 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    if (argc != 3 || strcmp(argv[1], "-b") != 0 || floor_parse_bind(argv[2], &sa) != 0) {
        fprintf(stderr, "usage: floor -b ADDR/PORT\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("floor: bind");
        return 1;
    }

    static unsigned char bufs[BATCH][PKT];
    static struct sockaddr_in peers[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr in[BATCH], out[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = PKT};
            in[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                            .msg_namelen = sizeof(peers[i]),
                                            .msg_iov = &iov[i],
                                            .msg_iovlen = 1};
        }
        int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("floor: recvmmsg");
            return 1;
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (in[i].msg_len < DNS_HEADER || (bufs[i][2] & 0x80))
                continue;       /* not a query: drop it, as a server would */
            bufs[i][2] |= 0x80; /* QR: this is a response */
            bufs[i][3] = (unsigned char)((bufs[i][3] & 0xf0) | 3); /* RCODE NXDOMAIN */
            iov[i].iov_len = in[i].msg_len;
            out[m].msg_hdr = in[i].msg_hdr;
            out[m].msg_hdr.msg_iov = &iov[i];
            m++;
        }
        for (int done = 0; done < m;) {
            int k = sendmmsg(fd, out + done, (unsigned)(m - done), 0);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                break; /* a full send buffer drops the rest, as UDP may */
            }
            done += k;
        }
    }
}
