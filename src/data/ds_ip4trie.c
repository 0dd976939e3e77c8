/* The ip4trie dataset type: IPv4 CIDR blocks with per-entry values and
 * exclusions, longest prefix winning. The blocks are flattened into
 * disjoint intervals when loading ends (ip4map): 8 bytes per interval
 * instead of a trie node per prefix, and a lookup is one table step and a
 * short bisection. */
#include "common/err.h"
#include "common/log.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip4map.h"
#include "data/ip4parse.h"
#include "data/value.h"

struct ip4trie {
    struct ip4map_builder b; /* while loading */
    struct ip4map map;
    struct vtab *vt;
};

static int ip4trie_create(struct dataset *ds)
{
    struct ip4trie *t = ds->priv;
    ip4map_builder_init(&t->b);
    return vtab_new(&t->vt);
}

static void ip4trie_destroy(struct dataset *ds)
{
    struct ip4trie *t = ds->priv;
    ip4map_builder_free(&t->b);
    ip4map_free(&t->map);
    vtab_free(t->vt);
}

static int ip4trie_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct ip4trie *t = ds->priv;
    const struct ds_limits *lim = &ds->ctx->limits;
    bool exclude = datafile_exclusion(&line);
    uint32_t addr;
    unsigned bits;
    const char *end, *why;
    if (ip4parse_cidr(line, ds->ctx->allow_hostbits ? IP4PARSE_HOSTBITS : 0, &addr, &bits, &end,
                      &why) != 0)
        return datafile_error(df, "%s", why);

    uint32_t value = IP4MAP_NONE;
    if (!exclude) {
        if (!lim->allow_world && bits < lim->min_prefix4)
            return datafile_error(df, "entry shorter than /%u refused", lim->min_prefix4);
        if (df->maxrange4 && (bits == 0 || ((uint64_t)1 << (32 - bits)) > df->maxrange4)) {
            /* rbldnsd's documented behaviour: skip the entry, warn. */
            datafile_warn(df, "entry larger than $MAXRANGE4 (%u addresses), ignored",
                          df->maxrange4);
            return 0;
        }
        int rc = datafile_intern_value(df, end, t->vt, &value);
        if (rc)
            return rc;
    }
    if (t->b.n >= IP4MAP_MAX_PREFIXES)
        return datafile_error(df, "more than %zu entries in one ip4trie dataset",
                              IP4MAP_MAX_PREFIXES);
    return ip4map_builder_add(&t->b, addr, bits, value);
}

static int ip4trie_finish(struct dataset *ds)
{
    struct ip4trie *t = ds->priv;
    size_t given = t->b.n;
    int rc = ip4map_build(&t->b, &t->map);
    if (rc)
        return rc;
    if (t->b.duplicates)
        /* As in rbldnsd the first entry for a prefix wins; say so. */
        log_warning("%s: %zu duplicate entries for the same prefix ignored (the first kept)",
                    ds->spec, t->b.duplicates);
    ds->entries = given - t->b.duplicates;
    ds->ip4_total = t->map.listed;
    ds->mem_bytes = sizeof(*t) + ip4map_bytes(&t->map) + vtab_bytes(t->vt);
    return 0;
}

static int ip4trie_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct ip4trie *t = ds->priv;
    if (q->ip4_octets == 0)
        return 0;
    if (q->ip4_octets == 4) {
        uint32_t v;
        if (!ip4map_lookup(&t->map, q->ip4, &v))
            return 0;
        res->exists = true;
        int rc = vtab_emit(t->vt, v, ds->ttl, res);
        return rc == ERR_SPACE ? 0 : rc;
    }
    /* A partial name exists when a listed address lies below it. */
    uint32_t span = (uint32_t)((1ull << (32 - 8 * q->ip4_octets)) - 1);
    if (ip4map_any(&t->map, q->ip4, q->ip4 + span))
        res->exists = true;
    return 0;
}

/* The flattened intervals with a value: the gaps and exclusions between
 * them start and end where these do. */
static int ip4trie_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct ip4trie *t = ds->priv;
    for (size_t i = 0; i < t->map.n; i++) {
        if (t->map.val[i] == IP4MAP_NONE)
            continue;
        uint32_t last = i + 1 < t->map.n ? t->map.start[i + 1] - 1 : UINT32_MAX;
        int rc = w->ip4(w, t->map.start[i], last);
        if (rc)
            return rc;
    }
    return 0;
}

const struct dataset_ops ds_ip4trie_ops = {
    .name = "ip4trie",
    .family = DS_FAM_IP4,
    .uses_values = true,
    .priv_size = sizeof(struct ip4trie),
    .create = ip4trie_create,
    .line = ip4trie_line,
    .finish = ip4trie_finish,
    .query = ip4trie_query,
    .destroy = ip4trie_destroy,
    .walk = ip4trie_walk,
};
