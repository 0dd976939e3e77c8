/* A growing text buffer for HTTP bodies (pages, JSON, metrics), with the
 * escapings the page needs. An allocation failure is remembered and the
 * buffer stops growing: check `failed` once at the end. */
#ifndef DBK_HTTP_HTTP_BUF_H
#define DBK_HTTP_HTTP_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct http_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len, cap;
    bool failed;
};

void http_buf_init(struct http_buf *b);
void http_buf_free(struct http_buf *b);

void http_buf_add(struct http_buf *b, const char *s, size_t n);
void http_buf_puts(struct http_buf *b, const char *s);
void http_buf_printf(struct http_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Text as HTML element content or a quoted attribute value: & < > " '
 * escaped; bytes outside printable ASCII kept (UTF-8 passes through). */
void http_buf_html(struct http_buf *b, const char *s);

/* Text as a URL query value: everything but unreserved characters
 * percent-encoded. */
void http_buf_urlenc(struct http_buf *b, const char *s);

/* Take the data (caller frees; "" for an empty buffer); the buffer is
 * empty afterwards. NULL when the buffer failed. */
char *http_buf_take(struct http_buf *b, size_t *len);

#endif
