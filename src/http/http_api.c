/* The JSON API under /api/v1: lookups and zone listings for anyone,
 * writes (listings, allowlist, reports) for the holder of the bearer
 * token, each through the listing engine in one store transaction, as the
 * CLI does them. */
#include "common/err.h"
#include "common/log.h"
#include "http/http_parse.h"
#include "http/http_route.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_JSON "application/json"
#define HTTP_API_MAX_ZONES 256
#define HTTP_API_MAX_OFFSET 100000 /* see http_api_listings */

void http_api_error(struct http_reply *out, unsigned status, const char *code, const char *message)
{
    json_t *j = json_pack("{s:s, s:s}", "error", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    http_buf_free(&out->body);
    out->status = status;
    out->type = HTTP_JSON;
    out->bearer = status == 401;
    if (text)
        http_buf_puts(&out->body, text);
    else
        out->body.failed = true;
    free(text);
    json_decref(j);
}

/* Send a JSON value (taken) with the status. */
static void http_api_json(struct http_reply *out, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        http_api_error(out, 500, "internal", "out of memory");
        return;
    }
    http_buf_free(&out->body);
    out->status = status;
    out->type = HTTP_JSON;
    http_buf_puts(&out->body, text);
    free(text);
}

/* The token as given against the configured one; every byte of the
 * given token is looked at, whatever matches. */
static bool http_api_token_ok(const char *want, const char *given)
{
    size_t wn = strlen(want), gn = strlen(given);
    unsigned char diff = wn != gn;
    for (size_t i = 0; i < gn; i++)
        diff |= (unsigned char)(given[i] ^ want[i % wn]);
    return diff == 0;
}

bool http_api_precheck(struct http_service *s, const struct http_req *r, struct http_reply *out)
{
    struct http_api_path ap;
    http_parse_api_path(r->path, &ap);
    if (!strcmp(r->method, "GET") || !http_parse_api_method_ok(&ap, r->method))
        return false;
    if (!s->conf.token[0]) {
        http_api_error(out, 403, "forbidden", "writes are disabled: no token is configured");
        return true;
    }
    const char *auth = http_req_header(r, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
        !http_api_token_ok(s->conf.token, auth + 7)) {
        http_api_error(out, 401, "unauthorized", "a valid bearer token is needed");
        return true;
    }
    return false;
}

