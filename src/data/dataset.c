/* Dataset life cycle (load, finish, reference counting), the type registry,
 * and the query wrapper that adds the RFC 5782 test entries. */
#include "data/dataset.h"
#include "common/err.h"
#include "common/hash.h"
#include "data/datafile.h"
#include "data/value.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct dataset_ops *const dataset_types[] = {
    &ds_ip4set_ops, &ds_ip4tset_ops, &ds_ip4trie_ops,  &ds_ip6tset_ops, &ds_ip6trie_ops,
    &ds_dnset_ops,  &ds_generic_ops, &ds_combined_ops, &ds_acl_ops,     NULL,
};

/* Types registered by higher layers (the listing engine's); filled at
 * startup, read-only afterwards. */
#define DATASET_MAX_EXTRA 8
static const struct dataset_ops *dataset_extra[DATASET_MAX_EXTRA];

const struct dataset_ops *dataset_type(const char *name)
{
    for (size_t i = 0; dataset_types[i]; i++)
        if (strcmp(dataset_types[i]->name, name) == 0)
            return dataset_types[i];
    for (size_t i = 0; i < DATASET_MAX_EXTRA && dataset_extra[i]; i++)
        if (strcmp(dataset_extra[i]->name, name) == 0)
            return dataset_extra[i];
    return NULL;
}

int dataset_register(const struct dataset_ops *ops)
{
    if (dataset_type(ops->name))
        return dataset_type(ops->name) == ops ? 0 : ERR_EXISTS;
    for (size_t i = 0; i < DATASET_MAX_EXTRA; i++) {
        if (!dataset_extra[i]) {
            dataset_extra[i] = ops;
            return 0;
        }
    }
    return ERR_LIMIT;
}

void ds_result_reset(struct ds_result *res)
{
    res->exists = false;
    res->subject = NULL;
    res->subject_len = 0;
    res->acl = DS_ACL_NONE;
    res->nrr = 0;
}

int ds_result_add(struct ds_result *res, uint16_t type, uint32_t ttl, const void *rdata,
                  uint16_t rdlen)
{
    if (res->nrr >= DS_MAX_RR)
        return ERR_SPACE;
    struct ds_rr *rr = &res->rr[res->nrr++];
    rr->type = type;
    rr->ttl = ttl;
    rr->rdata = rdata;
    rr->rdlen = rdlen;
    return 0;
}

static void dataset_free(struct dataset *ds)
{
    if (ds->ops->destroy && ds->priv)
        ds->ops->destroy(ds);
    free(ds->priv);
    for (unsigned i = 0; i < ds->nfiles; i++)
        free(ds->files[i].path);
    free(ds->files);
    free(ds->spec);
    free(ds);
}

