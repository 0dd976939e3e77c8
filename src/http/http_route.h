/* What the HTTP routes share inside the service: the service's state, a
 * request as the routes see it, and the reply they fill. Internal to
 * src/http (the page routes in http_site.c, the JSON API in http_api.c,
 * the daemon in http_service.c). */
#ifndef DBK_HTTP_HTTP_ROUTE_H
#define DBK_HTTP_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/http_buf.h"
#include "http/http_conf.h"
#include "http/http_csrf.h"
#include "http/http_live.h"
#include "http/http_metrics.h"

struct MHD_Connection;
struct MHD_Daemon;
struct server;
struct server_reader;

/* Live zones whose counts /metrics keeps, and for how long (seconds). */
#define HTTP_METRICS_CACHE 16
#define HTTP_METRICS_CACHE_SECS 60

struct http_service {
    struct http_conf conf;
    char *config_path;
    struct server *srv;
    struct server_reader *reader; /* taken by the MHD thread on its first request */
    struct MHD_Daemon *daemon;
    int listen_fd; /* bound by http_service_prepare, before privileges go; -1 */
    struct http_csrf csrf;
    struct http_lives lives; /* the listing databases, opened by the MHD thread */
    struct {
        unsigned status;
        uint64_t count;
    } http[HTTP_METRICS_MAX_STATUS]; /* responses by status, counted by the MHD thread */
    unsigned nhttp;
    /* Listing counts of live zones for /metrics, kept a while: counting
     * walks the zone's rows, seconds at 10M, and scrapes come often. */
    struct {
        char zone[256];
        time_t at;
        struct http_metrics_live counts;
    } counted[HTTP_METRICS_CACHE];
    unsigned ncounted;
};

struct http_req {
    struct MHD_Connection *conn;
    const char *method; /* HEAD is routed as GET */
    const char *path;   /* percent-decoded by libmicrohttpd */
    const char *body;   /* the upload, NUL-terminated ("" for none) */
    size_t body_len;
    time_t now;
};

/* A query argument or a request header, NULL when absent. */
const char *http_req_arg(const struct http_req *r, const char *name);
const char *http_req_header(const struct http_req *r, const char *name);

struct http_reply {
    unsigned status;
    const char *type; /* Content-Type */
    struct http_buf body;
    const char *fixed; /* a static body instead of `body` */
    const char *allow; /* the Allow header of a 405 */
    bool bearer;       /* WWW-Authenticate: Bearer (401) */
};

/* The server's reader place for this thread, taken on first use. */
int http_service_reader(struct http_service *s, struct server_reader **out);

/* The page: GET /, /lookup, /remove, POST /remove, /style.css; and the
 * page for any path that is neither the API nor /metrics (404). */
void http_site_route(struct http_service *s, const struct http_req *r, struct http_reply *out);

/* A page error reply. */
void http_site_error(struct http_service *s, struct http_reply *out, unsigned status,
                     const char *message);

/* Paths under /api/. */
void http_api_route(struct http_service *s, const struct http_req *r, struct http_reply *out);

/* Before the body is read: a reply when the request must be refused
 * whatever its body says (a write without a valid token); false to go on. */
bool http_api_precheck(struct http_service *s, const struct http_req *r, struct http_reply *out);

/* A JSON error reply: {"error": code, "message": message}. */
void http_api_error(struct http_reply *out, unsigned status, const char *code, const char *message);

#endif
