/* Parsing /proc/PID/maps: one line at a time, bounded, tolerant of any content. */
#include "procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct cursor {
        const char *p, *end;
};

static bool parse_hex(struct cursor *c, uint64_t *ret) {
        uint64_t v = 0;
        const char *start = c->p;
        while (c->p < c->end) {
                char ch = *c->p;
                unsigned d;
                if (ch >= '0' && ch <= '9')
                        d = ch - '0';
                else if (ch >= 'a' && ch <= 'f')
                        d = ch - 'a' + 10;
                else if (ch >= 'A' && ch <= 'F')
                        d = ch - 'A' + 10;
                else
                        break;
                if (v >> 60)
                        return false; /* more than 64 bits */
                v = v << 4 | d;
                c->p++;
        }
        if (c->p == start)
                return false;
        *ret = v;
        return true;
}

static bool parse_dec(struct cursor *c, uint64_t *ret) {
        uint64_t v = 0;
        const char *start = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                unsigned d = *c->p - '0';
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
                c->p++;
        }
        if (c->p == start)
                return false;
        *ret = v;
        return true;
}

static bool expect(struct cursor *c, char ch) {
        if (c->p >= c->end || *c->p != ch)
                return false;
        c->p++;
        return true;
}

static bool skip_spaces(struct cursor *c) {
        const char *start = c->p;
        while (c->p < c->end && *c->p == ' ')
                c->p++;
        return c->p > start;
}

int maps_parse_line(const char *line, size_t len, struct maps_entry *ret) {
        struct cursor c = { line, line + len };
        struct maps_entry e = {};
        uint64_t major, minor;

        if (!parse_hex(&c, &e.start) || !expect(&c, '-') || !parse_hex(&c, &e.end) ||
            !skip_spaces(&c))
                return -EINVAL;
        if (c.end - c.p < 4)
                return -EINVAL;
        e.readable = c.p[0] == 'r';
        e.writable = c.p[1] == 'w';
        e.executable = c.p[2] == 'x';
        e.shared = c.p[3] == 's';
        c.p += 4;
        if (!skip_spaces(&c) || !parse_hex(&c, &e.offset) || !skip_spaces(&c) ||
            !parse_hex(&c, &major) || !expect(&c, ':') || !parse_hex(&c, &minor) ||
            !skip_spaces(&c) || !parse_dec(&c, &e.inode))
                return -EINVAL;
        if (e.end < e.start || major > UINT32_MAX || minor > UINT32_MAX)
                return -EINVAL;
        e.dev_major = major;
        e.dev_minor = minor;

        skip_spaces(&c);
        e.path = c.p;
        e.path_len = c.end - c.p;
        static const char deleted[] = " (deleted)";
        size_t dl = sizeof(deleted) - 1;
        if (e.path_len > dl && memcmp(e.path + e.path_len - dl, deleted, dl) == 0) {
                e.deleted = true;
                e.path_len -= dl;
        }
        *ret = e;
        return 0;
}

static int deliver(const char *line, size_t len, maps_callback cb, void *userdata) {
        struct maps_entry e;
        if (maps_parse_line(line, len, &e) < 0)
                return 0; /* not a mapping line: ignore, as the kernel may add formats */
        return cb(&e, userdata);
}

/* Calls cb for each line of fd, which it closes. */
static int read_lines(int fd, maps_callback cb, void *userdata) {
        /* Whole lines are parsed in place; the buffer has room for one maximal line and
         * a read's worth behind it.  An overlong line is dropped up to its newline. */
        static const size_t bufsize = MAPS_LINE_MAX + 4096;
        char buf[MAPS_LINE_MAX + 4096];
        size_t have = 0;
        bool skipping = false;
        int r = 0;

        for (;;) {
                ssize_t n = read(fd, buf + have, bufsize - have);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* ESRCH: the process exited while we read. */
                        r = errno == ESRCH ? -ENOENT : -errno;
                        break;
                }
                if (n == 0) {
                        if (have > 0 && !skipping)
                                r = deliver(buf, have, cb, userdata);
                        break;
                }
                have += n;

                size_t pos = 0;
                for (;;) {
                        char *nl = memchr(buf + pos, '\n', have - pos);
                        if (!nl)
                                break;
                        size_t len = nl - (buf + pos);
                        if (!skipping && len <= MAPS_LINE_MAX) {
                                r = deliver(buf + pos, len, cb, userdata);
                                if (r < 0)
                                        goto out;
                        }
                        skipping = false;
                        pos += len + 1;
                }
                memmove(buf, buf + pos, have - pos);
                have -= pos;
                if (have > MAPS_LINE_MAX) {
                        skipping = true;
                        have = 0;
                }
        }
out:
        close(fd);
        return r;
}

int maps_read(pid_t pid, maps_callback cb, void *userdata) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
        return read_lines(fd, cb, userdata);
}

int maps_read_at(int dirfd, maps_callback cb, void *userdata) {
        int fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
        return read_lines(fd, cb, userdata);
}
