/* Interning sampled stacks and (stack, size) buckets into the segment's append-only
 * tables, and the private table of live sampled objects.  All under mp_lock. */
#include <errno.h>
#include <string.h>

#include "shim.h"

static uint64_t mix(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return x;
}

static uint64_t stack_hash(const uint64_t *pcs, uint32_t depth)
{
        uint64_t h = depth;
        for (uint32_t i = 0; i < depth; i++)
                h = mix(h ^ pcs[i]) + i;
        return h;
}

static int intern_stack(const uint64_t *pcs, uint32_t depth, uint32_t *ret)
{
        struct mp_seg_header *hdr = mp.hdr;
        uint64_t h = stack_hash(pcs, depth);
        uint32_t i = (uint32_t)h & mp.stack_index_mask;
        for (;; i = (i + 1) & mp.stack_index_mask) {
                uint32_t e = mp.stack_index[i];
                if (!e)
                        break;
                const struct mp_stack *st = &mp.stacks[e - 1];
                if (st->hash == h && st->depth == depth &&
                    !memcmp(&mp.frames[st->frames_off], pcs, depth * sizeof(*pcs))) {
                        *ret = e - 1;
                        return 0;
                }
        }
        uint32_t n = hdr->nstacks, nf = hdr->nframes;
        if (n >= hdr->stacks_cap || depth > hdr->frames_cap - nf ||
            mp_seg_grow(MP_GROW_FRAMES, &mp.frames[nf + depth]) < 0 ||
            mp_seg_grow(MP_GROW_STACKS, &mp.stacks[n + 1]) < 0)
                return -ENOSPC;
        memcpy(&mp.frames[nf], pcs, depth * sizeof(*pcs));
        mp.stacks[n] = (struct mp_stack){ .hash = h, .frames_off = nf, .depth = depth };
        __atomic_store_n(&hdr->nframes, nf + depth, __ATOMIC_RELEASE);
        __atomic_store_n(&hdr->nstacks, n + 1, __ATOMIC_RELEASE);
        mp.stack_index[i] = n + 1; /* the index holds 2x cap entries: never full */
        *ret = n;
        return 0;
}

static int intern_bucket(uint32_t stack, uint64_t size, uint32_t *ret)
{
        struct mp_seg_header *hdr = mp.hdr;
        uint32_t i = (uint32_t)mix((uint64_t)stack << 40 ^ size) & mp.bucket_index_mask;
        for (;; i = (i + 1) & mp.bucket_index_mask) {
                uint32_t e = mp.bucket_index[i];
                if (!e)
                        break;
                const struct mp_bucket *b = &mp.buckets[e - 1];
                if (b->stack == stack && b->size == size) {
                        *ret = e - 1;
                        return 0;
                }
        }
        uint32_t n = hdr->nbuckets;
        if (n >= hdr->buckets_cap || mp_seg_grow(MP_GROW_BUCKETS, &mp.buckets[n + 1]) < 0)
                return -ENOSPC;
        mp.buckets[n] = (struct mp_bucket){ .stack = stack, .size = size };
        __atomic_store_n(&hdr->nbuckets, n + 1, __ATOMIC_RELEASE);
        mp.bucket_index[i] = n + 1;
        *ret = n;
        return 0;
}

static int live_get(uint32_t *ret)
{
        uint32_t i = mp.live_free;
        if (i != UINT32_MAX) {
                mp.live_free = mp.live[i].next_free;
        } else {
                if (mp.live_used >= mp.live_cap)
                        return -ENOSPC;
                i = mp.live_used++;
        }
        *ret = i;
        return 0;
}

static void live_put(uint32_t i)
{
        mp.live[i].ptr = 0;
        mp.live[i].next_free = mp.live_free;
        mp.live_free = i;
}

int mp_table_record(const uint64_t *pcs, uint32_t depth, uint64_t size, uint32_t *ret_live)
{
        uint32_t stack, bucket, live;
        int r = intern_stack(pcs, depth, &stack);
        if (r < 0)
                return r;
        r = intern_bucket(stack, size, &bucket);
        if (r < 0)
                return r;
        r = live_get(&live);
        if (r < 0)
                return r;
        mp.live[live].ptr = 0;
        mp.live[live].bucket = bucket;
        *ret_live = live;
        return 0;
}

void mp_table_commit(uint32_t live, void *ptr)
{
        struct mp_bucket *b = &mp.buckets[mp.live[live].bucket];
        mp.live[live].ptr = (uintptr_t)ptr;
        __atomic_store_n(&b->allocs, b->allocs + 1, __ATOMIC_RELEASE);
        __atomic_fetch_add(&mp.hdr->samples, 1, __ATOMIC_RELAXED);
}

void mp_table_abort(uint32_t live)
{
        live_put(live);
}

bool mp_table_release(uint32_t live, void *ptr)
{
        if (mp.mode != MP_READY || live >= mp.live_used || mp.live[live].ptr != (uintptr_t)ptr)
                return false;
        struct mp_bucket *b = &mp.buckets[mp.live[live].bucket];
        __atomic_store_n(&b->frees, b->frees + 1, __ATOMIC_RELEASE);
        live_put(live);
        return true;
}

/* Sampled pointers within 16 bytes of a page start, kept only when the allocator
 * underneath is not glibc (whose chunk header makes the bytes below always readable).
 * Open addressing; 0 = empty, 1 = deleted; looked up without the lock. */
#define LOWOFF_DELETED ((uintptr_t)1)

static uint32_t lowoff_slot(uintptr_t p)
{
        return (uint32_t)mix(p) & (MP_LOWOFF_CAP - 1);
}

bool mp_lowoff_add(uintptr_t p)
{
        uint32_t i = lowoff_slot(p);
        for (uint32_t n = 0; n < MP_LOWOFF_CAP; n++, i = (i + 1) & (MP_LOWOFF_CAP - 1)) {
                uintptr_t e = mp.lowoff[i];
                if (e == 0 || e == LOWOFF_DELETED) {
                        __atomic_store_n(&mp.lowoff[i], p, __ATOMIC_RELEASE);
                        return true;
                }
        }
        return false;
}

bool mp_lowoff_has(uintptr_t p)
{
        if (!mp.lowoff)
                return false;
        uint32_t i = lowoff_slot(p);
        for (uint32_t n = 0; n < MP_LOWOFF_CAP; n++, i = (i + 1) & (MP_LOWOFF_CAP - 1)) {
                uintptr_t e = __atomic_load_n(&mp.lowoff[i], __ATOMIC_ACQUIRE);
                if (e == p)
                        return true;
                if (e == 0)
                        return false;
        }
        return false;
}

void mp_lowoff_del(uintptr_t p)
{
        uint32_t i = lowoff_slot(p);
        for (uint32_t n = 0; n < MP_LOWOFF_CAP; n++, i = (i + 1) & (MP_LOWOFF_CAP - 1)) {
                if (mp.lowoff[i] == p) {
                        __atomic_store_n(&mp.lowoff[i], LOWOFF_DELETED, __ATOMIC_RELEASE);
                        return;
                }
                if (mp.lowoff[i] == 0)
                        return;
        }
}
