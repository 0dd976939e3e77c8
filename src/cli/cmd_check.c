/* `dnsblkit check`: addresses and domains against DNS lists, each list's
 * answer, its health, and the weighted score. */
#include "cli/cli_check.h"
#include "cli/cmd.h"
#include "client/checker.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK_DEFAULT_CONCURRENCY 100
#define CHECK_MAX_CONCURRENCY 10000

static void check_usage(FILE *f)
{
    fprintf(f,
            "Usage: dnsblkit check [options] ADDRESS|DOMAIN ...\n"
            "       dnsblkit check [options] -f FILE\n"
            "\n"
            "Check addresses and domains against DNS lists, all lists at once: each\n"
            "list's answer and health, and the weighted score.\n"
            "\n"
            "  --list SPEC       an address list, in postscreen's syntax:\n"
            "                    zone[=127.0.0.[2..11]][*weight], or zone&0x4 (repeatable;\n"
            "                    replaces the configuration's lists)\n"
            "  --domain-list SPEC  a domain list (RHSBL), the same syntax (repeatable)\n"
            "  --config FILE     dnsblkit.conf(5): [check] and [list ZONE] (default\n"
            "                    $DNSBLKIT_CONFIG, else /etc/dnsblkit/dnsblkit.conf if it\n"
            "                    exists)\n"
            "  --resolver ADDR/PORT  the resolver to ask (default: /etc/resolv.conf's)\n"
            "  --timeout DUR     first try's timeout, such as 800ms or 2s (default 1s)\n"
            "  --threshold N     a score of N or more is listed, 1..100000 (default 1)\n"
            "  -f FILE           read subjects from FILE, one per line ('-': standard\n"
            "                    input); '#' starts a comment. Up to --concurrency lines\n"
            "                    are read ahead: give --concurrency 1 to see each result\n"
            "                    as its line comes from a pipe\n"
            "  --concurrency N   subjects checked at once (default %d)\n"
            "  --json            one JSON object per subject and line\n"
            "  --quiet           print nothing; the exit status tells\n"
            "  --help\n"
            "\n"
            "Results are printed in the order subjects were given. Before a listing\n"
            "counts, the list must pass its health probes (RFC 5782 test entries, a\n"
            "random name, the apex SOA); a list that fails them counts nothing.\n"
            "\n"
            "Exit status: 0 when no subject is listed, 1 when one is (score at or above\n"
            "the threshold), 2 on bad usage, a bad subject or a resolver that cannot\n"
            "start.\n",
            CHECK_DEFAULT_CONCURRENCY);
}

struct check_run {
    struct checker *ck;
    bool json, quiet, progress;
    int threshold;
    unsigned window;
    char **out;        /* per window slot: the finished result's text, or NULL */
    bool *done;        /* per window slot */
    uint64_t next_out; /* the next result to print, in input order */
    uint64_t started, finished, listed, bad;
    int io_error;
    struct timespec last_progress;
};

struct check_slot {
    struct check_run *run;
    uint64_t seq;
};

static const char *check_outcome_name(enum checker_outcome o)
{
    static const char *const names[] = {"not_listed", "listed", "ignored", "error", "skipped"};
    return names[o];
}

static void check_codes_text(const struct reply *rep, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < rep->na; i++) {
        uint32_t a = rep->a[i];
        int n = snprintf(out + used, outsz - used, "%s%u.%u.%u.%u", i ? ", " : "", a >> 24,
                         a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
        if (n < 0 || (size_t)n >= outsz - used)
            break;
        used += (size_t)n;
    }
}