static json_t *http_api_time(time_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

static json_t *http_api_codes(const struct server_zone_answer *a)
{
    json_t *codes = json_array();
    for (unsigned i = 0; i < a->ncodes; i++) {
        char code[16];
        snprintf(code, sizeof(code), "127.0.0.%u", a->codes[i]);
        json_array_append_new(codes, json_string(code));
    }
    return codes;
}

static json_t *http_api_zone_facts(const struct http_zone_facts *z)
{
    json_t *j = json_pack("{s:o, s:b, s:o, s:o, s:b}", "zone", http_parse_json_text(z->dns.zone),
                          "listed", z->dns.listed, "codes", http_api_codes(&z->dns), "txt",
                          http_parse_json_text(z->dns.txt), "live", z->live);
    if (!j || !z->live)
        return j;
    json_object_set_new(j, "reason", http_parse_json_text(z->reason));
    json_object_set_new(j, "listed_at", http_api_time(z->listed_at));
    json_object_set_new(j, "expires", http_api_time(z->expires_at));
    json_object_set_new(j, "manual", json_boolean(z->manual));
    json_object_set_new(j, "covered_by", z->covered ? json_string(z->covered_by) : json_null());
    json_object_set_new(j, "escalated", json_boolean(z->escalated));
    json_object_set_new(j, "allowlisted", json_boolean(z->allowlisted));
    json_object_set_new(j, "allow_block",
                        z->allowlisted ? json_string(z->allow_block) : json_null());
    json_object_set_new(j, "reports", json_integer(z->reports));
    json_object_set_new(j, "traps", json_integer(z->traps));
    json_object_set_new(j, "evidence_days", json_integer(z->evidence_days));
    json_object_set_new(j, "history",
                        json_pack("{s:I, s:I}", "ended_last_30_days", (json_int_t)z->history_count,
                                  "seconds_last_30_days", (json_int_t)z->history_secs));
    json_object_set_new(j, "removable", json_boolean(z->removable));
    return j;
}

static void http_api_lookup(struct http_service *s, const struct http_req *r,
                            struct http_reply *out)
{
    const char *ip = http_req_arg(r, "ip");
    struct server_reader *reader;
    struct http_facts *f = malloc(sizeof(*f));
    int rc = !f ? ERR_NOMEM : !ip ? ERR_INVAL : http_service_reader(s, &reader);
    if (rc == 0)
        rc = http_live_facts(s->srv, reader, &s->lives, ip, r->now, f);
    if (rc == ERR_INVAL) {
        http_api_error(out, 400, "bad_request", "ip must be an IPv4 or IPv6 address or a domain");
        goto out;
    }
    if (rc) {
        http_api_error(out, 500, "internal", err_str(rc));
        goto out;
    }
    json_t *zones = json_array();
    for (unsigned i = 0; i < f->n; i++) {
        if (f->z[i].unavailable) {
            char msg[400];
            snprintf(msg, sizeof(msg), "the database of zone %s is unavailable", f->z[i].dns.zone);
            json_decref(zones);
            http_api_error(out, 503, "unavailable", msg);
            goto out;
        }
        if (json_array_append_new(zones, http_api_zone_facts(&f->z[i])) != 0) {
            json_decref(zones);
            http_api_error(out, 500, "internal", "out of memory");
            goto out;
        }
    }
    http_api_json(out, 200, json_pack("{s:s, s:o}", "subject", f->subject, "zones", zones));
out:
    free(f);
}

static void http_api_zones(struct http_service *s, struct http_reply *out)
{
    struct server_reader *reader;
    struct server_zone_info *zones = calloc(HTTP_API_MAX_ZONES, sizeof(*zones));
    unsigned n = 0;
    if (!zones || http_service_reader(s, &reader) != 0 ||
        server_zones(s->srv, reader, zones, HTTP_API_MAX_ZONES, &n) != 0) {
        http_api_error(out, 500, "internal", "the zones are not available");
        goto out;
    }
    json_t *arr = json_array();
    for (unsigned i = 0; i < n && i < HTTP_API_MAX_ZONES; i++)
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:b, s:b}", "zone", zones[i].zone,
                                             "entries", (json_int_t)zones[i].entries, "serial",
                                             (json_int_t)zones[i].serial, "loaded", zones[i].loaded,
                                             "live", zones[i].live_config[0] != '\0'));
    http_api_json(out, 200, json_pack("{s:o}", "zones", arr));
out:
    free(zones);
}

/* The live zone a path names and its database; false with the reply set
 * (404 for no such live zone, 503 for a database that cannot be opened). */
static bool http_api_live(struct http_service *s, const struct http_api_path *ap,
                          struct http_reply *out, struct http_live **l, char *zone, size_t zonesz)
{
    struct server_reader *reader;
    char have[256], err[1024];
    bool found = false, ok = false;
    unsigned n = 0;
    struct server_zone_info *zones = calloc(HTTP_API_MAX_ZONES, sizeof(*zones));
    if (!zones || http_service_reader(s, &reader) != 0 ||
        server_zones(s->srv, reader, zones, HTTP_API_MAX_ZONES, &n) != 0) {
        http_api_error(out, 500, "internal", "the zones are not available");
        goto out;
    }
    if (listing_zone_key(ap->zone, zone, zonesz) == 0)
        for (unsigned i = 0; i < n && i < HTTP_API_MAX_ZONES && !found; i++) {
            found = zones[i].live_config[0] &&
                    listing_zone_key(zones[i].zone, have, sizeof(have)) == 0 && !strcmp(have, zone);
            if (found && http_lives_get(&s->lives, zones[i].live_config, l, err, sizeof(err))) {
                log_warning("http: zone %s: %s", zone, err);
                http_api_error(out, 503, "unavailable", "the zone's database is unavailable");
                goto out;
            }
        }
    if (!found) {
        http_api_error(out, 404, "not_found", "no such zone served from the listing database");
        goto out;
    }
    ok = true;
out:
    free(zones);
    return ok;
}

