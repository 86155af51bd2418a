/* memstats: kernel, shim and allocator figures as stable `Name value` lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "render.h"
#include "heap_segment.h"
#include "heap_values.h"
#include "procfs.h"

/* The shim refreshes mallinfo2 at most every 100 ms, and only from a sampled
 * allocation: figures older than this are worth a sentence saying so. */
#define MALLINFO_STALE_MS 1000

struct text {
        FILE *f;
        char *buf;
        size_t len;
};

static void line(struct text *t, const char *name, uint64_t value)
{
        fprintf(t->f, "%s %llu\n", name, (unsigned long long)value);
}

static void kernel_section(struct text *t, const struct proc_status *st)
{
        fputs("# kernel (/proc/PID/status)\n", t->f);
        line(t, "VmRSS", st->vm_rss);
        line(t, "VmHWM", st->vm_hwm);
        line(t, "VmSize", st->vm_size);
        line(t, "RssAnon", st->rss_anon);
        line(t, "RssFile", st->rss_file);
        line(t, "RssShmem", st->rss_shmem);
        line(t, "VmSwap", st->vm_swap);
        line(t, "Threads", st->threads);
}

/* The live bytes memstats shows: the samples' estimate (as heap and heap.txt show it),
 * but never above TotalAlloc, which bounds it and is exact (a young process's first
 * sample stands for `rate` bytes, more than it may have allocated in all). */
static uint64_t heap_alloc_shown(const struct heap_snapshot *h, uint64_t estimate)
{
        return estimate > h->alloc_bytes ? h->alloc_bytes : estimate;
}

static void shim_section(struct text *t, const struct heap_snapshot *h, uint64_t estimate,
                         unsigned ignored)
{
        fputs("# shim (libmemprof.so)\n", t->f);
        if (h->rate_unparsed)
                fprintf(t->f, "# MEMPROF_RATE=\"%s\" not understood: using %llu\n",
                        h->rate_text, (unsigned long long)h->rate);
        if (h->rate == 0)
                fputs("# sampling is off (MEMPROF_RATE=0): counts are exact, HeapAlloc "
                      "unknown (0)\n",
                      t->f);
        else
                fputs("# HeapAlloc is exact at MEMPROF_RATE=1, an unbiased estimate "
                      "otherwise\n",
                      t->f);
        if (h->attached)
                fputs("# counting since memprof attach at SampledSince: Frees include "
                      "objects allocated before\n",
                      t->f);
        if (h->detached)
                fputs("# sampling stopped by memprof detach: counts go on, samples do not\n",
                      t->f);
        line(t, "Mallocs", h->mallocs);
        line(t, "Frees", h->frees);
        /* the two counters are read one after the other, so frees may run ahead */
        line(t, "HeapObjects", h->mallocs > h->frees ? h->mallocs - h->frees : 0);
        line(t, "TotalAlloc", h->alloc_bytes);
        if (estimate > h->alloc_bytes)
                fprintf(t->f,
                        "# HeapAlloc: the samples' estimate, %llu, is above TotalAlloc, "
                        "which is exact and bounds it: shown as TotalAlloc\n",
                        (unsigned long long)estimate);
        line(t, "HeapAlloc", heap_alloc_shown(h, estimate));
        line(t, "SampleRate", h->rate);
        line(t, "Samples", h->samples);
        line(t, "LostSamples", h->lost_samples);
        line(t, "SampledSince", h->start_time_ns > 0 ? (uint64_t)h->start_time_ns / 1000000000u
                                                      : 0);
        line(t, "ShimThreads", h->threads);
        /* other mappings that looked like a segment but failed the trust checks */
        line(t, "IgnoredSegments", ignored);
}

static const char *allocator_name(uint32_t allocator)
{
        switch (allocator) {
        case MP_ALLOC_GLIBC:
                return "glibc";
        case MP_ALLOC_JEMALLOC:
                return "jemalloc";
        case MP_ALLOC_TCMALLOC:
                return "tcmalloc";
        case MP_ALLOC_MIMALLOC:
                return "mimalloc";
        default:
                return NULL;
        }
}

/* An allocator other than glibc's: named, and why it has no figures here. */
static void foreign_allocator(struct text *t, const struct heap_snapshot *h)
{
        const char *name = allocator_name(h->allocator);
        const char *file = h->allocator_file[0] ? h->allocator_file : "the program itself";

        if (name)
                fprintf(t->f, "# allocator (%s, %s)\n", name, file);
        else
                fprintf(t->f, "# allocator (not one memprof knows: malloc is %s's)\n", file);
        fprintf(t->f, "# no allocator figures: mallinfo2 is glibc's, and %s's own "
                      "statistics can only be read from inside the process\n",
                name ? name : "this allocator");
}

/* Why mallinfo's bytes in use fall below HeapAlloc, which they normally cover (glibc
 * hands out at least what was asked for): their age, the estimate, or both. */
