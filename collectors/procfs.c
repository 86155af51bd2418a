/* Readers for /proc/PID/status, /proc/PID/stat and the /proc listing: bounded, no logging. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memprof/array.h"
#include "procfs.h"

/* status is ~1.5 KiB, but its Groups line grows with the number of supplementary groups
 * (up to 65536 of them), so allow far more than usual and still stay bounded. */
#define PROC_READ_MAX (1u << 20)

/* /proc/sys/kernel/pid_max can be at most 2^22 (PID_MAX_LIMIT on 64-bit). */
#define PROC_PID_LIMIT (1 << 22)

/* Reads all of fd, which it closes. */
static int read_all(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
        size_t cap = 0, len = 0;
        char *buf = NULL;
        int r;

        for (;;) {
                ssize_t n;

                /* room for one more byte and the NUL */
                r = ARRAY_RESERVE(buf, cap, len, 2, 4096, max);
                if (r < 0) {
                        r = r == -E2BIG ? -EFBIG : r;
                        goto out;
                }
                n = read(fd, buf + len, cap - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* a process that exits between open and read gives ESRCH */
                        r = errno == ESRCH ? -ENOENT : -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret_buf = buf;
        *ret_len = len;
        buf = NULL;
        r = 0;
out:
        free(buf);
        close(fd);
        return r;
}

int proc_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        return read_all(fd, max, ret_buf, ret_len);
}

int proc_read_file_at(int dirfd, const char *name, size_t max, char **ret_buf,
                      size_t *ret_len)
{
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        return read_all(fd, max, ret_buf, ret_len);
}

/* Parses an unsigned decimal (base 10) or hex (base 16) number at *p, skipping leading
 * blanks; advances *p past it.  Overflow is an error rather than a silent wrap. */
static int parse_u64(const char **p, const char *end, int base, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;
        size_t digits = 0;

        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        for (; s < end; s++, digits++) {
                unsigned d;

                if (*s >= '0' && *s <= '9')
                        d = (unsigned)(*s - '0');
                else if (base == 16 && *s >= 'a' && *s <= 'f')
                        d = (unsigned)(*s - 'a' + 10);
                else if (base == 16 && *s >= 'A' && *s <= 'F')
                        d = (unsigned)(*s - 'A' + 10);
                else
                        break;
                if (v > (UINT64_MAX - d) / (unsigned)base)
                        return -ERANGE;
                v = v * (unsigned)base + d;
        }
        if (digits == 0)
                return -EBADMSG;
        *p = s;
        *ret = v;
        return 0;
}

/* "1234 kB" → bytes. */
static int parse_kb(const char *p, const char *end, uint64_t *ret)
{
        uint64_t v;
        int r;

        r = parse_u64(&p, end, 10, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX / 1024)
                return -ERANGE;
        *ret = v * 1024;
        return 0;
}

/* "1000\t1000\t1000\t1000" → four ids; all four must be there. */
static int parse_ids(const char *p, const char *end, uint32_t ret[4])
{
        uint32_t ids[4];

        for (int i = 0; i < 4; i++) {
                uint64_t v;
                int r;

                r = parse_u64(&p, end, 10, &v);
                if (r < 0)
                        return r;
                if (v > UINT32_MAX)
                        return -ERANGE;
                ids[i] = (uint32_t)v;
        }
        memcpy(ret, ids, sizeof(ids));
        return 0;
}

static int parse_pid(const char *p, const char *end, pid_t *ret)
{
        uint64_t v;
        int r;

        r = parse_u64(&p, end, 10, &v);
        if (r < 0)
                return r;
        if (v > INT_MAX)
                return -ERANGE;
        *ret = (pid_t)v;
        return 0;
}

enum {
        SEEN_PID = 1 << 0,
        SEEN_UID = 1 << 1,
        SEEN_GID = 1 << 2,
};

/* One "Key:\tvalue" line of status into *st; unknown keys are ignored. */
static int parse_status_line(const char *key, size_t klen, const char *v, const char *end,
                             struct proc_status *st, unsigned *seen)
{
        static const struct {
                const char *key;
                size_t off;
        } sizes[] = {
                {"VmRSS", offsetof(struct proc_status, vm_rss)},
                {"VmHWM", offsetof(struct proc_status, vm_hwm)},
                {"VmSize", offsetof(struct proc_status, vm_size)},
                {"RssAnon", offsetof(struct proc_status, rss_anon)},
                {"RssFile", offsetof(struct proc_status, rss_file)},
                {"RssShmem", offsetof(struct proc_status, rss_shmem)},
                {"VmSwap", offsetof(struct proc_status, vm_swap)},
        };
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                if (klen == strlen(sizes[i].key) && memcmp(key, sizes[i].key, klen) == 0) {
                        if (KEY_IS("VmSize"))
                                st->has_mm = true;
                        return parse_kb(v, end, (uint64_t *)((char *)st + sizes[i].off));
                }
        }
        if (KEY_IS("Name")) {
                /* kept as the kernel escapes it; workqueue names exceed comm's 16 bytes */
                size_t n = (size_t)(end - v);

                while (v < end && (*v == ' ' || *v == '\t'))
                        v++, n--;
                if (n >= sizeof(st->name))
                        n = sizeof(st->name) - 1;
                memcpy(st->name, v, n);
                st->name[n] = '\0';
                return 0;
        }
        if (KEY_IS("State")) {
                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                st->state = v < end && isalpha((unsigned char)*v) ? *v : '?';
                return 0;
        }
        if (KEY_IS("Pid")) {
                *seen |= SEEN_PID;
                return parse_pid(v, end, &st->pid);
        }
        if (KEY_IS("NSpid")) {
                /* "NSpid:\t4242\t7\t1": from the reader's namespace inwards */
                pid_t last = 0;
                int r;

                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                while (v < end) {
                        const char *field = v;

                        while (v < end && *v != ' ' && *v != '\t')
                                v++;
                        r = parse_pid(field, v, &last);
                        if (r < 0)
                                return r;
                        while (v < end && (*v == ' ' || *v == '\t'))
                                v++;
                }
                st->nspid = last;
                return 0;
        }
        if (KEY_IS("PPid"))
                return parse_pid(v, end, &st->ppid);
        if (KEY_IS("Tgid"))
                return parse_pid(v, end, &st->tgid);
        if (KEY_IS("TracerPid"))
                return parse_pid(v, end, &st->tracer);
        if (KEY_IS("Uid")) {
                *seen |= SEEN_UID;
                return parse_ids(v, end, st->uid);
        }
        if (KEY_IS("Gid")) {
                *seen |= SEEN_GID;
                return parse_ids(v, end, st->gid);
        }
        if (KEY_IS("CapEff"))
                return parse_u64(&v, end, 16, &st->cap_eff);
        if (KEY_IS("Threads"))
                return parse_u64(&v, end, 10, &st->threads);
        return 0;
#undef KEY_IS
}

