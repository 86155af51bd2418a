/* Opening files on a reader's behalf: with the reader's filesystem ids and groups, on
 * this thread only, inside the target's root, never blocking, regular files only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "memprof/fileid.h"
#include "symbolize.h"

/* The calling thread's credentials, saved while it acts as a reader. */
struct caller_saved {
        bool switched;
        int ngroups;
        gid_t groups[64];
};

/* Switches this thread's fsuid, fsgid and supplementary groups to c's (raw syscalls:
 * glibc would change every thread's).  A daemon not running as root switches nothing:
 * it can open only what its own user may.  Always pair with caller_leave. */
int caller_enter(const struct sym_caller *c, struct caller_saved *saved);
void caller_leave(const struct caller_saved *saved);

/* Opens path read-only, non-blocking (a FIFO does not wait for a writer), without a
 * controlling tty, and keeps it only if it is a regular file (-EINVAL otherwise).
 * root_fd >= 0: path is resolved inside that directory as its root (openat2
 * RESOLVE_IN_ROOT: absolute symlinks stay inside), magic links refused. */
int caller_open(int root_fd, const char *path, int *ret_fd, struct file_id *ret_id);
