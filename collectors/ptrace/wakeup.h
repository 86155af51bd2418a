/* Keeping idle CPUs quick to wake while a running thread is stopped, and the tracer on
 * its CPU while it finishes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Asks the kernel (PM QoS, /dev/cpu_dma_latency) to keep idle CPUs out of sleep states
 * until wakeup_release(); returns the request's fd, or a negative errno when there is no
 * such device or no permission, in which case the collection goes on without it. */
int wakeup_hold(void);
/* Drops the request; accepts a negative fd. */
void wakeup_release(int fd);

/*
 * The running threads are let go first; the tracer then copies and lets go the sleeping
 * ones.  The threads it just resumed wake with the scheduler's credit for the time they
 * were stopped and take its CPU, and on a machine they keep busy it waits for the next
 * tick (milliseconds, with the sleeping threads still stopped).  So for that short copy
 * the calling thread runs SCHED_FIFO at the lowest priority, if the process may and the
 * set is small enough that the copy is short: at most BOOST_MAX_THREADS threads, each
 * copy at most CAPTURE_STACK_MAX + CAPTURE_HOP_MAX (20 MiB in all, a few ms at worst;
 * a stack of the usual depth is a few KiB, tens of microseconds).
 * Returns whether it does; tracer_boost_end() puts the thread back.
 */
#define BOOST_MAX_THREADS 64
bool tracer_boost_begin(size_t nthreads);
void tracer_boost_end(bool boosted);
