/* What a process is, before anything is done to it: the refusals of memprof attach, and
 * where dlopen, dlsym and dlerror are in its libc. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inject.h"
#include "procfs.h"
#include "procmaps.h"

struct scan {
        const char *shim_name;
        bool has_shim;
        char shim_path[PATH_MAX];
        char libc_path[PATH_MAX];
        uint64_t libc_base, libc_inode;
        unsigned libc_major, libc_minor;
        bool libc_base_found;
        uint64_t libc_lo, libc_hi, ld_lo, ld_hi;
};

static bool basename_is(const struct maps_entry *e, const char *name)
{
        size_t n = strlen(name);
        return e->path_len > n && e->path[e->path_len - n - 1] == '/' &&
               memcmp(e->path + e->path_len - n, name, n) == 0;
}

static bool basename_starts(const struct maps_entry *e, const char *prefix)
{
        const char *slash = memrchr(e->path, '/', e->path_len);
        size_t n = strlen(prefix);
        if (!slash)
                return false;
        return (size_t)(e->path + e->path_len - slash - 1) >= n &&
               memcmp(slash + 1, prefix, n) == 0;
}

static void widen(uint64_t *lo, uint64_t *hi, const struct maps_entry *e)
{
        if (*lo == 0 || e->start < *lo)
                *lo = e->start;
        if (e->end > *hi)
                *hi = e->end;
}

static int scan_line(const struct maps_entry *e, void *data)
{
        struct scan *s = data;

        if (basename_is(e, s->shim_name) && !s->has_shim && e->path_len < PATH_MAX) {
                s->has_shim = true;
                memcpy(s->shim_path, e->path, e->path_len);
                s->shim_path[e->path_len] = '\0';
        }
        if (basename_is(e, "libc.so.6")) {
                if (e->offset == 0 && !s->libc_base_found && e->path_len < PATH_MAX) {
                        s->libc_base = e->start;
                        s->libc_base_found = true;
                        s->libc_inode = e->inode;
                        s->libc_major = e->dev_major;
                        s->libc_minor = e->dev_minor;
                        memcpy(s->libc_path, e->path, e->path_len);
                        s->libc_path[e->path_len] = '\0';
                }
                if (e->executable)
                        widen(&s->libc_lo, &s->libc_hi, e);
        }
        if (basename_starts(e, "ld-linux") && e->executable)
                widen(&s->ld_lo, &s->ld_hi, e);
        return 0;
}

/* "Seccomp: N" of /proc/PID/status: 0 none, 1 strict, 2 filter. */
static int seccomp_mode(pid_t pid, int *ret)
{
        char path[64], *buf = NULL, *p;
        size_t len;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        r = proc_read_file(path, 1 << 16, &buf, &len);
        if (r < 0)
                return r;
        p = strstr(buf, "\nSeccomp:");
        *ret = p ? atoi(p + 9) : 0;
        free(buf);
        return 0;
}

/* The libc file as the target sees it (its root may differ from ours), checked to be
 * the very file it mapped. */
static int libc_file(pid_t pid, const struct scan *s, char *ret, size_t size)
{
        struct stat st;

        if ((size_t)snprintf(ret, size, "/proc/%d/root%s", (int)pid, s->libc_path) >= size)
                return -ENAMETOOLONG;
        if (stat(ret, &st) < 0)
                return -errno;
        if (st.st_ino != s->libc_inode)
                return -ESTALE;
        return 0;
}

int inject_inspect(pid_t pid, const char *shim_name, struct inject_target *ret,
                   enum inject_refusal *ret_why)
{
        struct proc_status st;
        struct scan s = {.shim_name = shim_name};
        struct inject_target t = {.pid = pid};
        char path[PATH_MAX + 64];
        bool interp = false;
        int mode = 0, r;

        r = proc_status_read(pid, &st);
        if (r == -ENOENT || r == -ESRCH) {
                *ret_why = INJ_GONE;
                return 0;
        }
        if (r < 0)
                return r;
        snprintf(t.comm, sizeof(t.comm), "%.15s", st.name);
        snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
        r = elf_has_interp(path, &interp);
        if (r == -EACCES || r == -EPERM) {
                *ret_why = INJ_PERM;
                return 0;
        }
        if (r == -ENOENT) { /* a kernel thread, or gone */
                *ret_why = INJ_GONE;
                return 0;
        }
        if (r < 0 && r != -ENOEXEC)
                return r;
        if (!interp) {
                *ret_why = INJ_STATIC;
                return 0;
        }
        if (st.tracer != 0) {
                t.tracer = st.tracer;
                *ret = t;
                *ret_why = INJ_TRACED;
                return 0;
        }
        r = seccomp_mode(pid, &mode);
        if (r < 0)
                return r;
        if (mode != 0) {
                *ret = t;
                *ret_why = INJ_SECCOMP;
                return 0;
        }
        r = maps_read(pid, scan_line, &s);
        if (r == -EACCES || r == -EPERM) {
                *ret_why = INJ_PERM;
                return 0;
        }
        if (r < 0)
                return r;
        uint64_t off[4];
        static const char *const names[4] = {"dlopen", "dlsym", "dlerror", "__errno_location"};
        r = s.libc_base_found && s.libc_hi ? libc_file(pid, &s, path, sizeof(path)) : -ENOENT;
        for (int i = 0; i < 4 && r == 0; i++)
                r = elf_dynsym_find(path, names[i], &off[i]);
        if (r == 0) {
                t.dlopen = s.libc_base + off[0];
                t.dlsym = s.libc_base + off[1];
                t.dlerror = s.libc_base + off[2];
                t.errno_location = s.libc_base + off[3];
                t.libc_lo = s.libc_lo;
                t.libc_hi = s.libc_hi;
                t.ld_lo = s.ld_lo;
                t.ld_hi = s.ld_hi;
        }
        memcpy(t.shim_path, s.shim_path, sizeof(t.shim_path));
        *ret = t;
        /* the shim first: its symbols are only needed to detach, which says so */
        *ret_why = s.has_shim ? INJ_HAS_SHIM : r < 0 ? INJ_NO_LIBC : INJ_OK;
        return 0;
}
