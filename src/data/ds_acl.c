/* The acl dataset type: client networks (IPv4 and IPv6 CIDR, as ip4trie
 * and ip6trie write them) with an action: ignore, refuse, empty, pass, or
 * a value that every query from there is answered "listed" with. It says
 * how to answer a client, never what is listed, so it has no family and
 * adds nothing to ip4_total. */
#include "common/err.h"
#include "data/btrie.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "data/ip4parse.h"
#include "data/ip6parse.h"
#include "data/value.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Trie values: an action, or else the vtab index of a "listed" value. */
enum {
    ACT_PASS = UINT32_MAX - 1,
    ACT_IGNORE = UINT32_MAX - 2,
    ACT_REFUSE = UINT32_MAX - 3,
    ACT_EMPTY = UINT32_MAX - 4,
};

struct acl {
    struct btrie *ip4, *ip6;
    struct vtab *vt;
    uint32_t def_action; /* for entries without a value; rbldnsd's is ignore */
    const char *file;    /* the file def_action was set in: it resets per file */
};

static int acl_create(struct dataset *ds)
{
    struct acl *a = ds->priv;
    a->def_action = ACT_IGNORE;
    if (btrie_new(&a->ip4) < 0 || btrie_new(&a->ip6) < 0 || vtab_new(&a->vt) < 0)
        return ERR_NOMEM;
    return 0;
}

static void acl_destroy(struct dataset *ds)
{
    struct acl *a = ds->priv;
    btrie_free(a->ip4);
    btrie_free(a->ip6);
    vtab_free(a->vt);
}

/* An action keyword at s, ending at the end, a blank, ':' or a comment;
 * 0 when s holds none. */
static uint32_t keyword(const char *s)
{
    static const struct {
        const char *name;
        uint32_t action;
    } words[] = {
        {"ignore", ACT_IGNORE}, {"blackhole", ACT_IGNORE}, {"refuse", ACT_REFUSE},
        {"empty", ACT_EMPTY},   {"pass", ACT_PASS},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i].name);
        char c = s[n];
        if (strncasecmp(s, words[i].name, n) == 0 &&
            (c == '\0' || c == ' ' || c == '\t' || c == ':' || c == '#' || c == ';'))
            return words[i].action;
    }
    return 0;
}

/* The action or value written after an entry (s past the address). */
static int parse_action(struct acl *a, struct datafile *df, const char *s, uint32_t *out)
{
    uint32_t act;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '#' || *s == ';') {
        *out = a->def_action;
        return 0;
    }
    if (*s == '=') {
        if (!(act = keyword(s + 1)))
            return datafile_error(df, "invalid acl keyword '%.30s'", s + 1);
        *out = act;
        return 0;
    }
    if (*s == ':' && (act = keyword(s + 1))) {
        *out = act;
        return 0;
    }
    return datafile_intern_value(df, s, a->vt, out);
}

