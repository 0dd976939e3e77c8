/* Growable arrays of the dataset types: the capacity doubles, so filling
 * an array element by element copies each element O(1) times. */
#ifndef DBK_DATA_ARRAY_H
#define DBK_DATA_ARRAY_H

#include <stddef.h>

/* Make the array *arr of *cap elements of elsize bytes hold at least
 * `need` elements: the capacity doubles, from `first` (> 0) for an
 * empty array, until it does. Returns 0, or ERR_NOMEM with *arr and *cap
 * unchanged. Call as array_reserve((void **)&a, &cap, n + 1, sizeof(*a),
 * first). */
int array_reserve(void **arr, size_t *cap, size_t need, size_t elsize, size_t first);

/* Give back the capacity beyond the first n elements (n > 0) once an
 * array is complete; left as it is if realloc will not. */
void array_shrink(void **arr, size_t *cap, size_t n, size_t elsize);

#endif
