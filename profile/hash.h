/* Hash functions for the encoder's deduplication tables: strings and tuples of integers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* FNV-1a: byte strings (names, file names) are short, so a simple byte loop is enough. */
static inline uint64_t hash_bytes(const void *data, size_t len)
{
        const unsigned char *s = data;
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < len; i++) {
                h ^= s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

/* Folds one integer into a running hash.  The splitmix64 finalizer spreads every input
 * bit so that nearby addresses and small ids do not cluster in the table. */
static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}
