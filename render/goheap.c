/* A Go heap's stacks made to read as runtime/pprof writes them: Go records one pc per
 * logical frame (inlined calls included), pprof shows one location per machine frame
 * with its inlined lines, without the runtime's leading frames nor runtime.goexit. */
#include <string.h>

#include "heap_segment.h"
#include "render.h"
#include "symbolize.h"

static const char *innermost(const struct sym_frame *f)
{
        return f->nlines > 0 && f->lines[0].function ? f->lines[0].function : NULL;
}

/* f's lines are prev's without its innermost one: f is the inline mark of the call
 * that prev's innermost line was inlined at, so it adds no frame. */
static bool is_inline_parent(const struct sym_frame *prev, const struct sym_frame *f)
{
        if (prev->nlines < 2 || f->nlines != prev->nlines - 1)
                return false;
        for (size_t i = 0; i < f->nlines; i++) {
                const char *a = prev->lines[i + 1].function, *b = f->lines[i].function;

                if (!a || !b || strcmp(a, b) != 0)
                        return false;
        }
        return true;
}

static bool is_runtime(const struct sym_frame *f)
{
        const char *fn = innermost(f);

        return fn && strncmp(fn, "runtime.", 8) == 0;
}

static void fold_stack(struct sym_process *sp, struct heap_stack *st)
{
        uint64_t *pcs = (uint64_t *)st->pcs; /* owned by the snapshot being built */
        struct sym_frame prev = {0}, f;
        uint32_t skip = 0, out = 0;

        /* runtime/pprof hides leading runtime.* frames unless nothing else is left */
        for (; skip < st->depth; skip++) {
                if (sym_process_lookup(sp, pcs[skip], true, &f) < 0 || !is_runtime(&f))
                        break;
        }
        if (skip == st->depth)
                skip = 0;
        for (uint32_t i = skip; i < st->depth; i++) {
                if (sym_process_lookup(sp, pcs[i], true, &f) < 0) {
                        memset(&f, 0, sizeof(f));
                } else if (innermost(&f) && strcmp(innermost(&f), "runtime.goexit") == 0) {
                        break; /* runtime/pprof stops there: the root of every goroutine */
                } else if (i > skip && is_inline_parent(&prev, &f)) {
                        prev = f;
                        continue;
                }
                prev = f;
                pcs[out++] = pcs[i];
        }
        st->depth = out;
}

void render_go_heap_fold(struct heap_snapshot *heap, struct sym_process *sp)
{
        for (size_t i = 0; i < heap->nstacks; i++)
                fold_stack(sp, &heap->stacks[i]);
}

/* A C stack that crossed into Go (the shim's unwinder, collectors/shim/gocross.c) ends
 * at runtime.goexit, which the Go half hides: without it both halves share their roots
 * (runtime.main, ...), and a flame graph has one. */
void render_go_cgo_trim(struct heap_snapshot *heap, struct sym_process *sp)
{
        for (size_t i = 0; i < heap->nstacks; i++) {
                struct heap_stack *st = &heap->stacks[i];
                struct sym_frame f;

                if (st->depth > 1 &&
                    sym_process_lookup(sp, st->pcs[st->depth - 1], true, &f) == 0 &&
                    innermost(&f) && strcmp(innermost(&f), "runtime.goexit") == 0)
                        st->depth--;
        }
}
