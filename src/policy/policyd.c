/* policyd's loop: listeners, connections, the checker's sockets. */
#include "policy/policyd.h"
#include "common/err.h"
#include "client/qname.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "policy/policy_decide.h"
#include "policy/policy_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PD_IN_MAX 8192
#define PD_OUT_MAX 1024 /* one answer */
/* Answers queued on a connection: pipelined requests answered from the
 * cache are answered together, in one send. */
#define PD_OUT_BUF 16384
/* Checks in flight at most, in all, per connection slot (see pd_request):
 * 4 x max-connections. */
#define PD_PENDING_PER_CONN 4

struct pd;

struct pd_conn {
    int fd;       /* -1: free */
    unsigned gen; /* tells a late check result from this slot's next user */
    char peer[80];
    struct policy_parser parser;
    char in[PD_IN_MAX];
    size_t inlen;
    char out[PD_OUT_BUF];
    size_t outlen, outoff; /* queued, and sent of it */
    bool waiting;          /* a check is in flight for the current request */
    unsigned req;          /* requests checked: tells a late result from the next request's */
    struct timespec started;
    /* Postfix asks once per recipient: the decision for a message
     * (instance) and client is kept for its next recipients. */
    char last_instance[64], last_client[64], last_action[PD_OUT_MAX];
    bool closing; /* a malformed request came: closed once the answers before it are sent */
};

struct pd {
    const struct policy_conf *pc;
    struct checker *ck;
    int lfd[POLICY_MAX_LISTEN];
    unsigned nlfd;
    struct pd_conn *conn;
    unsigned nconn;
    bool domain_lists; /* some list takes domains: HELO and sender checks can ask */
    struct policyd_counters n;
    struct policyd_list_counters *by_list; /* one per checker list */
    unsigned nlists;
};

/* One message's checks: the client, and the HELO name and the sender's
 * domain when configured, asked at once and decided together. */
struct pd_ticket;

struct pd_part {
    struct pd_ticket *t;
    enum policy_subject subject;
    struct policy_tally tally;
};

struct pd_ticket {
    struct pd *d;
    unsigned slot, gen, req;
    unsigned pending; /* checks not finished, plus one while they are started */
    char client[64];
    struct pd_part part[3]; /* by enum policy_subject */
};

