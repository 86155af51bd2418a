/* The exported malloc family: the fast paths, which count and hand over to the allocator
 * underneath, and the branches that lead to the slow paths in slow.c. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define EXPORT(name, impl) \
        extern __typeof(impl) name __attribute__((alias(#impl), visibility("default")))

__thread struct mp_thread_slot *mp_tls_slot = &mp_sentinel;
uint32_t mp_free_mask; /* see shim.h: 0 until initialised, then 0xfff if sparse */
uint32_t mp_dense_hdr = 1;

static inline uint32_t magic_below(const void *p)
{
        return ((const struct mp_obj_header *)p - 1)->magic;
}

/* Pointers whose 16 bytes below may not be readable without care: NULL, and pointers
 * within 16 bytes of a page start (the header would sit on the previous page). */
static inline bool near_page_start(const void *p)
{
        return ((uintptr_t)p & 0xff0) == 0;
}

/* What free's and realloc's fast paths must leave to the slow path: in sparse mode
 * NULL and page-aligned pointers (sampled objects and the bootstrap pool are
 * page-aligned), in dense mode and before initialisation every pointer. */
static inline bool maybe_ours(const void *p)
{
        return ((uint32_t)(uintptr_t)p & mp_free_mask) == 0; /* the low bits suffice */
}

MP_COLD static void *malloc_slow(size_t size)
{
        if (!mp_account(size))
                return mp_real.malloc(size);
        return mp_sample_alloc(size, 0, false);
}

/*
 * The fast paths and what they cost on x86-64 (objdump -d libmemprof.so; callgrind with
 * tests/shim/bench_pairs.c: cost per pair = (I(1e6) - I(0)) / 1e6 with the shim minus
 * the same without it).  At sparse rates (the default) an unsampled malloc+free pair
 * costs 12 instructions over glibc (12.00 at MEMPROF_RATE=0, 12.3 at the default rate
 * with its samples):
 *
 *   malloc: mov GOT(mp_tls_slot),%rax; mov %fs:(%rax),%rax; sub %rdi,(%rax);
 *           js cold; addq $1,8(%rax); jmp *mp_real.malloc                      6
 *   free:   test %edi,mp_free_mask(%rip); je cold; mov GOT(mp_tls_slot),%rax;
 *           mov %fs:(%rax),%rax; addq $1,16(%rax); jmp *mp_real.free           6
 *
 * Two loads for the thread's slot pointer (initial-exec TLS in a shared object goes
 * through the GOT), malloc's subtract in memory of the byte countdown to the next
 * sample, one predicted branch, the counter increment and the tail jump.  malloc's
 * branch is taken when the countdown runs out, and also for a thread that has no slot
 * yet (its pointer names a sentinel whose countdown is always negative).
 *
 * free must tell sampled objects from the allocator's own with one test.  At sparse
 * rates (the default; see shim.h) a sampled object is allocated page-aligned and
 * recorded by address, so only page-aligned pointers (and NULL) can be ours: one test
 * of the pointer against mp_free_mask, no memory read, safe over any allocator, and
 * the rare page-aligned unsampled pointer pays a lookup in the slow path.  At dense
 * rates a page per sampled object would multiply memory, so those carry a header
 * below the pointer and mp_free_mask is 0: every free goes on to free_dense, which
 * compares the word below the pointer with the magic (free costs 14 instructions
 * there; dense rates are for precision, not for production).  Sparse sampled objects
 * are not handed to the allocator as page-aligned blocks (see shim.h), or a hot
 * malloc/free loop could be given a freed sample's address back forever and pay the
 * slow path (~100 instructions) on every free.
 */
void *mp_malloc(size_t size)
{
        struct mp_thread_slot *s = mp_tls_slot;
        s->countdown -= size;
        if (unlikely(s->countdown < 0))
                return malloc_slow(size);
        s->mallocs++;
        return mp_real.malloc(size);
}
EXPORT(malloc, mp_malloc);

MP_COLD static void free_slow(void *p)
{
        if (!p)
                return;
        switch (mp_classify(p, !near_page_start(p) || mp.glibc)) {
        case MP_PTR_POOL: /* never reused; its malloc was counted, so is its free */
                mp_count_free();
                return;
        case MP_PTR_SAMPLED:
                mp_free_sampled_obj(p);
                return;
        case MP_PTR_PLAIN:
                mp_count_free();
                mp_real.free(p);
                return;
        }
}

