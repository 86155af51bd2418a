/* memstats: kernel, shim and allocator figures as stable `Name value` lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "render.h"
#include "heap_segment.h"
#include "heap_values.h"
#include "procfs.h"

/* Where `meson install` puts the shim; the build passes the real one. */
#ifndef MEMPROF_SHIMDIR
#define MEMPROF_SHIMDIR "/usr/local/lib/x86_64-linux-gnu/memprof"
#endif

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

static void shim_section(struct text *t, const struct heap_snapshot *h, unsigned ignored)
{
        fputs("# shim (libmemprof.so)\n", t->f);
        if (h->rate == 0)
                fputs("# sampling is off (MEMPROF_RATE=0): counts are exact, HeapAlloc "
                      "unknown (0)\n",
                      t->f);
        else
                fputs("# HeapAlloc is exact at MEMPROF_RATE=1, an unbiased estimate "
                      "otherwise\n",
                      t->f);
        line(t, "Mallocs", h->mallocs);
        line(t, "Frees", h->frees);
        /* the two counters are read one after the other, so frees may run ahead */
        line(t, "HeapObjects", h->mallocs > h->frees ? h->mallocs - h->frees : 0);
        line(t, "TotalAlloc", h->alloc_bytes);
        line(t, "HeapAlloc", heap_inuse_estimate(h));
        line(t, "SampleRate", h->rate);
        line(t, "Samples", h->samples);
        line(t, "LostSamples", h->lost_samples);
        line(t, "SampledSince", h->start_time_ns > 0 ? (uint64_t)h->start_time_ns / 1000000000u
                                                      : 0);
        line(t, "ShimThreads", h->threads);
        /* other mappings that looked like a segment but failed the trust checks */
        line(t, "IgnoredSegments", ignored);
}

static void allocator_section(struct text *t, const struct heap_snapshot *h)
{
        const struct mp_mallinfo *mi = &h->mallinfo;
        int64_t age_ms;

        if (h->mallinfo_time_ns == 0)
                return;
        age_ms = (h->time_ns - h->mallinfo_time_ns) / 1000000;
        if (age_ms < 0)
                age_ms = 0;
        fprintf(t->f, "# allocator (glibc mallinfo2, %lld ms old)\n", (long long)age_ms);
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

static void off_section(struct text *t, const char *why_off, bool is_go)
{
        fprintf(t->f, "# heap profiling off: %s\n",
                why_off ? why_off : "libmemprof.so is not loaded in this process");
        /* a Go binary is often static, where LD_PRELOAD cannot work: the Go heap is
         * read from the runtime instead */
        if (is_go) {
                fputs("# the Go heap is in heap and heap.txt (memprof attach PID turns Go's "
                      "heap profiling on if it is off); a cgo program's C heap needs "
                      "memprof run -- CMD\n",
                      t->f);
                return;
        }
        fputs("# to turn it on: LD_PRELOAD=" MEMPROF_SHIMDIR "/libmemprof.so CMD, "
              "or memprof run -- CMD\n",
              t->f);
}

int render_memstats(const struct proc_status *st, const struct heap_snapshot *heap,
                    const char *why_off, unsigned ignored_segments,
                    const struct go_section *go, char **ret_buf,
                    size_t *ret_len)
{
        struct text t = {0};

        if (!st)
                return -EINVAL;
        t.f = open_memstream(&t.buf, &t.len);
        if (!t.f)
                return -ENOMEM;

        kernel_section(&t, st);
        if (heap) {
                shim_section(&t, heap, ignored_segments);
                allocator_section(&t, heap);
        } else {
                off_section(&t, why_off, go != NULL);
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