int dataset_create(const struct dataset_ops *ops, const struct ds_load_ctx *ctx,
                   struct dataset **out)
{
    *out = NULL;
    struct dataset *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return ERR_NOMEM;
    ds->ops = ops;
    ds->ctx = ctx;
    ds->ttl = ctx->default_ttl;
    atomic_init(&ds->refs, 1);
    int rc = 0;
    if (ops->priv_size && !(ds->priv = calloc(1, ops->priv_size)))
        rc = ERR_NOMEM;
    else if (ops->create)
        rc = ops->create(ds);
    if (rc) {
        dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

static const char *ds_label(const struct dataset *ds)
{
    return ds->spec ? ds->spec : ds->ops->name;
}

int dataset_finish(struct dataset *ds, char *errbuf, size_t errsz)
{
    if (ds->ops->finish) {
        int rc = ds->ops->finish(ds);
        if (rc) {
            snprintf(errbuf, errsz, "%s: %s", ds_label(ds), err_str(rc));
            return rc;
        }
    }
    /* A zero TTL in $SOA or $NS means the dataset's TTL. */
    if (ds->soa.present && ds->soa.ttl == 0)
        ds->soa.ttl = ds->ttl;
    if (ds->ns.count && ds->ns.ttl == 0)
        ds->ns.ttl = ds->ttl;

    const struct ds_limits *lim = &ds->ctx->limits;
    if (!lim->allow_world && lim->max_ip4_total && ds->ip4_total > lim->max_ip4_total) {
        snprintf(errbuf, errsz,
                 "%s: lists %" PRIu64 " IPv4 addresses, more than the limit of %" PRIu64
                 " (a list of the whole Internet is refused unless allowed)",
                 ds_label(ds), ds->ip4_total, lim->max_ip4_total);
        return ERR_LIMIT;
    }
    return 0;
}

/* Split "type:file,file" into the type and a list of files. */
static int parse_spec(struct dataset *ds, const char *files, char *errbuf, size_t errsz)
{
    unsigned n = 1;
    for (const char *p = files; *p; p++)
        n += *p == ',';
    ds->files = calloc(n, sizeof(*ds->files));
    if (!ds->files)
        return ERR_NOMEM;
    const char *p = files;
    for (unsigned i = 0; i < n; i++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            snprintf(errbuf, errsz, "%s: empty file name", ds->spec);
            return ERR_INVAL;
        }
        ds->files[i].path = strndup(p, len);
        if (!ds->files[i].path)
            return ERR_NOMEM;
        ds->nfiles++;
        p += len + 1;
    }
    return 0;
}

int dataset_load(const char *spec, const struct ds_load_ctx *ctx, struct dataset **out,
                 char *errbuf, size_t errsz)
{
    struct dataset *ds = NULL;
    char tname[32];
    int rc;
    time_t newest = 0;
    struct datafile df, prev;
    bool have_prev = false;

    *out = NULL;
    errbuf[0] = '\0';
    const char *colon = strchr(spec, ':');
    size_t tlen = colon ? (size_t)(colon - spec) : 0;
    if (!colon || tlen == 0 || tlen >= sizeof(tname) || colon[1] == '\0') {
        snprintf(errbuf, errsz, "%s: expected type:file[,file...]", spec);
        return ERR_INVAL;
    }
    memcpy(tname, spec, tlen);
    tname[tlen] = '\0';
    const struct dataset_ops *ops = dataset_type(tname);
    if (!ops) {
        snprintf(errbuf, errsz, "%s: unknown dataset type '%s'", spec, tname);
        return ERR_INVAL;
    }
    rc = dataset_create(ops, ctx, &ds);
    if (rc) {
        snprintf(errbuf, errsz, "%s: cannot create dataset: %s", spec, err_str(rc));
        return rc;
    }
    ds->spec = strdup(spec);
    if (!ds->spec) {
        rc = ERR_NOMEM;
        goto fail;
    }
    if (ops->open) {
        rc = ops->open(ds, colon + 1, errbuf, errsz);
        if (rc)
            goto fail;
        goto finish;
    }
    rc = parse_spec(ds, colon + 1, errbuf, errsz);
    if (rc)
        goto fail;

    for (unsigned i = 0; i < ds->nfiles; i++) {
        struct ds_file *f = &ds->files[i];
        struct stat st;
        /* Remember the file as it was before reading, so a change made
         * while we read is noticed by the next dataset_changed(). */
        if (stat(f->path, &st) != 0) {
            snprintf(errbuf, errsz, "%s: cannot stat: %s", f->path, strerror(errno));
            rc = ERR_IO;
            goto fail;
        }
        f->mtime = st.st_mtime;
        f->mtime_ns = st.st_mtim.tv_nsec;
        f->size = st.st_size;
        f->ino = st.st_ino;
        if (st.st_mtime > newest)
            newest = st.st_mtime;

        datafile_init(&df, ds, f->path);
        if (have_prev) {
            /* The files form one logical file for $n, $= and $MAXRANGE4
             * (rbldnsd keeps them per dataset); the default value, though,
             * is per file. */
            memcpy(df.vars, prev.vars, sizeof(df.vars));
            memset(prev.vars, 0, sizeof(prev.vars));
            df.base_template = prev.base_template;
            prev.base_template = NULL;
            df.maxrange4 = prev.maxrange4;
            datafile_cleanup(&prev);
        }
        rc = datafile_read(&df);
        prev = df;
        have_prev = true;
        if (rc) {
            snprintf(errbuf, errsz, "%s", prev.err[0] ? prev.err : err_str(rc));
            goto fail;
        }
    }
    if (have_prev) {
        datafile_cleanup(&prev);
        have_prev = false;
    }
    if (ds->timestamp == 0)
        ds->timestamp = newest;
finish:
    rc = dataset_finish(ds, errbuf, errsz);
    if (rc)
        goto fail;
    *out = ds;
    return 0;

fail:
    if (have_prev)
        datafile_cleanup(&prev);
    if (errbuf[0] == '\0')
        snprintf(errbuf, errsz, "%s: %s", spec, err_str(rc));
    dataset_free(ds);
    return rc;
}

bool dataset_changed(const struct dataset *ds)
{
    for (unsigned i = 0; i < ds->nfiles; i++) {
        struct stat st;
        const struct ds_file *f = &ds->files[i];
        if (stat(f->path, &st) != 0)
            return true;
        if (st.st_mtime != f->mtime || st.st_mtim.tv_nsec != f->mtime_ns || st.st_size != f->size ||
            st.st_ino != f->ino)
            return true;
    }
    return false;
}

int dataset_walk(const struct dataset *ds, struct ds_walk *w)
{
    if (!ds->ops->walk)
        return ERR_UNSUPP;
    if (ds->ops->family) {
        int rc = w->family(w, ds->ops->family);
        if (rc)
            return rc;
    }
    return ds->ops->walk(ds, w);
}

static uint64_t dataset_fp_add(uint64_t h, const void *p, size_t n)
{
    /* FNV-1a, then mixed: a fingerprint, not a table key. */
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return hash_mix64(h);
}

uint64_t dataset_fingerprint(const struct dataset *ds)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = dataset_fp_add(h, ds->spec, strlen(ds->spec));
    h = dataset_fp_add(h, &ds->entries, sizeof(ds->entries));
    h = dataset_fp_add(h, &ds->live_version, sizeof(ds->live_version));
    h = dataset_fp_add(h, &ds->conf_digest, sizeof(ds->conf_digest));
    h = dataset_fp_add(h, &ds->ttl, sizeof(ds->ttl));
    if (!dataset_is_live(ds)) /* a live dataset's time is when it was read */
        h = dataset_fp_add(h, &ds->timestamp, sizeof(ds->timestamp));
    for (unsigned i = 0; i < ds->nfiles; i++) {
        const struct ds_file *f = &ds->files[i];
        int64_t v[4] = {(int64_t)f->mtime, (int64_t)f->mtime_ns, (int64_t)f->size, (int64_t)f->ino};
        h = dataset_fp_add(h, f->path, strlen(f->path));
        h = dataset_fp_add(h, v, sizeof(v));
    }
    return h;
}

