/* A Go process's goroutines as /debug/pprof/goroutine has them: pprof (goroutine/count,
 * one sample per distinct stack) and text grouped by stack, state and creator, in an
 * order that keeps two snapshots diffable entry by entry. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goruntime.h"
#include "profile.h"
#include "render.h"
#include "stacks.h"
#include "symbolize.h"

struct view {
        const struct go_goroutines *gs;
        struct sym_process *sp;
        const struct go_goroutine **v; /* the goroutines shown (not the runtime's own) */
        size_t n, nsystem, nstackless;
};

static int cmp_pcs(const struct go_goroutine *a, const struct go_goroutine *b)
{
        if (a->npcs != b->npcs)
                return a->npcs < b->npcs ? -1 : 1;
        for (uint32_t i = 0; i < a->npcs; i++)
                if (a->pcs[i] != b->pcs[i])
                        return a->pcs[i] < b->pcs[i] ? -1 : 1;
        return 0;
}

static int cmp_stack(const void *x, const void *y)
{
        const struct go_goroutine *a = *(const struct go_goroutine *const *)x;
        const struct go_goroutine *b = *(const struct go_goroutine *const *)y;

        return cmp_pcs(a, b);
}

static int view_new(const struct go_goroutines *gs, struct sym_process *sp, struct view *ret)
{
        struct view v = {.gs = gs, .sp = sp};

        v.v = calloc(gs->n ? gs->n : 1, sizeof(*v.v));
        if (!v.v)
                return -ENOMEM;
        for (size_t i = 0; i < gs->n; i++) {
                if (gs->g[i].system) {
                        v.nsystem++;
                        continue;
                }
                v.nstackless += gs->g[i].npcs == 0;
                v.v[v.n++] = &gs->g[i];
        }
        *ret = v;
        return 0;
}

static const char *innermost(const struct sym_frame *f)
{
        return f->nlines > 0 && f->lines[0].function ? f->lines[0].function : NULL;
}

/* Frames shown: up to runtime.goexit, the root every goroutine returns to. */
static uint32_t shown_depth(struct sym_process *sp, const struct go_goroutine *g)
{
        struct sym_frame f;

        for (uint32_t i = 0; i < g->npcs; i++)
                if (sp && sym_process_lookup(sp, g->pcs[i], true, &f) == 0 && innermost(&f) &&
                    strcmp(innermost(&f), "runtime.goexit") == 0)
                        return i;
        return g->npcs;
}

static void count_line(const struct view *v, char *buf, size_t len)
{
        const struct go_goroutines *gs = v->gs;

        snprintf(buf, len,
                 "%zu goroutines of %s (NumGoroutine from the runtime's counters: %" PRIu64
                 "); %zu of the runtime's own not shown; %zu unreadable; %zu without a stack",
                 v->n, gs->version[0] ? gs->version : "an unknown Go version", gs->runtime_count,
                 v->nsystem, gs->unreadable, v->nstackless);
}

static int add_header(struct profile *p, const struct view *v)
{
        char comment[320];
        int r;

        r = profile_set_count_type(p, "goroutine");
        if (r < 0)
                return r;
        profile_set_time(p, v->gs->time_ns, (int64_t)v->gs->stopped_ns);
        count_line(v, comment, sizeof(comment));
        return profile_add_comment(p, comment);
}

/* Every frame and creator of every goroutine, resolved in one batch before rendering. */
static int prefetch_goroutines(const struct go_goroutines *gs, struct sym_process *sp)
{
        struct pc_batch b = {0};
        int r = 0;

        if (!sp)
                return 0;
        for (size_t i = 0; i < gs->n && r == 0; i++) {
                const struct go_goroutine *g = &gs->g[i];

                r = pc_batch_add(&b, g->pcs, g->npcs, true);
                if (r == 0 && g->gopc)
                        r = pc_batch_add(&b, &g->gopc, 1, true);
        }
        if (r < 0) {
                pc_batch_prefetch(&b, NULL); /* frees it */
                return r;
        }
        return pc_batch_prefetch(&b, sp);
}

int render_goroutines_pprof(const struct go_goroutines *gs, struct sym_process *sp,
                            uint8_t **ret_buf, size_t *ret_len)
{
        struct stack_encoder *se = NULL;
        struct profile *p = NULL;
        struct view v;
        uint64_t ids[GO_STACK_MAX];
        int r;

        r = prefetch_goroutines(gs, sp);
        if (r < 0)
                return r;

        r = view_new(gs, sp, &v);
        if (r < 0)
                return r;
        if (v.n > 1)
                qsort(v.v, v.n, sizeof(*v.v), cmp_stack);
        r = profile_new(&p);
        if (r == 0)
                r = add_header(p, &v);
        if (r == 0)
                r = stack_encoder_new(p, sp, &se);
        for (size_t i = 0; i < v.n && r == 0;) {
                size_t j = i + 1, nids = 0;
                int64_t count;

                while (j < v.n && cmp_pcs(v.v[i], v.v[j]) == 0)
                        j++;
                count = (int64_t)(j - i);
                if (v.v[i]->npcs > 0)
                        r = stack_encoder_locations(se, v.v[i]->pcs, shown_depth(sp, v.v[i]), true,
                                                    ids, GO_STACK_MAX, &nids);
                if (r == 0)
                        r = profile_add_sample(p, ids, nids, &count, 1, NULL, 0);
                i = j;
        }
        if (r == 0)
                r = profile_write_gzip(p, ret_buf, ret_len);
        stack_encoder_free(se);
        profile_free(p);
        free(v.v);
        return r;
}

