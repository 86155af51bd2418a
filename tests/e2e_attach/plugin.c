/* A library the attached program dlopens after the attach: its allocations go through
 * its own GOT, which the shim's dlopen hook redirects. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *plugin_alloc(size_t n)
{
        void *p = malloc(n);
        memset(p, 2, n);
        return p;
}
