/* Crossing from a cgo call's C frames, on the thread's system stack, back into the
 * goroutine's Go frames that made the call, for the shim's unwinder. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "gocross.h"

#if defined(__x86_64__) && defined(DLFO_STRUCT_HAS_EH_DBASE)

/*
 * Go calls C through runtime.asmcgocall (runtime/asm_amd64.s), which switches to the
 * thread's system stack and leaves there, for its own return, the goroutine (its g) and
 * how deep the goroutine's stack was at the switch (stack.hi minus SP: the goroutine's
 * stack may move while C runs).  The code after its call into C reads them back:
 *
 *     mov  A(%rsp),%rdi        48 8b 7c 24 A     g
 *     mov  8(%rdi),%rsi        48 8b 77 08       g.stack.hi ("offset known to runtime/cgo")
 *     sub  B(%rsp),%rsi        48 2b 74 24 B     minus the depth (48 2b 34 24 when B is 0)
 *
 * Go 1.19 to 1.23 all have it, with A, B = 48, 40 up to 1.21 and 8, 0 since (1.22 calls
 * C through a landing pad that jumps, so C still returns here).  So the offsets are
 * read from the very code the return address points at, never assumed per version, and
 * code that does not read exactly so is no crossing.  Those bytes are read only where
 * _dl_find_object places the return address in a loaded object: it is one the walk
 * found through unwind tables, so it follows a call that ran.
 */
#define SIG_LEN 14

static bool read_signature(uint64_t pc, unsigned *ret_g, unsigned *ret_depth)
{
        struct dl_find_object dlfo;
        const unsigned char *c = (const unsigned char *)(uintptr_t)pc;

        if (_dl_find_object((void *)(uintptr_t)pc, &dlfo) != 0 ||
            pc + SIG_LEN > (uint64_t)(uintptr_t)dlfo.dlfo_map_end)
                return false;
        if (memcmp(c, "\x48\x8b\x7c\x24", 4) != 0 || memcmp(c + 5, "\x48\x8b\x77\x08", 4) != 0)
                return false;
        *ret_g = c[4];
        if (memcmp(c + 9, "\x48\x2b\x74\x24", 4) == 0)
                *ret_depth = c[13];
        else if (memcmp(c + 9, "\x48\x2b\x34\x24", 4) == 0)
                *ret_depth = 0;
        else
                return false;
        return true;
}

/* Go's stacks are at most 1 GB (runtime.maxstacksize); anything larger is no stack. */
#define GO_STACK_MAX (UINT64_C(1) << 30)

int mp_go_cross(uint64_t pc, uint64_t sp, uint64_t sp_hi, uint64_t bp, uint64_t *pcs, int n,
                int max)
{
        unsigned g_off, depth_off;
        uint64_t g, lo, hi, depth, old_sp;

        if (!read_signature(pc, &g_off, &depth_off))
                return -1;
        /* the walk vouched for [sp, sp_hi), the thread's stack */
        if (sp + g_off + 8 > sp_hi || sp + depth_off + 8 > sp_hi)
                return -1;
        g = *(const uint64_t *)(uintptr_t)(sp + g_off);
        depth = *(const uint64_t *)(uintptr_t)(sp + depth_off);
        if (g == 0 || (g & 7))
                return -1; /* asmcgocall's no-g path stores 0: nothing to cross to */
        lo = *(const uint64_t *)(uintptr_t)g;
        hi = *(const uint64_t *)(uintptr_t)(g + 8);
        if (lo >= hi || hi - lo > GO_STACK_MAX || depth > hi - lo || (depth & 7))
                return -1;
        old_sp = hi - depth; /* SP at asmcgocall's entry, or after its push of BP */

        /*
         * Go keeps frame pointers on amd64, and BP is the goroutine's at the switch
         * (asmcgocall leaves it so for unwinders; the C frames restored it): where
         * asmcgocall made a frame of its own (since 1.23) BP is old_sp, and the frame
         * chain starts there; else BP is its caller's frame and the return address into
         * that caller (runtime.cgocall) is the word at old_sp.  Every frame must lie
         * above the last, within the goroutine's stack.
         */
        if (bp != old_sp && n < max) {
                if (old_sp + 8 > hi)
                        return n;
                pcs[n++] = *(const uint64_t *)(uintptr_t)old_sp;
        }
        while (n < max && bp >= old_sp && !(bp & 7) && bp + 16 <= hi) {
                uint64_t ret = *(const uint64_t *)(uintptr_t)(bp + 8);
                uint64_t next = *(const uint64_t *)(uintptr_t)bp;

                if (ret == 0)
                        break;
                pcs[n++] = ret;
                if (next <= bp)
                        break; /* 0 at the goroutine's first frame */
                bp = next;
        }
        return n;
}

#else

int mp_go_cross(uint64_t pc, uint64_t sp, uint64_t sp_hi, uint64_t bp, uint64_t *pcs, int n,
                int max)
{
        (void)pc;
        (void)sp;
        (void)sp_hi;
        (void)bp;
        (void)pcs;
        (void)n;
        (void)max;
        return -1;
}

#endif
