/* Thread stacks via ptrace (stub until the collector lands). */
#include <errno.h>
#include "threads.h"

int threads_collect(pid_t pid, struct thread_snapshot **ret)
{
        return -ENOSYS;
}

void thread_snapshot_free(struct thread_snapshot *s)
{
}
