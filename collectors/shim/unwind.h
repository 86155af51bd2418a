/* The shim's own unwinder for the common case: .eh_frame rules, cached per return
 * address, applied to the current thread's stack. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Return addresses of the calling thread, innermost first, starting with the caller of
 * mp_unwind (the same frames as libunwind's unw_backtrace), leaving out those in
 * [skip_lo, skip_hi) (the shim's own).  Returns how many, or -1 when a frame needs more
 * than this unwinder knows (a signal frame, a DWARF expression, a CFA in another
 * register, code without unwind tables, a stack it cannot bound): the caller then walks
 * with mp_unwind_careful.  Never allocates from the heap (a thread's first call maps its memo pages),
 * never takes a lock, reads no memory outside the thread's stack and the loaded objects'
 * unwind tables, but for a cgo call's crossing into Go (gocross.h): a few bytes of
 * runtime.asmcgocall's code, the goroutine's g and its stack.  cold: walks are far apart (sparse sampling), so the rules the last
 * walk used have likely left the CPU's caches; they are prefetched.
 */
__attribute__((visibility("hidden"))) int mp_unwind(uint64_t *pcs, int max, uint64_t skip_lo,
                                                    uint64_t skip_hi, bool cold);

/*
 * The same frames, for the stacks mp_unwind leaves: a signal frame is stepped through
 * the kernel's saved context, code without usable rules by its frame-pointer chain, and
 * a stack other than the thread's own by reading only pages checked readable first.
 * Slower (a system call per new page off the thread's stack); a clobbered frame ends
 * the walk early.  Returns how many frames (0 or more).
 */
__attribute__((visibility("hidden"))) int mp_unwind_careful(uint64_t *pcs, int max,
                                                            uint64_t skip_lo, uint64_t skip_hi);

/* For mp_unwind_careful: the cached rule for a code address (R_UNSUPPORTED if none),
 * and whether sp is on the calling thread's own stack, mapped from sp to *ret_hi. */
__attribute__((visibility("hidden"))) uint64_t mp_unwind_rule(uint64_t pc);
__attribute__((visibility("hidden"))) bool mp_stack_own(uint64_t sp, uint64_t *ret_hi);
/* Whether every page from page-aligned lo to end can be read: one byte of each, read
 * with process_vm_readv of this process, which fails where a load would fault. */
__attribute__((visibility("hidden"))) bool mp_pages_readable(uint64_t lo, uint64_t end);

/* The calling thread ends: its memo pages go. */
__attribute__((visibility("hidden"))) void mp_unwind_thread_end(void);

/* Walks the calling thread replayed from its memo so far (for tests and diagnostics). */
__attribute__((visibility("hidden"))) unsigned mp_unwind_replays(void);

/* Forgets every cached rule: code may be unmapped and other code mapped in its place. */
__attribute__((visibility("hidden"))) void mp_unwind_forget(void);
