/* `dnsblkit monitor`: probe DNS lists and say whether they can be
 * trusted, as a Nagios/Icinga plugin or, with --watch, as a stream of
 * state changes. */
#include "cli/cli_check.h"
#include "cli/cmd.h"
#include "client/checker.h"
#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"

#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
               "127.x.y.z address not listed (address lists), a random name NXDOMAIN (a\n"
               "parking wildcard answers it), an SOA at the apex.\n"
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
               "  --expect-ns NAME  a name server every list's delegation must name, as\n"
               "                    resolvers see it (repeatable): WARNING when one is\n"
               "                    missing (an expired or hijacked domain); with --watch,\n"
               "                    each change is printed\n"
               "  --help\n"
               "\n"
               "Exit status (Nagios plugin conventions): 0 OK, every list healthy; 1 WARNING,\n"
               "a list failed a probe softly (timeout, SERVFAIL, test entry missing) or its\n"
               "delegation lacks an --expect-ns server; 2 CRITICAL, a list answers\n"
               "everything, outside 127/8 or with an error code 127.255.255.252..255; 3\n"
               "UNKNOWN, bad usage or no resolver (a line on standard output says so).\n"
               "--watch exits 0 when interrupted.\n");
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

#define MON_MAX_NS 16

/* --expect-ns: the delegation of each list as resolvers see it (its NS
 * set) must name every expected server. An expired domain's parking
 * servers, or a hijacked delegation, show here before anything else. */
struct monitor_ns {
    const char **expect;
    unsigned nexpect;
    struct resolver *res;
    unsigned nlists;
    struct monitor_ns_list {
        struct monitor_ns *m;
        char zone[LISTSPEC_ZONE_MAX + 1];
        bool done, ok;
        char why[400];
        char names[MON_MAX_NS][REPLY_NAME_MAX];
        int nnames;
    } list[CHECKER_MAX_LISTS];
};

/* Reasons cut short are fine; a function of ours, so the compiler does
 * not warn of the truncation it is meant for. */
__attribute__((format(printf, 3, 4))) static void monitor_fmt(char *out, size_t outsz,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
}

static void monitor_ns_done(void *arg, int status, const uint8_t *pkt, size_t len)
{
    struct monitor_ns_list *l = arg;
    struct monitor_ns *m = l->m;
    l->done = true;
    l->ok = false;
    l->nnames = 0;
    if (status != 0) {
        monitor_fmt(l->why, sizeof(l->why), "NS of %s: %s", l->zone, err_str(status));
        return;
    }
    int n = reply_ns(pkt, len, l->names, MON_MAX_NS);
    if (n < 0) {
        monitor_fmt(l->why, sizeof(l->why), "NS of %s: a malformed answer", l->zone);
        return;
    }
    if (n == 0) {
        static const char *const rcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                             "NXDOMAIN", "NOTIMP",  "REFUSED"};
        unsigned rc = pkt[3] & 0x0f;
        monitor_fmt(l->why, sizeof(l->why), "no NS set for %s (%s)", l->zone,
                    rc < 6 ? rcodes[rc] : "an unknown rcode");
        return;
    }
    l->nnames = n < MON_MAX_NS ? n : MON_MAX_NS;
    char have[300] = "";
    for (int i = 0; i < l->nnames; i++)
        if (strlen(have) + strlen(l->names[i]) + 3 < sizeof(have))
            strcat(strcat(have, i ? ", " : ""), l->names[i]);
    for (unsigned e = 0; e < m->nexpect; e++) {
        bool found = false;
        for (int i = 0; i < l->nnames && !found; i++)
            found = !strcasecmp(l->names[i], m->expect[e]);
        if (!found) {
            monitor_fmt(l->why, sizeof(l->why), "the delegation of %s names %s, not %s", l->zone,
                        have, m->expect[e]);
            return;
        }
    }
    l->ok = true;
    monitor_fmt(l->why, sizeof(l->why), "NS %s", have);
}

/* Ask every list's NS set and wait for the answers. */
static int monitor_ns_check(struct monitor_ns *m)
{
    for (unsigned i = 0; i < m->nlists; i++) {
        m->list[i].done = false;
        if (resolver_query_raw(m->res, m->list[i].zone, REPLY_TYPE_NS, monitor_ns_done,
                               &m->list[i]) < 0)
            monitor_ns_done(&m->list[i], ERR_INVAL, NULL, 0);
    }
    for (int waited = 0; resolver_pending(m->res) && waited < 120000; waited += 200)
        if (resolver_step(m->res, 200) < 0)
            return ERR_IO;
    return 0;
}

