/* Who may inspect whom: the kernel's ptrace-read rule, decided per request like /proc. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "memprofd.h"

#define CAP_SYS_PTRACE_BIT 19

/* Whether pid lives in the daemon's own user namespace. */
static bool in_our_user_ns(pid_t pid)
{
        char path[48];
        struct stat caller, ours;

        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        if (stat(path, &caller) < 0 || stat("/proc/self/ns/user", &ours) < 0)
                return false;
        return caller.st_dev == ours.st_dev && caller.st_ino == ours.st_ino;
}

/*
 * The caller's effective capabilities.  ctx->pid is the calling thread (0 when it lives
 * in a PID namespace the daemon cannot see): no capabilities then.  Capabilities count
 * only in the daemon's user namespace: anyone can be "root" with every capability in a
 * user namespace of their own (unshare -U -r), and the kernel honours CAP_SYS_PTRACE only
 * over processes of that namespace.  (So a container's root reads its own processes by
 * the same-ids rule only; denying there is the safe side.)
 */
static bool caller_has_ptrace_cap(const struct fuse_ctx *ctx)
{
        struct proc_status st;

        if (ctx->pid <= 0 || proc_status_read(ctx->pid, &st) < 0)
                return false;
        if (!(st.cap_eff & (UINT64_C(1) << CAP_SYS_PTRACE_BIT)))
                return false;
        return in_our_user_ns(ctx->pid);
}

/* The kernel shows the files in /proc/PID of a process that is not dumpable (setuid,
 * prctl(PR_SET_DUMPABLE, 0)) as owned by root: an owner other than the process's
 * effective ids means "not dumpable".  (The /proc/PID directory itself keeps its owner.) */
static bool target_dumpable(const struct target *t)
{
        char path[48];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)t->pid);
        if (stat(path, &st) < 0)
                return false;
        return st.st_uid == t->st.uid[1] && st.st_gid == t->st.gid[1];
}

static bool same_ids(const struct fuse_ctx *ctx, const struct target *t)
{
        /* ctx carries the caller's filesystem ids, which is what ptrace's
         * PTRACE_MODE_FSCREDS check (used for /proc files) compares too */
        for (int i = 0; i < 3; i++)
                if (t->st.uid[i] != ctx->uid || t->st.gid[i] != ctx->gid)
                        return false;
        return true;
}

int access_check(fuse_req_t req, const struct target *t)
{
        const struct fuse_ctx *ctx = fuse_req_ctx(req);

        if (same_ids(ctx, t) && target_dumpable(t))
                return 0;
        if (caller_has_ptrace_cap(ctx))
                return 0;
        return -EACCES;
}
