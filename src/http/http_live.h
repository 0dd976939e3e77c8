/* The listing databases behind live zones, as the HTTP thread sees them:
 * one store connection per listing configuration, opened on first use and
 * kept; and the facts about one subject gathered from DNS answers and
 * those databases. Used by the MHD thread only. */
#ifndef DBK_HTTP_HTTP_LIVE_H
#define DBK_HTTP_HTTP_LIVE_H

#include <stddef.h>
#include <time.h>

#include "http/http_facts.h"
#include "listing/engine.h"
#include "listing/listing_conf.h"
#include "listing/netkey.h"
#include "listing/store.h"

struct server;
struct server_reader;

struct http_live {
    char *config; /* the live zone's configuration file */
    struct listing_conf conf;
    struct store *st;
    struct engine eng;
};

struct http_lives {
    struct http_live *v;
    unsigned n;
};

/* The listing database of a configuration file, opened (and kept) on
 * first use. A failure is not kept: the next call tries again. On error
 * err says why. */
int http_lives_get(struct http_lives *ls, const char *config, struct http_live **out, char *err,
                   size_t errsz);

void http_lives_free(struct http_lives *ls);

/* A subject as the page and the API show it: an IPv4 or IPv6 address in
 * its usual form, or a domain name in lower case without the final dot.
 * *key is set for addresses (the address, or an IPv6 address's /64) and
 * *is_addr says whether it was one. ERR_INVAL for anything else. */
int http_live_subject(const char *in, char *out, size_t outsz, struct netkey *key, bool *is_addr);

/* What every zone says about the subject (see http_facts.h): the DNS
 * answers, and for live zones the database's facts. A zone whose
 * database cannot be opened is marked unavailable. ERR_INVAL for a bad
 * subject. */
int http_live_facts(struct server *srv, struct server_reader *r, struct http_lives *ls,
                    const char *subject, time_t now, struct http_facts *f);

#endif
