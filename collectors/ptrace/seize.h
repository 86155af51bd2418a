/* Stopping every thread of a process with PTRACE_SEIZE/INTERRUPT, and letting them go. */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "capture.h"

struct stop_set {
        pid_t pid;
        pid_t skip_tid;      /* never stopped: the thread that reads the file */
        int64_t deadline_ns; /* CLOCK_MONOTONIC: stops not reached by then are given up */
        size_t n, cap;
        struct thread_capture *threads; /* sorted by tid */
        int quick_wake; /* wakeup_hold()'s request while running threads are stopped */
};

/* Lists /proc/PID/task until no new thread shows up, seizing and interrupting each and
 * waiting for its stop.  Zombies, kernel threads and threads that exit meanwhile stay in
 * the set with an error and no stop; so do skip_tid (-EDEADLK) and threads that have not
 * stopped by deadline_ns (-ETIMEDOUT: a vfork parent, a reader of a FUSE file; they stay
 * seized until the calling thread exits, so call this from a thread that will).  On
 * failure every stopped thread is detached again.  -ENOENT: no such process; -EBUSY:
 * traced by someone else; -EPERM: not allowed.  maps is the target's memory map, read
 * before: see capture_warm().  The caller must let signo interrupt its waits: see
 * stop_set_timer_signal(). */
int stop_set_stop_all(pid_t pid, pid_t skip_tid, int64_t deadline_ns,
                      const struct map_table *maps, struct stop_set *set);

/* The signal a tracer thread receives at its deadline and every millisecond after, to
 * end a blocked wait for a stop; stop_set_timer_arm() installs its (empty) handler. */
int stop_set_timer_arm(int64_t deadline_ns, timer_t *ret);
void stop_set_timer_disarm(timer_t timer);

/* Detaches every stopped thread (a group-stopped one stays stopped); returns the longest
 * time any thread spent stopped, in ns. */
uint64_t stop_set_detach_all(struct stop_set *set);
/* Whether the calling thread was left the tracer of a thread that never reached its
 * stop: only its exit lets that thread go. */
bool stop_set_left_seized(void);
/* Resumes one stopped thread (a no-op for one that is not stopped). */
void stop_set_detach(struct thread_capture *t);
/* Says the threads that were running are resumed: idle CPUs may sleep again. */
void stop_set_running_resumed(struct stop_set *set);

void stop_set_clear(struct stop_set *set);
