/* Fuzz harness for what an HTTP request carries into src/http: the input
 * is read as a query-string value (ip=, after=, offset=, limit=), as the
 * removal form's body, as an Origin header, as an API path and method,
 * as a CSRF token, as a JSON body of the API's writes, and as outside
 * text going back as JSON. Refusals are expected; a crash, a leak, or a
 * result that does not round-trip (a decoded form field encoded again, a
 * subject or key formatted and read again) is the bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "http/http_buf.h"
#include "http/http_csrf.h"
#include "http/http_live.h"
#include "http/http_parse.h"
#include "listing/listing_conf.h"
#include "listing/netkey.h"
#include "listing/store.h"

/* A query-string number: digits only, within its range. */
static void check_number(const char *s)
{
    static const unsigned long long ranges[][2] = {{0, 100000}, {1, 1000}};
    for (size_t i = 0; i < 2; i++) {
        unsigned long long v = 7;
        if (!http_parse_number(s, ranges[i][0], ranges[i][1], &v))
            continue;
        CHECK(s[0] != '\0' && strspn(s, "0123456789") == strlen(s));
        CHECK(v >= ranges[i][0] && v <= ranges[i][1]);
    }
}

/* A form field: shorter than its space, no NUL, and what it decodes to
 * comes back the same when encoded as a browser would and read again. */
static void check_form(const char *s)
{
    static const char *const names[] = {"ip", "zone", "csrf", "confirm"};
    static const size_t sizes[] = {8, HTTP_CSRF_LEN + 2, 256};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            char out[256], again[256];
            if (!http_parse_form(s, names[i], out, sizes[k]))
                continue;
            CHECK(strlen(out) < sizes[k]);
            struct http_buf b;
            http_buf_init(&b);
            http_buf_puts(&b, "x=1&");
            http_buf_puts(&b, names[i]);
            http_buf_puts(&b, "=");
            http_buf_urlenc(&b, out);
            http_buf_puts(&b, "&");
            http_buf_puts(&b, names[i]);
            http_buf_puts(&b, "=second");
            size_t len;
            char *body = http_buf_take(&b, &len);
            CHECK(body != NULL);
            CHECK(http_parse_form(body, names[i], again, sizes[k]));
            CHECK(strcmp(out, again) == 0);
            free(body);
        }
}

static void check_authority(const char *s)
{
    size_t n = 0;
    const char *a = http_parse_authority(s, &n);
    if (!a)
        return;
    CHECK(a >= s + 3 && a <= s + strlen(s) && !strncmp(a - 3, "://", 3));
    CHECK(n > 0 && n == strcspn(a, "/?#"));
}

/* Whether `method` is one of the comma-separated words of `allowed`. */
static bool listed(const char *allowed, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allowed; *p;) {
        size_t w = strcspn(p, ",");
        if (w == n && !strncmp(p, method, n))
            return true;
        p += w;
        p += strspn(p, ", ");
    }
    return false;
}

static void check_api_path(const char *s)
{
    struct http_api_path ap;
    http_parse_api_path(s, &ap);
    const char *allowed = http_parse_api_allowed(&ap);
    CHECK((allowed == NULL) == (ap.kind == HTTP_API_NONE));
    switch (ap.kind) {
    case HTTP_API_NONE:
        break;
    case HTTP_API_LOOKUP:
    case HTTP_API_ZONES:
        CHECK(!ap.has_key && ap.zone[0] == '\0');
        break;
    default: {
        size_t zl = strlen(ap.zone);
        CHECK(zl > 0 && zl < sizeof(ap.zone) && !strchr(ap.zone, '/'));
        CHECK(!strncmp(s, "/api/v1/zones/", 14) && !strncmp(s + 14, ap.zone, zl) &&
              s[14 + zl] == '/');
        CHECK(!ap.has_key || (ap.kind != HTTP_API_REPORTS && ap.key[0] != '\0' &&
                              strlen(ap.key) < sizeof(ap.key)));
    }
    }
    static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE", "PUT",  "GE",     "ET",
                                          "",    "POS",  "get",  "GET,",   " GET", "OPTIONS"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (http_parse_api_method_ok(&ap, methods[i]))
            CHECK(allowed && listed(allowed, methods[i]));
    /* The input as a method too: libmicrohttpd's methods hold no blank. */
    if (!strpbrk(s, " ,\t\r\n") && http_parse_api_method_ok(&ap, s))
        CHECK(allowed && listed(allowed, s));
}

