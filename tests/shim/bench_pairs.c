/* N unsampled malloc(32)+free pairs, for callgrind: instructions per pair with and
 * without the shim are (I(N) - I(0)) / N.  usage: bench-pairs N */
#include <stdlib.h>

int main(int argc, char **argv)
{
        long n = argc > 1 ? atol(argv[1]) : 1000000;
        for (long i = 0; i < n; i++) {
                void *p = malloc(32);
                __asm__ volatile("" : : "r"(p) : "memory");
                free(p);
        }
        return 0;
}
