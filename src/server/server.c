/* Server lifecycle: load, bind, start workers, then wait for signals and
 * the check timer, publishing each new snapshot with one atomic store and
 * freeing the old one once every worker has moved on. */
#include "server/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "server/server_internal.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int server_socket(const struct addr_sock *a, int type, char *err, size_t errsz)
{
    char name[80];
    addr_sock_format((const struct sockaddr *)&a->ss, name, sizeof(name));
    int fd =
        socket(a->ss.ss_family, type | SOCK_CLOEXEC | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        goto fail;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    if (a->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (type == SOCK_DGRAM) {
        /* Workers wake up this often to notice a stop request. */
        struct timeval tv = {0, 250000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        int rcvbuf = 4 * 1024 * 1024;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
        goto fail;
    if (type == SOCK_STREAM && listen(fd, 256) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errsz, "cannot listen on %s (%s): %s", name, type == SOCK_STREAM ? "tcp" : "udp",
             strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* How often live datasets (the listing engine's) are asked for news. */
#define SERVER_LIVE_POLL_MS 200

static unsigned server_threads(const struct serve_conf *conf)
{
    if (conf->threads)
        return conf->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Write the serial book, at most once a second while serials move (a
 * live zone may take news five times a second); `force` at stop. After
 * a crash the book may miss the last second's serials: the next start
 * goes on from the data's own serial, the time of its newest change,
 * which is past them unless changes outran the clock. */
static void server_save_serials(struct server *srv, bool force)
{
    int64_t now = (int64_t)time(NULL);
    if (!srv->serials || !serial_book_dirty(srv->serials) ||
        (!force && now - srv->serials_saved < 1))
        return;
    char err[512];
    srv->serials_saved = now;
    if (serial_book_save(srv->serials, err, sizeof(err)) == 0) {
        if (srv->serials_failing)
            log_info("serials saved again");
        srv->serials_failing = 0;
        return;
    }
    /* Tried again every second; said at once, then once a minute. */
    if (!srv->serials_failing || now - srv->serials_failing >= 60) {
        log_error("%s; serials may go back after a restart", err);
        srv->serials_failing = now;
    }
}

static void server_publish(struct server *srv, struct snapshot *next)
{
    struct snapshot *old = atomic_exchange_explicit(&srv->snap, next, memory_order_acq_rel);
    if (srv->follow)
        xfr_follow_publish(srv->follow, next);
    if (!old)
        return;
    epoch_synchronize(&srv->epoch);
    snapshot_free(old);
}

/* Whether the secondaries need the follower: a zone that may be
 * transferred (for its IXFR history) or that names secondaries. */
static bool server_has_secondaries(const struct serve_conf *conf, bool *notify)
{
    bool any = false;
    *notify = false;
    for (unsigned i = 0; i < conf->nzones; i++) {
        const struct xfr_conf *x = &conf->zones[i].xfr;
        if (conf->zones[i].name[0] == '\0')
            continue;
        any = any || x->nallow || x->nnotify;
        *notify = *notify || x->nnotify;
    }
    return any;
}

static void server_reload(struct server *srv, bool force)
{
    struct snapshot *cur = atomic_load(&srv->snap);
    struct snapshot *next;
    struct snapshot_stats st;
    char err[1024];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = snapshot_build(srv->conf, cur, force, &next, &st, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        log_error("reload failed, still serving the previous data: %s", err);
        atomic_fetch_add(&srv->reload_refused, 1);
        return;
    }
    if (st.loaded == 0 && st.refreshed == 0 && !force && cur && cur->nzones &&
        cur->zones[0]->loaded) {
        /* Nothing new (e.g. a file was touched back): keep the old one. */
        snapshot_free(next);
        return;
    }
    serial_book_settle(srv->serials, cur, next);
    server_publish(srv, next);
    server_save_serials(srv, false);
    atomic_store(&srv->last_publish, (int64_t)time(NULL));
    if (st.failed)
        atomic_fetch_add(&srv->reload_refused, st.failed);
    if (st.loaded == 0 && st.failed == 0 && !force)
        atomic_fetch_add(&srv->live_updates, 1);
    else
        atomic_fetch_add(&srv->reloads, 1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (st.loaded == 0 && st.failed == 0 && !force) {
        /* Live datasets take news several times a second: not news. */
        log_debug("live update: %u datasets refreshed (%.1f ms)", st.refreshed, ms);
        return;
    }
    log_info("reload: %u datasets loaded, %u refreshed, %u unchanged, %u refused (%.1f ms)",
             st.loaded, st.refreshed, st.reused, st.failed, ms);
}

static void server_log_stats(const char *what, const struct answer_stats *t)
{
    log_info("%s: %llu queries: %llu listed, %llu nodata, %llu nxdomain, %llu refused, "
             "%llu formerr, %llu notimp, %llu servfail, %llu truncated, %llu dropped, "
             "%llu rate-limited (%llu slipped)",
             what, (unsigned long long)t->queries, (unsigned long long)t->listed,
             (unsigned long long)t->nodata, (unsigned long long)t->nxdomain,
             (unsigned long long)t->refused, (unsigned long long)t->formerr,
             (unsigned long long)t->notimp, (unsigned long long)t->servfail,
             (unsigned long long)t->truncated, (unsigned long long)t->dropped,
             (unsigned long long)t->ratelimited, (unsigned long long)t->slipped);
}

/* TCP connections refused or closed by a limit (the TCP thread's). */
static void server_log_tcp(const char *what, const struct answer_stats *t)
{
    log_info("%s: tcp connections: %llu refused (table full), %llu refused (per address); "
             "closed: %llu idle, %llu at tcp-max-time, %llu at tcp-max-queries",
             what, (unsigned long long)t->tcp_refused_full,
             (unsigned long long)t->tcp_refused_address, (unsigned long long)t->tcp_closed_idle,
             (unsigned long long)t->tcp_closed_time, (unsigned long long)t->tcp_closed_queries);
}

/* Zone transfers since the start (USR2 does not reset them). */
static void server_log_xfr(struct xfr_counters *x, const struct notify *n)
{
    log_info(
        "transfers: %llu sent (%llu records, %llu bytes), %llu refused, %llu failed; "
        "%llu IXFRs from the history",
        (unsigned long long)atomic_load(&x->done), (unsigned long long)atomic_load(&x->records),
        (unsigned long long)atomic_load(&x->bytes), (unsigned long long)atomic_load(&x->refused),
        (unsigned long long)atomic_load(&x->failed), (unsigned long long)atomic_load(&x->ixfr));
    if (!n)
        return;
    const struct notify_counters *c = notify_counters(n);
    log_info(
        "notify: %llu messages sent, %llu answered, %llu refused, %llu given up, %llu answers "
        "failing TSIG",
        (unsigned long long)atomic_load(&c->sent), (unsigned long long)atomic_load(&c->answered),
        (unsigned long long)atomic_load(&c->refused), (unsigned long long)atomic_load(&c->failed),
        (unsigned long long)atomic_load(&c->unverified));
}

/* Sum every thread's counters, less the baseline of the last reset. */
static void server_sum_stats(struct udp_worker **workers, unsigned n, struct tcp_server *tcp,
                             struct answer_stats *base, struct answer_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < n; i++)
        answer_stats_add(out, udp_worker_stats(workers[i]));
    if (tcp)
        answer_stats_add(out, tcp_server_stats(tcp));
    answer_stats_sub(out, base);
}

static int server_write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return ERR_IO;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? 0 : ERR_IO;
}

int server_run(struct serve_conf *conf, const struct server_service *svc)
{
    struct server srv;
    memset(&srv, 0, sizeof(srv));
    srv.conf = conf;
    srv.opts.ttl_min = conf->ttl_min;
    srv.opts.ttl_max = conf->ttl_max;
    srv.opts.full_authority = conf->full_authority;
    srv.opts.xfr = &srv.xfr;
    srv.opts.keys = conf->tsig_keys;
    srv.opts.nkeys = conf->ntsig_keys;
    epoch_init(&srv.epoch);
    xfr_journal_init(&srv.journal);
    struct ratelimit ratelimit;
    atomic_store(&srv.snap, NULL);
    pthread_mutex_init(&srv.readers_lock, NULL);
    bool svc_started = false, pid_written = false;
    int pid_dirfd = -1;

    /* A fixed mmap threshold: big dataset arrays then always come from
     * mmap and go back to the system when a reload frees them. glibc
     * would otherwise raise the threshold after the first such free and
     * keep later ones in the heap, so each reload would grow the RSS. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);

    int status = 1;
    unsigned nthreads = server_threads(conf);
    unsigned nudp = conf->nlisten * nthreads;
    int *udp_fds = calloc(nudp, sizeof(int));
    int *tcp_fds = calloc(conf->nlisten, sizeof(int));
    struct udp_worker **workers = calloc(nudp, sizeof(*workers));
    struct tcp_server *tcp = NULL;
    unsigned nudp_open = 0, ntcp_open = 0, nworkers = 0;
    char err[1024];
    if (nudp + 1 > EPOCH_MAX_READERS) {
        log_error("%u listen addresses x %u threads is more than %u workers; use --threads",
                  conf->nlisten, nthreads, EPOCH_MAX_READERS - 1);
        goto out;
    }
    if (!udp_fds || !tcp_fds || !workers) {
        log_error("out of memory");
        goto out;
    }

    if (conf->ratelimit.rate) {
        const struct ratelimit_conf *rc = &conf->ratelimit;
        if (ratelimit_init(&ratelimit, rc) < 0) {
            log_error("cannot set up the rate limit table of %u slots", rc->table);
            goto out;
        }
        srv.ratelimit = &ratelimit;
        log_info("rate limit: %u UDP responses per second per IPv4 /%u and IPv6 /%u, "
                 "slip %u, %u networks exempt",
                 rc->rate, rc->v4_prefix, rc->v6_prefix, rc->slip, rc->nexempt);
    }

    /* Signals are taken synchronously by this thread only; workers never
     * see them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    sigaddset(&sigs, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* With a chroot, the working directory is taken inside it. */
    if (conf->workdir && !conf->chroot_dir && chdir(conf->workdir) < 0) {
        log_error("cannot change to %s: %s", conf->workdir, strerror(errno));
        goto out;
    }

    for (unsigned i = 0; i < conf->nlisten; i++) {
        for (unsigned j = 0; j < nthreads; j++) {
            int fd = server_socket(&conf->listen[i], SOCK_DGRAM, err, sizeof(err));
            if (fd < 0) {
                log_error("%s", err);
                goto out;
            }
            udp_fds[nudp_open++] = fd;
        }
        int fd = server_socket(&conf->listen[i], SOCK_STREAM, err, sizeof(err));
        if (fd < 0) {
            log_error("%s", err);
            goto out;
        }
        tcp_fds[ntcp_open++] = fd;
    }
    if (conf->pidfile && server_write_pidfile(conf->pidfile) < 0) {
        log_error("cannot write pid file %s: %s", conf->pidfile, strerror(errno));
        goto out;
    }
    pid_written = conf->pidfile != NULL;
    /* Its directory, held open: after a chroot its path would be looked
     * up inside the jail. */
    if (pid_written) {
        char dir[PATH_MAX];
        const char *slash = strrchr(conf->pidfile, '/');
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - conf->pidfile) : 1,
                 slash ? (slash == conf->pidfile ? "/" : conf->pidfile) : ".");
        pid_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    /* What needs root is done (the sockets, and the service's own, such
     * as the HTTP port): from here on the data, its reloads and every
     * answer run as the user, so a data file it cannot read shows now,
     * not at the first reload. */
    if (svc && svc->prepare && svc->prepare(svc->arg, conf->chroot_dir != NULL) != 0)
        goto out; /* the service said why */
    if (privdrop_apply(&conf->user, conf->chroot_dir, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto out;
    }
    if (conf->user.set)
        log_info("running as %s (uid %u)%s%s", conf->user.user, (unsigned)getuid(),
                 conf->chroot_dir ? " in " : "", conf->chroot_dir ? conf->chroot_dir : "");
    if (conf->workdir && conf->chroot_dir && chdir(conf->workdir) < 0) {
        log_error("cannot change to %s in %s: %s", conf->workdir, conf->chroot_dir,
                  strerror(errno));
        goto out;
    }

    /* After the jail and the user: the book is written as the user. */
    if (serial_book_open(conf->state_dir, &srv.serials, err, sizeof(err)) < 0) {
        log_error("state-dir: %s", err);
        serial_book_free(srv.serials);
        srv.serials = NULL;
        goto out;
    }
    bool notify_any;
    bool secondaries = server_has_secondaries(conf, &notify_any);
    if (secondaries && !conf->state_dir)
        log_info("no state-dir: zone serials are not kept across restarts, and may go back "
                 "after one if changes came faster than one a second");
    if (notify_any && notify_start(conf->notify_source, &srv.notify, err, sizeof(err)) < 0) {
        log_error("cannot start the NOTIFY sender: %s", err);
        goto out;
    }
    if (secondaries && xfr_follow_start(&srv.journal, srv.notify, conf->ttl_min, conf->ttl_max,
                                        conf->state_dir, &srv.follow) < 0) {
        log_error("cannot start the IXFR history thread");
        goto out;
    }

    struct snapshot *first = NULL;
    if (conf->quickstart) {
        if (snapshot_build_pending(conf, &first) < 0) {
            log_error("out of memory");
            goto out;
        }
    } else {
        struct snapshot_stats st;
        if (snapshot_build(conf, NULL, true, &first, &st, err, sizeof(err)) < 0) {
            log_error("%s", err);
            goto out;
        }
    }
    serial_book_settle(srv.serials, NULL, first);
    server_save_serials(&srv, true);
    atomic_store(&srv.snap, first);
    if (srv.follow)
        xfr_follow_publish(srv.follow, first);

    for (unsigned i = 0; i < nudp_open; i++) {
        if (udp_worker_start(&srv, udp_fds[i], &workers[nworkers]) < 0) {
            log_error("cannot start UDP worker");
            goto stop;
        }
        nworkers++;
    }
    if (tcp_server_start(&srv, tcp_fds, ntcp_open, &tcp) < 0) {
        log_error("cannot start TCP thread");
        goto stop;
    }
    for (unsigned i = 0; i < conf->nlisten; i++) {
        char name[80];
        addr_sock_format((const struct sockaddr *)&conf->listen[i].ss, name, sizeof(name));
        log_info("listening on %s (udp x%u, tcp)", name, nthreads);
    }
    srv.workers = workers;
    srv.nworkers = nworkers;
    srv.tcp = tcp;
    atomic_store(&srv.started, (int64_t)time(NULL));
    atomic_store(&srv.last_publish, (int64_t)time(NULL));
    if (svc) {
        if (svc->start(&srv, svc->arg) != 0)
            goto stop; /* the service said why */
        svc_started = true;
    }
    /* This thread only reloads from now on: on a busy core the workers
     * must win over it, or packets drop while a big list loads. Linux
     * keeps nice values per thread, and the workers started before. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) < 0)
        log_warning("cannot lower the reload thread's priority: %s", strerror(errno));
    if (conf->quickstart)
        server_reload(&srv, true);

    status = 0;
    struct answer_stats base;
    memset(&base, 0, sizeof(base));
    struct timespec last_check;
    clock_gettime(CLOCK_MONOTONIC, &last_check);
    for (;;) {
        siginfo_t si;
        int sig;
        /* Live datasets are polled often (their news must be in DNS
         * within a second); files every check interval. */
        bool live = snapshot_has_live(atomic_load(&srv.snap));
        /* Serials not yet saved are saved within a second, however
         * long the files' check interval. */
        bool serial_wake =
            serial_book_dirty(srv.serials) && (!conf->check_interval || conf->check_interval > 1);
        if (live) {
            struct timespec ts = {0, SERVER_LIVE_POLL_MS * 1000000L};
            sig = sigtimedwait(&sigs, &si, &ts);
        } else if (serial_wake) {
            struct timespec ts = {1, 0};
            sig = sigtimedwait(&sigs, &si, &ts);
        } else if (conf->check_interval) {
            struct timespec ts = {(time_t)conf->check_interval, 0};
            sig = sigtimedwait(&sigs, &si, &ts);
        } else {
            sig = sigwaitinfo(&sigs, &si);
        }
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("stopping on signal %d", sig);
            break;
        }
        if (sig == SIGHUP) {
            server_reload(&srv, false);
            continue;
        }
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            /* rbldnsd's meaning: log statistics; USR2 also resets them. */
            struct answer_stats now;
            server_sum_stats(workers, nworkers, tcp, &base, &now);
            server_log_stats("statistics", &now);
            server_log_tcp("statistics", &now);
            server_log_xfr(&srv.xfr, srv.notify);
            if (sig == SIGUSR2)
                answer_stats_add(&base, &now);
            continue;
        }
        if (sig < 0 && errno == EAGAIN) {
            const struct snapshot *cur = atomic_load(&srv.snap);
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            bool files_due = conf->check_interval &&
                             now.tv_sec - last_check.tv_sec >= (time_t)conf->check_interval;
            if (files_due)
                last_check = now;
            if ((files_due || (!live && !serial_wake)) && snapshot_changed(cur))
                server_reload(&srv, false);
            else if (live && snapshot_stale(cur))
                server_reload(&srv, false);
            server_save_serials(&srv, false);
        }
    }

stop:
    if (svc_started)
        svc->stop(svc->arg);
    atomic_store(&srv.stop, true);
    struct answer_stats total = {0};
    for (unsigned i = 0; i < nworkers; i++)
        udp_worker_join(workers[i], &total);
    if (tcp)
        tcp_server_join(tcp, &total);
    server_log_stats("served", &total);
    server_log_tcp("served", &total);
    server_log_xfr(&srv.xfr, srv.notify);
out:
    xfr_follow_stop(srv.follow);
    notify_stop(srv.notify);
    server_save_serials(&srv, true);
    serial_book_free(srv.serials);
    if (pid_written) {
        const char *slash = strrchr(conf->pidfile, '/');
        const char *name = slash ? slash + 1 : conf->pidfile;
        /* After -u the user must be allowed to: a directory of its own. */
        if (unlinkat(pid_dirfd >= 0 ? pid_dirfd : AT_FDCWD, pid_dirfd >= 0 ? name : conf->pidfile,
                     0) < 0 &&
            errno != ENOENT)
            log_warning("cannot remove the pid file %s: %s", conf->pidfile, strerror(errno));
    }
    if (pid_dirfd >= 0)
        close(pid_dirfd);
    for (unsigned i = 0; i < nudp_open; i++)
        close(udp_fds[i]);
    for (unsigned i = 0; i < ntcp_open; i++)
        close(tcp_fds[i]);
    snapshot_free(atomic_load(&srv.snap));
    free(udp_fds);
    free(tcp_fds);
    free(workers);
    if (srv.ratelimit)
        ratelimit_free(srv.ratelimit);
    pthread_mutex_destroy(&srv.readers_lock);
    xfr_journal_destroy(&srv.journal);
    return status;
}
