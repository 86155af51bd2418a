/* Finding the allocator underneath with dlsym(RTLD_NEXT), and the bump pool that serves
 * the allocations dlsym itself makes while that lookup is in progress. */
#include <dlfcn.h>
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "shim.h"

#define POOL_SIZE (256 * 1024)
#define POOL_ALIGN 4096

static alignas(POOL_ALIGN) char pool[POOL_SIZE];
static size_t pool_used; /* atomic */
static int resolving;    /* atomic: a thread is inside mp_resolve */
static int resolved;     /* atomic */

/* Pool objects start on a page boundary, so that free's and realloc's fast paths
 * (which let through any pointer that is not page-aligned, in sparse mode) always
 * send them to the slow path, which knows the pool's range; dlsym makes only a handful
 * of allocations.  Each keeps its size in an mp_obj_header just below it (live =
 * UINT32_MAX), inside the pool; they are never reused. */
static void *pool_alloc(size_t size, size_t align)
{
        if (align < POOL_ALIGN)
                align = POOL_ALIGN;
        if (size > POOL_SIZE || align > POOL_ALIGN) {
                errno = ENOMEM;
                return NULL;
        }
        size_t need = (size + 15) & ~(size_t)15;
        size_t old = __atomic_load_n(&pool_used, __ATOMIC_RELAXED), start;
        do {
                start = (old + 16 + align - 1) & ~(align - 1);
                if (start > POOL_SIZE || need > POOL_SIZE - start) {
                        errno = ENOMEM;
                        return NULL;
                }
        } while (!__atomic_compare_exchange_n(&pool_used, &old, start + need, true,
                                              __ATOMIC_RELAXED, __ATOMIC_RELAXED));
        struct mp_obj_header *h = (struct mp_obj_header *)(pool + start) - 1;
        h->magic = MP_OBJ_MAGIC;
        h->live = UINT32_MAX;
        h->offset = (uint32_t)size; /* pool objects keep their size here */
        h->check = 0;
        return pool + start; /* static storage: already zeroed */
}

bool mp_pool_owns(const void *p)
{
        return (const char *)p >= pool && (const char *)p < pool + POOL_SIZE;
}

size_t mp_pool_size(const void *p)
{
        return ((const struct mp_obj_header *)p - 1)->offset;
}

/* Preloaded, the allocator is the next definition; attached, it is whatever the process
 * resolves the name to (the shim, loaded locally, is not among those). */
static void *next(const char *name)
{
        return dlsym(mp.late ? RTLD_DEFAULT : RTLD_NEXT, name);
}

/* Resolves every function once.  A thread that arrives here while another resolves
 * (or the resolving thread itself, re-entered from dlsym) gets false and uses the
 * pool. */
static bool resolve_or_busy(void)
{
        if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
                return true;
        if (__atomic_exchange_n(&resolving, 1, __ATOMIC_ACQ_REL))
                return false;
        int saved = errno;
        struct mp_real r = {
                .malloc = next("malloc"),
                .free = next("free"),
                .calloc = next("calloc"),
                .realloc = next("realloc"),
                .posix_memalign = next("posix_memalign"),
                .aligned_alloc = next("aligned_alloc"),
                .memalign = next("memalign"),
                .valloc = next("valloc"),
                .pvalloc = next("pvalloc"),
                .malloc_usable_size = next("malloc_usable_size"),
                .pthread_create = next("pthread_create"),
        };
        mp_allocator_identify((void *)r.malloc);
        mp.glibc = mp.allocator == MP_ALLOC_GLIBC;
        errno = saved;
        if (!r.malloc || !r.free || !r.calloc || !r.realloc || !r.posix_memalign ||
            !r.malloc_usable_size || !r.pthread_create)
                __builtin_trap(); /* no allocator underneath: nothing sane is possible */
        /* Store each pointer on its own: other threads may be calling through them. */
        __atomic_store_n(&mp_real.malloc, r.malloc, __ATOMIC_RELEASE);
        __atomic_store_n(&mp_real.free, r.free, __ATOMIC_RELEASE);
        __atomic_store_n(&mp_real.calloc, r.calloc, __ATOMIC_RELEASE);
        __atomic_store_n(&mp_real.realloc, r.realloc, __ATOMIC_RELEASE);
        __atomic_store_n(&mp_real.posix_memalign, r.posix_memalign, __ATOMIC_RELEASE);
        if (r.aligned_alloc)
                __atomic_store_n(&mp_real.aligned_alloc, r.aligned_alloc, __ATOMIC_RELEASE);
        if (r.memalign)
                __atomic_store_n(&mp_real.memalign, r.memalign, __ATOMIC_RELEASE);
        if (r.valloc)
                __atomic_store_n(&mp_real.valloc, r.valloc, __ATOMIC_RELEASE);
        if (r.pvalloc)
                __atomic_store_n(&mp_real.pvalloc, r.pvalloc, __ATOMIC_RELEASE);
        __atomic_store_n(&mp_real.malloc_usable_size, r.malloc_usable_size,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&mp_real.pthread_create, r.pthread_create, __ATOMIC_RELEASE);
        __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
        return true;
}

void mp_resolve(void)
{
        (void)resolve_or_busy();
}

/* The bootstrap functions: mp_real starts out pointing here. */

static void *boot_malloc(size_t size)
{
        return resolve_or_busy() ? mp_real.malloc(size) : pool_alloc(size, 16);
}

static void boot_free(void *p)
{
        if (!p || mp_pool_owns(p))
                return;
        if (resolve_or_busy())
                mp_real.free(p);
}

static void *boot_calloc(size_t n, size_t size)
{
        if (resolve_or_busy())
                return mp_real.calloc(n, size);
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
                errno = ENOMEM;
                return NULL;
        }
        return pool_alloc(total, 16);
}

static void *boot_realloc(void *p, size_t size)
{
        if (resolve_or_busy() && !mp_pool_owns(p))
                return mp_real.realloc(p, size);
        void *q = boot_malloc(size);
        if (q && p)
                memcpy(q, p, mp_pool_size(p) < size ? mp_pool_size(p) : size);
        return q;
}

static int boot_posix_memalign(void **ret, size_t align, size_t size)
{
        if (resolve_or_busy())
                return mp_real.posix_memalign(ret, align, size);
        void *p = pool_alloc(size, align);
        if (!p)
                return ENOMEM;
        *ret = p;
        return 0;
}

static void *boot_memalign(size_t align, size_t size)
{
        void *p = NULL;
        int r = boot_posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
                                    size);
        if (r) {
                errno = r;
                return NULL;
        }
        return p;
}

static void *boot_valloc(size_t size)
{
        return boot_memalign(4096, size);
}

static size_t boot_usable(void *p)
{
        if (mp_pool_owns(p))
                return mp_pool_size(p);
        return resolve_or_busy() ? mp_real.malloc_usable_size(p) : 0;
}

static int boot_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
                               void *arg)
{
        mp_resolve();
        return mp_real.pthread_create(t, a, fn, arg);
}

struct mp_real mp_real = {
        .malloc = boot_malloc,
        .free = boot_free,
        .calloc = boot_calloc,
        .realloc = boot_realloc,
        .posix_memalign = boot_posix_memalign,
        .aligned_alloc = boot_memalign,
        .memalign = boot_memalign,
        .valloc = boot_valloc,
        .pvalloc = boot_valloc,
        .malloc_usable_size = boot_usable,
        .pthread_create = boot_pthread_create,
};