/* Dense mode (or not yet initialised): the header test that sparse mode spares (an
 * attached shim has no headers: its free_slow looks the pointer up instead); only
 * tail calls, so no stack frame.  free(NULL) first: programs do it often (churn on
 * every tenth operation), and it needs nothing. */
__attribute__((noinline)) static void free_dense(void *p)
{
        if (!p)
                return;
        if (likely(mp_dense_hdr && !near_page_start(p) && magic_below(p) != MP_OBJ_MAGIC)) {
                mp_tls_slot->frees++;
                return mp_real.free(p);
        }
        return free_slow(p);
}

/* The fast path (see above): pointers that cannot be ours go straight through. */
void mp_free(void *p)
{
        if (unlikely(maybe_ours(p)))
                return free_dense(p);
        mp_tls_slot->frees++;
        mp_real.free(p);
}
EXPORT(free, mp_free);

MP_COLD static void *calloc_slow(size_t n, size_t size)
{
        if (!mp_account(n * size))
                return mp_real.calloc(n, size);
        return mp_sample_alloc(n * size, 0, true);
}

void *mp_calloc(size_t n, size_t size)
{
        size_t total;
        if (unlikely(__builtin_mul_overflow(n, size, &total)))
                return mp_real.calloc(n, size); /* fails with ENOMEM, counts nothing */
        struct mp_thread_slot *s = mp_tls_slot;
        s->countdown -= total;
        if (unlikely(s->countdown < 0))
                return calloc_slow(n, size);
        s->mallocs++;
        return mp_real.calloc(n, size);
}
EXPORT(calloc, mp_calloc);

/* A realloc whose old block is ours (sampled or pool) or whose new block is sampled:
 * allocate the new block, copy, release the old one. */
MP_COLD static void *realloc_move(void *p, size_t n, enum mp_ptr_kind kind, bool sample)
{
        void *q;
        if (kind == MP_PTR_SAMPLED && sample && mp_sample_realloc(p, n, &q))
                return q; /* in place, through the allocator's realloc */
        q = sample ? mp_sample_alloc(n, 0, false) : mp_real.malloc(n);
        if (!q)
                return NULL;
        int saved = errno;
        size_t old = mp_usable(p);
        memcpy(q, p, old < n ? old : n);
        if (kind == MP_PTR_SAMPLED)
                mp_free_sampled_obj(p); /* counts the free */
        else {
                mp_count_free();
                if (kind == MP_PTR_PLAIN)
                        mp_real.free(p);
        }
        errno = saved;
        return q;
}

MP_COLD static void *realloc_slow(void *p, size_t n, bool charged)
{
        if (!p)
                return mp_malloc(n);
        if (n == 0 && mp.glibc) {
                mp_free(p); /* glibc's realloc(p, 0) frees and returns NULL */
                return NULL;
        }
        enum mp_ptr_kind kind = mp_classify(p, !near_page_start(p) || mp.glibc);
        if (!charged)
                mp_tls_slot->countdown -= n;
        bool sample = false;
        if (mp_tls_slot->countdown < 0)
                sample = mp_account(n); /* counts the malloc half */
        else
                mp_tls_slot->mallocs++;
        if (kind == MP_PTR_PLAIN && !sample) {
                mp_count_free();
                return mp_real.realloc(p, n);
        }
        return realloc_move(p, n, kind, sample);
}

/* Counted as one malloc and one free, like Go counts a reallocation. */
void *mp_realloc(void *p, size_t n)
{
        if (unlikely(maybe_ours(p) || !n))
                return realloc_slow(p, n, false);
        struct mp_thread_slot *s = mp_tls_slot;
        s->countdown -= n;
        if (unlikely(s->countdown < 0))
                return realloc_slow(p, n, true);
        s->mallocs++;
        s->frees++;
        return mp_real.realloc(p, n);
}
EXPORT(realloc, mp_realloc);

void *mp_reallocarray(void *p, size_t n, size_t size)
{
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
                errno = ENOMEM;
                return NULL;
        }
        return mp_realloc(p, total);
}
EXPORT(reallocarray, mp_reallocarray);

static bool pow2(size_t a)
{
        return a && !(a & (a - 1));
}

