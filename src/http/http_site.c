/* The lookup page's routes: the search box, the facts about a subject,
 * and self-service removal (confirmation, then a POST guarded by a CSRF
 * token and the Origin header). */
#include "common/err.h"
#include "common/log.h"
#include "http/http_page.h"
#include "http/http_parse.h"
#include "http/http_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_HTML "text/html; charset=utf-8"

void http_site_error(struct http_service *s, struct http_reply *out, unsigned status,
                     const char *message)
{
    http_buf_free(&out->body);
    out->status = status;
    out->type = HTTP_HTML;
    http_page_error(&out->body, &s->conf, status, message);
}

/* A browser names the page a form was posted from in Origin: refuse any
 * other site than this one (as the request reached us, or as public-url
 * names it). No Origin (old browsers, curl), or "null" (what a browser
 * sends under our own Referrer-Policy: no-referrer) names no site: the
 * CSRF token decides alone. */
static bool http_site_origin_ok(struct http_service *s, const struct http_req *r)
{
    const char *origin = http_req_header(r, "Origin");
    if (!origin || !strcmp(origin, "null"))
        return true;
    size_t n, hn;
    const char *auth = http_parse_authority(origin, &n);
    if (!auth)
        return false;
    const char *host = http_req_header(r, "Host");
    if (host && strlen(host) == n && !strncasecmp(auth, host, n))
        return true;
    const char *pub = http_parse_authority(s->conf.public_url, &hn);
    return pub && hn == n && !strncasecmp(auth, pub, n);
}

/* The facts, and the zone among them named `zone` (NULL when none). */
static int http_site_facts(struct http_service *s, const struct http_req *r, const char *subject,
                           const char *zone, struct http_facts *f, struct http_zone_facts **z)
{
    struct server_reader *reader;
    char want[256], have[256];
    int rc = http_service_reader(s, &reader);
    if (rc == 0)
        rc = http_live_facts(s->srv, reader, &s->lives, subject, r->now, f);
    if (rc || !z)
        return rc;
    *z = NULL;
    if (!zone || listing_zone_key(zone, want, sizeof(want)) != 0)
        return 0;
    for (unsigned i = 0; i < f->n; i++)
        if (listing_zone_key(f->z[i].dns.zone, have, sizeof(have)) == 0 && !strcmp(want, have))
            *z = &f->z[i];
    return 0;
}

static void http_site_lookup(struct http_service *s, const struct http_req *r,
                             struct http_reply *out)
{
    const char *ip = http_req_arg(r, "ip");
    struct http_facts *f = malloc(sizeof(*f));
    if (!f) {
        http_site_error(s, out, 500, "out of memory");
        return;
    }
    int rc = ip ? http_site_facts(s, r, ip, NULL, f, NULL) : ERR_INVAL;
    if (rc == ERR_INVAL) {
        http_site_error(s, out, 400, "Give an IPv4 or IPv6 address or a domain name.");
    } else if (rc) {
        http_site_error(s, out, 500, "The lookup failed.");
    } else {
        /* No token on this page: its removal links lead to the
         * confirmation step, which carries one. */
        out->status = 200;
        out->type = HTTP_HTML;
        http_page_lookup(&out->body, &s->conf, f, "");
    }
    free(f);
}

/* GET /remove: the confirmation step. */
static void http_site_confirm(struct http_service *s, const struct http_req *r,
                              struct http_reply *out)
{
    const char *ip = http_req_arg(r, "ip"), *zone = http_req_arg(r, "zone");
    char csrf[HTTP_CSRF_LEN + 1], zkey[256];
    struct http_zone_facts *z;
    struct http_facts *f = malloc(sizeof(*f));
    if (!f) {
        http_site_error(s, out, 500, "out of memory");
        return;
    }
    int rc = ip && zone ? http_site_facts(s, r, ip, zone, f, &z) : ERR_INVAL;
    if (rc == ERR_INVAL) {
        http_site_error(s, out, 400, "Give the address and the zone.");
    } else if (rc) {
        http_site_error(s, out, 500, "The lookup failed.");
    } else if (!z || !z->live || listing_zone_key(zone, zkey, sizeof(zkey)) != 0) {
        http_site_error(s, out, 404, "This list has no such zone for that address.");
    } else {
        http_csrf_token(&s->csrf, zkey, f->subject, r->now, csrf);
        out->status = 200;
        out->type = HTTP_HTML;
        http_page_confirm(&out->body, &s->conf, f->subject, zkey, csrf);
    }
    free(f);
}

