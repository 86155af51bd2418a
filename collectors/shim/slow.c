/* The slow paths: exact counting when a thread's countdown runs out, the Poisson
 * sampling decision, and allocating, recognising and freeing sampled objects. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

__thread int mp_tls_guard;
static __thread uint64_t tls_rng; /* for threads without a slot */

uint64_t mp_seed(void)
{
        uint64_t x = 0;
        int saved = errno;
        if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x)) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
                    (uint64_t)syscall(SYS_gettid) << 32 ^ (uintptr_t)&x;
        }
        errno = saved;
        return x ? x : 0x2545f4914f6cdd1dull;
}

static uint64_t xorshift(uint64_t *state)
{
        uint64_t x = *state;
        if (!x)
                x = mp_seed();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        return x;
}

/* Bytes until the next sample: exponential with mean `rate`, so that samples form a
 * Poisson process over allocated bytes and an object of size S is sampled with
 * probability 1 - exp(-S/rate), whatever the sizes around it. */
int64_t mp_next_countdown(uint64_t *rng)
{
        if (mp.rate == 0)
                return MP_OFF_COUNTDOWN;
        if (mp.rate == 1)
                return -1; /* every allocation, size 0 included */
        double u = (double)(xorshift(rng) >> 11) * 0x1.0p-53; /* [0, 1) */
        double d = -log1p(-u) * (double)mp.rate;
        return d >= 0x1.0p62 ? (int64_t)1 << 62 : (int64_t)d;
}

/* Moves the slot's countdown to a fresh draw, keeping bytes = base + start - countdown.
 * The exchange is one instruction, so an allocation in a signal handler that lands in
 * between is charged to either the old or the new countdown, never lost. */
