/* The program memprof attach is tested on: allocates from named sites when told to on
 * stdin, so the test knows what each site holds; blocks in read (or nanosleep, accept,
 * with an argument) meanwhile; with -t N, N threads allocate and free without pause. */
#include <dlfcn.h>
#include <errno.h>
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PRE_OBJECTS 5000
static void *pre[PRE_OBJECTS];
static volatile int stop_storm;

__attribute__((noinline)) static void *site_a(size_t n)
{
        void *p = malloc(n);
        memset(p, 1, n);
        return p;
}

__attribute__((noinline)) static void *site_b(size_t n)
{
        return calloc(1, n);
}

__attribute__((noinline)) static void *site_c(void *old, size_t n)
{
        return realloc(old, n);
}

/* Objects of every size class, some page-aligned, made before the attach. */
static void make_pre(void)
{
        for (int i = 0; i < PRE_OBJECTS; i++) {
                size_t n = (size_t)(i % 97) * 37 + 1;
                if (i % 50 == 0)
                        pre[i] = aligned_alloc(4096, 4096);
                else if (i % 333 == 0)
                        pre[i] = malloc(200000); /* mmap'd */
                else
                        pre[i] = malloc(n);
        }
}

static void *storm(void *arg)
{
        unsigned seed = (unsigned)(uintptr_t)arg;
        void *slots[64] = {0};
        while (!__atomic_load_n(&stop_storm, __ATOMIC_RELAXED)) {
                int k = rand_r(&seed) % 64;
                free(slots[k]);
                slots[k] = malloc((size_t)(rand_r(&seed) % 2000));
        }
        for (int k = 0; k < 64; k++)
                free(slots[k]);
        return NULL;
}

/* Commands, one a line: "a N K" K objects of N bytes from site_a (kept), "b N K" from
 * site_b, "c N K" K objects reallocated to N by site_c, "free-pre" frees the objects
 * made before, "realloc-pre" reallocates them, "usable-pre" sums their usable sizes,
 * "dlopen PATH" opens a library and calls its plugin_alloc(K), "exit". */
int main(int argc, char **argv)
{
        const char *block = argc > 1 ? argv[1] : "read";
        int threads = argc > 2 ? atoi(argv[2]) : 0;
        pthread_t th[16];
        char line[512];

        make_pre();
        for (int i = 0; i < threads && i < 16; i++)
                pthread_create(&th[i], NULL, storm, (void *)(uintptr_t)(i + 1));
        if (strcmp(block, "nanosleep") == 0) {
                struct timespec t0, t1, req = {1, 500000000}, rem = {0, 0};
                clock_gettime(CLOCK_MONOTONIC, &t0);
                printf("ready %d\n", (int)getpid());
                fflush(stdout);
                errno = 0;
                int r = nanosleep(&req, &rem);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
                printf("slept r=%d errno=%d at-least-1500ms=%d\n", r, errno, ms >= 1500);
        } else if (strcmp(block, "accept") == 0) {
                int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in a = {.sin_family = AF_INET,
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                socklen_t len = sizeof(a);
                bind(s, (struct sockaddr *)&a, sizeof(a));
                listen(s, 1);
                getsockname(s, (struct sockaddr *)&a, &len);
                printf("ready %d port %d\n", (int)getpid(), ntohs(a.sin_port));
                fflush(stdout);
                errno = 0;
                int c = accept(s, NULL, NULL);
                printf("accepted ok=%d errno=%d\n", c >= 0, errno);
        } else {
                printf("ready %d\n", (int)getpid());
        }
        fflush(stdout);
        while (fgets(line, sizeof(line), stdin)) {
                char cmd[32], arg[400];
                size_t n = 0, k = 0;
                arg[0] = '\0';
                if (sscanf(line, "%31s %399s", cmd, arg) < 1)
                        continue;
                sscanf(line, "%*s %zu %zu", &n, &k);
                if (strcmp(cmd, "a") == 0) {
                        for (size_t i = 0; i < k; i++)
                                (void)site_a(n);
                } else if (strcmp(cmd, "b") == 0) {
                        for (size_t i = 0; i < k; i++)
                                (void)site_b(n);
                } else if (strcmp(cmd, "c") == 0) {
                        for (size_t i = 0; i < k; i++)
                                (void)site_c(malloc(8), n);
                } else if (strcmp(cmd, "free-pre") == 0) {
                        for (int i = 0; i < PRE_OBJECTS; i++) {
                                free(pre[i]);
                                pre[i] = NULL;
                        }
                } else if (strcmp(cmd, "realloc-pre") == 0) {
                        for (int i = 0; i < PRE_OBJECTS; i++)
                                pre[i] = realloc(pre[i], (size_t)(i % 89) * 41 + 3);
                } else if (strcmp(cmd, "usable-pre") == 0) {
                        size_t sum = 0;
                        for (int i = 0; i < PRE_OBJECTS; i++)
                                sum += malloc_usable_size(pre[i]) > 0;
                        printf("usable %zu\n", sum);
#ifndef ATTACHEE_STATIC /* the static build only tests the refusal */
                } else if (strcmp(cmd, "dlopen") == 0) {
                        void *h = dlopen(arg, RTLD_NOW);
                        void *(*fn)(size_t) =
                            h ? (void *(*)(size_t))dlsym(h, "plugin_alloc") : NULL;
                        printf("plugin %s\n", fn && fn(3000) ? "ok" : "failed");
#endif
                } else if (strcmp(cmd, "exit") == 0) {
                        break;
                }
                printf("done %s\n", cmd);
                fflush(stdout);
        }
        __atomic_store_n(&stop_storm, 1, __ATOMIC_RELAXED);
        for (int i = 0; i < threads && i < 16; i++)
                pthread_join(th[i], NULL);
        printf("bye\n");
        return 3;
}
