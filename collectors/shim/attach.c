/* The entry points `memprof attach` and `memprof detach` call in a running process the
 * shim was loaded into late (by dlopen over ptrace), and telling that load from a
 * preload at start-up.
 *
 * Loaded late, the shim interposes nothing: the process's GOT entries already name the
 * allocator, and memprof_attach redirects them (got.c).  Objects allocated before that
 * (or by code whose GOT is not redirected: the loader's own allocations, a library
 * dlopened by a path the hook must not see) reach the shim's free, realloc and
 * malloc_usable_size with nothing around them the shim wrote.  So in this mode a sampled
 * object is the allocator's own block, unchanged (no header below it, no offset into a
 * larger block), and it is recognised by its address alone, in the address index: the
 * shim never reads below a pointer, and a sampled object freed by a path that bypasses
 * the shim (a function pointer to the allocator's free taken before the attach) is
 * still freed correctly.  At sparse rates sampled objects are page-aligned blocks
 * (memalign), so free's fast path is the same single test as under preload; at dense
 * rates every free looks its pointer up. */
#include <errno.h>
#include <link.h>
#include <string.h>

#include "shim.h"

extern const ElfW(Ehdr) __ehdr_start;

struct order {
        int self, libc, n;
};

static int find_order(struct dl_phdr_info *info, size_t size, void *data)
{
        struct order *o = data;
        if (info->dlpi_addr == (uintptr_t)&__ehdr_start && o->self < 0)
                o->self = o->n;
        else if (o->libc < 0 && info->dlpi_name && strstr(info->dlpi_name, "/libc.so.6"))
                o->libc = o->n;
        o->n++;
        return 0;
}

/* Preloaded (or linked in), the shim comes before libc in the load order, and its
 * malloc is the process's; dlopened into a running process, it comes after. */
bool mp_loaded_late(void)
{
        struct order o = {-1, -1, 0};
        dl_iterate_phdr(find_order, &o);
        return o.self >= 0 && o.libc >= 0 && o.self > o.libc;
}

/*
 * Turns sampling on at `rate` bytes and redirects the malloc family.  Returns 0 when
 * attached now, 1 when the shim already runs in this process (preloaded, or attached
 * before: nothing is changed), -errno otherwise (ENOMEM: no segment; the process runs
 * on as before, unredirected).  Called by one thread that memprof stopped and made call
 * it; the others run meanwhile.
 */
__attribute__((visibility("default"))) int memprof_attach(uint64_t rate)
{
        if (!mp.late || __atomic_load_n(&mp.mode, __ATOMIC_ACQUIRE) != MP_UNINIT)
                return 1;
        mp.attach_rate = rate;
        mp_ensure();
        if (__atomic_load_n(&mp.mode, __ATOMIC_ACQUIRE) != MP_READY)
                return -ENOMEM;
        unsigned patched = 0;
        int r = mp_got_patch(&patched);
        if (r < 0)
                return r;
        return patched ? 0 : -ENOENT;
}

/* Stops sampling: from now on allocations are counted, not sampled (rate 0), and what
 * was sampled stays in the segment, freed objects still recognised.  The GOT stays
 * redirected (another thread may be inside the shim).  1 when nothing was sampling. */
__attribute__((visibility("default"))) int memprof_detach(void)
{
        if (__atomic_load_n(&mp.mode, __ATOMIC_ACQUIRE) != MP_READY ||
            __atomic_load_n(&mp.rate, __ATOMIC_RELAXED) == 0)
                return 1;
        __atomic_store_n(&mp.rate, 0, __ATOMIC_RELEASE);
        __atomic_or_fetch(&mp.hdr->flags, MP_SEG_F_DETACHED, __ATOMIC_RELEASE);
        return 0;
}

/*
 * Attached at a sparse rate, a sampled object is a page-aligned block of the
 * allocator's own (see above).  Freed back to it, that block would be the next one a
 * malloc of its size class gets, and a hot malloc/free loop would then send every free
 * of it to the slow path (callgrind: 120 instructions a pair instead of 12).  So freed
 * sampled blocks below the mmap threshold are kept here, for the next samples to reuse
 * (a block at most twice the request and a page); beyond CACHE_MAX, or mmap'd ones,
 * go back to the allocator.  Under mp_lock.
 */
#define CACHE_MAX 256
#define CACHE_BLOCK_MAX (128u * 1024)

static struct cached {
        void *p;
        size_t usable;
} cache[CACHE_MAX];
static uint32_t ncache;

bool mp_late_cache_put(void *p)
{
        if (ncache >= CACHE_MAX || (mp.glibc && (((const size_t *)p)[-1] & 2)))
                return false;
        size_t usable = mp_real.malloc_usable_size(p);
        if (usable > CACHE_BLOCK_MAX)
                return false;
        cache[ncache++] = (struct cached){p, usable};
        return true;
}

void *mp_late_cache_get(size_t size)
{
        for (uint32_t i = 0; i < ncache; i++) {
                if (cache[i].usable < size || cache[i].usable > 2 * size + MP_SPARSE_ALIGN)
                        continue;
                void *p = cache[i].p;
                cache[i] = cache[--ncache];
                return p;
        }
        return NULL;
}
