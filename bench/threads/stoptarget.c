/* Benchmark target: measures how long it is stopped.  A ticker thread reads CLOCK_MONOTONIC
 * in a tight loop and keeps the largest gap between two reads; while a tool stops the
 * process, the ticker is stopped too, so the gap is the stop.  Other threads block in a
 * few nested calls so that each tool has stacks to unwind.
 * The ticker also keeps every gap over GAP_MIN_NS (start and end, CLOCK_MONOTONIC) so that
 * bench_threads.py can pick the one that holds a ptrace stop the kernel traced.
 * stdin commands: 'r' resets, 'g' prints the largest gap in ns, 'l' lists the kept gaps
 * ("start end" in ns, then "."). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SLEEPERS 8
#define GAP_MIN_NS 2000
#define GAPS_KEPT 4096

struct gap {
        int64_t start, end;
};
static struct gap gaps[GAPS_KEPT];
static volatile unsigned ngaps;

static volatile int64_t max_gap;
static volatile int reset, quit;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *ticker(void *arg)
{
        int64_t last = now_ns();

        (void)arg;
        for (;;) {
                int64_t t = now_ns();

                if (reset) {
                        ngaps = 0;
                        max_gap = 0;
                        __atomic_store_n(&reset, 0, __ATOMIC_RELEASE);
                } else {
                        if (t - last > max_gap)
                                max_gap = t - last;
                        if (t - last >= GAP_MIN_NS && ngaps < GAPS_KEPT) {
                                gaps[ngaps] = (struct gap){ last, t };
                                __atomic_store_n(&ngaps, ngaps + 1, __ATOMIC_RELEASE);
                        }
                }
                last = t;
        }
        return NULL;
}

__attribute__((noinline)) static void sleeper_wait(void)
{
        pthread_mutex_lock(&lock);
        while (!quit)
                pthread_cond_wait(&never, &lock);
        pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) static int sleeper_nest(int depth)
{
        volatile int keep = depth;

        if (depth == 0)
                sleeper_wait();
        else
                keep += sleeper_nest(depth - 1);
        return keep;
}

static void *sleeper(void *arg)
{
        sleeper_nest(8 + (int)(intptr_t)arg);
        return NULL;
}

int main(void)
{
        pthread_t t;
        int c;

        for (intptr_t i = 0; i < SLEEPERS; i++)
                if (pthread_create(&t, NULL, sleeper, (void *)i) != 0)
                        return 1;
        if (pthread_create(&t, NULL, ticker, NULL) != 0)
                return 1;
        pthread_setname_np(t, "ticker"); /* bench_threads.py finds it by name */
        printf("ready\n");
        fflush(stdout);
        while ((c = getchar()) != EOF) {
                if (c == 'r') {
                        reset = 1;
                        while (__atomic_load_n(&reset, __ATOMIC_ACQUIRE))
                                usleep(100);
                } else if (c == 'g') {
                        printf("%lld\n", (long long)max_gap);
                        fflush(stdout);
                } else if (c == 'l') {
                        unsigned n = __atomic_load_n(&ngaps, __ATOMIC_ACQUIRE);

                        for (unsigned i = 0; i < n; i++)
                                printf("%lld %lld\n", (long long)gaps[i].start,
                                       (long long)gaps[i].end);
                        printf(".\n");
                        fflush(stdout);
                }
        }
        return 0;
}