static char *check_format_json(const struct check_run *run, const struct checker_result *res)
{
    json_t *lists = json_array();
    for (unsigned i = 0; i < res->nlists; i++) {
        const struct checker_list_result *l = &res->lists[i];
        json_t *codes = json_array();
        for (unsigned k = 0; k < l->rep.na; k++) {
            char a[16];
            uint32_t x = l->rep.a[k];
            snprintf(a, sizeof(a), "%u.%u.%u.%u", x >> 24, x >> 16 & 0xff, x >> 8 & 0xff, x & 0xff);
            json_array_append_new(codes, json_string(a));
        }
        json_array_append_new(lists, json_pack("{s:s, s:s, s:s, s:o, s:i, s:b, s:o, s:o}", "zone",
                                               l->zone, "result", check_outcome_name(l->outcome),
                                               "health", health_state_name(l->health), "codes",
                                               codes, "score", l->score, "cached", l->cached, "txt",
                                               l->txt[0] ? json_string(l->txt) : json_null(), "why",
                                               l->why[0] ? json_string(l->why) : json_null()));
    }
    json_t *o =
        json_pack("{s:s, s:b, s:i, s:i, s:o}", "subject", res->subject, "listed", res->listed,
                  "score", res->score, "threshold", run->threshold, "lists", lists);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static char *check_format_text(const struct check_run *run, const struct checker_result *res)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%s: %s, score %d (threshold %d)\n", res->subject,
            res->listed ? "LISTED" : "not listed", res->score, run->threshold);
    for (unsigned i = 0; i < res->nlists; i++) {
        const struct checker_list_result *l = &res->lists[i];
        if (l->outcome == CHECKER_SKIPPED)
            continue;
        char codes[200];
        check_codes_text(&l->rep, codes, sizeof(codes));
        fprintf(f, "  %-24s %-8s ", l->zone, health_state_name(l->health));
        switch (l->outcome) {
        case CHECKER_LISTED:
            fprintf(f, "listed %s, %+d%s", codes, l->score, l->cached ? " (cached)" : "");
            if (l->txt[0])
                fprintf(f, " \"%s\"", l->txt);
            break;
        case CHECKER_NOT_LISTED:
            fprintf(f, "not listed%s%s%s", codes[0] ? " (filtered: " : "", codes,
                    codes[0] ? ")" : "");
            break;
        case CHECKER_IGNORED:
            fprintf(f, "ignored: %s", l->why);
            break;
        case CHECKER_ERROR:
            fprintf(f, "no answer: %s", l->why);
            break;
        case CHECKER_SKIPPED:
            break;
        }
        fputc('\n', f);
    }
    fclose(f);
    return buf;
}

static void check_progress(struct check_run *run, bool final)
{
    if (!run->progress)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(now.tv_sec - run->last_progress.tv_sec) * 1000 +
              (now.tv_nsec - run->last_progress.tv_nsec) / 1000000;
    if (!final && ms < 100)
        return;
    run->last_progress = now;
    fprintf(stderr, "\r%llu checked, %llu listed%s", (unsigned long long)run->finished,
            (unsigned long long)run->listed, final ? "\n" : "");
}

/* Print what is ready, in input order. */
static void check_flush(struct check_run *run)
{
    for (;;) {
        unsigned slot = (unsigned)(run->next_out % run->window);
        if (run->next_out >= run->started || !run->done[slot])
            break;
        if (run->out[slot] && !run->quiet) {
            if (run->progress)
                fputs("\r\033[K", stderr);
            if (fputs(run->out[slot], stdout) == EOF || (run->json && fputc('\n', stdout) == EOF))
                run->io_error = 1;
        }
        free(run->out[slot]);
        run->out[slot] = NULL;
        run->done[slot] = false;
        run->next_out++;
    }
}

static void check_done(void *arg, const struct checker_result *res)
{
    struct check_slot *s = arg;
    struct check_run *run = s->run;
    unsigned slot = (unsigned)(s->seq % run->window);
    run->out[slot] = run->json ? check_format_json(run, res) : check_format_text(run, res);
    run->done[slot] = true;
    run->finished++;
    run->listed += res->listed;
    free(s);
}

/* Start one subject's check; a bad subject is reported in its place. */
static void check_start(struct check_run *run, const char *subject)
{
    uint64_t seq = run->started++;
    unsigned slot = (unsigned)(seq % run->window);
    struct check_slot *s = malloc(sizeof(*s));
    int rc = s ? 0 : ERR_NOMEM;
    if (s) {
        s->run = run;
        s->seq = seq;
        rc = checker_check(run->ck, subject, CHECKER_TXT, check_done, s);
    }
    if (rc == 0)
        return;
    free(s);
    run->bad++;
    run->finished++;
    fprintf(stderr, "dnsblkit check: '%s' is not an IPv4 or IPv6 address or a domain\n", subject);
    run->out[slot] = NULL;
    run->done[slot] = true;
}

/* Keep the window full from the subjects given, then drain. */
static int check_all(struct check_run *run, char **subjects, int nsubjects, FILE *in)
{
    char line[1024];
    int next = 0;
    bool more = true;
    while (more || run->finished < run->started) {
        while (more && run->started - run->next_out < run->window) {
            const char *subject = NULL;
            if (in) {
                if (!fgets(line, sizeof(line), in)) {
                    if (ferror(in)) {
                        fprintf(stderr, "dnsblkit check: cannot read the subjects: %s\n",
                                strerror(errno));
                        return CMD_USAGE;
                    }
                    more = false;
                    break;
                }
                char *hash = strchr(line, '#');
                if (hash)
                    *hash = '\0';
                char *p = line;
                while (*p == ' ' || *p == '\t')
                    p++;
                char *e = p + strlen(p);
                while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                    *--e = '\0';
                if (!*p)
                    continue;
                subject = p;
            } else {
                if (next == nsubjects) {
                    more = false;
                    break;
                }
                subject = subjects[next++];
            }
            check_start(run, subject);
        }
        check_flush(run);
        if (run->finished < run->started && checker_run(run->ck, 100) < 0) {
            fprintf(stderr, "dnsblkit check: the resolver loop failed: %s\n", strerror(errno));
            return CMD_USAGE;
        }
        check_flush(run);
        check_progress(run, false);
    }
    check_flush(run);
    check_progress(run, true);
    return 0;
}