static int pd_listen(const struct policy_listen *l, char *err, size_t errsz)
{
    int fd;
    if (l->unix_socket) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        /* A socket left by an earlier run would make bind fail. */
        struct stat st;
        if (stat(l->path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(l->path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 128) < 0) {
            snprintf(err, errsz, "cannot listen on unix:%s: %s", l->path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        /* Postfix's processes run as another user. */
        chmod(l->path, 0666);
        return fd;
    }
    char spec[100];
    snprintf(spec, sizeof(spec), "%s/%u", l->host, l->port);
    struct addr_sock a;
    if (addr_sock_parse(spec, l->port, &a) < 0) {
        snprintf(err, errsz, "bad listen address %s", spec);
        return -1;
    }
    int one = 1;
    fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(fd, 128) < 0) {
        snprintf(err, errsz, "cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void pd_close(struct pd *d, struct pd_conn *c)
{
    (void)d;
    close(c->fd);
    c->fd = -1;
    c->gen++;
}

/* Queue an answer after those not sent yet; the loop writes them. A
 * request is only taken while a whole answer is free (pd_parse), so it
 * fits. */
static void pd_answer(struct pd_conn *c, const char *action)
{
    char *at = c->out + c->outlen;
    size_t room = sizeof(c->out) - c->outlen;
    int n = policy_format_action(at, room, action);
    if (n < 0)
        n = policy_format_action(at, room, "DUNNO");
    if (n > 0)
        c->outlen += (size_t)n;
}

/* Latency buckets' upper bounds, microseconds; the last is open. */
static const uint64_t pd_latency_bound[POLICYD_LATENCY_BUCKETS - 1] = {1000, 10000, 100000,
                                                                       1000000};

static uint64_t pd_elapsed_us(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)((now.tv_sec - since->tv_sec) * 1000000 +
                      (now.tv_nsec - since->tv_nsec) / 1000);
}

/* What Postfix gets when no list can be heard: never a rejection. */
static const char *pd_blind_action(const struct pd *d)
{
    return d->pc->decide.defer_when_blind ? "DEFER_IF_PERMIT Service temporarily unavailable"
                                          : "DUNNO";
}

static void pd_finish(struct pd_ticket *t)
{
    struct pd *d = t->d;
    struct pd_conn *c = &d->conn[t->slot];
    char action[PD_OUT_MAX];
    struct policy_tally all;
    policy_tally_init(&all);
    for (unsigned i = 0; i < 3; i++)
        policy_tally_merge(&all, &t->part[i].tally);
    enum policy_verdict v =
        policy_decide_tally(&d->pc->decide, t->client, &all, action, sizeof(action));
    if (!(c->fd >= 0 && c->gen == t->gen && c->req == t->req && c->waiting)) {
        /* The connection is gone, or its answer was given at
         * answer-timeout: this one goes nowhere and counts as late. */
        d->n.late++;
        free(t);
        return;
    }
    d->n.dunno += v == POLICY_DUNNO;
    d->n.reject += v == POLICY_REJECT;
    d->n.mark += v == POLICY_MARK;
    d->n.blind += v == POLICY_BLIND;
    for (unsigned i = 0; i < d->nlists && i < 64; i++) {
        if (!(all.listed_by >> i & 1))
            continue;
        d->by_list[i].reject += v == POLICY_REJECT;
        d->by_list[i].mark += v == POLICY_MARK;
        d->by_list[i].dunno += v == POLICY_DUNNO;
    }
    uint64_t us = pd_elapsed_us(&c->started);
    d->n.latency_us_sum += us;
    if (us > d->n.latency_us_max)
        d->n.latency_us_max = us;
    unsigned k = 0;
    while (k < POLICYD_LATENCY_BUCKETS - 1 && us >= pd_latency_bound[k])
        k++;
    d->n.latency_hist[k]++;
    c->waiting = false;
    pd_answer(c, action);
    if (v != POLICY_BLIND)
        snprintf(c->last_action, sizeof(c->last_action), "%s", action);
    else
        c->last_action[0] = '\0'; /* a blind answer is not kept */
    free(t);
}

static void pd_done(void *arg, const struct checker_result *r)
{
    struct pd_part *p = arg;
    struct pd_ticket *t = p->t;
    policy_tally_add(&p->tally, r, p->subject);
    if (--t->pending == 0)
        pd_finish(t);
}

/* The domain of a HELO name or a sender address worth asking domain
 * lists about: a name of two labels or more, not an address literal. */
static bool pd_domain(const char *text, char *out, size_t outsz)
{
    struct qname_subject s;
    if (!*text || strchr(text, '[') || qname_subject_parse(text, &s) < 0 || s.kind != QNAME_DOMAIN)
        return false;
    snprintf(out, outsz, "%s", s.domain);
    return true;
}

/* Start one subject's check; false when it is nothing to check. */
static bool pd_start(struct pd_ticket *t, enum policy_subject subject, const char *text)
{
    struct pd_part *p = &t->part[subject];
    p->t = t;
    p->subject = subject;
    t->pending++;
    if (checker_check(t->d->ck, text, CHECKER_TXT, pd_done, p) < 0) {
        t->pending--;
        return false;
    }
    return true;
}

/* A complete request in c->parser.req. */
static void pd_request(struct pd *d, struct pd_conn *c)
{
    const struct policy_request *q = &c->parser.req;
    d->n.requests++;
    if (strcmp(q->protocol_state, d->pc->state) != 0) {
        d->n.skipped++;
        pd_answer(c, "DUNNO");
        return;
    }
    if (policy_conf_allowed(d->pc, q->client_address)) {
        d->n.allowed++;
        pd_answer(c, "DUNNO");
        return;
    }
    if (q->instance[0] && c->last_action[0] && !strcmp(q->instance, c->last_instance) &&
        !strcmp(q->client_address, c->last_client)) {
        d->n.cached++;
        pd_answer(c, c->last_action);
        return;
    }
    snprintf(c->last_instance, sizeof(c->last_instance), "%s", q->instance);
    snprintf(c->last_client, sizeof(c->last_client), "%s", q->client_address);
    c->last_action[0] = '\0';
    /* Checks still in flight for answers already given up on (a dead
     * resolver) are bounded: past the limit, no new ones start. */
    if (checker_checks(d->ck) >= PD_PENDING_PER_CONN * d->nconn) {
        d->n.overload++;
        pd_answer(c, pd_blind_action(d));
        return;
    }
    struct pd_ticket *t = malloc(sizeof(*t));
    if (!t) {
        pd_answer(c, "DUNNO");
        return;
    }
    for (unsigned i = 0; i < 3; i++)
        policy_tally_init(&t->part[i].tally);
    t->d = d;
    t->slot = (unsigned)(c - d->conn);
    t->gen = c->gen;
    t->req = ++c->req;
    t->pending = 1; /* none finishes the ticket while they are started */
    snprintf(t->client, sizeof(t->client), "%s", q->client_address);
    c->waiting = true;
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    /* An address Postfix does not have ("unknown") is no subject: the
     * checker refuses it, and the rest is checked without it. */
    bool started = pd_start(t, POLICY_CLIENT, q->client_address);
    char domain[256];
    if (d->domain_lists && d->pc->check_helo && pd_domain(q->helo_name, domain, sizeof(domain)))
        started |= pd_start(t, POLICY_HELO, domain);
    const char *at = strrchr(q->sender, '@');
    if (d->domain_lists && d->pc->check_sender && at && pd_domain(at + 1, domain, sizeof(domain)))
        started |= pd_start(t, POLICY_SENDER, domain);
    if (!started) {
        /* Nothing to check, nothing to refuse. */
        free(t);
        c->waiting = false;
        d->n.dunno++;
        pd_answer(c, "DUNNO");
        return;
    }
    if (--t->pending == 0)
        pd_finish(t);
}

/* Answer the requests whose checks took answer-timeout already, as if no
 * list could be heard (their results, when they come, go nowhere), so
 * that a slow or dead resolver never holds Postfix up. Returns the
 * milliseconds to the next deadline, at most 1000. */
static int pd_deadlines(struct pd *d)
{
    uint64_t limit = (uint64_t)d->pc->answer_timeout_ms * 1000, next = 1000000;
    for (unsigned i = 0; i < d->nconn; i++) {
        struct pd_conn *c = &d->conn[i];
        if (c->fd < 0 || !c->waiting)
            continue;
        uint64_t us = pd_elapsed_us(&c->started);
        if (us < limit) {
            if (limit - us < next)
                next = limit - us;
            continue;
        }
        d->n.timeouts++;
        log_warning("%s: no answer from the lists in %u ms: %s", c->peer, d->pc->answer_timeout_ms,
                    pd_blind_action(d));
        c->waiting = false;
        c->last_action[0] = '\0';
        pd_answer(c, pd_blind_action(d));
    }
    return (int)((next + 999) / 1000);
}

/* Parse what is buffered while nothing is in flight and an answer still
 * fits behind those not yet sent. */
static void pd_parse(struct pd *d, struct pd_conn *c)
{
    size_t at = 0;
    while (c->fd >= 0 && !c->closing && !c->waiting &&
           sizeof(c->out) - c->outlen >= PD_OUT_MAX + 16 && at < c->inlen) {
        size_t used = 0;
        const char *why = NULL;
        enum policy_feed r = policy_parser_feed(&c->parser, c->in + at, c->inlen - at, &used, &why);
        at += used;
        if (r == POLICY_MALFORMED) {
            d->n.malformed++;
            log_warning("%s: %s; closing the connection", c->peer, why);
            /* The answers to the requests before it still go out. */
            c->inlen = 0;
            c->closing = true;
            if (!c->outlen)
                pd_close(d, c);
            return;
        }
        if (r == POLICY_REQUEST)
            pd_request(d, c);
    }
    memmove(c->in, c->in + at, c->inlen - at);
    c->inlen -= at;
}

static void pd_write(struct pd *d, struct pd_conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            pd_close(d, c);
            return;
        }
        c->outoff += (size_t)n;
    }
    c->outlen = c->outoff = 0;
    if (c->closing)
        pd_close(d, c);
}

static void pd_read(struct pd *d, struct pd_conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        /* Postfix closes idle connections; a half-sent request is lost
         * with it, as the protocol has it. */
        pd_close(d, c);
        return;
    }
    if (n > 0)
        c->inlen += (size_t)n;
}

