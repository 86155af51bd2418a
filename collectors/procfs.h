/* Readers for /proc: process status, listing, start time, caller credentials. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Figures from /proc/PID/status, bytes for the Vm and Rss ones. */
struct proc_status {
        char name[64];
        char state;
        pid_t pid, ppid;
        pid_t tgid; /* the process a thread belongs to (pid itself for a process) */
        pid_t nspid;  /* the PID in its own (innermost) namespace: NSpid's last field,
                       * or pid where the kernel shows no NSpid */
        pid_t tracer; /* TracerPid: 0 when nobody ptraces it */
        uid_t uid[4]; /* real, effective, saved, filesystem */
        gid_t gid[4];
        uint64_t cap_eff;
        uint64_t vm_rss, vm_hwm, vm_size, rss_anon, rss_file, rss_shmem, vm_swap;
        uint64_t threads;
        bool has_mm; /* false for kernel threads (no VmSize line) */
};

int proc_status_read(pid_t pid, struct proc_status *ret);
/* The status of one thread, /proc/PID/task/TID/status (tid 0: the process's). */
int proc_task_status_read(pid_t pid, pid_t tid, struct proc_status *ret);
int proc_status_parse(const char *text, size_t len, struct proc_status *ret);

/* The fields of /proc/PID/stat a listing needs. */
struct proc_stat {
        char comm[16];       /* field 2, NUL-terminated */
        char state;          /* field 3: R, S, D, Z, ... */
        uint64_t flags;      /* field 9: PF_* (PROC_PF_KTHREAD marks kernel threads) */
        uint64_t start_time; /* field 22: clock ticks since boot */
};
#define PROC_PF_KTHREAD 0x00200000u

/* Reads a whole /proc file of at most max bytes (-EFBIG beyond) into a malloc'd,
 * NUL-terminated buffer.  -ENOENT once the process is gone. */
int proc_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);
/* The same for NAME inside the /proc/PID directory dirfd: a PID reused since that
 * directory was opened is never read (-ENOENT). */
int proc_read_file_at(int dirfd, const char *name, size_t max, char **ret_buf,
                      size_t *ret_len);
/* /proc/PID/status through such a directory. */
int proc_status_read_at(int dirfd, struct proc_status *ret);

int proc_stat_read(pid_t pid, struct proc_stat *ret);
int proc_stat_parse(const char *text, size_t len, struct proc_stat *ret);

/* Field 22 of /proc/PID/stat (clock ticks since boot); to detect PID reuse. */
int proc_start_time(pid_t pid, uint64_t *ret);
int proc_stat_parse_start_time(const char *text, size_t len, uint64_t *ret);

/* Live PIDs, ascending, each with the inode number /proc gave its directory: the same
 * while that process lives and its /proc dentry stays cached, and a different one for
 * a later process with the same PID.  *ret is malloc'd. */
struct proc_pid_entry {
        pid_t pid;
        uint64_t ino;
};
int proc_list_pids(struct proc_pid_entry **ret, size_t *ret_n);