struct http_api_page {
    unsigned long long limit, n;
    struct netkey last; /* of the page's last listing */
    json_t *arr;
};

/* The walk asks for one listing more than the page holds: its presence
 * is what says that a next page exists. */
static int http_api_listing_cb(const struct store_listing *l, void *arg)
{
    struct http_api_page *pg = arg;
    if (pg->n++ >= pg->limit)
        return 0;
    char key[NETKEY_STRLEN], code[16];
    pg->last = l->key;
    netkey_format(&l->key, key, sizeof(key));
    snprintf(code, sizeof(code), "127.0.0.%u", l->code);
    /* A listing that cannot be written stops the walk: a page must not
     * come back short of a listing without saying so. */
    return json_array_append_new(
               pg->arr,
               json_pack("{s:s, s:s, s:o, s:o, s:b, s:o}", "key", key, "code", code, "listed_at",
                         http_api_time(l->listed_at), "expires", http_api_time(l->expires_at),
                         "manual", l->manual, "reason", http_parse_json_text(l->reason))) != 0
               ? ERR_NOMEM
               : 0;
}

/* A key as netkey_format writes it, or null. */
static json_t *http_api_key_json(const struct netkey *k)
{
    char text[NETKEY_STRLEN];
    if (!k)
        return json_null();
    netkey_format(k, text, sizeof(text));
    return json_string(text);
}

/* A page of a zone's listings. `after` is a keyset cursor (the "next" of
 * the page before: a seek, whatever the depth); `offset` skips rows one
 * by one after it, so deep offsets cost what they skip. */
static void http_api_listings(struct http_live *l, const char *zone, const struct http_req *r,
                              struct http_reply *out)
{
    struct http_api_page pg = {.limit = 100};
    unsigned long long offset = 0;
    const char *after_arg = http_req_arg(r, "after");
    struct netkey after;
    uint64_t total;
    time_t as_of;
    /* An offset is read and skipped row by row: capped, so that one
     * unauthenticated request costs milliseconds; `after` goes deeper. */
    if (!http_parse_number(http_req_arg(r, "offset"), 0, HTTP_API_MAX_OFFSET, &offset) ||
        !http_parse_number(http_req_arg(r, "limit"), 1, 1000, &pg.limit)) {
        http_api_error(out, 400, "bad_request",
                       "offset must be 0..100000 (page deeper with after) and limit 1..1000");
        return;
    }
    if (after_arg && netkey_parse(after_arg, &after) != 0) {
        http_api_error(out, 400, "bad_request",
                       "after must be a listing's key: an address or a CIDR block");
        return;
    }
    int rc = http_live_total(l, zone, r->now, &total, &as_of);
    if (rc == 0 && !(pg.arr = json_array()))
        rc = ERR_NOMEM;
    if (rc == 0)
        rc = store_foreach_listed_page(l->st, zone, r->now, after_arg ? &after : NULL, offset,
                                       (unsigned)pg.limit + 1, http_api_listing_cb, &pg);
    if (rc != 0) {
        log_warning("http: listings of %s: %s", zone,
                    rc == ERR_NOMEM ? err_str(rc) : store_errmsg(l->st));
        json_decref(pg.arr);
        http_api_error(out, 500, "internal", "the database failed");
        return;
    }
    http_api_json(out, 200,
                  json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:o, s:o}", "zone", zone, "after",
                            http_api_key_json(after_arg ? &after : NULL), "offset",
                            (json_int_t)offset, "limit", (json_int_t)pg.limit, "total",
                            (json_int_t)total, "counted_at", (json_int_t)as_of, "next",
                            http_api_key_json(pg.n > pg.limit ? &pg.last : NULL), "listings",
                            pg.arr));
}

