/* Workloads with known ground truth, run under the shim by shim_check.c.  The child
 * talks to the driver over stdin/stdout without stdio, so the windows the driver
 * measures contain exactly the allocations listed here. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                               \
        do {                                                                   \
                if (!(c)) {                                                    \
                        char m_[256];                                          \
                        int n_ = snprintf(m_, sizeof(m_), "FAIL %s:%d: %s\n",  \
                                          __FILE__, __LINE__, #c);             \
                        if (write(2, m_, (size_t)n_) < 0) {                    \
                        }                                                      \
                        _exit(1);                                              \
                }                                                              \
        } while (0)

/* Tells the driver something and waits for its go-ahead (one byte on stdin). */
static void sync_point(const char *msg)
{
        size_t n = strlen(msg);
        CHECK(write(1, msg, n) == (ssize_t)n);
        char c;
        CHECK(read(0, &c, 1) == 1);
}

/* "name lo hi" for a function, from its ELF symbol (the binary is linked -rdynamic). */
static void func_range(const char *name, void *fn, char *out, size_t size)
{
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        CHECK(dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT) && sym);
        uintptr_t lo = (uintptr_t)info.dli_saddr;
        snprintf(out, size, " %s %lx %lx", name, (unsigned long)lo,
                 (unsigned long)(lo + sym->st_size));
}

#define N_A 100
#define N_B 50
#define N_C 30
/* Not static, and handed to an asm: the compiler may not drop the allocations. */
void *keep_a[N_A], *keep_b[N_B], *keep_c[N_C];
#define ESCAPE(x) __asm__ volatile("" : : "r"(x) : "memory")

__attribute__((noinline)) void leak_a(void)
{
        for (int i = 0; i < N_A; i++)
                keep_a[i] = malloc(48);
        ESCAPE(keep_a);
}

__attribute__((noinline)) void leak_b(void)
{
        for (int i = 0; i < N_B; i++)
                keep_b[i] = calloc(1, 1000);
        ESCAPE(keep_b);
}

__attribute__((noinline)) void churn_c(void)
{
        for (int i = 0; i < N_C; i++)
                keep_c[i] = malloc(777);
        for (int i = 0; i < 10; i++)
                free(keep_c[i]);
        ESCAPE(keep_c);
}

static void scenario_sites(void)
{
        sync_point("A\n");
        leak_a();
        leak_b();
        churn_c();
        char msg[512] = "B";
        func_range("leak_a", (void *)leak_a, msg + strlen(msg), sizeof(msg) - strlen(msg));
        func_range("leak_b", (void *)leak_b, msg + strlen(msg), sizeof(msg) - strlen(msg));
        func_range("churn_c", (void *)churn_c, msg + strlen(msg), sizeof(msg) - strlen(msg));
        strcat(msg, "\n");
        sync_point(msg);
}

/* 1014 mallocs, 1014 frees, 33810 bytes (the driver knows these numbers). */
static void scenario_counts(void)
{
        sync_point("A\n");
        for (int i = 0; i < 1000; i++) {
                void *p = malloc(32);
                __asm__ volatile("" : : "r"(p) : "memory");
                free(p);
        }
        for (int i = 0; i < 10; i++) {
                void *z = calloc(3, 20);
                ESCAPE(z);
                free(z);
        }
        char *p = malloc(10);
        p = realloc(p, 100);
        p = realloc(p, 1000);
        free(p);
        void *q;
        CHECK(posix_memalign(&q, 64, 100) == 0);
        free(q);
        sync_point("B\n");
}

static void check_aligned(void *p, size_t align, size_t size)
{
        CHECK(p);
        CHECK(((uintptr_t)p & (align - 1)) == 0);
        CHECK(malloc_usable_size(p) >= size);
        memset(p, 0x5a, size);
}

/* volatile: the compiler must neither fold these calls nor warn about them */
static volatile size_t size_max = SIZE_MAX;