/* The aligned family: the countdown test as for malloc; a sampled request whose
 * alignment the real function would reject (or round) is left to the real function. */
enum aligned_kind { AL_POSIX, AL_ALIGNED, AL_MEMALIGN, AL_VALLOC, AL_PVALLOC };

static void *aligned_real(enum aligned_kind k, size_t align, size_t size, int *ret_err)
{
        void *p = NULL;
        switch (k) {
        case AL_POSIX:
                *ret_err = mp_real.posix_memalign(&p, align, size);
                return *ret_err ? NULL : p;
        case AL_ALIGNED:
                p = mp_real.aligned_alloc(align, size);
                break;
        case AL_MEMALIGN:
                p = mp_real.memalign(align, size);
                break;
        case AL_VALLOC:
                p = mp_real.valloc(size);
                break;
        case AL_PVALLOC:
                p = mp_real.pvalloc(size);
                break;
        }
        *ret_err = p ? 0 : errno;
        return p;
}

MP_COLD static void *aligned_slow(enum aligned_kind k, size_t align, size_t size,
                                  int *ret_err)
{
        bool sample = mp_account(size);
        size_t eff = align, esize = size;
        if (k == AL_VALLOC || k == AL_PVALLOC)
                eff = mp.page_size;
        if (k == AL_PVALLOC) {
                esize = ((size ? size : 1) + mp.page_size - 1) & ~(mp.page_size - 1);
                if (esize < size)
                        sample = false; /* overflow: the real pvalloc reports ENOMEM */
        }
        if (k == AL_POSIX && (!pow2(align) || align % sizeof(void *)))
                sample = false;
        if (!pow2(eff) || eff > (1u << 30))
                sample = false;
        if (!sample)
                return aligned_real(k, align, size, ret_err);
        int saved = errno;
        void *p = mp_sample_alloc(esize, eff, false);
        if (!p) {
                *ret_err = errno;
                if (k == AL_POSIX)
                        errno = saved; /* posix_memalign reports by its return value */
                return NULL;
        }
        *ret_err = 0;
        return p;
}

static inline void *aligned_fast(enum aligned_kind k, size_t align, size_t size,
                                 int *ret_err)
{
        struct mp_thread_slot *s = mp_tls_slot;
        s->countdown -= size;
        if (unlikely(s->countdown < 0))
                return aligned_slow(k, align, size, ret_err);
        s->mallocs++;
        return aligned_real(k, align, size, ret_err);
}

MP_COLD static int posix_memalign_slow(void **ret, size_t align, size_t size)
{
        int err;
        void *p = aligned_slow(AL_POSIX, align, size, &err);
        if (!p)
                return err;
        *ret = p;
        return 0;
}

/* Like the others, but a tail call into the real one: its result comes back by value
 * and *ret, which aligned_fast's pointer-or-errno shape cost 18 instructions to map. */
int mp_posix_memalign(void **ret, size_t align, size_t size)
{
        struct mp_thread_slot *s = mp_tls_slot;
        s->countdown -= size;
        if (unlikely(s->countdown < 0))
                return posix_memalign_slow(ret, align, size);
        s->mallocs++;
        return mp_real.posix_memalign(ret, align, size);
}
EXPORT(posix_memalign, mp_posix_memalign);

void *mp_aligned_alloc(size_t align, size_t size)
{
        int err;
        return aligned_fast(AL_ALIGNED, align, size, &err);
}
EXPORT(aligned_alloc, mp_aligned_alloc);

void *mp_memalign(size_t align, size_t size)
{
        int err;
        return aligned_fast(AL_MEMALIGN, align, size, &err);
}
EXPORT(memalign, mp_memalign);

void *mp_valloc(size_t size)
{
        int err;
        return aligned_fast(AL_VALLOC, 0, size, &err);
}
EXPORT(valloc, mp_valloc);

void *mp_pvalloc(size_t size)
{
        int err;
        return aligned_fast(AL_PVALLOC, 0, size, &err);
}
EXPORT(pvalloc, mp_pvalloc);

size_t mp_malloc_usable_size(void *p)
{
        if (likely(!maybe_ours(p)))
                return mp_real.malloc_usable_size(p);
        if (!p)
                return 0;
        return mp_usable(p);
}
EXPORT(malloc_usable_size, mp_malloc_usable_size);
