/* Open-addressing hash set of array indexes with linear probing, kept at most half full. */
#include <errno.h>
#include <stdlib.h>

#include "idxmap.h"

bool idxmap_find(const struct idxmap *m, uint32_t hash, idxmap_match_fn match, const void *ctx,
                 uint32_t *ret_idx)
{
        if (!m->slots)
                return false;
        for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
                const struct idxmap_slot *s = &m->slots[i];

                if (s->idx1 == 0)
                        return false;
                /* The stored hash spares most calls into match(), which compares whole
                 * strings or line lists. */
                if (s->hash == hash && match(ctx, s->idx1 - 1)) {
                        *ret_idx = s->idx1 - 1;
                        return true;
                }
        }
}

static void place(struct idxmap_slot *slots, size_t mask, uint32_t hash, uint32_t idx1)
{
        size_t i = hash & mask;

        while (slots[i].idx1 != 0)
                i = (i + 1) & mask;
        slots[i] = (struct idxmap_slot){ .hash = hash, .idx1 = idx1 };
}

int idxmap_reserve(struct idxmap *m, size_t n)
{
        struct idxmap_slot *slots;
        size_t nslots = m->slots ? m->mask + 1 : 0;
        size_t want;

        if (n <= nslots / 2)
                return 0;
        /* Indexes are stored as uint32 + 1. */
        if (n >= UINT32_MAX)
                return -ENOMEM;
        want = nslots ? nslots : 64;
        while (n > want / 2)
                want *= 2;
        slots = calloc(want, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < nslots; i++)
                if (m->slots[i].idx1 != 0)
                        place(slots, want - 1, m->slots[i].hash, m->slots[i].idx1);
        free(m->slots);
        m->slots = slots;
        m->mask = want - 1;
        return 0;
}

void idxmap_insert(struct idxmap *m, uint32_t hash, uint32_t idx)
{
        place(m->slots, m->mask, hash, idx + 1);
        m->count++;
}

void idxmap_done(struct idxmap *m)
{
        free(m->slots);
        *m = (struct idxmap){ 0 };
}
