/* What the listing subcommands (report, list, allow) share: finding the
 * configuration, opening the database, naming times and keys. */
#ifndef DBK_CLI_CLI_LISTING_H
#define DBK_CLI_CLI_LISTING_H

#include <stddef.h>
#include <time.h>

#include "listing/engine.h"
#include "listing/listing_conf.h"
#include "listing/store.h"

/* The configuration file when --config is not given. */
#define CLI_DEFAULT_CONFIG "/etc/dnsblkit/dnsblkit.conf"

struct cli_listing {
    struct listing_conf conf;
    struct store *st;
    struct engine eng;
    char zone[256];
};

/* Read the configuration (given, $DNSBLKIT_CONFIG, or the default), open
 * the database and check the zone name. Prints what went wrong, prefixed
 * with `cmd`, and returns CMD_FAIL or CMD_USAGE; 0 when ready. */
int cli_listing_open(const char *cmd, const char *config, const char *zone, struct cli_listing *c);
void cli_listing_close(struct cli_listing *c);

/* "2026-11-28 01:00:00 UTC", or `never` for 0. */
void cli_time(time_t t, char *out, size_t outsz, const char *never);

/* "3h 20m", "2d 4h", "45s". */
void cli_span(long long secs, char *out, size_t outsz);

#endif
