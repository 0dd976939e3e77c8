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

/* The options check and monitor share: the values for their getopt
 * tables, the entries, and the taking of one. */
enum {
    CLI_CHECK_OPT_LIST = 256,
    CLI_CHECK_OPT_DLIST,
    CLI_CHECK_OPT_CONFIG,
    CLI_CHECK_OPT_RESOLVER,
    CLI_CHECK_OPT_TIMEOUT,
    CLI_CHECK_OPT_NEXT /* a command's own options start here */
};
#define CLI_CHECK_OPTIONS                                                                          \
    {"list", required_argument, NULL, CLI_CHECK_OPT_LIST},                                         \
        {"domain-list", required_argument, NULL, CLI_CHECK_OPT_DLIST},                             \
        {"config", required_argument, NULL, CLI_CHECK_OPT_CONFIG},                                 \
        {"resolver", required_argument, NULL, CLI_CHECK_OPT_RESOLVER},                             \
    {                                                                                              \
        "timeout", required_argument, NULL, CLI_CHECK_OPT_TIMEOUT                                  \
    }

/* Take getopt's `c` when it is one of those: 1 when taken, 0 when it is
 * not one, -1 when its argument cannot be (the reason printed). */
int cli_check_option(const char *cmd, int c, const char *arg, struct cli_check_args *a);

/* Append an option's argument to one of the lists; false when full. */
bool cli_check_push(const char **v, unsigned *n, const char *arg);

#endif
