/* Runs workload.c under the shim and checks what its segment says against the ground
 * truth the workload knows: exact counters, sampled sites and their stacks, threads,
 * fork, signal handlers, no shared memory, unbiased estimates.
 * usage: shim_check SCENARIO LIBMEMPROF WORKLOAD */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap_segment.h"

static const char *shim, *workload;
static pid_t live_child = -1;

static void kill_child(void)
{
        if (live_child > 0) {
                kill(live_child, SIGKILL);
                waitpid(live_child, NULL, 0);
        }
}

static void fail(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "FAIL: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        exit(1);
}

#define CHECK_EQ(what, got, want)                                                     \
        do {                                                                          \
                unsigned long long g_ = (got), w_ = (want);                          \
                if (g_ != w_)                                                         \
                        fail("%s: got %llu, want %llu", what, g_, w_);                \
                printf("ok   %s = %llu\n", what, g_);                                 \
        } while (0)

struct child {
        pid_t pid;
        int to, from;
};

/* rate NULL: MEMPROF_RATE unset; preload false: no shim at all. */
static void spawn(struct child *c, const char *scenario, const char *rate, bool preload)
{
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                fail("pipe: %m");
        pid_t pid = fork();
        if (pid < 0)
                fail("fork: %m");
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                if (preload)
                        setenv("LD_PRELOAD", shim, 1);
                if (rate)
                        setenv("MEMPROF_RATE", rate, 1);
                else
                        unsetenv("MEMPROF_RATE");
                unsetenv("MEMPROF_DEBUG");
                execl(workload, workload, scenario, (char *)NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        *c = (struct child){ pid, in[1], out[0] };
        live_child = pid;
}

static void expect(struct child *c, char *line, size_t size)
{
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t r = read(c->from, line + n, 1);
                if (r <= 0)
                        fail("workload ended early (read %zd)", r);
                if (line[n++] == '\n')
                        break;
        }
        line[n] = '\0';
}

static void go(struct child *c)
{
        if (write(c->to, "g", 1) != 1)
                fail("write to workload: %m");
}

static void finish(struct child *c)
{
        close(c->to);
        char rest[256];
        while (read(c->from, rest, sizeof(rest)) > 0) {
        }
        close(c->from);
        int st;
        if (waitpid(c->pid, &st, 0) != c->pid)
                fail("waitpid: %m");
        live_child = -1;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail("workload exited with status %#x", st);
}

static struct heap_snapshot *snap(pid_t pid)
{
        int fd;
        int r = heap_segment_open(pid, &fd, NULL);
        if (r < 0)
                fail("heap_segment_open(%d): %s", (int)pid, strerror(-r));
        struct heap_snapshot *s;
        const char *why = NULL;
        r = heap_snapshot_read(fd, &s, &why);
        close(fd);
        if (r < 0)
                fail("heap_snapshot_read(%d): %s (%s)", (int)pid, strerror(-r), why ? why : "");
        return s;
}

struct range {
        char name[32];
        unsigned long lo, hi;
};

static int parse_ranges(const char *line, struct range *r, int max)
{
        int n = 0, used;
        line += 1; /* the "B" */
        while (n < max && sscanf(line, " %31s %lx %lx%n", r[n].name, &r[n].lo, &r[n].hi,
                                 &used) == 3) {
                line += used;
                n++;
        }
        return n;
}

/* Sum of live and total sampled objects of `size` whose top frame lies in r. */
static void site_counts(const struct heap_snapshot *s, const struct range *r, uint64_t size,
                        uint64_t *ret_allocs, uint64_t *ret_frees, size_t *ret_nsites)
{
        uint64_t a = 0, f = 0;
        size_t n = 0;
        for (size_t i = 0; i < s->nsites; i++) {
                const struct heap_site *site = &s->sites[i];
                uint64_t pc = s->stacks[site->stack].pcs[0];
                if (site->size != size || pc <= r->lo || pc > r->hi)
                        continue;
                a += site->allocs;
                f += site->frees;
                n++;
        }
        *ret_allocs = a;
        *ret_frees = f;
        *ret_nsites = n;
}

