/* Thread snapshots rendered as pprof (threads) and as eu-stack-like text (threads.txt). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "render.h"
#include "stacks.h"
#include "symbolize.h"
#include "threads.h"

/* As /proc/PID/status spells the states. */
static const char *state_name(char state)
{
        switch (state) {
        case 'R': return "R (running)";
        case 'S': return "S (sleeping)";
        case 'D': return "D (disk sleep)";
        case 'T': return "T (stopped)";
        case 't': return "t (tracing stop)";
        case 'X': return "X (dead)";
        case 'Z': return "Z (zombie)";
        case 'P': return "P (parked)";
        case 'I': return "I (idle)";
        default: return "? (unknown)";
        }
}

/* Why a thread has no stack, in words. */
static const char *stack_error(int error)
{
        switch (error) {
        case -ESRCH: return "exited";
        case -EOPNOTSUPP: return "kernel thread";
        case -EDEADLK: return "not stopped: it is reading this file";
        case -EPERM: return "not stopped: memprofd does not stop its own threads";
        case -ETIMEDOUT: return "not stopped in time: asleep where no interrupt reaches it";
        default: return strerror(-error);
        }
}

static int cmp_thread(const void *a, const void *b)
{
        pid_t x = (*(const struct thread_stack *const *)a)->tid;
        pid_t y = (*(const struct thread_stack *const *)b)->tid;

        return (x > y) - (x < y);
}

/* The threads in tid order, whatever order the snapshot holds them in. */
static int sorted_threads(const struct thread_snapshot *ts, const struct thread_stack ***ret)
{
        const struct thread_stack **v = calloc(ts->nthreads ? ts->nthreads : 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < ts->nthreads; i++)
                v[i] = &ts->threads[i];
        qsort(v, ts->nthreads, sizeof(*v), cmp_thread);
        *ret = v;
        return 0;
}

static int add_header(struct profile *p, const struct thread_snapshot *ts)
{
        char comment[128];
        int r;

        r = profile_set_count_type(p, "threads");
        if (r < 0)
                return r;
        profile_set_time(p, ts->time_ns, (int64_t)ts->stopped_ns);
        snprintf(comment, sizeof(comment), "pid %d: %zu threads, stopped for %" PRIu64 " ns",
                 (int)ts->pid, ts->nthreads, ts->stopped_ns);
        return profile_add_comment(p, comment);
}

static int add_thread(struct profile *p, struct stack_encoder *se, const struct thread_stack *t,
                      uint64_t *ids)
{
        static const int64_t one = 1;
        char name[sizeof(t->name) + 1];
        struct profile_label labels[3];
        size_t nids = 0;
        int r;

        if (t->nframes > 0) {
                /* pcs[0] is where the thread is, not a return address */
                r = stack_encoder_locations(se, t->pcs, t->nframes, false, ids,
                                            THREAD_MAX_FRAMES, &nids);
                if (r < 0)
                        return r;
        }
        memcpy(name, t->name, sizeof(t->name));
        name[sizeof(t->name)] = '\0';
        labels[0] = (struct profile_label){ .key = "thread_id", .num = t->tid };
        labels[1] = (struct profile_label){ .key = "thread_name", .str = name };
        labels[2] = (struct profile_label){ .key = "state", .str = state_name(t->state) };
        return profile_add_sample(p, ids, nids, &one, 1, labels, 3);
}

/* Every thread's frames, resolved in one batch before the threads are rendered. */
static int prefetch_threads(const struct thread_snapshot *ts, struct sym_process *sp)
{
        struct pc_batch b = {0};
        int r = 0;

        for (size_t i = 0; i < ts->nthreads && r == 0; i++)
                r = pc_batch_add(&b, ts->threads[i].pcs, ts->threads[i].nframes, false);
        if (r < 0) {
                pc_batch_prefetch(&b, NULL); /* frees it */
                return r;
        }
        return pc_batch_prefetch(&b, sp);
}

