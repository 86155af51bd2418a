/* Stacks of every thread of a process: ptrace-seize, copy, resume, unwind. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define THREAD_MAX_FRAMES 256

struct thread_stack {
        pid_t tid;
        char name[16];
        char state; /* from /proc/PID/task/TID/stat before the stop: R, S, D, T, ... */
        int error;  /* 0, or -errno if this thread could not be unwound */
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

/* -ENOENT: process gone; -EBUSY: already traced by someone else; -EPERM: not allowed. */
int threads_collect(pid_t pid, struct thread_snapshot **ret);
void thread_snapshot_free(struct thread_snapshot *s);