static void pd_accept(struct pd *d, int lfd)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        unsigned slot = d->nconn;
        for (unsigned i = 0; i < d->nconn; i++)
            if (d->conn[i].fd < 0) {
                slot = i;
                break;
            }
        if (slot == d->nconn) {
            log_warning("%u connections already; refusing another", d->pc->max_connections);
            close(fd);
            continue;
        }
        struct pd_conn *c = &d->conn[slot];
        unsigned gen = c->gen;
        memset(c, 0, sizeof(*c));
        c->gen = gen + 1;
        c->fd = fd;
        policy_parser_init(&c->parser);
        if (ss.ss_family == AF_UNIX) {
            snprintf(c->peer, sizeof(c->peer), "unix socket");
        } else {
            /* Answers go out as soon as they are queued: with Nagle, the
             * tail of a batch of answers would wait for the client's
             * delayed ACK (40 ms) while it waits for that tail. */
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            addr_sock_format((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
        }
        d->n.connections++;
    }
}

static void pd_report(const struct pd *d)
{
    const struct policyd_counters *n = &d->n;
    uint64_t checked = n->dunno + n->reject + n->mark + n->blind;
    log_info("%llu connections, %llu requests and %llu malformed ones: %llu checked "
             "(%llu reject, %llu mark, %llu dunno, %llu blind), %llu reused for a message, "
             "%llu at another state, %llu allowlisted, %llu timed out, %llu refused for "
             "overload; %llu late results",
             (unsigned long long)n->connections, (unsigned long long)n->requests,
             (unsigned long long)n->malformed, (unsigned long long)checked,
             (unsigned long long)n->reject, (unsigned long long)n->mark,
             (unsigned long long)n->dunno, (unsigned long long)n->blind,
             (unsigned long long)n->cached, (unsigned long long)n->skipped,
             (unsigned long long)n->allowed, (unsigned long long)n->timeouts,
             (unsigned long long)n->overload, (unsigned long long)n->late);
    const uint64_t *h = n->latency_hist;
    uint64_t answered = h[0] + h[1] + h[2] + h[3] + h[4];
    log_info("latency of %llu answered checks: avg %llu us, max %llu us; under 1 ms %llu, "
             "1-10 ms %llu, 10-100 ms %llu, 100 ms-1 s %llu, 1 s or more %llu",
             (unsigned long long)answered,
             (unsigned long long)(answered ? n->latency_us_sum / answered : 0),
             (unsigned long long)n->latency_us_max, (unsigned long long)h[0],
             (unsigned long long)h[1], (unsigned long long)h[2], (unsigned long long)h[3],
             (unsigned long long)h[4]);
    for (unsigned i = 0; i < d->nlists; i++) {
        struct checker_list_info li;
        checker_list_info(d->ck, i, &li);
        const struct policyd_list_counters *b = &d->by_list[i];
        log_info("list %s: %s, %llu state change%s; %llu answers (%llu from cache): %llu listed, "
                 "%llu ignored, %llu errors; listed in %llu reject, %llu mark, %llu dunno",
                 li.zone, health_state_name(li.health.state), (unsigned long long)li.health.changes,
                 li.health.changes == 1 ? "" : "s", (unsigned long long)li.queries,
                 (unsigned long long)li.cache_hits, (unsigned long long)li.listed,
                 (unsigned long long)li.ignored, (unsigned long long)li.errors,
                 (unsigned long long)b->reject, (unsigned long long)b->mark,
                 (unsigned long long)b->dunno);
    }
}

