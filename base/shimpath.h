/* Where libmemprof.so is, for the programs that name it (memprof run, memprofd's hints). */
#pragma once

#include <stddef.h>

#define SHIM_NAME "libmemprof.so"

/* Where `meson install` puts the shim (whether or not it is there). */
const char *shim_path_installed(void);

/* The shim that goes with the running program: beside it in a build tree (found from
 * /proc/self/exe), else the installed one.  0, or -ENOENT when neither is readable;
 * ret has size bytes (PATH_MAX will do) and is written only on success. */
int shim_path_find(char *ret, size_t size);
