/* Finding libmemprof.so from the program that needs it: build tree first, then install. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shimpath.h"

#ifndef MEMPROF_SHIMDIR
#error "the build passes MEMPROF_SHIMDIR, where the shim is installed"
#endif

const char *shim_path_installed(void)
{
        return MEMPROF_SHIMDIR "/" SHIM_NAME;
}

static int found(const char *path, char *ret, size_t size)
{
        if (strlen(path) >= size)
                return -ENAMETOOLONG;
        strcpy(ret, path);
        return 0;
}

int shim_path_find(char *ret, size_t size)
{
        /* from build/cli/memprof and build/fs/memprofd alike */
        static const char *const relative[] = {
            "/../collectors/shim/" SHIM_NAME,
            "/../collectors/" SHIM_NAME,
        };
        char exe[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
        ssize_t n;

        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                char *dir = dirname(exe);
                size_t len = strlen(dir);

                for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
                        if (len + strlen(relative[i]) >= sizeof(path))
                                continue;
                        memcpy(path, dir, len);
                        strcpy(path + len, relative[i]);
                        if (realpath(path, real) && access(real, R_OK) == 0)
                                return found(real, ret, size);
                }
        }
        if (access(shim_path_installed(), R_OK) == 0)
                return found(shim_path_installed(), ret, size);
        return -ENOENT;
}
