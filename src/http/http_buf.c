/* Growing text buffers and their escapings. */
#include "http/http_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_buf_init(struct http_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void http_buf_free(struct http_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static bool http_buf_reserve(struct http_buf *b, size_t more)
{
    if (b->failed)
        return false;
    if (more > SIZE_MAX / 4 - b->len) {
        b->failed = true; /* no body is that big: refuse before sizes wrap */
        return false;
    }
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void http_buf_add(struct http_buf *b, const char *s, size_t n)
{
    if (!http_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void http_buf_puts(struct http_buf *b, const char *s)
{
    http_buf_add(b, s, strlen(s));
}

void http_buf_printf(struct http_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!http_buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void http_buf_html(struct http_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            http_buf_puts(b, "&amp;");
            break;
        case '<':
            http_buf_puts(b, "&lt;");
            break;
        case '>':
            http_buf_puts(b, "&gt;");
            break;
        case '"':
            http_buf_puts(b, "&quot;");
            break;
        case '\'':
            http_buf_puts(b, "&#39;");
            break;
        default:
            /* Control characters have no business in a page. */
            if ((unsigned char)*s < 0x20 && *s != '\t')
                http_buf_puts(b, "?");
            else
                http_buf_add(b, s, 1);
        }
    }
}

void http_buf_urlenc(struct http_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            http_buf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            http_buf_add(b, e, 3);
        }
    }
}

char *http_buf_take(struct http_buf *b, size_t *len)
{
    if (b->failed) {
        http_buf_free(b);
        if (len)
            *len = 0;
        return NULL;
    }
    char *d = b->data;
    if (len)
        *len = b->len;
    if (!d && !b->failed)
        d = calloc(1, 1);
    memset(b, 0, sizeof(*b));
    return d;
}
