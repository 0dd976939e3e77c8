/* Zone assembly: datasets in, apex SOA/NS ready for the answer path out. */
#include "server/zone.h"
#include "common/err.h"
#include "wire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when the data carries no $SOA: refresh, retry, expire, and a short
 * negative TTL so that new listings become visible quickly. */
enum { ZONE_REFRESH = 3600, ZONE_RETRY = 600, ZONE_EXPIRE = 604800, ZONE_NEG_TTL = 300 };

static int zone_init_name(struct zone *z, const char *name)
{
    z->name = strdup(name);
    if (!z->name)
        return ERR_NOMEM;
    for (char *p = z->name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    size_t n = strlen(z->name);
    if (n > 1 && z->name[n - 1] == '.')
        z->name[n - 1] = '\0';
    if (name_from_text(z->name, z->apex, &z->apex_len) < 0)
        return ERR_INVAL;
    z->apex_labels = name_label_count(z->apex);
    return 0;
}

static void zone_set_soa(struct zone *z, const struct ds_soa *soa, time_t newest,
                         uint32_t default_ttl)
{
    uint8_t mname[NAME_MAXWIRE], rname[NAME_MAXWIRE];
    size_t mlen, rlen;
    uint32_t serial, refresh, retry, expire, minimum;
    if (soa && soa->present) {
        mlen = name_wire_len(soa->mname);
        memcpy(mname, soa->mname, mlen);
        rlen = name_wire_len(soa->rname);
        memcpy(rname, soa->rname, rlen);
        serial = soa->serial ? soa->serial : (uint32_t)newest;
        refresh = soa->refresh;
        retry = soa->retry;
        expire = soa->expire;
        minimum = soa->minimum;
        z->soa_ttl = soa->ttl ? soa->ttl : default_ttl;
    } else {
        /* mname: the first NS when known, else the apex itself. */
        const uint8_t *m = z->ns.count ? z->ns.name[0] : z->apex;
        mlen = name_wire_len(m);
        memcpy(mname, m, mlen);
        static const uint8_t hostmaster[] = "\x0ahostmaster";
        rlen = sizeof(hostmaster) - 1;
        memcpy(rname, hostmaster, rlen);
        if (rlen + z->apex_len <= NAME_MAXWIRE) {
            memcpy(rname + rlen, z->apex, z->apex_len);
            rlen += z->apex_len;
        } else {
            memcpy(rname, z->apex, z->apex_len);
            rlen = z->apex_len;
        }
        serial = (uint32_t)newest;
        refresh = ZONE_REFRESH;
        retry = ZONE_RETRY;
        expire = ZONE_EXPIRE;
        minimum = ZONE_NEG_TTL;
        z->soa_ttl = default_ttl;
    }
    uint8_t *p = z->soa_rdata;
    memcpy(p, mname, mlen);
    p += mlen;
    memcpy(p, rname, rlen);
    p += rlen;
    wire_put32(p, serial);
    wire_put32(p + 4, refresh);
    wire_put32(p + 8, retry);
    wire_put32(p + 12, expire);
    wire_put32(p + 16, minimum);
    p += 20;
    z->soa_rdlen = (uint16_t)(p - z->soa_rdata);
    z->serial = serial;
    z->data_serial = serial;
    z->serial_given = soa && soa->present && soa->serial;
    z->neg_ttl = minimum < z->soa_ttl ? minimum : z->soa_ttl;
}

int zone_build(const char *name, struct dataset *const *ds, unsigned nds,
               const struct ds_limits *limits, uint32_t default_ttl, struct zone **out,
               char *errbuf, size_t errsz)
{
    int rc = ERR_NOMEM;
    struct zone *z = calloc(1, sizeof(*z));
    if (!z)
        return ERR_NOMEM;
    rc = zone_init_name(z, name);
    if (rc < 0) {
        snprintf(errbuf, errsz, "zone %s: invalid zone name", name);
        goto fail;
    }
    z->all = calloc(nds ? nds : 1, sizeof(*z->all));
    z->ds = calloc(nds ? nds : 1, sizeof(*z->ds));
    z->acl = calloc(nds ? nds : 1, sizeof(*z->acl));
    if (!z->all || !z->ds || !z->acl) {
        rc = ERR_NOMEM;
        goto fail;
    }

    const struct ds_soa *soa = NULL;
    time_t newest = 0;
    for (unsigned i = 0; i < nds; i++) {
        if (!ds[i])
            continue;
        dataset_ref(ds[i]);
        z->all[z->nall++] = ds[i];
        if (ds[i]->ops == &ds_acl_ops)
            z->acl[z->nacl++] = ds[i];
        else
            z->ds[z->nds++] = ds[i];
        if (!soa && ds[i]->soa.present)
            soa = &ds[i]->soa;
        if (z->ns.count == 0 && ds[i]->ns.count > 0)
            z->ns = ds[i]->ns;
        if (ds[i]->timestamp > newest)
            newest = ds[i]->timestamp;
        if (ds[i]->expires && (!z->expires || ds[i]->expires < z->expires))
            z->expires = ds[i]->expires;
        z->entries += ds[i]->entries;
        z->ip4_total += ds[i]->ip4_total;
    }
    if (limits && !limits->allow_world && z->ip4_total > limits->max_ip4_total) {
        snprintf(errbuf, errsz,
                 "zone %s: data lists %llu IPv4 addresses, more than the limit of %llu "
                 "(set allow-world to serve it anyway)",
                 z->name, (unsigned long long)z->ip4_total,
                 (unsigned long long)limits->max_ip4_total);
        rc = ERR_LIMIT;
        goto fail;
    }
    zone_set_soa(z, soa, newest, default_ttl);
    z->loaded = true;
    *out = z;
    return 0;
fail:
    zone_free(z);
    return rc;
}

int zone_build_pending(const char *name, uint32_t default_ttl, struct zone **out)
{
    struct zone *z = calloc(1, sizeof(*z));
    if (!z)
        return ERR_NOMEM;
    int rc = zone_init_name(z, name);
    if (rc < 0) {
        zone_free(z);
        return rc;
    }
    zone_set_soa(z, NULL, 0, default_ttl);
    z->loaded = false;
    *out = z;
    return 0;
}

void zone_set_serial(struct zone *z, uint32_t serial)
{
    /* The serial is the first of the five numbers that end the RDATA. */
    wire_put32(z->soa_rdata + z->soa_rdlen - 20, serial);
    z->serial = serial;
}

void zone_free(struct zone *z)
{
    if (!z)
        return;
    for (unsigned i = 0; i < z->nall; i++)
        dataset_unref(z->all[i]);
    zone_keys_unref(z->keys);
    free(z->all);
    free(z->ds);
    free(z->acl);
    free(z->name);
    free(z);
}
