/* The listings of one zone as the server answers from them: an immutable
 * base built from the database, plus a small sorted delta of the changes
 * since; a new version shares its predecessor's base and copies only the
 * delta, so a change is published in microseconds even at 10M listings.
 * When the delta grows past a share of the base, the next version merges
 * it into a new base (off the query path: versions are built by the
 * server's reload thread).
 *
 * Entries are hosts (IPv4 /32, IPv6 /64: the bulk, in flat sorted arrays)
 * or blocks (shorter prefixes: escalated /24s, manual CIDRs, allowlist
 * exclusions: few, in one small sorted array). An entry carries its
 * answer code and its expiry, so a listing ends on time without a write. */
#ifndef DBK_LISTING_LIVEMAP_H
#define DBK_LISTING_LIVEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listing/netkey.h"

#define LIVEMAP_EXCLUDE 0xFF /* code of an allowlist exclusion */

struct livemap_entry {
    struct netkey key;
    uint8_t code;     /* 127.0.0.code; LIVEMAP_EXCLUDE; in changes 0 =
                         remove the entry */
    uint32_t expires; /* unix time the listing ends; 0 = never */
};

struct livemap;

/* A first version from entries in any order (code 0 entries ignored; of
 * equal keys the last wins). */
int livemap_build(const struct livemap_entry *e, size_t n, struct livemap **out);

/* The next version: prev with changes applied in order (a later change of
 * a key overrides an earlier one). prev stays valid and unchanged. */
int livemap_apply(const struct livemap *prev, const struct livemap_entry *changes, size_t n,
                  struct livemap **out);

/* The answer for an address at `now`: an exclusion covering it wins;
 * else a host entry; else the longest block. Returns the code (never
 * LIVEMAP_EXCLUDE), or 0 when not listed. */
uint8_t livemap_lookup4(const struct livemap *m, uint32_t addr, uint32_t now);
uint8_t livemap_lookup6(const struct livemap *m, const uint8_t addr[16], uint32_t now);

/* Whether any address in [first, last] is listed at `now`, for partial
 * names (empty non-terminals); exclusions may be ignored here. */
bool livemap_any4(const struct livemap *m, uint32_t first, uint32_t last, uint32_t now);
/* The same for IPv6: addresses whose upper `nibbles` nibbles equal
 * prefix's. */
bool livemap_any6(const struct livemap *m, const uint8_t prefix[16], unsigned nibbles,
                  uint32_t now);

/* Visit the key of every entry a version may answer from: the base's
 * hosts, the delta's changes (removals too) and the blocks, in no
 * particular order, a key possibly more than once. For zone transfers,
 * which need every place an answer may change, not the answers. Stops at
 * the first nonzero return of fn and returns it. */
typedef int (*livemap_key_fn)(const struct netkey *key, void *arg);
int livemap_walk(const struct livemap *m, livemap_key_fn fn, void *arg);

/* Entries in force (whatever their expiry), and bytes held. */
size_t livemap_count(const struct livemap *m);
size_t livemap_bytes(const struct livemap *m);

/* Free a version; the base is freed with the last version sharing it. */
void livemap_free(struct livemap *m);

/* A first version from entries given one by one, for loading millions
 * from the database: IPv4 hosts that arrive in ascending order (the
 * database's key order) go straight into the final arrays, 9 bytes each,
 * with no staging copy; anything else is kept aside and merged when the
 * build finishes. The result is the same as livemap_build's on the same
 * entries. */
struct livemap_builder;

int livemap_builder_new(struct livemap_builder **out);
int livemap_builder_add(struct livemap_builder *b, const struct livemap_entry *e);
/* Make the version and free the builder (also on failure). */
int livemap_builder_finish(struct livemap_builder *b, struct livemap **out);
void livemap_builder_free(struct livemap_builder *b);

#endif
