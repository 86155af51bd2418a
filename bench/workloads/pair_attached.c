/* Benchmark workload for callgrind: pair.c's loop in a process that loads the shim late
 * and calls its memprof_attach itself, as memprof attach makes a thread do, so the
 * fast path after an attach (through the rewritten GOT) is counted like the preloaded
 * one (valgrind cannot be ptrace-attached to).
 *
 *   pair_attached SHIM RATE [N [SIZE]]
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: pair_attached SHIM RATE [N [SIZE]]\n");
                return 2;
        }
        unsigned long n = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
        unsigned long size = argc > 4 ? strtoul(argv[4], NULL, 10) : 32;
        void *h = dlopen(argv[1], RTLD_NOW);
        int (*attach)(uint64_t) = h ? (int (*)(uint64_t))dlsym(h, "memprof_attach") : NULL;
        if (!attach || attach(strtoull(argv[2], NULL, 10)) != 0) {
                fprintf(stderr, "pair_attached: attach failed: %s\n", h ? "" : dlerror());
                return 1;
        }
        for (unsigned long i = 0; i < n; i++) {
                void *p = malloc(size);
                __asm__ volatile("" : : "r"(p) : "memory");
                free(p);
        }
        return 0;
}
