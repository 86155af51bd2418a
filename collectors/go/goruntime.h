/* The Go runtime collector: recognises a Go process and reads its runtime's own memory
 * accounting and heap profile from outside, without stopping it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gomem.h"

struct go_binary; /* one executable's layout, cached by the file's identity */
struct heap_snapshot;

struct go_target {
        pid_t pid;
        struct go_mem mem;
        uint64_t bias; /* load bias: added to every DWARF address */
        const struct go_binary *bin;
        char version[48]; /* "go1.23.5", or "" if unknown */
};

/* Opens pid's executable (/proc/PID/exe) and, for a Go program, its cached layout.
 * -ENOEXEC: not a Go program; -ENOENT: the process is gone. */
int go_target_open(pid_t pid, struct go_target **ret);
void go_target_free(struct go_target *t);

/* NULL when the layout is usable, else one sentence saying why not (static or owned by
 * the cached binary), e.g. for a stripped binary. */
const char *go_target_unusable(const struct go_target *t);

/* runtime.MemStats as ReadMemStats computes it, plus what NumGoroutine, GOMAXPROCS and
 * MemProfileRate return. */
struct go_memstats {
        uint64_t alloc, total_alloc, sys, mallocs, frees, heap_alloc, heap_sys, heap_idle,
            heap_inuse, heap_released, heap_objects, stack_inuse, stack_sys, mspan_inuse,
            mcache_inuse, gc_sys, other_sys, next_gc, last_gc, pause_total_ns, num_gc,
            num_forced_gc, goroutines, gomaxprocs, mem_profile_rate;
        bool memory_limit_set; /* GOMEMLIMIT is set: NextGC ignores it */
};

/* -EBADMSG with a static reason in *ret_why for inconsistent target memory or a layout
 * lacking a member; -EFAULT (and other -errno) when memory cannot be read. */
int go_read_memstats(struct go_target *t, struct go_memstats *ret, const char **ret_why);

/* The heap profile as /debug/pprof/heap has it (as of the last completed GC), as a
 * heap_snapshot with the raw stacks (Go's logical pcs: one frame each, innermost first,
 * every one a return address).  *ret_rate is MemProfileRate now (0: profiling off). */
int go_read_heap(struct go_target *t, struct heap_snapshot **ret, uint64_t *ret_rate,
                 const char **ret_why);

/* Writes runtime.MemProfileRate (memprof attach); *ret_old is the value it replaced.
 * -ENOTSUP: the layout lacks it or the profiling buckets; -EPERM: the caller may not
 * ptrace the target (the kernel's check); -EINVAL: rate 0 or above the maximum. */
#define GO_MEM_PROFILE_RATE_MAX (1ull << 30)
int go_write_mem_profile_rate(struct go_target *t, uint64_t rate, uint64_t *ret_old);

/* For tests and the fuzzer: how many binaries the layout cache holds. */
unsigned go_binary_cache_size(void);
