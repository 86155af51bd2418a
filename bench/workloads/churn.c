/* Benchmark workload: multi-threaded malloc churn under deep call stacks, using the
 * whole malloc family, deterministic so every run does exactly the same work.
 *
 *   churn [THREADS [ROUNDS]]      (default 2 threads, 20000 rounds each)
 *
 * Each round descends through a chain of 30 distinct functions (which one follows which
 * depends on the round, so stacks vary) and at the bottom performs OPS_PER_ROUND
 * operations on a per-thread table of live blocks: free and replace a block with malloc,
 * calloc, realloc (grow or shrink), posix_memalign or aligned_alloc.  The work sits at
 * the bottom of a deep stack because a profiler's cost per sample grows with depth, and
 * real programs allocate far from main().  Prints a checksum of what it did, so a run
 * under a profiler can be checked to behave exactly like one without.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 30
#define OPS_PER_ROUND 64
#define LIVE 4096 /* live blocks per thread: a working set beyond the tcache */

struct worker {
        uint64_t rng;
        void *live[LIVE];
        uint64_t sum;
        unsigned rounds;
};

static uint64_t next(struct worker *w)
{
        /* xorshift64*: cheap and the same sequence everywhere */
        w->rng ^= w->rng >> 12;
        w->rng ^= w->rng << 25;
        w->rng ^= w->rng >> 27;
        return w->rng * 0x2545f4914f6cdd1dULL;
}

/* Mostly small requests with a tail of larger ones, like real programs. */
static size_t pick_size(struct worker *w)
{
        uint64_t r = next(w);
        switch (r & 15) {
        case 0:
                return 4096 + (r >> 8) % 60000;
        case 1:
        case 2:
                return 512 + (r >> 8) % 3584;
        default:
                return 8 + (r >> 8) % 504;
        }
}

static void die(const char *what)
{
        fprintf(stderr, "churn: %s failed\n", what);
        exit(1);
}

__attribute__((noinline)) static void operate(struct worker *w)
{
        for (int op = 0; op < OPS_PER_ROUND; op++) {
                uint64_t r = next(w);
                unsigned i = (unsigned)(r % LIVE);
                size_t n = pick_size(w);
                void *p = NULL;

                switch ((r >> 32) % 10) {
                case 0: /* realloc the block in place of free + malloc */
                        p = realloc(w->live[i], n);
                        if (!p)
                                die("realloc");
                        w->live[i] = NULL;
                        break;
                case 1:
                        p = calloc(1, n);
                        if (!p)
                                die("calloc");
                        if (((unsigned char *)p)[n - 1] != 0)
                                die("calloc zeroing");
                        break;
                case 2:
                        if (posix_memalign(&p, 64, n) != 0)
                                die("posix_memalign");
                        break;
                case 3:
                        p = aligned_alloc(32, (n + 31) & ~(size_t)31);
                        if (!p)
                                die("aligned_alloc");
                        break;
                default:
                        p = malloc(n);
                        if (!p)
                                die("malloc");
                        break;
                }
                free(w->live[i]);
                /* touch the block so the allocation is not free to the allocator */
                ((unsigned char *)p)[0] = (unsigned char)r;
                w->live[i] = p;
                w->sum += n;
        }
}

/* The call chain: 30 distinct functions; level k calls level k+1 through a table so the
 * compiler can neither inline the chain nor turn it into tail calls. */
typedef void level_fn(struct worker *w, unsigned round, int depth);
static level_fn *const levels[DEPTH + 1];

#define LEVEL(k)                                                                          \
        __attribute__((noinline)) static void level##k(struct worker *w, unsigned round,  \
                                                       int depth)                         \
        {                                                                                 \
                volatile int keep = depth;                                                \
                if (depth == DEPTH) {                                                     \
                        operate(w);                                                       \
                } else {                                                                  \
                        /* every 4th round takes a different successor: varied stacks */  \
                        int succ = ((round >> (depth & 7)) & 3) == 0 ? k + 2 : k + 1;     \
                        if (succ > DEPTH)                                                 \
                                succ = DEPTH;                                             \
                        levels[succ](w, round, depth + 1);                                \
                }                                                                         \
                (void)keep;                                                               \
        }

LEVEL(0) LEVEL(1) LEVEL(2) LEVEL(3) LEVEL(4) LEVEL(5) LEVEL(6) LEVEL(7) LEVEL(8) LEVEL(9)
LEVEL(10) LEVEL(11) LEVEL(12) LEVEL(13) LEVEL(14) LEVEL(15) LEVEL(16) LEVEL(17) LEVEL(18)
LEVEL(19) LEVEL(20) LEVEL(21) LEVEL(22) LEVEL(23) LEVEL(24) LEVEL(25) LEVEL(26) LEVEL(27)
LEVEL(28) LEVEL(29) LEVEL(30)

static level_fn *const levels[DEPTH + 1] = {
        level0,  level1,  level2,  level3,  level4,  level5,  level6,  level7,
        level8,  level9,  level10, level11, level12, level13, level14, level15,
        level16, level17, level18, level19, level20, level21, level22, level23,
        level24, level25, level26, level27, level28, level29, level30,
};

static void *work(void *arg)
{
        struct worker *w = arg;
        for (unsigned round = 0; round < w->rounds; round++)
                levels[0](w, round, 0);
        for (unsigned i = 0; i < LIVE; i++)
                free(w->live[i]);
        return NULL;
}

int main(int argc, char **argv)
{
        int nthreads = argc > 1 ? atoi(argv[1]) : 2;
        unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20000;
        if (nthreads < 1 || nthreads > 64) {
                fprintf(stderr, "usage: churn [THREADS(1-64) [ROUNDS]]\n");
                return 2;
        }

        struct worker *ws = calloc((size_t)nthreads, sizeof(*ws));
        pthread_t *tids = calloc((size_t)nthreads, sizeof(*tids));
        if (!ws || !tids)
                die("calloc");
        for (int t = 0; t < nthreads; t++) {
                ws[t].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
                ws[t].rounds = rounds;
                if (pthread_create(&tids[t], NULL, work, &ws[t]) != 0)
                        die("pthread_create");
        }
        uint64_t sum = 0;
        for (int t = 0; t < nthreads; t++) {
                pthread_join(tids[t], NULL);
                sum += ws[t].sum;
        }
        printf("churn threads=%d rounds=%u ops=%llu bytes=%llu\n", nthreads, rounds,
               (unsigned long long)nthreads * rounds * OPS_PER_ROUND, (unsigned long long)sum);
        free(ws);
        free(tids);
        return 0;
}
