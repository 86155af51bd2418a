/* metrics.prom: Prometheus' text exposition format, one family at a time. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "prom.h"

enum source {
        KERNEL,   /* struct prom_process, every process */
        SHIM,     /* struct prom_shim, processes with the shim */
        SAMPLED,  /* the same, only where the shim samples (MEMPROF_RATE is not 0) */
        MALLINFO, /* struct mp_mallinfo, processes with the shim over glibc */
        GO,       /* struct go_memstats, Go processes whose runtime could be read */
};

enum unit {
        AS_IS,
        NS_AS_S, /* nanoseconds, shown as seconds */
};

struct family {
        const char *name, *type, *help;
        enum source src;
        size_t off; /* of a uint64_t (or int64_t) in the source */
        enum unit unit;
};

#define K(field) KERNEL, offsetof(struct prom_process, field)
#define S(field) SHIM, offsetof(struct prom_shim, field)
#define M(field) MALLINFO, offsetof(struct mp_mallinfo, field)
#define G(field) GO, offsetof(struct go_memstats, field)

/* Go's figures under the names client_golang gives them, so that dashboards and queries
 * written for Go services work, with a pid label; the rest are memprof's own. */
static const struct family families[] = {
    {"memprof_process_resident_memory_bytes", "gauge",
     "Resident set size (VmRSS of /proc/PID/status).", K(rss), AS_IS},
    {"memprof_process_resident_memory_anon_bytes", "gauge", "Anonymous resident memory (RssAnon).",
     K(rss_anon), AS_IS},
    {"memprof_process_resident_memory_max_bytes", "gauge", "Peak resident set size (VmHWM).",
     K(hwm), AS_IS},
    {"memprof_process_swap_bytes", "gauge", "Anonymous memory swapped out (VmSwap).", K(swap),
     AS_IS},

    {"memprof_heap_inuse_bytes", "gauge",
     "Live bytes on the malloc heap, from the shim's samples: exact at MEMPROF_RATE=1, "
     "an unbiased estimate otherwise (memstats' HeapAlloc); absent at MEMPROF_RATE=0.",
     SAMPLED, offsetof(struct prom_shim, inuse_bytes), AS_IS},
    {"memprof_heap_inuse_objects", "gauge",
     "Live objects on the malloc heap, allocations minus frees, exact (HeapObjects).", S(objects),
     AS_IS},
    {"memprof_heap_alloc_bytes_total", "counter",
     "Bytes allocated by the malloc family since the shim started, exact (TotalAlloc).",
     S(alloc_bytes), AS_IS},
    {"memprof_mallocs_total", "counter", "Allocations since the shim started, exact.", S(mallocs),
     AS_IS},
    {"memprof_frees_total", "counter", "Frees since the shim started, exact.", S(frees), AS_IS},
    {"memprof_heap_sample_rate_bytes", "gauge",
     "Mean bytes between heap samples (MEMPROF_RATE); 0: sampling off.", S(rate), AS_IS},
    {"memprof_heap_samples_total", "counter", "Allocations sampled.", S(samples), AS_IS},
    {"memprof_heap_samples_lost_total", "counter",
     "Sampled allocations dropped because a table of the shim was full.", S(lost_samples), AS_IS},
    {"memprof_heap_sampling_start_time_seconds", "gauge",
     "When the shim began sampling, in seconds since the epoch.", S(start_time_ns), NS_AS_S},

    {"memprof_malloc_arena_bytes", "gauge",
     "glibc mallinfo2 arena: bytes the allocator took with brk.", M(arena), AS_IS},
    {"memprof_malloc_mmap_bytes", "gauge",
     "glibc mallinfo2 hblkhd: bytes in blocks allocated with mmap.", M(hblkhd), AS_IS},
    {"memprof_malloc_inuse_bytes", "gauge", "glibc mallinfo2 uordblks: bytes in use in the arenas.",
     M(uordblks), AS_IS},
    {"memprof_malloc_free_bytes", "gauge", "glibc mallinfo2 fordblks: free bytes the arenas keep.",
     M(fordblks), AS_IS},

    {"go_memstats_alloc_bytes", "gauge",
     "Number of bytes allocated in heap and currently in use (runtime.MemStats.Alloc).", G(alloc),
     AS_IS},
    {"go_memstats_alloc_bytes_total", "counter",
     "Total number of bytes allocated in heap until now, even if released already.", G(total_alloc),
     AS_IS},
    {"go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system.", G(sys), AS_IS},
    {"go_memstats_mallocs_total", "counter", "Total number of heap objects allocated.", G(mallocs),
     AS_IS},
    {"go_memstats_frees_total", "counter", "Total number of heap objects frees.", G(frees), AS_IS},
    {"go_memstats_heap_alloc_bytes", "gauge",
     "Number of heap bytes allocated and currently in use.", G(heap_alloc), AS_IS},
    {"go_memstats_heap_sys_bytes", "gauge", "Number of heap bytes obtained from system.",
     G(heap_sys), AS_IS},
    {"go_memstats_heap_idle_bytes", "gauge", "Number of heap bytes waiting to be used.",
     G(heap_idle), AS_IS},
    {"go_memstats_heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.",
     G(heap_inuse), AS_IS},
    {"go_memstats_heap_released_bytes", "gauge", "Number of heap bytes released to OS.",
     G(heap_released), AS_IS},
    {"go_memstats_heap_objects", "gauge", "Number of currently allocated objects.", G(heap_objects),
     AS_IS},
    {"go_memstats_stack_inuse_bytes", "gauge",
     "Number of bytes obtained from system for stack allocator in use.", G(stack_inuse), AS_IS},
    {"go_memstats_stack_sys_bytes", "gauge",
     "Number of bytes obtained from system for stack allocator.", G(stack_sys), AS_IS},
    {"go_memstats_mspan_inuse_bytes", "gauge", "Number of bytes in use by mspan structures.",
     G(mspan_inuse), AS_IS},
    {"go_memstats_mcache_inuse_bytes", "gauge", "Number of bytes in use by mcache structures.",
     G(mcache_inuse), AS_IS},
    {"go_memstats_gc_sys_bytes", "gauge",
     "Number of bytes used for garbage collection system metadata.", G(gc_sys), AS_IS},
    {"go_memstats_other_sys_bytes", "gauge", "Number of bytes used for other system allocations.",
     G(other_sys), AS_IS},
    {"go_memstats_next_gc_bytes", "gauge",
     "Number of heap bytes when next garbage collection will take place.", G(next_gc), AS_IS},
    {"go_memstats_last_gc_time_seconds", "gauge",
     "Number of seconds since 1970 of last garbage collection.", G(last_gc), NS_AS_S},
    {"go_goroutines", "gauge", "Number of goroutines that currently exist.", G(goroutines), AS_IS},
    {"go_sched_gomaxprocs_threads", "gauge", "The current runtime.GOMAXPROCS setting.",
     G(gomaxprocs), AS_IS},
    {"memprof_go_mem_profile_rate_bytes", "gauge",
     "runtime.MemProfileRate: mean bytes between heap samples; 0: heap profiling off "
     "(memprof attach turns it on).",
     G(mem_profile_rate), AS_IS},
    {"memprof_go_gc_forced_total", "counter",
     "Garbage collections the program forced (runtime.MemStats.NumForcedGC).", G(num_forced_gc),
     AS_IS},
};

