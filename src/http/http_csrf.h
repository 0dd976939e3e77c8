/* Tokens that tie the lookup page's removal form to the subject, the zone
 * and the hour it was shown in: stateless (HMAC-SHA256 under a random
 * per-process secret), valid for the current and the previous hour, so a
 * form posted from another site cannot remove a listing. */
#ifndef DBK_HTTP_HTTP_CSRF_H
#define DBK_HTTP_HTTP_CSRF_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define HTTP_CSRF_LEN 64 /* hex digits of the token */

struct http_csrf {
    uint8_t secret[32];
};

/* A fresh random secret (getrandom). ERR_IO when the kernel gives none. */
int http_csrf_init(struct http_csrf *c);

/* The token for (zone, subject) in the hour of `now`. */
void http_csrf_token(const struct http_csrf *c, const char *zone, const char *subject, time_t now,
                     char out[HTTP_CSRF_LEN + 1]);

/* Whether token was made for (zone, subject) in the hour of `now` or the
 * one before; compared in constant time. */
bool http_csrf_check(const struct http_csrf *c, const char *zone, const char *subject, time_t now,
                     const char *token);

#endif
