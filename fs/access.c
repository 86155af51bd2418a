/* Who may inspect whom: the kernel's ptrace-read rule, decided per request like /proc,
 * and again at the moment of use by collectors that stop the process. */
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
 * ctx->pid is the calling thread (0 when it lives in a PID namespace the daemon cannot
 * see): no capabilities and no process then.  Capabilities count only in the daemon's
 * user namespace: anyone can be "root" with every capability in a user namespace of
 * their own (unshare -U -r), and the kernel honours CAP_SYS_PTRACE only over processes
 * of that namespace.  (So a container's root reads its own processes by the same-ids
 * rule only; denying there is the safe side.)
 */
void caller_of(fuse_req_t req, struct caller *ret)
{
        const struct fuse_ctx *ctx = fuse_req_ctx(req);

        ret->tid = ctx->pid;
        ret->uid = ctx->uid;
        ret->gid = ctx->gid;
        ret->probed = false;
        ret->tgid = 0;
        ret->cap_ptrace = false;
        ret->ngroups = 0;
}

void caller_groups(fuse_req_t req, struct caller *c)
{
        /* the count returned may exceed the room given: then the first ones are kept,
         * which can only make the caller see less */
        int r = fuse_req_getgroups(req, CALLER_MAX_GROUPS, c->groups);

        c->ngroups = r > 0 ? (size_t)(r < CALLER_MAX_GROUPS ? r : CALLER_MAX_GROUPS) : 0;
}

void caller_probe(struct caller *c)
{
        struct proc_status st;

        if (c->probed)
                return;
        c->probed = true;
        if (c->tid > 0 && proc_status_read(c->tid, &st) == 0) {
                c->tgid = st.tgid;
                c->cap_ptrace = (st.cap_eff & (UINT64_C(1) << CAP_SYS_PTRACE_BIT)) &&
                                in_our_user_ns(c->tid);
        }
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

static bool same_ids(const struct caller *c, const struct target *t)
{
        /* the caller's filesystem ids, which is what ptrace's PTRACE_MODE_FSCREDS check
         * (used for /proc files) compares too */
        for (int i = 0; i < 3; i++)
                if (t->st.uid[i] != c->uid || t->st.gid[i] != c->gid)
                        return false;
        return true;
}

int access_check(struct caller *c, const struct target *t)
{
        if (same_ids(c, t) && target_dumpable(t))
                return 0;
        caller_probe(c);
        if (c->cap_ptrace)
                return 0;
        return -EACCES;
}

int access_recheck(struct caller *c, const struct target *t)
{
        struct target now;
        int r;

        /* the same process (start time), with the credentials it has now */
        r = tree_target(t->pid, &now);
        if (r < 0 || now.start != t->start)
                return -ENOENT;
        return access_check(c, &now);
}
