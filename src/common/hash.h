/* A 64-bit mixing step for hash tables keyed by what clients choose
 * (addresses, names): MurmurHash3's finalizer, in which every input bit
 * reaches every output bit, so a table may take its index from the low
 * bits and a tag from the high ones. Tables seed it with a secret. */
#ifndef DBK_COMMON_HASH_H
#define DBK_COMMON_HASH_H

#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

#endif
