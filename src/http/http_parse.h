/* What an HTTP request carries from outside, as the routes read it:
 * numbers of the query string, fields of a form body, the authority of
 * an Origin, the JSON API's paths and bodies, and outside text going back
 * as a JSON string. Pure functions, no daemon and no I/O, so that they
 * are tested (and fuzzed) alone. Internal to src/http. */
#ifndef DBK_HTTP_HTTP_PARSE_H
#define DBK_HTTP_HTTP_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listing/netkey.h"

/* A number of the query string (offset=, limit=): decimal digits only,
 * min..max. NULL (the argument not given) is accepted and leaves *out,
 * the default, as it is. */
bool http_parse_number(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out);

/* The field `name` of an application/x-www-form-urlencoded body ("+" and
 * %XX decoded; the first field of that name counts). False when absent,
 * malformed (a bad %XX, a NUL) or not shorter than outsz. */
bool http_parse_form(const char *body, const char *name, char *out, size_t outsz);

/* "https://host:port/..." -> "host:port" (its length in *n); NULL when
 * the text has no "://" or nothing after it. */
const char *http_parse_authority(const char *url, size_t *n);

/* The paths under /api/v1. */
enum http_api_kind {
    HTTP_API_NONE, /* no such path */
    HTTP_API_LOOKUP,
    HTTP_API_ZONES,
    HTTP_API_LISTINGS,
    HTTP_API_ALLOW,
    HTTP_API_REPORTS,
};

struct http_api_path {
    enum http_api_kind kind;
    char zone[256]; /* /api/v1/zones/ZONE/... as given */
    char key[128];  /* .../listings/KEY or .../allow/KEY, %XX decoded once more */
    bool has_key;
};

/* /api/v1/lookup, /api/v1/zones, /api/v1/zones/ZONE/{listings,allow}[/KEY],
 * /api/v1/zones/ZONE/reports; kind HTTP_API_NONE for anything else. The
 * path is percent-decoded already (libmicrohttpd). */
void http_parse_api_path(const char *path, struct http_api_path *ap);

/* The methods a path takes ("GET, HEAD", "DELETE", ...), for a 405's
 * Allow header; NULL for HTTP_API_NONE. */
const char *http_parse_api_allowed(const struct http_api_path *ap);

/* Whether the path takes the method (one of the Allow header's words). */
bool http_parse_api_method_ok(const struct http_api_path *ap, const char *method);

/* A request body that must be a JSON object; NULL with a 400's message
 * in msg otherwise. The caller owns (json_decref) the object. */
json_t *http_parse_json_object(const char *body, size_t len, char *msg, size_t msgsz);

/* POST .../listings: {"key": KEY, "code": "127.0.0.N" | "N" | N,
 * "reason": TEXT, "for": DURATION}, key required. */
struct http_parse_listing {
    struct netkey key;
    uint8_t code;       /* left as the caller set it when not given */
    const char *reason; /* the object's string, or NULL */
    uint32_t for_secs;  /* 0 = until the policy's expiry */
};

/* Read the listing's fields from the body object (its strings stay the
 * object's). False with *msg, a 400's message, for a bad field. */
bool http_parse_listing_body(json_t *j, struct http_parse_listing *out, const char **msg);

/* POST .../allow: {"key": KEY, "note": TEXT}; *note is "" when absent. */
bool http_parse_allow_body(json_t *j, struct netkey *key, const char **note, const char **msg);

/* Text from outside (TXT templates, reasons, zone names) as a JSON
 * string: every byte that does not start a well-formed UTF-8 sequence
 * becomes U+FFFD, so jansson (which refuses invalid UTF-8) never drops
 * it. NULL only when memory runs out. */
json_t *http_parse_json_text(const char *s);

#endif
