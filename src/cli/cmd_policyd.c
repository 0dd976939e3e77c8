/* `dnsblkit policyd`: the DNS lists in front of Postfix, through its
 * SMTP access policy delegation protocol. */
#include "cli/cli_check.h"
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "policy/policy_conf.h"
#include "policy/policyd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t policyd_stop, policyd_report;

static void policyd_signal(int sig)
{
    if (sig == SIGUSR1)
        policyd_report = 1;
    else
        policyd_stop = 1;
}

static void policyd_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit policyd [options]\n"
               "\n"
               "Answer Postfix's check_policy_service with the DNS lists' verdict on the\n"
               "client (and, with [policyd] check-helo and check-sender, on its HELO name\n"
               "and its sender's domain): REJECT at [policyd] reject-score, a PREPENDed\n"
               "X-DNSBL header at mark-score, DUNNO otherwise; DUNNO (or DEFER_IF_PERMIT)\n"
               "when no list can answer, so a broken list never rejects mail. Lists as for\n"
               "dnsblkit check, each probed for its health every [check] probe-interval.\n"
               "Signals: TERM and INT stop it; USR1 logs its counters, by list too.\n"
               "\n"
               "  --config FILE     dnsblkit.conf(5): [check], [list ZONE], [policyd]\n"
               "  --listen SPEC     addr/port, [v6addr]/port or unix:/path (repeatable;\n"
               "                    replaces [policyd] listen; default 127.0.0.1/10040)\n"
               "  --list SPEC       an address list, postscreen syntax (repeatable;\n"
               "                    replaces the configuration's lists)\n"
               "  --domain-list SPEC  a domain list (repeatable)\n"
               "  --resolver ADDR/PORT  the resolver to ask (default: /etc/resolv.conf's)\n"
               "  --timeout DUR     first try's timeout, such as 800ms (default 1s)\n"
               "  --user USER[:GROUP]  become USER once listening (needed when started as\n"
               "                    root; --user root stays root)\n"
               "  --chroot DIR      chroot to DIR before that\n"
               "  --help\n"
               "\n"
               "Exit status: 0 after a clean stop, 1 when it cannot listen or start the\n"
               "resolver, 2 on bad usage or configuration.\n");
}

int cmd_policyd(int argc, char **argv)
{
    enum { OPT_FIRST = CLI_CHECK_OPT_NEXT - 1, OPT_LISTEN, OPT_USER, OPT_CHROOT, OPT_HELP };
    static const struct option opts[] = {
        CLI_CHECK_OPTIONS,
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"user", required_argument, NULL, OPT_USER},
        {"chroot", required_argument, NULL, OPT_CHROOT},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct cli_check_args a;
    memset(&a, 0, sizeof(a));
    const char *listen[POLICY_MAX_LISTEN];
    unsigned nlisten = 0;
    const char *opt_user = NULL, *opt_chroot = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (nlisten == POLICY_MAX_LISTEN) {
                fprintf(stderr, "dnsblkit policyd: at most %d --listen\n", POLICY_MAX_LISTEN);
                return CMD_USAGE;
            }
            listen[nlisten++] = optarg;
            break;
        case OPT_USER:
            opt_user = optarg;
            break;
        case OPT_CHROOT:
            opt_chroot = optarg;
            break;
        case OPT_HELP:
            policyd_usage(stdout);
            return CMD_OK;
        default: {
            int taken = cli_check_option("policyd", c, optarg, &a);
            if (taken > 0)
                break;
            if (taken == 0)
                policyd_usage(stderr);
            return CMD_USAGE;
        }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsblkit policyd: unexpected argument '%s'\n", argv[optind]);
        return CMD_USAGE;
    }
    struct check_conf *cc = malloc(sizeof(*cc));
    struct policy_conf *pc = malloc(sizeof(*pc));
    int rc = CMD_USAGE;
    char err[512];
    if (!cc || !pc)
        goto out;
    if (cli_check_conf("policyd", &a, cc) != 0)
        goto out;
    policy_conf_init(pc);
    /* The same file cli_check_conf read [check] from. */
    const char *path = a.config ? a.config : getenv("DNSBLKIT_CONFIG");
    if ((!path || !*path) && access(CLI_DEFAULT_CONFIG, F_OK) == 0)
        path = CLI_DEFAULT_CONFIG;
    if (path && *path && policy_conf_load(pc, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit policyd: %s\n", err);
        goto out;
    }
    if (nlisten) {
        pc->nlisten = 0;
        for (unsigned i = 0; i < nlisten; i++)
            if (policy_listen_parse(listen[i], &pc->listen[pc->nlisten++]) < 0) {
                fprintf(stderr, "dnsblkit policyd: bad --listen '%s' (addr/port or unix:/path)\n",
                        listen[i]);
                goto out;
            }
    }
    if (opt_user && privdrop_parse(opt_user, &pc->user, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit policyd: --user: %s\n", err);
        goto out;
    }
    if (opt_chroot) {
        if (opt_chroot[0] != '/' || strlen(opt_chroot) >= sizeof(pc->chroot_dir)) {
            fprintf(stderr, "dnsblkit policyd: --chroot wants an absolute path, not '%s'\n",
                    opt_chroot);
            goto out;
        }
        snprintf(pc->chroot_dir, sizeof(pc->chroot_dir), "%s", opt_chroot);
    }
    if (pc->chroot_dir[0] && geteuid() != 0) {
        fprintf(stderr, "dnsblkit policyd: --chroot needs root\n");
        goto out;
    }
    if (privdrop_check(&pc->user, geteuid(), "dnsblkit policyd", err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    log_init("dnsblkit policyd", false, LOG_INFO);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = policyd_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = policyd_run(pc, cc, &policyd_stop, &policyd_report) == 0 ? CMD_OK : CMD_FAIL;
out:
    free(cc);
    free(pc);
    return rc;
}
