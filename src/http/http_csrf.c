/* Stateless CSRF tokens of the removal form: HMAC-SHA256 over
 * "zone|subject|hour". */
#include "http/http_csrf.h"
#include "common/err.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int http_csrf_init(struct http_csrf *c)
{
    size_t got = 0;
    while (got < sizeof(c->secret)) {
        ssize_t n = getrandom(c->secret + got, sizeof(c->secret) - got, 0);
        if (n < 0)
            return ERR_IO;
        got += (size_t)n;
    }
    return 0;
}

static void http_csrf_hour(const struct http_csrf *c, const char *zone, const char *subject,
                           long long hour, char out[HTTP_CSRF_LEN + 1])
{
    /* '|' separates: neither a zone name nor an address contains one. */
    gchar *msg = g_strdup_printf("%s|%s|%lld", zone, subject, hour);
    gchar *hex =
        g_compute_hmac_for_string(G_CHECKSUM_SHA256, c->secret, sizeof(c->secret), msg, -1);
    snprintf(out, HTTP_CSRF_LEN + 1, "%s", hex);
    g_free(hex);
    g_free(msg);
}

void http_csrf_token(const struct http_csrf *c, const char *zone, const char *subject, time_t now,
                     char out[HTTP_CSRF_LEN + 1])
{
    http_csrf_hour(c, zone, subject, (long long)(now / 3600), out);
}

/* Every byte is looked at whatever differs, so the time taken tells an
 * attacker nothing about how much of a guess was right. */
static bool http_csrf_equal(const char *a, const char *b, size_t n)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool http_csrf_check(const struct http_csrf *c, const char *zone, const char *subject, time_t now,
                     const char *token)
{
    if (!token || strlen(token) != HTTP_CSRF_LEN)
        return false;
    char want[HTTP_CSRF_LEN + 1];
    bool ok = false;
    for (long long h = now / 3600; h >= now / 3600 - 1; h--) {
        http_csrf_hour(c, zone, subject, h, want);
        ok |= http_csrf_equal(want, token, HTTP_CSRF_LEN);
    }
    return ok;
}
