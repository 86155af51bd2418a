/* Daemon side of the shim's segment (stub until the reader lands). */
#include <errno.h>
#include "heap_segment.h"

int heap_segment_open(pid_t pid, int *ret_fd)
{
        return -ENOENT;
}

int heap_snapshot_read(int fd, struct heap_snapshot **ret, const char **ret_why)
{
        return -ENOSYS;
}

int heap_snapshot_parse(const uint8_t *buf, size_t len, struct heap_snapshot **ret,
                        const char **ret_why)
{
        return -ENOSYS;
}

void heap_snapshot_free(struct heap_snapshot *s)
{
}
