/* `dnsblkit serve`: rbldnsd-compatible options and zone specs, plus
 * --config for everything else. */
#include "cli/cmd.h"
#include "common/privdrop.h"
#include "common/log.h"
#include "http/http.h"
#include "listing/ds_listing.h"
#include "server/server.h"

#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void serve_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit serve [options] zone:type:file[,file...] ...\n"
               "\n"
               "Serve DNS blocklists from rbldnsd data files. Zone specs and the options\n"
               "below work as in rbldnsd; repeated zone names form one zone.\n"
               "\n"
               "  -b ADDR[/PORT]   listen on UDP and TCP (repeatable; IPv4 or IPv6; port 53)\n"
               "  -t DEF[:MIN[:MAX]]  default, minimum and maximum TTL (default 35m)\n"
               "  -c SECONDS       check data files for changes this often (60; 0 = never)\n"
               "  -q               quickstart: answer (SERVFAIL) while the data loads\n"
               "  -e               allow CIDR entries with host bits set (10.1.2.3/8)\n"
               "  -A / -a          NS records in the authority section of answers / not (default)\n"
               "  -w DIR           change to DIR before loading data\n"
               "  -p FILE          write the process id to FILE\n"
               "  -u USER[:GROUP]  become USER once the sockets are bound (needed when\n"
               "                   started as root; -u root stays root)\n"
               "  -r DIR           chroot to DIR before that (data paths then inside it)\n"
               "  -n, -f, -4, -6, -v  accepted for rbldnsd compatibility and ignored (always\n"
               "                   foreground; reloads always build the new data to the side)\n"
               "  --config FILE    read dnsblkit.conf(5): [server], [zone NAME] and [http]\n"
               "                   (the lookup page, JSON API and /metrics) sections\n"
               "  --threads N      UDP workers per listen address (default: one per core)\n"
               "  --syslog         log to syslog instead of stderr\n"
               "  --log-level L    error, warning, info (default) or debug\n"
               "  --allow-world    do not refuse data that lists huge parts of the Internet\n"
               "  --help, --version\n"
               "\n"
               "Dataset types: ip4set ip4tset ip4trie ip6tset ip6trie dnset generic combined acl,\n"
               "and listing (live from the listing database: [zone NAME] dataset = listing,\n"
               "or the spec zone:listing:CONFIG-FILE)\n"
               "Signals: HUP reloads changed files, USR1 logs statistics, USR2 logs and\n"
               "resets them, TERM/INT stop.\n"
               "Exit status: 0 after a clean stop, 1 on errors, 2 on bad usage.\n");
}

static int serve_log_level(const char *s)
{
    if (!strcmp(s, "error"))
        return LOG_ERR;
    if (!strcmp(s, "warning"))
        return LOG_WARNING;
    if (!strcmp(s, "info"))
        return LOG_INFO;
    if (!strcmp(s, "debug"))
        return LOG_DEBUG;
    return -1;
}

