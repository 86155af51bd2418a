/* Which allocator answers malloc underneath the shim, told once at set-up for memstats. */
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

/* Each allocator by a function only it exports (jemalloc and mimalloc define glibc's
 * __libc_* names too, so those tell nothing), looked for in the very object that
 * defines the malloc the shim forwards to: a library that is merely loaded does not
 * count, and a renamed or statically linked copy still does. */
static const struct {
        uint32_t id;
        const char *symbol;
} marks[] = {
    {MP_ALLOC_JEMALLOC, "mallctl"},
    {MP_ALLOC_TCMALLOC, "tc_malloc"},
    {MP_ALLOC_MIMALLOC, "mi_malloc"},
    {MP_ALLOC_GLIBC, "gnu_get_libc_version"},
};

static bool object_defines(const void *base, const char *symbol)
{
        void *p = dlsym(RTLD_DEFAULT, symbol);
        Dl_info info;

        return p && dladdr(p, &info) && info.dli_fbase == base;
}

/* Set-up only (from mp_resolve): dlsym may allocate, which the bootstrap pool serves. */
void mp_allocator_identify(void *real_malloc)
{
        Dl_info info;
        const char *name;

        mp.allocator = MP_ALLOC_UNKNOWN;
        if (!real_malloc || !dladdr(real_malloc, &info) || !info.dli_fbase)
                return;
        mp.allocator = MP_ALLOC_OTHER;
        for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
                if (object_defines(info.dli_fbase, marks[i].symbol)) {
                        mp.allocator = marks[i].id;
                        break;
                }
        name = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
        name = name ? name + 1 : info.dli_fname ? info.dli_fname : "";
        /* truncated if need be: it only labels a memstats line */
        strncpy(mp.allocator_file, name, sizeof(mp.allocator_file) - 1);
}
