/* A set of 64-bit addresses that grows with what it holds, not with what it is shown:
 * stacks repeat a few thousand distinct frames millions of times, and a table sized for
 * the input would not stay in the cache. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct addrset {
        uint64_t *slots; /* key + 1; 0 marks an empty slot */
        size_t nslots, n;
};

static inline size_t addrset_slot(uint64_t key, size_t mask)
{
        return (size_t)(key * 0x9e3779b97f4a7c15ull >> 32) & mask;
}

static inline int addrset_grow(struct addrset *s)
{
        size_t nslots = s->nslots ? s->nslots * 2 : 256;
        uint64_t *slots = calloc(nslots, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < s->nslots; i++) {
                uint64_t k = s->slots[i];
                size_t j;

                if (!k)
                        continue;
                for (j = addrset_slot(k, nslots - 1); slots[j]; j = (j + 1) & (nslots - 1))
                        ;
                slots[j] = k;
        }
        free(s->slots);
        s->slots = slots;
        s->nslots = nslots;
        return 0;
}

/* 1 if a was new (and is now in the set), 0 if it was there, -ENOMEM. */
static inline int addrset_add(struct addrset *s, uint64_t a)
{
        uint64_t key = a + 1;
        size_t i;

        if ((s->n + 1) * 2 > s->nslots && addrset_grow(s) < 0)
                return -ENOMEM;
        for (i = addrset_slot(key, s->nslots - 1); s->slots[i]; i = (i + 1) & (s->nslots - 1))
                if (s->slots[i] == key)
                        return 0;
        s->slots[i] = key;
        s->n++;
        return 1;
}

static inline void addrset_free(struct addrset *s)
{
        free(s->slots);
        *s = (struct addrset){0};
}