static void mallinfo_below(struct text *t, const struct heap_snapshot *h, int64_t age_ms,
                           uint64_t heap_alloc)
{
        const struct mp_mallinfo *mi = &h->mallinfo;
        uint64_t in_use;

        if (h->rate == 0 || __builtin_add_overflow(mi->uordblks, mi->hblkhd, &in_use) ||
            in_use >= heap_alloc)
                return;
        fprintf(t->f, "# mallinfo_uordblks + mallinfo_hblkhd, glibc's bytes in use, is below "
                      "HeapAlloc: ");
        if (age_ms >= MALLINFO_STALE_MS)
                fprintf(t->f, "it is %lld ms older%s\n", (long long)age_ms,
                        h->rate != 1 ? ", and HeapAlloc an estimate" : "");
        else if (h->rate != 1)
                fputs("HeapAlloc is an estimate from samples\n", t->f);
        else
                fprintf(t->f, "the two were taken %lld ms apart\n", (long long)age_ms);
}

static void allocator_section(struct text *t, const struct heap_snapshot *h,
                              uint64_t heap_alloc)
{
        const struct mp_mallinfo *mi = &h->mallinfo;
        int64_t age_ms;

        if (h->allocator != MP_ALLOC_GLIBC && h->allocator != MP_ALLOC_UNKNOWN) {
                foreign_allocator(t, h);
                return;
        }
        if (h->mallinfo_time_ns == 0) {
                /* a shim from before allocators were named says nothing at all */
                if (h->allocator == MP_ALLOC_GLIBC)
                        fputs("# allocator (glibc; no mallinfo2 figures yet: the process "
                              "takes them itself, from a sampled allocation)\n",
                              t->f);
                return;
        }
        age_ms = (h->time_ns - h->mallinfo_time_ns) / 1000000;
        if (age_ms < 0)
                age_ms = 0;
        fprintf(t->f, "# allocator (glibc mallinfo2, %lld ms old)\n", (long long)age_ms);
        if (age_ms >= MALLINFO_STALE_MS)
                fprintf(t->f, "# these figures are %lld ms older than the lines above: the "
                              "process takes them itself, at most every 100 ms and only "
                              "when it samples an allocation\n",
                        (long long)age_ms);
        mallinfo_below(t, h, age_ms, heap_alloc);
        line(t, "mallinfo_arena", mi->arena);
        line(t, "mallinfo_ordblks", mi->ordblks);
        line(t, "mallinfo_smblks", mi->smblks);
        line(t, "mallinfo_hblks", mi->hblks);
        line(t, "mallinfo_hblkhd", mi->hblkhd);
        line(t, "mallinfo_usmblks", mi->usmblks);
        line(t, "mallinfo_fsmblks", mi->fsmblks);
        line(t, "mallinfo_uordblks", mi->uordblks);
        line(t, "mallinfo_fordblks", mi->fordblks);
        line(t, "mallinfo_keepcost", mi->keepcost);
}

/* What turns heap profiling on for this very process. */
static void off_section(struct text *t, const struct proc_status *st,
                        const struct memstats_off *off, bool is_go)
{
        fprintf(t->f, "# heap profiling off: %s\n",
                off->why ? off->why : "libmemprof.so is not loaded in this process");
        /* a Go binary is often static, where LD_PRELOAD cannot work: the Go heap is
         * read from the runtime instead */
        if (is_go)
                fprintf(t->f,
                        "# the Go heap is in heap and heap.txt (memprof attach %d turns Go's "
                        "heap profiling on if it is off); a cgo program's C heap needs "
                        "memprof run -- CMD\n",
                        (int)st->pid);
        else if (off->static_exe)
                fprintf(t->f,
                        "# this program is statically linked (no dynamic loader): LD_PRELOAD "
                        "cannot load libmemprof.so into it.  For a Go program, memprof "
                        "attach %d turns on the Go runtime's own heap profile; any other "
                        "must be linked dynamically to be profiled\n",
                        (int)st->pid);
        else
                fprintf(t->f,
                        "# to turn it on: LD_PRELOAD=%s CMD, or memprof run -- CMD; in this "
                        "process as it runs: memprof attach %d\n",
                        off->shim_path, (int)st->pid);
}

int render_memstats(const struct proc_status *st, const struct heap_snapshot *heap,
                    const struct memstats_off *off, unsigned ignored_segments,
                    const struct go_section *go, char **ret_buf, size_t *ret_len)
{
        struct text t = {0};

        if (!st || (!heap && !off))
                return -EINVAL;
        t.f = open_memstream(&t.buf, &t.len);
        if (!t.f)
                return -ENOMEM;

        kernel_section(&t, st);
        if (heap) {
                uint64_t estimate = heap_inuse_estimate(heap);

                shim_section(&t, heap, estimate, ignored_segments);
                allocator_section(&t, heap, heap_alloc_shown(heap, estimate));
        } else {
                off_section(&t, st, off, go != NULL);
        }
        if (go)
                render_go_section(t.f, go);

        if (ferror(t.f)) {
                fclose(t.f);
                free(t.buf);
                return -ENOMEM;
        }
        if (fclose(t.f) != 0) {
                free(t.buf);
                return -ENOMEM;
        }
        *ret_buf = t.buf;
        *ret_len = t.len;
        return 0;
}
