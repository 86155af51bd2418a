/* The Go runtime collector: recognises a Go process and reads its runtime's own memory
 * accounting and heap profile from outside, without stopping it. */
#pragma once

#include <errno.h>
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

/* Goroutines (goroutines.c, gostack.c). */
#define GO_STACK_MAX 100          /* frames per goroutine: what debug=2 prints at most */
#define GO_GOROUTINES_MAX (1u << 21) /* allglen above this is forged */
#define GO_NAME_MAX 48            /* a status or wait reason, as the runtime spells it */

/* Why a goroutine has no stack (go_goroutine.error). */
#define GO_G_CHANGED (-EAGAIN)      /* it moved on each time it was read */
#define GO_G_ON_THREAD (-EINPROGRESS) /* running (or in a system call without a saved frame
                                       * pointer): its stack is in a thread's registers */

struct go_goroutine {
        uint64_t addr; /* the runtime's g */
        uint64_t goid, parent_goid, gopc, startpc, m;
        int64_t waitsince; /* CLOCK_MONOTONIC ns it was first seen blocked by a GC; 0 unknown */
        uint32_t status;   /* the runtime's value, scan bit removed */
        uint32_t wait_reason;
        bool scan, locked, system;
        pid_t tid;   /* on a thread: which (m.procid) */
        int error;   /* 0, GO_G_CHANGED, GO_G_ON_THREAD or -EFAULT (stack unreadable) */
        bool truncated; /* deeper than GO_STACK_MAX or than the copy read */
        uint32_t npcs;
        uint64_t *pcs; /* innermost first, every one a return address (an exact pc is +1) */
        size_t frames_at; /* where pcs starts in the snapshot's frames (while it grows) */
};

struct go_goroutines {
        char version[48];
        int64_t time_ns, mono_ns; /* when read: realtime, and the clock waitsince is on */
        uint64_t listed;          /* allglen: every g the runtime made, dead ones too */
        uint64_t runtime_count;   /* NumGoroutine's counters, read just before the walk */
        size_t unreadable;        /* gs listed whose memory could not be read: not in g[] */
        size_t n;
        struct go_goroutine *g; /* the live ones (system goroutines flagged), by goid */
        size_t on_thread;       /* how many have error GO_G_ON_THREAD */
        uint64_t stopped_ns;    /* how long threads were stopped for them (0: not stopped) */
        uint32_t status_waiting; /* _Gwaiting: the status whose wait reason is shown */
        size_t nstatus, nreasons;
        char (*status_names)[GO_NAME_MAX];
        char (*reasons)[GO_NAME_MAX];
        uint64_t *frames; /* every pcs array points in here */
        size_t nframes, frames_cap;
};

/* runtime.NumGoroutine from the runtime's counters (allglen less the free and system
 * ones), as memstats' go_Goroutines shows it. */
int go_read_goroutine_count(struct go_target *t, uint64_t *ret);

/* Every live goroutine of the target, read without stopping it: waiting ones with their
 * stacks from their saved context; those on a thread (running) left with error
 * GO_G_ON_THREAD and their thread id, for go_goroutines_from_threads. */
int go_read_goroutines(struct go_target *t, struct go_goroutines **ret, const char **ret_why);

/* A stopped thread's stack as the ptrace collector unwound it: pcs[0] the current pc. */
struct go_thread_pcs {
        pid_t tid;
        size_t npcs;
        const uint64_t *pcs;
};

/* With the threads' stacks (copied while they were all stopped, stopped_ns long): each
 * goroutine still on the thread it was on gets that thread's stack; one that has since
 * parked is read from its saved context; the others stay without a stack. */
int go_goroutines_from_threads(struct go_target *t, struct go_goroutines *gs,
                               const struct go_thread_pcs *threads, size_t nthreads,
                               uint64_t stopped_ns);
void go_goroutines_free(struct go_goroutines *gs);

/* The status as the runtime's traceback shows it: the wait reason of a waiting
 * goroutine, else the status name ("runnable", "running", ...). */
const char *go_goroutine_state(const struct go_goroutines *gs, const struct go_goroutine *g);

/* For tests and the fuzzer: how many binaries the layout cache holds. */
unsigned go_binary_cache_size(void);
