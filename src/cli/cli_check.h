/* What the list-using subcommands (check, monitor) share: the [check]
 * configuration with the command line's lists and resolver on top. */
#ifndef DBK_CLI_CLI_CHECK_H
#define DBK_CLI_CLI_CHECK_H

#include <stdbool.h>

#include "client/check_conf.h"

#define CLI_CHECK_MAX_ARGS 128

struct cli_check_args {
    const char *config; /* --config, or NULL */
    const char *resolver;
    const char *timeout;
    const char *lists[CLI_CHECK_MAX_ARGS]; /* --list */
    unsigned nlists;
    const char *dlists[CLI_CHECK_MAX_ARGS]; /* --domain-list */
    unsigned ndlists;
};

/* Read the configuration (--config; else $DNSBLKIT_CONFIG; else the
 * default file, when it exists), then the command line: --list/--domain-list
 * replace the file's lists, --resolver and --timeout its settings.
 * Prints what went wrong, prefixed with cmd; returns 0, or CMD_USAGE. */
int cli_check_conf(const char *cmd, const struct cli_check_args *a, struct check_conf *c);

/* Append an option's argument to one of the lists; false when full. */
bool cli_check_push(const char **v, unsigned *n, const char *arg);

#endif
