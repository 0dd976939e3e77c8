/* LSD radix sort of 32-bit keys, 16 bits per pass. */
#include "data/sort32.h"

#include <string.h>

#define SORT32_DIGITS 65536

void sort32_radix(uint32_t *a, uint32_t *tmp, size_t n)
{
    static _Thread_local size_t count[SORT32_DIGITS];
    uint32_t *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 32; shift += 16) {
        memset(count, 0, sizeof(count));
        for (size_t i = 0; i < n; i++)
            count[(src[i] >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < SORT32_DIGITS; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    /* Two passes: the result is back in a. */
}

size_t sort32_unique(uint32_t *a, size_t n)
{
    if (n < 2)
        return n;
    size_t w = 1;
    for (size_t r = 1; r < n; r++)
        if (a[r] != a[w - 1])
            a[w++] = a[r];
    return w;
}