int render_threads_pprof(const struct thread_snapshot *ts, struct sym_process *sp,
                         uint8_t **ret_buf, size_t *ret_len)
{
        const struct thread_stack **threads = NULL;
        struct stack_encoder *se = NULL;
        struct profile *p = NULL;
        uint64_t *ids = NULL;
        int r;

        r = prefetch_threads(ts, sp);
        if (r < 0)
                return r;
        r = sorted_threads(ts, &threads);
        if (r < 0)
                return r;
        ids = calloc(THREAD_MAX_FRAMES, sizeof(*ids));
        if (!ids) {
                r = -ENOMEM;
                goto out;
        }
        r = profile_new(&p);
        if (r < 0)
                goto out;
        r = add_header(p, ts);
        if (r < 0)
                goto out;
        r = stack_encoder_new(p, sp, &se);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < ts->nthreads && r == 0; i++)
                r = add_thread(p, se, threads[i], ids);
        if (r == 0)
                r = profile_write_gzip(p, ret_buf, ret_len);
out:
        stack_encoder_free(se);
        profile_free(p);
        free(ids);
        free(threads);
        return r;
}

static const char *basename_of(const char *path)
{
        const char *slash = path ? strrchr(path, '/') : NULL;

        return slash ? slash + 1 : path;
}

/* "#N  0xADDR  function  file:line  (module)", one line per inlined function too. */
static void format_frame(FILE *f, struct sym_process *sp, const struct sym_mapping *maps,
                         size_t nmaps, uint64_t pc, bool is_return, size_t *line_no)
{
        struct sym_frame fr;
        const char *module = NULL;

        if (!sp || sym_process_lookup(sp, pc, is_return, &fr) < 0 || fr.nlines == 0) {
                fr.nlines = 0;
                fr.mapping = -1;
        }
        if (fr.mapping >= 0 && (size_t)fr.mapping < nmaps)
                module = basename_of(maps[fr.mapping].path);
        if (fr.nlines == 0) {
                fprintf(f, "#%-3zu 0x%016" PRIx64 "  ??", (*line_no)++, pc);
                if (module)
                        fprintf(f, "  (%s)", module);
                fputc('\n', f);
                return;
        }
        for (size_t i = 0; i < fr.nlines; i++) {
                const struct sym_line *l = &fr.lines[i];

                fprintf(f, "#%-3zu 0x%016" PRIx64 "  %s", (*line_no)++, pc,
                        l->function ? l->function : "??");
                if (l->file)
                        fprintf(f, "  %s:%d", l->file, l->line);
                if (i + 1 < fr.nlines)
                        fputs("  (inlined)", f);
                else if (module)
                        fprintf(f, "  (%s)", module);
                fputc('\n', f);
        }
}

int render_threads_text(const struct thread_snapshot *ts, struct sym_process *sp, char **ret_buf,
                        size_t *ret_len)
{
        const struct thread_stack **threads = NULL;
        const struct sym_mapping *maps = NULL;
        size_t nmaps = 0, len = 0;
        char *buf = NULL;
        FILE *f;
        int r;

        r = prefetch_threads(ts, sp);
        if (r < 0)
                return r;
        r = sorted_threads(ts, &threads);
        if (r < 0)
                return r;
        if (sp)
                nmaps = sym_process_mappings(sp, &maps);
        f = open_memstream(&buf, &len);
        if (!f) {
                free(threads);
                return -ENOMEM;
        }
        fprintf(f, "# pid %d: %zu threads, stopped for %" PRIu64 ".%03" PRIu64 " ms\n",
                (int)ts->pid, ts->nthreads, ts->stopped_ns / 1000000,
                ts->stopped_ns / 1000 % 1000);
        for (size_t i = 0; i < ts->nthreads; i++) {
                const struct thread_stack *t = threads[i];
                size_t line_no = 0;

                fprintf(f, "\nTID %d %.*s %s\n", (int)t->tid, (int)sizeof(t->name), t->name,
                        state_name(t->state));
                if (t->nframes == 0 && t->error)
                        fprintf(f, "    (no stack: %s)\n", stack_error(t->error));
                if (t->nframes == 0 && t->wchan[0])
                        fprintf(f, "    (waiting in the kernel in %.*s)\n",
                                (int)sizeof(t->wchan), t->wchan);
                for (size_t j = 0; j < t->nframes; j++)
                        format_frame(f, sp, maps, nmaps, t->pcs[j], j > 0, &line_no);
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                free(threads);
                return -ENOMEM;
        }
        free(threads);
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}
