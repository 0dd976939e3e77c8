/* Zone transfer settings of `dnsblkit serve`: who may transfer a zone
 * (allow-transfer) and how many records a transfer may carry
 * (transfer-max-records), in [server] as defaults and in [zone NAME]. */
#ifndef DBK_SERVER_XFR_CONF_H
#define DBK_SERVER_XFR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"

#define XFR_CONF_MAX_NETS 64

struct xfr_conf {
    struct addr_net allow[XFR_CONF_MAX_NETS]; /* clients allowed to transfer */
    unsigned nallow;
    bool allow_set;       /* allow-transfer was given ("none" included) */
    uint64_t max_records; /* 0 until set or inherited */
    bool max_set;
};

/* Take one key of [server] or [zone NAME] if it is a transfer key:
 * "allow-transfer" (networks separated by blanks or commas, adding to
 * what earlier lines gave; "none" allows nobody) or
 * "transfer-max-records" (1 or more). Returns 1 when taken, 0 when the
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
