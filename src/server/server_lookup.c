/* Service-side questions to the served data: answers for a subject, the
 * zones, the counters. */
#include "server/server_lookup.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/name.h"
#include "server/server_internal.h"
#include "server/zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int server_reader_new(struct server *srv, struct server_reader **out)
{
    int rc = ERR_LIMIT;
    pthread_mutex_lock(&srv->readers_lock);
    if (srv->nreaders < SERVER_MAX_SERVICE_READERS) {
        struct server_reader *r = &srv->readers[srv->nreaders];
        rc = epoch_register(&srv->epoch, &r->er);
        if (rc == 0) {
            srv->nreaders++;
            *out = r;
        }
    }
    pthread_mutex_unlock(&srv->readers_lock);
    return rc;
}

/* The labels left of a zone apex that ask about the subject, in wire
 * form without the root: "4.3.2.1" for 1.2.3.4, 32 nibbles for IPv6,
 * the name itself for a domain. *family says which kind it is. */
static int server_subject_labels(const char *subject, uint8_t *out, size_t outsz, size_t *len,
                                 unsigned *family)
{
    uint32_t a4;
    uint8_t a6[16];
    size_t n = 0;
    if (addr_ip4_parse(subject, &a4) == 0) {
        for (int i = 0; i < 4; i++) {
            char oct[4];
            int k = snprintf(oct, sizeof(oct), "%u", (a4 >> (8 * i)) & 255);
            out[n++] = (uint8_t)k;
            memcpy(out + n, oct, (size_t)k);
            n += (size_t)k;
        }
        *family = DS_FAM_IP4;
    } else if (addr_ip6_parse(subject, a6) == 0) {
        static const char hex[] = "0123456789abcdef";
        for (int i = 31; i >= 0; i--) {
            out[n++] = 1;
            out[n++] = (uint8_t)hex[i % 2 ? a6[i / 2] & 15 : a6[i / 2] >> 4];
        }
        *family = DS_FAM_IP6;
    } else {
        uint8_t wire[NAME_MAXWIRE];
        size_t wlen;
        if (name_from_text(subject, wire, &wlen) != 0 || wlen <= 1)
            return ERR_INVAL;
        name_lower(wire);
        n = wlen - 1; /* without the root label */
        if (n > outsz)
            return ERR_INVAL;
        memcpy(out, wire, n);
        *family = DS_FAM_NAME;
    }
    *len = n;
    return 0;
}

/* A TXT template with '$' as the subject and "$$" as '$'. */
static void server_fill_txt(char *out, size_t outsz, const uint8_t *t, size_t tlen,
                            const char *subject, size_t slen)
{
    size_t o = 0;
    for (size_t i = 0; i < tlen && o + 1 < outsz; i++) {
        if (t[i] == '$' && i + 1 < tlen && t[i + 1] == '$') {
            out[o++] = '$';
            i++;
        } else if (t[i] == '$') {
            for (size_t k = 0; k < slen && o + 1 < outsz; k++)
                out[o++] = subject[k];
        } else {
            out[o++] = (char)t[i];
        }
    }
    out[o] = '\0';
}

static void server_live_config(const struct zone *z, char *out, size_t outsz)
{
    out[0] = '\0';
    for (unsigned i = 0; i < z->nall; i++) {
        const struct dataset *ds = z->all[i];
        const char *colon = ds->spec ? strchr(ds->spec, ':') : NULL;
        if (dataset_is_live(ds) && colon) {
            snprintf(out, outsz, "%s", colon + 1);
            return;
        }
    }
}

/* What one zone answers for the subject's labels; false when none of its
 * datasets answers names of this kind. */
static bool server_zone_answer(const struct zone *z, const uint8_t *sub, size_t sublen,
                               unsigned family, struct server_zone_answer *a)
{
    bool fits = false;
    for (unsigned i = 0; i < z->nds; i++)
        fits |= (z->ds[i]->ops->family & family) || z->ds[i]->ops->family == 0;
    if (!fits || !z->loaded)
        return false;
    memset(a, 0, sizeof(*a));
    snprintf(a->zone, sizeof(a->zone), "%s", z->name);
    server_live_config(z, a->live_config, sizeof(a->live_config));
    struct ds_query q;
    ds_query_init(&q, sub, sublen);
    for (unsigned i = 0; i < z->nds; i++) {
        struct ds_result res;
        ds_result_reset(&res);
        if (dataset_query(z->ds[i], &q, &res) != 0)
            continue;
        for (unsigned k = 0; k < res.nrr; k++) {
            const struct ds_rr *rr = &res.rr[k];
            if (rr->type == DNS_TYPE_A && rr->rdlen == 4) {
                a->listed = true;
                if (a->ncodes < SERVER_LOOKUP_MAX_CODES)
                    a->codes[a->ncodes++] = rr->rdata[3];
            } else if (rr->type == DNS_TYPE_TXT && !a->txt[0]) {
                server_fill_txt(a->txt, sizeof(a->txt), rr->rdata, rr->rdlen,
                                res.subject ? res.subject : "", res.subject ? res.subject_len : 0);
            }
        }
    }
    return true;
}