/* The text: goroutines with the same stack, state and creator form one entry. */
static int cmp_entry(const void *x, const void *y)
{
        const struct go_goroutine *a = *(const struct go_goroutine *const *)x;
        const struct go_goroutine *b = *(const struct go_goroutine *const *)y;
        int c = cmp_pcs(a, b);

        if (c)
                return c;
        if (a->gopc != b->gopc)
                return a->gopc < b->gopc ? -1 : 1;
        if (a->status != b->status)
                return a->status < b->status ? -1 : 1;
        if (a->wait_reason != b->wait_reason)
                return a->wait_reason < b->wait_reason ? -1 : 1;
        if (a->error != b->error)
                return a->error < b->error ? -1 : 1;
        return (a->goid > b->goid) - (a->goid < b->goid);
}

struct entry {
        char *body; /* frames and creator: the sort key, so the order does not follow counts */
        const char *state;
        int error;
        const struct go_goroutine *const *g;
        size_t n;
};

static int cmp_text(const void *x, const void *y)
{
        const struct entry *a = x, *b = y;
        int c = strcmp(a->body, b->body);

        if (c == 0)
                c = strcmp(a->state, b->state);
        return c ? c : (a->error > b->error) - (a->error < b->error);
}

static void print_frame(FILE *f, struct sym_process *sp, uint64_t pc)
{
        struct sym_frame fr;

        if (!sp || sym_process_lookup(sp, pc, true, &fr) < 0 || fr.nlines == 0) {
                fprintf(f, "?? 0x%" PRIx64 "\n", pc - 1);
                return;
        }
        for (size_t i = 0; i < fr.nlines; i++) /* inlined calls first, as Go prints them */
                fprintf(f, "%s\n\t%s:%d\n", fr.lines[i].function ? fr.lines[i].function : "??",
                        fr.lines[i].file ? fr.lines[i].file : "?", fr.lines[i].line);
}

static const char *stackless(int error)
{
        switch (error) {
        case GO_G_ON_THREAD:
                return "(running on a thread: no stack without stopping the process)";
        case GO_G_CHANGED:
                return "(no stack: it moved on every read)";
        case -EFBIG:
                return "(no stack: the snapshot's frame budget was spent)";
        default:
                return "(no stack: its memory could not be read)";
        }
}

static void print_creator(FILE *f, struct sym_process *sp, const struct entry *e)
{
        const struct go_goroutine *g = e->g[0];
        struct sym_frame fr;
        const char *fn;

        if (g->goid == 1 || g->gopc == 0 || !sp || sym_process_lookup(sp, g->gopc, true, &fr) < 0)
                return;
        fn = innermost(&fr);
        if (!fn || strncmp(fn, "runtime.", 8) == 0)
                return; /* the runtime made it: Go names no creator either */
        fprintf(f, "created by %s", fn);
        for (size_t i = 1; i < e->n; i++)
                if (e->g[i]->parent_goid != g->parent_goid)
                        goto same_line;
        if (g->parent_goid)
                fprintf(f, " in goroutine %" PRIu64, g->parent_goid);
same_line:
        fprintf(f, "\n\t%s:%d\n", fr.lines[0].file ? fr.lines[0].file : "?", fr.lines[0].line);
}

static int entry_body(struct sym_process *sp, struct entry *e)
{
        const struct go_goroutine *g = e->g[0];
        size_t len = 0;
        FILE *f = open_memstream(&e->body, &len);
        uint32_t depth = shown_depth(sp, g);

        if (!f)
                return -ENOMEM;
        if (g->npcs == 0)
                fprintf(f, "%s\n", stackless(g->error));
        for (uint32_t i = 0; i < depth; i++)
                print_frame(f, sp, g->pcs[i]);
        if (g->truncated)
                fputs("...additional frames elided...\n", f);
        print_creator(f, sp, e);
        if (fclose(f) != 0 || !e->body)
                return -ENOMEM;
        return 0;
}

/* "[chan receive, 3-5 minutes, locked to thread]": how long where the runtime recorded it
 * (g.waitsince, set when a GC first finds it blocked), whole minutes as Go prints them. */
