/* Unit tests of array_reserve: growth by doubling, the cap, overflow, refusal leaving
 * the array as it was. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"
#include "memprof/array.h"

struct item {
        uint64_t a, b;
};

static void doubling(void)
{
        struct item *items = NULL;
        size_t n = 0, cap = 0;

        for (unsigned i = 0; i < 1000; i++) {
                CHECK(ARRAY_RESERVE(items, cap, n, 1, 16, 5000) == 0);
                items[n++] = (struct item){ i, ~(uint64_t)i };
        }
        CHECK(cap == 1024); /* 16, 32, ... 1024: doubled, never more than needed */
        for (unsigned i = 0; i < 1000; i++)
                CHECK(items[i].a == i && items[i].b == ~(uint64_t)i);
        free(items);
}

static void capped(void)
{
        int *v = NULL;
        size_t n = 0, cap = 0;

        while (ARRAY_RESERVE(v, cap, n, 1, 64, 100) == 0)
                v[n++] = 7;
        CHECK(n == 100 && cap == 100); /* 64, then clamped to the cap, not 128 */
        CHECK(ARRAY_RESERVE(v, cap, n, 1, 64, 100) == -E2BIG);
        CHECK(ARRAY_RESERVE(v, cap, 0, 101, 64, 100) == -E2BIG);
        CHECK(ARRAY_RESERVE(v, cap, 50, 50, 64, 100) == 0);
        free(v);
}

static void many_at_once(void)
{
        char *buf = NULL;
        size_t cap = 0;

        CHECK(ARRAY_RESERVE(buf, cap, 0, 3000, 1024, SIZE_MAX) == 0);
        CHECK(cap == 4096 && buf != NULL);
        CHECK(ARRAY_RESERVE(buf, cap, 4000, 96, 1024, SIZE_MAX) == 0 && cap == 4096);
        CHECK(ARRAY_RESERVE(buf, cap, 4000, 97, 1024, SIZE_MAX) == 0 && cap == 8192);
        free(buf);
}

static void overflow(void)
{
        struct item *items = NULL, *before;
        size_t n = 0, cap = 0;

        CHECK(ARRAY_RESERVE(items, cap, n, 4, 4, SIZE_MAX) == 0);
        before = items;
        /* more than fits in size_t bytes: refused, the array untouched */
        CHECK(ARRAY_RESERVE(items, cap, n, SIZE_MAX / 8, 4, SIZE_MAX) == -E2BIG);
        CHECK(items == before && cap == 4);
        CHECK(ARRAY_RESERVE(items, cap, SIZE_MAX - 2, 4, 4, SIZE_MAX) == -E2BIG);
        CHECK(items == before && cap == 4);
        free(items);
}

int main(void)
{
        doubling();
        capped();
        many_at_once();
        overflow();
        if (check_failures)
                return 1;
        printf("ok\n");
        return 0;
}
