/* Sorting arrays of integer keys by radix: counting passes over 16-bit
 * digits, linear in the number of keys, for the loaders that sort
 * millions of addresses. A pass whose digit is the same for every key is
 * skipped. */
#ifndef DBK_DATA_RADIX_H
#define DBK_DATA_RADIX_H

#include <stddef.h>
#include <stdint.h>

/* Sort a[0..n) ascending, using tmp[0..n) as scratch. Returns 0, or
 * ERR_NOMEM (a unchanged) when the digit counts cannot be allocated. */
int radix_sort32(uint32_t *a, uint32_t *tmp, size_t n);
int radix_sort64(uint64_t *a, uint64_t *tmp, size_t n);

/* Sort a[0..n) ascending in place, without a scratch array (MSD radix,
 * 8 bits per level, insertion sort for small buckets): for loaders whose
 * peak memory matters, as during a reload next to the serving data. */
void radix_sort64_inplace(uint64_t *a, size_t n);

/* Remove adjacent duplicates from a sorted array; returns the new count. */
size_t radix_unique32(uint32_t *a, size_t n);

#endif
