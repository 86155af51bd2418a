/* Stacks of every thread of a process: ptrace-seize, copy, resume, unwind. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define THREAD_MAX_FRAMES 256

struct thread_stack {
        pid_t tid;
        char name[16];
        char state; /* from /proc/PID/task/TID/stat before the stop: R, S, D, T, ... */
        /* 0, or why this thread has no stack: -ESRCH exited, -EOPNOTSUPP kernel thread,
         * -EDEADLK the thread reading the file (never stopped), -ETIMEDOUT not stopped
         * by the deadline (wchan says where it waits), another -errno */
        int error;
        char wchan[32];
        size_t nframes;
        uint64_t pcs[THREAD_MAX_FRAMES]; /* pcs[0] is the current pc, then return addrs */
};

struct thread_snapshot {
        pid_t pid;
        int64_t time_ns;
        uint64_t stopped_ns; /* longest time any thread of the target was stopped */
        size_t nthreads;
        struct thread_stack *threads;
};

/* How long threads_collect waits for the threads to stop, by default. */
#define THREADS_STOP_TIMEOUT_NS (250 * 1000000LL)

struct threads_opts {
        pid_t skip_tid;        /* a thread never to stop (the reader's own); 0: none */
        int64_t stop_timeout_ns; /* 0: THREADS_STOP_TIMEOUT_NS */
        /* Called once every thread is stopped and before anything is copied: whether the
         * process may still be read by whoever asked (it may have exec'd a setuid
         * program since the check, or its PID may belong to another process now).  A
         * negative return ends the collection with that error, nothing copied. */
        int (*verify)(pid_t pid, void *userdata);
        void *userdata;
        /* The calling thread makes the ptrace requests itself instead of a thread made
         * for them: one thread creation and two wake-ups fewer, each of which can wait
         * for a CPU the target keeps busy.  For a caller that ends its thread whenever
         * threads_still_seized() says so afterwards. */
        bool caller_is_tracer;
};

/*
 * Stops every thread (except skip_tid), copies registers and stacks, resumes, unwinds.
 * The ptrace requests are made by a thread of its own that exits before this returns,
 * so a thread that could not be stopped in time is released by the kernel (unless
 * caller_is_tracer: see threads_still_seized).  Bounded: returns within the stop
 * timeout plus the unwinding.
 * -ENOENT: process gone; -EBUSY: already traced by someone else; -EPERM: not allowed;
 * or verify's error.  o may be NULL for the defaults.
 */
int threads_collect(pid_t pid, const struct threads_opts *o, struct thread_snapshot **ret);
void thread_snapshot_free(struct thread_snapshot *s);

/* Whether the calling thread, as the tracer of a collection (caller_is_tracer), still
 * has a thread seized that never reached its stop (a vfork parent, say).  The kernel
 * lets such a thread go only when its tracer exits, so the calling thread must end
 * rather than serve anything else. */
bool threads_still_seized(void);