/* Finish a write: commit, or roll back and say why (500). */
static bool http_api_commit(struct http_live *l, int rc, const char *zone, struct http_reply *out)
{
    if (rc == 0 && (rc = store_commit(l->st)) == 0)
        return true;
    store_rollback(l->st);
    log_warning("http: write to %s: %s", zone, rc == ERR_IO ? store_errmsg(l->st) : err_str(rc));
    http_api_error(out, 500, "internal", "the database failed");
    return false;
}

/* A JSON object body; NULL with a 400 reply otherwise. */
static json_t *http_api_body(const struct http_req *r, struct http_reply *out)
{
    char msg[300];
    json_t *j = http_parse_json_object(r->body, r->body_len, msg, sizeof(msg));
    if (!j)
        http_api_error(out, 400, "bad_request", msg);
    return j;
}

static void http_api_list_add(struct http_live *l, const char *zone, const struct http_req *r,
                              struct http_reply *out)
{
    struct http_parse_listing in = {.code = l->conf.policy.code};
    const char *msg;
    char keytext[NETKEY_STRLEN], codetext[16], why[300] = "";
    json_t *j = http_api_body(r, out);
    if (!j)
        return;
    if (!http_parse_listing_body(j, &in, &msg)) {
        http_api_error(out, 400, "bad_request", msg);
        goto out;
    }
    if (store_begin(l->st) != 0) {
        http_api_error(out, 503, "unavailable", "the database is busy");
        goto out;
    }
    int rc = engine_list_add(&l->eng, zone, &in.key, in.code, in.reason, in.for_secs, "api", r->now,
                             why, sizeof(why));
    if (rc == ERR_EXISTS || rc == ERR_LIMIT) {
        store_rollback(l->st);
        http_api_error(out, rc == ERR_EXISTS ? 409 : 400,
                       rc == ERR_EXISTS ? "conflict" : "bad_request", why);
        goto out;
    }
    if (!http_api_commit(l, rc, zone, out))
        goto out;
    netkey_format(&in.key, keytext, sizeof(keytext));
    snprintf(codetext, sizeof(codetext), "127.0.0.%u", in.code);
    log_info("http: api: %s listed in %s as %s", keytext, zone, codetext);
    http_api_json(out, 201,
                  json_pack("{s:s, s:s, s:o}", "key", keytext, "code", codetext, "expires",
                            http_api_time(in.for_secs ? r->now + (time_t)in.for_secs : 0)));
out:
    json_decref(j);
}

static void http_api_allow_add(struct http_live *l, const char *zone, const struct http_req *r,
                               struct http_reply *out)
{
    struct netkey key;
    const char *note, *msg;
    char keytext[NETKEY_STRLEN];
    json_t *j = http_api_body(r, out);
    if (!j)
        return;
    if (!http_parse_allow_body(j, &key, &note, &msg)) {
        http_api_error(out, 400, "bad_request", msg);
        goto out;
    }
    if (store_begin(l->st) != 0) {
        http_api_error(out, 503, "unavailable", "the database is busy");
        goto out;
    }
    int rc = engine_allow_add(&l->eng, zone, &key, note, r->now);
    if (!http_api_commit(l, rc, zone, out))
        goto out;
    netkey_format(&key, keytext, sizeof(keytext));
    log_info("http: api: %s allowlisted in %s", keytext, zone);
    http_api_json(out, 201, json_pack("{s:s, s:b}", "key", keytext, "allowlisted", 1));
out:
    json_decref(j);
}

/* DELETE .../listings/KEY and .../allow/KEY. */
static void http_api_delete(struct http_live *l, const char *zone, const struct http_api_path *ap,
                            const struct http_req *r, struct http_reply *out)
{
    struct netkey key;
    char keytext[NETKEY_STRLEN];
    if (netkey_parse(ap->key, &key) != 0) {
        http_api_error(out, 400, "bad_request", "key must be an address or a CIDR block");
        return;
    }
    if (store_begin(l->st) != 0) {
        http_api_error(out, 503, "unavailable", "the database is busy");
        return;
    }
    int rc = ap->kind == HTTP_API_LISTINGS ? engine_list_del(&l->eng, zone, &key, "api", r->now)
                                           : engine_allow_del(&l->eng, zone, &key);
    if (rc == ERR_NOTFOUND) {
        store_rollback(l->st);
        http_api_error(out, 404, "not_found",
                       ap->kind == HTTP_API_LISTINGS ? "not listed" : "not on the allowlist");
        return;
    }
    if (!http_api_commit(l, rc, zone, out))
        return;
    netkey_format(&key, keytext, sizeof(keytext));
    log_info("http: api: %s %s in %s", keytext,
             ap->kind == HTTP_API_LISTINGS ? "deleted" : "taken off the allowlist", zone);
    http_api_json(out, 200, json_pack("{s:s, s:b}", "key", keytext, "deleted", 1));
}

