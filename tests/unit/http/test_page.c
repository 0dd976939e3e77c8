/* Unit tests for the lookup page: each page rendered from hand-made facts,
 * checked for its structure, its wording, its escaping, and that it links
 * nothing outside this server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_page.h"

#define NOW ((time_t)1700000000)
#define HOSTILE "<script>alert(\"x\")</script>&'"
#define HOSTILE_HTML "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"

static void conf(struct http_conf *c, bool removal)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->title, sizeof(c->title), "Test list");
    snprintf(c->public_url, sizeof(c->public_url), "http://bl.example.org");
    c->removal = removal;
    c->max_body = 1 << 20;
}

static struct http_facts *facts(const char *subject, unsigned n)
{
    struct http_facts *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->subject, sizeof(f->subject), "%s", subject);
    f->now = NOW;
    f->n = n;
    return f;
}

/* A live zone listed on evidence, removable: the common case. */
static void listed_zone(struct http_zone_facts *z, const char *zone)
{
    memset(z, 0, sizeof(*z));
    snprintf(z->dns.zone, sizeof(z->dns.zone), "%s", zone);
    z->dns.listed = true;
    z->dns.codes[0] = 2;
    z->dns.ncodes = 1;
    snprintf(z->dns.txt, sizeof(z->dns.txt), "listed: see the page");
    z->live = true;
    z->known = true;
    z->listed_itself = true;
    snprintf(z->reason, sizeof(z->reason), "spam-trap hits");
    z->listed_at = NOW - 3600;
    z->expires_at = NOW + 5 * 3600;
    z->traps = 3;
    z->reports = 2;
    z->evidence_days = 7;
    z->history_count = 2;
    z->history_secs = 86400;
    z->removable = true;
}

static void clean_zone(struct http_zone_facts *z, const char *zone, bool live)
{
    memset(z, 0, sizeof(*z));
    snprintf(z->dns.zone, sizeof(z->dns.zone), "%s", zone);
    z->live = live;
    z->evidence_days = 7;
}

/* The rendered page; freed by the caller. */
static char *render_lookup(const struct http_conf *c, const struct http_facts *f)
{
    struct http_buf b;
    http_buf_init(&b);
    http_page_lookup(&b, c, f, "0123abcd");
    assert_false(b.failed);
    return http_buf_take(&b, NULL);
}

