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

/* A part's comment: its allocator, then where its samples come from and since when. */
static int add_part_comments(struct profile *p, const struct heap_part *part)
{
        const struct heap_snapshot *h = part->heap;
        char since[32], who[48] = "", comment[400];
        int r;

        if (part->allocator)
                snprintf(who, sizeof(who), "allocator=%s: ", part->allocator);
        format_time(h->start_time_ns, since, sizeof(since));
        if (part->origin)
                snprintf(comment, sizeof(comment), "memprof: %s%s", who, part->origin);
        else
                snprintf(comment, sizeof(comment), "memprof: %ssampling rate %" PRIu64
                         " bytes (MEMPROF_RATE), sampled since %s%s%s", who, h->rate,
                         h->attached ? "attach at " : "", since,
                         h->detached ? ", stopped by memprof detach" : "");
        r = profile_add_comment(p, comment);
        if (r < 0 || h->lost_samples == 0)
                return r;
        snprintf(comment, sizeof(comment),
                 "memprof: %s%" PRIu64 " samples lost (tables full); figures are low", who,
                 h->lost_samples);
        return profile_add_comment(p, comment);
}

static int add_header(struct profile *p, const struct heap_part *parts, size_t nparts,
                      bool allocs)
{
        static const char *const types[] = {"alloc_objects", "count", "alloc_space", "bytes",
                                            "inuse_objects", "count", "inuse_space", "bytes"};
        int64_t time_ns = 0;
        int r;

        for (size_t i = 0; i < 8; i += 2) {
                r = profile_add_sample_type(p, types[i], types[i + 1]);
                if (r < 0)
                        return r;
        }
        /* one period per profile: the first part's; every part's values are unbiased
         * estimates at its own rate already, which its comment states */
        r = profile_set_period(p, "space", "bytes", (int64_t)parts[0].heap->rate);
        if (r < 0)
                return r;
        r = profile_set_default_sample_type(p, allocs ? "alloc_space" : "inuse_space");
        if (r < 0)
                return r;
        if (nparts > 1) {
                r = profile_add_comment(p, "memprof: two allocators, each sample labelled "
                                           "with its own (-tagfocus=allocator=NAME selects "
                                           "one); no allocation is in both: Go's heap is not "
                                           "malloc'd");
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < nparts; i++) {
                r = add_part_comments(p, &parts[i]);
                if (r < 0)
                        return r;
                if (parts[i].heap->time_ns > time_ns)
                        time_ns = parts[i].heap->time_ns;
        }
        profile_set_time(p, time_ns, 0);
        return 0;
}

/* Bytes a sample or a text entry holds besides its frames, near enough for a bound. */
#define SAMPLE_OVERHEAD 96

