/* Private state and internal interfaces of libmemprof.so, shared by its files. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memprof/segment.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define MP_HIDDEN __attribute__((visibility("hidden")))
#define MP_COLD __attribute__((noinline, cold))

#define MP_DEFAULT_RATE 524288u
/* Countdowns that keep a thread without a slot, or a disabled shim, off the fast path
 * for its counters but far from wrapping around. */
#define MP_SENTINEL_COUNTDOWN (INT64_MIN / 2)
#define MP_OFF_COUNTDOWN (INT64_MAX / 2)

/* The allocator underneath, found with dlsym(RTLD_NEXT) (bootstrap.c). */
struct mp_real {
        void *(*malloc)(size_t);
        void (*free)(void *);
        void *(*calloc)(size_t, size_t);
        void *(*realloc)(void *, size_t);
        int (*posix_memalign)(void **, size_t, size_t);
        void *(*aligned_alloc)(size_t, size_t);
        void *(*memalign)(size_t, size_t);
        void *(*valloc)(size_t);
        void *(*pvalloc)(size_t);
        size_t (*malloc_usable_size)(void *);
        int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                              void *);
};
extern struct mp_real mp_real MP_HIDDEN;

/* One sampled object still live: where it is, which bucket it counts in, and (sparse
 * mode) where the allocator's block starts.  `gen` tells objects inherited across fork
 * (the child keeps the table, but their buckets are in the parent's segment). */
struct mp_live {
        uintptr_t ptr;
        uint32_t bucket;
        uint32_t offset; /* sparse: ptr - the allocator's pointer; dense: 0 */
        union {
                uint32_t next_free; /* free-list link while unused */
                uint32_t gen;       /* mp.gen of the process that sampled it */
        };
};

enum mp_mode { MP_UNINIT, MP_READY, MP_OFF };

struct mp_state {
        int mode; /* enum mp_mode; written under lock (or in a fork child), read racily */
        bool inited; /* one-time set-up done (kept across fork) */
        bool glibc;  /* the allocator underneath is glibc's */
        bool debug;  /* MEMPROF_DEBUG set */
        /* loaded into a running process by `memprof attach`: sampled objects are the
         * allocator's own blocks, found by address alone (see attach.c) */
        bool late;
        uint64_t attach_rate; /* the rate memprof_attach was given */
        uint64_t rate;
        bool rate_unparsed;                       /* MEMPROF_RATE not understood */
        char rate_text[sizeof(((struct mp_seg_header *)0)->rate_text)]; /* what it said */
        uint32_t allocator;                       /* enum mp_allocator (allocator.c) */
        char allocator_file[sizeof(((struct mp_seg_header *)0)->allocator_file)];
        uint64_t secret; /* keys the object-header check; kept across fork */
        size_t page_size;

        /* the shared segment */
        struct mp_seg_header *hdr;
        size_t seg_size;
        struct mp_thread_slot *slots;
        struct mp_stack *stacks;
        uint64_t *frames;
        struct mp_bucket *buckets;
        bool lazy;           /* table pages reserved as they grow (see segment.c) */
        uintptr_t grown[3];  /* per table: end of the pages reserved so far */

        /* private to this process (anonymous memory); kept by a forked child */
        uint32_t gen; /* bumped at each fork, in the child */
        void *priv;
        size_t priv_index_size; /* the stack and bucket indices at its start */
        size_t priv_size;
        /* each index in use up to its mask, which grows to its max (see table.c) */
        uint32_t *stack_index, stack_index_mask, stack_index_max;
        uint32_t *bucket_index, bucket_index_mask, bucket_index_max;
        struct mp_live *live;
        uint32_t live_cap, live_used, live_free; /* live_free: UINT32_MAX = none */
        /* address -> live index: every sampled object in sparse mode; in dense mode
         * those within 16 bytes of a page start (not glibc).  See table.c. */
        uint32_t *addr_index, addr_index_mask;

        /* before the segment exists */
        uint64_t pre_mallocs, pre_frees, pre_bytes;

