/* Building, sharing and looking up snapshots of the served zones. */
#include "server/snapshot.h"
#include "common/err.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t snapshot_generation;

static int snapshot_cmp_labels(const void *a, const void *b)
{
    const struct zone *za = *(const struct zone *const *)a;
    const struct zone *zb = *(const struct zone *const *)b;
    return (int)zb->apex_labels - (int)za->apex_labels;
}

static struct snapshot *snapshot_alloc(unsigned nzones)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->zones = calloc(nzones ? nzones : 1, sizeof(*s->zones));
    if (!s->zones) {
        free(s);
        return NULL;
    }
    s->generation = atomic_fetch_add(&snapshot_generation, 1) + 1;
    s->built = time(NULL);
    atomic_init(&s->refs, 1);
    return s;
}

const struct zone *snapshot_zone(const struct snapshot *s, const uint8_t *apex)
{
    for (unsigned i = 0; s && i < s->nzones; i++)
        if (name_equal(s->zones[i]->apex, apex))
            return s->zones[i];
    return NULL;
}

static const struct zone *snapshot_zone_by_name(const struct snapshot *s, const char *name)
{
    uint8_t wire[NAME_MAXWIRE];
    size_t len;
    if (name_from_text(name, wire, &len) < 0)
        return NULL;
    return snapshot_zone(s, wire);
}

/* The previous dataset for the same spec of the same zone, if any. */
static struct dataset *snapshot_prev_dataset(const struct zone *pz, const char *spec)
{
    if (!pz)
        return NULL;
    for (unsigned i = 0; i < pz->nall; i++)
        if (strcmp(pz->all[i]->spec, spec) == 0)
            return pz->all[i];
    return NULL;
}

/* How logs name a zone; the zone without a name is the global ACL. */
static const char *snapshot_zone_label(const struct serve_zone_conf *zc)
{
    static _Thread_local char buf[NAME_MAXTEXT + 8];
    if (zc->name[0] == '\0')
        return "global acl";
    snprintf(buf, sizeof(buf), "zone %s", zc->name);
    return buf;
}

/* The shrink guard: would the new datasets drop more than the zone's
 * shrink limit of the entries the previous data had? Logs the refusal. */
static bool snapshot_shrinks_too_much(const struct serve_zone_conf *zc, const struct zone *pz,
                                      struct dataset *const *ds)
{
    if (zc->shrink_limit >= 100)
        return false;
    uint64_t before = 0, after = 0;
    for (unsigned i = 0; i < pz->nall; i++)
        before += pz->all[i]->entries;
    for (unsigned i = 0; i < zc->nspecs; i++)
        after += ds[i] ? ds[i]->entries : 0;
    if (after >= before || (before - after) * 100 <= before * (uint64_t)zc->shrink_limit)
        return false;
    log_error("%s: REFUSED new data: it would drop %llu of %llu entries (%.1f%%, more than the "
              "shrink-limit of %d%%); still serving the previous data. If the drop is intended, "
              "raise shrink-limit or restart the server (a restart loads the data as it is)",
              snapshot_zone_label(zc), (unsigned long long)(before - after),
              (unsigned long long)before, 100.0 * (double)(before - after) / (double)before,
              zc->shrink_limit);
    return true;
}

/* The key set of a keyed zone for the next snapshot: the previous one
 * while its file is unchanged, else the file read again. A file that
 * cannot be read or parsed, or that would drop more of the keys than the
 * shrink limit allows (a truncated file must not lock every customer
 * out), leaves the previous set serving; without one (startup) it fails
 * the zone. Counted and logged as a dataset is. */
static int snapshot_zone_keys(const struct serve_zone_conf *zc, const struct zone *pz, bool force,
                              struct zone_keys **out, struct snapshot_stats *st, char *errbuf,
                              size_t errsz)
{
    *out = NULL;
    if (!zc->keys)
        return 0;
    struct zone_keys *prev = pz && pz->loaded ? pz->keys : NULL;
    if (prev && !force && !zone_keys_changed(prev)) {
        *out = zone_keys_ref(prev);
        st->reused++;
        return 0;
    }
    char err[1024];
    struct zone_keys *k;
    int rc = zone_keys_load(zc->keys, &k, err, sizeof(err));
    if (rc == 0 && prev && zc->shrink_limit < 100 && k->count < prev->count &&
        (uint64_t)(prev->count - k->count) * 100 > (uint64_t)prev->count * zc->shrink_limit) {
        log_error("%s: REFUSED new keys from %s: %u of its %u keys would go (more than the "
                  "shrink-limit of %d%%); still serving the previous keys. If the drop is "
                  "intended, raise shrink-limit or restart the server",
                  snapshot_zone_label(zc), zc->keys, prev->count - k->count, prev->count,
                  zc->shrink_limit);
        zone_keys_unref(k);
        st->failed++;
        *out = zone_keys_ref(prev);
        return 0;
    }
    if (rc == 0) {
        st->loaded++;
        log_info("%s: loaded keys %s: %u keys", snapshot_zone_label(zc), zc->keys, k->count);
        *out = k;
        return 0;
    }
    st->failed++;
    if (prev) {
        log_error("%s: refused new keys, still serving the previous keys: %s",
                  snapshot_zone_label(zc), err);
        *out = zone_keys_ref(prev);
        return 0;
    }
    snprintf(errbuf, errsz, "%s", err);
    return rc;
}

