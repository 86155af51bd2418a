/* C code the cgo example calls: one thread made by C, one Go thread blocked inside C. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blocker.h"

static int fds[2];
static volatile pid_t c_thread_tid, go_thread_tid;

__attribute__((noinline)) static void c_thread_blocks_in_read(void)
{
        char c;

        while (read(fds[0], &c, 1) != 0)
                ;
}

static void *c_thread_main(void *arg)
{
        prctl(PR_SET_NAME, "cgo-cthread");
        c_thread_tid = gettid();
        c_thread_blocks_in_read();
        return NULL;
}

void cgo_start_c_thread(void)
{
        pthread_t t;

        if (pipe2(fds, 0) < 0 || pthread_create(&t, NULL, c_thread_main, NULL) != 0) {
                perror("cgo_start_c_thread");
                _exit(1);
        }
}

/* Called from Go: the goroutine's thread stays in here, below Go frames. */
__attribute__((noinline)) void cgo_block_in_c(void)
{
        char c;

        prctl(PR_SET_NAME, "cgo-gocall");
        go_thread_tid = gettid();
        while (read(fds[0], &c, 1) != 0)
                ;
}

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

/* Returns once both threads sit in their read(). */
void cgo_wait_ready(void)
{
        struct timespec tick = { 0, 1000000 };

        while (!c_thread_tid || !go_thread_tid || blocked_in(c_thread_tid) != SYS_read ||
               blocked_in(go_thread_tid) != SYS_read)
                nanosleep(&tick, NULL);
}
