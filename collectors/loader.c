/* Whether a process runs under the dynamic loader: what LD_PRELOAD, and so the shim, needs. */
#include <stdbool.h>
#include <string.h>

#include "loader.h"
#include "procmaps.h"

/* A mapping of the dynamic loader: a file whose base name starts with "ld-" and holds
 * ".so" (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld-musl-x86_64.so.1).  It is there
 * in every dynamically linked process, also one started as `ld.so PROGRAM`, and in no
 * statically linked one (a Go program without cgo, a static-pie). */
static int find_loader(const struct maps_entry *e, void *userdata)
{
        const char *base = e->path;
        size_t len = e->path_len;

        for (size_t i = 0; i < e->path_len; i++)
                if (e->path[i] == '/') {
                        base = e->path + i + 1;
                        len = e->path_len - i - 1;
                }
        if (len > 3 && memcmp(base, "ld-", 3) == 0 && memmem(base, len, ".so", 3))
                *(bool *)userdata = true;
        return 0;
}

int proc_has_loader(pid_t pid, bool *ret)
{
        bool found = false;
        int r = maps_read(pid, find_loader, &found);

        if (r < 0)
                return r;
        *ret = found;
        return 0;
}