/* No frame of any stack may lie in libmemprof.so (mapped ranges from /proc/PID/maps,
 * read while the process is alive). */
static void check_no_shim_frames(pid_t pid, const struct heap_snapshot *s)
{
        char path[64], line[1024];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                fail("open %s: %m", path);
        unsigned long lo[16], hi[16];
        int n = 0;
        while (n < 16 && fgets(line, sizeof(line), f))
                if (strstr(line, "/libmemprof.so") && sscanf(line, "%lx-%lx", &lo[n], &hi[n]) == 2)
                        n++;
        fclose(f);
        if (n == 0)
                fail("libmemprof.so not mapped in %d", (int)pid);
        for (size_t i = 0; i < s->nstacks; i++)
                for (uint32_t d = 0; d < s->stacks[i].depth; d++)
                        for (int k = 0; k < n; k++)
                                if (s->stacks[i].pcs[d] >= lo[k] && s->stacks[i].pcs[d] < hi[k])
                                        fail("stack %zu frame %u is in the shim", i, d);
        printf("ok   no shim frames in %zu stacks\n", s->nstacks);
}

/* The common shape: start SCENARIO, snapshot at its first sync point and at its
 * second, let it finish; LINE gets the second sync line. */
static void two_snaps(const char *scenario, const char *rate, char *line, size_t size,
                      struct heap_snapshot **ret_a, struct heap_snapshot **ret_b)
{
        struct child c;

        spawn(&c, scenario, rate, true);
        expect(&c, line, size);
        *ret_a = snap(c.pid);
        go(&c);
        expect(&c, line, size);
        *ret_b = snap(c.pid);
        go(&c);
        finish(&c);
}

static void check_delta(const struct heap_snapshot *a, const struct heap_snapshot *b,
                        uint64_t mallocs, uint64_t frees, uint64_t bytes)
{
        CHECK_EQ("mallocs delta", b->mallocs - a->mallocs, mallocs);
        CHECK_EQ("frees delta", b->frees - a->frees, frees);
        if (bytes != UINT64_MAX)
                CHECK_EQ("alloc_bytes delta", b->alloc_bytes - a->alloc_bytes, bytes);
}

