/* threads-dump PID [text|pprof]: threads.txt or threads of a process, without the daemon;
 * for the tests and the benchmark. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "symbolize.h"

/* The test reads its own children: files are opened with its own ids. */
static struct sym_caller self_caller;
#include "threads.h"

int main(int argc, char **argv)
{
        self_caller = (struct sym_caller){.uid = geteuid(), .gid = getegid()};
        struct thread_snapshot *ts = NULL;
        struct symbolizer *sym = NULL;
        struct sym_process *sp = NULL;
        bool pprof = argc > 2 && strcmp(argv[2], "pprof") == 0;
        void *buf = NULL;
        size_t len = 0;
        pid_t pid;
        int r;

        if (argc < 2) {
                fprintf(stderr, "usage: %s PID [text|pprof]\n", argv[0]);
                return 2;
        }
        pid = atoi(argv[1]);
        r = threads_collect(pid, NULL, &ts);
        if (r < 0) {
                fprintf(stderr, "collecting threads of %d: %s\n", (int)pid, strerror(-r));
                return 1;
        }
        r = symbolizer_new(16, &sym);
        if (r == 0)
                r = sym_process_open(sym, pid, &self_caller, &sp);
        if (r == 0)
                r = pprof ? render_threads_pprof(ts, sp, (uint8_t **)&buf, &len)
                          : render_threads_text(ts, sp, (char **)&buf, &len);
        if (r < 0) {
                fprintf(stderr, "rendering threads of %d: %s\n", (int)pid, strerror(-r));
        } else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
                r = -EIO;
        }
        free(buf);
        sym_process_free(sp);
        symbolizer_free(sym);
        thread_snapshot_free(ts);
        return r < 0 ? 1 : 0;
}
