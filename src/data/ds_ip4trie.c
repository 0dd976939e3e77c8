/* The ip4trie dataset type: IPv4 CIDR blocks with per-entry values and
 * exclusions, answered by longest-prefix match in a btrie. */
#include "common/err.h"
#include "data/btrie.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip4parse.h"
#include "data/value.h"

#include <stdlib.h>

/* Exclusions are stored with this value. */
#define IP4TRIE_EXCLUDED BTRIE_NOVALUE

struct ip4trie {
    struct btrie *bt;
    struct vtab *vt;
};

static void key_of(uint32_t a, uint8_t k[16])
{
    k[0] = (uint8_t)(a >> 24);
    k[1] = (uint8_t)(a >> 16);
    k[2] = (uint8_t)(a >> 8);
    k[3] = (uint8_t)a;
    for (int i = 4; i < 16; i++)
        k[i] = 0;
}

static int ip4trie_create(struct dataset *ds)
{
    struct ip4trie *t = ds->priv;
    int rc = btrie_new(&t->bt);
    return rc ? rc : vtab_new(&t->vt);
}

static void ip4trie_destroy(struct dataset *ds)
{
    struct ip4trie *t = ds->priv;
    btrie_free(t->bt);
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

    uint32_t value = IP4TRIE_EXCLUDED;
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
    uint8_t k[16];
    uint32_t old;
    key_of(addr, k);
    int rc = btrie_insert(t->bt, k, bits, value, &old);
    if (rc == ERR_EXISTS) {
        /* The first entry for a prefix wins; say so rather than guess. */
        datafile_warn(df, "duplicate entry for this prefix, keeping the first one");
        return 0;
    }
    return rc;
}

/* Count listed addresses: each stored prefix changes the state of all
 * addresses below it from its parent's to its own, so the total is the
 * sum of those changes. */
static int count_cb(const uint8_t key[16], unsigned bits, uint32_t value, const uint32_t *parent,
                    void *arg)
{
    int64_t *total = arg;
    int now = value != IP4TRIE_EXCLUDED;
    int before = parent && *parent != IP4TRIE_EXCLUDED;
    (void)key;
    *total += (int64_t)(now - before) * ((int64_t)1 << (32 - bits));
    return 0;
}

static int ip4trie_finish(struct dataset *ds)
{
    struct ip4trie *t = ds->priv;
    int64_t total = 0;
    btrie_shrink(t->bt);
    btrie_walk(t->bt, count_cb, &total);
    ds->ip4_total = total > 0 ? (uint64_t)total : 0;
    ds->entries = btrie_count(t->bt);
    ds->mem_bytes = sizeof(*t) + btrie_bytes(t->bt) + vtab_bytes(t->vt);
    return 0;
}

static int ip4trie_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct ip4trie *t = ds->priv;
    uint8_t k[16];
    uint32_t v;
    if (q->ip4_octets == 0)
        return 0;
    key_of(q->ip4, k);
    if (q->ip4_octets == 4) {
        if (!btrie_lookup(t->bt, k, 32, &v, NULL) || v == IP4TRIE_EXCLUDED)
            return 0;
        res->exists = true;
        int rc = vtab_emit(t->vt, v, ds->ttl, res);
        return rc == ERR_SPACE ? 0 : rc;
    }
    /* A partial name exists when listed addresses lie below it: a listed
     * block inside it, or a listed block containing all of it. */
    unsigned bits = 8 * q->ip4_octets;
    if (btrie_any_under(t->bt, k, bits, IP4TRIE_EXCLUDED) ||
        (btrie_lookup(t->bt, k, bits, &v, NULL) && v != IP4TRIE_EXCLUDED))
        res->exists = true;
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
};