static int monitor_ns_start(struct monitor_ns *m, const struct check_conf *conf, struct checker *ck)
{
    char err[512];
    if (resolver_new(&conf->ck.resolver, &m->res, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit monitor: %s\n", err);
        return ERR_IO;
    }
    m->nlists = checker_nlists(ck);
    for (unsigned i = 0; i < m->nlists; i++) {
        struct checker_list_info in;
        checker_list_info(ck, i, &in);
        m->list[i].m = m;
        snprintf(m->list[i].zone, sizeof(m->list[i].zone), "%s", in.zone);
    }
    return 0;
}

static int monitor_once(struct checker *ck, bool json, struct monitor_ns *ns)
{
    checker_probe_all(ck);
    /* Every probe ends by c-ares's own timeouts; the cap is a safety net. */
    for (int waited = 0; checker_pending(ck) && waited < 120000; waited += 500)
        if (checker_run(ck, 500) < 0)
            return MON_UNKNOWN;
    if (ns && monitor_ns_check(ns) < 0)
        return MON_UNKNOWN;
    unsigned n = checker_nlists(ck), healthy = 0, failing = 0, sick = 0, disabled = 0;
    unsigned ns_bad = 0;
    char ns_names[512] = "";
    for (unsigned i = 0; ns && i < ns->nlists; i++)
        if (!ns->list[i].ok && ++ns_bad && strlen(ns_names) + strlen(ns->list[i].zone) + 3 < 512)
            strcat(strcat(ns_names, ns_names[0] ? ", " : ""), ns->list[i].zone);
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
    int status = sick ? MON_CRITICAL : failing || ns_bad ? MON_WARNING : MON_OK;
    if (json) {
        json_t *lists = json_array();
        for (unsigned i = 0; i < n; i++) {
            struct checker_list_info in;
            checker_list_info(ck, i, &in);
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:o, s:s, s:i}", "zone", in.zone, "kind",
                          checker_kind_name(in.kind), "state", monitor_list_state(&in), "why",
                          in.health.why[0] ? json_string(in.health.why) : json_null(), "probes",
                          in.last_round, "rtt_ms", (int)in.last_rtt_ms);
            if (ns) {
                json_t *names = json_array();
                for (int k = 0; k < ns->list[i].nnames; k++)
                    json_array_append_new(names, json_string(ns->list[i].names[k]));
                json_object_set_new(o, "ns",
                                    json_pack("{s:b, s:o, s:s}", "ok", ns->list[i].ok, "names",
                                              names, "why", ns->list[i].why));
            }
            json_array_append_new(lists, o);
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
    else if (ns_bad)
        printf("the delegation of %s is not as expected", ns_names);
    else
        printf("%u list%s healthy", healthy, healthy == 1 ? "" : "s");
    printf(" | healthy=%u failing=%u sick=%u disabled=%u rtt_max=%ums\n", healthy, failing, sick,
           disabled, rtt_max);
    for (unsigned i = 0; i < n; i++) {
        struct checker_list_info in;
        checker_list_info(ck, i, &in);
        printf("%s: %s - %s (rtt %u ms)%s%s\n", in.zone, monitor_list_state(&in),
               in.last_round[0] ? in.last_round : "not probed", in.last_rtt_ms, ns ? "; " : "",
               ns ? ns->list[i].why : "");
    }
    return status;
}

struct monitor_watch {
    struct checker *ck;
    bool json;
};

static void monitor_stamp(char when[32])
{
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
}

/* A watch's delegation check: print what changed since the last one. */
static int monitor_ns_watch(struct monitor_ns *m, bool json, bool first)
{
    bool was[CHECKER_MAX_LISTS];
    char before[CHECKER_MAX_LISTS][400];
    for (unsigned i = 0; i < m->nlists; i++) {
        was[i] = m->list[i].ok;
        memcpy(before[i], m->list[i].why, sizeof(before[i]));
    }
    if (monitor_ns_check(m) < 0)
        return ERR_IO;
    for (unsigned i = 0; i < m->nlists; i++) {
        struct monitor_ns_list *l = &m->list[i];
        if (!first && l->ok == was[i] && !strcmp(l->why, before[i]))
            continue;
        if (first && l->ok)
            continue; /* as expected from the start: no news */
        char when[32];
        monitor_stamp(when);
        if (json) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s}", "time", when, "zone", l->zone,
                                  "check", "ns", "ok", l->ok, "why", l->why);
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        } else {
            printf("%s %s delegation %s: %s\n", when, l->zone,
                   l->ok ? "as expected" : "NOT AS EXPECTED", l->why);
        }
        fflush(stdout);
    }
    return 0;
}

