/* Heap snapshots rendered as Go-compatible pprof (heap, allocs) and as heap.txt. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap_segment.h"
#include "heap_values.h"
#include "profile.h"
#include "render.h"
#include "stacks.h"
#include "symbolize.h"

static void format_time(int64_t ns, char *buf, size_t len)
{
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;

        if (ns <= 0 || !gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, len, "unknown");
}

static int add_header(struct profile *p, const struct heap_snapshot *h, bool allocs,
                      const char *origin)
{
        static const char *const types[] = {"alloc_objects", "count", "alloc_space", "bytes",
                                            "inuse_objects", "count", "inuse_space", "bytes"};
        char since[32], comment[320];
        int r;

        for (size_t i = 0; i < 8; i += 2) {
                r = profile_add_sample_type(p, types[i], types[i + 1]);
                if (r < 0)
                        return r;
        }
        r = profile_set_period(p, "space", "bytes", (int64_t)h->rate);
        if (r < 0)
                return r;
        r = profile_set_default_sample_type(p, allocs ? "alloc_space" : "inuse_space");
        if (r < 0)
                return r;
        profile_set_time(p, h->time_ns, 0);

        format_time(h->start_time_ns, since, sizeof(since));
        if (origin)
                snprintf(comment, sizeof(comment), "memprof: %s", origin);
        else
                snprintf(comment, sizeof(comment), "memprof: sampling rate %" PRIu64
                         " bytes (MEMPROF_RATE), sampled since %s%s%s", h->rate,
                         h->attached ? "attach at " : "", since,
                         h->detached ? ", stopped by memprof detach" : "");
        r = profile_add_comment(p, comment);
        if (r < 0 || h->lost_samples == 0)
                return r;
        snprintf(comment, sizeof(comment),
                 "memprof: %" PRIu64 " samples lost (tables full); figures are low",
                 h->lost_samples);
        return profile_add_comment(p, comment);
}

/* Bytes a sample or a text entry holds besides its frames, near enough for a bound. */
#define SAMPLE_OVERHEAD 96

/* Every frame of every stack, resolved in one batch before the stacks are rendered. */
static int prefetch_stacks(const struct heap_snapshot *heap, struct sym_process *sp)
{
        struct pc_batch b = {0};
        int r = 0;

        for (size_t i = 0; i < heap->nstacks && r == 0; i++)
                r = pc_batch_add(&b, heap->stacks[i].pcs, heap->stacks[i].depth, true);
        if (r < 0) {
                pc_batch_prefetch(&b, NULL); /* frees it */
                return r;
        }
        return pc_batch_prefetch(&b, sp);
}

int render_heap_pprof(const struct heap_snapshot *heap, struct sym_process *sp, bool allocs,
                      uint8_t **ret_buf, size_t *ret_len)
{
        return render_heap_pprof_from(heap, sp, allocs, NULL, ret_buf, ret_len);
}

int render_heap_pprof_from(const struct heap_snapshot *heap, struct sym_process *sp,
                           bool allocs, const char *origin, uint8_t **ret_buf,
                           size_t *ret_len)
{
        struct stack_encoder *se = NULL;
        struct profile *p = NULL;
        uint64_t ids[MP_MAX_DEPTH];
        int r;

        r = prefetch_stacks(heap, sp);
        if (r < 0)
                return r;
        r = profile_new(&p);
        if (r < 0)
                return r;
        r = add_header(p, heap, allocs, origin);
        if (r < 0)
                goto out;
        r = stack_encoder_new(p, sp, &se);
        if (r < 0)
                goto out;

        for (size_t i = 0, held = 0; i < heap->nsites; i++) {
                const struct heap_site *s = &heap->sites[i];
                const struct heap_stack *st = &heap->stacks[s->stack];
                struct heap_values v = heap_site_values(heap, s);
                int64_t values[4] = {v.alloc_objects, v.alloc_space, v.inuse_objects,
                                     v.inuse_space};
                struct profile_label label = {.key = "bytes", .num = (int64_t)s->size};
                size_t n;

                r = stack_encoder_locations(se, st->pcs, st->depth, true, ids, MP_MAX_DEPTH, &n);
                if (r < 0)
                        goto out;
                /* what the profile keeps per sample: its location ids, values, label */
                held += n * sizeof(uint64_t) + SAMPLE_OVERHEAD;
                if (held > RENDER_MAX_BYTES) {
                        r = -EFBIG;
                        goto out;
                }
                r = profile_add_sample(p, ids, n, values, 4, &label, 1);
                if (r < 0)
                        goto out;
        }
        r = profile_write_gzip(p, ret_buf, ret_len);
out:
        stack_encoder_free(se);
        profile_free(p);
        return r;
}

/* heap.txt: one entry per call stack (its sites of every object size summed), sorted
 * by the symbolized stack so that two snapshots diff entry by entry. */
struct text_entry {
        char *stack; /* the frame lines, also the sort key */
        struct heap_values v;
};

