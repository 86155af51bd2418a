/* What /proc says about a process's threads: the list, each one's name and state, its tracer. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procfs.h"

#define TASK_MAX_THREADS 65536

/* /proc/PID/task/TID/stat.  -ENOENT once the thread is gone. */
int task_stat_read(pid_t pid, pid_t tid, struct proc_stat *ret);

/* TracerPid of /proc/PID/task/TID/status (tid 0: of the process). */
int task_tracer_read(pid_t pid, pid_t tid, pid_t *ret);

/* The thread ids in /proc/PID/task, ascending; *ret is malloc'd. */
int task_list(pid_t pid, pid_t **ret, size_t *ret_n);
