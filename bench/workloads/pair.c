/* Benchmark workload for callgrind: N malloc(SIZE) + free pairs and nothing else, so
 * that the instruction count of two runs with different N, divided by the difference
 * in N, is the cost of one pair with startup cancelled out.
 *
 *   pair [N [SIZE]]     (default 1000000 pairs of 32 bytes)
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
        unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
        unsigned long size = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;

        for (unsigned long i = 0; i < n; i++) {
                void *p = malloc(size);
                /* the compiler may drop a malloc/free pair it can see through; this
                 * makes the pointer escape */
                __asm__ volatile("" : : "r"(p) : "memory");
                free(p);
        }
        return 0;
}
