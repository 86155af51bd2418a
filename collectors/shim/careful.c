/* The walk for the stacks the fast unwinder (unwind.c) leaves: signal frames, code
 * without unwind tables or with rules it does not take, stacks of the program's own
 * making.  Every word it reads is checked first, so a clobbered frame ends the walk
 * early and never faults. */
#include <stddef.h>
#include <string.h>
#include <ucontext.h>

#include "ehframe.h"
#include "gocross.h"
#include "unwind.h"

#if defined(__x86_64__)

#define PAGE UINT64_C(4096)
#define CHECKED_PAGES 8

/*
 * Where the walk may read: the calling thread's own stack above the first stack
 * pointer (checked readable once, as the fast walk checks it), and pages found readable
 * by a one-byte process_vm_readv of this very process, which fails with EFAULT where a
 * load would fault (unmapped, PROT_NONE).  A page another thread unmaps meanwhile is
 * the one risk left, as it is for any unwinder; the stacks walked here are in use.
 */
struct reader {
        uint64_t lo, hi; /* the thread's stack, or empty */
        uint64_t pages[CHECKED_PAGES];
        unsigned npages;
};

static bool page_readable(struct reader *r, uint64_t page)
{
        for (unsigned i = 0; i < CHECKED_PAGES && i < r->npages; i++)
                if (r->pages[i] == page)
                        return true;
        if (page > UINT64_MAX - PAGE || !mp_pages_readable(page, page + PAGE))
                return false;
        r->pages[r->npages++ % CHECKED_PAGES] = page;
        return true;
}

/* An aligned word never crosses a page: one check covers it. */
static bool load(struct reader *r, uint64_t at, uint64_t *ret)
{
        if (at & 7)
                return false;
        if (!(at >= r->lo && at < r->hi && r->hi - at >= 8) && !page_readable(r, at & ~(PAGE - 1)))
                return false;
        *ret = *(const uint64_t *)(uintptr_t)at;
        return true;
}

/* glibc's __restore_rt, where a signal handler returns to: mov $15, %rax; syscall
 * (rt_sigreturn).  The handler's return address is there, and its CFA (where the
 * return address was popped from) is the kernel's ucontext. */
static const uint8_t sigreturn_code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

static bool is_sigreturn(struct reader *r, uint64_t pc)
{
        uint64_t end = pc + sizeof(sigreturn_code) - 1;

        if (end < pc || !page_readable(r, pc & ~(PAGE - 1)) ||
            !page_readable(r, end & ~(PAGE - 1)))
                return false;
        return memcmp((const void *)(uintptr_t)pc, sigreturn_code, sizeof(sigreturn_code)) == 0;
}

/* The kernel's ucontext starts as glibc's ucontext_t does (flags, link, stack, then the
 * general registers); these are the offsets of the three a walk needs. */
#define UC_REG(r) (offsetof(ucontext_t, uc_mcontext.gregs) + 8 * (r))
_Static_assert(UC_REG(REG_RBP) == 120 && UC_REG(REG_RSP) == 160 && UC_REG(REG_RIP) == 168,
               "the kernel's struct ucontext on x86-64");

/* The registers where the walk is, and what code address chooses the frame's rule:
 * the call before a return address, the very instruction a signal interrupted. */
struct frame {
        uint64_t pc, lookup, sp, bp;
};

/* Sets r's own-stack range for a stack pointer, or empties it. */
static void own_stack(struct reader *r, uint64_t sp)
{
        uint64_t hi;

        r->lo = r->hi = 0;
        if (mp_stack_own(sp, &hi)) {
                r->lo = sp;
                r->hi = hi;
        }
}

