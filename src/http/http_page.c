/* The lookup page's HTML and CSS, rendered from facts the service gathered. */
#include "http/http_page.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Everything the page shows lives on this server: the CSP allows styles
 * from 'self' only, no scripts, no inline style, so the stylesheet is the
 * one asset. Sizes in rem and a fluid column keep it readable on a phone;
 * controls are at least 44px high so they are easy to tap. */
static const char page_css[] =
    ":root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fdfdfd;--muted:#555;"
    "--line:#d0d0d0;--accent:#0b57d0;--bad:#b3261e;--good:#1e7a34;--note:#f3f3f3}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#141414;--muted:#aaa;"
    "--line:#3a3a3a;--accent:#8ab4f8;--bad:#f2b8b5;--good:#8fd19e;--note:#202020}}\n"
    "*{box-sizing:border-box}\n"
    "html{font-size:100%;-webkit-text-size-adjust:100%}\n"
    "body{margin:0;padding:0 1rem 2rem;color:var(--fg);background:var(--bg);"
    "font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\n"
    "header,main,footer{max-width:42rem;margin:0 auto}\n"
    "header{padding:1rem 0;border-bottom:1px solid var(--line)}\n"
    "header a{color:var(--fg);font-weight:600;text-decoration:none}\n"
    "h1{font-size:1.5rem;line-height:1.25;margin:1.25rem 0 .75rem;overflow-wrap:anywhere}\n"
    "h2{font-size:1.2rem;margin:0 0 .5rem;overflow-wrap:anywhere}\n"
    "p,li{overflow-wrap:anywhere}\n"
    "a{color:var(--accent)}\n"
    "form.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:1rem 0}\n"
    "form.search label{flex:1 0 100%;font-weight:600}\n"
    "input[type=text]{flex:1 1 12rem;min-width:0;min-height:2.75rem;padding:.5rem .75rem;"
    "font-size:1rem;color:var(--fg);background:var(--bg);border:1px solid var(--muted);"
    "border-radius:.375rem}\n"
    "button,a.button,a.remove{display:inline-block;min-height:2.75rem;padding:.6rem 1.1rem;"
    "font-size:1rem;line-height:1.5;border-radius:.375rem;border:1px solid var(--accent);"
    "text-decoration:none;cursor:pointer}\n"
    "button{color:#fff;background:var(--accent)}\n"
    "@media (prefers-color-scheme:dark){button{color:#000}}\n"
    "a.button,a.remove{color:var(--accent);background:transparent}\n"
    "button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid var(--accent);"
    "outline-offset:2px}\n"
    "section.zone{margin:1rem 0;padding:1rem;border:1px solid var(--line);"
    "border-left-width:.4rem;border-radius:.375rem}\n"
    "section.zone[data-listed=yes]{border-left-color:var(--bad)}\n"
    "section.zone[data-listed=no]{border-left-color:var(--good)}\n"
    "p.status{font-weight:600;margin-top:0}\n"
    "section.zone[data-listed=yes] p.status{color:var(--bad)}\n"
    "section.zone[data-listed=no] p.status{color:var(--good)}\n"
    "ul.codes{padding-left:1.25rem}\n"
    "code,.txt{font-family:ui-monospace,\"SFMono-Regular\",Menlo,Consolas,monospace;"
    "font-size:.95em}\n"
    ".txt{background:var(--note);padding:.5rem;border-radius:.25rem;overflow-wrap:anywhere}\n"
    ".note{color:var(--muted)}\n"
    ".actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}\n"
    "main[data-result=removed] p.status{color:var(--good)}\n"
    "main[data-result=refused] p.status{color:var(--bad)}\n"
    "footer{margin-top:2rem;font-size:.875rem;color:var(--muted)}\n";

const char *http_page_css(void)
{
    return page_css;
}

/* The same frame on every page: one stylesheet from this server, the
 * viewport set for phones, the page's own name before the site's. */
static void page_begin(struct http_buf *b, const struct http_conf *c, const char *heading)
{
    http_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    if (heading) {
        http_buf_html(b, heading);
        http_buf_puts(b, " - ");
    }
    http_buf_html(b, c->title);
    http_buf_puts(b, "</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n"
                     "<header><a href=\"/\">");
    http_buf_html(b, c->title);
    http_buf_puts(b, "</a></header>\n");
}

static void page_end(struct http_buf *b)
{
    http_buf_puts(b, "</main>\n</body>\n</html>\n");
}

/* The search box; value pre-filled on the lookup page so a typo is easy
 * to fix. */
