/* Benchmark target for reading deep stacks (issue 15): 13 threads, two of them blocked
 * at the bottom of a 41-deep recursion, two spinning, eight asleep a few calls deep,
 * and main.  Prints "ready" once every thread is in place; exits when stdin closes. */
#define _GNU_SOURCE 1 /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define DEPTH 41
#define SLEEPERS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile unsigned long spins;
static volatile int placed;

static void block_forever(void)
{
        pthread_mutex_lock(&lock);
        __atomic_add_fetch(&placed, 1, __ATOMIC_SEQ_CST);
        for (;;)
                pthread_cond_wait(&never, &lock);
}

__attribute__((noinline)) static int recurse(int depth, volatile int *sink)
{
        if (depth == 0)
                block_forever();
        else
                *sink += recurse(depth - 1, sink);
        return *sink;
}

static void *deep(void *arg)
{
        volatile int sink = 0;

        (void)arg;
        return (void *)(long)recurse(DEPTH - 1, &sink);
}

static void *spin(void *arg)
{
        (void)arg;
        __atomic_add_fetch(&placed, 1, __ATOMIC_SEQ_CST);
        for (;;)
                spins++;
        return NULL;
}

__attribute__((noinline)) static void nest(int n)
{
        if (n == 0)
                block_forever();
        nest(n - 1);
        __asm__ volatile("" ::: "memory");
}

static void *sleeper(void *arg)
{
        nest((int)(long)arg);
        return NULL;
}

int main(void)
{
        pthread_t th;
        char c;

        for (int i = 0; i < 2; i++) {
                pthread_create(&th, NULL, deep, NULL);
                pthread_setname_np(th, "deep");
                pthread_create(&th, NULL, spin, NULL);
                pthread_setname_np(th, "spin");
        }
        for (long i = 0; i < SLEEPERS; i++) {
                pthread_create(&th, NULL, sleeper, (void *)(3 + i));
                pthread_setname_np(th, "sleeper");
        }
        while (__atomic_load_n(&placed, __ATOMIC_SEQ_CST) < 2 + 2 + SLEEPERS)
                usleep(1000);
        printf("ready\n");
        fflush(stdout);
        while (read(0, &c, 1) > 0)
                ;
        return 0;
}
