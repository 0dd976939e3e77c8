/* `dnsblkit list`: an operator's hand on a zone's listings: add, delete,
 * show one address with its evidence and history, list them all, end
 * expired ones now, or remove one as its owner would (self-service). */
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/err.h"
#include "listing/policy.h"

#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void list_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit list add ZONE ADDR|CIDR [--code 127.0.0.N] [--reason TEXT]\n"
               "                         [--for DURATION]\n"
               "       dnsblkit list del ZONE ADDR|CIDR\n"
               "       dnsblkit list show ZONE ADDR|CIDR\n"
               "       dnsblkit list ls ZONE\n"
               "       dnsblkit list remove ZONE ADDR   (self-service removal, as the owner)\n"
               "       dnsblkit list sweep ZONE         (end expired listings now)\n"
               "\n"
               "Options (anywhere on the line):\n"
               "  --config FILE   dnsblkit.conf(5) with a [listing] section\n"
               "                  (default $DNSBLKIT_CONFIG, else " CLI_DEFAULT_CONFIG ")\n"
               "  --code C        answer code, 127.0.0.N or N (2..254; default [listing] code)\n"
               "  --reason TEXT   why, kept with the listing\n"
               "  --for DURATION  list for this long (90s, 15m, 12h, 7d); default: until deleted\n"
               "  --json          print JSON\n"
               "  --help\n"
               "\n"
               "An IPv6 address stands for its /64. Changes reach a running `dnsblkit serve`\n"
               "within a second.\n"
               "Exit status: 0 done, 1 refused (allowlisted, not listed, removal too soon) or\n"
               "error, 2 bad usage.\n");
}

static const char *list_operator(void)
{
    const char *u = getenv("SUDO_USER");
    if (u && u[0])
        return u;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "operator";
}

static int list_parse_code(const char *s, uint8_t *out)
{
    const char *p = !strncmp(s, "127.0.0.", 8) ? s + 8 : s;
    char *end;
    long n = strtol(p, &end, 10);
    if (!*p || *end || n < 2 || n > 254)
        return ERR_INVAL;
    *out = (uint8_t)n;
    return 0;
}

/* The listings of a key that ended in the last 30 days, for `show`. */
struct list_past {
    bool json;
    json_t *arr;
};

static int list_past_cb(const struct store_past *p, void *arg)
{
    struct list_past *lp = arg;
    char t1[40], t2[40], span[32];
    if (lp->json) {
        json_array_append_new(lp->arr, json_pack("{s:I, s:I, s:I, s:s}", "listed_at",
                                                 (json_int_t)p->listed_at, "ended_at",
                                                 (json_int_t)p->ended_at, "code",
                                                 (json_int_t)p->code, "how", p->how));
        return 0;
    }
    cli_time(p->listed_at, t1, sizeof(t1), "?");
    cli_time(p->ended_at, t2, sizeof(t2), "?");
    cli_span(p->ended_at - p->listed_at, span, sizeof(span));
    printf("            %s to %s (%s) as 127.0.0.%u, %s\n", t1, t2, span, p->code, p->how);
    return 0;
}

static void list_json_print(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(j);
}

static json_t *list_time_json(time_t t)
{
    return t ? json_integer(t) : json_null();
}

