/* A thread asleep in a futex wait made through syscall(), as Rust's standard library
 * waits: under the shim, its thread dump must show no frame of the shim.  Prints
 * "ready" once the waiter is started; exits when stdin closes. */
#define _GNU_SOURCE 1 /* pthread_setname_np, syscall */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static int word;

__attribute__((noinline)) static void wait_in_syscall(void)
{
        for (;;)
                syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void *waiter(void *arg)
{
        (void)arg;
        free(malloc(64)); /* the shim has seen this thread */
        wait_in_syscall();
        return NULL;
}

int main(void)
{
        pthread_t th;
        char c;

        if (pthread_create(&th, NULL, waiter, NULL) != 0)
                return 1;
        pthread_setname_np(th, "syscall-waiter");
        printf("ready\n");
        fflush(stdout);
        while (read(0, &c, 1) > 0)
                ;
        return 0;
}
