/* What the transfer tests share (test_xfr.c, test_xfr_history.c): a
 * name written into a request, a transfer's messages read back record
 * by record (names decompressed, pointers only backwards), and xfr_run
 * on a thread of its own writing into one end of a socket pair. Static
 * functions in a header: each test binary is one file. Include it after
 * cmocka.h (its checks are cmocka assertions). */
#ifndef DBK_TESTS_UNIT_SERVER_XFR_STREAM_UTIL_H
#define DBK_TESTS_UNIT_SERVER_XFR_STREAM_UTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/xfr.h"
#include "wire/wire.h"

static size_t put_name(uint8_t *p, const char *name)
{
    size_t n = 0;
    for (const char *s = name; *s;) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        p[n++] = (uint8_t)l;
        memcpy(p + n, s, l);
        n += l;
        s += l + (dot ? 1 : 0);
    }
    p[n++] = 0;
    return n;
}

struct rr_seen {
    char owner[256];
    uint16_t type;
    uint32_t ttl;
    uint8_t rdata[512];
    uint16_t rdlen;
};

struct stream {
    unsigned messages, questions, rcode;
    size_t max_msg;
    struct rr_seen *rr;
    size_t n, cap;
    size_t bytes;
    uint8_t pending[64];
    size_t npending;
};

/* A name at m[*pos], following pointers (only backwards, within 16 KiB). */
static void read_name(const uint8_t *m, size_t len, size_t *pos, char *out)
{
    size_t p = *pos, o = 0;
    bool jumped = false;
    for (int hops = 0; hops < 64; hops++) {
        assert_true(p < len);
        uint8_t l = m[p];
        if ((l & 0xC0) == 0xC0) {
            size_t to = (size_t)(l & 0x3F) << 8 | m[p + 1];
            assert_true(to < p);
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = to;
            continue;
        }
        if (l == 0) {
            if (!jumped)
                *pos = p + 1;
            out[o] = '\0';
            return;
        }
        memcpy(out + o, m + p + 1, l);
        o += l;
        out[o++] = '.';
        p += 1u + l;
    }
    fail_msg("pointer loop");
}

static void parse_message(struct stream *s, const uint8_t *m, size_t len)
{
    s->messages++;
    if (len > s->max_msg)
        s->max_msg = len;
    s->rcode = m[3] & 0xF;
    assert_int_equal(wire_get16(m), 0xABCD);
    assert_true(m[2] & 0x80);
    unsigned qd = wire_get16(m + 4), an = wire_get16(m + 6);
    s->questions += qd;
    size_t pos = 12;
    char name[256];
    for (unsigned i = 0; i < qd; i++) {
        read_name(m, len, &pos, name);
        pos += 4;
    }
    for (unsigned i = 0; i < an; i++) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 1024;
            s->rr = realloc(s->rr, s->cap * sizeof(*s->rr));
        }
        struct rr_seen *r = &s->rr[s->n++];
        read_name(m, len, &pos, r->owner);
        r->type = wire_get16(m + pos);
        r->ttl = wire_get32(m + pos + 4);
        r->rdlen = wire_get16(m + pos + 8);
        assert_true(r->rdlen <= sizeof(r->rdata));
        memcpy(r->rdata, m + pos + 10, r->rdlen);
        pos += 10 + r->rdlen;
    }
    assert_true(pos <= len);
}

struct runner {
    struct xfr_job job;
    int rc;
};

static void *run_job(void *arg)
{
    struct runner *r = arg;
    r->rc = xfr_run(&r->job);
    shutdown(r->job.fd, SHUT_WR);
    return NULL;
}

/* Run r's job (the caller has set its request, zone, stop flag and
 * counters) from 127.0.0.1, without a TTL clamp, `pending` bytes queued
 * before it, into one end of a fresh socket pair on a thread of its
 * own; read the other end to the close, check the queued bytes come
 * first, and read the messages into s. Returns xfr_run's result. */
static int xfr_stream_run(struct runner *r, const char *pending, struct stream *s)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    struct sockaddr_in *peer = (struct sockaddr_in *)&r->job.peer;
    peer->sin_family = AF_INET;
    peer->sin_addr.s_addr = htonl(0x7f000001);
    r->job.fd = sv[0];
    r->job.ttl_min = 0;
    r->job.ttl_max = UINT32_MAX;
    r->job.pending = (const uint8_t *)pending;
    r->job.npending = pending ? strlen(pending) : 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_job, r), 0);
    memset(s, 0, sizeof(*s));
    uint8_t *all = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? 2 * cap : 1 << 20;
            all = realloc(all, cap);
            assert_non_null(all);
        }
        ssize_t k = read(sv[1], all + len, cap - len);
        assert_true(k >= 0);
        if (k == 0)
            break;
        len += (size_t)k;
    }
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    size_t p = r->job.npending;
    assert_true(len >= p);
    if (p)
        assert_memory_equal(all, pending, p);
    s->bytes = len - p;
    while (p < len) {
        assert_true(len - p >= 2);
        size_t m = (size_t)all[p] << 8 | all[p + 1];
        assert_true(len - p - 2 >= m);
        parse_message(s, all + p + 2, m);
        p += 2 + m;
    }
    free(all);
    return r->rc;
}

#endif
