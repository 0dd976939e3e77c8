/* The ip6trie dataset type: IPv6 CIDR ranges with a value each and
 * exclusions; the longest matching prefix decides. */
#include "common/err.h"
#include "data/btrie.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip6parse.h"
#include "data/value.h"

/* Exclusions are stored as BTRIE_NOVALUE, so a lookup that lands on one
 * means "not listed" and btrie_any_under can skip them. */
struct ip6trie {
    struct btrie *trie;
    struct vtab *vt;
};

static int ip6trie_create(struct dataset *ds)
{
    struct ip6trie *t = ds->priv;
    int rc = btrie_new(&t->trie);
    return rc ? rc : vtab_new(&t->vt);
}

static void ip6trie_destroy(struct dataset *ds)
{
    struct ip6trie *t = ds->priv;
    btrie_free(t->trie);
    vtab_free(t->vt);
}

static int ip6trie_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct ip6trie *t = ds->priv;
    uint8_t addr[16];
    unsigned bits;
    const char *end;
    uint32_t value = BTRIE_NOVALUE;
    int rc;

    bool excl = datafile_exclusion(&line);
    if (ip6parse_cidr(line, addr, &bits, &end) < 0 || !ip6parse_tail_ok(*end))
        return datafile_error(df, "invalid IPv6 address or range");
    if (ip6parse_mask(addr, bits))
        return datafile_error(df, "invalid range (non-zero host part)");
    if (!excl) {
        const struct ds_limits *lim = &ds->ctx->limits;
        if (!lim->allow_world && bits < lim->min_prefix6)
            return datafile_error(df, "/%u is shorter than the minimum prefix length /%u", bits,
                                  lim->min_prefix6);
        if ((rc = datafile_intern_value(df, end, t->vt, &value)) < 0)
            return rc;
    }
    rc = btrie_insert(t->trie, addr, bits, value, NULL);
    if (rc == ERR_EXISTS) {
        /* rbldnsd keeps the first value given for a range. */
        datafile_warn(df, "duplicate entry for this range ignored");
        return 0;
    }
    return rc;
}

static int ip6trie_finish(struct dataset *ds)
{
    struct ip6trie *t = ds->priv;
    ds->entries = btrie_count(t->trie);
    ds->mem_bytes = sizeof(*t) + btrie_bytes(t->trie) + vtab_bytes(t->vt);
    return 0;
}

static int ip6trie_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct ip6trie *t = ds->priv;
    unsigned bits = q->ip6_nibbles * 4;
    uint32_t value;

    res->exists = false;
    if (q->ip6_nibbles == 0)
        return 0;
    bool hit = btrie_lookup(t->trie, q->ip6, bits, &value, NULL) && value != BTRIE_NOVALUE;
    if (bits == 128) {
        if (!hit)
            return 0;
        res->exists = true;
        int rc = vtab_emit(t->vt, value, ds->ttl, res);
        return rc == ERR_SPACE ? 0 : rc;
    }
    /* A partial name exists inside a listed range or above a listed one. */
    res->exists = hit || btrie_any_under(t->trie, q->ip6, bits, BTRIE_NOVALUE);
    return 0;
}

static int ip6trie_walk_cb(const uint8_t key[16], unsigned bits, uint32_t value,
                           const uint32_t *parent, void *arg)
{
    struct ds_walk *w = arg;
    uint8_t first[16], last[16];
    (void)value;
    (void)parent;
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
        uint8_t host = keep == 8 ? 0 : (uint8_t)(0xFFu >> keep);
        first[i] = key[i] & (uint8_t)~host;
        last[i] = key[i] | host;
    }
    return w->ip6(w, first, last);
}

/* Every prefix, exclusions included. */
static int ip6trie_walk(const struct dataset *ds, struct ds_walk *w)
{
    const struct ip6trie *t = ds->priv;
    return btrie_walk(t->trie, ip6trie_walk_cb, w);
}

const struct dataset_ops ds_ip6trie_ops = {
    .name = "ip6trie",
    .family = DS_FAM_IP6,
    .uses_values = true,
    .priv_size = sizeof(struct ip6trie),
    .create = ip6trie_create,
    .line = ip6trie_line,
    .finish = ip6trie_finish,
    .query = ip6trie_query,
    .destroy = ip6trie_destroy,
    .walk = ip6trie_walk,
};