/* ip=: a subject reads back as itself. */
static void check_subject(const char *s)
{
    char out[256], again[256];
    struct netkey key, key2;
    bool is_addr, is_addr2;
    if (http_live_subject(s, out, sizeof(out), &key, &is_addr) != 0)
        return;
    CHECK(out[0] != '\0' && strlen(out) < sizeof(out));
    CHECK(http_live_subject(out, again, sizeof(again), &key2, &is_addr2) == 0);
    CHECK(!strcmp(out, again) && is_addr == is_addr2);
    if (is_addr)
        CHECK(!memcmp(&key, &key2, sizeof(key)));
    char zone[256];
    if (!is_addr)
        CHECK(listing_zone_key(out, zone, sizeof(zone)) == 0 && !strcmp(zone, out));
}

/* after= and the keys of the API's bodies and paths. */
static void check_netkey(const char *s)
{
    struct netkey k, k2;
    char text[NETKEY_STRLEN];
    if (netkey_parse(s, &k) != 0)
        return;
    CHECK(k.family == 4 ? k.bits >= 1 && k.bits <= 32
                        : k.family == 6 && k.bits >= 1 && k.bits <= 64);
    int n = netkey_format(&k, text, sizeof(text));
    CHECK(n > 0 && (size_t)n < sizeof(text));
    CHECK(netkey_parse(text, &k2) == 0);
    CHECK(k.family == k2.family && k.bits == k2.bits && k.hi == k2.hi);
}

static void check_csrf(const char *s)
{
    static struct http_csrf c;
    static bool ready;
    if (!ready) {
        CHECK(http_csrf_init(&c) == 0);
        ready = true;
    }
    char want[HTTP_CSRF_LEN + 1];
    http_csrf_token(&c, "bl.example", "192.0.2.1", 1700000000, want);
    bool ok = http_csrf_check(&c, "bl.example", "192.0.2.1", 1700000000, s);
    CHECK(ok == !strcmp(s, want)); /* a random secret: no input guesses it */
}

static void check_json_body(const uint8_t *data, size_t size)
{
    char msg[300];
    msg[0] = '\0';
    json_t *j = http_parse_json_object((const char *)data, size, msg, sizeof(msg));
    if (!j) {
        CHECK(msg[0] != '\0' && strlen(msg) < sizeof(msg));
        return;
    }
    CHECK(json_is_object(j));
    struct http_parse_listing in = {.code = 2};
    const char *why = NULL;
    if (http_parse_listing_body(j, &in, &why)) {
        CHECK(in.code >= 2 && in.code <= 254);
        CHECK(!in.reason || strlen(in.reason) < STORE_REASON_MAX);
        CHECK((in.for_secs > 0) == (json_object_get(j, "for") != NULL));
        char text[NETKEY_STRLEN];
        CHECK(netkey_format(&in.key, text, sizeof(text)) > 0);
    } else {
        CHECK(why && why[0]);
    }
    struct netkey key;
    const char *note = NULL;
    why = NULL;
    if (http_parse_allow_body(j, &key, &note, &why))
        CHECK(note && strlen(note) < STORE_TEXT_MAX);
    else
        CHECK(why && why[0]);
    json_decref(j);
}

/* Outside text as JSON: always a string jansson takes, and text that is
 * valid UTF-8 already (jansson's own check) comes back unchanged. */
static void check_json_text(const char *s)
{
    json_t *j = http_parse_json_text(s);
    CHECK(j != NULL && json_is_string(j));
    json_t *plain = json_string(s);
    if (plain)
        CHECK(!strcmp(json_string_value(j), s));
    else
        CHECK(strstr(json_string_value(j), "\xEF\xBF\xBD") != NULL);
    json_decref(plain);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Query values, headers and paths reach the routes as C strings
     * (libmicrohttpd stops them at a NUL). */
    char *s = malloc(size + 1);
    CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    check_number(s);
    check_form(s);
    check_authority(s);
    check_api_path(s);
    check_subject(s);
    check_netkey(s);
    check_csrf(s);
    check_json_text(s);
    check_json_body(data, size);
    free(s);
    return 0;
}
