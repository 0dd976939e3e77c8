/* Shared plumbing of the listing subcommands. */
#include "cli/cli_listing.h"
#include "cli/cmd.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_listing_open(const char *cmd, const char *config, const char *zone, struct cli_listing *c)
{
    char err[1024];
    memset(c, 0, sizeof(*c));
    listing_conf_init(&c->conf);
    if (!config)
        config = getenv("DNSBLKIT_CONFIG");
    if (!config)
        config = CLI_DEFAULT_CONFIG;
    if (zone && listing_zone_key(zone, c->zone, sizeof(c->zone)) != 0) {
        fprintf(stderr, "dnsblkit %s: bad zone name '%s'\n", cmd, zone);
        return CMD_USAGE;
    }
    if (listing_conf_load(config, &c->conf, err, sizeof(err)) != 0 ||
        store_open(c->conf.database, &c->st, err, sizeof(err)) != 0) {
        fprintf(stderr, "dnsblkit %s: %s\n", cmd, err);
        cli_listing_close(c);
        return CMD_FAIL;
    }
    c->eng.st = c->st;
    c->eng.conf = &c->conf;
    return 0;
}

void cli_listing_close(struct cli_listing *c)
{
    if (c->st)
        store_close(c->st);
    c->st = NULL;
    listing_conf_free(&c->conf);
}

void cli_time(time_t t, char *out, size_t outsz, const char *never)
{
    if (t == 0) {
        snprintf(out, outsz, "%s", never);
        return;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void cli_span(long long secs, char *out, size_t outsz)
{
    if (secs < 0)
        secs = 0;
    long long d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60;
    if (d)
        snprintf(out, outsz, "%lldd %lldh", d, h);
    else if (h)
        snprintf(out, outsz, "%lldh %lldm", h, m);
    else if (m)
        snprintf(out, outsz, "%lldm %llds", m, secs % 60);
    else
        snprintf(out, outsz, "%llds", secs);
}
