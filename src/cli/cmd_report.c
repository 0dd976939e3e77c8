/* `dnsblkit report`: feed reported messages (spam-trap deliveries, user
 * reports, ARF) to the listing engine and say what it decided. Decisions
 * are printed only after their transaction commits: a printed line is an
 * acknowledged write. */
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/err.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX_BYTES (32u << 20) /* larger "messages" are refused */

static void report_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit report --zone ZONE (--trap | --user REPORTER) [options] [FILE...]\n"
               "\n"
               "Count reported messages as evidence against their source addresses. Each FILE\n"
               "(standard input when none) is one message: a raw RFC 5322 message or an ARF\n"
               "report (RFC 5965), told apart by its content type; with --mbox each is an mbox\n"
               "of messages. The source is ARF's Source-IP when plausible, else the first hop\n"
               "from outside [listing] trusted-relays in the Received: headers.\n"
               "\n"
               "  --config FILE   dnsblkit.conf(5) with a [listing] section\n"
               "                  (default $DNSBLKIT_CONFIG, else " CLI_DEFAULT_CONFIG ")\n"
               "  --zone ZONE     the list the evidence is for\n"
               "  --trap          the messages hit a spam trap\n"
               "  --user NAME     the messages were reported by NAME\n"
               "  --mbox          each FILE is an mbox (\"From \" lines separate messages)\n"
               "  --batch N       commit every N messages (default 100); a decision is printed\n"
               "                  once its batch is committed\n"
               "  --json          one JSON object per message instead of a line of text\n"
               "  --help\n"
               "\n"
               "Exit status: 0 when every message was taken (listed, counted, or ignored as a\n"
               "bounce, auto-reply or duplicate), 1 when some were refused or on errors,\n"
               "2 on bad usage.\n");
}

struct report_out {
    char *label;
    struct engine_decision d;
};

struct report_run {
    struct cli_listing c;
    const char *reporter; /* NULL for trap hits */
    bool json;
    unsigned batch;
    struct report_out *pending;
    size_t npending;
    unsigned refused;
    bool failed;
};

static void report_print(const struct report_run *r, const struct report_out *o)
{
    const struct engine_decision *d = &o->d;
    char src[NETKEY_STRLEN] = "", until[40], words[100];
    if (d->has_key)
        netkey_format(&d->key, src, sizeof(src));
    cli_time(d->expires, until, sizeof(until), "deleted");
    if (r->json) {
        json_t *j = json_pack("{s:s, s:s, s:b, s:f, s:I, s:I}", "file", o->label, "verdict",
                              engine_verdict_name(d->verdict), "listed",
                              d->verdict == ENGINE_LISTED, "score", d->score, "reports",
                              (json_int_t)d->reports, "traps", (json_int_t)d->traps);
        if (!j)
            return;
        if (d->has_key)
            json_object_set_new(j, "source", json_string(src));
        json_object_set_new(j, "escalated", json_boolean(d->escalated));
        if (d->verdict == ENGINE_LISTED) {
            char code[16];
            snprintf(code, sizeof(code), "127.0.0.%u", d->code);
            json_object_set_new(j, "code", json_string(code));
            json_object_set_new(j, "expires", d->expires ? json_integer(d->expires) : json_null());
        }
        if (d->reason[0])
            json_object_set_new(j, "reason", json_string(d->reason));
        char *text = json_dumps(j, JSON_COMPACT);
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(j);
        return;
    }
    switch (d->verdict) {
    case ENGINE_LISTED:
        engine_evidence_words(d->reports, d->traps, words, sizeof(words));
        printf("%s: %s: listed as 127.0.0.%u until %s (score %.1f: %s)%s\n", o->label, src, d->code,
               until, d->score, words, d->escalated ? "; its /24 is listed as a whole" : "");
        break;
    case ENGINE_COUNTED:
        engine_evidence_words(d->reports, d->traps, words, sizeof(words));
        printf("%s: %s: counted, not listed (score %.1f: %s)%s\n", o->label, src, d->score, words,
               d->escalated ? "; but its /24 is listed as a whole" : "");
        break;
    case ENGINE_DUPLICATE:
        printf("%s: %s: duplicate: %s\n", o->label, src, d->reason);
        break;
    case ENGINE_IGNORED:
    case ENGINE_REFUSED:
        printf("%s: %s: %s\n", o->label, engine_verdict_name(d->verdict), d->reason);
        break;
    }
}

static void report_drop_pending(struct report_run *r)
{
    for (size_t i = 0; i < r->npending; i++)
        free(r->pending[i].label);
    r->npending = 0;
}

/* Commit the batch, then print it: the lines are acknowledgements. */
static int report_flush(struct report_run *r)
{
    if (store_commit(r->c.st) != 0) {
        fprintf(stderr,
                "dnsblkit report: cannot commit: %s; the last %zu messages were not taken\n",
                store_errmsg(r->c.st), r->npending);
        store_rollback(r->c.st);
        report_drop_pending(r);
        r->failed = true;
        return ERR_IO;
    }
    for (size_t i = 0; i < r->npending; i++)
        report_print(r, &r->pending[i]);
    fflush(stdout);
    report_drop_pending(r);
    return 0;
}