static int acl_line(struct dataset *ds, struct datafile *df, char *line)
{
    struct acl *a = ds->priv;
    uint8_t key[16] = {0};
    unsigned bits;
    const char *end, *why = "invalid address";
    struct btrie *trie;
    uint32_t addr, value;
    int rc;

    if (df->path != a->file) {
        /* As in rbldnsd, each file of an acl starts from "ignore". */
        a->file = df->path;
        a->def_action = ACT_IGNORE;
    }
    if (line[0] == '$' || ((line[0] == '#' || line[0] == ':') && line[1] == '$'))
        return datafile_error(df, "unknown directive '%.40s'", line);
    if ((line[0] == ':' && line[1] != ':') || line[0] == '=') {
        /* A default: an action, or a value that also becomes the action. */
        uint32_t act = keyword(line + 1);
        if (act) {
            a->def_action = act;
            return 0;
        }
        if (line[0] == '=')
            return datafile_error(df, "invalid acl keyword '%.30s'", line + 1);
        if ((rc = datafile_default_value(df, line)) < 0)
            return rc;
        /* Entries without a value answer with it, the $= base template
         * applied as to any entry's value (as rbldnsd does). */
        return datafile_intern_value(df, "", a->vt, &a->def_action);
    }

    rc = ip4parse_cidr(line, 0, &addr, &bits, &end, &why);
    if (rc == 0) {
        if (df->maxrange4 && (bits == 0 || ((uint64_t)1 << (32 - bits)) > df->maxrange4)) {
            datafile_warn(df, "entry larger than $MAXRANGE4 (%u addresses), ignored",
                          df->maxrange4);
            return 0;
        }
        btrie_key_ip4(addr, key);
        trie = a->ip4;
    } else if (rc != ERR_RANGE && ip6parse_cidr(line, key, &bits, &end) == 0 &&
               ip6parse_tail_ok(*end)) {
        if (ip6parse_mask(key, bits))
            return datafile_error(df, "invalid range (non-zero host part)");
        trie = a->ip6;
    } else {
        size_t wlen = strcspn(line, " \t#;");
        if (rc != ERR_RANGE && memchr(line, ':', wlen))
            why = "invalid IPv6 address or range";
        return datafile_error(df, "%s", why ? why : "invalid address");
    }
    if ((rc = parse_action(a, df, end, &value)) < 0)
        return rc;
    rc = btrie_insert(trie, key, bits, value, NULL);
    if (rc == ERR_EXISTS) {
        datafile_warn(df, "duplicate entry for this network, keeping the first one");
        return 0;
    }
    return rc;
}

static int acl_finish(struct dataset *ds)
{
    struct acl *a = ds->priv;
    ds->entries = btrie_count(a->ip4) + btrie_count(a->ip6);
    ds->mem_bytes = sizeof(*a) + btrie_bytes(a->ip4) + btrie_bytes(a->ip6) + vtab_bytes(a->vt);
    return 0;
}

static int acl_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res)
{
    const struct acl *a = ds->priv;
    uint8_t key[16] = {0};
    uint32_t value;
    bool hit;

    if (q->client_family == AF_INET) {
        btrie_key_ip4(q->client_ip4, key);
        hit = btrie_lookup(a->ip4, key, 32, &value, NULL);
    } else if (q->client_family == AF_INET6) {
        hit = btrie_lookup(a->ip6, q->client_ip6, 128, &value, NULL);
    } else {
        return 0;
    }
    if (!hit)
        return 0;
    switch (value) {
    case ACT_PASS:
        res->acl = DS_ACL_PASS;
        return 0;
    case ACT_IGNORE:
        res->acl = DS_ACL_IGNORE;
        return 0;
    case ACT_REFUSE:
        res->acl = DS_ACL_REFUSE;
        return 0;
    case ACT_EMPTY:
        res->acl = DS_ACL_EMPTY;
        return 0;
    default:
        break;
    }
    /* Listed: '$' in the TXT stands for the client, not the query. */
    res->acl = DS_ACL_LISTED;
    res->subject = q->client_text;
    res->subject_len = q->client_text_len;
    int rc = vtab_emit(a->vt, value, ds->ttl, res);
    return rc == ERR_SPACE ? 0 : rc;
}

/* Nothing: an ACL says how to answer a client, never what is listed,
 * so a zone's transfer carries what a client no ACL entry matches gets. */
static int acl_walk(const struct dataset *ds, struct ds_walk *w)
{
    (void)ds;
    (void)w;
    return 0;
}

const struct dataset_ops ds_acl_ops = {
    .name = "acl",
    .family = 0,
    .uses_values = false, /* ":ignore" and "::1" are not default values */
    .priv_size = sizeof(struct acl),
    .create = acl_create,
    .line = acl_line,
    .finish = acl_finish,
    .query = acl_query,
    .walk = acl_walk,
    .destroy = acl_destroy,
};
