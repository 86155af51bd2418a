/* An open-addressing hash set of array indexes: the encoder keeps its items in flat
 * arrays and uses this to find an equal item already there. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idxmap_slot {
        uint32_t hash;
        uint32_t idx1; /* index + 1; 0 marks an empty slot */
};

struct idxmap {
        struct idxmap_slot *slots;
        size_t mask; /* slot count - 1; slot count is a power of two */
        size_t count;
};

/* Tells whether the item at idx equals the key the caller is looking for (in ctx). */
typedef bool (*idxmap_match_fn)(const void *ctx, uint32_t idx);

/* Finds an index whose item matches; false if there is none. */
bool idxmap_find(const struct idxmap *m, uint32_t hash, idxmap_match_fn match, const void *ctx,
                 uint32_t *ret_idx);

/* Makes room for n entries in all, so that the following inserts cannot fail. */
int idxmap_reserve(struct idxmap *m, size_t n);

/* Adds idx under hash; idxmap_reserve() must have made room for it. */
void idxmap_insert(struct idxmap *m, uint32_t hash, uint32_t idx);

void idxmap_done(struct idxmap *m);