static int snapshot_build_zone(const struct serve_conf *conf, const struct serve_zone_conf *zc,
                               const struct zone *pz, bool force, struct zone **out,
                               struct snapshot_stats *st, char *errbuf, size_t errsz)
{
    struct dataset **ds = calloc(zc->nspecs, sizeof(*ds));
    if (!ds)
        return ERR_NOMEM;
    struct zone_keys *keys = NULL;
    int rc = snapshot_zone_keys(zc, pz, force, &keys, st, errbuf, errsz);
    /* A new key file alone is news, but no data for the shrink guard. */
    unsigned data_loaded_before = st->loaded;
    for (unsigned i = 0; i < zc->nspecs && rc == 0; i++) {
        struct dataset *prev = pz && pz->loaded ? snapshot_prev_dataset(pz, zc->specs[i]) : NULL;
        char err[1024];
        if (prev && !force && dataset_is_live(prev)) {
            /* A live dataset follows its source in small steps: the next
             * version shares most of the previous one. */
            if (!dataset_stale(prev)) {
                dataset_ref(prev);
                ds[i] = prev;
                st->reused++;
            } else if (dataset_refresh(prev, &ds[i], err, sizeof(err)) == 0) {
                st->refreshed++;
            } else {
                log_error("%s: cannot follow %s, still serving the previous data: %s",
                          snapshot_zone_label(zc), zc->specs[i], err);
                dataset_ref(prev);
                ds[i] = prev;
                st->failed++;
            }
            continue;
        }
        if (prev && !force && !dataset_changed(prev)) {
            dataset_ref(prev);
            ds[i] = prev;
            st->reused++;
            continue;
        }
        rc = dataset_load(zc->specs[i], &zc->ctx, &ds[i], err, sizeof(err));
        if (rc == 0) {
            st->loaded++;
            log_info("%s: loaded %s: %llu entries", snapshot_zone_label(zc), zc->specs[i],
                     (unsigned long long)ds[i]->entries);
            continue;
        }
        st->failed++;
        if (prev) {
            log_error("%s: refused new data, still serving the previous data: %s",
                      snapshot_zone_label(zc), err);
            dataset_ref(prev);
            ds[i] = prev;
            rc = 0;
        } else {
            snprintf(errbuf, errsz, "%s", err);
        }
    }
    if (rc == 0 && pz && pz->loaded && st->loaded > data_loaded_before &&
        snapshot_shrinks_too_much(zc, pz, ds)) {
        /* A truncated or emptied file must not silently empty a list. */
        st->failed += st->loaded - data_loaded_before;
        st->loaded = data_loaded_before;
        rc = zone_build(zc->name, pz->all, pz->nall, NULL, conf->ttl_default, out, errbuf, errsz);
        goto out;
    }
    if (rc == 0) {
        rc = zone_build(zc->name, ds, zc->nspecs, &zc->limits, conf->ttl_default, out, errbuf,
                        errsz);
        if (rc < 0 && pz && pz->loaded) {
            /* The zone as a whole broke a limit: keep serving the old one. */
            log_error("%s: refused new data, still serving the previous data: %s",
                      snapshot_zone_label(zc), errbuf);
            st->failed++;
            rc = zone_build(zc->name, pz->all, pz->nall, NULL, conf->ttl_default, out, errbuf,
                            errsz);
        }
    }
out:
    for (unsigned i = 0; i < zc->nspecs; i++)
        if (ds[i])
            dataset_unref(ds[i]);
    free(ds);
    if (rc == 0) {
        (*out)->keys = keys;
        keys = NULL;
    }
    zone_keys_unref(keys);
    if (rc < 0 && rc != ERR_NOMEM && pz && !pz->loaded) {
        /* Still loading after -q: this zone keeps answering SERVFAIL and
         * is retried at the next check, while the other zones go live. */
        log_error("%s: %s", snapshot_zone_label(zc), errbuf);
        rc = zone_build_pending(zc->name, conf->ttl_default, out);
    }
    return rc;
}

