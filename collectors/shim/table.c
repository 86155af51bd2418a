/* Interning sampled stacks and (stack, size) buckets into the segment's append-only
 * tables, and the private table of live sampled objects.  All under mp_lock, but for
 * the hash of a stack, which the caller computes before taking it. */
#include <errno.h>
#include <string.h>

#include "memprof/hash.h" /* header-only: nothing of the daemon's is called */
#include "shim.h"

/* One multiply per frame and a full mix at the end: the index needs spread, not
 * strength (a collision costs one memcmp), and this runs on every sample. */
uint64_t mp_stack_hash(const uint64_t *pcs, uint32_t depth)
{
        uint64_t h = depth;
#pragma GCC unroll 4
        for (uint32_t i = 0; i < depth; i++)
                h = (h ^ pcs[i]) * 0x9e3779b97f4a7c15ull;
        return hash_fmix64(h);
}

/*
 * The stack and bucket indices (entry + 1 per slot, 0 empty, linear probing) have room
 * reserved for the tables' full capacity, 1.5 MiB at the default rate, but start at
 * INDEX_START slots and double as they fill, kept at most half full: a hash spreads
 * entries over every page of an index, and a program with a few thousand sampled sites
 * then writes a few pages instead of all of them (churn: ~500 page faults fewer).  A
 * doubling files the entries again from the segment's own tables, under mp_lock;
 * mp_table_prefault reads a mask without it, and a stale mask is a smaller one, naming
 * a slot that exists.
 */
#define INDEX_START 4096u

static uint32_t stack_home(uint32_t stack, uint32_t mask)
{
        return (uint32_t)mp.stacks[stack].hash & mask;
}

static uint32_t bucket_home(uint64_t stack_hash, uint64_t size, uint32_t mask)
{
        return (uint32_t)hash_fmix64(stack_hash ^ size * 0x9e3779b97f4a7c15ull) & mask;
}

static uint32_t bucket_home_of(uint32_t bucket, uint32_t mask)
{
        const struct mp_bucket *b = &mp.buckets[bucket];
        return bucket_home(mp.stacks[b->stack].hash, b->size, mask);
}

/* Doubles an index and files its n entries again. */
static __attribute__((noinline, cold)) void index_grow(uint32_t *slots, uint32_t *mask,
                                                       uint32_t n,
                                                       uint32_t (*home)(uint32_t, uint32_t))
{
        uint32_t m = *mask * 2 + 1;
        for (uint32_t i = 0; i <= *mask; i++)
                __atomic_store_n(&slots[i], 0, __ATOMIC_RELAXED);
        for (uint32_t e = 0; e < n; e++) {
                uint32_t i = home(e, m);
                while (slots[i])
                        i = (i + 1) & m;
                __atomic_store_n(&slots[i], e + 1, __ATOMIC_RELAXED);
        }
        __atomic_store_n(mask, m, __ATOMIC_RELAXED);
}

/* Room for one more of n entries, the index kept at most half full. */
static inline void index_make_room(uint32_t *slots, uint32_t *mask, uint32_t max, uint32_t n,
                                   uint32_t (*home)(uint32_t, uint32_t))
{
        if (unlikely((uint64_t)(n + 1) * 2 > (uint64_t)*mask + 1) && *mask < max)
                index_grow(slots, mask, n, home);
}

void mp_table_indices_reset(void)
{
        mp.stack_index_mask = mp.stack_index_max < INDEX_START ? mp.stack_index_max
                                                               : INDEX_START - 1;
        mp.bucket_index_mask = mp.bucket_index_max < INDEX_START ? mp.bucket_index_max
                                                                 : INDEX_START - 1;
}

static int intern_stack(const uint64_t *pcs, uint32_t depth, uint64_t h, uint32_t *ret)
{
        struct mp_seg_header *hdr = mp.hdr;
        index_make_room(mp.stack_index, &mp.stack_index_mask, mp.stack_index_max,
                        hdr->nstacks, stack_home);
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
        /* the index grows to 2x cap entries: never full */
        __atomic_store_n(&mp.stack_index[i], n + 1, __ATOMIC_RELAXED);
        *ret = n;
        return 0;
}