static void list_show_text(struct cli_listing *c, const struct engine_status *s, time_t now)
{
    const struct store_listing *r = &s->rec;
    char key[NETKEY_STRLEN], t1[40], t2[40], span[32];
    netkey_format(&r->key, key, sizeof(key));
    if (s->listed) {
        cli_time(r->expires_at, t1, sizeof(t1), "until deleted");
        cli_span(r->expires_at - now, span, sizeof(span));
        printf("%s: LISTED as 127.0.0.%u%s\n", key, r->code, r->manual ? " (by hand)" : "");
        printf("  since:    %s\n", (cli_time(r->listed_at, t2, sizeof(t2), "?"), t2));
        if (r->expires_at)
            printf("  expires:  %s (in about %s)\n", t1, span);
        else
            printf("  expires:  never (until deleted)\n");
        printf("  reason:   %s\n", r->reason);
    } else if (s->covered) {
        netkey_format(&s->block.key, t1, sizeof(t1));
        printf("%s: LISTED as 127.0.0.%u: inside %s, listed %s (%s)\n", key, s->block.code, t1,
               s->escalated ? "as a whole for the addresses listed in it" : "as a block",
               s->block.reason);
    } else {
        printf("%s: not listed\n", key);
    }
    if (s->allowlisted) {
        netkey_format(&s->allow_block, t1, sizeof(t1));
        printf("  allowlisted: %s (never listed)\n", t1);
    }
    char words[100];
    engine_evidence_words(s->reports, s->traps, words, sizeof(words));
    printf("  evidence: score %.1f from %s in the last %u days\n", s->score, words,
           c->conf.policy.evidence_window / 86400);
    if (s->known) {
        engine_evidence_words(r->reports, r->traps, words, sizeof(words));
        printf("  all time: %s; first seen %s, last seen %s\n", words,
               (cli_time(r->first_seen, t1, sizeof(t1), "never"), t1),
               (cli_time(r->last_seen, t2, sizeof(t2), "never"), t2));
        cli_span(r->total_listed, span, sizeof(span));
        printf("  history:  listed %u times, %s in all before the current listing; "
               "%u listings ended in the last 30 days%s\n",
               r->times_listed, span, s->history_count, s->history_count ? ":" : "");
        struct list_past lp = {false, NULL};
        store_history(c->st, c->zone, &r->key, now - 30 * 86400, list_past_cb, &lp);
        if (r->removals)
            printf("  self-removals: %u, the last %s\n", r->removals,
                   (cli_time(r->last_removal, t1, sizeof(t1), "never"), t1));
    }
}

static json_t *list_show_json(struct cli_listing *cl, const struct engine_status *s, time_t now)
{
    const struct store_listing *r = &s->rec;
    char key[NETKEY_STRLEN], code[16] = "", block[NETKEY_STRLEN] = "", cover[NETKEY_STRLEN] = "";
    netkey_format(&r->key, key, sizeof(key));
    uint8_t c = s->listed ? r->code : s->covered ? s->block.code : 0;
    if (c)
        snprintf(code, sizeof(code), "127.0.0.%u", c);
    if (s->allowlisted)
        netkey_format(&s->allow_block, block, sizeof(block));
    if (s->covered)
        netkey_format(&s->block.key, cover, sizeof(cover));
    json_t *j = json_object();
    json_object_set_new(j, "key", json_string(key));
    json_object_set_new(j, "listed", json_boolean(s->listed || s->covered));
    json_object_set_new(j, "code", c ? json_string(code) : json_null());
    json_object_set_new(j, "covered_by", s->covered ? json_string(cover) : json_null());
    json_object_set_new(j, "manual", json_boolean(s->listed && r->manual));
    json_object_set_new(j, "listed_at", s->listed ? list_time_json(r->listed_at) : json_null());
    json_object_set_new(j, "expires", s->listed ? list_time_json(r->expires_at) : json_null());
    json_object_set_new(j, "reason",
                        json_string(s->listed    ? r->reason
                                    : s->covered ? s->block.reason
                                                 : ""));
    json_object_set_new(j, "escalated", json_boolean(s->escalated));
    json_object_set_new(j, "allowlisted", json_boolean(s->allowlisted));
    json_object_set_new(j, "allow_block", s->allowlisted ? json_string(block) : json_null());
    json_object_set_new(j, "evidence",
                        json_pack("{s:f, s:I, s:I}", "score", s->score, "reports",
                                  (json_int_t)s->reports, "traps", (json_int_t)s->traps));
    json_object_set_new(j, "all_time",
                        json_pack("{s:I, s:I, s:o, s:o}", "reports", (json_int_t)r->reports,
                                  "traps", (json_int_t)r->traps, "first_seen",
                                  list_time_json(r->first_seen), "last_seen",
                                  list_time_json(r->last_seen)));
    json_object_set_new(j, "history",
                        json_pack("{s:I, s:I, s:I, s:I}", "times_listed",
                                  (json_int_t)r->times_listed, "total_listed_seconds",
                                  (json_int_t)r->total_listed, "ended_last_30_days",
                                  (json_int_t)s->history_count, "seconds_last_30_days",
                                  (json_int_t)s->history_secs));
    struct list_past lp = {true, json_array()};
    store_history(cl->st, cl->zone, &r->key, now - 30 * 86400, list_past_cb, &lp);
    json_object_set_new(j, "history_30_days", lp.arr);
    json_object_set_new(j, "removals", json_integer(r->removals));
    json_object_set_new(j, "last_removal", list_time_json(r->last_removal));
    return j;
}

