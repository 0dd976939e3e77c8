/* The combined dataset type: one file holding several datasets of other
 * types, each started by "$DATASET type[:name] subzone...", and answering
 * for the subzones of the base zone it is attached to ("@" = the base).
 *
 * The file is read by an outer datafile whose dataset stays the combined
 * one, so $SOA, $NS and $TIMESTAMP land on the base zone wherever they
 * stand, as in rbldnsd. Everything else of a section is passed to an inner
 * datafile feeding the section's dataset; $TTL and $n seen by the outer
 * reader inside a section are moved to that section, since rbldnsd scopes
 * them per dataset. */
#include "common/err.h"
#include "common/log.h"
#include "common/name.h"
#include "data/array.h"
#include "data/datafile.h"
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUBNAME_MAX 20 /* rbldnsd cuts dataset names (used in logs) there */

struct comb_zone {
    uint8_t key[NAME_MAXWIRE]; /* subzone labels, no root label; len 0 = "@" */
    size_t len;
};

struct comb_link {
    unsigned zone, sub;
};

/* Reader state between $DATASET lines; unused once loaded. */
struct comb_load {
    bool active;                       /* a section is open and sdf feeds it */
    struct datafile sdf;               /* inner reader of the open section */
    uint32_t common_ttl;               /* the combined dataset's own $TTL */
    bool var_common[DATAFILE_MAXVARS]; /* outer $n set before the section */
    char *common_base;                 /* outer $= before the section, or NULL */
};

struct combined {
    struct dataset **subs;
    unsigned nsubs;
    size_t subcap;
    struct comb_zone *zones;
    unsigned nzones;
    size_t zonecap;
    struct comb_link *links; /* in file order: answers keep that order */
    unsigned nlinks;
    size_t linkcap;
    struct comb_load ld;
};

static int combined_create(struct dataset *ds)
{
    struct combined *c = ds->priv;
    c->ld.common_ttl = ds->ttl;
    return 0;
}

static void load_state_cleanup(struct combined *c)
{
    if (c->ld.active)
        datafile_cleanup(&c->ld.sdf);
    c->ld.active = false;
    free(c->ld.common_base);
    c->ld.common_base = NULL;
}

