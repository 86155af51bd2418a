/* A program with as many distinct allocation stacks as asked for: each path through a
 * tree of four recursive functions per level ends in one malloc, so LEVELS levels give
 * 4^LEVELS call stacks.  Used with few paths for a large heap.txt, and with many threads
 * and paths at MEMPROF_RATE=1 to fill the shim's tables.
 *
 *   sites [--threads T] [--levels L] [--keep-every K] [--rounds R] [--pad P]
 *
 * Thread t walks the paths t, t+T, t+2T, ... < 4^L, R times; at each leaf it allocates
 * 16 + 8 * (path % 5) bytes and keeps the object if path % K == 0 (first round only), else
 * frees it; P extra frames below the walks make every stack deeper.  Prints a summary
 * that depends only on the arguments, then "ready", then waits for "exit" (or EOF) on
 * stdin and exits 0.  Output and exit code are the same with and without the shim. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64

struct walk {
        unsigned levels;
        unsigned keep_every;
        int keep;           /* first round: keep every K-th object */
        void **kept;        /* this thread's kept objects */
        size_t nkept, cap;
        uint64_t bytes;     /* bytes allocated by this thread */
        uint64_t allocs;
};

static void leaf(struct walk *w, unsigned path)
{
        size_t size = 16 + 8 * (path % 5);
        unsigned char *p = malloc(size);
        if (!p) {
                fprintf(stderr, "sites: out of memory\n");
                exit(1);
        }
        p[0] = (unsigned char)path;
        w->bytes += size;
        w->allocs++;
        if (w->keep && path % w->keep_every == 0 && w->nkept < w->cap) {
                w->kept[w->nkept++] = p;
                return;
        }
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
}

static void step(struct walk *w, unsigned path, unsigned level);

/* Four functions that differ in their bodies and are kept out of inlining, cloning and
 * identical-code folding, with work after the call so none is a tail call: each level
 * adds one real frame chosen by two bits of the path. */
#define STEP_FN(n)                                                          \
        __attribute__((noinline, noipa)) static void step##n(struct walk *w, \
                                                             unsigned path, \
                                                             unsigned level) \
        {                                                                   \
                volatile unsigned mark = (n) * 7 + level;                   \
                step(w, path, level + 1);                                   \
                __asm__ volatile("" : : "r"(mark) : "memory");              \
        }
STEP_FN(0)
STEP_FN(1)
STEP_FN(2)
STEP_FN(3)

__attribute__((noinline)) static void step(struct walk *w, unsigned path, unsigned level)
{
        if (level == w->levels) {
                leaf(w, path);
                return;
        }
        switch ((path >> (2 * level)) & 3) {
        case 0: step0(w, path, level); break;
        case 1: step1(w, path, level); break;
        case 2: step2(w, path, level); break;
        default: step3(w, path, level); break;
        }
}

struct job {
        pthread_t thread;
        unsigned first, stride, paths, rounds, pad;
        struct walk w;
};

/* The walks, under `left` more frames of pad(): deeper stacks fill the frame table. */
__attribute__((noinline, noipa)) static void pad(struct job *j, unsigned left)
{
        volatile unsigned mark = left;
        if (left) {
                pad(j, left - 1);
        } else {
                for (unsigned r = 0; r < j->rounds; r++) {
                        j->w.keep = r == 0;
                        for (unsigned p = j->first; p < j->paths; p += j->stride)
                                step(&j->w, p, 0);
                }
        }
        __asm__ volatile("" : : "r"(mark) : "memory");
}

static void *run(void *arg)
{
        struct job *j = arg;
        pad(j, j->pad);
        return NULL;
}

static unsigned arg(int argc, char **argv, const char *name, unsigned def)
{
        for (int i = 1; i + 1 < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return (unsigned)strtoul(argv[i + 1], NULL, 0);
        return def;
}

/* Kept-object arrays are allocated before any walk, so they are no sites of their own. */
static struct job jobs[MAX_THREADS];

int main(int argc, char **argv)
{
        unsigned threads = arg(argc, argv, "--threads", 1);
        unsigned levels = arg(argc, argv, "--levels", 5);
        unsigned keep_every = arg(argc, argv, "--keep-every", 1);
        unsigned rounds = arg(argc, argv, "--rounds", 1);
        unsigned padding = arg(argc, argv, "--pad", 0);
        char line[64];

        if (threads < 1 || threads > MAX_THREADS || levels < 1 || levels > 12 ||
            keep_every < 1 || rounds < 1 || padding > 1000) {
                fprintf(stderr, "sites: bad arguments\n");
                return 2;
        }
        unsigned paths = 1u << (2 * levels);
        for (unsigned t = 0; t < threads; t++) {
                struct job *j = &jobs[t];
                j->first = t;
                j->stride = threads;
                j->paths = paths;
                j->rounds = rounds;
                j->pad = padding;
                j->w.levels = levels;
                j->w.keep_every = keep_every;
                j->w.cap = paths / threads + 1;
                j->w.kept = calloc(j->w.cap, sizeof(void *));
                if (!j->w.kept) {
                        fprintf(stderr, "sites: out of memory\n");
                        return 1;
                }
        }
        for (unsigned t = 0; t < threads; t++)
                if (pthread_create(&jobs[t].thread, NULL, run, &jobs[t]) != 0) {
                        fprintf(stderr, "sites: pthread_create failed\n");
                        return 1;
                }
        uint64_t allocs = 0, bytes = 0, kept = 0;
        for (unsigned t = 0; t < threads; t++) {
                pthread_join(jobs[t].thread, NULL);
                allocs += jobs[t].w.allocs;
                bytes += jobs[t].w.bytes;
                kept += jobs[t].w.nkept;
        }
        /* stdio buffers of our own: nothing allocates once "ready" is out, so the
         * profile read after it is final */
        static char out_buf[256], in_buf[256];
        setvbuf(stdout, out_buf, _IOLBF, sizeof(out_buf));
        setvbuf(stdin, in_buf, _IOLBF, sizeof(in_buf));
        printf("paths %u threads %u allocs %llu bytes %llu kept %llu\n", paths, threads,
               (unsigned long long)allocs, (unsigned long long)bytes,
               (unsigned long long)kept);
        printf("ready\n");
        while (fgets(line, sizeof(line), stdin))
                if (strncmp(line, "exit", 4) == 0)
                        break;
        return 0;
}
