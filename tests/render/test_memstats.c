/* memstats' text for figures the test sets: which comment lines explain which
 * figures, and that every other line stays `Name integer` with a unique name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap_segment.h"
#include "procfs.h"
#include "render.h"

#define MS 1000000ll

static char *render(const struct heap_snapshot *h, const struct memstats_off *off)
{
        struct proc_status st = {.pid = 4321, .vm_rss = 1 << 20, .threads = 1};
        char *buf = NULL;
        size_t len = 0;

        if (render_memstats(&st, h, off, 0, NULL, &buf, &len) < 0 || strlen(buf) != len) {
                CHECK(!"render_memstats failed");
                return strdup("");
        }
        return buf;
}

/* The value of NAME's line; -1 if absent.  Also checks the format of every line. */
static long long value_of(const char *text, const char *name)
{
        long long found = -1;
        char seen[64][32];
        int nseen = 0;

        for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
                char n[32];
                long long v;
                int used = 0;

                if (!strchr(l, '\n')) {
                        CHECK(!"the last line has no newline");
                        break;
                }
                if (*l == '#')
                        continue;
                CHECK(sscanf(l, "%31s %lld%n", n, &v, &used) == 2 && l[used] == '\n');
                for (int i = 0; i < nseen; i++)
                        CHECK(strcmp(seen[i], n) != 0);
                if (nseen < 64)
                        strcpy(seen[nseen++], n);
                if (strcmp(n, name) == 0)
                        found = v;
        }
        return found;
}

/* One sampled site: `allocs` objects of `size` bytes, all live. */
static void one_site(struct heap_snapshot *h, uint64_t size, uint64_t allocs)
{
        static struct heap_site site;

        site = (struct heap_site){.stack = 0, .size = size, .allocs = allocs};
        h->sites = &site;
        h->nsites = 1;
}

/* A young process: its first sample of 100 bytes at the default rate stands for about
 * 524338 bytes, more than the 50000 it has allocated in all. */
static void estimate_above_total(void)
{
        struct heap_snapshot h = {.rate = 524288, .alloc_bytes = 50000, .mallocs = 10};
        one_site(&h, 100, 1);
        char *t = render(&h, NULL);

        CHECK(value_of(t, "TotalAlloc") == 50000);
        CHECK(value_of(t, "HeapAlloc") == 50000);
        CHECK(strstr(t, "# HeapAlloc: the samples' estimate, 524338, is above TotalAlloc, "
                        "which is exact and bounds it: shown as TotalAlloc\n"));
        /* the comment comes right before the line it explains */
        CHECK(strstr(t, "shown as TotalAlloc\nHeapAlloc 50000\n"));
        free(t);

        h.alloc_bytes = 600000; /* now the estimate is within the bound: no comment */
        t = render(&h, NULL);
        CHECK(value_of(t, "HeapAlloc") == 524338);
        CHECK(!strstr(t, "above TotalAlloc"));
        free(t);
}

/* A process idle in code the shim does not see: glibc's figures from 17.491 s ago, with
 * fewer bytes in use than the shim counts now. */