struct list_ls {
    bool json;
    json_t *arr;
    unsigned long long n;
};

static int list_ls_cb(const struct store_listing *l, void *arg)
{
    struct list_ls *ls = arg;
    char key[NETKEY_STRLEN], until[40];
    netkey_format(&l->key, key, sizeof(key));
    ls->n++;
    if (ls->json) {
        char code[16];
        snprintf(code, sizeof(code), "127.0.0.%u", l->code);
        json_array_append_new(ls->arr,
                              json_pack("{s:s, s:s, s:o, s:o, s:b, s:s}", "key", key, "code", code,
                                        "listed_at", list_time_json(l->listed_at), "expires",
                                        list_time_json(l->expires_at), "manual", l->manual,
                                        "reason", l->reason));
        return 0;
    }
    /* An escalated /24 has no end of its own: the sweep ends it when
     * fewer of its addresses are listed. */
    bool escalated = l->key.family == 4 && l->key.bits == 24 && !l->manual;
    cli_time(l->expires_at, until, sizeof(until),
             escalated ? "while its count holds" : "until deleted");
    printf("%-24s 127.0.0.%-3u %-24s %s%s\n", key, l->code, until, l->manual ? "[by hand] " : "",
           l->reason);
    return 0;
}

/* Run one write operation in a transaction; prints and maps errors. */
static int list_commit(struct cli_listing *c, int rc, const char *what)
{
    if (rc == 0 && (rc = store_commit(c->st)) == 0)
        return CMD_OK;
    store_rollback(c->st);
    fprintf(stderr, "dnsblkit list: %s: %s\n", what,
            rc == ERR_IO ? store_errmsg(c->st) : err_str(rc));
    return CMD_FAIL;
}

