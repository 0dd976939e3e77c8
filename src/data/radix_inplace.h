/* The in-place MSD radix sort (American flag sort, 8 bits per level,
 * insertion sort for small buckets) as a template over the element type,
 * for loaders whose peak memory matters: it needs no scratch array, only
 * 4 KiB of cursors per level on the stack.
 *
 * RADIX_INPLACE_DEFINE(name, type, key) defines
 *     static void name(type *a, size_t n)
 * sorting a[0..n) ascending by the 64-bit key(elem); elements with equal
 * keys end in no particular order. */
#ifndef DBK_DATA_RADIX_INPLACE_H
#define DBK_DATA_RADIX_INPLACE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RADIX_INPLACE_SMALL 32

#define RADIX_INPLACE_DEFINE(name, type, key)                                                      \
    static void name##_insertion(type *a, size_t n)                                                \
    {                                                                                              \
        for (size_t i = 1; i < n; i++) {                                                           \
            type v = a[i];                                                                         \
            uint64_t kv = key(v);                                                                  \
            size_t j = i;                                                                          \
            while (j > 0 && key(a[j - 1]) > kv) {                                                  \
                a[j] = a[j - 1];                                                                   \
                j--;                                                                               \
            }                                                                                      \
            a[j] = v;                                                                              \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    /* One level on the byte at `shift`: each element is swapped straight                          \
     * into its bucket, then each bucket is sorted on the next byte. */                            \
    static void name##_level(type *a, size_t n, unsigned shift)                                    \
    {                                                                                              \
        size_t next[256], end[256];                                                                \
        memset(end, 0, sizeof(end));                                                               \
        for (size_t i = 0; i < n; i++)                                                             \
            end[(key(a[i]) >> shift) & 0xff]++;                                                    \
        size_t sum = 0;                                                                            \
        for (size_t d = 0; d < 256; d++) {                                                         \
            next[d] = sum;                                                                         \
            sum += end[d];                                                                         \
            end[d] = sum;                                                                          \
        }                                                                                          \
        for (size_t d = 0; d < 256; d++) {                                                         \
            while (next[d] < end[d]) {                                                             \
                type v = a[next[d]];                                                               \
                size_t dv = (key(v) >> shift) & 0xff;                                              \
                while (dv != d) {                                                                  \
                    type t = a[next[dv]];                                                          \
                    a[next[dv]++] = v;                                                             \
                    v = t;                                                                         \
                    dv = (key(v) >> shift) & 0xff;                                                 \
                }                                                                                  \
                a[next[d]++] = v;                                                                  \
            }                                                                                      \
        }                                                                                          \
        if (shift == 0)                                                                            \
            return;                                                                                \
        size_t b = 0;                                                                              \
        for (size_t d = 0; d < 256; d++) {                                                         \
            if (end[d] - b <= RADIX_INPLACE_SMALL)                                                 \
                name##_insertion(a + b, end[d] - b);                                               \
            else                                                                                   \
                name##_level(a + b, end[d] - b, shift - 8);                                        \
            b = end[d];                                                                            \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static void name(type *a, size_t n)                                                            \
    {                                                                                              \
        if (n <= RADIX_INPLACE_SMALL)                                                              \
            name##_insertion(a, n);                                                                \
        else                                                                                       \
            name##_level(a, n, 56);                                                                \
    }

#endif
