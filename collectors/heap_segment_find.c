/* Finding a process's own shim segment among its mappings, and refusing any other. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "heap_segment.h"
#include "procfs.h"
#include "procmaps.h"

/*
 * Why these checks: a process can map files it did not make.  A root service that maps
 * shared memory a client passed it (an fd over a socket) would otherwise show the
 * client's forged segment as its heap, to root.  So a mapping is the process's segment
 * only if it is what the shim itself makes, and nobody else could have written it:
 *
 *   - a mapping named memprof.* (the cheap filter: a process with thousands of mappings
 *     costs one compare each; whatever directory it is in, so a chroot or container
 *     that sees /dev/shm elsewhere is still found), mapped shared and writable (rw-s);
 *   - a regular file on a tmpfs, writable by its owner alone, and owned by the
 *     process's effective uid, or by root (a service that started as root made its
 *     segment then, and has since dropped to another uid).  Not the real uid: a
 *     setuid-root program run by a user has that user as real uid, and must not take
 *     the user's segment;
 *   - a header with the magic that names the process: its PID as it sees it (NSpid's
 *     last field), which the shim records with getpid(), so a segment inherited from
 *     a parent, or one naming another process, is refused.
 *
 * At most MAX_CANDIDATES memprof.* mappings are looked at; refused ones are counted.
 */
#define MAX_CANDIDATES 16
#define SEG_BASENAME "memprof."

struct search {
        int dirfd; /* /proc/PID: every read below is of this very process */
        uid_t euid;
        pid_t nspid;
        int best_fd;
        int64_t best_time;
        unsigned ncand;
        struct heap_segment_refused refused;
};

static void refuse(struct search *s, const char *why)
{
        if (s->refused.n++ == 0)
                s->refused.why = why;
}

static bool named_like_segment(const struct maps_entry *e)
{
        const char *base = memrchr(e->path, '/', e->path_len);
        size_t blen, plen = strlen(SEG_BASENAME);

        base = base ? base + 1 : e->path;
        blen = e->path_len - (size_t)(base - e->path);
        return blen > plen && memcmp(base, SEG_BASENAME, plen) == 0;
}

/* The file's own properties; NULL if it may be the process's segment, else why not. */
static const char *file_refusal(int fd, const struct search *s)
{
        struct statfs fs;
        struct stat st;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return "not a regular file";
        if (st.st_uid != s->euid && st.st_uid != 0)
                return "owned by another user than the process's";
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return "writable by others than its owner";
        if (fstatfs(fd, &fs) < 0 || fs.f_type != TMPFS_MAGIC)
                return "not on a tmpfs";
        return NULL;
}

/* The header's claims; NULL if it names the process, "" for a segment still being
 * created (the shim stores the magic last: not refused, simply not there yet). */
static const char *header_refusal(int fd, const struct search *s, int64_t *ret_time)
{
        struct mp_seg_header h;

        /* one read of a tmpfs file: short only if the file is shorter */
        if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
                return "shorter than a segment header";
        if (h.magic == 0)
                return "";
        if (h.magic != MP_SEG_MAGIC)
                return "no segment header";
        if (h.pid != s->nspid)
                return "names another process";
        *ret_time = h.start_time_ns;
        return NULL;
}

static int consider_mapping(const struct maps_entry *e, void *userdata)
{
        struct search *s = userdata;
        const char *why;
        int64_t t = 0;
        char name[64];
        int fd;

        if (!named_like_segment(e))
                return 0;
        if (++s->ncand > MAX_CANDIDATES) {
                refuse(s, "more candidates than are looked at");
                return 0;
        }
        if (!e->readable || !e->writable || !e->shared) {
                refuse(s, "not mapped shared and writable");
                return 0;
        }
        snprintf(name, sizeof(name), "map_files/%" PRIx64 "-%" PRIx64, e->start, e->end);
        fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return 0; /* unmapped since maps was read */
        why = file_refusal(fd, s);
        if (!why)
                why = header_refusal(fd, s, &t);
        if (why) {
                if (*why)
                        refuse(s, why);
                close(fd);
                return 0;
        }
        /* Two of its own (a VMA split in two): the newest. */
        if (s->best_fd < 0 || t > s->best_time) {
                if (s->best_fd >= 0)
                        close(s->best_fd);
                s->best_fd = fd;
                s->best_time = t;
        } else {
                close(fd);
        }
        return 0;
}

int heap_segment_open(pid_t pid, int *ret_fd, struct heap_segment_refused *refused)
{
        struct search s = {.dirfd = -1, .best_fd = -1};
        struct proc_status st;
        char dir[32];
        int r;

        snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
        s.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s.dirfd < 0) {
                r = errno == ESRCH ? -ENOENT : -errno;
                goto out;
        }
        /* the ids at read time, from the same /proc/PID the mappings come from */
        r = proc_status_read_at(s.dirfd, &st);
        if (r < 0)
                goto out;
        s.euid = st.uid[1];
        s.nspid = st.nspid;
        r = maps_read_at(s.dirfd, consider_mapping, &s);
        if (r < 0) {
                r = r == -EACCES || r == -EPERM ? r : -ENOENT;
                goto out;
        }
        if (s.best_fd < 0) {
                r = -ENOENT;
                goto out;
        }
        *ret_fd = s.best_fd;
        s.best_fd = -1;
out:
        if (s.best_fd >= 0)
                close(s.best_fd);
        if (s.dirfd >= 0)
                close(s.dirfd);
        if (refused)
                *refused = s.refused;
        return r;
}
