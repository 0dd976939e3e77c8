/* Zone transfer settings of `dnsblkit serve`, in [server] as defaults
 * and in [zone NAME]: who may transfer a zone (allow-transfer, and the
 * TSIG key it must sign with: transfer-key), how many records a transfer
 * may carry (transfer-max-records), how many versions of changes are
 * kept for IXFR (ixfr-history), and which secondaries hear of a new
 * serial by NOTIFY (notify). */
#ifndef DBK_SERVER_XFR_CONF_H
#define DBK_SERVER_XFR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"

#define XFR_CONF_MAX_NETS 64
#define XFR_CONF_MAX_NOTIFY 16
#define XFR_CONF_KEYNAME_MAX 256
/* Versions of a zone's changes kept for IXFR unless ixfr-history says. */
#define XFR_CONF_DEFAULT_HISTORY 100
#define XFR_CONF_MAX_HISTORY 10000

struct tsig_key;

struct xfr_conf {
    struct addr_net allow[XFR_CONF_MAX_NETS]; /* clients allowed to transfer */
    unsigned nallow;
    bool allow_set;       /* allow-transfer was given ("none" included) */
    uint64_t max_records; /* 0 until set or inherited */
    bool max_set;
    struct addr_sock notify[XFR_CONF_MAX_NOTIFY]; /* secondaries to NOTIFY */
    unsigned nnotify;
    bool notify_set;
    unsigned history; /* versions of changes kept for IXFR; 0 = none */
    bool history_set;
    char key_name[XFR_CONF_KEYNAME_MAX]; /* transfer-key: "" = none needed */
    bool key_set;
    int key_line;               /* where transfer-key was given (its file's line) */
    const struct tsig_key *key; /* that key, found by serve_conf_finish */
};

/* Take one key of [server] or [zone NAME] if it is a transfer key:
 * "allow-transfer" (networks separated by blanks or commas, adding to
 * what earlier lines gave; "none" allows nobody) or
 * "transfer-max-records" (1 or more), "notify" (ADDR[@PORT] or
 * ADDR/PORT, blanks or commas between, adding; "none"), "ixfr-history"
 * (0..XFR_CONF_MAX_HISTORY) or "transfer-key" (a key name of
 * tsig-key, or "none"). Returns 1 when taken, 0 when the
 * key is not one of these, ERR_INVAL or ERR_LIMIT with the reason in why
 * for a bad value. */
int xfr_conf_key(struct xfr_conf *x, const char *key, const char *value, char *why, size_t whysz);

/* What a zone did not set comes from [server] (zone may be server). */
void xfr_conf_inherit(struct xfr_conf *zone, const struct xfr_conf *server);

/* Whether the client may transfer: an address inside one of the allowed
 * networks (an IPv4-mapped IPv6 client as its IPv4 address). Nobody when
 * nothing allows. */
bool xfr_conf_allows(const struct xfr_conf *x, const struct sockaddr *client);

#endif
