/* `dnsblkit monitor`: probe DNS lists and say whether they can be
 * trusted, as a Nagios/Icinga plugin or, with --watch, as a stream of
 * state changes. */
#include "cli/cli_check.h"
#include "cli/cmd.h"
#include "client/checker.h"
#include "common/duration.h"
#include "common/log.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Nagios plugin exit codes. */
enum { MON_OK = 0, MON_WARNING = 1, MON_CRITICAL = 2, MON_UNKNOWN = 3 };

static volatile sig_atomic_t monitor_stop;

static void monitor_signal(int sig)
{
    (void)sig;
    monitor_stop = 1;
}

static void monitor_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit monitor [options] [--list ZONE ...]\n"
               "\n"
               "Probe DNS lists the way a mail host must trust them: 127.0.0.2 (TEST for\n"
               "domain lists) listed inside 127/8, 127.0.0.1 (INVALID) not listed, a random\n"
               "name NXDOMAIN (a parking wildcard answers it), an SOA at the apex.\n"
               "\n"
               "  --list SPEC       an address list to probe (repeatable; replaces the\n"
               "                    configuration's lists); postscreen syntax accepted\n"
               "  --domain-list SPEC  a domain list (RHSBL) (repeatable)\n"
               "  --config FILE     dnsblkit.conf(5): [check] and [list ZONE]\n"
               "  --resolver ADDR/PORT  the resolver to ask (default: /etc/resolv.conf's)\n"
               "  --timeout DUR     first try's timeout, such as 800ms or 2s (default 1s)\n"
               "  --json            JSON instead of text\n"
               "  --watch           keep probing every --interval and print each change of\n"
               "                    a list's state, until interrupted\n"
               "  --interval DUR    --watch's probe interval (default [check] probe-interval,\n"
               "                    30s)\n"
               "  --help\n"
               "\n"
               "Exit status (Nagios plugin conventions): 0 OK, every list healthy; 1 WARNING,\n"
               "a list failed a probe softly (timeout, SERVFAIL, test entry missing); 2\n"
               "CRITICAL, a list answers everything or outside 127/8; 3 UNKNOWN, bad usage\n"
               "or no resolver. --watch exits 0 when interrupted.\n");
}

static const char *monitor_status_name(int s)
{
    static const char *const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
    return names[s];
}

/* A list's verdict after one round: healthy, sick, or failing (a soft
 * failure not yet enough to call it sick). */
static const char *monitor_list_state(const struct checker_list_info *in)
{
    if (in->health.state == HEALTH_UNKNOWN && in->health.rounds)
        return "failing";
    return health_state_name(in->health.state);
}

static int monitor_once(struct checker *ck, bool json)
{
    checker_probe_all(ck);
    /* Every probe ends by c-ares's own timeouts; the cap is a safety net. */
    for (int waited = 0; checker_pending(ck) && waited < 120000; waited += 500)
        if (checker_run(ck, 500) < 0)
            return MON_UNKNOWN;
    unsigned n = checker_nlists(ck), healthy = 0, failing = 0, sick = 0, disabled = 0;
    uint32_t rtt_max = 0;
    char sick_names[512] = "", failing_names[512] = "";
    for (unsigned i = 0; i < n; i++) {
        struct checker_list_info in;
        checker_list_info(ck, i, &in);
        const char *st = monitor_list_state(&in);
        char *names = NULL;
        if (!strcmp(st, "healthy"))
            healthy++;
        else if (!strcmp(st, "sick"))
            sick++, names = sick_names;
        else if (!strcmp(st, "disabled"))
            disabled++;
        else
            failing++, names = failing_names;
        if (names && strlen(names) + strlen(in.zone) + 3 < 512)
            strcat(strcat(names, names[0] ? ", " : ""), in.zone);
        if (in.last_rtt_ms > rtt_max)
            rtt_max = in.last_rtt_ms;
    }
    int status = sick ? MON_CRITICAL : failing ? MON_WARNING : MON_OK;
    if (json) {
        json_t *lists = json_array();
        for (unsigned i = 0; i < n; i++) {
            struct checker_list_info in;
            checker_list_info(ck, i, &in);
            json_array_append_new(
                lists, json_pack("{s:s, s:s, s:s, s:o, s:s, s:i}", "zone", in.zone, "kind",
                                 checker_kind_name(in.kind), "state", monitor_list_state(&in),
                                 "why", in.health.why[0] ? json_string(in.health.why) : json_null(),
                                 "probes", in.last_round, "rtt_ms", (int)in.last_rtt_ms));
        }
        json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:o}", "status",
                              monitor_status_name(status), "healthy", healthy, "failing", failing,
                              "sick", sick, "disabled", disabled, "lists", lists);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
        return status;
    }
    printf("DNSBL %s - ", monitor_status_name(status));
    if (sick)
        printf("%u of %u lists sick: %s", sick, n, sick_names);
    else if (failing)
        printf("%u of %u lists failing: %s", failing, n, failing_names);
    else
        printf("%u lists healthy", healthy);
    printf(" | healthy=%u failing=%u sick=%u disabled=%u rtt_max=%ums\n", healthy, failing, sick,
           disabled, rtt_max);
    for (unsigned i = 0; i < n; i++) {
        struct checker_list_info in;
        checker_list_info(ck, i, &in);
        printf("%s: %s - %s (rtt %u ms)\n", in.zone, monitor_list_state(&in),
               in.last_round[0] ? in.last_round : "not probed", in.last_rtt_ms);
    }
    return status;
}

