/* A mount point where a live memprof already answers: refused, not stacked upon. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "memprofd.h"

#define MOUNTINFO_LINE_MAX (64 * 1024)

/* mountinfo writes space, tab, newline and backslash in paths as \ooo: decoded in place. */
static void unescape(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
                        r += 3;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

/* Field 5 of a mountinfo line (the mount point, decoded) and the file system type after
 * the " - " separator; both point into line.  -EINVAL for a line of another shape. */
static int mountinfo_parse_line(char *line, char **ret_point, char **ret_fstype)
{
        char *field[5], *save = NULL, *sep, *fstype;

        sep = strstr(line, " - ");
        if (!sep)
                return -EINVAL;
        *sep = '\0';
        fstype = strtok_r(sep + 3, " \n", &save);
        save = NULL;
        for (int i = 0; i < 5; i++)
                if (!(field[i] = strtok_r(i ? NULL : line, " ", &save)))
                        return -EINVAL;
        if (!fstype)
                return -EINVAL;
        unescape(field[4]);
        *ret_point = field[4];
        *ret_fstype = fstype;
        return 0;
}

/* Whether the topmost mount on path (a real path) is a memprof one.  Later lines of
 * mountinfo are mounted later, so the last line naming path is what path shows. */
static int top_is_memprof(const char *path, bool *ret)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL, *point, *fstype;
        size_t cap = 0;
        bool memprof = false;
        ssize_t n;

        if (!f)
                return -errno;
        while ((n = getline(&line, &cap, f)) > 0)
                if (n < MOUNTINFO_LINE_MAX && mountinfo_parse_line(line, &point, &fstype) == 0 &&
                    strcmp(point, path) == 0)
                        memprof = strcmp(fstype, "fuse.memprof") == 0;
        free(line);
        fclose(f);
        *ret = memprof;
        return 0;
}

int mount_refuse_live(const char *mountpoint)
{
        char path[PATH_MAX];
        struct stat st;
        bool memprof = false;

        /* a dead mount (ENOTCONN) is stale.c's; a missing directory, the mount's to report */
        if (!realpath(mountpoint, path) || stat(path, &st) < 0)
                return 0;
        if (top_is_memprof(path, &memprof) < 0 || !memprof)
                return 0;
        fs_log("%s is already a live memprof mount: not mounting another on top of it (stop "
               "its memprofd, or unmount it with fusermount3 -u %s)",
               path, path);
        return -EBUSY;
}
