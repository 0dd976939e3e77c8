/* Parsing what an HTTP request carries: query numbers, form fields,
 * Origin authorities, API paths and JSON bodies (moved out of
 * http_site.c and http_api.c, unchanged, to be fuzzed alone). */
#include "http/http_parse.h"
#include "http/http_buf.h"
#include "listing/policy.h"
#include "listing/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool http_parse_number(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out)
{
    char *end;
    if (!s)
        return true; /* the default stays */
    if (*s < '0' || *s > '9')
        return false;
    unsigned long long n = strtoull(s, &end, 10);
    if (*end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

static int http_parse_hex(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool http_parse_form(const char *body, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
            continue;
        size_t n = 0;
        for (const char *v = p + nlen + 1; *v && *v != '&'; v++) {
            int ch = (unsigned char)*v;
            if (ch == '+') {
                ch = ' ';
            } else if (ch == '%') {
                int hi = v[1] ? http_parse_hex(v[1]) : -1, lo = hi >= 0 ? http_parse_hex(v[2]) : -1;
                if (lo < 0)
                    return false;
                ch = hi * 16 + lo;
                v += 2;
            }
            if (ch == 0 || n + 1 >= outsz)
                return false;
            out[n++] = (char)ch;
        }
        out[n] = '\0';
        return true;
    }
    return false;
}

const char *http_parse_authority(const char *url, size_t *n)
{
    const char *p = strstr(url, "://");
    if (!p)
        return NULL;
    p += 3;
    *n = strcspn(p, "/?#");
    return *n ? p : NULL;
}

/* A key from the path: libmicrohttpd has decoded it already ("%2F" is
 * "/"); decode what is left, for a client that encoded twice. */
static bool http_parse_key(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        int ch = (unsigned char)*p;
        if (ch == '%' && http_parse_hex(p[1]) >= 0 && http_parse_hex(p[2]) >= 0) {
            ch = http_parse_hex(p[1]) * 16 + http_parse_hex(p[2]);
            p += 2;
        }
        if (ch == 0 || n + 1 >= outsz)
            return false;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return n > 0;
}

void http_parse_api_path(const char *path, struct http_api_path *ap)
{
    memset(ap, 0, sizeof(*ap));
    if (!strcmp(path, "/api/v1/lookup")) {
        ap->kind = HTTP_API_LOOKUP;
        return;
    }
    if (!strcmp(path, "/api/v1/zones")) {
        ap->kind = HTTP_API_ZONES;
        return;
    }
    if (strncmp(path, "/api/v1/zones/", 14) != 0)
        return;
    const char *zone = path + 14, *slash = strchr(zone, '/');
    size_t zlen = slash ? (size_t)(slash - zone) : 0;
    if (!slash || zlen == 0 || zlen >= sizeof(ap->zone))
        return;
    memcpy(ap->zone, zone, zlen);
    ap->zone[zlen] = '\0';
    const char *res = slash + 1, *rest = strchr(res, '/');
    size_t rlen = rest ? (size_t)(rest - res) : strlen(res);
    enum http_api_kind kind = HTTP_API_NONE;
    if (rlen == 8 && !strncmp(res, "listings", 8))
        kind = HTTP_API_LISTINGS;
    else if (rlen == 5 && !strncmp(res, "allow", 5))
        kind = HTTP_API_ALLOW;
    else if (rlen == 7 && !strncmp(res, "reports", 7))
        kind = HTTP_API_REPORTS;
    if (kind == HTTP_API_NONE)
        return;
    if (rest) {
        if (kind == HTTP_API_REPORTS || !http_parse_key(rest + 1, ap->key, sizeof(ap->key)))
            return;
        ap->has_key = true;
    }
    ap->kind = kind;
}

const char *http_parse_api_allowed(const struct http_api_path *ap)
{
    switch (ap->kind) {
    case HTTP_API_LOOKUP:
    case HTTP_API_ZONES:
        return "GET, HEAD";
    case HTTP_API_LISTINGS:
        return ap->has_key ? "DELETE" : "GET, HEAD, POST";
    case HTTP_API_ALLOW:
        return ap->has_key ? "DELETE" : "POST";
    case HTTP_API_REPORTS:
        return "POST";
    default:
        return NULL;
    }
}

bool http_parse_api_method_ok(const struct http_api_path *ap, const char *method)
{
    const char *allowed = http_parse_api_allowed(ap);
    size_t n = strlen(method);
    /* An empty method would be found everywhere and never stepped over. */
    if (!allowed || n == 0)
        return false;
    for (const char *p = allowed; (p = strstr(p, method)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

json_t *http_parse_json_object(const char *body, size_t len, char *msg, size_t msgsz)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        snprintf(msg, msgsz, "the body must be a JSON object%s%s", j ? "" : ": ",
                 j ? "" : jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The code of a new listing: "127.0.0.4", "4" or 4. */
static bool http_parse_code(json_t *v, uint8_t *out)
{
    long long n;
    if (!v)
        return true;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!strncmp(s, "127.0.0.", 8))
            s += 8;
        if (*s < '0' || *s > '9')
            return false;
        n = strtoll(s, &end, 10);
        if (*end)
            return false;
    } else {
        return false;
    }
    if (n < 2 || n > 254)
        return false;
    *out = (uint8_t)n;
    return true;
}

bool http_parse_listing_body(json_t *j, struct http_parse_listing *out, const char **msg)
{
    json_t *jkey = json_object_get(j, "key"), *jreason = json_object_get(j, "reason"),
           *jfor = json_object_get(j, "for");
    out->reason = NULL;
    out->for_secs = 0;
    if (!json_is_string(jkey) || netkey_parse(json_string_value(jkey), &out->key) != 0) {
        *msg = "key must be an address or a CIDR block";
        return false;
    }
    if (!http_parse_code(json_object_get(j, "code"), &out->code)) {
        *msg = "code must be 127.0.0.N, N = 2..254";
        return false;
    }
    if (jreason &&
        (!json_is_string(jreason) || strlen(json_string_value(jreason)) >= STORE_REASON_MAX)) {
        *msg = "reason must be text of at most 159 bytes";
        return false;
    }
    if (jfor && (!json_is_string(jfor) ||
                 policy_parse_duration(json_string_value(jfor), &out->for_secs) != 0 ||
                 out->for_secs == 0)) {
        *msg = "for must be a duration: 90s, 15m, 12h, 7d";
        return false;
    }
    out->reason = jreason ? json_string_value(jreason) : NULL;
    return true;
}

bool http_parse_allow_body(json_t *j, struct netkey *key, const char **note, const char **msg)
{
    json_t *jkey = json_object_get(j, "key"), *jnote = json_object_get(j, "note");
    if (!json_is_string(jkey) || netkey_parse(json_string_value(jkey), key) != 0) {
        *msg = "key must be an address or a CIDR block";
        return false;
    }
    if (jnote && (!json_is_string(jnote) || strlen(json_string_value(jnote)) >= STORE_TEXT_MAX)) {
        *msg = "note must be text of at most 255 bytes";
        return false;
    }
    *note = jnote ? json_string_value(jnote) : "";
    return true;
}

json_t *http_parse_json_text(const char *s)
{
    struct http_buf b;
    http_buf_init(&b);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned n = *p < 0x80         ? 1
                     : (*p >> 5) == 6  ? 2
                     : (*p >> 4) == 14 ? 3
                     : (*p >> 3) == 30 ? 4
                                       : 0;
        bool ok = n > 0;
        for (unsigned k = 1; ok && k < n; k++)
            ok = (p[k] & 0xC0) == 0x80;
        /* Overlong forms, surrogates and values past U+10FFFF too. */
        if (ok && n == 2)
            ok = *p >= 0xC2;
        if (ok && n == 3)
            ok = !(*p == 0xE0 && p[1] < 0xA0) && !(*p == 0xED && p[1] >= 0xA0);
        if (ok && n == 4)
            ok = *p <= 0xF4 && !(*p == 0xF0 && p[1] < 0x90) && !(*p == 0xF4 && p[1] >= 0x90);
        if (ok) {
            http_buf_add(&b, (const char *)p, n);
            p += n;
        } else {
            http_buf_puts(&b, "\xEF\xBF\xBD");
            p++;
        }
    }
    size_t len;
    char *text = http_buf_take(&b, &len);
    json_t *j = text ? json_stringn(text, len) : NULL;
    free(text);
    return j;
}
