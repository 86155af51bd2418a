/* A PM QoS CPU latency request, held while a collection has running threads stopped.
 *
 * A running thread we stop leaves its CPU idle, and an idle CPU sleeps (HLT, a deep
 * C-state, or a halted vCPU the hypervisor must schedule again).  Resuming the thread
 * then waits for that CPU to wake: 12-25 us on the virtual machines here, up to 100+ us
 * on bare metal with deep C-states, more than everything else in the stop together.
 * With a latency request of 0 the idle loop polls instead, and the resume is a store
 * the polling CPU sees at once.  The request covers only those tens of microseconds,
 * and only collections that stop a running thread take it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "wakeup.h"

int wakeup_hold(void)
{
        int32_t zero = 0;
        int fd;

        fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* the value is a binary s32 in microseconds; the request lives while fd is open */
        if (write(fd, &zero, sizeof(zero)) != sizeof(zero)) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

void wakeup_release(int fd)
{
        if (fd >= 0)
                close(fd);
}

bool tracer_boost_begin(size_t nthreads)
{
        struct sched_param p = {.sched_priority = sched_get_priority_min(SCHED_FIFO)};
        int policy;
        struct sched_param now;

        if (nthreads > BOOST_MAX_THREADS)
                return false;
        /* only from the ordinary policy, which is what tracer_boost_end restores */
        if (pthread_getschedparam(pthread_self(), &policy, &now) != 0 || policy != SCHED_OTHER)
                return false;
        return pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
}

void tracer_boost_end(bool boosted)
{
        struct sched_param p = {.sched_priority = 0};

        if (boosted)
                (void)pthread_setschedparam(pthread_self(), SCHED_OTHER, &p);
}