static int add_part_samples(struct profile *p, struct stack_encoder *se,
                            const struct heap_part *part, size_t *held)
{
        const struct heap_snapshot *heap = part->heap;
        uint64_t ids[MP_MAX_DEPTH];
        int r;

        for (size_t i = 0; i < heap->nsites; i++) {
                const struct heap_site *s = &heap->sites[i];
                const struct heap_stack *st = &heap->stacks[s->stack];
                struct heap_values v = heap_site_values(heap, s);
                int64_t values[4] = {v.alloc_objects, v.alloc_space, v.inuse_objects,
                                     v.inuse_space};
                struct profile_label labels[2] = {
                    {.key = "bytes", .num = (int64_t)s->size},
                    {.key = "allocator", .str = part->allocator},
                };
                size_t n;

                r = stack_encoder_locations(se, st->pcs, st->depth, true, ids, MP_MAX_DEPTH, &n);
                if (r < 0)
                        return r;
                /* what the profile keeps per sample: its location ids, values, labels */
                *held += n * sizeof(uint64_t) + SAMPLE_OVERHEAD;
                if (*held > RENDER_MAX_BYTES)
                        return -EFBIG;
                r = profile_add_sample(p, ids, n, values, 4, labels, part->allocator ? 2 : 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every frame of every part's stacks, resolved in one batch before rendering. */
static int prefetch_parts(const struct heap_part *parts, size_t nparts, struct sym_process *sp)
{
        struct pc_batch b = {0};
        int r = 0;

        for (size_t k = 0; k < nparts; k++)
                for (size_t i = 0; i < parts[k].heap->nstacks && r == 0; i++)
                        r = pc_batch_add(&b, parts[k].heap->stacks[i].pcs,
                                         parts[k].heap->stacks[i].depth, true);
        if (r < 0) {
                pc_batch_prefetch(&b, NULL); /* frees it */
                return r;
        }
        return pc_batch_prefetch(&b, sp);
}

int render_heap_pprof(const struct heap_part *parts, size_t nparts, struct sym_process *sp,
                      bool allocs, uint8_t **ret_buf, size_t *ret_len)
{
        struct stack_encoder *se = NULL;
        struct profile *p = NULL;
        size_t held = 0;
        int r;

        if (nparts == 0)
                return -EINVAL;
        r = prefetch_parts(parts, nparts, sp);
        if (r < 0)
                return r;
        r = profile_new(&p);
        if (r < 0)
                return r;
        r = add_header(p, parts, nparts, allocs);
        if (r < 0)
                goto out;
        r = stack_encoder_new(p, sp, &se);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < nparts && r == 0; i++)
                r = add_part_samples(p, se, &parts[i], &held);
        if (r == 0)
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

/* One part's entries, folded and sorted, with their total. */
struct text_part {
        struct text_entry *e;
        size_t n;
        struct heap_values total;
};

static void text_part_free(struct text_part *tp)
{
        for (size_t i = 0; tp->e && i < tp->n; i++)
                free(tp->e[i].stack);
        free(tp->e);
}

/* *held: the text all parts' entries hold so far, bounded by RENDER_MAX_BYTES. */
static int text_part_collect(const struct heap_snapshot *heap, struct sym_process *sp,
                             size_t *held, struct text_part *tp)
{
        int r;

        tp->e = calloc(heap->nsites ? heap->nsites : 1, sizeof(*tp->e));
        if (!tp->e)
                return -ENOMEM;
        for (; tp->n < heap->nsites; tp->n++) {
                const struct heap_site *s = &heap->sites[tp->n];

                r = format_stack(sp, &heap->stacks[s->stack], &tp->e[tp->n].stack);
                if (r < 0)
                        return r;
                /* the entries' text is the file's, before equal stacks fold */
                *held += strlen(tp->e[tp->n].stack) + SAMPLE_OVERHEAD;
                if (*held > RENDER_MAX_BYTES) {
                        tp->n++;
                        return -EFBIG;
                }
                tp->e[tp->n].v = heap_site_values(heap, s);
                heap_values_add(&tp->total, &tp->e[tp->n].v);
        }
        tp->n = entries_fold(tp->e, tp->n);
        return 0;
}

static void write_total(FILE *f, const struct heap_values *t)
{
        fprintf(f, "total: %" PRId64 " objects, %" PRId64 " bytes in use; %" PRId64
                " objects, %" PRId64 " bytes allocated\n",
                t->inuse_objects, t->inuse_space, t->alloc_objects, t->alloc_space);
}

/* A part's header lines, its total and its entries. */
static void write_part(FILE *f, const struct heap_part *part, const struct text_part *tp)
{
        const struct heap_snapshot *heap = part->heap;
        char since[32];

        format_time(heap->start_time_ns, since, sizeof(since));
        if (part->origin)
                fprintf(f, "# %s; %s\n", part->origin,
                        heap->rate > 1    ? "values are unbiased estimates"
                        : heap->rate == 1 ? "values are exact"
                                          : "nothing is sampled");
        else
                fprintf(f, "# sampling rate %" PRIu64 " bytes, sampled since %s%s%s; %s\n",
                        heap->rate, heap->attached ? "attach at " : "", since,
                        heap->detached ? " (stopped by memprof detach)" : "",
                        heap->rate > 1 ? "values are unbiased estimates" : "values are exact");
        fprintf(f, "# lost samples %" PRIu64 "\n", heap->lost_samples);
        write_total(f, &tp->total);
        write_entries(f, tp->e, tp->n);
}

#define MAX_PARTS 4

int render_heap_text(const struct heap_part *parts, size_t nparts, struct sym_process *sp,
                     char **ret_buf, size_t *ret_len)
{
        struct text_part tps[MAX_PARTS] = {0};
        struct heap_values total = {0};
        size_t len = 0, held = 0;
        char *buf = NULL;
        FILE *f;
        int r = 0;

        if (nparts == 0 || nparts > MAX_PARTS)
                return -EINVAL;
        r = prefetch_parts(parts, nparts, sp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nparts && r == 0; i++) {
                r = text_part_collect(parts[i].heap, sp, &held, &tps[i]);
                heap_values_add(&total, &tps[i].total);
        }
        if (r < 0)
                goto out;

        f = open_memstream(&buf, &len);
        if (!f) {
                r = -ENOMEM;
                goto out;
        }
        fprintf(f, "# memprof heap profile: live and allocated bytes by call stack\n");
        if (nparts == 1) {
                write_part(f, &parts[0], &tps[0]);
        } else {
                fprintf(f, "# %zu allocators, a section each below with its own total; no "
                           "allocation is in two (Go's heap is not malloc'd)\n",
                        nparts);
                write_total(f, &total);
                for (size_t i = 0; i < nparts; i++) {
                        fprintf(f, "\n## allocator %s\n",
                                parts[i].allocator ? parts[i].allocator : "?");
                        write_part(f, &parts[i], &tps[i]);
                }
        }
        if (fclose(f) != 0) {
                r = -ENOMEM;
                free(buf);
                goto out;
        }
        *ret_buf = buf;
        *ret_len = len;
out:
        for (size_t i = 0; i < nparts; i++)
                text_part_free(&tps[i]);
        return r;
}