/* POST /remove: the owner's removal, in one transaction. */
static void http_site_remove(struct http_service *s, const struct http_req *r,
                             struct http_reply *out)
{
    char ip[256], zone[256], csrf[HTTP_CSRF_LEN + 2], confirm[8], zkey[256], why[300] = "";
    char subject[256], err[1024];
    struct netkey key;
    bool is_addr;
    struct http_zone_facts *z;
    struct http_live *l;
    struct http_facts *f = NULL;
    int rc;
    if (!http_site_origin_ok(s, r)) {
        http_site_error(s, out, 403, "This form was sent from another site.");
        goto out;
    }
    if (!http_parse_form(r->body, "ip", ip, sizeof(ip)) ||
        !http_parse_form(r->body, "zone", zone, sizeof(zone)) ||
        http_live_subject(ip, subject, sizeof(subject), &key, &is_addr) != 0 ||
        listing_zone_key(zone, zkey, sizeof(zkey)) != 0) {
        http_site_error(s, out, 400, "Give the address and the zone.");
        goto out;
    }
    if (!http_parse_form(r->body, "csrf", csrf, sizeof(csrf)) ||
        !http_csrf_check(&s->csrf, zkey, subject, r->now, csrf)) {
        http_site_error(s, out, 403,
                        "This form has expired or was not made by this site: "
                        "look the address up again.");
        goto out;
    }
    if (!http_parse_form(r->body, "confirm", confirm, sizeof(confirm)) ||
        strcmp(confirm, "yes") != 0) {
        http_site_error(s, out, 400, "The removal was not confirmed.");
        goto out;
    }
    if (!(f = malloc(sizeof(*f)))) {
        http_site_error(s, out, 500, "out of memory");
        goto out;
    }
    if ((rc = http_site_facts(s, r, subject, zkey, f, &z)) != 0) {
        http_site_error(s, out, rc == ERR_INVAL ? 400 : 500, "The lookup failed.");
        goto out;
    }
    if (!z || !z->live || !is_addr) {
        http_site_error(s, out, 404, "This list has no such zone for that address.");
        goto out;
    }
    if (http_lives_get(&s->lives, z->dns.live_config, &l, err, sizeof(err)) != 0) {
        log_warning("http: zone %s: %s", zkey, err);
        http_site_error(s, out, 503, "The zone's database is unavailable; try again later.");
        goto out;
    }
    if (store_begin(l->st) != 0) {
        log_warning("http: zone %s: %s", zkey, store_errmsg(l->st));
        http_site_error(s, out, 503, "The zone's database is busy; try again later.");
        goto out;
    }
    rc = engine_self_remove(&l->eng, zkey, &key, r->now, why, sizeof(why));
    if (rc == 0 && (rc = store_commit(l->st)) == 0) {
        log_info("http: %s removed from %s by its owner", subject, zkey);
        out->status = 200;
        out->type = HTTP_HTML;
        http_page_removed(&out->body, &s->conf, subject, zkey, true,
                          "The listing has ended; DNS answers change within a second.");
        goto out;
    }
    store_rollback(l->st);
    if (rc == ERR_NOTFOUND || rc == ERR_LIMIT) {
        out->status = 200;
        out->type = HTTP_HTML;
        http_page_removed(&out->body, &s->conf, subject, zkey, false,
                          rc == ERR_NOTFOUND ? "not listed" : why);
    } else {
        log_warning("http: removing %s from %s: %s", subject, zkey, store_errmsg(l->st));
        http_site_error(s, out, 500, "The removal failed; try again later.");
    }
out:
    free(f);
}

void http_site_route(struct http_service *s, const struct http_req *r, struct http_reply *out)
{
    bool get = !strcmp(r->method, "GET");
    const char *p = r->path;
    if (strcmp(p, "/") != 0 && strcmp(p, "/lookup") != 0 && strcmp(p, "/style.css") != 0 &&
        strcmp(p, "/remove") != 0) {
        http_site_error(s, out, 404, "There is no such page.");
        return;
    }
    bool remove = !strcmp(p, "/remove");
    if (!get && !(remove && !strcmp(r->method, "POST"))) {
        out->allow = remove ? "GET, HEAD, POST" : "GET, HEAD";
        http_site_error(s, out, 405, "This page cannot be used that way.");
        return;
    }
    if (remove && !s->conf.removal) {
        http_site_error(s, out, 403, "Self-service removal is turned off for this list.");
        return;
    }
    if (!strcmp(p, "/")) {
        out->status = 200;
        out->type = HTTP_HTML;
        http_page_home(&out->body, &s->conf);
    } else if (!strcmp(p, "/style.css")) {
        out->status = 200;
        out->type = "text/css; charset=utf-8";
        out->fixed = http_page_css();
    } else if (!strcmp(p, "/lookup")) {
        http_site_lookup(s, r, out);
    } else if (get) {
        http_site_confirm(s, r, out);
    } else {
        http_site_remove(s, r, out);
    }
}
