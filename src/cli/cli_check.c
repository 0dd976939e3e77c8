/* The [check] configuration under the command line's options. */
#include "cli/cli_check.h"
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/addr.h"
#include "common/duration.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_check_push(const char **v, unsigned *n, const char *arg)
{
    if (*n == CLI_CHECK_MAX_ARGS)
        return false;
    v[(*n)++] = arg;
    return true;
}

int cli_check_option(const char *cmd, int c, const char *arg, struct cli_check_args *a)
{
    switch (c) {
    case CLI_CHECK_OPT_LIST:
    case CLI_CHECK_OPT_DLIST:
        if (!(c == CLI_CHECK_OPT_LIST ? cli_check_push(a->lists, &a->nlists, arg)
                                      : cli_check_push(a->dlists, &a->ndlists, arg))) {
            fprintf(stderr, "dnsblkit %s: more than %d lists\n", cmd, CLI_CHECK_MAX_ARGS);
            return -1;
        }
        return 1;
    case CLI_CHECK_OPT_CONFIG:
        a->config = arg;
        return 1;
    case CLI_CHECK_OPT_RESOLVER:
        a->resolver = arg;
        return 1;
    case CLI_CHECK_OPT_TIMEOUT:
        a->timeout = arg;
        return 1;
    default:
        return 0;
    }
}

int cli_check_conf(const char *cmd, const struct cli_check_args *a, struct check_conf *c)
{
    char err[1024];
    check_conf_init(c);
    const char *path = a->config;
    if (!path) {
        /* Without --config, a missing default file is no error: the
         * command line may name every list. */
        /* $DNSBLKIT_CONFIG was meant: a file it names must exist. */
        const char *env = getenv("DNSBLKIT_CONFIG");
        if (env && *env)
            path = env;
        else if (access(CLI_DEFAULT_CONFIG, F_OK) == 0)
            path = CLI_DEFAULT_CONFIG;
    }
    if (path && check_conf_load(c, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit %s: %s\n", cmd, err);
        return CMD_USAGE;
    }
    if (a->nlists || a->ndlists) {
        c->nspecs = 0;
        for (unsigned i = 0; i < a->nlists + a->ndlists; i++) {
            bool domain = i >= a->nlists;
            const char *text = domain ? a->dlists[i - a->nlists] : a->lists[i];
            if (check_conf_add_spec(c, text, domain, err, sizeof(err)) < 0) {
                fprintf(stderr, "dnsblkit %s: bad list '%s': %s\n", cmd, text, err);
                return CMD_USAGE;
            }
        }
    }
    if (a->resolver) {
        /* Refused here, as a usage error, rather than when the resolver
         * starts (which for policyd is a start-up failure). */
        char buf[1024];
        unsigned n = 0;
        bool bad = strlen(a->resolver) >= sizeof(buf);
        snprintf(buf, sizeof(buf), "%s", a->resolver);
        for (char *save, *tok = strtok_r(buf, " ,", &save); tok && !bad;
             tok = strtok_r(NULL, " ,", &save), n++) {
            struct addr_sock as;
            bad = addr_sock_parse(tok, 53, &as) < 0;
        }
        if (bad || n == 0) {
            fprintf(stderr, "dnsblkit %s: bad --resolver '%s' (want addr/port[,addr/port])\n", cmd,
                    a->resolver);
            return CMD_USAGE;
        }
        snprintf(c->resolver, sizeof(c->resolver), "%s", a->resolver);
        c->ck.resolver.servers = c->resolver;
    }
    if (a->timeout) {
        uint32_t ms;
        if (duration_parse_ms(a->timeout, &ms) < 0 || ms < 10 || ms > 60000) {
            fprintf(stderr, "dnsblkit %s: bad --timeout '%s' (10ms..60s, such as 800ms)\n", cmd,
                    a->timeout);
            return CMD_USAGE;
        }
        c->ck.resolver.timeout_ms = ms;
    }
    /* [list] sections of the file name zones the command line may have
     * left out: those are not an error then. */
    if (a->nlists || a->ndlists) {
        unsigned keep = 0;
        for (unsigned z = 0; z < c->nzones; z++) {
            bool used = false;
            for (unsigned i = 0; i < c->nspecs && !used; i++)
                used = !strcmp(c->specs[i].spec.zone, c->zone[z].zone);
            if (used)
                c->zone[keep++] = c->zone[z];
        }
        c->nzones = keep;
    }
    if (check_conf_finish(c, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit %s: %s\n", cmd, err);
        return CMD_USAGE;
    }
    if (c->nspecs == 0) {
        fprintf(stderr,
                "dnsblkit %s: no lists: give --list SPEC, or lists in [check] of the "
                "configuration\n",
                cmd);
        return CMD_USAGE;
    }
    return 0;
}