static void search_form(struct http_buf *b, const char *value)
{
    http_buf_puts(b, "<form class=\"search\" action=\"/lookup\" method=\"get\" role=\"search\">\n"
                     "<label for=\"ip\">IP address or domain name</label>\n"
                     "<input type=\"text\" id=\"ip\" name=\"ip\" required maxlength=\"253\" "
                     "autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\"");
    if (value && *value) {
        http_buf_puts(b, " value=\"");
        http_buf_html(b, value);
        http_buf_puts(b, "\"");
    }
    http_buf_puts(b, ">\n<button type=\"submit\">Look up</button>\n</form>\n");
}

void http_page_home(struct http_buf *b, const struct http_conf *c)
{
    page_begin(b, c, NULL);
    http_buf_puts(b, "<main>\n<h1>");
    http_buf_html(b, c->title);
    http_buf_puts(b, "</h1>\n<p>Find out whether an IP address or a domain name is listed on "
                     "this DNS blocklist, why, and when the listing ends.</p>\n");
    search_form(b, NULL);
    page_end(b);
}

void http_page_until(struct http_buf *b, time_t now, time_t when)
{
    if (when <= now) {
        http_buf_puts(b, "any moment now");
        return;
    }
    int64_t d = (int64_t)when - (int64_t)now;
    if (d < 3600) {
        http_buf_puts(b, "in less than an hour");
        return;
    }
    /* Whole hours up to two days, whole days after: "47 hours" says more
     * than "2 days" when the listing is that close to its end. */
    int64_t hours = (d + 1800) / 3600;
    if (hours < 48) {
        http_buf_printf(b, "in about %lld hour%s", (long long)hours, hours == 1 ? "" : "s");
        return;
    }
    int64_t days = (d + 43200) / 86400;
    http_buf_printf(b, "in about %lld days", (long long)days);
}

static void plural(struct http_buf *b, unsigned n, const char *one, const char *many)
{
    http_buf_printf(b, "%u %s", n, n == 1 ? one : many);
}

/* A total length for the history line: hours under a day, days after. */
static void duration(struct http_buf *b, int64_t secs)
{
    if (secs < 3600) {
        http_buf_puts(b, "less than an hour");
        return;
    }
    int64_t hours = (secs + 1800) / 3600;
    if (hours < 24) {
        http_buf_printf(b, "%lld hour%s", (long long)hours, hours == 1 ? "" : "s");
        return;
    }
    int64_t days = (secs + 43200) / 86400;
    http_buf_printf(b, "%lld day%s", (long long)days, days == 1 ? "" : "s");
}

/* What a code says about a listing of the live zone; the operators'
 * own listings say so whatever code they chose. */
static const char *code_meaning(const struct http_zone_facts *z, unsigned code)
{
    if (z->manual)
        return "listed by the list's operators";
    switch (code) {
    case 2:
        return "listed on evidence: spam-trap hits or user reports";
    case 3:
        return "many addresses of its /24 were listed recently";
    default:
        return "listed by the list's operators";
    }
}

static void codes_list(struct http_buf *b, const struct http_zone_facts *z, bool meanings)
{
    if (z->dns.ncodes == 0)
        return;
    http_buf_puts(b, "<ul class=\"codes\">\n");
    for (unsigned i = 0; i < z->dns.ncodes && i < SERVER_LOOKUP_MAX_CODES; i++) {
        http_buf_printf(b, "<li><code>127.0.0.%u</code>", (unsigned)z->dns.codes[i]);
        if (meanings)
            http_buf_printf(b, ": %s", code_meaning(z, z->dns.codes[i]));
        http_buf_puts(b, "</li>\n");
    }
    http_buf_puts(b, "</ul>\n");
}

static void status_line(struct http_buf *b, const char *subject, const char *zone, bool listed)
{
    http_buf_puts(b, "<p class=\"status\">");
    http_buf_html(b, subject);
    http_buf_puts(b, listed ? " is listed in " : " is not listed in ");
    http_buf_html(b, zone);
    http_buf_puts(b, "</p>\n");
}

static void causes_line(struct http_buf *b, const struct http_zone_facts *z)
{
    http_buf_puts(b, "<p class=\"causes\">");
    plural(b, z->traps, "spam-trap hit", "spam-trap hits");
    http_buf_puts(b, " and ");
    plural(b, z->reports, "user report", "user reports");
    if (z->evidence_days == 1)
        http_buf_puts(b, " in the past day</p>\n");
    else
        http_buf_printf(b, " in the past %u days</p>\n", z->evidence_days);
}