static void combined_destroy(struct dataset *ds)
{
    struct combined *c = ds->priv;
    load_state_cleanup(c);
    for (unsigned i = 0; i < c->nsubs; i++)
        dataset_unref(c->subs[i]);
    free(c->subs);
    free(c->zones);
    free(c->links);
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Move what the outer reader took from the open section ($TTL, $n, $=)
 * to that section. Runs before every line passed to us, and at finish,
 * so a directive is moved before anything after it is read. */
static int sync_section(struct dataset *ds, struct combined *c, struct datafile *df)
{
    struct comb_load *ld = &c->ld;
    if (!ld->active) {
        ld->common_ttl = ds->ttl;
        return 0;
    }
    struct dataset *sub = ld->sdf.ds;
    if (ds->ttl != ld->common_ttl) {
        sub->ttl = ds->ttl;
        ds->ttl = ld->common_ttl;
    }
    if (!df)
        return 0;
    for (int i = 0; i < DATAFILE_MAXVARS; i++) {
        if (!df->vars[i] || ld->var_common[i])
            continue;
        /* The first assignment wins, as datafile does for one reader. */
        if (!ld->sdf.vars[i])
            ld->sdf.vars[i] = df->vars[i];
        else
            free(df->vars[i]);
        df->vars[i] = NULL;
    }
    if (!same_text(df->base_template, ld->common_base)) {
        char *restore = NULL;
        if (ld->common_base && !(restore = strdup(ld->common_base)))
            return ERR_NOMEM;
        free(ld->sdf.base_template);
        ld->sdf.base_template = df->base_template;
        df->base_template = restore;
    }
    if (df->maxrange4 && (ld->sdf.maxrange4 == 0 || df->maxrange4 < ld->sdf.maxrange4))
        ld->sdf.maxrange4 = df->maxrange4;
    ld->sdf.path = df->path;
    return 0;
}

/* Finish the open section's dataset. */
static int close_section(struct combined *c, struct datafile *df)
{
    struct comb_load *ld = &c->ld;
    char err[DATAFILE_ERRLEN];
    if (!ld->active)
        return 0;
    struct dataset *sub = ld->sdf.ds;
    datafile_cleanup(&ld->sdf);
    ld->active = false;
    int rc = dataset_finish(sub, err, sizeof(err));
    if (rc < 0 && df)
        datafile_error(df, "%s", err);
    else if (rc < 0)
        log_error("%s", err);
    return rc;
}

static int add_zone(struct combined *c, const uint8_t *key, size_t len, unsigned *idx)
{
    for (unsigned i = 0; i < c->nzones; i++) {
        if (c->zones[i].len == len && memcmp(c->zones[i].key, key, len) == 0) {
            *idx = i;
            return 0;
        }
    }
    if (array_reserve((void **)&c->zones, &c->zonecap, c->nzones + 1, sizeof(*c->zones), 8) < 0)
        return ERR_NOMEM;
    struct comb_zone *z = &c->zones[c->nzones];
    memcpy(z->key, key, len);
    z->len = len;
    *idx = c->nzones++;
    return 0;
}

/* "$DATASET type[:name] subzone..." (args = what follows the keyword). */
static int new_section(struct dataset *ds, struct combined *c, struct datafile *df, char *args)
{
    struct comb_load *ld = &c->ld;
    char spec[64];
    int rc;

    if ((rc = close_section(c, df)) < 0)
        return rc;
    /* A comment starts with '#' or ';' at the start or after a blank. */
    for (char *p = args; *p; p++) {
        if ((*p == '#' || *p == ';') && (p == args || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    char *save = NULL;
    char *type = strtok_r(args, " \t", &save);
    if (!type)
        return datafile_error(df, "$DATASET needs a dataset type");
    char *name = strchr(type, ':');
    if (name)
        *name++ = '\0';
    const struct dataset_ops *ops = dataset_type(type);
    if (!ops)
        return datafile_error(df, "unknown dataset type '%.40s'", type);
    if (ops == &ds_combined_ops || ops == &ds_acl_ops || ops->open)
        return datafile_error(df, "dataset type %s cannot be used inside combined", ops->name);

    /* Parse the subzones before creating anything, so a bad one leaves
     * nothing half made. */
    uint8_t keys[16][NAME_MAXWIRE];
    size_t lens[16];
    unsigned nkeys = 0;
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        size_t len;
        if (nkeys == 16)
            return datafile_error(df, "$DATASET: more than 16 subzones");
        if (strcmp(w, "@") == 0) {
            lens[nkeys++] = 0;
            continue;
        }
        if (name_from_text(w, keys[nkeys], &len) < 0 || len <= 1)
            return datafile_error(df, "$DATASET: invalid subzone '%.60s'", w);
        lens[nkeys++] = len - 1;
    }
    if (nkeys == 0)
        datafile_warn(df, "no subzones given for this dataset, its data will be ignored");

    struct dataset *sub;
    if ((rc = dataset_create(ops, ds->ctx, &sub)) < 0)
        return rc;
    if (array_reserve((void **)&c->subs, &c->subcap, c->nsubs + 1, sizeof(*c->subs), 8) < 0) {
        dataset_unref(sub);
        return ERR_NOMEM;
    }
    unsigned subidx = c->nsubs;
    c->subs[c->nsubs++] = sub;
    snprintf(spec, sizeof(spec), "%s%s%.*s", ops->name, name && *name ? ":" : "", SUBNAME_MAX,
             name ? name : "");
    if (!(sub->spec = strdup(spec)))
        return ERR_NOMEM;
    sub->ttl = ds->ttl;

    for (unsigned i = 0; i < nkeys; i++) {
        unsigned zi;
        if ((rc = add_zone(c, keys[i], lens[i], &zi)) < 0)
            return rc;
        if (array_reserve((void **)&c->links, &c->linkcap, c->nlinks + 1, sizeof(*c->links), 8) < 0)
            return ERR_NOMEM;
        c->links[c->nlinks++] = (struct comb_link){.zone = zi, .sub = subidx};
    }

    /* The section starts with what the common part set. */
    datafile_init(&ld->sdf, sub, df->path);
    ld->active = true;
    for (int i = 0; i < DATAFILE_MAXVARS; i++) {
        ld->var_common[i] = df->vars[i] != NULL;
        if (df->vars[i] && !(ld->sdf.vars[i] = strdup(df->vars[i])))
            return ERR_NOMEM;
    }
    free(ld->common_base);
    ld->common_base = NULL;
    if (df->base_template) {
        if (!(ld->common_base = strdup(df->base_template)) ||
            !(ld->sdf.base_template = strdup(df->base_template)))
            return ERR_NOMEM;
    }
    ld->sdf.maxrange4 = df->maxrange4;
    return 0;
}

static int combined_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct combined *c = ds->priv;
    int rc = sync_section(ds, c, df);
    if (rc < 0)
        return rc;

    /* Directives datafile does not know come here with their '$'. */
    char *d = line[0] == '$'                                         ? line + 1
              : (line[0] == '#' || line[0] == ':') && line[1] == '$' ? line + 2
                                                                     : NULL;
    if (d) {
        if (strncasecmp(d, "DATASET", 7) == 0 && (d[7] == ' ' || d[7] == '\t' || d[7] == '\0'))
            return new_section(ds, c, df, d + 7);
        return datafile_error(df, "unknown directive '%.40s'", line);
    }
    if (!c->ld.active)
        return datafile_error(df, "data line outside a dataset: start one with $DATASET");

    /* Feed the line to the section with the outer line number, so errors
     * name the right line. */
    struct datafile *sdf = &c->ld.sdf;
    sdf->lineno = df->lineno - 1;
    sdf->err[0] = '\0';
    rc = datafile_feed(sdf, line);
    if (rc < 0 && df->err[0] == '\0')
        snprintf(df->err, sizeof(df->err), "%s", sdf->err);
    return rc;
}

static int combined_finish(struct dataset *ds)
{
    struct combined *c = ds->priv;
    int rc = sync_section(ds, c, NULL);
    if (rc == 0)
        rc = close_section(c, NULL);
    load_state_cleanup(c);
    if (rc < 0)
        return rc;
    ds->entries = 0;
    ds->ip4_total = 0;
    ds->mem_bytes = sizeof(*c) + c->subcap * sizeof(*c->subs) + c->zonecap * sizeof(*c->zones) +
                    c->linkcap * sizeof(*c->links);
    for (unsigned i = 0; i < c->nsubs; i++) {
        ds->entries += c->subs[i]->entries;
        ds->ip4_total += c->subs[i]->ip4_total;
        ds->mem_bytes += c->subs[i]->mem_bytes;
    }
    return 0;
}

/* Whether the last `len` bytes of sub start at a label boundary. */
static bool label_suffix(const uint8_t *sub, size_t sublen, size_t len)
{
    size_t off = 0, want = sublen - len;
    while (off < want)
        off += (size_t)sub[off] + 1;
    return off == want;
}

/* Where a sub-query's subject text lives after the sub-query is gone:
 * names are prefixes of the outer name text; an address text has no
 * place in the outer query, so it goes to a small per-thread ring that
 * outlives the next few combined queries of this thread. */
static void remap_subject(const struct ds_query *q, const struct ds_query *sq,
                          struct ds_result *res)
{
    static _Thread_local char ring[8][48];
    static _Thread_local unsigned ring_pos;
    const char *s = res->subject;
    if (s >= sq->name_text && s < sq->name_text + sizeof(sq->name_text)) {
        res->subject = q->name_text + (s - sq->name_text);
    } else if (s >= sq->ip_text && s < sq->ip_text + sizeof(sq->ip_text)) {
        char *slot = ring[ring_pos++ % 8];
        size_t len = res->subject_len < sizeof(ring[0]) ? res->subject_len : sizeof(ring[0]) - 1;
        memcpy(slot, s, len);
        slot[len] = '\0';
        res->subject = slot;
        res->subject_len = len;
    } else if (s >= sq->client_text && s < sq->client_text + sizeof(sq->client_text)) {
        res->subject = q->client_text + (s - sq->client_text);
    }
}

/* A name above a subzone ("b" when "a.b" is one) is an empty
 * non-terminal, whatever the datasets say. */
static void mark_above_subzone(const struct combined *c, const struct ds_query *q,
                               struct ds_result *res)
{
    for (unsigned i = 0; i < c->nzones && !res->exists; i++) {
        const struct comb_zone *z = &c->zones[i];
        if (z->len > q->sublen &&
            (q->sublen == 0 || (memcmp(z->key + z->len - q->sublen, q->sub, q->sublen) == 0 &&
                                label_suffix(z->key, z->len, q->sublen))))
            res->exists = true;
    }
}

static int combined_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct combined *c = ds->priv;
    int best = -1;

    for (unsigned i = 0; i < c->nzones; i++) {
        const struct comb_zone *z = &c->zones[i];
        if (z->len > q->sublen || (best >= 0 && z->len <= c->zones[best].len))
            continue;
        /* "@" (len 0) matches every name; q->sub may be NULL at the apex. */
        if (z->len == 0 || (memcmp(q->sub + q->sublen - z->len, z->key, z->len) == 0 &&
                            label_suffix(q->sub, q->sublen, z->len)))
            best = (int)i;
    }
    if (best < 0) {
        mark_above_subzone(c, q, res);
        return 0;
    }

    size_t rest = q->sublen - c->zones[best].len;
    struct ds_query sq;
    ds_query_init(&sq, q->sub, rest);
    sq.as_built = q->as_built;
    sq.client_family = q->client_family;
    sq.client_ip4 = q->client_ip4;
    memcpy(sq.client_ip6, q->client_ip6, sizeof(sq.client_ip6));
    memcpy(sq.client_text, q->client_text, sizeof(sq.client_text));
    sq.client_text_len = q->client_text_len;

    for (unsigned i = 0; i < c->nlinks; i++) {
        if (c->links[i].zone != (unsigned)best)
            continue;
        const char *subject = res->subject;
        size_t subject_len = res->subject_len;
        unsigned before = res->nrr;
        bool existed = res->exists;
        res->subject = NULL;
        res->exists = false;
        int rc = dataset_query(c->subs[c->links[i].sub], &sq, res);
        if (rc < 0)
            return rc;
        res->exists = res->exists || existed;
        /* The first dataset that answers records chooses the subject. */
        if (res->subject && res->nrr > before && !subject) {
            remap_subject(q, &sq, res);
        } else {
            res->subject = subject;
            res->subject_len = subject_len;
        }
    }
    if (rest == 0)
        res->exists = true; /* a subzone's own name always exists */
    mark_above_subzone(c, q, res);
    return 0;
}

/* Each subzone (a name of its own: it always exists), and under it the
 * datasets linked to it. */
static int combined_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct combined *c = ds->priv;
    for (unsigned z = 0; z < c->nzones; z++) {
        int rc = c->zones[z].len ? w->name(w, c->zones[z].key, c->zones[z].len, false) : 0;
        if (rc)
            return rc;
        for (unsigned i = 0; i < c->nlinks; i++) {
            if (c->links[i].zone != z)
                continue;
            if ((rc = w->enter(w, c->zones[z].key, c->zones[z].len)) != 0)
                return rc;
            rc = dataset_walk(c->subs[c->links[i].sub], w);
            w->leave(w);
            if (rc)
                return rc;
        }
    }
    return 0;
}

const struct dataset_ops ds_combined_ops = {
    .name = "combined",
    .family = 0,
    .uses_values = false,
    .priv_size = sizeof(struct combined),
    .create = combined_create,
    .line = combined_line,
    .finish = combined_finish,
    .query = combined_query,
    .destroy = combined_destroy,
    .walk = combined_walk,
};