/* One step outward by the frame's unwind rule; false if it has none usable. */
static bool step_rule(struct reader *r, struct frame *f, uint64_t rule)
{
        uint64_t cfa, bp = f->bp, ra;

        if (rule & (R_UNSUPPORTED | R_OUTERMOST))
                return false;
        cfa = (rule & R_CFA_RBP ? f->bp : f->sp) + (uint64_t)((int64_t)rule >> R_CFA_SHIFT);
        if (cfa < f->sp + 8)
                return false; /* frames lie above one another */
        if ((rule & R_RBP_SAVED) &&
            !load(r, cfa + (uint64_t)(int64_t)(int16_t)(rule >> R_RBP_SHIFT), &bp))
                return false;
        if (!load(r, cfa - 8, &ra))
                return false;
        *f = (struct frame){.pc = ra, .lookup = ra - 1, .sp = cfa, .bp = bp};
        return true;
}

/* Out of a signal handler's frame: the registers the signal interrupted. */
static bool step_signal(struct reader *r, struct frame *f)
{
        uint64_t rip, rsp, rbp;

        if (!load(r, f->sp + UC_REG(REG_RIP), &rip) || !load(r, f->sp + UC_REG(REG_RSP), &rsp) ||
            !load(r, f->sp + UC_REG(REG_RBP), &rbp))
                return false;
        *f = (struct frame){.pc = rip, .lookup = rip, .sp = rsp, .bp = rbp};
        if (rsp < r->lo || rsp >= r->hi)
                own_stack(r, rsp); /* interrupted on another stack (sigaltstack) */
        return true;
}

/* Code without rules: the frame-pointer chain, if RBP points a little way up the
 * stack.  Further than that it is more likely some other use of the register, or a
 * frame on another stack (the caller of swapcontext, below a coroutine's first
 * frame), than this frame's. */
#define FRAME_MAX UINT64_C(0x4000)

static bool step_frame_pointer(struct reader *r, struct frame *f)
{
        uint64_t bp, ra;

        if (f->bp < f->sp || f->bp - f->sp > FRAME_MAX || !load(r, f->bp, &bp) ||
            !load(r, f->bp + 8, &ra))
                return false;
        *f = (struct frame){.pc = ra, .lookup = ra - 1, .sp = f->bp + 16, .bp = bp};
        return true;
}

__attribute__((noinline)) int mp_unwind_careful(uint64_t *pcs, int max, uint64_t skip_lo,
                                                uint64_t skip_hi)
{
        struct reader r = {0};
        struct frame f;
        int n = 0;

        __asm__ volatile("lea 0(%%rip), %0\n\t"
                         "mov %%rsp, %1\n\t"
                         "mov %%rbp, %2"
                         : "=&r"(f.pc), "=&r"(f.sp), "=&r"(f.bp));
        f.lookup = f.pc;
        own_stack(&r, f.sp);
        /* skipped frames (the shim's) are few: the bound counts them too */
        for (int steps = 0; n < max && steps < max + 32; steps++) {
                uint64_t rule = mp_unwind_rule(f.lookup);

                if (rule & R_OUTERMOST)
                        break;
                if (step_rule(&r, &f, rule)) {
                        /* as found */
                } else if (is_sigreturn(&r, f.pc)) {
                        if (!step_signal(&r, &f))
                                break;
                } else {
                        /* a cgo call's return into Go, on the thread's own stack */
                        int crossed = f.sp >= r.lo && f.sp < r.hi ?
                                              mp_go_cross(f.pc, f.sp, r.hi, f.bp, pcs, n, max) :
                                              -1;

                        if (crossed >= 0)
                                return crossed;
                        if (!step_frame_pointer(&r, &f))
                                break;
                }
                if (f.pc == 0)
                        break;
                if (f.pc - skip_lo >= skip_hi - skip_lo)
                        pcs[n++] = f.pc;
        }
        return n;
}

#else

int mp_unwind_careful(uint64_t *pcs, int max, uint64_t skip_lo, uint64_t skip_hi)
{
        (void)pcs;
        (void)max;
        (void)skip_lo;
        (void)skip_hi;
        return 0;
}

#endif