void mp_slot_reset(struct mp_thread_slot *s)
{
        int64_t next = mp_next_countdown(&s->rng);
        __atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        int64_t old = __atomic_exchange_n(&s->countdown, next, __ATOMIC_RELAXED);
        __atomic_store_n(&s->bytes_base, s->bytes_base + (uint64_t)(s->countdown_start - old),
                         __ATOMIC_RELAXED);
        __atomic_store_n(&s->countdown_start, next, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        __atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
}

/* Counting for a thread that has no slot: atomics in the header, or before the segment
 * exists in process-private counters that segment creation folds in. */
static void count_slotless(uint64_t mallocs, uint64_t frees, uint64_t bytes)
{
        struct mp_seg_header *h = __atomic_load_n(&mp.hdr, __ATOMIC_ACQUIRE);
        if (h) {
                __atomic_fetch_add(&h->retired_mallocs, mallocs, __ATOMIC_RELAXED);
                __atomic_fetch_add(&h->retired_frees, frees, __ATOMIC_RELAXED);
                __atomic_fetch_add(&h->retired_bytes, bytes, __ATOMIC_RELAXED);
        } else if (mp.mode == MP_UNINIT) {
                __atomic_fetch_add(&mp.pre_mallocs, mallocs, __ATOMIC_RELAXED);
                __atomic_fetch_add(&mp.pre_frees, frees, __ATOMIC_RELAXED);
                __atomic_fetch_add(&mp.pre_bytes, bytes, __ATOMIC_RELAXED);
        }
}

static bool sample_slotless(size_t size)
{
        if (mp_tls_guard || mp.mode != MP_READY || mp.rate == 0)
                return false;
        if (mp.rate == 1)
                return true;
        return (uint64_t)mp_next_countdown(&tls_rng) < size;
}

bool mp_account(size_t size)
{
        struct mp_thread_slot *s = mp_tls_slot;
        if (unlikely(s == &mp_sentinel)) {
                s->countdown = MP_SENTINEL_COUNTDOWN;
                if (!mp_tls_guard) {
                        mp_tls_guard = 1;
                        int saved = errno;
                        mp_ensure();
                        mp_thread_attach();
                        errno = saved;
                        mp_tls_guard = 0;
                }
                s = mp_tls_slot;
                if (s == &mp_sentinel) {
                        count_slotless(1, 0, size);
                        return sample_slotless(size);
                }
                s->countdown -= size; /* charge the slot we just got */
                if (s->countdown >= 0) {
                        s->mallocs++;
                        return false;
                }
        }
        if (unlikely(s == &mp_off_slot)) {
                s->countdown = MP_OFF_COUNTDOWN;
                return false;
        }
        s->mallocs++;
        if (mp_tls_guard)
                return false; /* nested: counted, never sampled; the countdown stays spent */
        mp_tls_guard = 1; /* a handler's allocation must not reset the slot meanwhile */
        mp_slot_reset(s);
        if (mp.rate != 0)
                mp_mallinfo_maybe_refresh();
        mp_tls_guard = 0;
        return mp.rate != 0;
}

void mp_count_free(void)
{
        struct mp_thread_slot *s = mp_tls_slot;
        if (s == &mp_sentinel)
                count_slotless(0, 1, 0);
        else
                s->frees++;
}

/* The per-process-tree secret keys this hash, so a program's own data that happens to
 * hold the magic is not taken for a sampled object. */
uint32_t mp_obj_check(uintptr_t p, uint32_t live, uint32_t offset)
{
        uint64_t x = (uint64_t)p ^ mp.secret;
        x ^= ((uint64_t)live << 32 | offset) * 0x9e3779b97f4a7c15ull;
        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 29;
        return (uint32_t)(x >> 16);
}

/* The block under a sampled object: dense, room for the header in front; sparse,
 * `offset` more (at least a page) from plain malloc or calloc, so that the block the
 * allocator gets back on free is not page-aligned (see shim.h) and a calloc stays lazy.
 * Sets *offset to where the object starts in the block. */
static void *sample_block(size_t total, size_t align, bool zero, bool sparse, size_t *offset)
{
        void *base = NULL;
        if (align && !sparse) {
                int e = mp_real.posix_memalign(&base, align, total);
                if (e) {
                        base = NULL;
                        errno = e;
                }
        } else
                base = zero ? mp_real.calloc(1, total) : mp_real.malloc(total);
        if (sparse && base) /* the first multiple of `offset` past base */
                *offset = ((uintptr_t)base | (*offset - 1)) + 1 - (uintptr_t)base;
        return base;
}

/* Attached (see attach.c): the allocator's block itself, page-aligned when sparse so
 * that free's fast path sends it to the slow path.  A zeroed one is cleared by hand,
 * unless glibc mapped it fresh (IS_MMAPPED in the size word of its own chunk header,
 * below a pointer the shim has just allocated). */
static void *sample_block_late(size_t size, size_t align, bool zero, bool sparse)
{
        void *p = NULL;
        if (sparse && align <= MP_SPARSE_ALIGN) {
                mp_lock_take();
                p = mp_late_cache_get(size);
                mp_lock_release();
                if (p) {
                        if (zero)
                                memset(p, 0, size);
                        return p;
                }
        }
        if (sparse && align < MP_SPARSE_ALIGN)
                align = MP_SPARSE_ALIGN;
        if (!align)
                return zero ? mp_real.calloc(1, size) : mp_real.malloc(size);
        int e = mp_real.posix_memalign(&p, align, size);
        if (e) {
                errno = e;
                return NULL;
        }
        if (zero && !(mp.glibc && (((const size_t *)p)[-1] & 2)))
                memset(p, 0, size);
        return p;
}

/* The allocation itself for a sampled object, recorded under its stack.  The stack is
 * captured and the block allocated before mp_lock is taken, so the lock covers only
 * the table updates (a few hundred instructions) and threads that sample at the same
 * time do not queue behind each other's unwinding or allocator work.  Any failure to
 * record (tables full) leaves an ordinary, unsampled allocation. */
void *mp_sample_alloc(size_t size, size_t align, bool zero)
{
        int saved = errno;
        bool sparse = mp_sparse(), late = mp.late;
        size_t offset = align > 16 ? align : 16;
        if (sparse && offset < MP_SPARSE_ALIGN)
                offset = MP_SPARSE_ALIGN;
        if (late)
                offset = 0;
        size_t total;
        if (mp_tls_guard || mp.mode != MP_READY || __builtin_add_overflow(size, offset, &total))
                goto plain;

        mp_tls_guard = 1;
        uint64_t pcs[MP_MAX_DEPTH];
        uint32_t depth = mp_stack_capture(pcs, MP_MAX_DEPTH);
        uint64_t hash = mp_stack_hash(pcs, depth);
        errno = saved;
        void *base = late ? sample_block_late(size, align, zero, sparse) :
                            sample_block(total, align, zero, sparse, &offset);
        int after = errno;
        if (!base) { /* a plain allocation of `size` may still succeed */
                mp_tls_guard = 0;
                goto plain;
        }
        char *p = (char *)base + offset;
        /* sparse: every sampled object is found by address; dense: those whose header
         * free may not read without knowing it is there */
        bool indexed = sparse || late || (!mp.glibc && ((uintptr_t)p & 0xff0) == 0);
        uint32_t live;
        if (sparse) /* back to back, the slots' pages are warm */
                mp_table_prefault(hash, size, (uintptr_t)p);
        mp_lock_take();
        int r = depth ? mp_table_record(pcs, depth, hash, size, &live) : -ENOSPC;
        if (r == 0 && late) {
                /* a sampled block freed where the shim did not see it (a pointer to the
                 * allocator's free from before the attach) left its entry: it is gone */
                uint32_t stale = mp_addr_find((uintptr_t)p);
                if (stale != MP_LIVE_NONE) {
                        mp_addr_del((uintptr_t)p);
                        (void)mp_table_release(stale, p);
                }
        }
        if (r == 0 && indexed && !mp_addr_add((uintptr_t)p, live)) {
                mp_table_abort(live); /* no room to recognise it on free */
                r = -ENOSPC;
        }
        if (r < 0) {
                __atomic_fetch_add(&mp.hdr->lost_samples, 1, __ATOMIC_RELAXED);
                mp_lock_release();
                mp_tls_guard = 0;
                mp_real.free(base);
                goto plain;
        }
        if (!sparse && !late) {
                struct mp_obj_header *h = (struct mp_obj_header *)p - 1;
                h->magic = MP_OBJ_MAGIC;
                h->live = live;
                h->offset = (uint32_t)offset;
                h->check = mp_obj_check((uintptr_t)p, live, (uint32_t)offset);
        }
        mp_table_commit(live, p, sparse || late ? (uint32_t)offset : 0);
        mp_lock_release();
        mp_tls_guard = 0;
        errno = after;
        return p;

plain:
        errno = saved;
        if (align) {
                void *q = NULL;
                int e = mp_real.posix_memalign(&q, align, size);
                if (e)
                        errno = e;
                return e ? NULL : q;
        }
        return zero ? mp_real.calloc(1, size) : mp_real.malloc(size);
}

/*
 * Sparse mode: a sampled object reallocated as another sampled object, through the
 * allocator's realloc of the block under it, so a large block moves the way it would
 * without the shim (glibc remaps an mmap'd one) instead of being copied; the object
 * keeps its offset in the block, or is moved within it when the block's page offset
 * changed.  Returns false (nothing done) when this cannot be tried; true with *ret the
 * result otherwise, NULL with errno set and p untouched when the allocator failed.
 */
bool mp_sample_realloc(void *p, size_t n, void **ret)
{
        size_t total;
        if (!mp_sparse() || mp.late || mp_tls_guard || mp.mode != MP_READY ||
            __builtin_add_overflow(n, (size_t)MP_SPARSE_ALIGN, &total))
                return false;
        uint32_t old_live = mp_addr_find((uintptr_t)p);
        if (old_live == MP_LIVE_NONE)
                return false;
        int saved = errno;
        size_t off = mp.live[old_live].offset; /* ours: p is this caller's to realloc */
        char *base = (char *)p - off;
        size_t keep = mp_real.malloc_usable_size(base) - off;
        if (keep > n)
                keep = n;

        mp_tls_guard = 1;
        uint64_t pcs[MP_MAX_DEPTH];
        uint32_t depth = mp_stack_capture(pcs, MP_MAX_DEPTH);
        uint64_t hash = mp_stack_hash(pcs, depth);
        uint32_t live;
        mp_lock_take();
        int r = depth ? mp_table_record(pcs, depth, hash, n, &live) : -ENOSPC;
        if (r < 0)
                __atomic_fetch_add(&mp.hdr->lost_samples, 1, __ATOMIC_RELAXED);
        mp_lock_release();
        if (r < 0) {
                mp_tls_guard = 0;
                errno = saved;
                return false; /* the copying path takes it from here */
        }
        errno = saved;
        char *nbase = mp_real.realloc(base, total);
        int after = errno;
        if (!nbase) {
                mp_lock_take();
                mp_table_abort(live);
                mp_lock_release();
                mp_tls_guard = 0;
                errno = after;
                *ret = NULL;
                return true;
        }
        size_t noff = ((uintptr_t)nbase | (MP_SPARSE_ALIGN - 1)) + 1 - (uintptr_t)nbase;
        if (noff != off)
                memmove(nbase + noff, nbase + off, keep);
        char *q = nbase + noff;
        mp_table_prefault(hash, n, (uintptr_t)q);
        mp_lock_take();
        mp_addr_del((uintptr_t)p); /* before the release clears live[].ptr */
        (void)mp_table_release(old_live, p);
        bool indexed = mp_addr_add((uintptr_t)q, live);
        if (indexed) {
                mp_table_commit(live, q, (uint32_t)noff);
        } else { /* no room to recognise it on free: an ordinary block after all */
                mp_table_abort(live);
                __atomic_fetch_add(&mp.hdr->lost_samples, 1, __ATOMIC_RELAXED);
        }
        mp_lock_release();
        mp_tls_guard = 0;
        mp_count_free();
        if (!indexed) {
                memmove(nbase, q, keep);
                q = nbase;
        }
        errno = after;
        *ret = q;
        return true;
}

/* Sparse mode never reads below a pointer: a sampled object is page-aligned and in
 * the address index; anything else is the allocator's.  Nor does an attached shim:
 * every sampled object is in the address index. */
enum mp_ptr_kind mp_classify(void *p, bool may_read_below)
{
        if (mp_pool_owns(p))
                return MP_PTR_POOL;
        if (mp.late)
                return mp_addr_find((uintptr_t)p) != MP_LIVE_NONE ? MP_PTR_SAMPLED :
                                                                    MP_PTR_PLAIN;
        if (mp_sparse())
                return ((uintptr_t)p & (MP_SPARSE_ALIGN - 1)) == 0 &&
                                       mp_addr_find((uintptr_t)p) != MP_LIVE_NONE ?
                               MP_PTR_SAMPLED :
                               MP_PTR_PLAIN;
        if (!may_read_below && mp_addr_find((uintptr_t)p) == MP_LIVE_NONE)
                return MP_PTR_PLAIN;
        const struct mp_obj_header *h = (const struct mp_obj_header *)p - 1;
        if (h->magic != MP_OBJ_MAGIC || h->offset < 16 || (h->offset & 15) ||
            h->offset > (1u << 30) ||
            h->check != mp_obj_check((uintptr_t)p, h->live, h->offset))
                return MP_PTR_PLAIN;
        return MP_PTR_SAMPLED;
}

/* Frees a sampled object.  One inherited across fork (the child keeps the table) is
 * freed without touching any bucket (see mp_table_release). */
void mp_free_sampled_obj(void *p)
{
        bool sparse = mp_sparse() || mp.late; /* found by address, offset in the table */
        uint32_t live = MP_LIVE_NONE, offset = 0;
        if (!sparse) {
                const struct mp_obj_header *h = (const struct mp_obj_header *)p - 1;
                offset = h->offset;
                live = h->live;
        }
        int saved = errno;
        bool kept = false;
        mp_tls_guard++; /* a handler's malloc must not wait for the lock we hold */
        mp_lock_take();
        if (sparse) {
                live = mp_addr_find((uintptr_t)p);
                if (live != MP_LIVE_NONE)
                        offset = mp.live[live].offset;
        }
        if (mp.priv && live < mp.live_used && mp.live[live].ptr == (uintptr_t)p) {
                if (sparse || (!mp.glibc && ((uintptr_t)p & 0xff0) == 0))
                        mp_addr_del((uintptr_t)p); /* before the release clears live[].ptr */
                (void)mp_table_release(live, p);
                /* attached and sparse: kept for the next sample (see attach.c) */
                kept = mp.late && mp_sparse() && mp_late_cache_put(p);
        }
        mp_lock_release();
        mp_tls_guard--;
        mp_count_free();
        errno = saved;
        if (!kept)
                mp_real.free((char *)p - offset);
}

size_t mp_usable(void *p)
{
        int saved = errno;
        size_t n;
        if (mp_pool_owns(p))
                n = mp_pool_size(p);
        else if (mp.late) /* sampled or not, the allocator's own block */
                n = mp_real.malloc_usable_size(p);
        else if (mp_sparse()) {
                uint32_t live = ((uintptr_t)p & (MP_SPARSE_ALIGN - 1)) == 0 ?
                                        mp_addr_find((uintptr_t)p) :
                                        MP_LIVE_NONE;
                size_t off = live == MP_LIVE_NONE ? 0 : mp.live[live].offset;
                n = mp_real.malloc_usable_size((char *)p - off) - off;
        } else if (mp_classify(p, (((uintptr_t)p & 0xff0) != 0) || mp.glibc) == MP_PTR_SAMPLED) {
                const struct mp_obj_header *h = (const struct mp_obj_header *)p - 1;
                n = mp_real.malloc_usable_size((char *)p - h->offset) - h->offset;
        } else
                n = mp_real.malloc_usable_size(p);
        errno = saved;
        return n;
}
