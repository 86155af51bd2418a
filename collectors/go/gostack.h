/* A parked goroutine's stack unwound by its frame pointers, in a copy of the stack. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gomem.h"

/* Where the walk starts: the saved context (g.sched, or g.syscall* in a system call). */
struct go_stack_start {
        uint64_t pc, sp, bp;
        uint64_t lo, hi;           /* the goroutine's stack: [lo, hi) */
        uint64_t startpc;          /* its function: a goroutine that never ran sits at its entry */
        uint64_t text_lo, text_hi; /* the executable's code, load bias added */
};

/* A copy of part of a stack: data holds [addr, addr + len). */
struct go_stack_copy {
        uint64_t addr;
        const uint8_t *data;
        size_t len;
};

/* How much of a stack above its SP is copied up front: a parked goroutine's frames fit in
 * this far more often than not; a deeper walk reads on, GO_STACK_READ_MAX at a time. */
#define GO_STACK_COPY (4u << 10)
#define GO_STACK_READ_MAX (16u << 10)

/*
 * Unwinds from s through the frame-pointer chain (Go keeps one on amd64), using copy
 * while the chain stays in it and reading mem beyond.  Every return address must be in
 * the executable's code and every frame above the last, so a forged or changing stack
 * ends the walk instead of looping.  Writes at most max pcs, innermost first, each a
 * return address (a goroutine that has not run yet: its entry + 1).  *ret_truncated:
 * the chain went on past max or could not be read.  scratch: GO_STACK_READ_MAX bytes.
 */
uint32_t go_stack_walk(struct go_mem *mem, const struct go_stack_start *s,
                       const struct go_stack_copy *copy, uint8_t *scratch, uint64_t *pcs,
                       uint32_t max, bool *ret_truncated);
