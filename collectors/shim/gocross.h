/* The shim's unwinder crossing from a cgo call's C frames into the Go frames that made
 * it (see gocross.c). */
#pragma once

#include <stdint.h>

/*
 * Where the walk stopped at return address pc with stack pointer sp (on the thread's
 * stack, which ends at sp_hi) and frame register bp: if pc is runtime.asmcgocall's
 * return from C, appends the goroutine's return addresses (frame pointers) to pcs
 * after the n found, up to max, and returns the new count; else -1.  Reads the
 * thread's stack above sp, the goroutine's g and stack; no allocation, no lock.
 */
__attribute__((visibility("hidden"))) int mp_go_cross(uint64_t pc, uint64_t sp, uint64_t sp_hi,
                                                      uint64_t bp, uint64_t *pcs, int n, int max);