static void run_sites(void)
{
        struct child c;
        char line[512];
        spawn(&c, "sites", "1", true);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *a = snap(c.pid);
        go(&c);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *b = snap(c.pid);
        check_no_shim_frames(c.pid, b);
        go(&c);
        finish(&c);
        struct range r[3];
        if (parse_ranges(line, r, 3) != 3)
                fail("bad ranges line: %s", line);
        check_delta(a, b, 180, 10, 100 * 48 + 50 * 1000 + 30 * 777);
        CHECK_EQ("samples delta", b->samples - a->samples, 180);
        CHECK_EQ("lost samples", b->lost_samples, 0);
        CHECK_EQ("rate", b->rate, 1);
        struct { int range; uint64_t size, allocs, frees; } want[] = {
                { 0, 48, 100, 0 }, { 1, 1000, 50, 0 }, { 2, 777, 30, 10 },
        };
        for (int i = 0; i < 3; i++) {
                uint64_t al, fr;
                size_t n;
                site_counts(b, &r[want[i].range], want[i].size, &al, &fr, &n);
                char what[64];
                snprintf(what, sizeof(what), "%s sites", r[want[i].range].name);
                CHECK_EQ(what, n, 1);
                snprintf(what, sizeof(what), "%s sampled allocs", r[want[i].range].name);
                CHECK_EQ(what, al, want[i].allocs);
                snprintf(what, sizeof(what), "%s sampled frees", r[want[i].range].name);
                CHECK_EQ(what, fr, want[i].frees);
        }
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

static void run_counts(const char *rate)
{
        printf("# counts at MEMPROF_RATE=%s\n", rate ? rate : "(default)");
        char line[64];
        struct heap_snapshot *a, *b;
        two_snaps("counts", rate, line, sizeof(line), &a, &b);
        check_delta(a, b, 1014, 1014, 32 * 1000 + 60 * 10 + 10 + 100 + 1000 + 100);
        if (rate && !strcmp(rate, "0"))
                CHECK_EQ("samples at rate 0", b->samples, 0);
        if (rate && !strcmp(rate, "1"))
                CHECK_EQ("samples delta at rate 1", b->samples - a->samples, 1014);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

static void run_family(const char *rate, bool preload)
{
        printf("# family, %s, MEMPROF_RATE=%s\n", preload ? "shim" : "no shim",
               rate ? rate : "(default)");
        struct child c;
        char line[64];
        spawn(&c, "family", rate, preload);
        expect(&c, line, sizeof(line));
        finish(&c);
        if (strcmp(line, "family ok\n"))
                fail("family output: %s", line);
}

static void run_threads(const char *rate)
{
        printf("# threads at MEMPROF_RATE=%s\n", rate ? rate : "(default)");
        struct child c;
        char line[64];
        spawn(&c, "threads", rate, true);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *a = snap(c.pid);
        if (a->threads < 9)
                fail("threads with slots: %u, want >= 9", a->threads);
        go(&c);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *b = snap(c.pid);
        check_no_shim_frames(c.pid, b);
        go(&c);
        finish(&c);
        check_delta(a, b, 80000, 80000, 8ull * 100 * 5050);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

static void run_threadchurn(const char *rate)
{
        printf("# 2500 threads one after another, MEMPROF_RATE=%s\n", rate ? rate : "(default)");
        char line[64];
        struct heap_snapshot *a, *b;
        two_snaps("threadchurn", rate, line, sizeof(line), &a, &b);
        /* glibc allocates nothing per thread through malloc here: the thread's stack
         * and TLS come from mmap and are cached */
        check_delta(a, b, 25000, 25000, 2500000);
        if (b->threads > 2)
                fail("%u threads still hold slots", b->threads);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

static void run_fork(void)
{
        struct child c;
        char line[64];
        spawn(&c, "fork", "1", true);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *a = snap(c.pid);
        go(&c);
        expect(&c, line, sizeof(line));
        int g = 0;
        if (sscanf(line, "B %d", &g) != 1)
                fail("bad line %s", line);
        struct heap_snapshot *b = snap(c.pid), *gs = snap(g);
        int f1, f2;
        struct stat s1, s2;
        if (heap_segment_open(c.pid, &f1, NULL) < 0 || heap_segment_open(g, &f2, NULL) < 0 ||
            fstat(f1, &s1) < 0 || fstat(f2, &s2) < 0)
                fail("opening both segments");
        close(f1);
        close(f2);
        go(&c);
        finish(&c);
        if (s1.st_ino == s2.st_ino)
                fail("child shares its parent's segment");
        printf("ok   child has its own segment\n");
        CHECK_EQ("grandchild pid in its segment", (unsigned)gs->pid_in_ns, (unsigned)g);
        check_delta(a, b, 0, 0, 0);
        uint64_t live = 0;
        for (size_t i = 0; i < gs->nsites; i++)
                if (gs->sites[i].size == 4096)
                        live += gs->sites[i].allocs - gs->sites[i].frees;
        CHECK_EQ("grandchild live 4096-byte samples", live, 20);
        for (size_t i = 0; i < b->nsites; i++)
                if (b->sites[i].size == 4096 && b->sites[i].allocs >= 20)
                        fail("parent shows the child's allocations");
        heap_snapshot_free(a);
        heap_snapshot_free(b);
        heap_snapshot_free(gs);
}

static void run_signal(const char *rate)
{
        printf("# signal handlers that allocate, MEMPROF_RATE=%s\n", rate ? rate : "(default)");
        char line[64];
        struct heap_snapshot *a, *b;
        two_snaps("signal", rate, line, sizeof(line), &a, &b);
        int handled = 0;
        long iters = 0;
        if (sscanf(line, "B %d %ld", &handled, &iters) != 2 || handled <= 0)
                fail("no signal handled: %s", line);
        printf("ok   %d signals handled in %ld iterations\n", handled, iters);
        uint64_t want = 2ull * (uint64_t)iters + 3ull * (uint64_t)handled;
        check_delta(a, b, want, want, UINT64_MAX);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

/* One run: 48 MiB from one site at rate 65536 has a relative spread of
 * sqrt(65536 / 48 MiB) = 3.6%, so +-15% is a four-sigma bound. */
static void run_unbiased(void)
{
        struct child c;
        char line[256];
        spawn(&c, "unbiased", "65536", true);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *b = snap(c.pid);
        go(&c);
        finish(&c);
        struct range r;
        if (parse_ranges(line, &r, 1) != 1)
                fail("bad line %s", line);
        double est = 0;
        for (size_t i = 0; i < b->nsites; i++) {
                const struct heap_site *s = &b->sites[i];
                uint64_t pc = b->stacks[s->stack].pcs[0];
                if (pc <= r.lo || pc > r.hi)
                        continue;
                double scale = 1.0 / (1.0 - exp(-(double)s->size / (double)b->rate));
                est += (double)(s->allocs - s->frees) * (double)s->size * scale;
        }
        double truth = 48.0 * 1024 * 1024;
        printf("estimate %.0f bytes, truth %.0f (%+.1f%%), %llu samples\n", est, truth,
               100 * (est - truth) / truth, (unsigned long long)b->samples);
        if (fabs(est - truth) > 0.15 * truth)
                fail("estimate off by more than 15%%");
        heap_snapshot_free(b);
}

/* Sampled allocs and frees of `size` at the site `name` (size 0: every size). */
static void site_of(const struct heap_snapshot *s, const struct range *r, int nr,
                    const char *name, uint64_t size, uint64_t *ret_allocs, uint64_t *ret_frees)
{
        for (int i = 0; i < nr; i++) {
                if (strcmp(r[i].name, name))
                        continue;
                uint64_t a = 0, f = 0;
                for (size_t k = 0; k < s->nsites; k++) {
                        const struct heap_site *site = &s->sites[k];
                        uint64_t pc = s->stacks[site->stack].pcs[0];
                        if ((size && site->size != size) || pc <= r[i].lo || pc > r[i].hi)
                                continue;
                        a += site->allocs;
                        f += site->frees;
                }
                *ret_allocs = a;
                *ret_frees = f;
                return;
        }
        fail("no range %s", name);
}

static void check_site(const struct heap_snapshot *s, const struct range *r, int nr,
                       const char *name, uint64_t size, uint64_t allocs, uint64_t frees)
{
        uint64_t a, f;
        site_of(s, r, nr, name, size, &a, &f);
        char what[96];
        snprintf(what, sizeof(what), "%s %llu-byte sampled allocs", name,
                 (unsigned long long)size);
        CHECK_EQ(what, a, allocs);
        snprintf(what, sizeof(what), "%s %llu-byte sampled frees", name,
                 (unsigned long long)size);
        CHECK_EQ(what, f, frees);
}

#define MIB (1024ull * 1024)

/* Sparse mode (headerless, page-aligned sampled objects): every member of the family
 * on sampled objects, with exact live accounting (see scenario_sparse). */
static void run_sparse(void)
{
        struct child c;
        char line[1024];
        spawn(&c, "sparse", "65536", true);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *a = snap(c.pid);
        go(&c);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *b = snap(c.pid);
        check_no_shim_frames(c.pid, b);
        go(&c);
        char done[16];
        expect(&c, done, sizeof(done));
        struct heap_snapshot *d = snap(c.pid);
        go(&c);
        finish(&c);
        struct range r[8];
        if (parse_ranges(line, r, 8) != 8)
                fail("bad ranges line: %s", line);
        check_delta(a, b, 141, 121,
                    40 * 2 * MIB + 12 * MIB + 100 + 64 * 256 * 1024 + 32 * 128 * 1024);
        CHECK_EQ("lost samples", b->lost_samples, 0);
        CHECK_EQ("rate", b->rate, 65536);
        check_site(b, r, 8, "keep", 2 * MIB, 8, 0);
        check_site(b, r, 8, "free", 2 * MIB, 8, 8);
        check_site(b, r, 8, "calloc", 2 * MIB, 8, 4);
        check_site(b, r, 8, "align64", 2 * MIB, 8, 2);
        check_site(b, r, 8, "align8k", 2 * MIB, 8, 6);
        check_site(b, r, 8, "rstart", 2 * MIB, 1, 1);
        check_site(b, r, 8, "realloc", 3 * MIB, 2, 2);
        check_site(b, r, 8, "realloc", 4 * MIB, 1, 1);
        uint64_t al, fr;
        site_of(b, r, 8, "mid", 256 * 1024, &al, &fr);
        /* each sampled with probability 1 - exp(-4): fewer than 50 of 64 is 12 sigma */
        if (al < 50 || al != fr)
                fail("mid 256 KiB: %llu sampled allocs, %llu frees; want 50..64, equal",
                     (unsigned long long)al, (unsigned long long)fr);
        printf("ok   mid 256 KiB: %llu sampled, all freed\n", (unsigned long long)al);
        site_of(b, r, 8, "realloc", 128 * 1024, &al, &fr);
        if (al < 16 || al != fr)
                fail("realloc 128 KiB: %llu sampled allocs, %llu frees", (unsigned long long)al,
                     (unsigned long long)fr);
        printf("ok   realloc 128 KiB: %llu sampled, all freed\n", (unsigned long long)al);
        /* after the workload freed the rest: nothing of its sites is live */
        for (int i = 0; i < 8; i++) {
                site_of(d, &r[i], 1, r[i].name, 0, &al, &fr);
                char what[64];
                snprintf(what, sizeof(what), "%.31s live samples at the end", r[i].name);
                CHECK_EQ(what, al - fr, 0);
        }
        check_delta(b, d, 0, 8 + 4 + 6 + 2, 0);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
        heap_snapshot_free(d);
}

/* Sampled objects grown by realloc in place or moved within their new block: exact
 * counts, every sample recorded and, once all is freed, nothing live. */
static void run_sparsegrow(void)
{
        char line[64];
        struct heap_snapshot *a, *b;
        uint64_t bytes = 0, live_a = 0, live_b = 0, samples;

        for (int s = 0; s <= 8; s++)
                bytes += 32ull * ((48ull + 8 * s) << 10);
        two_snaps("sparsegrow", "65536", line, sizeof(line), &a, &b);
        check_delta(a, b, 288, 288, bytes);
        CHECK_EQ("lost samples", b->lost_samples, 0);
        samples = b->samples - a->samples;
        /* 288 allocations of 48-112 KiB at 64 KiB: each sampled with probability
         * 52%-82%; fewer than 150 would be 8 sigma */
        if (samples < 150 || samples > 288)
                fail("sparsegrow: %llu samples of 288", (unsigned long long)samples);
        printf("ok   %llu of 288 sampled\n", (unsigned long long)samples);
        for (size_t i = 0; i < a->nsites; i++)
                live_a += a->sites[i].allocs - a->sites[i].frees;
        for (size_t i = 0; i < b->nsites; i++)
                live_b += b->sites[i].allocs - b->sites[i].frees;
        CHECK_EQ("live samples added", live_b - live_a, 0);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

/* 6000 buckets, twice each: the indices grow past their start and keep every entry. */
static void run_manysizes(void)
{
        char line[64];
        struct heap_snapshot *a, *b;
        size_t n = 0;

        two_snaps("manysizes", "65536", line, sizeof(line), &a, &b);
        check_delta(a, b, 12000, 12000, UINT64_MAX);
        CHECK_EQ("lost samples", b->lost_samples, 0);
        for (size_t i = 0; i < b->nsites; i++) {
                const struct heap_site *s = &b->sites[i];

                if (s->size < (1u << 20) || s->size >= (1u << 20) + 16 * 6000)
                        continue;
                n++;
                if ((s->size & 15) || s->allocs != 2 || s->frees != 2)
                        fail("manysizes: size %llu has %llu allocs, %llu frees",
                             (unsigned long long)s->size, (unsigned long long)s->allocs,
                             (unsigned long long)s->frees);
        }
        CHECK_EQ("sites of the 6000 sizes", n, 6000);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

/* Sparse mode's slow path for what is not sampled: free(NULL), page-aligned blocks,
 * realloc from NULL and to 0; exact counts at any rate. */
static void run_sparseplain(const char *rate)
{
        printf("# sparseplain at MEMPROF_RATE=%s\n", rate ? rate : "(default)");
        char line[64];
        struct heap_snapshot *a, *b;
        two_snaps("sparseplain", rate, line, sizeof(line), &a, &b);
        check_delta(a, b, 4000, 4000, 1000ull * (32 + 48 + 4096) + 10 * 5050);
        CHECK_EQ("lost samples", b->lost_samples, 0);
        if (rate && !strcmp(rate, "0"))
                CHECK_EQ("samples at rate 0", b->samples, 0);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
}

/* A child frees the sampled objects it inherited: no crash, nothing in its buckets or
 * its parent's; its own samples count exactly. */
static void run_sparsefork(void)
{
        struct child c;
        char line[512];
        spawn(&c, "sparsefork", "65536", true);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *a = snap(c.pid);
        go(&c);
        expect(&c, line, sizeof(line));
        int g = 0, used = 0;
        if (sscanf(line, "B %d%n", &g, &used) != 1)
                fail("bad line %s", line);
        line[used - 1] = 'B'; /* parse_ranges skips one character */
        struct range r[2];
        if (parse_ranges(line + used - 1, r, 2) != 2)
                fail("bad ranges in %s", line);
        struct heap_snapshot *b = snap(c.pid), *gs = snap(g);
        go(&c);
        expect(&c, line, sizeof(line));
        struct heap_snapshot *d = snap(c.pid);
        go(&c);
        finish(&c);
        check_site(a, r, 2, "keep", 2 * MIB, 8, 0);
        check_site(b, r, 2, "keep", 2 * MIB, 8, 0);
        check_site(gs, r, 2, "keep", 0, 0, 0);
        check_site(gs, r, 2, "child", 2 * MIB, 12, 4);
        uint64_t frees = 0;
        for (size_t i = 0; i < gs->nsites; i++)
                if (gs->sites[i].size == 2 * MIB)
                        frees += gs->sites[i].frees;
        CHECK_EQ("child's sampled 2 MiB frees (none of the inherited)", frees, 4);
        CHECK_EQ("child lost samples", gs->lost_samples, 0);
        check_delta(a, b, 0, 0, 0);
        check_site(d, r, 2, "keep", 2 * MIB, 8, 8);
        heap_snapshot_free(a);
        heap_snapshot_free(b);
        heap_snapshot_free(gs);
        heap_snapshot_free(d);
}

/* /dev/shm too small for the segment: the program runs unprofiled, identically, and
 * says so once on stderr only with MEMPROF_DEBUG. */
static int run_noshm(bool debug, char *out, size_t outsz, char *err, size_t errsz)
{
        int o[2], e[2];
        if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
                fail("pipe: %m");
        char pre[4096];
        snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", shim);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(o[1], 1);
                dup2(e[1], 2);
                char script[] = "mount -t tmpfs -o size=4k memprof-test /dev/shm || exit 77; "
                                "exec \"$@\"";
                execlp("unshare", "unshare", "-m", "sh", "-c", script, "sh", "env",
                       debug ? "MEMPROF_DEBUG=1" : "MEMPROF_NODEBUG=1", "MEMPROF_RATE=1",
                       pre, workload, "family", (char *)NULL);
                _exit(77);
        }
        close(o[1]);
        close(e[1]);
        size_t no = 0, ne = 0;
        ssize_t n;
        while ((n = read(o[0], out + no, outsz - 1 - no)) > 0)
                no += (size_t)n;
        while ((n = read(e[0], err + ne, errsz - 1 - ne)) > 0)
                ne += (size_t)n;
        out[no] = err[ne] = '\0';
        close(o[0]);
        close(e[0]);
        int st;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void check_noshm(void)
{
        if (geteuid() != 0) {
                printf("SKIP: needs root for a private mount namespace\n");
                exit(77);
        }
        char out[256], err[1024];
        for (int debug = 0; debug <= 1; debug++) {
                int st = run_noshm(debug, out, sizeof(out), err, sizeof(err));
                if (st == 77) {
                        printf("SKIP: cannot mount a tmpfs in a new mount namespace\n");
                        exit(77);
                }
                if (st != 0 || strcmp(out, "family ok\n"))
                        fail("unprofiled run: status %d, out '%s', err '%s'", st, out, err);
                int lines = 0;
                for (char *p = err; *p; p++)
                        lines += *p == '\n';
                if (debug && (lines != 1 || strncmp(err, "memprof: ", 9)))
                        fail("with MEMPROF_DEBUG want one 'memprof:' line, got '%s'", err);
                if (!debug && err[0])
                        fail("without MEMPROF_DEBUG want silence, got '%s'", err);
                printf("ok   no /dev/shm room, MEMPROF_DEBUG=%d: same output, stderr '%s'\n",
                       debug, err);
        }
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: shim_check SCENARIO LIBMEMPROF WORKLOAD\n");
                return 2;
        }
        shim = argv[2];
        workload = argv[3];
        atexit(kill_child);
        setvbuf(stdout, NULL, _IOLBF, 0);
        const char *s = argv[1];
        if (!strcmp(s, "sites"))
                run_sites();
        else if (!strcmp(s, "counts")) {
                run_counts("1");
                run_counts("0");
                run_counts(NULL);
                run_counts("4096");
        } else if (!strcmp(s, "family")) {
                run_family(NULL, false);
                run_family("1", true);
                run_family("0", true);
                run_family(NULL, true);
                run_family("64", true);
        } else if (!strcmp(s, "threads")) {
                run_threads(NULL);
                run_threads("1");
        } else if (!strcmp(s, "threadchurn")) {
                run_threadchurn(NULL);
                run_threadchurn("1");
        } else if (!strcmp(s, "fork"))
                run_fork();
        else if (!strcmp(s, "signal")) {
                run_signal("1");
                run_signal(NULL);
        } else if (!strcmp(s, "unbiased"))
                run_unbiased();
        else if (!strcmp(s, "sparse"))
                run_sparse();
        else if (!strcmp(s, "sparseplain")) {
                run_sparseplain("0");
                run_sparseplain(NULL);
                run_sparseplain("65536");
                run_sparseplain("4096");
        } else if (!strcmp(s, "sparsefork"))
                run_sparsefork();
        else if (!strcmp(s, "sparsegrow"))
                run_sparsegrow();
        else if (!strcmp(s, "manysizes"))
                run_manysizes();
        else if (!strcmp(s, "noshm"))
                check_noshm();
        else
                fail("unknown scenario %s", s);
        printf("PASS %s\n", s);
        return 0;
}