int policyd_run(const struct policy_conf *pc, const struct check_conf *cc,
                volatile sig_atomic_t *stop, volatile sig_atomic_t *report)
{
    struct pd d;
    char err[512];
    int status = 1;
    memset(&d, 0, sizeof(d));
    d.pc = pc;
    d.nconn = pc->max_connections;
    d.conn = calloc(d.nconn, sizeof(*d.conn));
    struct pollfd *pfd = calloc(POLICY_MAX_LISTEN + d.nconn + RESOLVER_MAX_FDS, sizeof(*pfd));
    unsigned *pconn = calloc(d.nconn, sizeof(*pconn)); /* pfd's connections' slots */
    if (!d.conn || !pfd || !pconn) {
        log_error("out of memory");
        goto out;
    }
    for (unsigned i = 0; i < d.nconn; i++)
        d.conn[i].fd = -1;
    if (check_conf_checker(cc, &d.ck, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto out;
    }
    checker_set_periodic(d.ck, true);
    d.nlists = checker_nlists(d.ck);
    d.by_list = calloc(d.nlists + 1, sizeof(*d.by_list));
    if (!d.by_list) {
        log_error("out of memory");
        goto out;
    }
    for (unsigned i = 0; i < checker_nlists(d.ck); i++) {
        struct checker_list_info li;
        checker_list_info(d.ck, i, &li);
        d.domain_lists |= li.kind == CHECKER_DOMAIN;
    }
    if ((pc->check_helo || pc->check_sender) && !d.domain_lists)
        log_warning("check-helo and check-sender have no domain lists to ask: give [check] "
                    "domain-lists");
    for (unsigned i = 0; i < pc->nlisten; i++) {
        int fd = pd_listen(&pc->listen[i], err, sizeof(err));
        if (fd < 0) {
            log_error("%s", err);
            goto out;
        }
        d.lfd[d.nlfd++] = fd;
        if (pc->listen[i].unix_socket)
            log_info("listening on unix:%s", pc->listen[i].path);
        else
            log_info("listening on %s/%u", pc->listen[i].host, pc->listen[i].port);
    }
    /* Listening, and the resolver set up from /etc/resolv.conf: nothing
     * else needs root or the files outside a chroot. */
    if (privdrop_apply(&pc->user, pc->chroot_dir[0] ? pc->chroot_dir : NULL, err, sizeof(err)) <
        0) {
        log_error("%s", err);
        goto out;
    }
    if (pc->user.set)
        log_info("running as %s (uid %u)%s%s", pc->user.user, (unsigned)getuid(),
                 pc->chroot_dir[0] ? " in " : "", pc->chroot_dir);
    status = 0;
    while (!*stop) {
        if (*report) {
            *report = 0;
            pd_report(&d);
        }
        /* First, so that an answer given up on goes out in this round;
         * the stop flag is looked at every second at least. */
        int timeout = pd_deadlines(&d);
        unsigned n = 0;
        for (unsigned i = 0; i < d.nlfd; i++)
            pfd[n++] = (struct pollfd){d.lfd[i], POLLIN, 0};
        unsigned first_conn = n;
        for (unsigned i = 0; i < d.nconn; i++) {
            struct pd_conn *c = &d.conn[i];
            if (c->fd < 0)
                continue;
            short ev = 0;
            if (c->outlen)
                ev |= POLLOUT;
            else if (!c->waiting && c->inlen < sizeof(c->in))
                ev |= POLLIN;
            pconn[n - first_conn] = i;
            pfd[n++] = (struct pollfd){c->fd, ev, 0};
        }
        unsigned last_conn = n;

        unsigned ndns = checker_pollfds(d.ck, pfd + n, RESOLVER_MAX_FDS, &timeout);
        if (poll(pfd, n + ndns, timeout) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            status = 1;
            break;
        }
        checker_process(d.ck, pfd + n, ndns);
        for (unsigned i = 0; i < d.nlfd; i++)
            if (pfd[i].revents & POLLIN)
                pd_accept(&d, pfd[i].fd);
        for (unsigned k = first_conn; k < last_conn; k++) {
            struct pd_conn *c = &d.conn[pconn[k - first_conn]];
            /* Accepting above may have reused a slot closed meanwhile. */
            if (!pfd[k].revents || c->fd != pfd[k].fd)
                continue;
            if (pfd[k].revents & POLLOUT)
                pd_write(&d, c);
            else if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
                pd_read(&d, c);
        }
        /* Answers that came (from DNS or at once) go out, and what is
         * buffered is parsed as soon as a connection is free again. */
        for (unsigned i = 0; i < d.nconn; i++) {
            struct pd_conn *c = &d.conn[i];
            if (c->fd < 0)
                continue;
            /* Parse, send, and again while the socket takes it all and
             * buffered requests are answered at once (from the cache). */
            for (;;) {
                size_t before = c->inlen;
                pd_parse(&d, c);
                if (c->fd >= 0 && c->outlen)
                    pd_write(&d, c);
                if (c->fd < 0 || c->outlen || c->waiting || c->inlen == before)
                    break;
            }
        }
    }
    pd_report(&d);
out:
    for (unsigned i = 0; d.conn && i < d.nconn; i++)
        if (d.conn[i].fd >= 0)
            close(d.conn[i].fd);
    /* Pending checks end now; their tickets see closed connections. */
    checker_free(d.ck);
    d.ck = NULL;
    free(d.by_list);
    for (unsigned i = 0; i < d.nlfd; i++)
        close(d.lfd[i]);
    for (unsigned i = 0; i < pc->nlisten; i++)
        if (pc->listen[i].unix_socket && status == 0)
            unlink(pc->listen[i].path);
    free(pfd);
    free(pconn);
    free(d.conn);
    return status;
}
