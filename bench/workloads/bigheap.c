/* Benchmark workload: a live heap allocated from a chosen number of distinct call stacks,
 * kept alive while the files describing it are read.
 *
 *   bigheap [NSTACKS [PER [SIZE]]]    (default 16384 stacks, 1 object each, 256 bytes)
 *
 * Allocation i (0 <= i < NSTACKS) is made at the bottom of a recursion BITS deep
 * (BITS = ceil(log2 NSTACKS)) that goes through go_zero() or go_one() at level b
 * according to bit b of i.  Each function calls on from its own call site, so the
 * return addresses spell out i: NSTACKS allocations, NSTACKS distinct stacks.  PER
 * objects are allocated per stack (each is a separate sampled allocation at
 * MEMPROF_RATE=1, but they share the stack).  Prints "ready PID", then waits until stdin
 * reaches EOF or a line "exit", frees everything and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void **objs;
static size_t nobjs;

static void *go_zero(unsigned idx, unsigned bit, unsigned bits, size_t size);
static void *go_one(unsigned idx, unsigned bit, unsigned bits, size_t size);

__attribute__((noinline)) static void *leaf(size_t size)
{
        void *p = malloc(size);
        if (!p) {
                fprintf(stderr, "bigheap: out of memory\n");
                exit(1);
        }
        memset(p, 0x5a, size);
        return p;
}

__attribute__((noinline)) static void *descend(unsigned idx, unsigned bit, unsigned bits,
                                               size_t size)
{
        if (bit == bits)
                return leaf(size);
        if ((idx >> bit) & 1)
                return go_one(idx, bit + 1, bits, size);
        return go_zero(idx, bit + 1, bits, size);
}

/* The asm after each call keeps it a real call (no tail call), so the caller's frame,
 * and with it this function's return address, stays on the stack; noipa and the
 * different asm text keep the compiler from folding the two identical functions into
 * one (-fipa-icf), which would leave a single path. */
__attribute__((noinline, noipa)) static void *go_zero(unsigned idx, unsigned bit, unsigned bits,
                                               size_t size)
{
        void *p = descend(idx, bit, bits, size);
        __asm__ volatile("# zero" : : "r"(p) : "memory");
        return p;
}

__attribute__((noinline, noipa)) static void *go_one(unsigned idx, unsigned bit, unsigned bits,
                                              size_t size)
{
        void *p = descend(idx, bit, bits, size);
        __asm__ volatile("# one" : : "r"(p) : "memory");
        return p;
}

int main(int argc, char **argv)
{
        unsigned long nstacks = argc > 1 ? strtoul(argv[1], NULL, 10) : 16384;
        unsigned long per = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
        unsigned long size = argc > 3 ? strtoul(argv[3], NULL, 10) : 256;
        if (nstacks < 1 || nstacks > (1ul << 24) || per < 1 || per > 1024 || size < 1 ||
            size > (1ul << 20)) {
                fprintf(stderr, "usage: bigheap [NSTACKS(<=2^24) [PER(<=1024) [SIZE]]]\n");
                return 2;
        }
        unsigned bits = 0;
        while ((1ul << bits) < nstacks)
                bits++;

        objs = malloc(nstacks * per * sizeof(*objs));
        if (!objs) {
                fprintf(stderr, "bigheap: out of memory\n");
                return 1;
        }
        for (unsigned long i = 0; i < nstacks; i++)
                for (unsigned long k = 0; k < per; k++)
                        objs[nobjs++] = descend((unsigned)i, 0, bits, size);

        printf("ready %d\n", (int)getpid());
        fflush(stdout);

        char line[64];
        while (fgets(line, sizeof(line), stdin) && strncmp(line, "exit", 4) != 0)
                ;
        for (size_t i = 0; i < nobjs; i++)
                free(objs[i]);
        free(objs);
        return 0;
}