/* The record a family's figure is read from; NULL if this process has none. */
static const void *source_of(const struct prom_process *p, enum source s)
{
        switch (s) {
        case KERNEL:
                return p;
        case SHIM:
                return p->shim ? &p->sh : NULL;
        case SAMPLED:
                return p->shim && p->sh.rate ? &p->sh : NULL;
        case MALLINFO:
                return p->shim && p->sh.has_mallinfo ? &p->sh.mallinfo : NULL;
        case GO:
                return p->go_stats ? &p->gm : NULL;
        }
        return NULL;
}

/* U+FFFD, for each byte that does not start a valid UTF-8 sequence: Prometheus rejects
 * the whole file over one invalid label value, and a process names itself. */
#define REPLACEMENT "\xef\xbf\xbd"

/* The length of the valid UTF-8 sequence at s (at most len bytes), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (n > len)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

static void label_value(FILE *f, const char *v)
{
        const unsigned char *s = (const unsigned char *)(v ? v : "");
        size_t len = 0;

        while (s[len])
                len++;
        for (size_t i = 0; i < len;) {
                size_t n = utf8_len(s + i, len - i);

                if (n == 0) {
                        fputs(REPLACEMENT, f);
                        i++;
                        continue;
                }
                if (s[i] == '\\')
                        fputs("\\\\", f);
                else if (s[i] == '"')
                        fputs("\\\"", f);
                else if (s[i] == '\n')
                        fputs("\\n", f);
                else
                        fwrite(s + i, 1, n, f);
                i += n;
        }
}

static void labels(FILE *f, const struct prom_process *p, const char *extra_name,
                   const char *extra_value)
{
        fprintf(f, "{pid=\"%d\",comm=\"", (int)p->pid);
        label_value(f, p->comm);
        fputs("\",exe=\"", f);
        label_value(f, p->exe);
        fputc('"', f);
        if (extra_name) {
                fprintf(f, ",%s=\"", extra_name);
                label_value(f, extra_value);
                fputc('"', f);
        }
        fputc('}', f);
}

static void value(FILE *f, uint64_t v, enum unit unit)
{
        if (unit == NS_AS_S)
                fprintf(f, " %llu.%09llu\n", (unsigned long long)(v / 1000000000u),
                        (unsigned long long)(v % 1000000000u));
        else
                fprintf(f, " %llu\n", (unsigned long long)v);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void family(FILE *f, const struct family *fam, const struct prom_process *p, size_t n)
{
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                const char *src = source_of(&p[i], fam->src);
                uint64_t v;

                if (!src)
                        continue;
                if (!any)
                        head(f, fam->name, fam->type, fam->help);
                any = true;
                v = *(const uint64_t *)(const void *)(src + fam->off);
                fputs(fam->name, f);
                labels(f, &p[i], NULL, NULL);
                value(f, v, fam->unit);
        }
}

/* go_info and go_gc_duration_seconds: a label of their own, and a summary. */
static void go_families(FILE *f, const struct prom_process *p, size_t n)
{
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                if (!p[i].go)
                        continue;
                if (!any)
                        head(f, "go_info", "gauge", "Information about the Go environment.");
                any = true;
                fputs("go_info", f);
                labels(f, &p[i], "version", p[i].go_version);
                fputs(" 1\n", f);
        }
        any = false;
        for (size_t i = 0; i < n; i++) {
                if (!p[i].go_stats)
                        continue;
                if (!any)
                        head(f, "go_gc_duration_seconds", "summary",
                             "Stop-the-world pauses of garbage collections: their total "
                             "(PauseTotalNs) and number (NumGC).");
                any = true;
                fputs("go_gc_duration_seconds_sum", f);
                labels(f, &p[i], NULL, NULL);
                value(f, p[i].gm.pause_total_ns, NS_AS_S);
                fputs("go_gc_duration_seconds_count", f);
                labels(f, &p[i], NULL, NULL);
                value(f, p[i].gm.num_gc, AS_IS);
        }
}

