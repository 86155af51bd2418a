/* A mount point left by a daemon that died: detected by ENOTCONN and lazily unmounted. */
#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memprofd.h"

extern char **environ;

static int run_fusermount(const char *mountpoint)
{
        char *argv[] = {"fusermount3", "-u", "-z", (char *)mountpoint, NULL};
        int status, r;
        pid_t pid;

        r = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int stale_mount_clear(const char *mountpoint)
{
        struct stat st;
        int r;

        if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
                return 0; /* healthy, or a problem the mount itself will report */

        fs_log("%s is a dead FUSE mount (did an earlier memprofd crash?): unmounting it "
               "lazily and mounting again",
               mountpoint);
        /* as root, no helper needed; otherwise only fusermount3 may unmount */
        if (geteuid() == 0 && umount2(mountpoint, MNT_DETACH) == 0)
                r = 0;
        else
                r = run_fusermount(mountpoint);
        if (r < 0) {
                fs_log("could not unmount %s: %s; try: fusermount3 -u -z %s", mountpoint,
                       strerror(-r), mountpoint);
                return r;
        }
        if (stat(mountpoint, &st) < 0) {
                r = -errno;
                fs_log("%s is still unusable after unmounting: %s", mountpoint, strerror(-r));
                return r;
        }
        return 0;
}
