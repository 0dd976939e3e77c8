/* Reading the [http] section of dnsblkit.conf. */
#include "http/http_conf.h"
#include "common/err.h"
#include "common/inifile.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_DEFAULT_PORT 8053
#define HTTP_DEFAULT_MAX_BODY 1048576
#define HTTP_DEFAULT_TITLE "dnsblkit lookup"

void http_conf_init(struct http_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->max_body = HTTP_DEFAULT_MAX_BODY;
    snprintf(c->title, sizeof(c->title), "%s", HTTP_DEFAULT_TITLE);
    c->removal = true;
}

struct http_ini {
    struct http_conf *c;
    const char *path;
    int line; /* counted by inifile_load */
    char *err;
    size_t errsz;
};

static int http_fail(struct http_ini *st, const char *key, const char *value, const char *want)
{
    snprintf(st->err, st->errsz, "%s:%d: bad %s '%s' (%s)", st->path, st->line, key, value, want);
    return 0;
}

/* "http://192.0.2.1:8053", "http://[2001:db8::1]:8053": a URL for the
 * listen address, for when public-url is not given. */
static void http_conf_default_url(struct http_conf *c)
{
    char host[ADDR_IP6_STRLEN];
    unsigned port;
    if (c->listen.ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->listen.ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(c->public_url, sizeof(c->public_url), "http://[%s]:%u", host, port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&c->listen.ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(c->public_url, sizeof(c->public_url), "http://%s:%u", host, port);
    }
}

static int http_conf_key(struct http_ini *st, const char *key, const char *value)
{
    struct http_conf *c = st->c;
    if (!strcmp(key, "listen")) {
        if (addr_sock_parse(value, HTTP_DEFAULT_PORT, &c->listen) != 0)
            return http_fail(st, key, value, "addr[/port], IPv4 or IPv6");
        c->enabled = true;
        return 1;
    }
    if (!strcmp(key, "token")) {
        if (strlen(value) >= sizeof(c->token))
            return http_fail(st, key, "...", "at most 255 characters");
        for (const char *p = value; *p; p++)
            if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
                return http_fail(st, key, "...", "printable ASCII without spaces");
        snprintf(c->token, sizeof(c->token), "%s", value);
        return 1;
    }
    if (!strcmp(key, "max-body")) {
        char *end;
        unsigned long long n = strtoull(value, &end, 10);
        /* strtoull takes "-1" as a huge number: refuse signs outright. */
        if (!value[0] || value[0] == '-' || value[0] == '+' || *end || n == 0 || n > (1ull << 30))
            return http_fail(st, key, value, "bytes, 1..1073741824");
        c->max_body = (size_t)n;
        return 1;
    }
    if (!strcmp(key, "title")) {
        if (!value[0] || strlen(value) >= sizeof(c->title))
            return http_fail(st, key, value, "1 to 127 characters");
        snprintf(c->title, sizeof(c->title), "%s", value);
        return 1;
    }
    if (!strcmp(key, "removal")) {
        if (!strcmp(value, "yes"))
            c->removal = true;
        else if (!strcmp(value, "no"))
            c->removal = false;
        else
            return http_fail(st, key, value, "yes or no");
        return 1;
    }
    if (!strcmp(key, "public-url")) {
        size_t n = strlen(value);
        size_t scheme = !strncmp(value, "http://", 7) ? 7 : !strncmp(value, "https://", 8) ? 8 : 0;
        /* Links are made by appending "/lookup?...": no trailing slash,
         * and a host before it ("http:///" would leave "http:"). */
        while (n > scheme && value[n - 1] == '/')
            n--;
        if (!scheme || n == scheme || n >= sizeof(c->public_url) || strpbrk(value, " \t\"'<>"))
            return http_fail(st, key, value, "an http:// or https:// URL");
        snprintf(c->public_url, sizeof(c->public_url), "%.*s", (int)n, value);
        return 1;
    }
    snprintf(st->err, st->errsz, "%s:%d: unknown key '%s' in [http]", st->path, st->line, key);
    return 0;
}

static int http_conf_handler(void *user, const char *section, const char *key, const char *value)
{
    struct http_ini *st = user;
    if (st->err[0])
        return 0;
    if (strcmp(section, "http") != 0)
        return 1;
    return http_conf_key(st, key, value);
}

int http_conf_load(const char *path, struct http_conf *c, char *err, size_t errsz)
{
    struct http_ini st = {.c = c, .path = path, .err = err, .errsz = errsz};
    int rc = inifile_load(path, &st.line, http_conf_handler, &st, err, errsz);
    if (rc)
        return rc;
    if (c->enabled && !c->public_url[0])
        http_conf_default_url(c);
    return 0;
}