static void assert_has(const char *html, const char *needle)
{
    if (!strstr(html, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, html);
}

static void assert_lacks(const char *html, const char *needle)
{
    if (strstr(html, needle))
        fail_msg("unexpected \"%s\" in:\n%s", needle, html);
}

static unsigned count(const char *html, const char *needle)
{
    unsigned n = 0;
    for (const char *p = html; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* What every page must be: HTML5 in English, readable on a phone, styled
 * by /style.css only, no script, no link or form leaving this server. */
static void assert_frame(const char *html)
{
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_has(html, "<html lang=\"en\">");
    assert_has(html, "<meta charset=\"utf-8\">");
    assert_has(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    assert_has(html, "<link rel=\"stylesheet\" href=\"/style.css\">");
    assert_has(html, "Test list</title>");
    assert_has(html, "<h1>");
    assert_has(html, "</html>\n");
    assert_lacks(html, "<script");
    assert_lacks(html, "<style");
    assert_lacks(html, " style=");
    assert_lacks(html, "http://");
    assert_lacks(html, "https://");
    static const char *const attrs[] = {"href=\"", "action=\"", "src=\""};
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        for (const char *p = html; (p = strstr(p, attrs[i]));) {
            p += strlen(attrs[i]);
            if (p[0] != '/' || p[1] == '/')
                fail_msg("%s%.40s: not a local path", attrs[i], p);
        }
    }
}

static void test_home(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_buf b;
    http_buf_init(&b);
    http_page_home(&b, &c);
    char *html = http_buf_take(&b, NULL);
    assert_frame(html);
    assert_has(html, "<title>Test list</title>");
    assert_has(html, "<h1>Test list</h1>");
    assert_has(html, "action=\"/lookup\" method=\"get\"");
    assert_has(html, "<label for=\"ip\">");
    assert_has(html, "id=\"ip\" name=\"ip\"");
    assert_has(html, "<button type=\"submit\">");
    assert_has(html, "blocklist");
    free(html);

    /* The operator's title is outside text too. */
    snprintf(c.title, sizeof(c.title), "A&B <list>");
    http_buf_init(&b);
    http_page_home(&b, &c);
    html = http_buf_take(&b, NULL);
    assert_has(html, "<title>A&amp;B &lt;list&gt;</title>");
    assert_lacks(html, "<list>");
    free(html);
}

static void test_lookup_listed(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("192.0.2.1", 1);
    listed_zone(&f->z[0], "bl.test");
    char *html = render_lookup(&c, f);
    assert_frame(html);
    assert_has(html, "<title>192.0.2.1 - Test list</title>");
    assert_has(html, "<section class=\"zone\" data-zone=\"bl.test\" data-listed=\"yes\">");
    assert_int_equal(count(html, "<section class=\"zone\""), 1);
    assert_has(html, "192.0.2.1 is listed in bl.test");
    assert_has(html, "<code>127.0.0.2</code>: listed on evidence: spam-trap hits or user reports");
    assert_has(html, "Reason: spam-trap hits");
    assert_has(html, "3 spam-trap hits and 2 user reports in the past 7 days");
    assert_has(html, "The listing ends in about 5 hours");
    assert_has(html, "Listed since 2023-11-14 21:13 UTC");
    assert_has(html, "listed 2 times for a total of 1 day in the past 30 days");
    assert_has(html, "<a class=\"remove\" href=\"/remove?ip=192.0.2.1&amp;zone=bl.test\">");
    /* A live zone's TXT is its reason: not shown twice. */
    assert_lacks(html, "listed: see the page");
    /* The search box again, filled in. */
    assert_has(html, "name=\"ip\" required");
    assert_has(html, "value=\"192.0.2.1\"");
    /* The token never goes into a link. */
    assert_lacks(html, "0123abcd");
    free(html);
    free(f);
}

static void test_removal_link_only_when_allowed(void **state)
{
    (void)state;
    struct http_conf c;
    struct http_facts *f = facts("2001:db8::1", 1);
    listed_zone(&f->z[0], "bl.test");

    /* Removable but the operator turned removal off. */
    conf(&c, false);
    char *html = render_lookup(&c, f);
    assert_lacks(html, "class=\"remove\"");
    assert_lacks(html, "/remove?");
    assert_has(html, "Removal is not offered on this page.");
    free(html);

    /* Removal on but not removable: the reason why not, escaped. */
    conf(&c, true);
    f->z[0].removable = false;
    snprintf(f->z[0].removal_note, sizeof(f->z[0].removal_note),
             "removed already on 2023-11-13 & not again before <Monday>");
    html = render_lookup(&c, f);
    assert_lacks(html, "class=\"remove\"");
    assert_has(html, "removed already on 2023-11-13 &amp; not again before &lt;Monday&gt;");
    free(html);

    /* Removable and on: the link, the IPv6 subject url-encoded. */
    f->z[0].removable = true;
    f->z[0].removal_note[0] = '\0';
    html = render_lookup(&c, f);
    assert_has(html, "<a class=\"remove\" href=\"/remove?ip=2001%3Adb8%3A%3A1&amp;zone=bl.test\">");
    assert_lacks(html, "Removal is not offered");
    free(html);

    /* Not listed: nothing to remove whatever the flags say. */
    clean_zone(&f->z[0], "bl.test", true);
    f->z[0].removable = true;
    html = render_lookup(&c, f);
    assert_lacks(html, "class=\"remove\"");
    free(html);
    free(f);
}

static void test_escaping(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts(HOSTILE, 2);
    listed_zone(&f->z[0], "bl\"><script>x</script>");
    f->z[0].covered = true;
    f->z[0].listed_itself = false;
    snprintf(f->z[0].covered_by, sizeof(f->z[0].covered_by), "<b>&\"");
    snprintf(f->z[0].reason, sizeof(f->z[0].reason), "%s", HOSTILE);
    f->z[0].allowlisted = true;
    snprintf(f->z[0].allow_block, sizeof(f->z[0].allow_block), "<i>'");
    listed_zone(&f->z[1], "static.test");
    f->z[1].live = false;
    snprintf(f->z[1].dns.txt, sizeof(f->z[1].dns.txt), "%s", HOSTILE);
    char *html = render_lookup(&c, f);
    assert_frame(html);
    assert_lacks(html, "<script>");
    assert_lacks(html, "<b>");
    assert_lacks(html, "<i>");
    assert_has(html, "<title>" HOSTILE_HTML " - Test list</title>");
    assert_has(html, "<h1>" HOSTILE_HTML "</h1>");
    assert_has(html,
               "data-zone=\"bl&quot;&gt;&lt;script&gt;x&lt;/script&gt;\" data-listed=\"yes\"");
    assert_has(html, HOSTILE_HTML " is listed in bl&quot;&gt;&lt;script&gt;x&lt;/script&gt;");
    assert_has(html, "Reason: " HOSTILE_HTML "</p>");
    assert_has(html, "Listed as part of &lt;b&gt;&amp;&quot;</p>");
    assert_has(html, "(&lt;i&gt;&#39;): it is never listed");
    assert_has(html, "<p class=\"txt\">" HOSTILE_HTML "</p>");
    assert_has(html, "value=\"" HOSTILE_HTML "\"");
    /* In the link every byte outside the unreserved set is encoded. */
    assert_has(html, "href=\"/remove?ip=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%26%27"
                     "&amp;zone=bl%22%3E%3Cscript%3Ex%3C%2Fscript%3E\"");
    free(html);
    free(f);
}

static void test_not_listed_and_static(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("198.51.100.7", 3);
    clean_zone(&f->z[0], "live.test", true);
    clean_zone(&f->z[1], "files.test", false);
    listed_zone(&f->z[2], "static.test");
    /* A data-file zone says what DNS says, whatever else is in the facts. */
    f->z[2].live = false;
    f->z[2].dns.codes[1] = 10;
    f->z[2].dns.ncodes = 2;
    snprintf(f->z[2].dns.txt, sizeof(f->z[2].dns.txt), "Listed by the static list");
    char *html = render_lookup(&c, f);
    assert_frame(html);
    assert_int_equal(count(html, "<section class=\"zone\""), 3);
    assert_has(html, "data-zone=\"live.test\" data-listed=\"no\"");
    assert_has(html, "data-zone=\"files.test\" data-listed=\"no\"");
    assert_has(html, "data-zone=\"static.test\" data-listed=\"yes\"");
    assert_has(html, "198.51.100.7 is not listed in live.test");
    assert_has(html, "198.51.100.7 is not listed in files.test");
    assert_has(html, "198.51.100.7 is listed in static.test");
    /* Only the live zone has a history; nobody reported: no counts. */
    assert_int_equal(count(html, "not listed before in the past 30 days"), 1);
    assert_lacks(html, "spam-trap hit");
    assert_has(html, "<li><code>127.0.0.2</code></li>");
    assert_has(html, "<li><code>127.0.0.10</code></li>");
    assert_has(html, "Listed by the static list");
    assert_lacks(html, "Reason:");
    assert_lacks(html, "The listing ends");
    assert_lacks(html, "listed on evidence");
    assert_lacks(html, "class=\"remove\"");
    free(html);

    /* Not listed, but some evidence below the threshold: the counts. */
    f->n = 1;
    f->z[0].traps = 1;
    f->z[0].reports = 1;
    f->z[0].evidence_days = 1;
    html = render_lookup(&c, f);
    assert_has(html, "1 spam-trap hit and 1 user report in the past day");
    free(html);
    free(f);
}

static void test_codes_manual_and_escalated(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("203.0.113.9", 3);

    /* The operators' listing with no end: no counts, no end date. */
    listed_zone(&f->z[0], "manual.test");
    f->z[0].manual = true;
    f->z[0].traps = f->z[0].reports = 0;
    f->z[0].expires_at = 0;
    f->z[0].removable = false;

    /* Its /24, escalated. */
    listed_zone(&f->z[1], "esc.test");
    f->z[1].dns.codes[0] = 3;
    f->z[1].listed_itself = false;
    f->z[1].covered = true;
    f->z[1].escalated = true;
    snprintf(f->z[1].covered_by, sizeof(f->z[1].covered_by), "203.0.113.0/24");

    /* Code 4 without the manual flag still means the operators. */
    listed_zone(&f->z[2], "four.test");
    f->z[2].dns.codes[0] = 4;

    char *html = render_lookup(&c, f);
    assert_frame(html);
    assert_has(html, "<code>127.0.0.2</code>: listed by the list's operators");
    assert_has(html, "It stays listed until the list's operators remove it");
    assert_int_equal(count(html, "spam-trap hits and"), 2);
    assert_has(html, "<code>127.0.0.3</code>: many addresses of its /24 were listed recently");
    assert_has(html, "Listed as part of 203.0.113.0/24");
    assert_has(html, "<code>127.0.0.4</code>: listed by the list's operators");
    assert_int_equal(count(html, "The listing ends in about 5 hours"), 2);
    assert_int_equal(count(html, "class=\"remove\""), 2);
    assert_lacks(html, "listed on evidence");
    free(html);
    free(f);
}

static void test_allowlisted(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("192.0.2.55", 1);
    clean_zone(&f->z[0], "bl.test", true);
    f->z[0].known = true;
    f->z[0].allowlisted = true;
    snprintf(f->z[0].allow_block, sizeof(f->z[0].allow_block), "192.0.2.0/24");
    f->z[0].history_count = 1;
    f->z[0].history_secs = 5 * 3600;
    char *html = render_lookup(&c, f);
    assert_has(html, "data-listed=\"no\"");
    assert_has(html,
               "192.0.2.55 is on the allowlist of bl.test (192.0.2.0/24): it is never listed");
    assert_has(html, "listed 1 time for a total of 5 hours in the past 30 days");
    free(html);

    /* Allowlisted as the address itself: no block to name. */
    f->z[0].allow_block[0] = '\0';
    html = render_lookup(&c, f);
    assert_has(html, "192.0.2.55 is on the allowlist of bl.test: it is never listed");
    free(html);
    free(f);
}

static void test_unavailable(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("192.0.2.1", 1);
    /* A listing zone whose database cannot be opened: DNS's answer only,
     * whatever stale facts the struct holds, and no way to remove. */
    listed_zone(&f->z[0], "bl.test");
    f->z[0].unavailable = true;
    char *html = render_lookup(&c, f);
    assert_frame(html);
    assert_has(html, "data-zone=\"bl.test\" data-listed=\"yes\"");
    assert_has(html, "192.0.2.1 is listed in bl.test");
    assert_has(html, "<li><code>127.0.0.2</code></li>");
    assert_has(html, "cannot be shown right now");
    assert_lacks(html, "Reason:");
    assert_lacks(html, "History:");
    assert_lacks(html, "class=\"remove\"");
    free(html);
    free(f);
}

static void test_no_zones(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("example.com", 0);
    char *html = render_lookup(&c, f);
    assert_frame(html);
    assert_has(html, "No zone here answers for names like example.com");
    assert_lacks(html, "<section");
    free(html);
    free(f);
}

static void until_is(time_t delta, const char *want)
{
    struct http_buf b;
    http_buf_init(&b);
    http_page_until(&b, NOW, NOW + delta);
    assert_non_null(b.data);
    if (strcmp(b.data, want) != 0)
        fail_msg("%lld s: \"%s\", want \"%s\"", (long long)delta, b.data, want);
    http_buf_free(&b);
}

static void test_until(void **state)
{
    (void)state;
    until_is(-5, "any moment now");
    until_is(0, "any moment now");
    until_is(1, "in less than an hour");
    until_is(30 * 60, "in less than an hour");
    until_is(3599, "in less than an hour");
    until_is(3600, "in about 1 hour");
    until_is(90 * 60 - 1, "in about 1 hour");
    until_is(90 * 60, "in about 2 hours");
    until_is(5 * 3600, "in about 5 hours");
    until_is(47 * 3600, "in about 47 hours");
    until_is(47 * 3600 + 29 * 60, "in about 47 hours");
    until_is(47 * 3600 + 31 * 60, "in about 2 days");
    until_is(48 * 3600, "in about 2 days");
    until_is(3 * 86400, "in about 3 days");
    until_is(3 * 86400 + 11 * 3600, "in about 3 days");
    until_is(3 * 86400 + 13 * 3600, "in about 4 days");
}

static void history_is(unsigned n, int64_t secs, const char *want)
{
    struct http_conf c;
    conf(&c, true);
    struct http_facts *f = facts("192.0.2.1", 1);
    clean_zone(&f->z[0], "bl.test", true);
    f->z[0].history_count = n;
    f->z[0].history_secs = secs;
    char *html = render_lookup(&c, f);
    assert_has(html, want);
    free(html);
    free(f);
}

static void test_history(void **state)
{
    (void)state;
    history_is(0, 0, "History: not listed before in the past 30 days</p>");
    history_is(1, 30 * 60,
               "History: listed 1 time for a total of less than an hour in the past "
               "30 days</p>");
    history_is(1, 3600, "listed 1 time for a total of 1 hour in the past 30 days");
    history_is(3, 5 * 3600, "listed 3 times for a total of 5 hours in the past 30 days");
    history_is(2, 23 * 3600 + 29 * 60, "listed 2 times for a total of 23 hours in the past");
    history_is(2, 23 * 3600 + 31 * 60, "listed 2 times for a total of 1 day in the past");
    history_is(2, 86400, "listed 2 times for a total of 1 day in the past 30 days");
    history_is(4, 3 * 86400, "listed 4 times for a total of 3 days in the past 30 days");
}

static void test_confirm(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_buf b;
    http_buf_init(&b);
    http_page_confirm(&b, &c, "192.0.2.1", "bl.test", "c0ffee01");
    assert_false(b.failed);
    char *html = http_buf_take(&b, NULL);
    assert_frame(html);
    assert_has(html, "<form method=\"post\" action=\"/remove\">");
    assert_has(html, "<input type=\"hidden\" name=\"ip\" value=\"192.0.2.1\">");
    assert_has(html, "<input type=\"hidden\" name=\"zone\" value=\"bl.test\">");
    assert_has(html, "<input type=\"hidden\" name=\"csrf\" value=\"c0ffee01\">");
    assert_has(html, "<button type=\"submit\" name=\"confirm\" value=\"yes\">");
    assert_has(html, "<h1>Remove 192.0.2.1 from bl.test?</h1>");
    assert_has(html, "href=\"/lookup?ip=192.0.2.1\"");
    assert_int_equal(count(html, "<form"), 1);
    free(html);

    http_buf_init(&b);
    http_page_confirm(&b, &c, HOSTILE, "z\"one", "t\"ok");
    html = http_buf_take(&b, NULL);
    assert_frame(html);
    assert_lacks(html, "<script>");
    assert_has(html, "name=\"ip\" value=\"" HOSTILE_HTML "\"");
    assert_has(html, "name=\"zone\" value=\"z&quot;one\"");
    assert_has(html, "name=\"csrf\" value=\"t&quot;ok\"");
    free(html);
}

static void test_removed(void **state)
{
    (void)state;
    struct http_conf c;
    conf(&c, true);
    struct http_buf b;
    http_buf_init(&b);
    http_page_removed(&b, &c, "192.0.2.1", "bl.test", true, NULL);
    char *html = http_buf_take(&b, NULL);
    assert_frame(html);
    assert_has(html, "<main data-result=\"removed\">");
    assert_has(html, "192.0.2.1 is no longer listed in bl.test");
    assert_lacks(html, "refused");
    free(html);

    http_buf_init(&b);
    http_page_removed(&b, &c, HOSTILE, "bl.test", false,
                      "removed already on 2023-11-13; the next removal is possible from "
                      "2023-11-20 <soon> & \"then\"");
    html = http_buf_take(&b, NULL);
    assert_frame(html);
    assert_has(html, "<main data-result=\"refused\">");
    assert_lacks(html, "data-result=\"removed\"");
    assert_has(html, HOSTILE_HTML " was not removed from bl.test");
    assert_has(html, "the next removal is possible from 2023-11-20 &lt;soon&gt; &amp; "
                     "&quot;then&quot;");
    assert_lacks(html, "<script>");
    free(html);
}

static void error_is(unsigned status, const char *line)
{
    struct http_conf c;
    conf(&c, true);
    struct http_buf b;
    http_buf_init(&b);
    http_page_error(&b, &c, status, "bad <ip> & \"more\"");
    char *html = http_buf_take(&b, NULL);
    assert_frame(html);
    char want[96];
    snprintf(want, sizeof(want), "<title>%s - Test list</title>", line);
    assert_has(html, want);
    snprintf(want, sizeof(want), "<h1>%s</h1>", line);
    assert_has(html, want);
    assert_has(html, "bad &lt;ip&gt; &amp; &quot;more&quot;");
    free(html);
}

static void test_error(void **state)
{
    (void)state;
    error_is(400, "400 Bad Request");
    error_is(403, "403 Forbidden");
    error_is(404, "404 Not Found");
    error_is(405, "405 Method Not Allowed");
    error_is(413, "413 Content Too Large");
    error_is(500, "500 Internal Server Error");
    error_is(418, "418 Error");

    /* No message: the status alone. */
    struct http_conf c;
    conf(&c, true);
    struct http_buf b;
    http_buf_init(&b);
    http_page_error(&b, &c, 404, NULL);
    char *html = http_buf_take(&b, NULL);
    assert_frame(html);
    assert_has(html, "<h1>404 Not Found</h1>");
    assert_lacks(html, "class=\"message\"");
    free(html);
}

static void test_css(void **state)
{
    (void)state;
    const char *css = http_page_css();
    assert_non_null(css);
    assert_true(strlen(css) > 200);
    assert_true(strstr(css, "section.zone") != NULL);
    assert_true(strstr(css, "@media") != NULL);
    /* Nothing fetched from elsewhere. */
    assert_null(strstr(css, "url("));
    assert_null(strstr(css, "@import"));
    assert_null(strstr(css, "http"));
    /* Braces balance. */
    int depth = 0;
    for (const char *p = css; *p; p++) {
        depth += *p == '{';
        depth -= *p == '}';
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_home),
        cmocka_unit_test(test_lookup_listed),
        cmocka_unit_test(test_removal_link_only_when_allowed),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_not_listed_and_static),
        cmocka_unit_test(test_codes_manual_and_escalated),
        cmocka_unit_test(test_allowlisted),
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_no_zones),
        cmocka_unit_test(test_until),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_confirm),
        cmocka_unit_test(test_removed),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_css),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
