/* Snapshots turned into file contents: pprof (via profile/) and text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct heap_snapshot;
struct thread_snapshot;
struct proc_status;
struct sym_process;

/* Output buffers are malloc'd; the caller frees them.
 *
 * No file grows past RENDER_MAX_BYTES, nor the working memory of the heap renderers
 * with it: -EFBIG instead.  A segment within its own limits (a forged one, say) could
 * otherwise ask for gigabytes of heap.txt; a real program's stays below (300 MB when
 * the shim's tables are full, 64-frame stacks). */
#define RENDER_MAX_BYTES (512u << 20)

struct go_memstats;

/* A Go process's runtime figures for memstats: stats NULL means why says what stopped
 * them (a stripped binary, say). */
struct go_section {
        const char *version;
        const struct go_memstats *stats;
        const char *why;
};

/* Why a process has no heap figures, and what would turn them on for it. */
struct memstats_off {
        const char *why;       /* a sentence; NULL: the shim is not loaded */
        const char *shim_path; /* the libmemprof.so a user would preload */
        bool static_exe;       /* no dynamic loader: LD_PRELOAD cannot work */
};

/* memstats: kernel figures, then the shim's and the allocator's (heap), or why there are
 * none and what turns them on (heap NULL, off); ignored_segments: mappings refused as
 * the process's segment; then the Go runtime's (go NULL: not a Go process). */
int render_memstats(const struct proc_status *st, const struct heap_snapshot *heap,
                    const struct memstats_off *off, unsigned ignored_segments,
                    const struct go_section *go, char **ret_buf, size_t *ret_len);
void render_go_section(FILE *f, const struct go_section *go);

/* One allocator's half of a heap file.  A cgo process under the shim has two: the shim's
 * (malloc) and the Go runtime's (go); no allocation is in both, since Go's heap comes
 * from mmap, never from malloc. */
struct heap_part {
        const struct heap_snapshot *heap;
        const char *origin;    /* where the samples come from; NULL: the shim's rate, start */
        const char *allocator; /* each sample's `allocator` label; NULL: no label */
};

/* heap (allocs = false) and allocs (allocs = true): gzip'd pprof, the parts' samples in
 * one profile.  pprof has one period per profile: it is the first part's rate, and a
 * comment per part states its own (values are unbiased per part already). */
int render_heap_pprof(const struct heap_part *parts, size_t nparts, struct sym_process *sp,
                      bool allocs, uint8_t **ret_buf, size_t *ret_len);
/* heap.txt: one total over all parts, then each part with its own header and total. */
int render_heap_text(const struct heap_part *parts, size_t nparts, struct sym_process *sp,
                     char **ret_buf, size_t *ret_len);

/* A Go heap read from the runtime: its logical pcs folded into one per machine frame and
 * the leading runtime frames dropped, as runtime/pprof shows them. */
void render_go_heap_fold(struct heap_snapshot *heap, struct sym_process *sp);
/* The shim's half of a cgo program's heap: stacks that reach the goroutine's frames end
 * before runtime.goexit, as the Go half's do. */
void render_go_cgo_trim(struct heap_snapshot *heap, struct sym_process *sp);

/* goroutines (pprof, goroutine/count) and goroutines.txt; the runtime's own goroutines
 * are counted in the header, not shown, as Go's profile does. */
struct go_goroutines;
int render_goroutines_pprof(const struct go_goroutines *gs, struct sym_process *sp,
                            uint8_t **ret_buf, size_t *ret_len);
int render_goroutines_text(const struct go_goroutines *gs, struct sym_process *sp,
                           char **ret_buf, size_t *ret_len);

int render_threads_pprof(const struct thread_snapshot *ts, struct sym_process *sp,
                         uint8_t **ret_buf, size_t *ret_len);
int render_threads_text(const struct thread_snapshot *ts, struct sym_process *sp, char **ret_buf,
                        size_t *ret_len);
