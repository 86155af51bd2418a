/* The generators behind each file: collect, symbolize, render; failures logged once here. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goruntime.h"
#include "heap_segment.h"
#include "loader.h"
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
        health_count_errno(r);
        switch (r) {
        case -EBUSY:
                fs_log("pid %d: %s: %s: the process is already traced (by a debugger?)",
                       (int)t->pid, file, what);
                return -EBUSY;
        case -ENOMEM:
                fs_log("pid %d: %s: %s: out of memory", (int)t->pid, file, what);
                return -ENOMEM;
        case -EFBIG:
                fs_log("pid %d: %s: %s: the file would pass %u MiB", (int)t->pid, file, what,
                       RENDER_MAX_BYTES >> 20);
                return -EFBIG;
        default:
                fs_log("pid %d: %s: %s: %s", (int)t->pid, file, what, strerror(-r));
                return -EIO;
        }
}

/* Mappings refused as the process's segment are worth a line: someone may be trying to
 * pass a forged heap off as this process's. */
static void log_refused(const struct target *t, const char *file,
                        const struct heap_segment_refused *refused)
{
        if (!refused->n)
                return;
        health_count(HEALTH_SEGMENT_REFUSED);
        fs_log("pid %d: %s: %u mapping(s) named like a heap segment refused, the first %s",
               (int)t->pid, file, refused->n, refused->why);
}

/* Reads the shim's segment; -ENOENT when the process does not carry the shim. */
static int read_heap(const struct target *t, const char *file, struct heap_snapshot **ret)
{
        struct heap_segment_refused refused;
        const char *why = NULL;
        int fd, r;

        r = heap_segment_open(t->pid, &fd, &refused);
        log_refused(t, file, &refused);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : failed(t, file, "finding the heap segment", r);
        r = heap_snapshot_read(fd, ret, &why);
        close(fd);
        if (r == -EBADMSG) {
                health_count(HEALTH_SEGMENT_CORRUPT);
                fs_log("pid %d: corrupt heap segment: %s", (int)t->pid, why ? why : "?");
                return -EIO;
        }
        if (r < 0)
                return failed(t, file, "reading the heap segment", r);
        return 0;
}

/* Supplementary groups of a reader: more than this is not seen in practice (the
 * kernel's limit is 65536); the files opened for them are then those of the first. */
/*
 * The symbols of t's binaries are read as the caller: with its filesystem ids and
 * groups, so debug files it could not read itself give it nothing.
 */