struct monitor_watch {
    struct checker *ck;
    bool json;
};

static void monitor_changed(void *arg, unsigned list, enum health_state from, enum health_state to,
                            const char *why)
{
    struct monitor_watch *w = arg;
    struct checker_list_info in;
    checker_list_info(w->ck, list, &in);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    if (w->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "time", when, "zone", in.zone,
                              "from", health_state_name(from), "to", health_state_name(to), "why",
                              why, "probes", in.last_round);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s %s %s -> %s: %s\n", when, in.zone, health_state_name(from),
               health_state_name(to), why);
    }
    fflush(stdout);
}

static int monitor_watch(struct checker *ck, bool json)
{
    struct monitor_watch w = {ck, json};
    checker_on_change(ck, monitor_changed, &w);
    checker_set_periodic(ck, true);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = monitor_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!monitor_stop)
        if (checker_run(ck, 200) < 0)
            return MON_UNKNOWN;
    return MON_OK;
}

int cmd_monitor(int argc, char **argv)
{
    enum {
        OPT_LIST = 256,
        OPT_DLIST,
        OPT_CONFIG,
        OPT_RESOLVER,
        OPT_TIMEOUT,
        OPT_JSON,
        OPT_WATCH,
        OPT_INTERVAL,
        OPT_HELP
    };
    static const struct option opts[] = {
        {"list", required_argument, NULL, OPT_LIST},
        {"domain-list", required_argument, NULL, OPT_DLIST},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"json", no_argument, NULL, OPT_JSON},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct cli_check_args a;
    memset(&a, 0, sizeof(a));
    bool json = false, watch = false;
    const char *interval = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LIST:
        case OPT_DLIST:
            if (!(c == OPT_LIST ? cli_check_push(a.lists, &a.nlists, optarg)
                                : cli_check_push(a.dlists, &a.ndlists, optarg))) {
                fprintf(stderr, "dnsblkit monitor: too many lists\n");
                return MON_UNKNOWN;
            }
            break;
        case OPT_CONFIG:
            a.config = optarg;
            break;
        case OPT_RESOLVER:
            a.resolver = optarg;
            break;
        case OPT_TIMEOUT:
            a.timeout = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_WATCH:
            watch = true;
            break;
        case OPT_INTERVAL:
            interval = optarg;
            break;
        case OPT_HELP:
            monitor_usage(stdout);
            return MON_OK;
        default:
            monitor_usage(stderr);
            return MON_UNKNOWN;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsblkit monitor: unexpected argument '%s' (lists go with --list)\n",
                argv[optind]);
        return MON_UNKNOWN;
    }
    struct check_conf *conf = malloc(sizeof(*conf));
    if (!conf)
        return MON_UNKNOWN;
    if (cli_check_conf("monitor", &a, conf) != 0) {
        /* Nagios shows standard output: say something there too. */
        printf("DNSBL UNKNOWN - bad configuration or usage (the reason is on standard error)\n");
        free(conf);
        return MON_UNKNOWN;
    }
    if (interval) {
        uint32_t ms;
        if (duration_parse_ms(interval, &ms) < 0 || ms < 100) {
            fprintf(stderr, "dnsblkit monitor: bad --interval '%s' (at least 100ms)\n", interval);
            free(conf);
            return MON_UNKNOWN;
        }
        conf->ck.probe_interval_ms = ms;
    }
    /* Each watch round is news; a one-shot round is the verdict. */
    log_init("dnsblkit monitor", false, watch ? LOG_INFO : LOG_ERR);
    struct checker *ck;
    char err[512];
    if (check_conf_checker(conf, &ck, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit monitor: %s\n", err);
        printf("DNSBL UNKNOWN - %s\n", err);
        free(conf);
        return MON_UNKNOWN;
    }
    int rc = watch ? monitor_watch(ck, json) : monitor_once(ck, json);
    checker_free(ck);
    free(conf);
    return rc;
}
