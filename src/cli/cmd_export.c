/* `dnsblkit export`: a zone's live listings as an rbldnsd data file or a
 * BIND zone file, for mirrors. */
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/err.h"
#include "listing/export.h"
#include "listing/listing_conf.h"
#include "listing/store.h"
#include "server/serve_conf.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT_MAX_NS 4

static void export_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit export --zone ZONE --format rbldnsd|bind [options]\n"
               "\n"
               "Write what is listed in a zone now, less its allowlist, for mirrors.\n"
               "\n"
               "  --config FILE     dnsblkit.conf(5): the [listing] database and TXT template\n"
               "                    (default $DNSBLKIT_CONFIG, else " CLI_DEFAULT_CONFIG ")\n"
               "  --zone ZONE       the zone to export\n"
               "  --format F        rbldnsd: an ip4set data file (a combined file of ip4set\n"
               "                    and ip6trie when IPv6 is listed), for rbldnsd or\n"
               "                    dnsblkit serve; bind: a zone file for named, Knot or NSD\n"
               "  --output FILE     replace FILE atomically (default: standard output)\n"
               "  --ttl N           record TTL, in seconds or with a unit s m h d w (35m)\n"
               "  --ns NAME         bind: a name server outside the zone (repeatable, up to\n"
               "                    4; default localhost.)\n"
               "  --hostmaster NAME bind: SOA contact, a name or user@domain\n"
               "                    (default hostmaster.ZONE)\n"
               "  --json            print the counts as JSON on standard output (needs\n"
               "                    --output)\n"
               "  --help\n"
               "\n"
               "Exit status: 0 when written, 1 on errors (database, file), 2 on bad usage.\n");
}

/* Whether the database has anything for the zone: exporting a zone
 * name with a typo in it gives an empty file, worth a warning. */
static int export_zone_seen(const char *zone, void *arg)
{
    return strcmp(zone, (const char *)arg) == 0 ? 1 : 0;
}

static int export_print_json(const char *zone, const char *format, const struct export_stats *s,
                             const char *output)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s?}", "zone", zone, "format", format,
                          "hosts", (json_int_t)s->hosts, "blocks", (json_int_t)s->blocks,
                          "exclusions", (json_int_t)s->exclusions, "output", output);
    if (!o)
        return ERR_NOMEM;
    int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF ? 0 : ERR_IO;
    json_decref(o);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    enum {
        OPT_CONFIG = 256,
        OPT_ZONE,
        OPT_FORMAT,
        OPT_OUTPUT,
        OPT_TTL,
        OPT_NS,
        OPT_HOSTMASTER,
        OPT_JSON,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"zone", required_argument, NULL, OPT_ZONE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"ns", required_argument, NULL, OPT_NS},
        {"hostmaster", required_argument, NULL, OPT_HOSTMASTER},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct listing_conf conf;
    listing_conf_init(&conf);
    struct store *st = NULL;
    struct export_opts o = {0};
    struct export_stats stats = {0};
    const char *config = NULL, *zone_arg = NULL, *format = NULL, *output = NULL;
    char zone[256], err[1024];
    unsigned nns = 0;
    bool json = false;
    int seen, status = CMD_USAGE;

    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_ZONE:
            zone_arg = optarg;
            break;
        case OPT_FORMAT:
            format = optarg;
            if (export_parse_format(optarg, &o.format) < 0) {
                fprintf(stderr, "dnsblkit export: unknown format '%s' (want rbldnsd or bind)\n",
                        optarg);
                goto out;
            }
            break;
        case OPT_OUTPUT:
            output = optarg;
            break;
        case OPT_TTL:
            if (serve_conf_parse_duration(optarg, &o.ttl) < 0 || o.ttl == 0) {
                fprintf(stderr, "dnsblkit export: bad --ttl '%s' (want seconds, or 35m, 1h...)\n",
                        optarg);
                goto out;
            }
            break;
        case OPT_NS:
            if (nns >= EXPORT_MAX_NS) {
                fprintf(stderr, "dnsblkit export: at most %d --ns\n", EXPORT_MAX_NS);
                goto out;
            }
            o.ns[nns++] = optarg;
            break;
        case OPT_HOSTMASTER:
            o.hostmaster = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
        case OPT_HELP:
            export_usage(stdout);
            status = CMD_OK;
            goto out;
        default:
            export_usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsblkit export: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (!zone_arg || !format) {
        fprintf(stderr, "dnsblkit export: --zone and --format are required\n");
        export_usage(stderr);
        goto out;
    }
    if (json && !output) {
        fprintf(stderr, "dnsblkit export: --json needs --output (the export itself goes to "
                        "standard output otherwise)\n");
        goto out;
    }
    if (listing_zone_key(zone_arg, zone, sizeof(zone)) < 0) {
        fprintf(stderr, "dnsblkit export: invalid zone name '%s'\n", zone_arg);
        goto out;
    }
    o.zone = zone;
    if (export_check_opts(&o, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit export: %s\n", err);
        goto out;
    }

    status = CMD_FAIL;
    if (!config)
        config = getenv("DNSBLKIT_CONFIG");
    if (!config)
        config = CLI_DEFAULT_CONFIG;
    if (listing_conf_load(config, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit export: %s\n", err);
        goto out;
    }
    o.txt = conf.txt;
    /* Opening would create an empty database: a wrong path must not
     * export an empty list quietly. */
    if (access(conf.database, F_OK) != 0) {
        fprintf(stderr, "dnsblkit export: %s: %s\n", conf.database, strerror(errno));
        goto out;
    }
    if (store_open(conf.database, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit export: %s\n", err);
        goto out;
    }
    seen = store_zones(st, export_zone_seen, zone);
    if (seen < 0) {
        fprintf(stderr, "dnsblkit export: %s: %s\n", conf.database, store_errmsg(st));
        goto out;
    }
    if (seen == 0)
        fprintf(stderr, "dnsblkit export: warning: %s has nothing for zone %s\n", conf.database,
                zone);

    o.now = time(NULL);
    if (output) {
        if (export_to_file(st, &o, output, &stats, err, sizeof(err)) < 0) {
            fprintf(stderr, "dnsblkit export: %s\n", err);
            goto out;
        }
    } else {
        int rc = export_write(st, &o, stdout, &stats);
        if (rc < 0) {
            if (rc == ERR_IO)
                fprintf(stderr, "dnsblkit export: writing to standard output failed: %s\n",
                        strerror(errno));
            else
                fprintf(stderr, "dnsblkit export: %s: %s (%s)\n", conf.database, err_str(rc),
                        store_errmsg(st));
            goto out;
        }
    }
    if (json) {
        if (export_print_json(zone, format, &stats, output) < 0) {
            fprintf(stderr, "dnsblkit export: cannot print the JSON summary\n");
            goto out;
        }
    } else if (output) {
        fprintf(stderr, "exported %llu hosts, %llu blocks, %llu exclusions to %s\n", stats.hosts,
                stats.blocks, stats.exclusions, output);
    }
    status = CMD_OK;
out:
    store_close(st);
    listing_conf_free(&conf);
    return status;
}
