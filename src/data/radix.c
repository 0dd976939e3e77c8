/* Radix sorts of 32- and 64-bit keys: LSD with a scratch array, 16 bits
 * per pass, and MSD in place. */
#include "data/radix.h"
#include "common/err.h"
#include "data/radix_inplace.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RADIX_DIGITS 65536

/* Turn digit counts into start offsets; false when one digit holds every
 * key, so the pass would not move anything. */
static bool radix_offsets(size_t *count, size_t n)
{
    size_t sum = 0;
    for (size_t d = 0; d < RADIX_DIGITS; d++) {
        size_t c = count[d];
        if (c == n)
            return false;
        count[d] = sum;
        sum += c;
    }
    return true;
}

/* One LSD sort per key width; the body is the same, only the type and
 * the number of digits differ. The counts live on the heap, not in
 * thread-local storage: every thread of the server would carry (and
 * touch) a copy. */
#define RADIX_SORT_DEFINE(name, type)                                                              \
    int name(type *a, type *tmp, size_t n)                                                         \
    {                                                                                              \
        size_t *count = malloc(RADIX_DIGITS * sizeof(*count));                                     \
        if (!count)                                                                                \
            return ERR_NOMEM;                                                                      \
        type *src = a, *dst = tmp;                                                                 \
        for (unsigned shift = 0; shift < 8 * sizeof(type); shift += 16) {                          \
            memset(count, 0, RADIX_DIGITS * sizeof(*count));                                       \
            for (size_t i = 0; i < n; i++)                                                         \
                count[(src[i] >> shift) & 0xffff]++;                                               \
            if (!radix_offsets(count, n))                                                          \
                continue;                                                                          \
            for (size_t i = 0; i < n; i++)                                                         \
                dst[count[(src[i] >> shift) & 0xffff]++] = src[i];                                 \
            type *t = src;                                                                         \
            src = dst;                                                                             \
            dst = t;                                                                               \
        }                                                                                          \
        if (src != a)                                                                              \
            memcpy(a, src, n * sizeof(*a));                                                        \
        free(count);                                                                               \
        return 0;                                                                                  \
    }

RADIX_SORT_DEFINE(radix_sort32, uint32_t)
RADIX_SORT_DEFINE(radix_sort64, uint64_t)

/* Keys are their own sort key. */
#define RADIX_KEY_SELF(v) (v)
RADIX_INPLACE_DEFINE(radix_flag64, uint64_t, RADIX_KEY_SELF)

void radix_sort64_inplace(uint64_t *a, size_t n)
{
    /* 8-bit digits from the top: 256 write cursors stay in cache, which
     * beats fewer passes with 65536 of them. */
    radix_flag64(a, n);
}

size_t radix_unique32(uint32_t *a, size_t n)
{
    if (n < 2)
        return n;
    size_t w = 1;
    for (size_t r = 1; r < n; r++)
        if (a[r] != a[w - 1])
            a[w++] = a[r];
    return w;
}