static void monitor_changed(void *arg, unsigned list, enum health_state from, enum health_state to,
                            const char *why)
{
    struct monitor_watch *w = arg;
    struct checker_list_info in;
    checker_list_info(w->ck, list, &in);
    char when[32];
    monitor_stamp(when);
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

static int monitor_watch(struct checker *ck, bool json, struct monitor_ns *ns, int64_t interval_ms)
{
    struct monitor_watch w = {ck, json};
    checker_on_change(ck, monitor_changed, &w);
    checker_set_periodic(ck, true);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = monitor_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct timespec last = {0, 0};
    bool first = true;
    while (!monitor_stop) {
        if (checker_run(ck, 200) < 0)
            return MON_UNKNOWN;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t since =
            (int64_t)(now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
        if (ns && (first || since >= interval_ms)) {
            last = now;
            if (monitor_ns_watch(ns, json, first) < 0)
                return MON_UNKNOWN;
            first = false;
        }
    }
    return MON_OK;
}

static int monitor_main(int argc, char **argv);

/* Nagios shows a plugin's standard output: an UNKNOWN that printed no
 * status line of its own gets one. */
static bool monitor_printed;

int cmd_monitor(int argc, char **argv)
{
    int rc = monitor_main(argc, argv);
    if (rc == MON_UNKNOWN && !monitor_printed)
        printf("DNSBL UNKNOWN - bad usage or configuration (the reason is on standard error)\n");
    return rc;
}

static int monitor_main(int argc, char **argv)
{
    enum {
        OPT_FIRST = CLI_CHECK_OPT_NEXT - 1,
        OPT_JSON,
        OPT_WATCH,
        OPT_INTERVAL,
        OPT_EXPECT_NS,
        OPT_HELP
    };
    static const struct option opts[] = {
        CLI_CHECK_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"expect-ns", required_argument, NULL, OPT_EXPECT_NS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct cli_check_args a;
    memset(&a, 0, sizeof(a));
    bool json = false, watch = false;
    const char *interval = NULL;
    const char *expect[CLI_CHECK_MAX_ARGS];
    unsigned nexpect = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
            json = true;
            break;
        case OPT_WATCH:
            watch = true;
            break;
        case OPT_INTERVAL:
            interval = optarg;
            break;
        case OPT_EXPECT_NS: {
            /* Compared as resolvers write them: lower case, no final dot. */
            size_t len = strlen(optarg);
            while (len > 1 && optarg[len - 1] == '.')
                optarg[--len] = '\0';
            for (char *p = optarg; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            if (!len || !cli_check_push(expect, &nexpect, optarg)) {
                fprintf(stderr, "dnsblkit monitor: bad or too many --expect-ns\n");
                return MON_UNKNOWN;
            }
            break;
        }
        case OPT_HELP:
            monitor_usage(stdout);
            return MON_OK;
        default: {
            int taken = cli_check_option("monitor", c, optarg, &a);
            if (taken > 0)
                break;
            if (taken == 0)
                monitor_usage(stderr);
            return MON_UNKNOWN;
        }
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
        monitor_printed = true;
        free(conf);
        return MON_UNKNOWN;
    }
    struct monitor_ns *ns = NULL;
    int rc = MON_UNKNOWN;
    if (nexpect) {
        ns = calloc(1, sizeof(*ns));
        if (!ns || monitor_ns_start(ns, conf, ck) < 0) {
            printf("DNSBL UNKNOWN - cannot start the resolver for --expect-ns\n");
            monitor_printed = true;
            goto out;
        }
        ns->expect = expect;
        ns->nexpect = nexpect;
    }
    rc = watch ? monitor_watch(ck, json, ns, conf->ck.probe_interval_ms)
               : monitor_once(ck, json, ns);
out:
    if (ns)
        resolver_free(ns->res);
    free(ns);
    checker_free(ck);
    free(conf);
    return rc;
}