static void scenario_family(void)
{
        const size_t huge = size_max;
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        errno = 4242;
        void *p = malloc(10);
        CHECK(p && errno == 4242);
        CHECK(malloc_usable_size(p) >= 10);
        free(p);
        CHECK(errno == 4242);
        free(NULL);
        CHECK(errno == 4242);

        p = malloc(0);
        CHECK(p);
        free(p);

        /* calloc zeroes even recycled memory */
        for (int round = 0; round < 50; round++) {
                unsigned char *d = malloc(256);
                memset(d, 0xab, 256);
                free(d);
                unsigned char *z = calloc(16, 16);
                CHECK(z);
                for (int i = 0; i < 256; i++)
                        CHECK(z[i] == 0);
                free(z);
        }

        /* realloc keeps contents while growing and shrinking */
        unsigned char *r = malloc(16);
        for (int i = 0; i < 16; i++)
                r[i] = (unsigned char)i;
        size_t sizes[] = { 100, 5000, 300000, 64, 8, 2000000, 24 };
        size_t have = 16;
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                size_t n = sizes[k];
                r = realloc(r, n);
                CHECK(r);
                CHECK(malloc_usable_size(r) >= n);
                for (size_t i = 0; i < (have < n ? have : n); i++)
                        CHECK(r[i] == (unsigned char)i);
                for (size_t i = 0; i < n; i++)
                        r[i] = (unsigned char)i;
                have = n;
        }
        CHECK(realloc(r, 0) == NULL); /* glibc frees */

        int *arr = reallocarray(NULL, 100, sizeof(int));
        CHECK(arr);
        arr[99] = 7;
        arr = reallocarray(arr, 200, sizeof(int));
        CHECK(arr && arr[99] == 7);
        errno = 0;
        CHECK(reallocarray(arr, huge / 2, 4) == NULL && errno == ENOMEM);
        free(arr);

        for (size_t align = sizeof(void *); align <= 65536; align *= 2) {
                void *a;
                CHECK(posix_memalign(&a, align, 100) == 0);
                check_aligned(a, align, 100);
                free(a);
                a = aligned_alloc(align, 3 * align);
                check_aligned(a, align, 3 * align);
                free(a);
                a = memalign(align, 77);
                check_aligned(a, align, 77);
                free(a);
        }
        void *v = valloc(5000);
        check_aligned(v, page, 5000);
        free(v);
        v = pvalloc(5000);
        check_aligned(v, page, 2 * page);
        free(v);
        v = pvalloc(0);
        check_aligned(v, page, 0);
        free(v);

        /* failures look the same as without the shim */
        errno = 0;
        CHECK(malloc(huge) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(malloc(huge - 8) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(calloc(huge / 2, 3) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(realloc(NULL, huge) == NULL && errno == ENOMEM);
        void *keep = malloc(8);
        errno = 0;
        CHECK(realloc(keep, huge - 4096) == NULL && errno == ENOMEM);
        free(keep);
        errno = 77;
        void *a = NULL;
        CHECK(posix_memalign(&a, 3, 10) == EINVAL && errno == 77);
        CHECK(posix_memalign(&a, 64, huge - 64) == ENOMEM);
        errno = 0;
        CHECK(aligned_alloc(64, huge - 64) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(memalign(64, huge - 64) == NULL && errno == ENOMEM);

        char *s = strdup("hello shim");
        CHECK(s && !strcmp(s, "hello shim"));
        free(s);
        printf("family ok\n");
}

/* Eight threads, parked at a barrier while the driver takes snapshot A. */
#define THREADS 8
#define PER_THREAD 10000
static pthread_barrier_t ready_b, start_b, done_b;

static void *thread_work(void *arg)
{
        (void)arg;
        pthread_barrier_wait(&ready_b);
        pthread_barrier_wait(&start_b);
        for (int i = 0; i < PER_THREAD; i++) {
                void *p = malloc((size_t)(i % 100) + 1);
                __asm__ volatile("" : : "r"(p) : "memory");
                free(p);
        }
        pthread_barrier_wait(&done_b);
        pthread_barrier_wait(&start_b);
        return NULL;
}

static void scenario_threads(void)
{
        pthread_t t[THREADS];
        pthread_barrier_init(&ready_b, NULL, THREADS + 1);
        pthread_barrier_init(&start_b, NULL, THREADS + 1);
        pthread_barrier_init(&done_b, NULL, THREADS + 1);
        for (int i = 0; i < THREADS; i++)
                CHECK(pthread_create(&t[i], NULL, thread_work, NULL) == 0);
        pthread_barrier_wait(&ready_b); /* all running: each has its slot */
        sync_point("A\n");
        pthread_barrier_wait(&start_b);
        pthread_barrier_wait(&done_b);
        sync_point("B\n");
        pthread_barrier_wait(&start_b);
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
}

/* More threads over time than the segment has slots (1024): slots of exited threads are
 * taken over, and the counts stay exact (10 pairs per thread). */
#define CHURN_THREADS 2500

static void *churn_thread(void *arg)
{
        (void)arg;
        for (int i = 0; i < 10; i++) {
                void *p = malloc(100);
                ESCAPE(p);
                free(p);
        }
        return NULL;
}

static void scenario_threadchurn(void)
{
        pthread_t warm; /* glibc's first thread allocates its bookkeeping once */
        CHECK(pthread_create(&warm, NULL, churn_thread, NULL) == 0);
        CHECK(pthread_join(warm, NULL) == 0);
        sync_point("A\n");
        for (int i = 0; i < CHURN_THREADS; i++) {
                pthread_t t;
                pthread_attr_t attr;
                pthread_attr_init(&attr);
                CHECK(pthread_create(&t, &attr, churn_thread, NULL) == 0);
                CHECK(pthread_join(t, NULL) == 0);
                pthread_attr_destroy(&attr);
        }
        sync_point("B\n");
}

/* A grandchild allocates 20 x 4096 and keeps them; the parent's own counts must not
 * move, and each process must have its own segment. */
static void scenario_fork(void)
{
        sync_point("A\n");
        int up[2], down[2];
        CHECK(pipe(up) == 0 && pipe(down) == 0);
        pid_t g = fork();
        CHECK(g >= 0);
        if (g == 0) {
                close(down[1]);
                for (int i = 0; i < 20; i++)
                        keep_a[i] = malloc(4096);
                ESCAPE(keep_a);
                char c = 'x';
                CHECK(write(up[1], &c, 1) == 1);
                CHECK(read(down[0], &c, 1) >= 0);
                _exit(0);
        }
        close(down[0]);
        char c;
        CHECK(read(up[0], &c, 1) == 1);
        char msg[64];
        snprintf(msg, sizeof(msg), "B %d\n", (int)g);
        sync_point(msg);
        close(down[1]);
        int st;
        CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Signal handlers that allocate while the main thread allocates; the counts stay
 * exact (main's 2 per iteration + 3 per handled signal). */
static volatile sig_atomic_t handled;
static volatile int stop_sender;
static pthread_t main_thread;

/* glibc's malloc is not async-signal-safe: a handler that allocates while the thread it
 * interrupted is inside malloc corrupts the tcache with or without the shim.  So, like a
 * correct program, main marks the windows where it is inside the allocator and the
 * handler allocates only outside them (and counts what it skipped). */
static volatile sig_atomic_t in_allocator, skipped;

static void on_signal(int sig)
{
        (void)sig;
        if (in_allocator) {
                skipped++;
                return;
        }
        int saved = errno;
        void *a = malloc(24), *b = calloc(2, 40);
        void *c = realloc(a, 200);
        free(b);
        free(c);
        handled++;
        errno = saved;
}

static void *sender(void *arg)
{
        (void)arg;
        while (!stop_sender) {
                pthread_kill(main_thread, SIGUSR1);
                for (volatile int i = 0; i < 2000; i++) {
                }
        }
        return NULL;
}

static void scenario_signal(void)
{
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
        main_thread = pthread_self();
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set, NULL); /* only inside the measured loop */
        pthread_t t;
        CHECK(pthread_create(&t, NULL, sender, NULL) == 0);
        sync_point("A\n");
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        long iters = 0;
        for (; iters < 5000000 && (iters < 100000 || handled < 300); iters++) {
                in_allocator = 1;
                void *p = malloc((size_t)(iters % 64) + 1);
                in_allocator = 0;
                __asm__ volatile("" : : "r"(p) : "memory");
                in_allocator = 1;
                free(p);
                void *q = malloc(40);
                in_allocator = 0;
                __asm__ volatile("" : : "r"(q) : "memory");
                in_allocator = 1;
                free(q);
                in_allocator = 0;
                /* a window outside the allocator, or at rate 1 (every malloc a slow path)
                 * nearly every signal would land inside and be skipped */
                for (volatile int k = 0; k < 256; k++) {
                }
        }
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        stop_sender = 1;
        char msg[64];
        snprintf(msg, sizeof(msg), "B %d %ld\n", (int)handled, iters);
        sync_point(msg);
        pthread_join(t, NULL);
}

/* 48 MiB in 1 KiB objects from one site, for the unbiasedness check. */
#define BIG_N (48 * 1024)
void *big[BIG_N];

__attribute__((noinline)) void big_site(void)
{
        for (int i = 0; i < BIG_N; i++)
                big[i] = malloc(1024);
        ESCAPE(big);
}

static void scenario_unbiased(void)
{
        /* other traffic around it, freed again */
        for (int i = 0; i < 100000; i++)
                free(malloc((size_t)(i % 4000) + 1));
        big_site();
        char msg[256] = "B";
        func_range("big_site", (void *)big_site, msg + 1, sizeof(msg) - 1);
        strcat(msg, "\n");
        sync_point(msg);
}

/* Sparse mode (run at MEMPROF_RATE=65536).  Objects of 2 MiB are sampled with
 * probability 1 - exp(-32) at that rate, so the driver may count them exactly; the
 * 256 KiB ones (sampled with probability 98%) are all freed again, so their sites
 * must show as many frees as allocations, whatever was sampled. */
#define SP_BIG (2u << 20)
#define SP_MID (256u << 10)
#define SP_N 8
void *sp_keep[SP_N], *sp_cal[SP_N], *sp_a64[SP_N], *sp_a8k[SP_N], *sp_mid[64];

static void fill(void *p, size_t n, unsigned char seed)
{
        unsigned char *c = p;
        for (size_t i = 0; i < n; i += 4096)
                c[i] = (unsigned char)(seed + i / 4096);
        c[n - 1] = seed;
}

/* What fill wrote in the first n bytes (n <= the filled size; the last byte only if
 * the same size). */
static void check_fill_upto(const void *p, size_t n, unsigned char seed, bool whole)
{
        const unsigned char *c = p;
        for (size_t i = 0; i < n; i += 4096)
                CHECK(c[i] == (unsigned char)(seed + i / 4096));
        CHECK(!whole || c[n - 1] == seed);
}

static void check_fill(const void *p, size_t n, unsigned char seed)
{
        check_fill_upto(p, n, seed, true);
}

/* A sampled object fills its whole usable size without disturbing the allocator. */
static void check_usable(void *p, size_t n)
{
        size_t u = malloc_usable_size(p);
        CHECK(u >= n);
        memset(p, 0x5a, u);
}

__attribute__((noinline)) void sp_site_keep(void)
{
        for (int i = 0; i < SP_N; i++) {
                sp_keep[i] = malloc(SP_BIG);
                /* sampled (surely, at this size) means page-aligned in sparse mode */
                CHECK(sp_keep[i] && ((uintptr_t)sp_keep[i] & 4095) == 0);
                check_usable(sp_keep[i], SP_BIG);
        }
        ESCAPE(sp_keep);
}

__attribute__((noinline)) void sp_site_free(void)
{
        void *p[SP_N];
        for (int i = 0; i < SP_N; i++) {
                p[i] = malloc(SP_BIG);
                CHECK(p[i]);
                fill(p[i], SP_BIG, (unsigned char)i);
        }
        ESCAPE(p);
        for (int i = 0; i < SP_N; i++) {
                check_fill(p[i], SP_BIG, (unsigned char)i);
                free(p[i]);
        }
}

/* 8 callocs, 4 freed; each must read as zero (even over recycled, perturbed memory) */
__attribute__((noinline)) void sp_site_calloc(void)
{
        for (int i = 0; i < SP_N; i++) {
                unsigned char *z = calloc(SP_BIG / 64, 64);
                CHECK(z);
                for (size_t k = 0; k < SP_BIG; k += 512)
                        CHECK(z[k] == 0 && z[k + 511] == 0);
                check_usable(z, SP_BIG);
                sp_cal[i] = z;
        }
        for (int i = 0; i < SP_N; i += 2)
                free(sp_cal[i]);
        ESCAPE(sp_cal);
}

/* 8 with alignment 64 (2 freed), 8 with 8192 (6 freed) */
__attribute__((noinline)) void sp_site_align(void)
{
        for (int i = 0; i < SP_N; i++) {
                CHECK(posix_memalign(&sp_a64[i], 64, SP_BIG) == 0);
                CHECK(((uintptr_t)sp_a64[i] & 63) == 0);
                check_usable(sp_a64[i], SP_BIG);
        }
        for (int i = 0; i < 2; i++)
                free(sp_a64[i]);
        ESCAPE(sp_a64);
}

__attribute__((noinline)) void sp_site_align8k(void)
{
        for (int i = 0; i < SP_N; i++) {
                CHECK(posix_memalign(&sp_a8k[i], 8192, SP_BIG) == 0);
                CHECK(((uintptr_t)sp_a8k[i] & 8191) == 0);
                check_usable(sp_a8k[i], SP_BIG);
        }
        for (int i = 0; i < 6; i++)
                free(sp_a8k[i]);
        ESCAPE(sp_a8k);
}

__attribute__((noinline)) void *sp_site_realloc(void *p, size_t n)
{
        void *q = realloc(p, n);
        ESCAPE(q);
        return q;
}

/* One block through realloc: 2 MiB (sp_site_keep's size, from here) -> 3 MiB -> 4 MiB ->
 * 100 bytes -> 3 MiB -> realloc(p, 0), contents kept at every step. */
__attribute__((noinline)) void sp_site_realloc_start(void)
{
        unsigned char *p = malloc(SP_BIG);
        CHECK(p);
        fill(p, SP_BIG, 7);
        p = sp_site_realloc(p, 3u << 20);
        CHECK(p);
        check_fill(p, SP_BIG, 7);
        fill(p, 3u << 20, 9);
        p = sp_site_realloc(p, 4u << 20);
        CHECK(p);
        check_fill(p, 3u << 20, 9);
        check_usable(p, 4u << 20);
        memset(p, 3, 100);
        p = sp_site_realloc(p, 100);
        CHECK(p);
        for (int i = 0; i < 100; i++)
                CHECK(p[i] == 3);
        p = sp_site_realloc(p, 3u << 20);
        CHECK(p);
        for (int i = 0; i < 100; i++)
                CHECK(p[i] == 3);
        CHECK(sp_site_realloc(p, 0) == NULL); /* glibc frees */
}

__attribute__((noinline)) void sp_site_mid(void)
{
        for (int i = 0; i < 64; i++) {
                sp_mid[i] = malloc(SP_MID);
                CHECK(sp_mid[i]);
                fill(sp_mid[i], SP_MID, (unsigned char)i);
        }
        ESCAPE(sp_mid);
        for (int i = 0; i < 64; i += 2)
                sp_mid[i] = sp_site_realloc(sp_mid[i], SP_MID / 2);
        for (int i = 0; i < 64; i++) {
                check_fill_upto(sp_mid[i], i % 2 ? SP_MID : SP_MID / 2, (unsigned char)i,
                                i % 2);
                free(sp_mid[i]);
        }
}

static void append_range(char *msg, size_t size, const char *name, void *fn)
{
        size_t n = strlen(msg);
        func_range(name, fn, msg + n, size - n);
}

/* Between A and B (the driver checks these exact totals):
 *   mallocs: keep 8, free 8, calloc 8, align64 8, align8k 8, realloc chain 1 + 4 (the
 *            last realloc(p, 0) only frees), mid 64 + 32                        = 141
 *   frees:   free 8, calloc 4, align64 2, align8k 6, realloc chain 4 + 1,
 *            mid 32 + 64                                                        = 121 */
static void scenario_sparse(void)
{
        sync_point("A\n");
        sp_site_keep();
        sp_site_free();
        sp_site_calloc();
        sp_site_align();
        sp_site_align8k();
        sp_site_realloc_start();
        sp_site_mid();
        char msg[1024] = "B";
        append_range(msg, sizeof(msg), "keep", (void *)sp_site_keep);
        append_range(msg, sizeof(msg), "free", (void *)sp_site_free);
        append_range(msg, sizeof(msg), "calloc", (void *)sp_site_calloc);
        append_range(msg, sizeof(msg), "align64", (void *)sp_site_align);
        append_range(msg, sizeof(msg), "align8k", (void *)sp_site_align8k);
        append_range(msg, sizeof(msg), "realloc", (void *)sp_site_realloc);
        append_range(msg, sizeof(msg), "rstart", (void *)sp_site_realloc_start);
        append_range(msg, sizeof(msg), "mid", (void *)sp_site_mid);
        strcat(msg, "\n");
        sync_point(msg);
        /* everything freed: the driver then finds no live sample at all */
        for (int i = 0; i < SP_N; i++) {
                free(sp_keep[i]);
                if (i % 2)
                        free(sp_cal[i]);
                if (i >= 2)
                        free(sp_a64[i]);
                if (i >= 6)
                        free(sp_a8k[i]);
        }
        sync_point("C\n");
}

/* Sampled heap blocks grown by realloc, 48 KiB to 112 KiB in 8 KiB steps, interleaved
 * so that glibc often moves a block to one at another page offset: the shim must then
 * move the object within the new block.  Contents checked at every step.  Between A and
 * B: mallocs 32 + 32 x 8 = 288, frees 32 x 8 + 32 = 288 (a realloc counts one of each);
 * allocated bytes 32 x (48 + 56 + ... + 112) KiB. */
#define SG_N 32
#define SG_STEPS 8

static void scenario_sparsegrow(void)
{
        void *p[SG_N];

        sync_point("A\n");
        for (int i = 0; i < SG_N; i++) {
                p[i] = malloc(48u << 10);
                CHECK(p[i]);
                fill(p[i], 48u << 10, (unsigned char)i);
        }
        for (int s = 1; s <= SG_STEPS; s++)
                for (int i = 0; i < SG_N; i++) {
                        size_t old = (size_t)(48 + 8 * (s - 1)) << 10;
                        size_t n = (size_t)(48 + 8 * s) << 10;
                        void *q = realloc(p[i], n);

                        CHECK(q);
                        check_fill(q, old, (unsigned char)(i + s - 1));
                        fill(q, n, (unsigned char)(i + s));
                        p[i] = q;
                }
        for (int i = 0; i < SG_N; i++)
                free(p[i]);
        sync_point("B\n");
}

/* What takes free's slow path in sparse mode without being sampled: NULL, page-aligned
 * blocks of the allocator, realloc from NULL and to 0.  1000 of each round:
 * mallocs 1000 x (memalign + valloc + realloc(NULL) + posix_memalign) = 4000,
 * frees 1000 x (memalign + valloc + realloc(p, 0) + posix_memalign) = 4000. */
static void scenario_sparseplain(void)
{
        sync_point("A\n");
        for (int i = 0; i < 1000; i++) {
                free(NULL);
                void *p = memalign(4096, 32);
                CHECK(p && ((uintptr_t)p & 4095) == 0);
                CHECK(malloc_usable_size(p) >= 32);
                free(p);
                p = valloc((size_t)(i % 100) + 1);
                CHECK(p && ((uintptr_t)p & 4095) == 0);
                CHECK(malloc_usable_size(p) >= (size_t)(i % 100) + 1);
                free(p);
                unsigned char *r = realloc(NULL, 48);
                CHECK(r);
                r[47] = 1;
                CHECK(realloc(r, 0) == NULL); /* glibc frees */
                CHECK(posix_memalign(&p, 4096, 4096) == 0 && ((uintptr_t)p & 4095) == 0);
                memset(p, 1, 4096);
                free(p);
        }
        CHECK(malloc_usable_size(NULL) == 0);
        sync_point("B\n");
}

/* Fork in sparse mode: the child frees (one by realloc) the parent's sampled objects,
 * then allocates 12 x 2 MiB of its own and frees 4; the parent frees its own after. */
__attribute__((noinline)) void spf_child_site(void)
{
        for (int i = 0; i < 12; i++) {
                keep_a[i] = malloc(SP_BIG);
                CHECK(keep_a[i]);
        }
        for (int i = 0; i < 4; i++)
                free(keep_a[i]);
        ESCAPE(keep_a);
}

static void scenario_sparsefork(void)
{
        sp_site_keep();
        for (int i = 0; i < SP_N; i++)
                fill(sp_keep[i], SP_BIG, (unsigned char)i);
        sync_point("A\n");
        int up[2], down[2];
        CHECK(pipe(up) == 0 && pipe(down) == 0);
        pid_t g = fork();
        CHECK(g >= 0);
        if (g == 0) {
                close(down[1]);
                for (int i = 0; i < SP_N; i++)
                        check_fill(sp_keep[i], SP_BIG, (unsigned char)i);
                CHECK(malloc_usable_size(sp_keep[0]) >= SP_BIG);
                sp_keep[1] = realloc(sp_keep[1], 100);
                CHECK(sp_keep[1] && ((unsigned char *)sp_keep[1])[0] == 1);
                for (int i = 0; i < SP_N; i++)
                        free(sp_keep[i]);
                spf_child_site();
                char c = 'x';
                CHECK(write(up[1], &c, 1) == 1);
                CHECK(read(down[0], &c, 1) >= 0);
                _exit(0);
        }
        close(down[0]);
        char c;
        CHECK(read(up[0], &c, 1) == 1);
        char msg[512];
        snprintf(msg, sizeof(msg), "B %d", (int)g);
        append_range(msg, sizeof(msg), "keep", (void *)sp_site_keep);
        append_range(msg, sizeof(msg), "child", (void *)spf_child_site);
        strcat(msg, "\n");
        sync_point(msg);
        close(down[1]);
        int st;
        CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        for (int i = 0; i < SP_N; i++)
                check_fill(sp_keep[i], SP_BIG, (unsigned char)i);
        for (int i = 0; i < SP_N; i++)
                free(sp_keep[i]);
        sync_point("C\n");
}

/* 6000 distinct sizes of 1 MiB and a little more, two rounds, each block freed at once:
 * at MEMPROF_RATE=65536 every one is sampled (1 - exp(-16)), so 6000 buckets of one
 * stack, which the shim's bucket index, starting at 4096 slots, must double twice for
 * and still find in the second round.  12000 mallocs, 12000 frees. */
#define MS_N 6000
#define MS_BASE (1u << 20)

__attribute__((noinline)) static void many_sizes_round(void)
{
        for (unsigned k = 0; k < MS_N; k++) {
                void *p = malloc(MS_BASE + 16 * k);

                CHECK(p);
                ESCAPE(p);
                free(p);
        }
}

static void scenario_manysizes(void)
{
        sync_point("A\n");
        /* one call site, so one stack for both rounds (volatile: not unrolled) */
        for (volatile int round = 0; round < 2; round++)
                many_sizes_round();
        sync_point("B\n");
}

int main(int argc, char **argv)
{
        if (argc != 2)
                return 2;
        const char *s = argv[1];
        if (!strcmp(s, "sites"))
                scenario_sites();
        else if (!strcmp(s, "counts"))
                scenario_counts();
        else if (!strcmp(s, "family"))
                scenario_family();
        else if (!strcmp(s, "threads"))
                scenario_threads();
        else if (!strcmp(s, "fork"))
                scenario_fork();
        else if (!strcmp(s, "threadchurn"))
                scenario_threadchurn();
        else if (!strcmp(s, "signal"))
                scenario_signal();
        else if (!strcmp(s, "unbiased"))
                scenario_unbiased();
        else if (!strcmp(s, "sparse"))
                scenario_sparse();
        else if (!strcmp(s, "sparseplain"))
                scenario_sparseplain();
        else if (!strcmp(s, "sparsefork"))
                scenario_sparsefork();
        else if (!strcmp(s, "sparsegrow"))
                scenario_sparsegrow();
        else if (!strcmp(s, "manysizes"))
                scenario_manysizes();
        else
                return 2;
        return 0;
}