static int open_symbols(struct memprofd *d, const struct caller *c, const struct target *t,
                        const char *file, struct sym_process **ret)
{
        struct sym_caller caller = {.uid = c->uid, .gid = c->gid, .groups = c->groups,
                                    .ngroups = c->ngroups};
        int r;

        if (!d->sym) {
                fs_log("pid %d: %s: no symbolizer (it failed at start-up)", (int)t->pid, file);
                return -EIO;
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

int gen_memstats(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                 size_t *ret_len)
{
        struct heap_segment_refused refused;
        struct heap_snapshot *heap = NULL;
        const char *why = NULL;
        char why_buf[256];
        int fd, r;

        /* memstats stays readable when the segment is not: the reason goes in the file */
        r = heap_segment_open(t->pid, &fd, &refused);
        log_refused(t, "memstats", &refused);
        if (r == 0) {
                r = heap_snapshot_read_counts(fd, &heap, &why); /* no stacks: not shown */
                close(fd);
                if (r == -EBADMSG) {
                        health_count(HEALTH_SEGMENT_CORRUPT);
                        fs_log("pid %d: corrupt heap segment: %s", (int)t->pid, why ? why : "?");
                        snprintf(why_buf, sizeof(why_buf), "corrupt heap segment: %s",
                                 why ? why : "?");
                } else if (r < 0) {
                        fs_log("pid %d: memstats: reading the heap segment: %s", (int)t->pid,
                               strerror(-r));
                        snprintf(why_buf, sizeof(why_buf),
                                 "the shim's segment could not be read: %s", strerror(-r));
                }
        } else if (r == -ENOENT && refused.n) {
                snprintf(why_buf, sizeof(why_buf),
                         "no heap segment of this process's own (%u refused, the first %s)",
                         refused.n, refused.why);
        } else if (r == -ENOENT) {
                snprintf(why_buf, sizeof(why_buf), "libmemprof.so is not loaded in this process");
        } else {
                snprintf(why_buf, sizeof(why_buf), "looking for the shim's segment failed: %s",
                         strerror(-r));
        }

        /* a Go process gets its runtime's figures too; not being Go is no failure */
        struct go_target *gt = NULL;
        struct go_memstats gms;
        struct go_section go = {0};

        r = go_target_open(t->pid, &gt);
        if (r == 0) {
                go.version = gt->version;
                go.why = go_target_unusable(gt);
                if (!go.why) {
                        r = go_read_memstats(gt, &gms, &go.why);
                        if (r == 0) {
                                go.stats = &gms;
                        } else if (r != -EBADMSG) {
                                fs_log("pid %d: memstats: reading the Go runtime: %s",
                                       (int)t->pid, strerror(-r));
                                go.why = "the Go runtime's memory could not be read";
                        } else {
                                fs_log("pid %d: memstats: %s", (int)t->pid, go.why);
                        }
                }
        } else if (r != -ENOEXEC && r != -ENOENT) {
                fs_log("pid %d: memstats: looking at the executable: %s", (int)t->pid,
                       strerror(-r));
        }

        /* whether preloading could work at all; if maps cannot tell, the usual case */
        bool dynamic = true;
        if (!heap)
                (void)proc_has_loader(t->pid, &dynamic);
        struct memstats_off off = { why_buf, d->shim_path, !dynamic };
        /* t->st was read for this very request, so the kernel figures are fresh */
        r = render_memstats(&t->st, heap, heap ? NULL : &off, refused.n, gt ? &go : NULL,
                            ret_buf, ret_len);
        go_target_free(gt);
        heap_snapshot_free(heap);
        return r < 0 ? failed(t, "memstats", "rendering", r) : 0;
}

enum heap_kind { HEAP_INUSE, HEAP_ALLOCS, HEAP_TEXT };

/* A Go program's heap from its runtime's profiling buckets; -ENOENT if not Go.  origin
 * (GO_ORIGIN_MAX bytes) says where the samples come from, or on failure why there are
 * none (the failure is logged). */
#define GO_ORIGIN_MAX 256
static int read_go_heap(const struct target *t, const char *file, struct heap_snapshot **ret,
                        char *origin)
{
        struct go_target *gt;
        const char *why = NULL;
        uint64_t rate;
        int r;

        snprintf(origin, GO_ORIGIN_MAX, "Go runtime: its heap profile could not be read "
                                        "(memprofd's log says why)");
        r = go_target_open(t->pid, &gt);
        if (r == -ENOEXEC)
                return -ENOENT;
        if (r < 0)
                return r == -ENOENT ? r : failed(t, file, "looking at the executable", r);
        r = go_read_heap(gt, ret, &rate, &why);
        if (r == 0 && rate == 0)
                snprintf(origin, GO_ORIGIN_MAX,
                         "Go heap profiling is off (MemProfileRate 0: the program does not "
                         "use runtime/pprof); memprof attach %d turns it on", (int)t->pid);
        else if (r == 0)
                snprintf(origin, GO_ORIGIN_MAX,
                         "Go runtime (%s) heap profile as of the last completed GC, "
                         "MemProfileRate %llu bytes, sampled since the rate was set",
                         gt->version[0] ? gt->version : "unknown version",
                         (unsigned long long)rate);
        go_target_free(gt);
        if (r == -EBADMSG) {
                fs_log("pid %d: %s: %s", (int)t->pid, file, why ? why : "?");
                snprintf(origin, GO_ORIGIN_MAX, "Go runtime: its heap profile could not be "
                                                "read: %s", why ? why : "?");
                return -EIO;
        }
        return r < 0 ? failed(t, file, "reading the Go runtime's heap profile", r) : 0;
}

/*
 * The parts of a heap file: the shim's samples (malloc) and the Go runtime's (go), one
 * or both.  A cgo process under the shim has both, and no allocation is in both: the Go
 * runtime takes its heap from mmap, never from malloc, so the shim never sees a Go
 * object, and C.malloc (C.CString, ...) goes to the shim alone.  A Go half that cannot
 * be read leaves the shim's served, with the reason in the Go half's comment.
 */
static int gen_heap_file(struct memprofd *d, const struct caller *c, const struct target *t,
                         const char *file,
                         enum heap_kind kind, char **ret_buf, size_t *ret_len)
{
        struct heap_snapshot *heap = NULL, *go_heap = NULL, go_none = {0};
        struct sym_process *sp = NULL;
        struct heap_part parts[2];
        char go_origin[GO_ORIGIN_MAX];
        size_t n = 0;
        int r, go_r;

        r = read_heap(t, file, &heap);
        if (r < 0 && r != -ENOENT)
                return r;
        go_r = read_go_heap(t, file, &go_heap, go_origin);
        if (!heap && go_r < 0)
                return go_r;
        r = open_symbols(d, c, t, file, &sp);
        if (r < 0)
                goto out;
        if (heap)
                parts[n++] = (struct heap_part){.heap = heap};
        if (go_heap)
                render_go_heap_fold(go_heap, sp);
        if (go_r != -ENOENT)
                parts[n++] = (struct heap_part){.heap = go_heap ? go_heap : &go_none,
                                                .origin = go_origin};
        if (n == 2) {
                render_go_cgo_trim(heap, sp);
                parts[0].allocator = "malloc";
                parts[1].allocator = "go";
        }
        if (kind == HEAP_TEXT) {
                r = render_heap_text(parts, n, sp, ret_buf, ret_len);
        } else {
                uint8_t *buf;

                r = render_heap_pprof(parts, n, sp, kind == HEAP_ALLOCS, &buf, ret_len);
                if (r == 0)
                        *ret_buf = (char *)buf;
        }
        log_symbol_problem(t, file, sp);
        if (r < 0)
                r = failed(t, file, "rendering", r);
out:
        sym_process_free(sp);
        heap_snapshot_free(go_heap);
        heap_snapshot_free(heap);
        return r;
}

int gen_heap(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
             size_t *ret_len)
{
        return gen_heap_file(d, c, t, "heap", HEAP_INUSE, ret_buf, ret_len);
}

int gen_allocs(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
               size_t *ret_len)
{
        return gen_heap_file(d, c, t, "allocs", HEAP_ALLOCS, ret_buf, ret_len);
}

int gen_heap_txt(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                 size_t *ret_len)
{
        return gen_heap_file(d, c, t, "heap.txt", HEAP_TEXT, ret_buf, ret_len);
}

/*
 * One collection per process at a time: a second reader would find the process traced
 * by our own first reader and get EBUSY.  Keyed by the exact PID, so no two processes
 * ever wait for each other; a collection is bounded (its stop timeout plus unwinding),
 * and so is the wait for one, which gives up with EBUSY.
 */
#define COLLECT_WAIT_S 5

static pthread_mutex_t collect_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t collect_done; /* on CLOCK_MONOTONIC */
static pthread_once_t collect_once = PTHREAD_ONCE_INIT;
static pid_t collecting[JOBS_LIMIT];

static void collect_init(void)
{
        cond_init_monotonic(&collect_done);
}

static bool is_collecting(pid_t pid)
{
        for (size_t i = 0; i < JOBS_LIMIT; i++)
                if (collecting[i] == pid)
                        return true;
        return false;
}

/* Marks pid as being collected, after any collection of it still running. */
static int collect_begin(pid_t pid)
{
        struct timespec deadline;
        int r = 0;

        pthread_once(&collect_once, collect_init);
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += COLLECT_WAIT_S;
        pthread_mutex_lock(&collect_lock);
        while (is_collecting(pid) && r == 0)
                if (pthread_cond_timedwait(&collect_done, &collect_lock, &deadline) == ETIMEDOUT)
                        r = -EBUSY;
        if (r == 0) {
                /* a free place exists: there are no more jobs than places */
                r = -EBUSY;
                for (size_t i = 0; i < JOBS_LIMIT; i++)
                        if (collecting[i] == 0) {
                                collecting[i] = pid;
                                r = 0;
                                break;
                        }
        }
        pthread_mutex_unlock(&collect_lock);
        return r;
}

static void collect_end(pid_t pid)
{
        pthread_mutex_lock(&collect_lock);
        for (size_t i = 0; i < JOBS_LIMIT; i++)
                if (collecting[i] == pid)
                        collecting[i] = 0;
        pthread_cond_broadcast(&collect_done);
        pthread_mutex_unlock(&collect_lock);
}

struct verify_ctx {
        struct caller *c;
        const struct target *t;
};

/* With the process stopped: is it still the one checked, still readable by the caller? */
static int verify_target(pid_t pid, void *userdata)
{
        struct verify_ctx *v = userdata;

        return access_recheck(v->c, v->t);
}

static int collect_threads(struct caller *c, const struct target *t,
                           struct thread_snapshot **ret)
{
        struct verify_ctx v = {.c = c, .t = t};
        /* a job thread: it ends if it is left tracing anything (fs/jobs.c) */
        struct threads_opts o = {.verify = verify_target, .userdata = &v,
                                 .caller_is_tracer = true};
        int r;

        /* a reader waits for our answer and cannot stop: never try (its own process's
         * other threads are stopped as usual) */
        caller_probe(c);
        if (c->tgid == t->pid)
                o.skip_tid = c->tid;
        r = collect_begin(t->pid);
        if (r < 0)
                return r;
        r = threads_collect(t->pid, &o, ret);
        collect_end(t->pid);
        return r;
}

static int gen_threads_file(struct memprofd *d, struct caller *c, const struct target *t,
                            const char *file, bool text, char **ret_buf, size_t *ret_len)
{
        struct thread_snapshot *ts = NULL;
        struct sym_process *sp = NULL;
        int r;

        r = collect_threads(c, t, &ts);
        if (r == -EACCES) {
                /* it changed hands since the check: as if checked now */
                fs_log("pid %d: %s: its credentials changed since the access check "
                       "(exec of a setuid program?): refused to uid %d",
                       (int)t->pid, file, (int)c->uid);
                return r;
        }
        if (r < 0)
                return failed(t, file, "collecting thread stacks", r);
        r = open_symbols(d, c, t, file, &sp);
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

int gen_threads(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                size_t *ret_len)
{
        return gen_threads_file(d, c, t, "threads", false, ret_buf, ret_len);
}

int gen_threads_txt(struct memprofd *d, struct caller *c, const struct target *t,
                    char **ret_buf, size_t *ret_len)
{
        return gen_threads_file(d, c, t, "threads.txt", true, ret_buf, ret_len);
}

/* The running goroutines' stacks from their threads, stopped as `threads` stops them
 * (same serialization per PID, same access re-check while stopped).  A failure to stop
 * leaves them without a stack, said in the file, and is logged. */
static int goroutines_on_threads(struct caller *c, const struct target *t, const char *file,
                                 struct go_target *gt, struct go_goroutines *gs)
{
        struct thread_snapshot *ts = NULL;
        struct go_thread_pcs *th;
        int r;

        r = collect_threads(c, t, &ts);
        if (r == -EACCES) {
                fs_log("pid %d: %s: its credentials changed since the access check "
                       "(exec of a setuid program?): refused to uid %d",
                       (int)t->pid, file, (int)c->uid);
                return r;
        }
        if (r == -ENOENT || r == -ESRCH)
                return -ENOENT;
        if (r < 0) {
                fs_log("pid %d: %s: stopping its threads for the running goroutines: %s",
                       (int)t->pid, file, strerror(-r));
                return 0;
        }
        th = calloc(ts->nthreads ? ts->nthreads : 1, sizeof(*th));
        if (!th) {
                thread_snapshot_free(ts);
                return -ENOMEM;
        }
        for (size_t i = 0; i < ts->nthreads; i++)
                th[i] = (struct go_thread_pcs){.tid = ts->threads[i].tid,
                                               .npcs = ts->threads[i].nframes,
                                               .pcs = ts->threads[i].pcs};
        r = go_goroutines_from_threads(gt, gs, th, ts->nthreads,
                                       ts->stopped_ns ? ts->stopped_ns : 1);
        free(th);
        thread_snapshot_free(ts);
        return r;
}

static int gen_goroutines_file(struct memprofd *d, struct caller *c, const struct target *t,
                               const char *file, bool text, char **ret_buf, size_t *ret_len)
{
        struct go_target *gt = NULL;
        struct go_goroutines *gs = NULL;
        struct sym_process *sp = NULL;
        const char *why = NULL;
        int r;

        r = go_target_open(t->pid, &gt);
        if (r == -ENOEXEC || r == -ENOENT)
                return -ENOENT;
        if (r < 0)
                return failed(t, file, "looking at the executable", r);
        r = go_read_goroutines(gt, &gs, &why);
        if (r == -EBADMSG) {
                fs_log("pid %d: %s: %s", (int)t->pid, file, why ? why : "?");
                r = -EIO;
                goto out;
        }
        if (r < 0) {
                r = failed(t, file, "reading the Go runtime's goroutines", r);
                goto out;
        }
        if (gs->on_thread > 0) {
                r = goroutines_on_threads(c, t, file, gt, gs);
                if (r < 0) {
                        r = r == -EACCES ? r : failed(t, file, "reading running goroutines", r);
                        goto out;
                }
        }
        r = open_symbols(d, c, t, file, &sp);
        if (r < 0)
                goto out;
        if (text) {
                r = render_goroutines_text(gs, sp, ret_buf, ret_len);
        } else {
                uint8_t *buf;

                r = render_goroutines_pprof(gs, sp, &buf, ret_len);
                if (r == 0)
                        *ret_buf = (char *)buf;
        }
        if (r < 0)
                r = failed(t, file, "rendering", r);
out:
        sym_process_free(sp);
        go_goroutines_free(gs);
        go_target_free(gt);
        return r;
}

int gen_goroutines(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                   size_t *ret_len)
{
        return gen_goroutines_file(d, c, t, "goroutines", false, ret_buf, ret_len);
}

int gen_goroutines_txt(struct memprofd *d, struct caller *c, const struct target *t,
                       char **ret_buf, size_t *ret_len)
{
        return gen_goroutines_file(d, c, t, "goroutines.txt", true, ret_buf, ret_len);
}
