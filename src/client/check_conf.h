/* The mail host's list settings: the [check] section and the [list ZONE]
 * sections of dnsblkit.conf(5), shared by `check`, `monitor` and (later)
 * `policyd`. Other sections are left to their readers. */
#ifndef DBK_CLIENT_CHECK_CONF_H
#define DBK_CLIENT_CHECK_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "client/checker.h"
#include "client/listspec.h"

struct check_conf_spec {
    struct listspec spec;
    enum checker_kind kind;
    bool enabled;
};

struct check_conf {
    struct checker_conf ck; /* its strings point into the buffers below */
    char resolver[1024];
    char on_change[1024];
    struct check_conf_spec specs[CHECKER_MAX_SPECS];
    unsigned nspecs;
    /* [list ZONE] settings, applied to every spec of the zone. */
    struct {
        char zone[LISTSPEC_ZONE_MAX + 1];
        int enabled; /* -1 unset */
        int kind;    /* -1 unset */
        int line;
    } zone[CHECKER_MAX_LISTS];
    unsigned nzones;
};

void check_conf_init(struct check_conf *c);

/* Add one spec (`domain` for domain-lists). On error `why` says why. */
int check_conf_add_spec(struct check_conf *c, const char *text, bool domain, char *why,
                        size_t whysz);

/* Read [check] and [list ZONE] from path. Errors: "path:line: reason". */
int check_conf_load(struct check_conf *c, const char *path, char *err, size_t errsz);

/* One setting as if read from the file: section "check" or "list ZONE".
 * Errors as check_conf_load's, with "(setting)" for the file. */
int check_conf_set(struct check_conf *c, const char *section, const char *key, const char *value,
                   char *err, size_t errsz);

/* Apply the [list ZONE] settings to the specs and check they agree;
 * ERR_INVAL with "path:line: ..." when a [list] names a zone no spec
 * has. */
int check_conf_finish(struct check_conf *c, const char *path, char *err, size_t errsz);

/* A checker with every spec added. */
int check_conf_checker(const struct check_conf *c, struct checker **out, char *err, size_t errsz);

#endif