static void history_line(struct http_buf *b, const struct http_zone_facts *z)
{
    http_buf_puts(b, "<p class=\"history\">History: ");
    if (z->history_count == 0) {
        http_buf_puts(b, "not listed before in the past 30 days</p>\n");
        return;
    }
    http_buf_printf(b, "listed %u time%s for a total of ", z->history_count,
                    z->history_count == 1 ? "" : "s");
    duration(b, z->history_secs);
    http_buf_puts(b, " in the past 30 days</p>\n");
}

static void since_line(struct http_buf *b, time_t at)
{
    struct tm tm;
    char when[32];
    if (at <= 0 || !gmtime_r(&at, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm))
        return;
    http_buf_printf(b, "<p class=\"since\">Listed since %s UTC</p>\n", when);
}

/* A zone served from the listing database: the facts behind the answer,
 * and the way out where there is one. */
static void live_zone(struct http_buf *b, const struct http_conf *c, const char *subject,
                      time_t now, const struct http_zone_facts *z)
{
    const char *zone = z->dns.zone;
    if (z->allowlisted) {
        http_buf_puts(b, "<p class=\"allowlisted\">");
        http_buf_html(b, subject);
        http_buf_puts(b, " is on the allowlist of ");
        http_buf_html(b, zone);
        if (z->allow_block[0]) {
            http_buf_puts(b, " (");
            http_buf_html(b, z->allow_block);
            http_buf_puts(b, ")");
        }
        http_buf_puts(b, ": it is never listed</p>\n");
    }
    if (z->dns.listed) {
        codes_list(b, z, true);
        if (z->covered && z->covered_by[0]) {
            http_buf_puts(b, "<p class=\"covered\">Listed as part of ");
            http_buf_html(b, z->covered_by);
            http_buf_puts(b, "</p>\n");
        }
        if (z->reason[0]) {
            http_buf_puts(b, "<p class=\"reason\">Reason: ");
            http_buf_html(b, z->reason);
            http_buf_puts(b, "</p>\n");
        }
        since_line(b, z->listed_at);
        if (z->expires_at == 0) {
            http_buf_puts(b, "<p class=\"until\">It stays listed until the list's operators "
                             "remove it</p>\n");
        } else {
            http_buf_puts(b, "<p class=\"until\">The listing ends ");
            http_page_until(b, now, z->expires_at);
            http_buf_puts(b, "</p>\n");
        }
    }
    /* The counts only (never who reported or what): an operator's
     * listing with no evidence would show two zeros that explain nothing. */
    if ((z->dns.listed && !z->manual) || z->traps || z->reports)
        causes_line(b, z);
    history_line(b, z);
    if (!z->dns.listed)
        return;
    if (z->removable && c->removal) {
        http_buf_puts(b, "<p class=\"actions\"><a class=\"remove\" href=\"/remove?ip=");
        http_buf_urlenc(b, subject);
        http_buf_puts(b, "&amp;zone=");
        http_buf_urlenc(b, zone);
        http_buf_puts(b, "\">Remove ");
        http_buf_html(b, subject);
        http_buf_puts(b, " from ");
        http_buf_html(b, zone);
        http_buf_puts(b, "</a></p>\n");
    } else if (z->removal_note[0]) {
        http_buf_puts(b, "<p class=\"note\">");
        http_buf_html(b, z->removal_note);
        http_buf_puts(b, "</p>\n");
    } else if (!c->removal) {
        http_buf_puts(b, "<p class=\"note\">Removal is not offered on this page.</p>\n");
    }
}

/* A zone from data files: DNS's answer is all there is to say. */
static void static_zone(struct http_buf *b, const struct http_zone_facts *z)
{
    if (!z->dns.listed)
        return;
    codes_list(b, z, false);
    if (z->dns.txt[0]) {
        http_buf_puts(b, "<p class=\"txt\">");
        http_buf_html(b, z->dns.txt);
        http_buf_puts(b, "</p>\n");
    }
}