int proc_status_parse(const char *text, size_t len, struct proc_status *ret)
{
        struct proc_status st = {.state = '?'};
        const char *p = text, *end = text + len;
        unsigned seen = 0;

        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                const char *colon;
                int r;

                if (!eol)
                        eol = end;
                colon = memchr(p, ':', (size_t)(eol - p));
                if (colon) {
                        r = parse_status_line(p, (size_t)(colon - p), colon + 1, eol, &st,
                                              &seen);
                        if (r < 0)
                                return r;
                }
                p = eol + 1;
        }
        /* Without these the caller could not decide access: refuse rather than guess. */
        if ((seen & (SEEN_PID | SEEN_UID | SEEN_GID)) != (SEEN_PID | SEEN_UID | SEEN_GID))
                return -EBADMSG;
        if (st.nspid == 0)
                st.nspid = st.pid;
        *ret = st;
        return 0;
}

int proc_task_status_read(pid_t pid, pid_t tid, struct proc_status *ret)
{
        char path[64], *buf = NULL;
        size_t len;
        int r;

        if (pid <= 0 || tid < 0)
                return -ENOENT;
        if (tid)
                snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
        else
                snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        r = proc_read_file(path, PROC_READ_MAX, &buf, &len);
        if (r < 0)
                return r;
        r = proc_status_parse(buf, len, ret);
        free(buf);
        return r;
}

int proc_status_read(pid_t pid, struct proc_status *ret)
{
        return proc_task_status_read(pid, 0, ret);
}

int proc_status_read_at(int dirfd, struct proc_status *ret)
{
        char *buf = NULL;
        size_t len;
        int r;

        r = proc_read_file_at(dirfd, "status", PROC_READ_MAX, &buf, &len);
        if (r < 0)
                return r;
        r = proc_status_parse(buf, len, ret);
        free(buf);
        return r;
}

