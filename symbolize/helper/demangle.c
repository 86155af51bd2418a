/* C++ (Itanium ABI) demangling through libstdc++'s __cxa_demangle. */
#include "demangle.h"

#include <stddef.h>
#include <string.h>

/* The C ABI entry point of abi::__cxa_demangle; libstdc++ is linked for it. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *demangle(const char *name) {
        /* Only _Z names are mangled functions; __cxa_demangle would also "demangle"
         * plain words like "f" as type names, turning C's f into "float". */
        if (!name || strncmp(name, "_Z", 2) != 0)
                return NULL;
        int status = 0;
        char *r = __cxa_demangle(name, NULL, NULL, &status);
        return status == 0 ? r : NULL;
}