static void http_api_report(struct http_live *l, const char *zone, const struct http_req *r,
                            struct http_reply *out)
{
    const char *trap = http_req_arg(r, "trap"), *user = http_req_arg(r, "user");
    struct engine_decision d;
    char src[NETKEY_STRLEN], code[16];
    if ((trap != NULL) == (user != NULL) || (trap && strcmp(trap, "1") != 0) ||
        (user && (!user[0] || strlen(user) >= STORE_TEXT_MAX))) {
        http_api_error(out, 400, "bad_request", "give either trap=1 or user=NAME");
        return;
    }
    if (r->body_len == 0) {
        http_api_error(out, 400, "bad_request", "the body must be the reported message");
        return;
    }
    if (store_begin(l->st) != 0) {
        http_api_error(out, 503, "unavailable", "the database is busy");
        return;
    }
    int rc = engine_report(&l->eng, zone, r->body, r->body_len, user, r->now, &d);
    if (!http_api_commit(l, rc, zone, out))
        return;
    if (d.has_key)
        netkey_format(&d.key, src, sizeof(src));
    snprintf(code, sizeof(code), "127.0.0.%u", d.code);
    bool listed = d.verdict == ENGINE_LISTED;
    http_api_json(out, 200,
                  json_pack("{s:s, s:o, s:f, s:I, s:I, s:b, s:o, s:o, s:b, s:o}", "verdict",
                            engine_verdict_name(d.verdict), "source",
                            d.has_key ? json_string(src) : json_null(), "score", d.score, "reports",
                            (json_int_t)d.reports, "traps", (json_int_t)d.traps, "listed", listed,
                            "code", listed ? json_string(code) : json_null(), "expires",
                            listed ? http_api_time(d.expires) : json_null(), "escalated",
                            d.escalated, "reason",
                            d.reason[0] ? json_string(d.reason) : json_null()));
}

void http_api_route(struct http_service *s, const struct http_req *r, struct http_reply *out)
{
    struct http_api_path ap;
    struct http_live *l;
    char zone[256];
    http_parse_api_path(r->path, &ap);
    if (ap.kind == HTTP_API_NONE) {
        http_api_error(out, 404, "not_found", "no such API path");
        return;
    }
    if (!http_parse_api_method_ok(&ap, r->method)) {
        http_api_error(out, 405, "method_not_allowed", "this path does not take that method");
        out->allow = http_parse_api_allowed(&ap);
        return;
    }
    /* Checked before the body too; again here so that no write depends
     * on the caller having asked. */
    if (http_api_precheck(s, r, out))
        return;
    if (ap.kind == HTTP_API_LOOKUP) {
        http_api_lookup(s, r, out);
        return;
    }
    if (ap.kind == HTTP_API_ZONES) {
        http_api_zones(s, out);
        return;
    }
    if (!http_api_live(s, &ap, out, &l, zone, sizeof(zone)))
        return;
    bool get = !strcmp(r->method, "GET");
    if (ap.kind == HTTP_API_LISTINGS && get)
        http_api_listings(l, zone, r, out);
    else if (ap.has_key)
        http_api_delete(l, zone, &ap, r, out);
    else if (ap.kind == HTTP_API_LISTINGS)
        http_api_list_add(l, zone, r, out);
    else if (ap.kind == HTTP_API_ALLOW)
        http_api_allow_add(l, zone, r, out);
    else
        http_api_report(l, zone, r, out);
}
