/* Sorting arrays of 32-bit keys by radix: two counting passes over 16-bit
 * digits, linear in the number of keys, for the loaders that sort
 * millions of addresses. */
#ifndef DBK_DATA_SORT32_H
#define DBK_DATA_SORT32_H

#include <stddef.h>
#include <stdint.h>

/* Sort a[0..n) ascending, using tmp[0..n) as scratch. */
void sort32_radix(uint32_t *a, uint32_t *tmp, size_t n);

/* Remove adjacent duplicates from a sorted array; returns the new count. */
size_t sort32_unique(uint32_t *a, size_t n);

#endif
