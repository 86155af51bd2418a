/* Capturing the stack of a sampled allocation, with this library's own frames cut so
 * the top frame is the caller of malloc. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>

#include "shim.h"
#include "unwind.h"

/* The shim's unwinders read x86-64 frames: another architecture must fail to build,
 * not build something that records no stacks. */
#if !defined(__x86_64__)
#error "libmemprof.so supports x86-64 only (its unwinders)"
#endif

struct range {
        uintptr_t probe, lo, hi;
};

/* The extent of the loaded object that contains range->probe. */
static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
        struct range *r = data;
        uintptr_t lo = UINTPTR_MAX, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD)
                        continue;
                uintptr_t a = info->dlpi_addr + ph->p_vaddr;
                if (a < lo)
                        lo = a;
                if (a + ph->p_memsz > hi)
                        hi = a + ph->p_memsz;
        }
        if (r->probe < lo || r->probe >= hi)
                return 0;
        r->lo = lo;
        r->hi = hi;
        return 1;
}

void mp_stack_init(void)
{
        struct range self = {.probe = (uintptr_t)&mp_stack_init};

        dl_iterate_phdr(find_object, &self);
        mp.text_lo = self.lo;
        mp.text_hi = self.hi;
}

/* The unwind rules this library caches name code that dlclose may unmap. */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
        static int (*real)(void *);
        int (*fn)(void *) = __atomic_load_n(&real, __ATOMIC_RELAXED);

        if (!fn) {
                fn = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
                if (!fn)
                        return -1;
                __atomic_store_n(&real, fn, __ATOMIC_RELAXED);
        }
        int r = fn(handle);
        int saved = errno;
        mp_unwind_forget();
        errno = saved;
        return r;
}

/* The fast unwinder (unwind.c) first, a few loads per frame once it has seen the code;
 * the careful one (careful.c) for the stacks it leaves (signal frames, code without
 * usable unwind rules, stacks of the program's own making).  Neither allocates, and
 * nothing the program calls is interposed for them.  Every frame in this library is
 * dropped: the leading ones (malloc and the slow path) and the pthread_create wrappers
 * at the bottom of each thread's stack. */
uint32_t mp_stack_capture(uint64_t *pcs, uint32_t max)
{
        int saved = errno;

        int n = mp_unwind(pcs, (int)max, mp.text_lo, mp.text_hi, mp_sparse());
        if (n < 0)
                n = mp_unwind_careful(pcs, (int)max, mp.text_lo, mp.text_hi);
        errno = saved; /* the careful walk's page checks may set it */
        return (uint32_t)n;
}
