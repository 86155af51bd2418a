/* A thread blocked in write() to a full pipe nobody reads, the way a program whose output
 * is piped into a slow reader waits, with the two things that once cut its first stack
 * short: RBP used as a general register (no frame pointers) holding the address of a
 * global, reachable through a frame record on the stack, and frames whose unwind rules
 * name a personality routine through a pointer in the binary's writable data.
 * Built with -fexceptions -fomit-frame-pointer.  Prints "ready TID" once the writer has
 * been started; the caller waits for it to block in write (syscall 1). */
#define _GNU_SOURCE 1 /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)

/* in the binary's own writable mapping, above the personality pointer */
static void *volatile anchor;
static int pipe_fds[2];

static void release(char **p)
{
        free(*p);
}

/* cleanup attributes give these frames a personality routine and an LSDA; both keep a
 * frame record, so that from write() RBP leads up the stack to writer_main's RBP */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void emit_chunk(int fd)
{
        char *buf __attribute__((cleanup(release))) = malloc(CHUNK);
        size_t done = 0;

        if (!buf)
                abort();
        memset(buf, 'w', CHUNK);
        while (done < CHUNK) {
                ssize_t n = write(fd, buf + done, CHUNK - done);

                if (n <= 0)
                        abort();
                done += (size_t)n;
        }
}

/* Its frame record holds its caller's RBP: the address of anchor. */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void pump_output(int fd)
{
        char *note __attribute__((cleanup(release))) = strdup("pump");

        for (;;)
                emit_chunk(fd);
}

__attribute__((noinline)) static void *writer_main(void *arg)
{
        register void *chain asm("rbp") = (void *)&anchor;

        (void)arg;
        asm volatile("" : "+r"(chain));
        pump_output(pipe_fds[1]);
        asm volatile("" : "+r"(chain));
        return NULL;
}

int main(void)
{
        pthread_t th;
        char c;

        if (pipe(pipe_fds) != 0 || pthread_create(&th, NULL, writer_main, NULL) != 0)
                return 1;
        pthread_setname_np(th, "pipe-writer");
        printf("ready\n");
        fflush(stdout);
        /* until the test closes stdin */
        while (read(0, &c, 1) > 0)
                ;
        return 0;
}