int cmd_check(int argc, char **argv)
{
    enum {
        OPT_FIRST = CLI_CHECK_OPT_NEXT - 1,
        OPT_THRESHOLD,
        OPT_CONCURRENCY,
        OPT_JSON,
        OPT_QUIET,
        OPT_HELP
    };
    static const struct option opts[] = {
        CLI_CHECK_OPTIONS,
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct cli_check_args a;
    memset(&a, 0, sizeof(a));
    const char *file = NULL, *threshold = NULL;
    unsigned long concurrency = CHECK_DEFAULT_CONCURRENCY;
    bool json = false, quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case OPT_THRESHOLD:
            threshold = optarg;
            break;
        case OPT_CONCURRENCY:
            concurrency = strtoul(optarg, &end, 10);
            if (*optarg < '1' || *optarg > '9' || *end || concurrency > CHECK_MAX_CONCURRENCY) {
                fprintf(stderr, "dnsblkit check: bad --concurrency '%s' (1..%d)\n", optarg,
                        CHECK_MAX_CONCURRENCY);
                return CMD_USAGE;
            }
            break;
        case 'f':
            file = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_HELP:
            check_usage(stdout);
            return CMD_OK;
        default: {
            int taken = cli_check_option("check", c, optarg, &a);
            if (taken > 0)
                break;
            if (taken == 0)
                check_usage(stderr);
            return CMD_USAGE;
        }
        }
    }
    if ((file != NULL) == (optind < argc)) {
        fprintf(stderr, "dnsblkit check: give subjects or -f FILE (one of them)\n");
        check_usage(stderr);
        return CMD_USAGE;
    }
    struct check_conf *conf = malloc(sizeof(*conf));
    if (!conf)
        return CMD_USAGE;
    int rc = cli_check_conf("check", &a, conf);
    if (rc != 0) {
        free(conf);
        return rc;
    }
    if (threshold) {
        char *end;
        long t = strtol(threshold, &end, 10);
        /* Below 1, a subject no list answered would be "listed". */
        if (!*threshold || *end || t < 1 || t > 100000) {
            fprintf(stderr, "dnsblkit check: bad --threshold '%s' (1..100000)\n", threshold);
            free(conf);
            return CMD_USAGE;
        }
        conf->ck.threshold = (int)t;
    }
    FILE *in = NULL;
    if (file) {
        in = strcmp(file, "-") ? fopen(file, "r") : stdin;
        if (!in) {
            fprintf(stderr, "dnsblkit check: %s: %s\n", file, strerror(errno));
            free(conf);
            return CMD_USAGE;
        }
    }
    log_init("dnsblkit check", false, LOG_WARNING);
    struct check_run run;
    memset(&run, 0, sizeof(run));
    char err[512];
    run.json = json;
    run.quiet = quiet;
    run.threshold = conf->ck.threshold;
    run.window = (unsigned)concurrency;
    run.progress = file && !quiet && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &run.last_progress);
    run.out = calloc(run.window, sizeof(*run.out));
    run.done = calloc(run.window, sizeof(*run.done));
    rc = CMD_USAGE;
    if (!run.out || !run.done) {
        fprintf(stderr, "dnsblkit check: out of memory\n");
        goto out;
    }
    if (check_conf_checker(conf, &run.ck, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit check: %s\n", err);
        goto out;
    }
    rc = check_all(&run, argv + optind, argc - optind, in);
    if (rc == 0) {
        if (run.io_error || fflush(stdout) == EOF) {
            fprintf(stderr, "dnsblkit check: cannot write the results\n");
            rc = CMD_USAGE;
        } else {
            rc = run.bad ? CMD_USAGE : run.listed ? CMD_FAIL : CMD_OK;
        }
    }
out:
    checker_free(run.ck);
    if (run.out)
        for (unsigned i = 0; i < run.window; i++)
            free(run.out[i]);
    free(run.out);
    free(run.done);
    if (in && in != stdin)
        fclose(in);
    free(conf);
    return rc;
}
