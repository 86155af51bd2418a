/* Capturing the stack of a sampled allocation with libunwind's local unwinder, with this
 * library's own frames cut so the top frame is the caller of malloc. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>

#include "shim.h"

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
        uintptr_t self = (uintptr_t)data;
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
        if (self < lo || self >= hi)
                return 0;
        mp.text_lo = lo;
        mp.text_hi = hi;
        return 1;
}

void mp_stack_init(void)
{
        dl_iterate_phdr(find_self, (void *)(uintptr_t)&mp_stack_init);
}

/* Never allocates itself; if libunwind does (its caches), the recursion guard the
 * caller holds makes those allocations count without being sampled.  Every frame in
 * this library is dropped: the leading ones (malloc and the slow path) and the
 * pthread_create wrappers at the bottom of each thread's stack. */
uint32_t mp_stack_capture(uint64_t *pcs, uint32_t max)
{
        void *buf[MP_MAX_DEPTH + 8];
        int n = unw_backtrace(buf, MP_MAX_DEPTH + 8);
        uint32_t depth = 0;
        for (int i = 0; i < n && depth < max; i++) {
                uintptr_t pc = (uintptr_t)buf[i];
                if (pc >= mp.text_lo && pc < mp.text_hi)
                        continue;
                pcs[depth++] = pc;
        }
        return depth;
}
