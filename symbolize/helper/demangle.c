/* Demangling: C++ (Itanium ABI) through libstdc++'s __cxa_demangle, Rust (legacy and v0)
 * through GNU libiberty's cplus_demangle. */
#include "demangle.h"

#include <stddef.h>
#include <string.h>

#include <libiberty/demangle.h>

/* The C ABI entry point of abi::__cxa_demangle; libstdc++ is linked for it. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* Rust first: a legacy Rust name is also a valid C++ one (_ZN...17h<hash>E), which the
 * C++ demangler would print with $LT$-style escapes and the hash.  libiberty takes it
 * as Rust only when it has that hash, and v0 names (_R) are Rust's alone; the hash is
 * dropped (no DMGL_VERBOSE).  libiberty is maintained with binutils and gdb, which
 * print Rust names the same way. */
static char *demangle_rust(const char *name)
{
        return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
}

char *demangle(const char *name)
{
        /* Only _Z and _R names are mangled functions; __cxa_demangle would also
         * "demangle" plain words like "f" as type names, turning C's f into "float". */
        if (!name || (strncmp(name, "_Z", 2) != 0 && strncmp(name, "_R", 2) != 0))
                return NULL;
        char *r = demangle_rust(name);
        if (r || name[1] == 'R')
                return r;
        /* C++ as before, by libstdc++'s own demangler */
        int status = 0;
        r = __cxa_demangle(name, NULL, NULL, &status);
        return status == 0 ? r : NULL;
}
