/* The hash functions of every hash table in memprof, the shim's included: bytes, integers. */
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

/* MurmurHash3's 64-bit finalizer: every input bit moves every output bit, so keys that
 * differ in a few low bits (addresses, small ids) spread over a power-of-two table. */
static inline uint64_t hash_fmix64(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

/* Folds one integer into a running hash, then mixes it so that nearby addresses and
 * small ids do not cluster in the table. */
static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
        return hash_fmix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}
