/* Path-compressed binary prefix trie over keys of up to 128 bits. */
#include "data/btrie.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

/* Nodes live in one array and refer to each other by index, so growing the
 * array never leaves dangling pointers. Index 0 is the root (the empty
 * prefix) and, since the root is nobody's child, 0 also means "no child". */
struct btrie_node {
    uint8_t key[16]; /* bits past `bits` are zero */
    uint32_t child[2];
    uint32_t value;
    uint8_t bits; /* 0..128 */
    bool has_value;
};

struct btrie {
    struct btrie_node *nodes;
    uint32_t used, cap;
    size_t count;
};

static unsigned key_bit(const uint8_t *key, unsigned i)
{
    return (key[i >> 3] >> (7 - (i & 7))) & 1u;
}

/* Length of the common prefix of a and b, looking at most at `limit` bits. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned limit)
{
    unsigned i = 0;
    while (i + 8 <= limit && a[i >> 3] == b[i >> 3])
        i += 8;
    while (i < limit && key_bit(a, i) == key_bit(b, i))
        i++;
    return i;
}

/* Whether a and b agree on bits [from, to). Walks down the trie compare
 * only the bits a node skips, since its ancestors checked the rest. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned from, unsigned to)
{
    if (from >= to)
        return true;
    unsigned first = from >> 3, last = (to - 1) >> 3;
    for (unsigned i = first; i <= last; i++) {
        uint8_t mask = 0xFF;
        if (i == first)
            mask &= (uint8_t)(0xFFu >> (from & 7));
        if (i == last && (to & 7))
            mask &= (uint8_t)(0xFFu << (8 - (to & 7)));
        if ((a[i] ^ b[i]) & mask)
            return false;
    }
    return true;
}

static void key_truncate(uint8_t out[16], const uint8_t *key, unsigned bits)
{
    memset(out, 0, 16);
    memcpy(out, key, (bits + 7) / 8);
    if (bits & 7)
        out[bits >> 3] &= (uint8_t)(0xFFu << (8 - (bits & 7)));
}

int btrie_new(struct btrie **out)
{
    struct btrie *t = calloc(1, sizeof(*t));
    if (!t)
        return ERR_NOMEM;
    t->cap = 16;
    t->nodes = calloc(t->cap, sizeof(*t->nodes));
    if (!t->nodes) {
        free(t);
        return ERR_NOMEM;
    }
    t->used = 1; /* the root, already zeroed */
    *out = t;
    return 0;
}

void btrie_free(struct btrie *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t);
}

/* Make room for `extra` more nodes, so indices taken before the growth
 * stay usable and node_new cannot fail halfway through an insert. */
static int reserve(struct btrie *t, uint32_t extra)
{
    if (t->cap - t->used >= extra)
        return 0;
    if (t->cap > UINT32_MAX / 2)
        return ERR_NOMEM;
    uint32_t ncap = t->cap * 2;
    struct btrie_node *n = realloc(t->nodes, (size_t)ncap * sizeof(*n));
    if (!n)
        return ERR_NOMEM;
    t->nodes = n;
    t->cap = ncap;
    return 0;
}

/* Take a reserved node and return its index. */
static uint32_t node_new(struct btrie *t, const uint8_t *key, unsigned bits)
{
    uint32_t idx = t->used++;
    struct btrie_node *n = &t->nodes[idx];
    memset(n, 0, sizeof(*n));
    key_truncate(n->key, key, bits);
    n->bits = (uint8_t)bits;
    return idx;
}

static int node_set(struct btrie *t, uint32_t idx, uint32_t value, uint32_t *old)
{
    struct btrie_node *n = &t->nodes[idx];
    if (n->has_value) {
        if (old)
            *old = n->value;
        return ERR_EXISTS;
    }
    n->has_value = true;
    n->value = value;
    t->count++;
    return 0;
}

