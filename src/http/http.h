/* The HTTP service of `dnsblkit serve` ([http] in dnsblkit.conf(5)): the
 * lookup page, the JSON API (/api/v1/...) and /metrics, served by
 * libmicrohttpd from one thread beside the DNS workers. */
#ifndef DBK_HTTP_HTTP_H
#define DBK_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct server;
struct http_service;

/* Read [http] from the configuration file. *out is NULL (and 0 returned)
 * when the file does not enable HTTP; errors are "file:line: reason". */
int http_service_new(const char *config_path, struct http_service **out, char *err, size_t errsz);

/* Callbacks for server_run's service (see server/server.h): bind the
 * port (and load libmicrohttpd) before privileges are dropped; start
 * serving once the server answers DNS; stop before it exits. */
int http_service_prepare(void *svc, bool jailed);
int http_service_start(struct server *srv, void *svc);
void http_service_stop(void *svc);

void http_service_free(struct http_service *s);

#endif
