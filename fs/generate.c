/* The generators behind each file: collect, symbolize, render; failures logged once here. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_segment.h"
#include "memprofd.h"
#include "render.h"
#include "symbolize.h"
#include "threads.h"

/*
 * Turns a collector's error into what the reader sees.  A process that is gone (or whose
 * PID now belongs to another process) is ENOENT and not worth a log line; everything else
 * is a genuine failure, logged with its cause.
 */
static int failed(const struct target *t, const char *file, const char *what, int r)
{
        if (r == -ENOENT || r == -ESRCH || !tree_still_running(t))
                return -ENOENT;
        switch (r) {
        case -EBUSY:
                fs_log("pid %d: %s: %s: the process is already traced (by a debugger?)",
                       (int)t->pid, file, what);
                return -EBUSY;
        case -ENOMEM:
                fs_log("pid %d: %s: %s: out of memory", (int)t->pid, file, what);
                return -ENOMEM;
        default:
                fs_log("pid %d: %s: %s: %s", (int)t->pid, file, what, strerror(-r));
                return -EIO;
        }
}

/* Reads the shim's segment; -ENOENT when the process does not carry the shim. */
static int read_heap(const struct target *t, const char *file, struct heap_snapshot **ret)
{
        const char *why = NULL;
        int fd, r;

        r = heap_segment_open(t->pid, &fd);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : failed(t, file, "finding the heap segment", r);
        r = heap_snapshot_read(fd, ret, &why);
        close(fd);
        if (r == -EBADMSG) {
                fs_log("pid %d: corrupt heap segment: %s", (int)t->pid, why ? why : "?");
                return -EIO;
        }
        if (r < 0)
                return failed(t, file, "reading the heap segment", r);
        return 0;
}

/* Supplementary groups of a reader: more than this is not seen in practice (the
 * kernel's limit is 65536); the files opened for them are then those of the first. */
#define CALLER_MAX_GROUPS 256

/*
 * The symbols of t's binaries are read as the caller: with its filesystem ids and
 * groups, so debug files it could not read itself give it nothing.  Without a request
 * (not reached from one) only what anyone may read is used: the overflow ids.
 */
static int open_symbols(struct memprofd *d, const struct target *t, const char *file,
                        struct sym_process **ret)
{
        gid_t groups[CALLER_MAX_GROUPS];
        struct sym_caller caller = {.uid = 65534, .gid = 65534, .groups = groups};
        int r;

        if (!d->sym) {
                fs_log("pid %d: %s: no symbolizer (it failed at start-up)", (int)t->pid, file);
                return -EIO;
        }
        if (t->req) {
                const struct fuse_ctx *ctx = fuse_req_ctx(t->req);

                caller.uid = ctx->uid;
                caller.gid = ctx->gid;
                /* the count it returns may exceed the room given: then the first ones */
                r = fuse_req_getgroups(t->req, CALLER_MAX_GROUPS, groups);
                caller.ngroups = r > 0 ? (size_t)(r < CALLER_MAX_GROUPS ? r : CALLER_MAX_GROUPS)
                                       : 0;
        }
        r = sym_process_open(d->sym, t->pid, &caller, ret);
        return r < 0 ? failed(t, file, "reading its mappings", r) : 0;
}

/* A binary whose symbols were refused (a bomb, a helper crash) is worth a line. */
static void log_symbol_problem(const struct target *t, const char *file,
                               const struct sym_process *sp)
{
        const char *why = sym_process_problem(sp);

        if (why)
                fs_log("pid %d: %s: symbols: %s", (int)t->pid, file, why);
}

