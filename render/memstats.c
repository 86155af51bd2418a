/* memstats: kernel, shim and allocator figures as stable `Name value` lines. */
#include <errno.h>
#include "render.h"

int render_memstats(const struct proc_status *st, const struct heap_snapshot *heap,
                    const char *why_off, char **ret_buf, size_t *ret_len)
{
        return -ENOSYS;
}
