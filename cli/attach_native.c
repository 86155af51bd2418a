/* memprof attach and detach for native (dynamically linked) processes: the shim loaded
 * into a running process by one of its threads, borrowed over ptrace. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "shimpath.h"
#include "inject.h"

/* The whole operation, thread choice included; the borrowed thread is stopped for a
 * few milliseconds of it (reported). */
#define ATTACH_TIMEOUT_NS (10 * 1000000000LL)
#define DEFAULT_RATE 524288ull

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Prints why PID is not attached to; the exit status. */
static int refuse(const char *verb, pid_t pid, const struct inject_target *t,
                  enum inject_refusal why)
{
        switch (why) {
        case INJ_OK:
                return 0;
        case INJ_GONE:
                fprintf(stderr, "memprof %s: no process %d\n", verb, (int)pid);
                break;
        case INJ_PERM:
                fprintf(stderr,
                        "memprof %s: not permitted to trace process %d: it must be yours "
                        "and ptrace allowed (kernel.yama.ptrace_scope), or run as root\n",
                        verb, (int)pid);
                break;
        case INJ_STATIC:
                fprintf(stderr,
                        "memprof %s: process %d (%s) is statically linked: there is no "
                        "loader to load the shim; restart it under memprof run if it can "
                        "be built dynamically\n",
                        verb, (int)pid, t->comm);
                break;
        case INJ_TRACED:
                fprintf(stderr,
                        "memprof %s: process %d (%s) is already traced by process %d "
                        "(a debugger or strace): detach that first\n",
                        verb, (int)pid, t->comm, (int)t->tracer);
                break;
        case INJ_SECCOMP:
                fprintf(stderr,
                        "memprof %s: process %d (%s) runs under a seccomp filter, which "
                        "may forbid what loading the shim needs (open, mmap, memfd): "
                        "not attached\n",
                        verb, (int)pid, t->comm);
                break;
        case INJ_NO_LIBC:
                fprintf(stderr,
                        "memprof %s: process %d (%s) has no libc this version knows "
                        "(glibc 2.34 or later, with dlopen in libc.so.6): not attached\n",
                        verb, (int)pid, t->comm);
                break;
        case INJ_HAS_SHIM:
                fprintf(stderr,
                        "memprof %s: process %d (%s) already carries the shim (%s): "
                        "nothing to do\n",
                        verb, (int)pid, t->comm, t->shim_path);
                break;
        }
        return 1;
}

static int parse_pid(const char *s, pid_t *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v <= 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t)v;
        return 0;
}

/* The shim's file must be the same inside the target's root, or dlopen would load
 * another one, or none. */
static int shim_visible(pid_t pid, const char *shim)
{
        char inside[PATH_MAX + 64];
        struct stat a, b;

        snprintf(inside, sizeof(inside), "/proc/%d/root%s", (int)pid, shim);
        if (stat(shim, &a) < 0)
                return -errno;
        if (stat(inside, &b) < 0)
                return -errno;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino ? 0 : -ESTALE;
}

struct remote_err {
        const char *step;
        char detail[256];
};

/* In the borrowed thread: dlopen(path, flags), dlsym(handle, entry), entry(arg).
 * The thread's errno is kept. */
static int load_and_call(struct inject_session *s, const struct inject_target *t, const char *path,
                         int flags, const char *entry, int nargs, uint64_t arg, int64_t *ret_result,
                         struct remote_err *err)
{
        uint64_t errno_addr = 0, errno_word = 0, path_addr, entry_addr, handle = 0, fn = 0, v = 0;
        size_t plen = strlen(path) + 1, off = (plen + 7) & ~(size_t)7;
        int r;

