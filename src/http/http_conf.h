/* The [http] section of dnsblkit.conf(5): where the lookup page, the JSON
 * API and the metrics listen, and what they allow. */
#ifndef DBK_HTTP_HTTP_CONF_H
#define DBK_HTTP_HTTP_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

struct http_conf {
    bool enabled;            /* listen given: serve HTTP */
    struct addr_sock listen; /* listen = 127.0.0.1/8053 */
    char token[256];         /* token = ...: bearer token of the write API;
                                "" refuses every write */
    size_t max_body;         /* max-body = 1048576: larger request bodies
                                are refused (413) */
    char title[128];         /* title = dnsblkit lookup: the page's name */
    bool removal;            /* removal = yes: self-service removal on the page */
    char public_url[256];    /* public-url = http://bl.example.org: how the
                                page is reached from outside (TXT default,
                                links); default http://<listen> */
};

void http_conf_init(struct http_conf *c);

/* Read [http] from the file (other sections skipped); errors are
 * "file:line: reason". */
int http_conf_load(const char *path, struct http_conf *c, char *err, size_t errsz);

#endif
