/* Growing a malloc'd array by doubling: the one way the daemon's tables make room. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Makes room for `more` elements after the first n of *arrayp, an array of *cap
 * elements of `size` bytes: when it is short, the capacity doubles (starting at
 * `first`) until they fit, but never past `max` elements.  0, -E2BIG when n + more
 * exceeds max, or -ENOMEM; on failure the array and *cap are as they were.
 * arrayp points to the caller's array pointer, whatever its type (see ARRAY_RESERVE):
 * it is read and written with memcpy, so no pointer is accessed through another type.
 */
static inline int array_reserve(void *arrayp, size_t *cap, size_t n, size_t more, size_t size,
                                size_t first, size_t max)
{
        size_t want, ncap = *cap ? *cap : first ? first : 1;
        void *items, *grown;

        if (max > SIZE_MAX / size)
                max = SIZE_MAX / size;
        if (more > max || n > max - more)
                return -E2BIG;
        want = n + more;
        if (want <= *cap)
                return 0;
        while (ncap < want)
                ncap = ncap > max / 2 ? max : ncap * 2;
        if (ncap > max)
                ncap = max;
        memcpy(&items, arrayp, sizeof(items));
        grown = realloc(items, ncap * size);
        if (!grown)
                return -ENOMEM;
        memcpy(arrayp, &grown, sizeof(grown));
        *cap = ncap;
        return 0;
}

/* Room for `more` more elements in `array` (any T *) holding n of `cap`. */
#define ARRAY_RESERVE(array, cap, n, more, first, max)                                      \
        array_reserve(&(array), &(cap), (n), (more), sizeof(*(array)), (first), (max))