static void stale_mallinfo(void)
{
        struct heap_snapshot h = {
            .rate = 1, .alloc_bytes = 1 << 30, .mallocs = 4096, .allocator = MP_ALLOC_GLIBC};
        one_site(&h, 1000, 4096); /* rate 1: HeapAlloc is exactly 4096000 */
        h.time_ns = 100000 * MS;
        h.mallinfo_time_ns = h.time_ns - 17491 * MS;
        h.mallinfo.uordblks = 3000000;
        h.mallinfo.hblkhd = 1000000;
        char *t = render(&h, NULL);

        CHECK(value_of(t, "HeapAlloc") == 4096000);
        CHECK(value_of(t, "mallinfo_uordblks") == 3000000);
        CHECK(strstr(t, "# allocator (glibc mallinfo2, 17491 ms old)\n"));
        CHECK(strstr(t, "# these figures are 17491 ms older than the lines above"));
        CHECK(strstr(t, "# mallinfo_uordblks + mallinfo_hblkhd, glibc's bytes in use, is "
                        "below HeapAlloc: it is 17491 ms older\n"));
        free(t);

        /* fresh, and covering HeapAlloc: the head alone */
        h.mallinfo_time_ns = h.time_ns - 20 * MS;
        h.mallinfo.uordblks = 3200000;
        t = render(&h, NULL);
        CHECK(strstr(t, "# allocator (glibc mallinfo2, 20 ms old)\nmallinfo_arena 0\n"));
        free(t);

        /* fresh but below an estimate: the estimate is the reason given */
        h.rate = 524288;
        h.alloc_bytes = 1ull << 40;
        one_site(&h, 1 << 20, 8); /* about 8.4 MB estimated */
        t = render(&h, NULL);
        CHECK(strstr(t, "is below HeapAlloc: HeapAlloc is an estimate from samples\n"));
        CHECK(!strstr(t, "older than the lines above"));
        free(t);

        /* no figures yet */
        h.mallinfo_time_ns = 0;
        t = render(&h, NULL);
        CHECK(strstr(t, "# allocator (glibc; no mallinfo2 figures yet"));
        CHECK(value_of(t, "mallinfo_arena") == -1);
        free(t);
}

static void named_allocators(void)
{
        struct heap_snapshot h = {.rate = 524288, .allocator = MP_ALLOC_JEMALLOC};
        strcpy(h.allocator_file, "libjemalloc.so.2");
        h.mallinfo_time_ns = 1; /* never shown for an allocator other than glibc */
        char *t = render(&h, NULL);

        CHECK(strstr(t, "\n# allocator (jemalloc, libjemalloc.so.2)\n# no allocator "
                        "figures: mallinfo2 is glibc's, and jemalloc's own statistics"));
        CHECK(value_of(t, "mallinfo_arena") == -1);
        free(t);

        h.allocator = MP_ALLOC_OTHER;
        strcpy(h.allocator_file, "libmyalloc.so");
        t = render(&h, NULL);
        CHECK(strstr(t, "# allocator (not one memprof knows: malloc is libmyalloc.so's)\n"));
        free(t);
}

static void rate_not_understood(void)
{
        struct heap_snapshot h = {.rate = 524288, .rate_unparsed = true};
        strcpy(h.rate_text, "xyz");
        char *t = render(&h, NULL);

        CHECK(strstr(t, "# shim (libmemprof.so)\n# MEMPROF_RATE=\"xyz\" not understood: "
                        "using 524288\n"));
        CHECK(value_of(t, "SampleRate") == 524288);
        free(t);
}

static void hints(void)
{
        struct memstats_off off = {NULL, "/opt/build/collectors/shim/libmemprof.so", false};
        char *t = render(NULL, &off);

        CHECK(strstr(t, "# heap profiling off: libmemprof.so is not loaded in this process\n"
                        "# to turn it on: LD_PRELOAD=/opt/build/collectors/shim/libmemprof.so "
                        "CMD, or memprof run -- CMD; in this process as it runs: memprof "
                        "attach 4321\n"));
        CHECK(value_of(t, "Mallocs") == -1);
        free(t);

        off.static_exe = true;
        t = render(NULL, &off);
        CHECK(strstr(t, "# this program is statically linked (no dynamic loader): "
                        "LD_PRELOAD cannot load libmemprof.so into it."));
        CHECK(strstr(t, "memprof attach 4321"));
        CHECK(!strstr(t, "LD_PRELOAD="));
        free(t);
}

int main(void)
{
        estimate_above_total();
        stale_mallinfo();
        named_allocators();
        rate_not_understood();
        hints();
        if (!check_failures)
                printf("ok\n");
        return check_failures ? 1 : 0;
}
