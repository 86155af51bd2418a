/* Amortized growth of the encoder's flat arrays, so appending n items costs O(n). */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for `need` elements of `elsize` bytes in *items (capacity *cap), doubling
 * so that a stream of appends reallocates only log(n) times.  On failure *items and
 * *cap are untouched, so the caller's array stays valid. */
static inline int array_reserve(void **items, size_t *cap, size_t need, size_t elsize)
{
        size_t n;
        void *p;

        if (need <= *cap)
                return 0;
        n = *cap ? *cap : 16;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return -ENOMEM;
                n *= 2;
        }
        if (n > SIZE_MAX / elsize)
                return -ENOMEM;
        p = realloc(*items, n * elsize);
        if (!p)
                return -ENOMEM;
        *items = p;
        *cap = n;
        return 0;
}

#define ARRAY_RESERVE(items, cap, need) \
        array_reserve((void **)&(items), &(cap), (need), sizeof(*(items)))
