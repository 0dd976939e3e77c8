/* Configuration of `dnsblkit serve`: rbldnsd-style command-line zone
 * specs and options, and the [server] / [zone NAME] sections of
 * dnsblkit.conf(5). */
#ifndef DBK_SERVER_SERVE_CONF_H
#define DBK_SERVER_SERVE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/privdrop.h"
#include "data/dataset.h"
#include "server/ratelimit.h"
#include "server/tcp_limits.h"
#include "server/xfr_conf.h"
#include "wire/tsig.h"

#define SERVE_MAX_LISTEN 32
#define SERVE_DEFAULT_PORT 53
#define SERVE_DEFAULT_TTL 2100  /* rbldnsd's 35 minutes */
#define SERVE_DEFAULT_SHRINK 50 /* percent; 100 turns the shrink guard off */

struct serve_zone_conf {
    char *name;   /* as given */
    char **specs; /* "type:file[,file]" in order */
    unsigned nspecs;
    struct ds_limits limits;
    int shrink_limit;       /* percent of entries a reload may drop; -1 = [server]'s */
    struct xfr_conf xfr;    /* zone transfers; [server]'s filled in by serve_conf_finish */
    char *keys;             /* key file of keyed access (zone_keys.h), or NULL */
    struct ds_load_ctx ctx; /* filled by serve_conf_finish */
};

struct serve_conf {
    struct addr_sock listen[SERVE_MAX_LISTEN];
    unsigned nlisten;
    uint32_t ttl_default, ttl_min, ttl_max;
    unsigned check_interval; /* seconds, 0 = never poll */
    bool quickstart;
    bool allow_hostbits;   /* -e */
    bool allow_world;      /* --allow-world: default for every zone */
    bool full_authority;   /* -A: NS records in the authority section */
    unsigned shrink_limit; /* default percent of a zone's entries a reload may drop */
    unsigned threads;      /* UDP workers per listen address, 0 = one per core */
    unsigned tcp_idle;     /* seconds */
    unsigned tcp_max_clients;
    unsigned tcp_per_address; /* connections per client address (tcp_limits.h); 0 = no limit */
    unsigned tcp_max_time;    /* seconds a connection may stay open; 0 = no limit */
    unsigned tcp_max_queries; /* queries answered per connection; 0 = no limit */
    struct ratelimit_conf ratelimit; /* UDP response rate limiting; rate 0 = off */
    struct xfr_conf xfr;             /* zone transfer defaults of [server] */
    bool use_syslog;
    int log_level;
    char *pidfile;
    char *workdir;
    struct privdrop user;              /* -u: who to become once the sockets are bound */
    char *chroot_dir;                  /* -r: chroot there before that */
    char *state_dir;                   /* where the zones' serials are kept (serial.h), or NULL */
    struct addr_sock notify_source[2]; /* notify-source: IPv4, IPv6 (len 0: none) */
    struct tsig_key *tsig_keys;        /* tsig-key: the keys signed requests may use */
    unsigned ntsig_keys;
    struct serve_zone_conf *zones;
    unsigned nzones;
};

void serve_conf_init(struct serve_conf *c);
void serve_conf_free(struct serve_conf *c);

/* Add a listen address ("addr[/port]"). */
int serve_conf_add_listen(struct serve_conf *c, const char *spec);

/* Add an rbldnsd zone spec "zone:type:file[,file]"; a repeated zone name
 * adds a dataset to the same zone. */
int serve_conf_add_zonespec(struct serve_conf *c, const char *spec);

/* Parse rbldnsd's -t "defttl[:minttl[:maxttl]]" (units s m h d w). */
int serve_conf_parse_ttl(struct serve_conf *c, const char *spec);

/* Parse a duration like "35m" or "3600" into seconds. */
int serve_conf_parse_duration(const char *s, uint32_t *out);

/* Read an INI file. On error errbuf holds "file:line: reason". */
int serve_conf_load_file(struct serve_conf *c, const char *path, char *errbuf, size_t errsz);

/* Validate and fill derived fields (load contexts). */
int serve_conf_finish(struct serve_conf *c, char *errbuf, size_t errsz);

#endif
