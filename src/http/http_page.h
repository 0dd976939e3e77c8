/* The lookup page: plain server-rendered HTML with a little CSS, no
 * external assets, readable on a phone. Every value from outside (the
 * subject, reasons, zone names) is escaped. Pure functions over facts the
 * service gathered: easy to test, no I/O. */
#ifndef DBK_HTTP_HTTP_PAGE_H
#define DBK_HTTP_HTTP_PAGE_H

#include <stdbool.h>

#include "http/http_buf.h"
#include "http/http_conf.h"
#include "http/http_facts.h"

/* GET /: the search box. */
void http_page_home(struct http_buf *b, const struct http_conf *c);

/* GET /lookup?ip=: one section per zone: listed or not, the code and
 * what it means, the reason, the causes (trap hits and user reports in
 * the past week, as counts), when it ends ("in about N hours"), the
 * 30-day history ("listed N times for a total of D days"), allowlisted
 * or not; a removal link to the confirmation page (GET /remove?ip=&zone=,
 * which carries its own csrf token: none goes into a link, where logs
 * would keep it) where facts allow it and c->removal is on. `csrf` is
 * not used. */
void http_page_lookup(struct http_buf *b, const struct http_conf *c, const struct http_facts *f,
                      const char *csrf);

/* GET /remove?ip=&zone=: the confirmation step: what will happen, and a
 * form that posts confirm=yes with the csrf token. */
void http_page_confirm(struct http_buf *b, const struct http_conf *c, const char *subject,
                       const char *zone, const char *csrf);

/* After POST /remove: done (visible in DNS within a second), or refused
 * with the reason (rate limit, not listed, not removable). */
void http_page_removed(struct http_buf *b, const struct http_conf *c, const char *subject,
                       const char *zone, bool done, const char *message);

/* An error page (400, 403, 404, 405, 413, 500) with a short message. */
void http_page_error(struct http_buf *b, const struct http_conf *c, unsigned status,
                     const char *message);

/* GET /style.css. */
const char *http_page_css(void);

/* "in about 3 hours", "in about 2 days", "in less than an hour". */
void http_page_until(struct http_buf *b, time_t now, time_t when);

#endif