/* Skips to the start of the next space-separated field; false at the end of the line. */
static bool next_field(const char **p, const char *end)
{
        while (*p < end && **p != ' ' && **p != '\n')
                (*p)++;
        while (*p < end && **p == ' ')
                (*p)++;
        return *p < end && **p != '\n';
}

int proc_stat_parse(const char *text, size_t len, struct proc_stat *ret)
{
        const char *p = NULL, *end = text + len;
        struct proc_stat st = {0};
        int r;

        /* comm (field 2) may hold spaces and parentheses, but it is the only field that
         * can, so it runs from the first '(' to the LAST ')', and everything after is
         * plain space-separated fields. */
        const char *open = memchr(text, '(', len);
        for (const char *s = text; s < end; s++)
                if (*s == ')')
                        p = s + 1;
        if (!open || !p || p <= open + 1 || p >= end || *p != ' ')
                return -EBADMSG;
        size_t n = (size_t)(p - 1 - (open + 1));
        if (n >= sizeof(st.comm))
                n = sizeof(st.comm) - 1;
        memcpy(st.comm, open + 1, n);
        p++;
        for (int field = 3; field <= 22; field++) {
                if (field > 3 && !next_field(&p, end))
                        return -EBADMSG;
                if (p >= end || *p == ' ' || *p == '\n')
                        return -EBADMSG;
                if (field == 3) {
                        st.state = *p;
                } else if (field == 9 || field == 22) {
                        r = parse_u64(&p, end, 10, field == 9 ? &st.flags : &st.start_time);
                        if (r < 0)
                                return r;
                        if (p < end && *p != ' ' && *p != '\n')
                                return -EBADMSG;
                }
        }
        *ret = st;
        return 0;
}

int proc_stat_parse_start_time(const char *text, size_t len, uint64_t *ret)
{
        struct proc_stat st;
        int r = proc_stat_parse(text, len, &st);

        if (r < 0)
                return r;
        *ret = st.start_time;
        return 0;
}

int proc_stat_read(pid_t pid, struct proc_stat *ret)
{
        char path[64], *buf = NULL;
        size_t len;
        int r;

        if (pid <= 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        r = proc_read_file(path, PROC_READ_MAX, &buf, &len);
        if (r < 0)
                return r;
        r = proc_stat_parse(buf, len, ret);
        free(buf);
        return r;
}

int proc_start_time(pid_t pid, uint64_t *ret)
{
        struct proc_stat st;
        int r = proc_stat_read(pid, &st);

        if (r < 0)
                return r;
        *ret = st.start_time;
        return 0;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = ((const struct proc_pid_entry *)a)->pid;
        pid_t y = ((const struct proc_pid_entry *)b)->pid;

        return (x > y) - (x < y);
}

/* "1234" → 1234; anything else (self, sys, 0123, overflow) is not a process. */
static bool parse_pid_name(const char *s, pid_t *ret)
{
        long v = 0;

        if (*s < '1' || *s > '9')
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
                v = v * 10 + (*s - '0');
                if (v >= PROC_PID_LIMIT)
                        return false;
        }
        *ret = (pid_t)v;
        return true;
}

int proc_list_pids(struct proc_pid_entry **ret, size_t *ret_n)
{
        size_t n = 0, cap = 0;
        struct proc_pid_entry *pids = NULL;
        struct dirent *de;
        DIR *d;
        int r;

        d = opendir("/proc"); /* glibc opens it O_CLOEXEC */
        if (!d)
                return -errno;
        errno = 0;
        while ((de = readdir(d))) {
                pid_t pid;

                if (!parse_pid_name(de->d_name, &pid))
                        continue;
                r = ARRAY_RESERVE(pids, cap, n, 1, 256, PROC_PID_LIMIT);
                if (r < 0) {
                        r = r == -E2BIG ? -EFBIG : r;
                        goto out;
                }
                pids[n++] = (struct proc_pid_entry){.pid = pid, .ino = de->d_ino};
                errno = 0;
        }
        if (errno != 0) {
                r = -errno;
                goto out;
        }
        qsort(pids, n, sizeof(*pids), cmp_pid);
        *ret = pids;
        *ret_n = n;
        pids = NULL;
        r = 0;
out:
        free(pids);
        closedir(d);
        return r;
}
