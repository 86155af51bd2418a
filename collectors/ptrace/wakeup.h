/* Keeping idle CPUs quick to wake while a running thread is stopped. */
#pragma once

/* Asks the kernel (PM QoS, /dev/cpu_dma_latency) to keep idle CPUs out of sleep states
 * until wakeup_release(); returns the request's fd, or a negative errno when there is no
 * such device or no permission, in which case the collection goes on without it. */
int wakeup_hold(void);
/* Drops the request; accepts a negative fd. */
void wakeup_release(int fd);