static int report_one(struct report_run *r, const char *label, const char *msg, size_t len)
{
    if (r->npending == 0 && store_begin(r->c.st) != 0) {
        fprintf(stderr, "dnsblkit report: %s\n", store_errmsg(r->c.st));
        r->failed = true;
        return ERR_IO;
    }
    struct report_out *o = &r->pending[r->npending];
    memset(o, 0, sizeof(*o));
    if (!(o->label = strdup(label))) {
        fprintf(stderr, "dnsblkit report: out of memory; the last %zu messages were not taken\n",
                r->npending);
        store_rollback(r->c.st);
        report_drop_pending(r);
        r->failed = true;
        return ERR_NOMEM;
    }
    int rc = engine_report(&r->c.eng, r->c.zone, msg, len, r->reporter, time(NULL), &o->d);
    if (rc) {
        fprintf(stderr, "dnsblkit report: %s: %s (%s); the last %zu messages were not taken\n",
                label, err_str(rc), store_errmsg(r->c.st), r->npending + 1);
        free(o->label);
        store_rollback(r->c.st);
        report_drop_pending(r);
        r->failed = true;
        return rc;
    }
    if (o->d.verdict == ENGINE_REFUSED)
        r->refused++;
    r->npending++;
    return r->npending >= r->batch ? report_flush(r) : 0;
}

static int report_read(FILE *f, char **buf, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    if (!b)
        return ERR_NOMEM;
    for (;;) {
        if (n == cap) {
            if (cap >= REPORT_MAX_BYTES) {
                free(b);
                return ERR_RANGE;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return ERR_NOMEM;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(b);
        return ERR_IO;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* Split an mbox: a message starts at a line beginning "From " at the
 * start of the buffer or after a newline. */
static int report_mbox(struct report_run *r, const char *name, const char *buf, size_t len)
{
    size_t start = 0, count = 0;
    char label[1200];
    while (start < len) {
        const char *from = buf + start;
        if (len - start >= 5 && !memcmp(from, "From ", 5)) {
            const char *nl = memchr(from, '\n', len - start);
            start = nl ? (size_t)(nl - buf) + 1 : len;
            continue;
        }
        size_t end = start;
        for (;;) {
            const char *nl = memchr(buf + end, '\n', len - end);
            if (!nl) {
                end = len;
                break;
            }
            end = (size_t)(nl - buf) + 1;
            if (len - end >= 5 && !memcmp(buf + end, "From ", 5))
                break;
        }
        snprintf(label, sizeof(label), "%s#%zu", name, ++count);
        int rc = report_one(r, label, buf + start, end - start);
        if (rc)
            return rc;
        start = end;
    }
    return 0;
}

static int report_file(struct report_run *r, const char *path, bool mbox)
{
    /* Standard input may be slow to come: no write lock held meanwhile. */
    if (!strcmp(path, "-") && r->npending && report_flush(r) != 0)
        return ERR_IO;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char *buf = NULL;
    size_t len = 0;
    if (!f) {
        fprintf(stderr, "dnsblkit report: %s: %s\n", path, strerror(errno));
        r->failed = true;
        return 0;
    }
    int rc = report_read(f, &buf, &len);
    if (f != stdin)
        fclose(f);
    if (rc) {
        fprintf(stderr, "dnsblkit report: %s: %s\n", path,
                rc == ERR_RANGE ? "larger than 32 MiB" : err_str(rc));
        r->failed = true;
        return 0;
    }
    rc = mbox ? report_mbox(r, path, buf, len) : report_one(r, path, buf, len);
    free(buf);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    enum {
        OPT_CONFIG = 256,
        OPT_ZONE,
        OPT_TRAP,
        OPT_USER,
        OPT_MBOX,
        OPT_BATCH,
        OPT_JSON,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"zone", required_argument, NULL, OPT_ZONE},
        {"trap", no_argument, NULL, OPT_TRAP},
        {"user", required_argument, NULL, OPT_USER},
        {"mbox", no_argument, NULL, OPT_MBOX},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct report_run r = {.batch = 100};
    const char *config = NULL, *zone = NULL;
    bool trap = false, mbox = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_ZONE:
            zone = optarg;
            break;
        case OPT_TRAP:
            trap = true;
            break;
        case OPT_USER:
            r.reporter = optarg;
            break;
        case OPT_MBOX:
            mbox = true;
            break;
        case OPT_BATCH: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 100000) {
                fprintf(stderr, "dnsblkit report: --batch wants 1..100000\n");
                return CMD_USAGE;
            }
            r.batch = (unsigned)n;
            break;
        }
        case OPT_JSON:
            r.json = true;
            break;
        case 'h':
        case OPT_HELP:
            report_usage(stdout);
            return CMD_OK;
        default:
            report_usage(stderr);
            return CMD_USAGE;
        }
    }
    if (!zone || trap == (r.reporter != NULL) || (r.reporter && !r.reporter[0])) {
        fprintf(stderr, "dnsblkit report: give --zone, and one of --trap or --user NAME\n");
        return CMD_USAGE;
    }
    int status = cli_listing_open("report", config, zone, &r.c);
    if (status)
        return status;
    if (!(r.pending = calloc(r.batch, sizeof(*r.pending)))) {
        cli_listing_close(&r.c);
        return CMD_FAIL;
    }
    int rc = 0;
    if (optind == argc)
        rc = report_file(&r, "-", mbox);
    for (int i = optind; i < argc && rc == 0; i++)
        rc = report_file(&r, argv[i], mbox);
    if (rc == 0 && r.npending)
        report_flush(&r);
    free(r.pending);
    cli_listing_close(&r.c);
    return r.failed || rc || r.refused ? CMD_FAIL : CMD_OK;
}
