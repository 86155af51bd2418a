/* Example with known thread stacks: each thread blocks in a distinctly named function.
 * Threads: mp-condvar, mp-sleep, mp-pipe, mp-busy, mp-deep (40 frames of recurse_deep).
 * Prints "ready" once every thread is in place; "exit-main" makes the leader a zombie. */
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEEP 40

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t ready;
static int pipe_fds[2], deep_fds[2]; /* two pipes: the two readers must not fold into one */
static volatile unsigned long spins;
static pid_t tids[5];

__attribute__((noinline)) static void wait_on_condvar(void)
{
        pthread_mutex_lock(&lock);
        pthread_barrier_wait(&ready);
        for (;;)
                pthread_cond_wait(&never, &lock);
}

__attribute__((noinline)) static void sleep_in_nanosleep(void)
{
        struct timespec ts = { 3600, 0 };

        pthread_barrier_wait(&ready);
        for (;;)
                nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void block_in_pipe_read(void)
{
        char c;

        pthread_barrier_wait(&ready);
        /* nobody writes: blocks until the process exits */
        while (read(pipe_fds[0], &c, 1) != 0)
                ;
}

__attribute__((noinline)) static void spin_busy_loop(void)
{
        pthread_barrier_wait(&ready);
        for (;;)
                spins++;
}

__attribute__((noinline)) static void block_at_bottom(void)
{
        char c;

        pthread_barrier_wait(&ready);
        while (read(deep_fds[0], &c, 1) != 0)
                ;
}

/* Not a tail call: the work after the call keeps every frame on the stack. */
__attribute__((noinline)) int recurse_deep(int depth)
{
        volatile int keep = depth;

        if (depth == 0)
                block_at_bottom();
        else
                keep += recurse_deep(depth - 1);
        return keep;
}

static void *run(void *arg)
{
        int which = (int)(intptr_t)arg;

        tids[which] = gettid();
        switch (which) {
        case 0: wait_on_condvar(); break;
        case 1: sleep_in_nanosleep(); break;
        case 2: block_in_pipe_read(); break;
        case 3: spin_busy_loop(); break;
        default: recurse_deep(DEEP - 1); break;
        }
        return NULL;
}

/* The syscall a thread is blocked in (/proc/self/task/TID/syscall), or -1 if running. */
static long blocked_in(pid_t tid)
{
        char path[64];
        long nr = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        if (fscanf(f, "%ld", &nr) != 1)
                nr = -1;
        fclose(f);
        return nr;
}

/* "ready" means every thread is in its blocking call, not on its way there: the condvar
 * waiter has released the mutex inside pthread_cond_wait, the others sit in their syscall. */
static void wait_in_place(void)
{
        struct timespec tick = { 0, 1000000 };

        pthread_mutex_lock(&lock);
        pthread_mutex_unlock(&lock);
        while (blocked_in(tids[0]) != SYS_futex ||
               (blocked_in(tids[1]) != SYS_clock_nanosleep && blocked_in(tids[1]) != SYS_nanosleep) ||
               blocked_in(tids[2]) != SYS_read || blocked_in(tids[4]) != SYS_read || spins == 0)
                nanosleep(&tick, NULL);
}

static void *end_at_once(void *arg)
{
        return arg;
}

int main(int argc, char **argv)
{
        static const char *const kinds[] = { "condvar", "sleep", "pipe", "busy", "deep" };
        pthread_t th[5];

        if (pipe2(pipe_fds, 0) < 0 || pipe2(deep_fds, 0) < 0) {
                perror("pipe");
                return 1;
        }
        pthread_barrier_init(&ready, NULL, 6);
        for (int i = 0; i < 5; i++) {
                char name[16];

                if (pthread_create(&th[i], NULL, run, (void *)(intptr_t)i) != 0) {
                        perror("pthread_create");
                        return 1;
                }
                snprintf(name, sizeof(name), "mp-%s", kinds[i]);
                pthread_setname_np(th[i], name);
        }
        pthread_barrier_wait(&ready);
        wait_in_place();
        printf("ready\n");
        fflush(stdout);
        /* "exit-main": the leader exits and stays a zombie while its threads live on */
        if (argc > 1 && strcmp(argv[1], "exit-main") == 0)
                pthread_exit(NULL);
        /* "spawn": the leader keeps starting threads that end at once, so threads are
         * born while a collector stops the process */
        if (argc > 1 && strcmp(argv[1], "spawn") == 0)
                for (;;) {
                        pthread_t t;

                        if (pthread_create(&t, NULL, end_at_once, NULL) == 0)
                                pthread_join(t, NULL);
                }
        /* "vfork": the leader waits in vfork for a child that sleeps a minute, where no
         * ptrace interrupt reaches it */
        if (argc > 1 && strcmp(argv[1], "vfork") == 0) {
                static const struct timespec minute = { 60, 0 };

                if (vfork() == 0) {
                        syscall(SYS_nanosleep, &minute, NULL);
                        _exit(0);
                }
        }
        pthread_join(th[0], NULL);
        return 0;
}
