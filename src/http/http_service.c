/* The HTTP service of `dnsblkit serve`: one libmicrohttpd daemon with its
 * own polling thread, request bodies up to max-body, routing to the page,
 * the JSON API and /metrics, security headers and counts of every reply. */
#include "http/http.h"
#include "common/err.h"
#include "common/log.h"
#include "http/http_metrics.h"
#include "http/http_route.h"
#include "listing/report_msg.h"
#include "server/server_lookup.h"

#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* libmicrohttpd is opened when the service starts, not linked: its
 * TLS library alone maps megabytes into every process, and most `serve`
 * processes have no [http]. These are the functions we call. */
static struct {
    void *lib;
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
} http_mhd;

static int http_mhd_open(void)
{
    if (http_mhd.lib)
        return 0;
    void *lib = dlopen(DBK_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        log_error("http: cannot load %s: %s", DBK_MHD_SONAME, dlerror());
        return ERR_IO;
    }
    const struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"MHD_start_daemon", (void **)&http_mhd.start_daemon},
        {"MHD_stop_daemon", (void **)&http_mhd.stop_daemon},
        {"MHD_create_response_from_buffer", (void **)&http_mhd.create_response_from_buffer},
        {"MHD_add_response_header", (void **)&http_mhd.add_response_header},
        {"MHD_queue_response", (void **)&http_mhd.queue_response},
        {"MHD_destroy_response", (void **)&http_mhd.destroy_response},
        {"MHD_lookup_connection_value", (void **)&http_mhd.lookup_connection_value},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (!(*syms[i].slot = dlsym(lib, syms[i].name))) {
            log_error("http: %s has no %s", DBK_MHD_SONAME, syms[i].name);
            dlclose(lib);
            memset(&http_mhd, 0, sizeof(http_mhd));
            return ERR_IO;
        }
    }
    http_mhd.lib = lib;
    return 0;
}

/* Connections at once, and from one address: one client cannot take
 * them all. A page or API call is one short request. */
#define HTTP_CONNECTION_LIMIT 256u
#define HTTP_PER_IP_LIMIT 8u
#define HTTP_CONNECTION_TIMEOUT 30u /* seconds of silence before a connection is closed */
#define HTTP_MAX_ZONES 256

/* One request in progress: its body as it arrives. */
struct http_conn {
    struct http_buf body;
    bool too_large; /* the rest of the upload is read and dropped */
};

