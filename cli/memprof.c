/* memprof: the command-line front end; `memprof run -- CMD` runs CMD with the shim
 * preloaded, `memprof attach PID` turns heap profiling on in a running program. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: memprof run [--rate N] [--] CMD [ARGS...]\n"
                "       memprof attach [--rate N] PID\n"
                "       memprof detach PID\n"
                "       memprof version\n"
                "       memprof --help\n"
                "\n"
                "run      runs CMD with " SHIM_NAME " preloaded, so that memprofd can show its\n"
                "         heap in MOUNTPOINT/PID/heap, allocs, heap.txt and memstats.\n"
                "         CMD's output and exit status are its own.\n"
                "  --rate N  mean bytes between heap samples (MEMPROF_RATE): 1 samples every\n"
                "            allocation, 0 counts only; default 524288\n"
                "attach   turns heap profiling on in the running process PID: for a Go\n"
                "         program its runtime's own sampler (writes runtime.MemProfileRate);\n"
                "         otherwise loads " SHIM_NAME " into it (dynamically linked, glibc\n"
                "         2.34+; PID is stopped for a few ms).  --rate N: mean bytes between\n"
                "         samples (default 524288; --rate 0 is detach for a native process)\n"
                "detach   stops sampling in PID; what was sampled stays readable\n"
                "version  prints the version\n");
}

int find_shim(char *ret)
{
        static const char *const relative[] = {
                "/../collectors/shim/" SHIM_NAME,
                "/../collectors/" SHIM_NAME,
        };
        char exe[PATH_MAX], path[PATH_MAX];
        ssize_t n;

        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                char *dir = dirname(exe);
                size_t len = strlen(dir);

                for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
                        if (len + strlen(relative[i]) >= sizeof(path))
                                continue;
                        memcpy(path, dir, len);
                        strcpy(path + len, relative[i]);
                        if (realpath(path, ret) && access(ret, R_OK) == 0)
                                return 0;
                }
        }
        if (access(MEMPROF_SHIMDIR "/" SHIM_NAME, R_OK) == 0) {
                strcpy(ret, MEMPROF_SHIMDIR "/" SHIM_NAME);
                return 0;
        }
        return -ENOENT;
}

/* Puts the shim first in LD_PRELOAD, keeping whatever the user preloads already. */
static int set_preload(const char *shim)
{
        const char *old = getenv("LD_PRELOAD");
        char *value;
        int r;

        if (!old || !*old)
                return setenv("LD_PRELOAD", shim, 1) < 0 ? -errno : 0;
        if (asprintf(&value, "%s:%s", shim, old) < 0)
                return -ENOMEM;
        r = setenv("LD_PRELOAD", value, 1) < 0 ? -errno : 0;
        free(value);
        return r;
}

static int parse_rate(const char *s, const char **ret)
{
        char *end;
        unsigned long long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > (unsigned long long)INT64_MAX)
                return -EINVAL;
        *ret = s;
        return 0;
}

static int cmd_run(int argc, char **argv)
{
        const char *rate = NULL;
        char shim[PATH_MAX];
        int i, r;

        for (i = 1; i < argc; i++) {
                const char *arg = argv[i];

                if (strcmp(arg, "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(arg, "--rate") == 0 || strncmp(arg, "--rate=", 7) == 0) {
                        const char *v = arg[6] == '=' ? arg + 7 : (i + 1 < argc ? argv[++i] : "");

                        if (parse_rate(v, &rate) < 0) {
                                fprintf(stderr, "memprof run: --rate wants a number of bytes "
                                                "(0 or more), not '%s'\n", v);
                                return 2;
                        }
                } else if (arg[0] == '-') {
                        fprintf(stderr, "memprof run: unknown option '%s' (see memprof --help)\n",
                                arg);
                        return 2;
                } else {
                        break;
                }
        }
        if (i >= argc) {
                fprintf(stderr, "memprof run: no command given (memprof run -- CMD ARGS...)\n");
                return 2;
        }
        if (find_shim(shim) < 0) {
                fprintf(stderr, "memprof: " SHIM_NAME " not found next to this program nor in "
                                MEMPROF_SHIMDIR "\n");
                return 1;
        }
        r = set_preload(shim);
        if (r == 0 && rate)
                r = setenv("MEMPROF_RATE", rate, 1) < 0 ? -errno : 0;
        if (r < 0) {
                fprintf(stderr, "memprof: setting the environment: %s\n", strerror(-r));
                return 1;
        }
        execvp(argv[i], argv + i);
        r = errno;
        fprintf(stderr, "memprof: cannot run '%s': %s\n", argv[i], strerror(r));
        /* the shell's codes: 127 not found, 126 found but not runnable */
        return r == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : NULL;

        if (!cmd) {
                usage(stderr);
                return 2;
        }
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
                printf("memprof %s\n", MEMPROF_VERSION);
                return 0;
        }
        if (strcmp(cmd, "run") == 0)
                return cmd_run(argc - 1, argv + 1);
        if (strcmp(cmd, "attach") == 0)
                return attach_go_wanted(argc - 1, argv + 1) ? cmd_attach(argc - 1, argv + 1)
                                                           : cmd_attach_native(argc - 1, argv + 1);
        if (strcmp(cmd, "detach") == 0)
                return cmd_detach_native(argc - 1, argv + 1);
        fprintf(stderr, "memprof: unknown command '%s' (see memprof --help)\n", cmd);
        return 2;
}