static int intern_bucket(uint32_t stack, uint64_t stack_hash, uint64_t size, uint32_t *ret)
{
        struct mp_seg_header *hdr = mp.hdr;
        index_make_room(mp.bucket_index, &mp.bucket_index_mask, mp.bucket_index_max,
                        hdr->nbuckets, bucket_home_of);
        uint32_t i = bucket_home(stack_hash, size, mp.bucket_index_mask);
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
        __atomic_store_n(&mp.bucket_index[i], n + 1, __ATOMIC_RELAXED);
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

int mp_table_record(const uint64_t *pcs, uint32_t depth, uint64_t hash, uint64_t size,
                    uint32_t *ret_live)
{
        uint32_t stack, bucket, live;
        int r = intern_stack(pcs, depth, hash, &stack);
        if (r < 0)
                return r;
        r = intern_bucket(stack, hash, size, &bucket);
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

void mp_table_commit(uint32_t live, void *ptr, uint32_t offset)
{
        struct mp_bucket *b = &mp.buckets[mp.live[live].bucket];
        mp.live[live].offset = offset;
        mp.live[live].gen = mp.gen;
        __atomic_store_n(&mp.live[live].ptr, (uintptr_t)ptr, __ATOMIC_RELEASE);
        __atomic_store_n(&b->allocs, b->allocs + 1, __ATOMIC_RELEASE);
        __atomic_fetch_add(&mp.hdr->samples, 1, __ATOMIC_RELAXED);
}

void mp_table_abort(uint32_t live)
{
        live_put(live);
}

/* Ends a live entry, counting the free in its bucket unless the object was inherited
 * across fork (its bucket is in the parent's segment). */
bool mp_table_release(uint32_t live, void *ptr)
{
        if (!mp.priv || live >= mp.live_used || mp.live[live].ptr != (uintptr_t)ptr)
                return false;
        if (mp.live[live].gen == mp.gen) {
                struct mp_bucket *b = &mp.buckets[mp.live[live].bucket];
                __atomic_store_n(&b->frees, b->frees + 1, __ATOMIC_RELEASE);
        }
        live_put(live);
        return true;
}

/*
 * The address index: open addressing over live indices + 1 (0 = empty, ADDR_DELETED =
 * deleted), each entry confirmed by mp.live[].ptr.  Written under mp_lock, read
 * without it by the thread that frees the pointer, which is sound because, while p
 * is live, its entry and every slot on the probe path to it stay non-empty: a deleted
 * slot is emptied only when the slot after it is empty, so never inside a path that
 * leads further on.  No entry sits more than ADDR_PROBES slots from its home, which
 * bounds a miss (the cost of freeing a page-aligned unsampled pointer); an insert that
 * finds no room there drops the sample.
 */
#define ADDR_DELETED UINT32_MAX
#define ADDR_PROBES 32u

/* Indexed objects lie about a page apart or more (sparse: each has a block of its own
 * with a page more than it asked for; dense indexes only objects that start within 16
 * bytes of a page), so a page number is a home few share, and objects near each other
 * in the heap share the index's pages: a run of samples writes a few pages of the
 * index, not one page each.  The bits above 1 GiB are mixed in, so that arenas and
 * mappings far apart do not pile onto the same homes. */
static uint32_t addr_home(uintptr_t p)
{
        if (unlikely(mp.late) && !mp_sparse()) /* attached, dense: any two 16 bytes apart */
                return (uint32_t)hash_fmix64(p >> 4) & mp.addr_index_mask;
        return (uint32_t)((p >> 12) + hash_fmix64(p >> 30)) & mp.addr_index_mask;
}

/*
 * The private indices are zero pages until written, and each new stack, bucket and
 * sampled object lands on a page picked by its hash: first writes there fault, and
 * faulting under mp_lock kept the other threads waiting (a fifth of churn's lock
 * takes at the default rate).  So the slots are written before the lock is taken,
 * with an atomic add of 0, which changes nothing whoever holds the lock.  Only at
 * sparse rates: back to back, samples find those pages written (sqlite3 at rate 1:
 * 27 instructions and two locked adds a sample for nothing).
 */
void mp_table_prefault(uint64_t stack_hash, uint64_t size, uintptr_t p)
{
        uint32_t sm = __atomic_load_n(&mp.stack_index_mask, __ATOMIC_RELAXED);
        uint32_t bm = __atomic_load_n(&mp.bucket_index_mask, __ATOMIC_RELAXED);

        __atomic_fetch_add(&mp.stack_index[stack_hash & sm], 0, __ATOMIC_RELAXED);
        __atomic_fetch_add(&mp.bucket_index[bucket_home(stack_hash, size, bm)], 0,
                           __ATOMIC_RELAXED);
        if (mp_sparse())
                __atomic_fetch_add(&mp.addr_index[addr_home(p)], 0, __ATOMIC_RELAXED);
}

bool mp_addr_add(uintptr_t p, uint32_t live)
{
        uint32_t i = addr_home(p);
        for (uint32_t n = 0; n < ADDR_PROBES; n++, i = (i + 1) & mp.addr_index_mask) {
                uint32_t e = mp.addr_index[i];
                if (e == 0 || e == ADDR_DELETED) {
                        __atomic_store_n(&mp.addr_index[i], live + 1, __ATOMIC_RELEASE);
                        return true;
                }
        }
        return false;
}

uint32_t mp_addr_find(uintptr_t p)
{
        /* once published, the tables stay mapped for the life of the process tree */
        uint32_t *index = __atomic_load_n(&mp.addr_index, __ATOMIC_ACQUIRE);
        if (!index)
                return MP_LIVE_NONE;
        uint32_t i = addr_home(p);
        for (uint32_t n = 0; n < ADDR_PROBES; n++, i = (i + 1) & mp.addr_index_mask) {
                uint32_t e = __atomic_load_n(&index[i], __ATOMIC_ACQUIRE);
                if (e == 0)
                        break;
                if (e != ADDR_DELETED && e - 1 < mp.live_cap &&
                    __atomic_load_n(&mp.live[e - 1].ptr, __ATOMIC_RELAXED) == p)
                        return e - 1;
        }
        return MP_LIVE_NONE;
}

void mp_addr_del(uintptr_t p)
{
        uint32_t i = addr_home(p), m = mp.addr_index_mask;
        for (uint32_t n = 0; n < ADDR_PROBES; n++, i = (i + 1) & m) {
                uint32_t e = mp.addr_index[i];
                if (e == 0)
                        return;
                if (e == ADDR_DELETED || mp.live[e - 1].ptr != p)
                        continue;
                __atomic_store_n(&mp.addr_index[i], ADDR_DELETED, __ATOMIC_RELEASE);
                /* empty this and the deleted slots before it while the next is empty */
                for (uint32_t k = 0; k <= m && mp.addr_index[(i + 1) & m] == 0 &&
                                     mp.addr_index[i] == ADDR_DELETED; k++, i = (i - 1) & m)
                        __atomic_store_n(&mp.addr_index[i], 0, __ATOMIC_RELEASE);
                return;
        }
}
