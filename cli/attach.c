/* memprof attach PID: turns a running Go program's own heap profiling on by writing its
 * runtime.MemProfileRate, with the caller's own right to trace it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "goruntime.h"

#define DEFAULT_RATE 524288

static int parse_pid(const char *s, pid_t *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (*s < '0' || *s > '9' || errno || *end || v <= 0 || v > 0x3fffffff)
                return -EINVAL;
        *ret = (pid_t)v;
        return 0;
}

static int explain_open(pid_t pid, int r)
{
        switch (r) {
        case -ENOEXEC:
                fprintf(stderr,
                        "memprof attach: process %d is not a Go program; attach turns "
                        "on Go's own heap profiling (a C or C++ program is profiled from "
                        "its start with memprof run -- CMD)\n",
                        (int)pid);
                break;
        case -ENOENT:
                fprintf(stderr, "memprof attach: no process %d\n", (int)pid);
                break;
        case -EACCES:
        case -EPERM:
                fprintf(stderr,
                        "memprof attach: you may not trace process %d (it must be "
                        "yours and dumpable, or you need CAP_SYS_PTRACE)\n",
                        (int)pid);
                break;
        default:
                fprintf(stderr, "memprof attach: process %d: %s\n", (int)pid, strerror(-r));
        }
        return 1;
}

int cmd_attach(int argc, char **argv)
{
        unsigned long long rate = DEFAULT_RATE;
        struct go_target *t = NULL;
        const char *pid_arg = NULL, *why;
        uint64_t old;
        pid_t pid;
        int r;

        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i];

                if (strcmp(arg, "--rate") == 0 || strncmp(arg, "--rate=", 7) == 0) {
                        const char *v = arg[6] == '=' ? arg + 7 : (i + 1 < argc ? argv[++i] : "");
                        char *end;

                        errno = 0;
                        rate = strtoull(v, &end, 10);
                        if (*v < '0' || *v > '9' || errno || *end || rate == 0 ||
                            rate > GO_MEM_PROFILE_RATE_MAX) {
                                fprintf(stderr,
                                        "memprof attach: --rate wants a number of bytes "
                                        "from 1 to %llu, not '%s'\n",
                                        GO_MEM_PROFILE_RATE_MAX, v);
                                return 2;
                        }
                } else if (!pid_arg && arg[0] != '-') {
                        pid_arg = arg;
                } else {
                        fprintf(stderr,
                                "memprof attach: unexpected '%s' (memprof attach PID "
                                "[--rate N])\n",
                                arg);
                        return 2;
                }
        }
        if (!pid_arg || parse_pid(pid_arg, &pid) < 0) {
                fprintf(stderr, "memprof attach: wants a process id (memprof attach PID "
                                "[--rate N])\n");
                return 2;
        }

        r = go_target_open(pid, &t);
        if (r < 0)
                return explain_open(pid, r);
        why = go_target_unusable(t);
        if (why) {
                fprintf(stderr, "memprof attach: process %d (%s): %s\n", (int)pid,
                        t->version[0] ? t->version : "Go", why);
                go_target_free(t);
                return 1;
        }
        r = go_write_mem_profile_rate(t, rate, &old);
        if (r == -ENOTSUP)
                fprintf(stderr,
                        "memprof attach: process %d (%s): this Go runtime's "
                        "MemProfileRate or profiling buckets were not recognised; "
                        "nothing written\n",
                        (int)pid, t->version);
        else if (r == -EPERM)
                explain_open(pid, r);
        else if (r < 0)
                fprintf(stderr, "memprof attach: writing MemProfileRate in process %d: %s\n",
                        (int)pid, strerror(-r));
        else
                printf("process %d (%s): MemProfileRate was %llu, now %llu; its heap files "
                       "show allocations sampled from now on\n",
                       (int)pid, t->version[0] ? t->version : "Go", (unsigned long long)old, rate);
        go_target_free(t);
        return r < 0 ? 1 : 0;
}

bool attach_go_wanted(int argc, char **argv)
{
        struct go_target *t;
        pid_t pid = 0;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--rate") == 0) {
                        i++; /* its value */
                        continue;
                }
                if (argv[i][0] != '-' && parse_pid(argv[i], &pid) == 0)
                        break;
        }
        /* anything that does not open as a Go program is for the native path, which
         * says why it cannot attach when it cannot */
        if (pid <= 0 || go_target_open(pid, &t) < 0)
                return false;
        go_target_free(t);
        return true;
}