int server_lookup(struct server *srv, struct server_reader *r, const char *subject,
                  struct server_lookup_result *out)
{
    uint8_t sub[NAME_MAXWIRE];
    size_t sublen;
    unsigned family;
    memset(out, 0, sizeof(*out));
    if (server_subject_labels(subject, sub, sizeof(sub), &sublen, &family) != 0)
        return ERR_INVAL;
    epoch_online(&srv->epoch, r->er);
    const struct snapshot *s = server_snapshot(srv);
    for (unsigned i = 0; s && i < s->nzones && out->n < SERVER_LOOKUP_MAX_ZONES; i++)
        if (server_zone_answer(s->zones[i], sub, sublen, family, &out->z[out->n]))
            out->n++;
    epoch_offline(r->er);
    return 0;
}

int server_zones(struct server *srv, struct server_reader *r, struct server_zone_info *out,
                 unsigned max, unsigned *n)
{
    *n = 0;
    epoch_online(&srv->epoch, r->er);
    const struct snapshot *s = server_snapshot(srv);
    for (unsigned i = 0; s && i < s->nzones; i++) {
        const struct zone *z = s->zones[i];
        if (*n < max) {
            struct server_zone_info *zi = &out[*n];
            memset(zi, 0, sizeof(*zi));
            snprintf(zi->zone, sizeof(zi->zone), "%s", z->name);
            zi->loaded = z->loaded;
            zi->entries = z->entries;
            zi->serial = z->serial;
            for (unsigned k = 0; k < z->nall; k++)
                if (z->all[k]->timestamp > zi->data_time)
                    zi->data_time = z->all[k]->timestamp;
            server_live_config(z, zi->live_config, sizeof(zi->live_config));
        }
        (*n)++;
    }
    epoch_offline(r->er);
    return 0;
}

void server_stats(struct server *srv, struct answer_stats *udp, struct answer_stats *tcp)
{
    memset(udp, 0, sizeof(*udp));
    memset(tcp, 0, sizeof(*tcp));
    for (unsigned i = 0; i < srv->nworkers; i++)
        answer_stats_add(udp, udp_worker_stats(srv->workers[i]));
    if (srv->tcp)
        answer_stats_add(tcp, tcp_server_stats(srv->tcp));
}

void server_counters(struct server *srv, struct server_counters *out)
{
    out->reloads = atomic_load(&srv->reloads);
    out->reload_refused = atomic_load(&srv->reload_refused);
    out->live_updates = atomic_load(&srv->live_updates);
    out->started = (time_t)atomic_load(&srv->started);
    out->last_publish = (time_t)atomic_load(&srv->last_publish);
    out->xfr_done = atomic_load(&srv->xfr.done);
    out->xfr_records = atomic_load(&srv->xfr.records);
    out->xfr_bytes = atomic_load(&srv->xfr.bytes);
    out->xfr_refused = atomic_load(&srv->xfr.refused);
    out->xfr_failed = atomic_load(&srv->xfr.failed);
}

int server_zone_stats(struct server *srv, struct server_zone_stats *out, unsigned max, unsigned *n)
{
    struct answer_stats *sum = calloc(1, sizeof(*sum));
    if (!sum)
        return ERR_NOMEM;
    for (unsigned i = 0; i < srv->nworkers; i++)
        answer_stats_add(sum, udp_worker_stats(srv->workers[i]));
    if (srv->tcp)
        answer_stats_add(sum, tcp_server_stats(srv->tcp));
    const struct serve_conf *conf = srv->conf;
    *n = 0;
    for (unsigned i = 0; i < conf->nzones && i < ANSWER_MAX_ZONES; i++) {
        if (!conf->zones[i].name[0])
            continue; /* the global ACL answers no queries of its own */
        if (*n < max) {
            struct server_zone_stats *z = &out[*n];
            snprintf(z->zone, sizeof(z->zone), "%s",
                     i == ANSWER_MAX_ZONES - 1 ? "(other)" : conf->zones[i].name);
            for (unsigned t = 0; t < ANSWER_QTYPES; t++)
                for (unsigned r = 0; r < ANSWER_RESULTS; r++)
                    z->n[t][r] = atomic_load_explicit(&sum->zone[i][t][r], memory_order_relaxed);
        }
        (*n)++;
    }
    free(sum);
    return 0;
}
