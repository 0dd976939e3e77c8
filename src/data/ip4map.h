/* A compact IPv4 lookup map for CIDR data (ip4trie): prefixes with values
 * and exclusions, longest prefix winning, are flattened once into
 * disjoint address intervals. A lookup is a table step on the upper 16
 * bits and a short bisection; memory is 8 bytes per interval, at most two
 * intervals per prefix. Building needs no more memory than the map it
 * makes: the prefixes are sorted in place and their pages given back as
 * the flattening consumes them. */
#ifndef DBK_DATA_IP4MAP_H
#define DBK_DATA_IP4MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/pagebuf.h"

#define IP4MAP_NONE UINT32_MAX /* value of an exclusion, and of the gaps */

/* A prefix as collected: 12 bytes, sorted in place by (start, meta). */
struct ip4map_prefix {
    uint32_t start; /* network address, host order, host bits clear */
    uint32_t meta;  /* prefix length << 26 | input order: of two equal
                       prefixes the first wins */
    uint32_t val;   /* value index, or IP4MAP_NONE for an exclusion */
};

/* The input order has 26 bits. */
#define IP4MAP_MAX_PREFIXES ((size_t)1 << 26)

/* Prefixes collected while loading, in pages that the flattening gives
 * back as it consumes them. */
struct ip4map_builder {
    struct pagebuf buf;
    size_t n;
    size_t duplicates; /* equal prefixes dropped by ip4map_build */
};

struct ip4map {
    uint32_t *start; /* interval i covers [start[i], start[i+1]) */
    uint32_t *val;
    size_t n;         /* intervals; start[0] == 0 */
    uint32_t *bucket; /* 65537 entries: interval holding address h << 16 */
    uint64_t listed;  /* addresses whose value is not IP4MAP_NONE */
};

void ip4map_builder_init(struct ip4map_builder *b);
void ip4map_builder_free(struct ip4map_builder *b);

/* Add a prefix (start must have its host bits clear, bits 0..32).
 * ERR_LIMIT past IP4MAP_MAX_PREFIXES. */
int ip4map_builder_add(struct ip4map_builder *b, uint32_t start, unsigned bits, uint32_t val);

/* Flatten the prefixes into a map; the builder is emptied. */
int ip4map_build(struct ip4map_builder *b, struct ip4map *out);

/* The value for an address; false when it has none (gap or exclusion). */
bool ip4map_lookup(const struct ip4map *m, uint32_t a, uint32_t *val);

/* Whether any address in [first, last] has a value. */
bool ip4map_any(const struct ip4map *m, uint32_t first, uint32_t last);

size_t ip4map_bytes(const struct ip4map *m);
void ip4map_free(struct ip4map *m);

#endif