bool dataset_is_live(const struct dataset *ds)
{
    return ds->ops->open != NULL;
}

bool dataset_stale(const struct dataset *ds)
{
    return ds->ops->stale && ds->ops->stale(ds);
}

int dataset_refresh(const struct dataset *prev, struct dataset **out, char *errbuf, size_t errsz)
{
    struct dataset *ds = NULL;
    *out = NULL;
    errbuf[0] = '\0';
    if (!prev->ops->refresh) {
        snprintf(errbuf, errsz, "%s: not a live dataset", ds_label(prev));
        return ERR_INVAL;
    }
    int rc = dataset_create(prev->ops, prev->ctx, &ds);
    if (rc == 0 && !(ds->spec = strdup(prev->spec)))
        rc = ERR_NOMEM;
    if (rc == 0)
        rc = prev->ops->refresh(prev, ds, errbuf, errsz);
    if (rc == 0)
        rc = dataset_finish(ds, errbuf, errsz);
    if (rc) {
        if (errbuf[0] == '\0')
            snprintf(errbuf, errsz, "%s: %s", prev->spec, err_str(rc));
        if (ds)
            dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

void dataset_ref(struct dataset *ds)
{
    atomic_fetch_add_explicit(&ds->refs, 1, memory_order_relaxed);
}

void dataset_unref(struct dataset *ds)
{
    if (!ds)
        return;
    if (atomic_fetch_sub_explicit(&ds->refs, 1, memory_order_acq_rel) == 1)
        dataset_free(ds);
}

/* The answer for a test entry the data does not list itself. */
static const uint8_t test_a[4] = {127, 0, 0, 2};
static const char test_txt[] = "RFC 5782 test entry";

static int add_test_answer(const struct dataset *ds, struct ds_result *res)
{
    int rc = ds_result_add(res, DNS_TYPE_A, ds->ttl, test_a, 4);
    if (rc == 0)
        rc = ds_result_add(res, DNS_TYPE_TXT, ds->ttl, test_txt, sizeof(test_txt) - 1);
    return rc;
}

/* ::ffff:127.0.0.x in network order, x being the last byte. */
static bool is_ip6_test(const uint8_t a[16], uint8_t last)
{
    static const uint8_t base[15] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0};
    return memcmp(a, base, 15) == 0 && a[15] == last;
}

/* Whether the first n nibbles of a equal those of ::ffff:127.0.0.2. */
static bool ip6_test_prefix(const uint8_t a[16], unsigned n)
{
    static const uint8_t t[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 2};
    for (unsigned i = 0; i < n; i++) {
        uint8_t x = i % 2 ? a[i / 2] & 0x0F : a[i / 2] >> 4;
        uint8_t y = i % 2 ? t[i / 2] & 0x0F : t[i / 2] >> 4;
        if (x != y)
            return false;
    }
    return true;
}

static bool sub_is_label(const struct ds_query *q, const char *label)
{
    size_t len = strlen(label);
    return q->sublabels == 1 && q->sublen == len + 1 && q->sub[0] == len &&
           memcmp(q->sub + 1, label, len) == 0;
}

/* How a name relates to the test entries of the dataset's families. */
enum test_kind { TEST_NONE, TEST_LISTED, TEST_UNLISTED, TEST_ABOVE };

static enum test_kind test_kind(unsigned fam, const struct ds_query *q)
{
    if (fam & DS_FAM_IP4) {
        if (q->ip4_octets == 4 && q->ip4 == 0x7F000002)
            return TEST_LISTED;
        if (q->ip4_octets == 4 && q->ip4 == 0x7F000001)
            return TEST_UNLISTED;
        if (q->ip4_octets > 0 && q->ip4_octets < 4 && q->ip4 == 0x7F000000)
            return TEST_ABOVE;
    }
    if (fam & DS_FAM_IP6) {
        if (q->ip6_nibbles == 32 && is_ip6_test(q->ip6, 2))
            return TEST_LISTED;
        if (q->ip6_nibbles == 32 && is_ip6_test(q->ip6, 1))
            return TEST_UNLISTED;
        if (q->ip6_nibbles > 0 && q->ip6_nibbles < 32 && ip6_test_prefix(q->ip6, q->ip6_nibbles))
            return TEST_ABOVE;
    }
    if (fam & DS_FAM_NAME) {
        /* The query name is lower case already (struct ds_query). */
        if (sub_is_label(q, "test"))
            return TEST_LISTED;
        if (sub_is_label(q, "invalid"))
            return TEST_UNLISTED;
    }
    return TEST_NONE;
}

int dataset_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    unsigned fam = ds->ops->family;
    enum test_kind kind = test_kind(fam, q);
    int rc = 0;

    if (kind == TEST_UNLISTED)
        return 0; /* whatever the data says, clients rely on this one */
    unsigned before = res->nrr;
    if (ds->ops->query) {
        rc = ds->ops->query(ds, q, res);
        if (rc)
            return rc;
    }
    if (kind == TEST_LISTED) {
        if (res->nrr == before) {
            rc = add_test_answer(ds, res);
            if (rc)
                return rc;
        }
        res->exists = true;
    } else if (kind == TEST_ABOVE) {
        res->exists = true;
    }
    if (!res->subject && fam) {
        bool ip = ((fam & DS_FAM_IP4) && q->ip4_octets == 4) ||
                  ((fam & DS_FAM_IP6) && q->ip6_nibbles == 32);
        if (ip) {
            res->subject = q->ip_text;
            res->subject_len = q->ip_text_len;
        } else {
            res->subject = q->name_text;
            res->subject_len = q->name_text_len;
        }
    }
    return 0;
}
