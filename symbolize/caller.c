/* Files opened as the reader: per-thread credential switches and careful opens. */
#include "caller.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* setfsuid and setfsgid answer with the previous value: asking again tells whether the
 * change took. */
static bool set_fsuid(uid_t uid) {
        syscall(SYS_setfsuid, uid);
        return (uid_t) syscall(SYS_setfsuid, (uid_t) -1) == uid;
}

static bool set_fsgid(gid_t gid) {
        syscall(SYS_setfsgid, gid);
        return (gid_t) syscall(SYS_setfsgid, (gid_t) -1) == gid;
}

int caller_enter(const struct sym_caller *c, struct caller_saved *saved) {
        *saved = (struct caller_saved){ 0 };
        if (geteuid() != 0)
                return 0;
        int n = (int) syscall(SYS_getgroups, 64, saved->groups);
        if (n < 0)
                return -errno;
        saved->ngroups = n;
        size_t ng = c->ngroups > 65536 ? 65536 : c->ngroups;
        saved->switched = true;
        if (syscall(SYS_setgroups, ng, c->groups) < 0 || !set_fsgid(c->gid) ||
            !set_fsuid(c->uid)) {
                int r = errno ? -errno : -EPERM;
                caller_leave(saved);
                return r;
        }
        return 0;
}

void caller_leave(const struct caller_saved *saved) {
        if (!saved->switched)
                return;
        /* fsuid 0 first: it brings back the capabilities the other two need.  A thread
         * that cannot become itself again must not serve anything else. */
        if (!set_fsuid(0) || !set_fsgid(0) ||
            syscall(SYS_setgroups, saved->ngroups, saved->groups) < 0)
                abort();
}

int caller_open(int root_fd, const char *path, int *ret_fd, struct file_id *ret_id) {
        int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
        int fd;
        if (root_fd >= 0) {
                struct open_how how = { .flags = (uint64_t) flags,
                                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
                fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
                /* Before Linux 5.6: relative to the root, still as the reader (an absolute
                 * symlink then leads out of the process's root, to what the reader may
                 * read in ours). */
                if (fd < 0 && errno == ENOSYS)
                        fd = openat(root_fd, path[0] == '/' ? path + 1 : path, flags);
        } else {
                fd = open(path, flags);
        }
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        fileid_of(&st, ret_id);
        *ret_fd = fd;
        return 0;
}