int http_service_new(const char *config_path, struct http_service **out, char *err, size_t errsz)
{
    struct http_conf conf;
    int rc;
    *out = NULL;
    http_conf_init(&conf);
    if ((rc = http_conf_load(config_path, &conf, err, errsz)) != 0)
        return rc;
    if (!conf.enabled)
        return 0;
    struct http_service *s = calloc(1, sizeof(*s));
    if (!s || !(s->config_path = strdup(config_path))) {
        free(s);
        snprintf(err, errsz, "out of memory");
        return ERR_NOMEM;
    }
    s->conf = conf;
    s->listen_fd = -1;
    if ((rc = http_csrf_init(&s->csrf)) != 0) {
        snprintf(err, errsz, "no random numbers for the removal form: %m");
        http_service_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void http_service_free(struct http_service *s)
{
    if (!s)
        return;
    http_service_stop(s);
    /* Bound, but never handed to libmicrohttpd (a failed start). */
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    http_lives_free(&s->lives);
    free(s->config_path);
    free(s);
}

int http_service_reader(struct http_service *s, struct server_reader **out)
{
    int rc = 0;
    if (!s->reader && (rc = server_reader_new(s->srv, &s->reader)) != 0)
        log_warning("http: no reader place in the server: %s", err_str(rc));
    *out = s->reader;
    return rc;
}

const char *http_req_arg(const struct http_req *r, const char *name)
{
    return http_mhd.lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return http_mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static void http_count(struct http_service *s, unsigned status)
{
    for (unsigned i = 0; i < s->nhttp; i++)
        if (s->http[i].status == status) {
            s->http[i].count++;
            return;
        }
    if (s->nhttp < HTTP_METRICS_MAX_STATUS) {
        s->http[s->nhttp].status = status;
        s->http[s->nhttp++].count = 1;
        return;
    }
    /* More distinct statuses than slots (never with our routes): the last
     * slot takes the rest rather than losing them. */
    s->http[HTTP_METRICS_MAX_STATUS - 1].count++;
}

static int http_metrics_counter_cb(const char *name, uint64_t value, void *arg)
{
    struct http_metrics_live *l = arg;
    if (l->ncounters < HTTP_METRICS_MAX_COUNTERS) {
        snprintf(l->counters[l->ncounters].name, sizeof(l->counters[0].name), "%s", name);
        l->counters[l->ncounters++].value = value;
    }
    return 0;
}

/* Listing counts of a live zone for the metrics; false when its database
 * is not available now. */
static bool http_metrics_zone(struct http_service *s, const struct server_zone_info *zi, time_t now,
                              struct http_metrics_live *out)
{
    struct http_live *l;
    struct store_zone_counts n;
    char err[1024], zone[256];
    unsigned slot = s->ncounted;
    for (unsigned i = 0; i < s->ncounted; i++)
        if (!strcmp(s->counted[i].zone, zi->zone))
            slot = i;
    if (slot < s->ncounted && now - s->counted[slot].at < HTTP_METRICS_CACHE_SECS &&
        now >= s->counted[slot].at) {
        *out = s->counted[slot].counts;
        return true;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->zone, sizeof(out->zone), "%s", zi->zone);
    if (listing_zone_key(zi->zone, zone, sizeof(zone)) != 0 ||
        http_lives_get(&s->lives, zi->live_config, &l, err, sizeof(err)) != 0)
        return false;
    if (store_zone_counts(l->st, zone, now, &n) != 0) {
        log_warning("http: metrics of %s: %s", zi->zone, store_errmsg(l->st));
        return false;
    }
    out->listed = n.listed;
    out->allowlist = n.allowlist;
    out->reports = n.reports;
    out->traps = n.traps;
    out->refused = n.refused;
    out->ended = n.ended;
    if (store_counters(l->st, zone, http_metrics_counter_cb, out) != 0)
        log_warning("http: counters of %s: %s", zi->zone, store_errmsg(l->st));
    if (slot == s->ncounted && s->ncounted < HTTP_METRICS_CACHE)
        s->ncounted++;
    if (slot < s->ncounted) {
        snprintf(s->counted[slot].zone, sizeof(s->counted[slot].zone), "%s", zi->zone);
        s->counted[slot].at = now;
        s->counted[slot].counts = *out;
    }
    return true;
}

static void http_metrics_route(struct http_service *s, const struct http_req *r,
                               struct http_reply *out)
{
    struct http_metrics m;
    struct server_reader *reader;
    struct server_zone_info *zones = calloc(HTTP_MAX_ZONES, sizeof(*zones));
    struct http_metrics_live *live = calloc(HTTP_MAX_ZONES, sizeof(*live));
    struct server_zone_stats *zstats = calloc(HTTP_MAX_ZONES, sizeof(*zstats));
    unsigned n = 0, nz = 0;
    memset(&m, 0, sizeof(m));
    if (!zones || !live || !zstats || http_service_reader(s, &reader) != 0 ||
        server_zones(s->srv, reader, zones, HTTP_MAX_ZONES, &n) != 0 ||
        server_zone_stats(s->srv, zstats, HTTP_MAX_ZONES, &nz) != 0) {
        http_site_error(s, out, 500, "the server's numbers are not available");
        goto out;
    }
    m.now = r->now;
    server_stats(s->srv, &m.udp, &m.tcp);
    server_counters(s->srv, &m.counters);
    m.zones = zones;
    m.nzones = n < HTTP_MAX_ZONES ? n : HTTP_MAX_ZONES;
    for (unsigned i = 0; i < m.nzones; i++)
        if (zones[i].live_config[0] && http_metrics_zone(s, &zones[i], r->now, &live[m.nlive]))
            m.nlive++;
    m.live = live;
    m.zstats = zstats;
    m.nzstats = nz < HTTP_MAX_ZONES ? nz : HTTP_MAX_ZONES;
    /* This response is counted too, before it is rendered: a scrape sees
     * itself, as Prometheus' own client libraries do. */
    http_count(s, 200);
    for (unsigned i = 0; i < s->nhttp; i++) {
        m.http[i].status = s->http[i].status;
        m.http[i].count = s->http[i].count;
    }
    m.nhttp = s->nhttp;
    out->status = 200;
    out->type = "text/plain; version=0.0.4; charset=utf-8";
    http_metrics_render(&out->body, &m);
out:
    free(zones);
    free(live);
    free(zstats);
}

static void http_route(struct http_service *s, const struct http_req *r, struct http_reply *out)
{
    if (!strncmp(r->path, "/api/", 5)) {
        http_api_route(s, r, out);
    } else if (!strcmp(r->path, "/metrics")) {
        if (strcmp(r->method, "GET") != 0) {
            out->allow = "GET, HEAD";
            http_site_error(s, out, 405, "this address only answers GET");
        } else {
            http_metrics_route(s, r, out);
        }
    } else {
        http_site_route(s, r, out);
    }
}

static enum MHD_Result http_header(struct MHD_Response *resp, const char *name, const char *value)
{
    return http_mhd.add_response_header(resp, name, value);
}

/* Send the reply with the headers every response carries. */
static enum MHD_Result http_send(struct http_service *s, const struct http_req *r,
                                 struct http_reply *rep, bool counted)
{
    struct MHD_Response *resp;
    if (rep->body.failed) {
        http_buf_free(&rep->body);
        rep->fixed = "out of memory\n";
        rep->status = 500;
        rep->type = "text/plain; charset=utf-8";
    }
    if (rep->fixed) {
        resp = http_mhd.create_response_from_buffer(strlen(rep->fixed), (void *)rep->fixed,
                                                    MHD_RESPMEM_PERSISTENT);
    } else {
        size_t len = 0;
        char *data = http_buf_take(&rep->body, &len);
        resp = http_mhd.create_response_from_buffer(
            len, data ? data : (void *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp)
            free(data);
    }
    if (!resp)
        return MHD_NO;
    http_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->type ? rep->type : "text/plain");
    http_header(resp, "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; form-action 'self'; "
                "frame-ancestors 'none'");
    http_header(resp, "X-Content-Type-Options", "nosniff");
    http_header(resp, "Referrer-Policy", "no-referrer");
    http_header(resp, "Cache-Control", "no-store");
    if (rep->allow)
        http_header(resp, "Allow", rep->allow);
    if (rep->bearer)
        http_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = http_mhd.queue_response(r->conn, rep->status, resp);
    http_mhd.destroy_response(resp);
    if (!counted)
        http_count(s, rep->status);
    if (rep->status >= 500)
        log_warning("http: %s %s: %u", r->method, r->path, rep->status);
    else
        log_debug("http: %s %s: %u", r->method, r->path, rep->status);
    return ret;
}

/* Replies before the body is read: 413 for a declared length over
 * max-body, a refused write; false to read the body. */
static bool http_early(struct http_service *s, const struct http_req *r, struct http_reply *rep)
{
    bool api = !strncmp(r->path, "/api/", 5);
    const char *cl = http_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (api && http_api_precheck(s, r, rep))
        return true;
    if (cl && strtoull(cl, NULL, 10) > s->conf.max_body) {
        if (api)
            http_api_error(rep, 413, "too_large", "the request body is larger than max-body");
        else
            http_site_error(s, rep, 413, "The request is too large.");
        return true;
    }
    return false;
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    struct http_service *s = cls;
    struct http_conn *c = *con_cls;
    struct http_reply rep;
    struct http_req r = {conn, !strcmp(method, "HEAD") ? "GET" : method, url, "", 0, time(NULL)};
    memset(&rep, 0, sizeof(rep));
    if (!c) {
        /* The first call: only the headers are in. */
        if (!(c = calloc(1, sizeof(*c))))
            return MHD_NO;
        http_buf_init(&c->body);
        *con_cls = c;
        if (http_early(s, &r, &rep))
            return http_send(s, &r, &rep, false);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!c->too_large && c->body.len + *upload_data_size > s->conf.max_body) {
            /* A body without a declared length grew too large: drop it
             * as it arrives and answer 413 at its end. */
            c->too_large = true;
            http_buf_free(&c->body);
        }
        if (!c->too_large)
            http_buf_add(&c->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->too_large) {
        if (!strncmp(url, "/api/", 5))
            http_api_error(&rep, 413, "too_large", "the request body is larger than max-body");
        else
            http_site_error(s, &rep, 413, "The request is too large.");
        return http_send(s, &r, &rep, false);
    }
    if (c->body.failed) {
        http_site_error(s, &rep, 500, "out of memory");
        return http_send(s, &r, &rep, false);
    }
    if (c->body.len) {
        r.body = c->body.data;
        r.body_len = c->body.len;
    }
    http_route(s, &r, &rep);
    bool counted = !strcmp(url, "/metrics") && rep.status == 200;
    return http_send(s, &r, &rep, counted);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_conn *c = *con_cls;
    if (!c)
        return;
    http_buf_free(&c->body);
    free(c);
    *con_cls = NULL;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* Per-connection trouble (a client gone, the limit reached) is
     * libmicrohttpd's commonest message: a client could flood the log
     * with it, so at most one warning in ten seconds, the rest at debug. */
    static time_t last;
    time_t now = time(NULL);
    if (now - last >= 10 || now < last) {
        last = now;
        log_warning("http: %s", msg);
    } else {
        log_debug("http: %s", msg);
    }
}

int http_service_prepare(void *svc, bool jailed)
{
    struct http_service *s = svc;
    const struct sockaddr *sa = (const struct sockaddr *)&s->conf.listen.ss;
    char where[128];
    addr_sock_format(sa, where, sizeof(where));
    /* Both need what a dropped user or a chroot may not have: the
     * library's file, and a port below 1024. */
    if (http_mhd_open() != 0)
        return ERR_IO;
    int one = 1, fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd >= 0 && sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (fd < 0 || bind(fd, sa, s->conf.listen.len) < 0 || listen(fd, 128) < 0) {
        log_error("http: cannot listen on %s: %s", where, strerror(errno));
        if (fd >= 0)
            close(fd);
        return ERR_IO;
    }
    s->listen_fd = fd;
    /* The report API's parser is opened at its first message, which in
     * a chroot would not find it. */
    char why[512];
    if (jailed && s->conf.token[0] && report_msg_preload(why, sizeof(why)) < 0)
        log_warning("http: reports through the API will fail: %s", why);
    return 0;
}

int http_service_start(struct server *srv, void *svc)
{
    struct http_service *s = svc;
    char where[128];
    if (s->listen_fd < 0 && http_service_prepare(s, false) != 0)
        return ERR_IO;
    /* epoll (MHD_USE_AUTO picks it on Linux): select() would stop
     * accepting once the DNS side's TCP clients take descriptors past
     * FD_SETSIZE. */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    s->srv = srv;
    if (s->conf.listen.ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    addr_sock_format((const struct sockaddr *)&s->conf.listen.ss, where, sizeof(where));
    /* libmicrohttpd takes the socket, and closes it even when it fails
     * to start. */
    int fd = s->listen_fd;
    s->listen_fd = -1;
    /* The logger first: libmicrohttpd logs while reading the options. */
    s->daemon = http_mhd.start_daemon(
        flags, 0, NULL, NULL, http_handler, s, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, HTTP_CONNECTION_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        HTTP_CONNECTION_TIMEOUT, MHD_OPTION_NOTIFY_COMPLETED, http_completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        log_error("http: cannot serve on %s", where);
        return ERR_IO;
    }
    log_info("http: listening on %s (%s)", where, s->conf.public_url);
    return 0;
}

void http_service_stop(void *svc)
{
    struct http_service *s = svc;
    if (s && s->daemon) {
        http_mhd.stop_daemon(s->daemon);
        s->daemon = NULL;
    }
}