int cmd_list(int argc, char **argv)
{
    enum { OPT_CONFIG = 256, OPT_CODE, OPT_REASON, OPT_FOR, OPT_JSON, OPT_HELP };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"code", required_argument, NULL, OPT_CODE},
        {"reason", required_argument, NULL, OPT_REASON},
        {"for", required_argument, NULL, OPT_FOR},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *reason = NULL, *code_s = NULL;
    uint32_t for_secs = 0;
    bool json = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_CODE:
            code_s = optarg;
            break;
        case OPT_REASON:
            reason = optarg;
            break;
        case OPT_FOR:
            if (policy_parse_duration(optarg, &for_secs) < 0 || for_secs == 0) {
                fprintf(stderr, "dnsblkit list: bad --for '%s' (90s, 15m, 12h, 7d)\n", optarg);
                return CMD_USAGE;
            }
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
        case OPT_HELP:
            list_usage(stdout);
            return CMD_OK;
        default:
            list_usage(stderr);
            return CMD_USAGE;
        }
    }
    int nargs = argc - optind;
    const char *verb = nargs > 0 ? argv[optind] : "";
    bool needs_key = !strcmp(verb, "add") || !strcmp(verb, "del") || !strcmp(verb, "show") ||
                     !strcmp(verb, "remove");
    bool zone_only = !strcmp(verb, "ls") || !strcmp(verb, "sweep");
    if (!(needs_key && nargs == 3) && !(zone_only && nargs == 2)) {
        list_usage(stderr);
        return CMD_USAGE;
    }
    struct netkey key;
    if (needs_key && netkey_parse(argv[optind + 2], &key) != 0) {
        fprintf(stderr, "dnsblkit list: bad address or CIDR block '%s'\n", argv[optind + 2]);
        return CMD_USAGE;
    }
    struct cli_listing c;
    int status = cli_listing_open("list", config, argv[optind + 1], &c);
    if (status)
        return status;
    uint8_t code = c.conf.policy.code;
    if (code_s && list_parse_code(code_s, &code) != 0) {
        fprintf(stderr, "dnsblkit list: bad --code '%s' (127.0.0.N, N = 2..254)\n", code_s);
        cli_listing_close(&c);
        return CMD_USAGE;
    }
    time_t now = time(NULL);
    char keytext[NETKEY_STRLEN], why[300] = "", until[40];
    if (needs_key)
        netkey_format(&key, keytext, sizeof(keytext));

    if (!strcmp(verb, "show")) {
        struct engine_status s;
        if (engine_status(&c.eng, c.zone, &key, now, &s) != 0) {
            fprintf(stderr, "dnsblkit list: %s\n", store_errmsg(c.st));
            status = CMD_FAIL;
        } else if (json) {
            list_json_print(list_show_json(&c, &s, now));
        } else {
            list_show_text(&c, &s, now);
        }
    } else if (!strcmp(verb, "ls")) {
        struct list_ls ls = {json, json ? json_array() : NULL, 0};
        if (store_foreach_listed(c.st, c.zone, now, list_ls_cb, &ls) != 0) {
            fprintf(stderr, "dnsblkit list: %s\n", store_errmsg(c.st));
            status = CMD_FAIL;
        }
        if (json)
            list_json_print(ls.arr);
        else if (status == 0)
            fprintf(stderr, "%llu listed in %s\n", ls.n, c.zone);
    } else if (store_begin(c.st) != 0) {
        fprintf(stderr, "dnsblkit list: %s\n", store_errmsg(c.st));
        status = CMD_FAIL;
    } else if (!strcmp(verb, "sweep")) {
        unsigned ended = 0;
        status = list_commit(&c, engine_sweep(&c.eng, c.zone, now, &ended), "sweep");
        if (status == 0 && json)
            list_json_print(json_pack("{s:s, s:I}", "zone", c.zone, "ended", (json_int_t)ended));
        else if (status == 0)
            printf("%u listings ended\n", ended);
    } else if (!strcmp(verb, "add")) {
        int rc = engine_list_add(&c.eng, c.zone, &key, code, reason, for_secs, list_operator(), now,
                                 why, sizeof(why));
        if (rc == ERR_EXISTS || rc == ERR_LIMIT) {
            store_rollback(c.st);
            fprintf(stderr, "dnsblkit list: %s\n", why);
            status = CMD_FAIL;
        } else if ((status = list_commit(&c, rc, keytext)) == 0 && json) {
            char codetext[16];
            snprintf(codetext, sizeof(codetext), "127.0.0.%u", code);
            list_json_print(json_pack("{s:s, s:s, s:s, s:o}", "key", keytext, "action", "listed",
                                      "code", codetext, "expires",
                                      list_time_json(for_secs ? now + for_secs : 0)));
        } else if (status == 0) {
            cli_time(for_secs ? now + for_secs : 0, until, sizeof(until), "deleted");
            printf("%s: listed as 127.0.0.%u until %s\n", keytext, code, until);
        }
    } else {
        bool remove = !strcmp(verb, "remove");
        int rc = remove ? engine_self_remove(&c.eng, c.zone, &key, now, why, sizeof(why))
                        : engine_list_del(&c.eng, c.zone, &key, list_operator(), now);
        if (rc == ERR_NOTFOUND || rc == ERR_LIMIT) {
            store_rollback(c.st);
            fprintf(stderr, "dnsblkit list: %s: %s\n", keytext,
                    rc == ERR_NOTFOUND ? "not listed" : why);
            status = CMD_FAIL;
        } else if ((status = list_commit(&c, rc, keytext)) == 0 && json) {
            list_json_print(
                json_pack("{s:s, s:s}", "key", keytext, "action", remove ? "removed" : "deleted"));
        } else if (status == 0) {
            printf("%s: %s\n", keytext, remove ? "removed (self-service)" : "deleted");
        }
    }
    cli_listing_close(&c);
    return status;
}