        int64_t mi_next_ns; /* CLOCK_MONOTONIC_COARSE of the next mallinfo refresh */
        uint64_t mi_next_samples; /* while young: the sample count that refreshes next */
        uintptr_t text_lo, text_hi; /* this library's mapped range, cut from stacks */
        pthread_key_t key;
        bool key_ok;
};
extern struct mp_state mp MP_HIDDEN;

/*
 * mp_lock guards the tables (table.c), slot handout (thread.c) and start-up.  It is
 * held for a few hundred instructions at a time, never across unwinding or the
 * allocator, but at MEMPROF_RATE=1 every allocation and free takes it: so a futex lock
 * that spins a while before it sleeps (glibc's mutex slept tens of thousands of times
 * a second between two busy threads) and costs a compare-and-swap when free.
 */
#define MP_LOCK_SPINS 200
extern uint32_t mp_lock MP_HIDDEN;
MP_HIDDEN void mp_lock_slow(uint32_t *l);
MP_HIDDEN void mp_unlock_wake(uint32_t *l);

static inline void mp_lock_take(void)
{
        uint32_t c = 0;

        if (!__atomic_compare_exchange_n(&mp_lock, &c, 1, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
                mp_lock_slow(&mp_lock);
}

static inline void mp_lock_release(void)
{
        if (__atomic_exchange_n(&mp_lock, 0, __ATOMIC_RELEASE) == 2)
                mp_unlock_wake(&mp_lock);
}

extern __thread struct mp_thread_slot *mp_tls_slot MP_HIDDEN;
extern __thread int mp_tls_guard MP_HIDDEN;
extern struct mp_thread_slot mp_sentinel MP_HIDDEN;
extern struct mp_thread_slot mp_off_slot MP_HIDDEN;

/*
 * The sampling mode, fixed at the first initialisation from MEMPROF_RATE (a forked
 * child keeps it).  Sparse (rate 0 or >= 65536, the default among them): sampled
 * objects carry no header; they are handed out page-aligned and found by address in
 * mp.addr_index, so free's fast path needs only to send page-aligned pointers (and
 * NULL) to the slow path.  The page-aligned pointer lies strictly inside a larger
 * block of the allocator underneath (the live table keeps the offset): handing the
 * allocator a page-aligned block of its own making to free would let it give that
 * address back to the next malloc of the same size, and a hot malloc/free loop would
 * then take the slow path on every free.  Dense (rate 1..65535): a page per sampled
 * object would multiply memory, so sampled objects carry an mp_obj_header and every
 * free takes the slow path, which looks for it.
 * mp_free_mask is 0xfff when sparse and 0 when dense or before initialisation, so
 * `(p & mp_free_mask) == 0` sends to the slow path exactly what it must look at.
 */
#define MP_SPARSE_MIN_RATE 65536u
#define MP_SPARSE_ALIGN 4096u
extern uint32_t mp_free_mask MP_HIDDEN; /* 32 bits: gcc then tests it in memory */
/* 1 while free may look for an mp_obj_header below a pointer: dense mode (or before
 * initialisation) in a process that preloaded the shim; 0 when sparse or attached. */
extern uint32_t mp_dense_hdr MP_HIDDEN;

static inline bool mp_sparse(void)
{
        return __atomic_load_n(&mp_free_mask, __ATOMIC_RELAXED) != 0;
}

/*
 * The header the shim puts in front of every *sampled* object at dense rates (below
 * 65536 bytes; at sparse rates, the default among them, sampled objects have no header
 * and are recognised by address).  It allocates 16 bytes more, or `alignment` more for
 * aligned requests, and hands out base + offset.  free compares the first word of the
 * 16 bytes before the pointer with MP_OBJ_MAGIC; with glibc those bytes always exist
 * (the chunk header), so an unsampled pointer reads glibc's prev_size field there.  A
 * match is then confirmed by `check` in the slow path.
 */
#define MP_OBJ_MAGIC 0xb5e1c0deu
struct mp_obj_header {
        uint32_t magic;
        uint32_t live; /* index in the shim's live table; UINT32_MAX = bootstrap pool */
        uint32_t offset; /* user pointer - base pointer from the real allocator */
        uint32_t check;  /* hash of (pointer, live, offset, per-process-tree secret) */
};

#define MP_LIVE_NONE UINT32_MAX

/* allocator.c */
MP_HIDDEN void mp_allocator_identify(void *real_malloc);

/* bootstrap.c */
MP_HIDDEN void mp_resolve(void);
MP_HIDDEN bool mp_pool_owns(const void *p);
MP_HIDDEN size_t mp_pool_size(const void *p);

/* segment.c */
MP_HIDDEN void mp_ensure(void);
MP_HIDDEN void mp_debug(const char *what, int err);
enum { MP_GROW_STACKS, MP_GROW_FRAMES, MP_GROW_BUCKETS };
MP_HIDDEN int mp_seg_grow(int table, const void *end);

/* thread.c */
MP_HIDDEN void mp_thread_attach(void);
MP_HIDDEN void mp_thread_init_key(void);

/* slow.c: counting, sampling decision, sampled objects */
MP_HIDDEN int64_t mp_next_countdown(uint64_t *rng);
MP_HIDDEN void mp_slot_reset(struct mp_thread_slot *s);
MP_HIDDEN uint64_t mp_seed(void);
MP_HIDDEN bool mp_account(size_t size);
MP_HIDDEN void mp_count_free(void);
MP_HIDDEN void *mp_sample_alloc(size_t size, size_t align, bool zero);
MP_HIDDEN bool mp_sample_realloc(void *p, size_t n, void **ret);

/* What the pointer handed to free/realloc is. */
enum mp_ptr_kind { MP_PTR_PLAIN, MP_PTR_SAMPLED, MP_PTR_POOL };
MP_HIDDEN enum mp_ptr_kind mp_classify(void *p, bool may_read_below);
MP_HIDDEN void mp_free_sampled_obj(void *p);
MP_HIDDEN size_t mp_usable(void *p);

/* table.c: stacks, buckets, live objects */
MP_HIDDEN uint64_t mp_stack_hash(const uint64_t *pcs, uint32_t depth);
MP_HIDDEN int mp_table_record(const uint64_t *pcs, uint32_t depth, uint64_t hash,
                              uint64_t size, uint32_t *ret_live);
MP_HIDDEN void mp_table_prefault(uint64_t stack_hash, uint64_t size, uintptr_t p);
MP_HIDDEN void mp_table_indices_reset(void);
MP_HIDDEN void mp_table_commit(uint32_t live, void *ptr, uint32_t offset);
MP_HIDDEN void mp_table_abort(uint32_t live);
MP_HIDDEN bool mp_table_release(uint32_t live, void *ptr);
MP_HIDDEN bool mp_addr_add(uintptr_t p, uint32_t live);
MP_HIDDEN uint32_t mp_addr_find(uintptr_t p);
MP_HIDDEN void mp_addr_del(uintptr_t p);
MP_HIDDEN uint32_t mp_obj_check(uintptr_t p, uint32_t live, uint32_t offset);

/* stack.c */
MP_HIDDEN uint32_t mp_stack_capture(uint64_t *pcs, uint32_t max);
MP_HIDDEN void mp_stack_init(void);

/* interpose.c, thread.c: the functions the GOT is pointed at after an attach */
void *mp_malloc(size_t size);
void mp_free(void *p);
void *mp_calloc(size_t n, size_t size);
void *mp_realloc(void *p, size_t n);
void *mp_reallocarray(void *p, size_t n, size_t size);
int mp_posix_memalign(void **ret, size_t align, size_t size);
void *mp_aligned_alloc(size_t align, size_t size);
void *mp_memalign(size_t align, size_t size);
void *mp_valloc(size_t size);
void *mp_pvalloc(size_t size);
size_t mp_malloc_usable_size(void *p);
int mp_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                      void *arg);

/* attach.c, got.c: a shim loaded by `memprof attach` */
MP_HIDDEN bool mp_loaded_late(void);
MP_HIDDEN int mp_got_patch(unsigned *ret_patched);
MP_HIDDEN bool mp_late_cache_put(void *p);
MP_HIDDEN void *mp_late_cache_get(size_t size);

/* mallinfo.c */
MP_HIDDEN void mp_mallinfo_maybe_refresh(void);
MP_HIDDEN void mp_mallinfo_publish(struct mp_seg_header *h, const struct mp_mallinfo *m,
                                   int64_t time_ns);