int btrie_insert(struct btrie *t, const uint8_t *key, unsigned bits, uint32_t value, uint32_t *old)
{
    if (bits > BTRIE_MAXBITS)
        return ERR_RANGE;
    /* An insert adds two nodes at most. */
    int rc = reserve(t, 2);
    if (rc)
        return rc;

    uint32_t cur = 0;
    for (;;) {
        /* Invariant: nodes[cur] is a prefix of key/bits. */
        if (t->nodes[cur].bits == bits)
            return node_set(t, cur, value, old);
        unsigned dir = key_bit(key, t->nodes[cur].bits);
        uint32_t c = t->nodes[cur].child[dir];
        if (c == 0) {
            uint32_t leaf = node_new(t, key, bits);
            t->nodes[cur].child[dir] = leaf;
            return node_set(t, leaf, value, old);
        }
        unsigned cbits = t->nodes[c].bits;
        unsigned lim = cbits < bits ? cbits : bits;
        unsigned common = common_bits(key, t->nodes[c].key, lim);
        if (common == cbits) {
            cur = c;
            continue;
        }
        if (common == bits) {
            /* The new prefix sits between cur and c. */
            uint32_t mid = node_new(t, key, bits);
            t->nodes[mid].child[key_bit(t->nodes[c].key, bits)] = c;
            t->nodes[cur].child[dir] = mid;
            return node_set(t, mid, value, old);
        }
        /* Diverge at bit `common`: a valueless fork with both below it. */
        uint32_t fork = node_new(t, key, common);
        uint32_t leaf = node_new(t, key, bits);
        t->nodes[fork].child[key_bit(key, common)] = leaf;
        t->nodes[fork].child[key_bit(t->nodes[c].key, common)] = c;
        t->nodes[cur].child[dir] = fork;
        return node_set(t, leaf, value, old);
    }
}

bool btrie_lookup(const struct btrie *t, const uint8_t *key, unsigned bits, uint32_t *value,
                  unsigned *plen)
{
    bool found = false;
    uint32_t cur = 0;
    unsigned checked = 0; /* leading bits known to match */
    if (bits > BTRIE_MAXBITS)
        bits = BTRIE_MAXBITS;
    for (;;) {
        const struct btrie_node *n = &t->nodes[cur];
        if (n->bits > bits || !bits_equal(key, n->key, checked, n->bits))
            break;
        checked = n->bits;
        if (n->has_value) {
            found = true;
            *value = n->value;
            if (plen)
                *plen = n->bits;
        }
        if (n->bits == bits)
            break;
        cur = n->child[key_bit(key, n->bits)];
        if (cur == 0)
            break;
    }
    return found;
}

/* Depth-first search below idx for a value other than skip, with an
 * explicit stack (the depth is bounded by the key width) so it neither
 * recurses nor allocates. */
static bool subtree_has(const struct btrie *t, uint32_t idx, uint32_t skip)
{
    uint32_t stack[2 * BTRIE_MAXBITS + 2];
    unsigned sp = 0;
    stack[sp++] = idx;
    while (sp > 0) {
        const struct btrie_node *n = &t->nodes[stack[--sp]];
        if (n->has_value && n->value != skip)
            return true;
        for (int d = 1; d >= 0; d--)
            if (n->child[d])
                stack[sp++] = n->child[d];
    }
    return false;
}

bool btrie_any_under(const struct btrie *t, const uint8_t *key, unsigned bits, uint32_t skip)
{
    if (bits > BTRIE_MAXBITS)
        return false;
    uint32_t cur = 0;
    unsigned checked = 0;
    for (;;) {
        const struct btrie_node *n = &t->nodes[cur];
        unsigned lim = n->bits < bits ? n->bits : bits;
        if (!bits_equal(key, n->key, checked, lim))
            return false;
        checked = lim;
        if (n->bits >= bits)
            return subtree_has(t, cur, skip);
        cur = n->child[key_bit(key, n->bits)];
        if (cur == 0)
            return false;
    }
}

int btrie_walk(const struct btrie *t, btrie_walk_fn fn, void *arg)
{
    /* Each stack entry carries the nearest valued ancestor of the node. */
    struct {
        uint32_t idx;
        uint32_t parent; /* node index of that ancestor; UINT32_MAX = none */
    } stack[2 * BTRIE_MAXBITS + 2];
    unsigned sp = 0;
    stack[sp].idx = 0;
    stack[sp++].parent = UINT32_MAX;
    while (sp > 0) {
        sp--;
        uint32_t idx = stack[sp].idx, parent = stack[sp].parent;
        const struct btrie_node *n = &t->nodes[idx];
        if (n->has_value) {
            const uint32_t *pv = parent == UINT32_MAX ? NULL : &t->nodes[parent].value;
            int rc = fn(n->key, n->bits, n->value, pv, arg);
            if (rc)
                return rc;
            parent = idx;
        }
        for (int d = 1; d >= 0; d--) {
            if (n->child[d]) {
                stack[sp].idx = n->child[d];
                stack[sp++].parent = parent;
            }
        }
    }
    return 0;
}

void btrie_shrink(struct btrie *t)
{
    if (t->used == t->cap)
        return;
    struct btrie_node *n = realloc(t->nodes, (size_t)t->used * sizeof(*n));
    if (n) { /* on failure the larger block simply stays */
        t->nodes = n;
        t->cap = t->used;
    }
}

size_t btrie_count(const struct btrie *t)
{
    return t->count;
}

size_t btrie_bytes(const struct btrie *t)
{
    return sizeof(*t) + (size_t)t->cap * sizeof(*t->nodes);
}