static int entry_cmp(const void *a, const void *b)
{
        const struct text_entry *x = a, *y = b;

        return strcmp(x->stack, y->stack);
}

/* Sorts the entries and folds equal stacks (sites that differ only in object size, or
 * in return addresses on the same lines) into one; returns the new count. */
static size_t entries_fold(struct text_entry *e, size_t n)
{
        size_t out = 0;

        qsort(e, n, sizeof(*e), entry_cmp);
        for (size_t i = 0; i < n; i++) {
                if (out > 0 && strcmp(e[out - 1].stack, e[i].stack) == 0) {
                        heap_values_add(&e[out - 1].v, &e[i].v);
                        free(e[i].stack);
                        continue;
                }
                e[out++] = e[i];
        }
        return out;
}

static const char *or_unknown(const char *path)
{
        return path ? path : "??";
}

static int format_stack(struct sym_process *sp, const struct heap_stack *st, char **ret)
{
        struct sym_frame frames[MP_MAX_DEPTH];
        char *buf = NULL;
        size_t len = 0, n;
        FILE *f;
        int r;

        r = stack_symbolize(sp, st->pcs, st->depth, true, frames, MP_MAX_DEPTH, &n);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct sym_frame *fr = &frames[i];

                if (fr->nlines == 0) {
                        fprintf(f, "    %#" PRIx64 " ??\n", fr->address);
                        continue;
                }
                for (size_t j = 0; j < fr->nlines; j++) {
                        const struct sym_line *l = &fr->lines[j];

                        fprintf(f, "    %s %s:%d%s\n", l->function ? l->function : "??",
                                or_unknown(l->file), l->line,
                                j + 1 < fr->nlines ? " (inlined)" : "");
                }
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static void write_entries(FILE *f, const struct text_entry *e, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "\n%" PRId64 " objects, %" PRId64 " bytes in use; %" PRId64
                        " objects, %" PRId64 " bytes allocated\n%s",
                        e[i].v.inuse_objects, e[i].v.inuse_space, e[i].v.alloc_objects,
                        e[i].v.alloc_space, e[i].stack);
        }
}

int render_heap_text(const struct heap_snapshot *heap, struct sym_process *sp, char **ret_buf,
                     size_t *ret_len)
{
        return render_heap_text_from(heap, sp, NULL, ret_buf, ret_len);
}

int render_heap_text_from(const struct heap_snapshot *heap, struct sym_process *sp,
                          const char *origin, char **ret_buf, size_t *ret_len)
{
        struct heap_values total = {0};
        struct text_entry *e;
        char since[32], *buf = NULL;
        size_t len = 0, n = 0;
        FILE *f = NULL;
        int r = 0;

        r = prefetch_stacks(heap, sp);
        if (r < 0)
                return r;
        e = calloc(heap->nsites ? heap->nsites : 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (size_t held = 0; n < heap->nsites; n++) {
                const struct heap_site *s = &heap->sites[n];

                r = format_stack(sp, &heap->stacks[s->stack], &e[n].stack);
                if (r < 0)
                        goto out;
                /* the entries' text is the file's, before equal stacks fold */
                held += strlen(e[n].stack) + SAMPLE_OVERHEAD;
                if (held > RENDER_MAX_BYTES) {
                        r = -EFBIG;
                        n++;
                        goto out;
                }
                e[n].v = heap_site_values(heap, s);
                heap_values_add(&total, &e[n].v);
        }
        n = entries_fold(e, n);

        f = open_memstream(&buf, &len);
        if (!f) {
                r = -ENOMEM;
                goto out;
        }
        format_time(heap->start_time_ns, since, sizeof(since));
        fprintf(f, "# memprof heap profile: live and allocated bytes by call stack\n");
        if (origin)
                fprintf(f, "# %s; %s\n", origin,
                        heap->rate > 1    ? "values are unbiased estimates"
                        : heap->rate == 1 ? "values are exact"
                                          : "nothing is sampled");
        else
                fprintf(f, "# sampling rate %" PRIu64 " bytes, sampled since %s%s%s; %s\n",
                        heap->rate, heap->attached ? "attach at " : "", since,
                        heap->detached ? " (stopped by memprof detach)" : "",
                        heap->rate > 1 ? "values are unbiased estimates" : "values are exact");
        fprintf(f, "# lost samples %" PRIu64 "\n", heap->lost_samples);
        fprintf(f, "total: %" PRId64 " objects, %" PRId64 " bytes in use; %" PRId64
                " objects, %" PRId64 " bytes allocated\n",
                total.inuse_objects, total.inuse_space, total.alloc_objects, total.alloc_space);
        write_entries(f, e, n);
        if (fclose(f) != 0) {
                r = -ENOMEM;
                free(buf);
                goto out;
        }
        *ret_buf = buf;
        *ret_len = len;
out:
        for (size_t i = 0; i < n; i++)
                free(e[i].stack);
        free(e);
        return r;
}