        err->step = "reading errno";
        r = inject_call(s, t->errno_location, NULL, 0, &errno_addr);
        if (r == 0)
                r = inject_peek(s, errno_addr, &errno_word);
        if (r < 0)
                return r;
        err->step = "writing the shim's path";
        r = inject_put(s, 0, path, plen, &path_addr);
        if (r == 0)
                r = inject_put(s, off, entry, strlen(entry) + 1, &entry_addr);
        if (r < 0)
                goto out;
        err->step = "dlopen";
        r = inject_call(s, t->dlopen, (uint64_t[]){path_addr, (uint64_t)flags}, 2, &handle);
        if (r == 0 && handle == 0) {
                uint64_t msg = 0;
                if (inject_call(s, t->dlerror, NULL, 0, &msg) == 0 && msg)
                        (void)inject_get_string(s, msg, err->detail, sizeof(err->detail));
                r = -ENOENT;
        }
        if (r < 0)
                goto out;
        err->step = "dlsym";
        r = inject_call(s, t->dlsym, (uint64_t[]){handle, entry_addr}, 2, &fn);
        if (r == 0 && fn == 0)
                r = -ENOENT;
        if (r < 0)
                goto out;
        err->step = entry;
        r = inject_call(s, fn, &arg, nargs, &v);
        if (r == 0)
                *ret_result = (int64_t)(int32_t)v;
out:
        /* the calls may have set errno: the program finds its own value */
        if (inject_poke(s, errno_addr, errno_word) < 0 && r == 0)
                r = -EIO;
        return r;
}

static void report_failure(const char *verb, pid_t pid, int r, const struct remote_err *err)
{
        if (r == -EBUSY)
                fprintf(stderr, "memprof %s: process %d is already traced\n", verb, (int)pid);
        else if (r == -EPERM)
                fprintf(stderr,
                        "memprof %s: not permitted to trace process %d "
                        "(kernel.yama.ptrace_scope, or not yours)\n",
                        verb, (int)pid);
        else if (r == -EAGAIN)
                fprintf(stderr,
                        "memprof %s: no thread of process %d was found outside "
                        "the allocator and the loader in time: nothing done\n",
                        verb, (int)pid);
        else
                fprintf(stderr, "memprof %s: process %d: %s failed: %s%s%s\n", verb, (int)pid,
                        err->step ? err->step : "stopping a thread", strerror(-r),
                        err->detail[0] ? ": " : "", err->detail);
}

static int parse_args(const char *verb, int argc, char **argv, bool rate_ok, pid_t *pid,
                      uint64_t *rate, bool *rate_given)
{
        bool have_pid = false;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (rate_ok && (strcmp(a, "--rate") == 0 || strncmp(a, "--rate=", 7) == 0)) {
                        const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : "");
                        char *end;
                        errno = 0;
                        unsigned long long x = strtoull(v, &end, 10);
                        if (errno || !*v || *end || *v < '0' || *v > '9' || x > INT64_MAX) {
                                fprintf(stderr,
                                        "memprof %s: --rate wants a number of bytes "
                                        "(0 or more), not '%s'\n",
                                        verb, v);
                                return -EINVAL;
                        }
                        *rate = x;
                        *rate_given = true;
                } else if (!have_pid && parse_pid(a, pid) == 0) {
                        have_pid = true;
                } else {
                        fprintf(stderr,
                                "memprof %s: unexpected argument '%s' (see memprof "
                                "--help)\n",
                                verb, a);
                        return -EINVAL;
                }
        }
        if (!have_pid) {
                fprintf(stderr, "memprof %s: which process? (memprof %s PID)\n", verb, verb);
                return -EINVAL;
        }
        return 0;
}

