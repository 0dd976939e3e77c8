/* A compact binary prefix trie (path-compressed, PATRICIA style) over keys
 * of up to 128 bits, mapping prefixes to a uint32 value; the index behind
 * ip6trie and acl (ip4trie flattens its prefixes with ip4map instead).
 *
 * Keys are byte strings in network order, most significant bit first: an
 * IPv4 address is its 4 bytes, an IPv6 address its 16. A prefix is a key
 * and a length in bits; bits past the length are ignored. Building is
 * single-threaded; once built, lookups may run from any number of threads
 * at once and never allocate. */
#ifndef DBK_DATA_BTRIE_H
#define DBK_DATA_BTRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BTRIE_MAXBITS 128

/* A value that btrie_any_under can be told to skip; callers commonly use it
 * to mark exclusions. Nothing stops storing it. */
#define BTRIE_NOVALUE UINT32_MAX

struct btrie;

/* The key of an IPv4 address given in host order: its 4 bytes in network
 * order, zero-padded to the 16 bytes every key may be read as. */
static inline void btrie_key_ip4(uint32_t addr, uint8_t key[16])
{
    key[0] = (uint8_t)(addr >> 24);
    key[1] = (uint8_t)(addr >> 16);
    key[2] = (uint8_t)(addr >> 8);
    key[3] = (uint8_t)addr;
    for (int i = 4; i < 16; i++)
        key[i] = 0;
}

/* Create an empty trie. */
int btrie_new(struct btrie **out);
void btrie_free(struct btrie *t);

/* Store `value` for the prefix key/bits (bits 0..128). Returns 0, ERR_EXISTS
 * when that exact prefix already holds a value (the old value is kept and
 * written to *old if old is not NULL), ERR_RANGE for bits > 128, or
 * ERR_NOMEM. */
int btrie_insert(struct btrie *t, const uint8_t *key, unsigned bits, uint32_t value, uint32_t *old);

/* Longest-prefix match: among the stored prefixes of length <= bits that
 * contain key, find the longest. Returns true and sets *value (and *plen,
 * if not NULL, to its length) when there is one. Pass bits = 32 for a full
 * IPv4 key, 128 for IPv6, less for a partial key. */
bool btrie_lookup(const struct btrie *t, const uint8_t *key, unsigned bits, uint32_t *value,
                  unsigned *plen);

/* True if some stored prefix of length >= bits lies inside key/bits
 * (the prefix itself included) with a value other than `skip` (pass
 * BTRIE_NOVALUE to count every value). Used for empty non-terminals. */
bool btrie_any_under(const struct btrie *t, const uint8_t *key, unsigned bits, uint32_t skip);

/* Visit every stored prefix in key order, shorter prefixes before the
 * longer ones inside them. `parent` points to the value of the nearest
 * stored prefix containing this one, or is NULL when there is none. The
 * walk stops when fn returns nonzero, and that value is returned. */
typedef int (*btrie_walk_fn)(const uint8_t key[16], unsigned bits, uint32_t value,
                             const uint32_t *parent, void *arg);
int btrie_walk(const struct btrie *t, btrie_walk_fn fn, void *arg);

/* Give back the spare room kept for further inserts, once building is
 * done (inserting afterwards still works). */
void btrie_shrink(struct btrie *t);

/* Number of stored prefixes and bytes of memory held. */
size_t btrie_count(const struct btrie *t);
size_t btrie_bytes(const struct btrie *t);

#endif
