/* `dnsblkit allow`: the allowlist of a zone. Allowlisted addresses are
 * never listed (attempts are logged), listings inside a new entry end at
 * once, and exports carry the entries as exclusions. */
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/err.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void allow_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit allow add ZONE ADDR|CIDR [--note TEXT]\n"
               "       dnsblkit allow del ZONE ADDR|CIDR\n"
               "       dnsblkit allow ls ZONE\n"
               "\n"
               "  --config FILE   dnsblkit.conf(5) with a [listing] section\n"
               "                  (default $DNSBLKIT_CONFIG, else " CLI_DEFAULT_CONFIG ")\n"
               "  --note TEXT     why the entry is there\n"
               "  --json          print JSON (ls)\n"
               "  --help\n"
               "\n"
               "Exit status: 0 done, 1 error (del: not on the allowlist), 2 bad usage.\n");
}

struct allow_ls {
    bool json;
    json_t *arr;
};

static int allow_ls_cb(const struct netkey *block, time_t when, const char *note, void *arg)
{
    struct allow_ls *ls = arg;
    char key[NETKEY_STRLEN], t[40];
    netkey_format(block, key, sizeof(key));
    cli_time(when, t, sizeof(t), "?");
    if (ls->json)
        json_array_append_new(ls->arr, json_pack("{s:s, s:I, s:s}", "block", key, "added",
                                                 (json_int_t)when, "note", note));
    else
        printf("%-24s %s  %s\n", key, t, note);
    return 0;
}

int cmd_allow(int argc, char **argv)
{
    enum { OPT_CONFIG = 256, OPT_NOTE, OPT_JSON, OPT_HELP };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"note", required_argument, NULL, OPT_NOTE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *note = "";
    bool json = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_NOTE:
            note = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
        case OPT_HELP:
            allow_usage(stdout);
            return CMD_OK;
        default:
            allow_usage(stderr);
            return CMD_USAGE;
        }
    }
    int nargs = argc - optind;
    const char *verb = nargs > 0 ? argv[optind] : "";
    bool keyed = !strcmp(verb, "add") || !strcmp(verb, "del");
    if (!(keyed && nargs == 3) && !(!strcmp(verb, "ls") && nargs == 2)) {
        allow_usage(stderr);
        return CMD_USAGE;
    }
    struct netkey key;
    if (keyed && netkey_parse(argv[optind + 2], &key) != 0) {
        fprintf(stderr, "dnsblkit allow: bad address or CIDR block '%s'\n", argv[optind + 2]);
        return CMD_USAGE;
    }
    struct cli_listing c;
    int status = cli_listing_open("allow", config, argv[optind + 1], &c);
    if (status)
        return status;
    char keytext[NETKEY_STRLEN];
    if (keyed)
        netkey_format(&key, keytext, sizeof(keytext));
    if (!strcmp(verb, "ls")) {
        struct allow_ls ls = {json, json ? json_array() : NULL};
        if (store_allow_foreach(c.st, c.zone, allow_ls_cb, &ls) != 0) {
            fprintf(stderr, "dnsblkit allow: %s\n", store_errmsg(c.st));
            status = CMD_FAIL;
        }
        if (json) {
            char *text = json_dumps(ls.arr, JSON_INDENT(2));
            if (text)
                printf("%s\n", text);
            free(text);
            json_decref(ls.arr);
        }
    } else {
        int rc = store_begin(c.st);
        if (rc == 0)
            rc = !strcmp(verb, "add") ? engine_allow_add(&c.eng, c.zone, &key, note, time(NULL))
                                      : engine_allow_del(&c.eng, c.zone, &key);
        if (rc == 0)
            rc = store_commit(c.st);
        if (rc) {
            store_rollback(c.st);
            fprintf(stderr, "dnsblkit allow: %s: %s\n", keytext,
                    rc == ERR_NOTFOUND ? "not on the allowlist"
                    : rc == ERR_IO     ? store_errmsg(c.st)
                                       : err_str(rc));
            status = CMD_FAIL;
        } else {
            printf("%s: %s\n", keytext,
                   !strcmp(verb, "add") ? "allowlisted" : "taken off the allowlist");
        }
    }
    cli_listing_close(&c);
    return status;
}
