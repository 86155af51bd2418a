/* Capturing the stack of a sampled allocation with the unwinder C++ exceptions use
 * (libgcc's _Unwind_Backtrace over .eh_frame), with this library's own frames cut so
 * the top frame is the caller of malloc.
 *
 * Why not libunwind's local unwinder: it validates addresses by writing them into a
 * pipe it opens on first use and keeps (two descriptors the program never opened, which
 * a program that lists or closes its descriptors notices: CPython's test_subprocess
 * does), and it costs about five system calls per capture (mincore, the pipe, signal
 * masks).  libgcc's unwinder opens nothing, allocates nothing, makes no system call, and
 * finds each frame's unwind table with glibc's lock-free _dl_find_object. */
#include <link.h>
#include <unwind.h>

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

struct capture {
        uint64_t *pcs;
        uint32_t n, max;
};

static _Unwind_Reason_Code capture_frame(struct _Unwind_Context *ctx, void *arg)
{
        struct capture *c = arg;
        uintptr_t pc = _Unwind_GetIP(ctx);

        if (pc == 0)
                return _URC_END_OF_STACK;
        if (pc >= mp.text_lo && pc < mp.text_hi)
                return _URC_NO_REASON; /* ours: malloc, the slow path, thread wrappers */
        c->pcs[c->n++] = pc;
        return c->n < c->max ? _URC_NO_REASON : _URC_END_OF_STACK;
}

/* Every frame in this library is dropped: the leading ones (malloc and the slow path)
 * and the pthread_create wrappers at the bottom of each thread's stack.  A frame
 * without unwind tables ends the stack there. */
uint32_t mp_stack_capture(uint64_t *pcs, uint32_t max)
{
        struct capture c = {.pcs = pcs, .max = max};

        if (max > 0)
                _Unwind_Backtrace(capture_frame, &c);
        return c.n;
}