/* A zone's counters follow its place in the configuration, which stays
 * the same across reloads. */
static unsigned snapshot_stat_slot(unsigned conf_index)
{
    return conf_index < ZONE_STAT_SLOTS - 1 ? conf_index : ZONE_STAT_SLOTS - 1;
}

int snapshot_build(const struct serve_conf *conf, const struct snapshot *prev, bool force,
                   struct snapshot **out, struct snapshot_stats *stats, char *errbuf, size_t errsz)
{
    struct snapshot_stats st = {0};
    struct snapshot *s = snapshot_alloc(conf->nzones);
    if (!s)
        return ERR_NOMEM;
    int rc = 0;
    for (unsigned i = 0; i < conf->nzones; i++) {
        const struct serve_zone_conf *zc = &conf->zones[i];
        if (zc->name[0] == '\0') {
            rc = snapshot_build_zone(conf, zc, prev ? prev->global_acl : NULL, force,
                                     &s->global_acl, &st, errbuf, errsz);
        } else {
            rc = snapshot_build_zone(conf, zc, snapshot_zone_by_name(prev, zc->name), force,
                                     &s->zones[s->nzones], &st, errbuf, errsz);
            if (rc == 0) {
                s->zones[s->nzones]->xfr = &zc->xfr;
                s->zones[s->nzones++]->stat_slot = snapshot_stat_slot(i);
            }
        }
        if (rc < 0)
            goto fail;
    }
    qsort(s->zones, s->nzones, sizeof(*s->zones), snapshot_cmp_labels);
    if (stats)
        *stats = st;
    *out = s;
    return 0;
fail:
    snapshot_free(s);
    return rc;
}

int snapshot_build_pending(const struct serve_conf *conf, struct snapshot **out)
{
    struct snapshot *s = snapshot_alloc(conf->nzones);
    if (!s)
        return ERR_NOMEM;
    for (unsigned i = 0; i < conf->nzones; i++) {
        if (conf->zones[i].name[0] == '\0') {
            /* Until the global ACL is loaded no zone may answer. */
            int rc = zone_build_pending("", conf->ttl_default, &s->global_acl);
            if (rc < 0) {
                snapshot_free(s);
                return rc;
            }
            continue;
        }
        int rc = zone_build_pending(conf->zones[i].name, conf->ttl_default, &s->zones[s->nzones]);
        if (rc == 0) {
            s->zones[s->nzones]->stat_slot = snapshot_stat_slot(i);
            s->zones[s->nzones]->xfr = &conf->zones[i].xfr;
        }
        if (rc < 0) {
            snapshot_free(s);
            return rc;
        }
        s->nzones++;
    }
    qsort(s->zones, s->nzones, sizeof(*s->zones), snapshot_cmp_labels);
    *out = s;
    return 0;
}

static bool snapshot_zone_changed(const struct zone *z)
{
    if (!z->loaded)
        return true;
    if (z->keys && zone_keys_changed(z->keys))
        return true;
    for (unsigned j = 0; j < z->nall; j++)
        if (dataset_changed(z->all[j]))
            return true;
    return false;
}

bool snapshot_changed(const struct snapshot *s)
{
    if (s->global_acl && snapshot_zone_changed(s->global_acl))
        return true;
    for (unsigned i = 0; i < s->nzones; i++)
        if (snapshot_zone_changed(s->zones[i]))
            return true;
    return false;
}

bool snapshot_stale(const struct snapshot *s)
{
    for (unsigned i = 0; i < s->nzones; i++)
        for (unsigned j = 0; s->zones[i]->loaded && j < s->zones[i]->nall; j++)
            if (dataset_stale(s->zones[i]->all[j]))
                return true;
    return false;
}

bool snapshot_has_live(const struct snapshot *s)
{
    for (unsigned i = 0; i < s->nzones; i++)
        for (unsigned j = 0; j < s->zones[i]->nall; j++)
            if (dataset_is_live(s->zones[i]->all[j]))
                return true;
    return false;
}

const struct zone *snapshot_find(const struct snapshot *s, const uint8_t *lname, size_t *apex_off)
{
    for (unsigned i = 0; i < s->nzones; i++) {
        int off = name_suffix_offset(lname, s->zones[i]->apex);
        if (off >= 0) {
            *apex_off = (size_t)off;
            return s->zones[i];
        }
    }
    return NULL;
}

struct snapshot *snapshot_ref(const struct snapshot *s)
{
    /* The count is not part of what a snapshot says: counting it changes
     * nothing a reader sees. */
    struct snapshot *m = (struct snapshot *)s;
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void snapshot_free(struct snapshot *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < s->nzones; i++)
        zone_free(s->zones[i]);
    zone_free(s->global_acl);
    free(s->zones);
    free(s);
}
