/* One thread as seen while it is stopped: registers and a private copy of its stack. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "maps.h"
#include "memprof/clock.h"
#include "task.h"

/* The stack from SP upward, and at most one more region the frame-pointer chain leads to
 * (Go's cgo calls run C on the system stack while the Go frames stay on the goroutine's). */
#define CAPTURE_MAX_COPIES 2
#define CAPTURE_STACK_MAX (256u << 10)
#define CAPTURE_HOP_MAX (64u << 10)
/* Over this much copied in one collection, each further thread gets this little. */
#define CAPTURE_BUDGET (64u << 20)
#define CAPTURE_STACK_LEAN (16u << 10)

struct stack_copy {
        uint64_t start;
        size_t len;
        uint8_t *data;
        uint64_t map_start, map_end; /* its mapping: live reads there would be stale */
};

struct thread_capture {
        pid_t tid;
        struct proc_stat stat; /* read before the stop */
        int error;             /* 0, or why there is no stack: -ESRCH gone, ... */
        bool seized;           /* ours: must reach a stop and be detached */
        bool stopped;          /* in a ptrace-stop now */
        bool pending;          /* interrupted, its stop not waited for yet */
        bool stuck;            /* seized, but not stopped by the deadline: left to the
                                * kernel, which releases it when the tracer thread exits */
        int resume_signal;     /* a signal it was about to take: re-injected at detach */
        int64_t interrupt_ns, detach_ns;
        char wchan[32]; /* where a thread that did not stop waits in the kernel */
        bool have_regs;
        struct user_regs_struct regs;
        size_t ncopies;
        struct stack_copy copies[CAPTURE_MAX_COPIES];
};

/* One small read of the target, made just before running threads are interrupted: on
 * the virtual machines here the first process_vm_readv after a pause costs twice what
 * the next does (~10 us against ~5), and the next is the stopped thread's stack copy. */
void capture_warm(pid_t pid, const struct map_table *maps);

/* Registers and stack of a stopped thread.  *budget is what may still be copied. */
int capture_thread(const struct map_table *maps, struct thread_capture *t, size_t *budget);
void capture_release(struct thread_capture *t);

/* The collector's clock for deadlines and stop times (include/memprof/clock.h). */
static inline int64_t capture_now_ns(void)
{
        return time_now_ns(CLOCK_MONOTONIC);
}