static void print_state(FILE *f, const struct go_goroutines *gs, const struct entry *e)
{
        int64_t lo = INT64_MAX, hi = 0;
        bool locked = false;

        for (size_t i = 0; i < e->n; i++) {
                int64_t w = e->g[i]->waitsince;
                int64_t m = w > 0 && gs->mono_ns > w ? (gs->mono_ns - w) / 60000000000LL : 0;

                lo = m < lo ? m : lo;
                hi = m > hi ? m : hi;
                locked |= e->g[i]->locked;
        }
        fprintf(f, " [%s", e->state);
        if (hi >= 1 && lo == hi)
                fprintf(f, ", %" PRId64 " minutes", hi);
        else if (hi >= 1)
                fprintf(f, ", %" PRId64 "-%" PRId64 " minutes", lo, hi);
        if (locked)
                fputs(", locked to thread", f);
        fputs("]", f);
}

/* Goroutine ids as ranges: "18-1017, 1020". */
static void print_ids(FILE *f, const struct entry *e)
{
        uint64_t *ids = malloc(e->n * sizeof(*ids));
        size_t n = e->n;

        if (!ids)
                return;
        for (size_t i = 0; i < n; i++)
                ids[i] = e->g[i]->goid;
        /* the entry's goroutines are in goid order already (cmp_entry's last key) */
        fputs("goroutine ", f);
        for (size_t i = 0; i < n;) {
                size_t j = i;

                while (j + 1 < n && ids[j + 1] == ids[j] + 1)
                        j++;
                fprintf(f, "%s%" PRIu64, i ? ", " : "", ids[i]);
                if (j > i)
                        fprintf(f, "-%" PRIu64, ids[j]);
                i = j + 1;
        }
        fputc('\n', f);
        free(ids);
}

static void print_header(FILE *f, const struct view *v)
{
        const struct go_goroutines *gs = v->gs;
        char line[320];

        count_line(v, line, sizeof(line));
        fprintf(f, "goroutine profile: total %zu\n# %s\n", v->n, line);
        fprintf(f, "# allgs lists %" PRIu64 " (exited ones included)\n", gs->listed);
        if (gs->stopped_ns)
                fprintf(f,
                        "# running goroutines' stacks from their threads, stopped for %" PRIu64
                        ".%03" PRIu64 " ms\n",
                        gs->stopped_ns / 1000000, gs->stopped_ns / 1000 % 1000);
        if (gs->on_thread)
                fprintf(f, "# %zu running without a stack\n", gs->on_thread);
}

static int build_entries(struct view *v, struct entry **ret, size_t *ret_n)
{
        struct entry *es = calloc(v->n ? v->n : 1, sizeof(*es));
        size_t n = 0;
        int r = 0;

        if (!es)
                return -ENOMEM;
        qsort(v->v, v->n, sizeof(*v->v), cmp_entry);
        for (size_t i = 0; i < v->n && r == 0;) {
                size_t j = i + 1;

                while (j < v->n && cmp_pcs(v->v[i], v->v[j]) == 0 &&
                       v->v[i]->gopc == v->v[j]->gopc && v->v[i]->status == v->v[j]->status &&
                       v->v[i]->wait_reason == v->v[j]->wait_reason &&
                       v->v[i]->error == v->v[j]->error)
                        j++;
                es[n] = (struct entry){.state = go_goroutine_state(v->gs, v->v[i]),
                                       .error = v->v[i]->error,
                                       .g = v->v + i,
                                       .n = j - i};
                r = entry_body(v->sp, &es[n++]);
                i = j;
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(es[i].body);
                free(es);
                return r;
        }
        qsort(es, n, sizeof(*es), cmp_text);
        *ret = es;
        *ret_n = n;
        return 0;
}

int render_goroutines_text(const struct go_goroutines *gs, struct sym_process *sp, char **ret_buf,
                           size_t *ret_len)
{
        struct entry *es = NULL;
        struct view v;
        size_t n = 0, len = 0;
        char *buf = NULL;
        FILE *f;
        int r;

        r = prefetch_goroutines(gs, sp);
        if (r < 0)
                return r;
        r = view_new(gs, sp, &v);
        if (r == 0)
                r = build_entries(&v, &es, &n);
        if (r < 0) {
                free(v.v);
                return r;
        }
        f = open_memstream(&buf, &len);
        if (f) {
                print_header(f, &v);
                for (size_t i = 0; i < n; i++) {
                        fprintf(f, "\n%zu", es[i].n);
                        print_state(f, gs, &es[i]);
                        fputc('\n', f);
                        print_ids(f, &es[i]);
                        fputs(es[i].body, f);
                }
        }
        for (size_t i = 0; i < n; i++)
                free(es[i].body);
        free(es);
        free(v.v);
        if (!f || fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        if (len > RENDER_MAX_BYTES) {
                free(buf);
                return -EFBIG;
        }
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}