void http_page_lookup(struct http_buf *b, const struct http_conf *c, const struct http_facts *f,
                      const char *csrf)
{
    /* The removal button only leads to the confirmation page, which
     * carries its own token: a token in a link would end up in logs. */
    (void)csrf;
    page_begin(b, c, f->subject);
    http_buf_puts(b, "<main>\n<h1>");
    http_buf_html(b, f->subject);
    http_buf_puts(b, "</h1>\n");
    if (f->n == 0) {
        http_buf_puts(b, "<p class=\"status\">No zone here answers for names like ");
        http_buf_html(b, f->subject);
        http_buf_puts(b, "</p>\n");
    }
    for (unsigned i = 0; i < f->n && i < SERVER_LOOKUP_MAX_ZONES; i++) {
        const struct http_zone_facts *z = &f->z[i];
        http_buf_puts(b, "<section class=\"zone\" data-zone=\"");
        http_buf_html(b, z->dns.zone);
        http_buf_printf(b, "\" data-listed=\"%s\">\n<h2>", z->dns.listed ? "yes" : "no");
        http_buf_html(b, z->dns.zone);
        http_buf_puts(b, "</h2>\n");
        status_line(b, f->subject, z->dns.zone, z->dns.listed);
        if (z->live && !z->unavailable) {
            live_zone(b, c, f->subject, f->now, z);
        } else {
            static_zone(b, z);
            if (z->live)
                http_buf_puts(b, "<p class=\"note\">More about this zone's listings cannot "
                                 "be shown right now.</p>\n");
        }
        http_buf_puts(b, "</section>\n");
    }
    search_form(b, f->subject);
    page_end(b);
}

static void lookup_link(struct http_buf *b, const char *subject, const char *text)
{
    http_buf_puts(b, "<a class=\"button\" href=\"/lookup?ip=");
    http_buf_urlenc(b, subject);
    http_buf_puts(b, "\">");
    http_buf_puts(b, text);
    http_buf_puts(b, "</a>");
}

void http_page_confirm(struct http_buf *b, const struct http_conf *c, const char *subject,
                       const char *zone, const char *csrf)
{
    page_begin(b, c, "Confirm removal");
    http_buf_puts(b, "<main>\n<h1>Remove ");
    http_buf_html(b, subject);
    http_buf_puts(b, " from ");
    http_buf_html(b, zone);
    http_buf_puts(b, "?</h1>\n<p>The listing ends at once: within a second the list answers "
                     "that the address is not listed. Mail servers that asked recently may "
                     "remember the old answer for a few minutes.</p>\n<p>If spam comes from it "
                     "again it will be listed again, and it cannot be removed here again "
                     "right away.</p>\n<form method=\"post\" action=\"/remove\">\n"
                     "<input type=\"hidden\" name=\"ip\" value=\"");
    http_buf_html(b, subject);
    http_buf_puts(b, "\">\n<input type=\"hidden\" name=\"zone\" value=\"");
    http_buf_html(b, zone);
    http_buf_puts(b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
    http_buf_html(b, csrf ? csrf : "");
    http_buf_puts(b, "\">\n<p class=\"actions\"><button type=\"submit\" name=\"confirm\" "
                     "value=\"yes\">Remove the listing</button>\n");
    lookup_link(b, subject, "Cancel");
    http_buf_puts(b, "</p>\n</form>\n");
    page_end(b);
}

void http_page_removed(struct http_buf *b, const struct http_conf *c, const char *subject,
                       const char *zone, bool done, const char *message)
{
    page_begin(b, c, done ? "Removed" : "Removal refused");
    http_buf_printf(b, "<main data-result=\"%s\">\n<h1>%s</h1>\n<p class=\"status\">",
                    done ? "removed" : "refused", done ? "Removed" : "Removal refused");
    http_buf_html(b, subject);
    if (done) {
        http_buf_puts(b, " is no longer listed in ");
        http_buf_html(b, zone);
        http_buf_puts(b, "</p>\n<p>The list answers so within a second; mail servers that "
                         "asked recently may remember the old answer for a few minutes.</p>\n");
    } else {
        http_buf_puts(b, " was not removed from ");
        http_buf_html(b, zone);
        http_buf_puts(b, "</p>\n");
    }
    if (message && *message) {
        http_buf_puts(b, "<p class=\"message\">");
        http_buf_html(b, message);
        http_buf_puts(b, "</p>\n");
    }
    http_buf_puts(b, "<p class=\"actions\">");
    lookup_link(b, subject, "Look it up again");
    http_buf_puts(b, "</p>\n");
    page_end(b);
}

static const char *status_text(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

void http_page_error(struct http_buf *b, const struct http_conf *c, unsigned status,
                     const char *message)
{
    char heading[48];
    snprintf(heading, sizeof(heading), "%u %s", status, status_text(status));
    page_begin(b, c, heading);
    http_buf_printf(b, "<main data-status=\"%u\">\n<h1>%s</h1>\n", status, heading);
    if (message && *message) {
        http_buf_puts(b, "<p class=\"message\">");
        http_buf_html(b, message);
        http_buf_puts(b, "</p>\n");
    }
    http_buf_puts(b, "<p class=\"actions\"><a class=\"button\" href=\"/\">Start again</a></p>\n");
    page_end(b);
}