static void health(FILE *f, const struct prom_process *p, size_t n, const struct prom_health *h)
{
        size_t shim = 0, go = 0;

        for (size_t i = 0; i < n; i++) {
                shim += p[i].shim;
                go += p[i].go;
        }
        head(f, "memprof_up", "gauge", "1: memprofd generated this file.");
        fputs("memprof_up 1\n", f);
        head(f, "memprof_build_info", "gauge", "memprofd's version.");
        fputs("memprof_build_info{version=\"", f);
        label_value(f, h->version);
        fputs("\"} 1\n", f);
        head(f, "memprof_processes_profiled", "gauge",
             "Processes in this file, by what profiles them: the shim's segment, the Go "
             "runtime (a cgo program under the shim counts in both).");
        fprintf(f, "memprof_processes_profiled{kind=\"shim\"} %zu\n", shim);
        fprintf(f, "memprof_processes_profiled{kind=\"go\"} %zu\n", go);
        head(f, "memprof_collection_errors_total", "counter",
             "Collection failures since memprofd started, in any file, by kind.");
        for (size_t i = 0; i < h->nkinds; i++)
                fprintf(f, "memprof_collection_errors_total{kind=\"%s\"} %llu\n", h->kinds[i],
                        (unsigned long long)h->errors[i]);
        head(f, "memprof_metrics_collection_seconds", "gauge",
             "Time memprofd took to collect this file.");
        fprintf(f, "memprof_metrics_collection_seconds %.6f\n", h->duration_s);
}

int render_metrics(const struct prom_process *p, size_t n, const struct prom_health *h,
                   char **ret_buf, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
                family(f, &families[i], p, n);
        go_families(f, p, n);
        health(f, p, n, h);
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return -ENOMEM;
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}
