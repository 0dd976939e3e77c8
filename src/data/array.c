/* Growable arrays of the dataset types. */
#include "data/array.h"
#include "common/err.h"

#include <stdint.h>
#include <stdlib.h>

int array_reserve(void **arr, size_t *cap, size_t need, size_t elsize, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : first;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return ERR_NOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elsize)
        return ERR_NOMEM;
    void *p = realloc(*arr, ncap * elsize);
    if (!p)
        return ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

void array_shrink(void **arr, size_t *cap, size_t n, size_t elsize)
{
    if (n == 0 || n >= *cap)
        return;
    void *p = realloc(*arr, n * elsize);
    if (p) {
        *arr = p;
        *cap = n;
    }
}