int gen_memstats(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len)
{
        struct heap_snapshot *heap = NULL;
        const char *why = NULL;
        char why_buf[256];
        int fd, r;

        /* memstats stays readable when the segment is not: the reason goes in the file */
        r = heap_segment_open(t->pid, &fd);
        if (r == 0) {
                r = heap_snapshot_read_counts(fd, &heap, &why); /* no stacks: not shown */
                close(fd);
                if (r == -EBADMSG) {
                        fs_log("pid %d: corrupt heap segment: %s", (int)t->pid, why ? why : "?");
                        snprintf(why_buf, sizeof(why_buf), "corrupt heap segment: %s",
                                 why ? why : "?");
                } else if (r < 0) {
                        fs_log("pid %d: memstats: reading the heap segment: %s", (int)t->pid,
                               strerror(-r));
                        snprintf(why_buf, sizeof(why_buf),
                                 "the shim's segment could not be read: %s", strerror(-r));
                }
        } else if (r == -ENOENT) {
                snprintf(why_buf, sizeof(why_buf), "libmemprof.so is not loaded in this process");
        } else {
                snprintf(why_buf, sizeof(why_buf), "looking for the shim's segment failed: %s",
                         strerror(-r));
        }

        /* t->st was read for this very request, so the kernel figures are fresh */
        r = render_memstats(&t->st, heap, heap ? NULL : why_buf, ret_buf, ret_len);
        heap_snapshot_free(heap);
        return r < 0 ? failed(t, "memstats", "rendering", r) : 0;
}

enum heap_kind { HEAP_INUSE, HEAP_ALLOCS, HEAP_TEXT };

static int gen_heap_file(struct memprofd *d, const struct target *t, const char *file,
                         enum heap_kind kind, char **ret_buf, size_t *ret_len)
{
        struct heap_snapshot *heap = NULL;
        struct sym_process *sp = NULL;
        int r;

        r = read_heap(t, file, &heap);
        if (r < 0)
                return r;
        r = open_symbols(d, t, file, &sp);
        if (r < 0)
                goto out;
        if (kind == HEAP_TEXT) {
                r = render_heap_text(heap, sp, ret_buf, ret_len);
        } else {
                uint8_t *buf;

                r = render_heap_pprof(heap, sp, kind == HEAP_ALLOCS, &buf, ret_len);
                if (r == 0)
                        *ret_buf = (char *)buf;
        }
        log_symbol_problem(t, file, sp);
        if (r < 0)
                r = failed(t, file, "rendering", r);
out:
        sym_process_free(sp);
        heap_snapshot_free(heap);
        return r;
}

int gen_heap(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len)
{
        return gen_heap_file(d, t, "heap", HEAP_INUSE, ret_buf, ret_len);
}

int gen_allocs(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len)
{
        return gen_heap_file(d, t, "allocs", HEAP_ALLOCS, ret_buf, ret_len);
}

int gen_heap_txt(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len)
{
        return gen_heap_file(d, t, "heap.txt", HEAP_TEXT, ret_buf, ret_len);
}

/*
 * One collection per process at a time: a second reader would find the process traced
 * by our own first reader and get EBUSY.  Striped by pid so unrelated processes are
 * collected in parallel (a collision only serializes two short collections).
 */
#define COLLECT_STRIPES 64
static pthread_mutex_t collect_lock[COLLECT_STRIPES] = {
        [0 ... COLLECT_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static int collect_threads(pid_t pid, struct thread_snapshot **ret)
{
        pthread_mutex_t *m = &collect_lock[(unsigned)pid % COLLECT_STRIPES];
        int r;

        pthread_mutex_lock(m);
        r = threads_collect(pid, ret);
        pthread_mutex_unlock(m);
        return r;
}

static int gen_threads_file(struct memprofd *d, const struct target *t, const char *file,
                            bool text, char **ret_buf, size_t *ret_len)
{
        struct thread_snapshot *ts = NULL;
        struct sym_process *sp = NULL;
        int r;

        r = collect_threads(t->pid, &ts);
        if (r < 0)
                return failed(t, file, "collecting thread stacks", r);
        r = open_symbols(d, t, file, &sp);
        if (r < 0)
                goto out;
        if (text) {
                r = render_threads_text(ts, sp, ret_buf, ret_len);
        } else {
                uint8_t *buf;

                r = render_threads_pprof(ts, sp, &buf, ret_len);
                if (r == 0)
                        *ret_buf = (char *)buf;
        }
        log_symbol_problem(t, file, sp);
        if (r < 0)
                r = failed(t, file, "rendering", r);
out:
        sym_process_free(sp);
        thread_snapshot_free(ts);
        return r;
}

int gen_threads(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len)
{
        return gen_threads_file(d, t, "threads", false, ret_buf, ret_len);
}

int gen_threads_txt(struct memprofd *d, const struct target *t, char **ret_buf,
                    size_t *ret_len)
{
        return gen_threads_file(d, t, "threads.txt", true, ret_buf, ret_len);
}
