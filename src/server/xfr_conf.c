/* The transfer keys of [server] and [zone NAME], and the transfer ACL. */
#include "server/xfr_conf.h"
#include "common/err.h"
#include "data/zone_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One item of a list key, or ERR_* with the reason in why. */
typedef int (*xfr_conf_item)(struct xfr_conf *x, char *tok, char *why, size_t whysz);

/* A list key's value: items separated by blanks or commas, "none" for
 * none (adding nothing), at least one of the two. */
static int xfr_conf_list(struct xfr_conf *x, const char *key, const char *value, const char *what,
                         xfr_conf_item take, char *why, size_t whysz)
{
    char buf[2048];
    if (strlen(value) >= sizeof(buf)) {
        snprintf(why, whysz, "%s line too long", key);
        return ERR_INVAL;
    }
    strcpy(buf, value);
    unsigned given = 0;
    for (char *save, *tok = strtok_r(buf, " \t,", &save); tok;
         tok = strtok_r(NULL, " \t,", &save)) {
        given++;
        int rc = strcmp(tok, "none") ? take(x, tok, why, whysz) : 0;
        if (rc < 0)
            return rc;
    }
    if (given == 0) {
        snprintf(why, whysz, "%s needs %s, or none", key, what);
        return ERR_INVAL;
    }
    return 1;
}

static int xfr_conf_allow(struct xfr_conf *x, char *tok, char *why, size_t whysz)
{
    if (x->nallow >= XFR_CONF_MAX_NETS) {
        snprintf(why, whysz, "too many allow-transfer networks (at most %d)", XFR_CONF_MAX_NETS);
        return ERR_LIMIT;
    }
    if (addr_net_parse(tok, &x->allow[x->nallow]) < 0) {
        snprintf(why, whysz, "bad allow-transfer network '%s' (want addr[/bits])", tok);
        return ERR_INVAL;
    }
    x->nallow++;
    return 0;
}

/* "ADDR@PORT" as Knot and NSD write a remote, or our "ADDR/PORT"; the
 * port is 53 when left out. */
static int xfr_conf_notify(struct xfr_conf *x, char *tok, char *why, size_t whysz)
{
    if (x->nnotify >= XFR_CONF_MAX_NOTIFY) {
        snprintf(why, whysz, "too many notify addresses (at most %d)", XFR_CONF_MAX_NOTIFY);
        return ERR_LIMIT;
    }
    char *at = strrchr(tok, '@');
    if (at)
        *at = '/';
    struct addr_sock *a = &x->notify[x->nnotify];
    uint64_t hi, lo;
    if (tok[0] == '*' || addr_sock_parse(tok, 53, a) < 0 ||
        !addr_sock_128((const struct sockaddr *)&a->ss, &hi, &lo) || (hi == 0 && lo == 0) ||
        (addr_128_is_ip4(hi, lo) && (uint32_t)lo == 0)) {
        if (at)
            *at = '@';
        snprintf(why, whysz, "bad notify address '%s' (want addr[@port])", tok);
        return ERR_INVAL;
    }
    x->nnotify++;
    return 0;
}

int xfr_conf_key(struct xfr_conf *x, const char *key, const char *value, char *why, size_t whysz)
{
    if (!strcmp(key, "notify")) {
        x->notify_set = true;
        return xfr_conf_list(x, key, value, "addresses", xfr_conf_notify, why, whysz);
    }
    if (!strcmp(key, "ixfr-history")) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end || n > XFR_CONF_MAX_HISTORY) {
            snprintf(why, whysz, "bad ixfr-history '%s' (0..%d versions)", value,
                     XFR_CONF_MAX_HISTORY);
            return ERR_INVAL;
        }
        x->history = (unsigned)n;
        x->history_set = true;
        return 1;
    }
    if (!strcmp(key, "transfer-key")) {
        if (value[0] == '\0' || strlen(value) >= sizeof(x->key_name) || strpbrk(value, " \t,")) {
            snprintf(why, whysz, "bad transfer-key '%s' (the name of a tsig-key, or none)", value);
            return ERR_INVAL;
        }
        snprintf(x->key_name, sizeof(x->key_name), "%s", strcmp(value, "none") ? value : "");
        x->key_set = true;
        return 1;
    }
    if (!strcmp(key, "allow-transfer")) {
        x->allow_set = true;
        return xfr_conf_list(x, key, value, "networks", xfr_conf_allow, why, whysz);
    }
    if (!strcmp(key, "transfer-max-records")) {
        char *end;
        if (value[0] < '0' || value[0] > '9') {
            snprintf(why, whysz, "bad transfer-max-records '%s' (a number of records)", value);
            return ERR_INVAL;
        }
        unsigned long long n = strtoull(value, &end, 10);
        if (*end || n == 0 || n > (1ull << 40)) {
            snprintf(why, whysz, "bad transfer-max-records '%s' (1..%llu)", value, 1ull << 40);
            return ERR_INVAL;
        }
        x->max_records = n;
        x->max_set = true;
        return 1;
    }
    return 0;
}

void xfr_conf_inherit(struct xfr_conf *zone, const struct xfr_conf *server)
{
    if (zone == server)
        return;
    if (!zone->allow_set && server->allow_set) {
        memcpy(zone->allow, server->allow, server->nallow * sizeof(server->allow[0]));
        zone->nallow = server->nallow;
        zone->allow_set = true;
    }
    if (!zone->max_set)
        zone->max_records =
            server->max_set ? server->max_records : (uint64_t)ZREC_DEFAULT_MAX_RECORDS;
    if (!zone->notify_set && server->notify_set) {
        memcpy(zone->notify, server->notify, server->nnotify * sizeof(server->notify[0]));
        zone->nnotify = server->nnotify;
        zone->notify_set = true;
    }
    if (!zone->history_set)
        zone->history = server->history_set ? server->history : XFR_CONF_DEFAULT_HISTORY;
    if (!zone->key_set && server->key_set) {
        memcpy(zone->key_name, server->key_name, sizeof(zone->key_name));
        zone->key_set = true;
    }
}

bool xfr_conf_allows(const struct xfr_conf *x, const struct sockaddr *client)
{
    uint64_t hi, lo;
    if (!x || !client || !addr_sock_128(client, &hi, &lo))
        return false;
    for (unsigned i = 0; i < x->nallow; i++)
        if (addr_net_has(&x->allow[i], hi, lo))
            return true;
    return false;
}
