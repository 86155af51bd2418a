/* A small shared library for the dlopen/dlclose storm: it allocates in its constructor,
 * frees in its destructor, and allocates and frees in the function the storm calls. */
#include <stdlib.h>
#include <string.h>

static char *table; /* from the constructor: live while the library is loaded */

__attribute__((constructor)) static void stormlib_init(void)
{
        table = malloc(256);
        if (table)
                for (int i = 0; i < 256; i++)
                        table[i] = (char)(i * 7);
}

__attribute__((destructor)) static void stormlib_fini(void)
{
        free(table);
        table = NULL;
}

/* Returns a number that depends only on n (and the table being set up), so the caller
 * can check the library really ran. */
long stormlib_work(int n)
{
        long sum = table ? table[n & 255] : -1000000;
        int count = n % 17 + 1;
        for (int i = 0; i < count; i++) {
                size_t size = (size_t)(n % 50 + i * 24 + 1);
                char *p = malloc(size);
                if (!p)
                        return -1;
                memset(p, i, size);
                char *q = realloc(p, size * 2);
                if (!q) {
                        free(p);
                        return -1;
                }
                sum += (long)size + q[0];
                free(q);
        }
        return sum;
}
