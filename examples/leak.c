/* A C program with known heap ground truth: two leak sites, churn, and a site that grows
 * on command.  Used by the README demo and the end-to-end heap tests.
 *
 *   leak [--big-mib N] [--big-obj BYTES] [--small-count N] [--churn N]
 *
 * leak_big() keeps N MiB in objects of BYTES (default 64 MiB in 1 MiB objects),
 * leak_small() keeps COUNT objects of 1000 bytes (default 4096), churn() allocates and
 * frees N objects of 16..4111 bytes (default 200000).  Prints "ready PID" and then reads
 * commands from stdin: "grow" keeps 8 MiB more in 64 KiB objects from grow_site() and
 * prints "grown"; "exit" (or EOF) frees nothing and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fixed tables, so that keeping an object allocates nothing: the only allocation sites
 * are the ones named below. */
#define MAX_KEPT (1 << 18)

struct kept {
        void *objs[MAX_KEPT];
        size_t n;
};

static struct kept big, small, grown;

static void keep(struct kept *k, void *p)
{
        if (!p || k->n == MAX_KEPT) {
                fprintf(stderr, "leak: %s\n", p ? "too many objects" : "out of memory");
                exit(1);
        }
        k->objs[k->n++] = p;
}

__attribute__((noinline)) void leak_big(size_t total, size_t obj)
{
        for (size_t done = 0; done + obj <= total; done += obj) {
                char *p = malloc(obj);
                if (p)
                        memset(p, 0xab, obj);
                keep(&big, p);
        }
}

__attribute__((noinline)) void leak_small(size_t count)
{
        for (size_t i = 0; i < count; i++)
                keep(&small, calloc(1, 1000));
}

__attribute__((noinline)) void churn(size_t count)
{
        unsigned seed = 12345;
        for (size_t i = 0; i < count; i++) {
                seed = seed * 1103515245u + 12345u;
                char *p = malloc(16 + (seed >> 16) % 4096);
                if (p)
                        p[0] = (char)i;
                /* keep the compiler from eliding a malloc/free pair it can see through */
                __asm__ volatile("" : : "r"(p) : "memory");
                free(p);
        }
}

__attribute__((noinline)) void grow_site(void)
{
        for (int i = 0; i < 128; i++)
                keep(&grown, malloc(64 * 1024));
}

static size_t arg(int argc, char **argv, const char *name, size_t def)
{
        for (int i = 1; i + 1 < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return strtoull(argv[i + 1], NULL, 0);
        return def;
}

int main(int argc, char **argv)
{
        size_t big_mib = arg(argc, argv, "--big-mib", 64);
        size_t big_obj = arg(argc, argv, "--big-obj", 1 << 20);
        size_t small_count = arg(argc, argv, "--small-count", 4096);
        size_t churn_count = arg(argc, argv, "--churn", 200000);
        char line[64];

        if (big_obj == 0) {
                fprintf(stderr, "leak: --big-obj must be positive\n");
                return 2;
        }
        leak_big(big_mib << 20, big_obj);
        leak_small(small_count);
        churn(churn_count);

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("ready %d\n", (int)getpid());
        while (fgets(line, sizeof(line), stdin)) {
                if (strncmp(line, "grow", 4) == 0) {
                        grow_site();
                        printf("grown\n");
                } else if (strncmp(line, "exit", 4) == 0) {
                        break;
                }
        }
        return 0;
}
