/* Whether a process runs under the dynamic loader (LD_PRELOAD works only there). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* *ret: PID maps the dynamic loader, so it is dynamically linked.  -ENOENT: PID gone. */
int proc_has_loader(pid_t pid, bool *ret);
