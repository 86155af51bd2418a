/* Memoized lookups of one binary: an open-addressing table into a pool of lines. */
#include "memo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/array.h"

/* Slots: a power of two, kept at most half full, grown from a small start so that a
 * binary with few hot addresses costs little. */
#define MEMO_MIN_SLOTS 1024
/* Most addresses have one or two lines; a pool of 3 per entry is a reset, not a limit. */

struct slot {
        uint64_t vaddr;
        uint32_t first; /* index into pool */
        uint16_t n;
        uint16_t used;
};

struct memo {
        struct slot *slots; /* allocated on first put */
        size_t nslots, count;
        struct sym_line *pool;
        size_t pool_len, pool_cap;
        size_t max_entries;
};

int memo_new(size_t max_entries, struct memo **ret) {
        if (max_entries == 0 || max_entries > UINT32_MAX / 3)
                return -EINVAL;
        struct memo *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->max_entries = max_entries;
        *ret = m;
        return 0;
}

void memo_free(struct memo *m) {
        if (!m)
                return;
        free(m->slots);
        free(m->pool);
        free(m);
}

static size_t slot_of(const struct memo *m, uint64_t vaddr) {
        /* Fibonacci hashing: code addresses differ in their low bits. */
        return (size_t) ((vaddr * 0x9e3779b97f4a7c15ull) >> 32) & (m->nslots - 1);
}

bool memo_get(struct memo *m, uint64_t vaddr, struct sym_line *lines, size_t *ret_n) {
        if (!m->slots)
                return false;
        for (size_t i = slot_of(m, vaddr); m->slots[i].used; i = (i + 1) & (m->nslots - 1)) {
                const struct slot *s = &m->slots[i];
                if (s->vaddr != vaddr)
                        continue;
                if (s->n > 0) /* the pool may not exist yet */
                        memcpy(lines, m->pool + s->first, s->n * sizeof(*lines));
                *ret_n = s->n;
                return true;
        }
        return false;
}

static void reset(struct memo *m) {
        memset(m->slots, 0, m->nslots * sizeof(*m->slots));
        m->count = 0;
        m->pool_len = 0;
}

static int grow(struct memo *m) {
        size_t n = m->nslots ? m->nslots * 2 : MEMO_MIN_SLOTS;
        struct slot *slots = calloc(n, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->nslots; i++) {
                if (!m->slots[i].used)
                        continue;
                size_t j = (size_t) ((m->slots[i].vaddr * 0x9e3779b97f4a7c15ull) >> 32) & (n - 1);
                while (slots[j].used)
                        j = (j + 1) & (n - 1);
                slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->nslots = n;
        return 0;
}

void memo_put(struct memo *m, uint64_t vaddr, const struct sym_line *lines, size_t n) {
        if (n > SYM_MAX_INLINE)
                return;
        size_t max_lines = m->max_entries * 3;
        if (m->count >= m->max_entries || m->pool_len + n > max_lines)
                reset(m);
        if ((m->count + 1) * 2 > m->nslots && m->nslots < m->max_entries * 2 && grow(m) < 0)
                return;
        if (m->nslots == 0 ||
            ARRAY_RESERVE(m->pool, m->pool_cap, m->pool_len, n, 1024, max_lines) < 0)
                return;

        size_t i = slot_of(m, vaddr);
        while (m->slots[i].used) {
                if (m->slots[i].vaddr == vaddr)
                        return; /* already known */
                i = (i + 1) & (m->nslots - 1);
        }
        if (n > 0)
                memcpy(m->pool + m->pool_len, lines, n * sizeof(*lines));
        m->slots[i] = (struct slot){ .vaddr = vaddr, .first = m->pool_len, .n = n, .used = 1 };
        m->pool_len += n;
        m->count++;
}

size_t memo_bytes(const struct memo *m) {
        return m->nslots * sizeof(*m->slots) + m->pool_cap * sizeof(*m->pool);
}