int cmd_detach_native(int argc, char **argv)
{
        struct inject_target t;
        struct inject_session s;
        enum inject_refusal why;
        struct remote_err err = {0};
        pid_t pid;
        uint64_t rate = 0;
        bool given = false;
        int64_t result = 0;
        int r;

        if (parse_args("detach", argc, argv, false, &pid, &rate, &given) < 0)
                return 2;
        r = inject_inspect(pid, SHIM_NAME, &t, &why);
        if (r < 0) {
                fprintf(stderr, "memprof detach: reading /proc/%d: %s\n", (int)pid, strerror(-r));
                return 1;
        }
        if (why == INJ_OK) {
                fprintf(stderr,
                        "memprof detach: process %d (%s) does not carry the shim: "
                        "nothing to detach\n",
                        (int)pid, t.comm);
                return 1;
        }
        if (why != INJ_HAS_SHIM)
                return refuse("detach", pid, &t, why);
        if (!t.dlopen) {
                return refuse("detach", pid, &t, INJ_NO_LIBC);
        }
        r = inject_begin(&t, now_ns() + ATTACH_TIMEOUT_NS, &s);
        if (r < 0) {
                report_failure("detach", pid, r, &err);
                return 1;
        }
        r = load_and_call(&s, &t, t.shim_path, RTLD_NOW | RTLD_NOLOAD, "memprof_detach", 0, 0,
                          &result, &err);
        uint64_t stopped = inject_end(&s);
        if (r < 0) {
                report_failure("detach", pid, r, &err);
                return 1;
        }
        if (result == 1)
                printf("memprof: process %d (%s) was not sampling: nothing to do (thread %d "
                       "stopped for %.3f ms)\n",
                       (int)pid, t.comm, (int)s.tid, stopped / 1e6);
        else
                printf("memprof: process %d (%s): sampling stopped, what was sampled stays "
                       "readable (thread %d stopped for %.3f ms)\n",
                       (int)pid, t.comm, (int)s.tid, stopped / 1e6);
        return 0;
}

int cmd_attach_native(int argc, char **argv)
{
        struct inject_target t;
        struct inject_session s;
        enum inject_refusal why;
        struct remote_err err = {0};
        char shim[PATH_MAX];
        pid_t pid;
        uint64_t rate = DEFAULT_RATE;
        bool given = false;
        int64_t result = 0;
        int r;

        if (parse_args("attach", argc, argv, true, &pid, &rate, &given) < 0)
                return 2;
        if (given && rate == 0) /* attach --rate 0: the same as detach */
                return cmd_detach_native(2, (char *[]){"detach", argv[argc - 1], NULL});
        if (shim_path_find(shim, sizeof(shim)) < 0) {
                fprintf(stderr, "memprof: " SHIM_NAME " not found next to this program nor "
                                "in %s\n", shim_path_installed());
                return 1;
        }
        r = inject_inspect(pid, SHIM_NAME, &t, &why);
        if (r < 0) {
                fprintf(stderr, "memprof attach: reading /proc/%d: %s\n", (int)pid, strerror(-r));
                return 1;
        }
        if (why != INJ_OK)
                return refuse("attach", pid, &t, why);
        r = shim_visible(pid, shim);
        if (r < 0) {
                fprintf(stderr,
                        "memprof attach: process %d (%s) does not see %s as this "
                        "program does (another root or mount namespace): not "
                        "attached\n",
                        (int)pid, t.comm, shim);
                return 1;
        }
        r = inject_begin(&t, now_ns() + ATTACH_TIMEOUT_NS, &s);
        if (r < 0) {
                report_failure("attach", pid, r, &err);
                return 1;
        }
        r = load_and_call(&s, &t, shim, RTLD_NOW, "memprof_attach", 1, rate, &result, &err);
        uint64_t stopped = inject_end(&s);
        if (r < 0) {
                report_failure("attach", pid, r, &err);
                return 1;
        }
        if (result < 0) {
                fprintf(stderr,
                        "memprof attach: process %d (%s): the shim could not start: "
                        "%s; the process runs on unprofiled\n",
                        (int)pid, t.comm, strerror((int)-result));
                return 1;
        }
        if (result == 1) {
                fprintf(stderr,
                        "memprof attach: process %d (%s) already carries the shim: "
                        "nothing to do\n",
                        (int)pid, t.comm);
                return 1;
        }
        printf("memprof: attached to process %d (%s) at rate %llu: thread %d stopped for "
               "%.3f ms\n",
               (int)pid, t.comm, (unsigned long long)rate, (int)s.tid, stopped / 1e6);
        return 0;
}
