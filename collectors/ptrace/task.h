/* What /proc says about a process's threads: the list, each one's name and state, its tracer. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TASK_MAX_THREADS 65536

struct task_stat {
        char name[16];
        char state;
        uint64_t flags; /* PF_* of the kernel; PF_KTHREAD marks kernel threads */
};

#define TASK_PF_KTHREAD 0x00200000u

/* Reads a whole /proc file of at most max bytes (-EFBIG beyond); *ret_buf is NUL-terminated. */
int task_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);

/* /proc/PID/task/TID/stat.  -ENOENT once the thread is gone. */
int task_stat_read(pid_t pid, pid_t tid, struct task_stat *ret);
int task_stat_parse(const char *text, size_t len, struct task_stat *ret);

/* TracerPid of /proc/PID/task/TID/status (tid 0: of the process). */
int task_tracer_read(pid_t pid, pid_t tid, pid_t *ret);

/* The thread ids in /proc/PID/task, ascending; *ret is malloc'd. */
int task_list(pid_t pid, pid_t **ret, size_t *ret_n);