int cmd_serve(int argc, char **argv)
{
    enum {
        OPT_CONFIG = 256,
        OPT_THREADS,
        OPT_SYSLOG,
        OPT_LOGLEVEL,
        OPT_WORLD,
        OPT_HELP,
        OPT_VERSION
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"syslog", no_argument, NULL, OPT_SYSLOG},
        {"log-level", required_argument, NULL, OPT_LOGLEVEL},
        {"allow-world", no_argument, NULL, OPT_WORLD},
        {"user", required_argument, NULL, 'u'},
        {"chroot", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct serve_conf conf;
    serve_conf_init(&conf);
    int status = CMD_USAGE;
    const char *config = NULL;
    /* Command-line options win over the file: remember them and apply
     * after the file is read. */
    const char *opt_b[SERVE_MAX_LISTEN];
    unsigned nb = 0;
    const char *opt_t = NULL, *opt_c = NULL, *opt_p = NULL, *opt_u = NULL, *opt_r = NULL;
    int opt_threads = -1, opt_level = -1;
    bool opt_syslog = false, opt_world = false;
    char err[1024];
    struct http_service *http = NULL;

    ds_listing_register();
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+b:t:c:qeaAw:p:u:r:nf46vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            if (nb >= SERVE_MAX_LISTEN) {
                fprintf(stderr, "dnsblkit serve: too many -b options\n");
                goto out;
            }
            opt_b[nb++] = optarg;
            break;
        case 't':
            opt_t = optarg;
            break;
        case 'c':
            opt_c = optarg;
            break;
        case 'q':
            conf.quickstart = true;
            break;
        case 'e':
            conf.allow_hostbits = true;
            break;
        case 'a':
            conf.full_authority = false;
            break;
        case 'A':
            conf.full_authority = true;
            break;
        case 'w':
            free(conf.workdir);
            conf.workdir = strdup(optarg);
            break;
        case 'p':
            opt_p = optarg;
            break;
        case 'u':
            opt_u = optarg;
            break;
        case 'r':
            opt_r = optarg;
            break;
        case 'n':
        case 'f':
        case '4':
        case '6':
        case 'v':
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_THREADS: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 64) {
                fprintf(stderr, "dnsblkit serve: --threads wants 1..64\n");
                goto out;
            }
            opt_threads = (int)n;
            break;
        }
        case OPT_SYSLOG:
            opt_syslog = true;
            break;
        case OPT_LOGLEVEL:
            opt_level = serve_log_level(optarg);
            if (opt_level < 0) {
                fprintf(stderr, "dnsblkit serve: bad --log-level '%s'\n", optarg);
                goto out;
            }
            break;
        case OPT_WORLD:
            opt_world = true;
            break;
        case 'h':
        case OPT_HELP:
            serve_usage(stdout);
            status = CMD_OK;
            goto out;
        case OPT_VERSION:
            printf("dnsblkit %s\n", DBK_VERSION);
            status = CMD_OK;
            goto out;
        default:
            serve_usage(stderr);
            goto out;
        }
    }

    if (config && serve_conf_load_file(&conf, config, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit serve: %s\n", err);
        status = CMD_FAIL;
        goto out;
    }
    if (nb > 0)
        conf.nlisten = 0; /* -b replaces the file's listen addresses */
    for (unsigned i = 0; i < nb; i++) {
        if (serve_conf_add_listen(&conf, opt_b[i]) < 0) {
            fprintf(stderr, "dnsblkit serve: bad listen address '%s' (want addr[/port])\n",
                    opt_b[i]);
            goto out;
        }
    }
    if (opt_t && serve_conf_parse_ttl(&conf, opt_t) < 0) {
        fprintf(stderr, "dnsblkit serve: bad -t '%s' (want defttl[:minttl[:maxttl]])\n", opt_t);
        goto out;
    }
    if (opt_c) {
        uint32_t v;
        if (serve_conf_parse_duration(opt_c, &v) < 0) {
            fprintf(stderr, "dnsblkit serve: bad -c '%s' (want seconds)\n", opt_c);
            goto out;
        }
        conf.check_interval = v;
    }
    if (opt_p) {
        free(conf.pidfile);
        conf.pidfile = strdup(opt_p);
    }
    if (opt_u && privdrop_parse(opt_u, &conf.user, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit serve: -u: %s\n", err);
        goto out;
    }
    if (opt_r) {
        if (opt_r[0] != '/') {
            fprintf(stderr, "dnsblkit serve: -r wants an absolute path, not '%s'\n", opt_r);
            goto out;
        }
        free(conf.chroot_dir);
        conf.chroot_dir = strdup(opt_r);
    }
    if (conf.chroot_dir && geteuid() != 0) {
        fprintf(stderr, "dnsblkit serve: -r (chroot) needs root\n");
        goto out;
    }
    if (opt_threads > 0)
        conf.threads = (unsigned)opt_threads;
    if (opt_syslog)
        conf.use_syslog = true;
    if (opt_level >= 0)
        conf.log_level = opt_level;
    if (opt_world)
        conf.allow_world = true;
    for (int i = optind; i < argc; i++) {
        if (serve_conf_add_zonespec(&conf, argv[i]) < 0) {
            fprintf(stderr,
                    "dnsblkit serve: bad zone spec '%s' (want zone:type:file[,file...]; "
                    "types: ip4set ip4tset ip4trie ip6tset ip6trie dnset generic combined "
                    "acl)\n",
                    argv[i]);
            goto out;
        }
    }
    if (serve_conf_finish(&conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit serve: %s\n", err);
        goto out;
    }

    if (config && http_service_new(config, &http, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsblkit serve: %s\n", err);
        status = CMD_FAIL;
        goto out;
    }

    /* Last of the checks, so that a mistake in the configuration is
     * reported as such, whoever runs it. */
    if (privdrop_check(&conf.user, geteuid(), "dnsblkit serve", err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    log_init("dnsblkit", conf.use_syslog, conf.log_level);
    struct server_service svc = {http_service_prepare, http_service_start, http_service_stop, http};
    status = server_run(&conf, http ? &svc : NULL) == 0 ? CMD_OK : CMD_FAIL;
out:
    http_service_free(http);
    serve_conf_free(&conf);
    return status;
}
