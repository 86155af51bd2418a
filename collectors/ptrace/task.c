/* Readers of /proc/PID/task: thread ids, per-thread stat (name, state, flags), TracerPid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memprof/array.h"
#include "task.h"

int task_stat_read(pid_t pid, pid_t tid, struct proc_stat *ret)
{
        char path[64], *text;
        size_t len;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
        r = proc_read_file(path, 4096, &text, &len);
        if (r < 0)
                return r;
        r = proc_stat_parse(text, len, ret);
        free(text);
        return r;
}

int task_tracer_read(pid_t pid, pid_t tid, pid_t *ret)
{
        struct proc_status st;
        int r = proc_task_status_read(pid, tid, &st);

        if (r < 0)
                return r;
        *ret = st.tracer;
        return 0;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

        return (x > y) - (x < y);
}

int task_list(pid_t pid, pid_t **ret, size_t *ret_n)
{
        char path[64];
        pid_t *tids = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        d = opendir(path); /* glibc opens it O_CLOEXEC */
        if (!d)
                return errno == ESRCH ? -ENOENT : -errno;
        while ((errno = 0, de = readdir(d))) {
                char *end;
                long tid = strtol(de->d_name, &end, 10);

                if (*end || tid <= 0)
                        continue;
                r = ARRAY_RESERVE(tids, cap, n, 1, 32, TASK_MAX_THREADS);
                if (r < 0)
                        goto out;
                tids[n++] = (pid_t)tid;
        }
        if (errno) {
                r = -errno;
                goto out;
        }
        qsort(tids, n, sizeof(*tids), cmp_pid);
        *ret = tids;
        *ret_n = n;
        tids = NULL;
out:
        free(tids);
        closedir(d);
        return r;
}
