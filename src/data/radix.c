/* LSD radix sorts of 32- and 64-bit keys, 16 bits per pass. */
#include "data/radix.h"
#include "common/err.h"

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

static void radix_insertion64(uint64_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* One in-place MSD level (American flag sort) on the digit of `bits` bits
 * at `shift`: every key is swapped straight into its bucket, then each
 * bucket is sorted on the next 8 bits, down to insertion sort for small
 * buckets. next[] and end[] hold 2^bits entries each. */
static void radix_flag64(uint64_t *a, size_t n, unsigned shift, unsigned bits, size_t *next,
                         size_t *end)
{
    size_t digits = (size_t)1 << bits, mask = digits - 1;
    memset(end, 0, digits * sizeof(*end));
    for (size_t i = 0; i < n; i++)
        end[(a[i] >> shift) & mask]++;
    size_t sum = 0;
    for (size_t d = 0; d < digits; d++) {
        next[d] = sum;
        sum += end[d];
        end[d] = sum;
    }
    for (size_t d = 0; d < digits; d++) {
        while (next[d] < end[d]) {
            uint64_t v = a[next[d]];
            size_t dv = (v >> shift) & mask;
            while (dv != d) {
                uint64_t t = a[next[dv]];
                a[next[dv]++] = v;
                v = t;
                dv = (v >> shift) & mask;
            }
            a[next[d]++] = v;
        }
    }
    if (shift == 0)
        return;
    size_t b = 0;
    for (size_t d = 0; d < digits; d++) {
        size_t e = end[d];
        if (e - b <= 32) {
            radix_insertion64(a + b, e - b);
        } else {
            size_t n8[256], e8[256];
            radix_flag64(a + b, e - b, shift >= 8 ? shift - 8 : 0, 8, n8, e8);
        }
        b = e;
    }
}

void radix_sort64_inplace(uint64_t *a, size_t n)
{
    if (n <= 32) {
        radix_insertion64(a, n);
        return;
    }
    /* 8-bit digits from the top: 256 write cursors stay in cache, which
     * beats fewer passes with 65536 of them. */
    size_t next[256], end[256];
    radix_flag64(a, n, 56, 8, next, end);
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
