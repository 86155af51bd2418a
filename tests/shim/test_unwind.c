/* The shim's unwinders against libunwind's unw_backtrace, frame for frame, from stacks
 * of many shapes: deep and varied call chains, frames that address their CFA through
 * RBP (alloca), huge frames, recursion, threads, stacks that share their innermost
 * frames, a swapcontext stack, and a signal handler and frames whose rules would have
 * it read below the stack pointer (which the fast walk hands to the careful one).  The
 * careful walk is compared on every one of them.  Built twice, with and without frame
 * pointers. */
#define UNW_LOCAL_ONLY
#include <alloca.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "unwind.h"

#define MAX 256

static volatile int checks, fallbacks; /* the signal handler counts too */

#define CHECK(cond)                                                                        \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                                #cond);                                                    \
                        exit(1);                                                           \
                }                                                                          \
        } while (0)

/* Frames against libunwind's: entry 0 is each call's own return address; from entry 1
 * on they must be the same, all of them (upto < 0) or the first upto. */
static void check_same(const char *who, const uint64_t *mine, int n, void *const *ref, int nref,
                       int upto)
{
        bool ok = upto < 0 ? n == nref : n >= upto && nref >= upto;

        for (int i = 1; ok && i < (upto < 0 ? n : upto); i++)
                ok = mine[i] == (uint64_t)(uintptr_t)ref[i];
        if (!ok) {
                fprintf(stderr, "%s %d frames, unw_backtrace %d\n", who, n, nref);
                for (int i = 0; i < (n > nref ? n : nref); i++)
                        fprintf(stderr, "  #%d %#lx %p\n", i, i < n ? (unsigned long)mine[i] : 0ul,
                                i < nref ? ref[i] : NULL);
        }
        CHECK(ok);
}

static volatile int careful_checks; /* the careful walk's comparisons */
static int careful_upto = -1;       /* how many of its frames must match (-1: all) */

/* The unwinders from the same frame: the fast one where it walks (returning its count,
 * -1 when it leaves the stack to the careful one), the careful one always. */
__attribute__((noinline)) static int compare(void)
{
        void *ref[MAX];
        uint64_t mine[MAX], careful[MAX];
        int nref = unw_backtrace(ref, MAX);
        /* every other walk as at sparse rates, prefetching the last walk's rules */
        int n = mp_unwind(mine, MAX, 0, 0, checks & 1);
        int nc = mp_unwind_careful(careful, MAX, 0, 0);

        check_same("mp_unwind_careful", careful, nc, ref, nref, careful_upto);
        careful_checks++;
        if (n < 0) {
                fallbacks++;
                return n;
        }
        check_same("mp_unwind", mine, n, ref, nref, -1);
        checks++;
        return n;
}

static volatile unsigned sink; /* sums that wrap */
typedef int chain_fn(int depth, unsigned path);
static chain_fn *const chain[4];

/* A chain of calls whose shape depends on `path`: plain frames, alloca frames (CFA in
 * RBP even without frame pointers), frames with a big array, all interleaved. */
__attribute__((noinline)) static int plain(int depth, unsigned path)
{
        volatile int keep = depth;

        if (depth == 0)
                return compare();
        keep += chain[path & 3](depth - 1, path >> 2 | path << 30);
        return keep;
}

__attribute__((noinline)) static int dynamic(int depth, unsigned path)
{
        volatile char *buf = alloca(16 + (depth & 7) * 24);

        buf[0] = (char)depth;
        if (depth == 0)
                return compare() + buf[0];
        return chain[path & 3](depth - 1, path >> 2 | path << 30) + buf[0];
}

__attribute__((noinline)) static int big(int depth, unsigned path)
{
        volatile char buf[70000];

        buf[0] = (char)depth;
        buf[sizeof(buf) - 1] = 1;
        if (depth == 0)
                return compare() + buf[0];
        return chain[path & 3](depth - 1, path >> 2 | path << 30) + buf[sizeof(buf) - 1];
}

__attribute__((noinline)) static int many_args(int depth, unsigned path)
{
        volatile long a = depth, b = path, c = a * b, d = a ^ b, e = c + d;

        if (depth == 0)
                return compare() + (int)(a + b + c + d + e);
        return chain[path & 3](depth - 1, path * 2654435761u) + (int)(e & 1);
}

static chain_fn *const chain[4] = { plain, dynamic, big, many_args };

static void shapes(void)
{
        for (unsigned path = 0; path < 200; path++)
                for (int depth = 0; depth < 40; depth += 7)
                        sink += chain[path & 3](depth, path * 0x9e3779b9u);
}

/* Same start, different stack: the four innermost frames and the stack pointer are the
 * same whichever of via_a and via_b called them, so the memo of whole walks is found
 * for both and must notice, from the words it checks, that the frames beyond differ. */
__attribute__((noinline)) static int inner3(void) { int r = compare(); sink++; return r; }
__attribute__((noinline)) static int inner2(void) { int r = inner3(); sink++; return r; }
__attribute__((noinline)) static int inner1(void) { int r = inner2(); sink++; return r; }
__attribute__((noinline)) static int inner0(void) { int r = inner1(); sink++; return r; }
__attribute__((noinline)) static int via_a(void) { int r = inner0(); sink += 1; return r; }
__attribute__((noinline)) static int via_b(void) { int r = inner0(); sink += 2; return r; }

static void same_start(void)
{
        int (*const via[2])(void) = { via_a, via_b };

        for (int i = 0; i < 400; i++)
                sink += via[(i >> (i % 3)) & 1]();
}

/* A stack of the program's own making (swapcontext), mapped apart from the thread's:
 * either walked like libunwind walks it, or left to libunwind, never a wild read. */
static ucontext_t main_ctx, co_ctx;

static void coroutine(void)
{
        for (int i = 0; i < 50; i++)
                sink += i % 2 ? via_a() : via_b();
}

static void foreign_stack(void)
{
        size_t size = 256 << 10;
        void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);

        CHECK(stack != MAP_FAILED);
        CHECK(getcontext(&co_ctx) == 0);
        co_ctx.uc_stack.ss_sp = stack;
        co_ctx.uc_stack.ss_size = size;
        co_ctx.uc_link = &main_ctx;
        makecontext(&co_ctx, coroutine, 0);
        CHECK(swapcontext(&main_ctx, &co_ctx) == 0);
        munmap(stack, size);
}

/*
 * A stack of the program's making just below the thread's own, with an inaccessible
 * page between them (a guard page): mapped, so mincore calls it mapped, but a read
 * there faults.  A frame whose rule finds its CFA through RBP, and RBP pointing into that
 * page, must not make either walk read it.  (libunwind would read it: no reference
 * here, only no fault, and the careful walk's frames up to that frame.)
 */
#define GUARDED_CO (256u << 10)
#define GUARDED_THREAD (1u << 20)

static char *guard_page;
static volatile int guarded_fast, guarded_careful;
static ucontext_t guarded_main_ctx, guarded_co_ctx;

__attribute__((noinline, used)) void guard_probe(void)
{
        uint64_t pcs[MAX];

        guarded_fast = mp_unwind(pcs, MAX, 0, 0, false);
        guarded_careful = mp_unwind_careful(pcs, MAX, 0, 0);
}

void rbp_in_guard(void);
__asm__(".text\n"
        ".globl rbp_in_guard\n"
        ".type rbp_in_guard, @function\n"
        "rbp_in_guard:\n"
        ".cfi_startproc\n"
        "push %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "mov guard_page(%rip), %rbp\n"
        "add $64, %rbp\n"
        ".cfi_def_cfa %rbp, 16\n" /* claims its CFA inside the guard page */
        "call guard_probe\n"
        "pop %rbp\n"
        ".cfi_def_cfa %rsp, 8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size rbp_in_guard, . - rbp_in_guard\n");

static void guarded_coroutine(void)
{
        rbp_in_guard();
}

static void *guarded_thread(void *arg)
{
        char *co = arg;

        CHECK(getcontext(&guarded_co_ctx) == 0);
        guarded_co_ctx.uc_stack.ss_sp = co;
        guarded_co_ctx.uc_stack.ss_size = GUARDED_CO;
        guarded_co_ctx.uc_link = &guarded_main_ctx;
        makecontext(&guarded_co_ctx, guarded_coroutine, 0);
        CHECK(swapcontext(&guarded_main_ctx, &guarded_co_ctx) == 0);
        return NULL;
}

static void guarded_neighbour(void)
{
        size_t size = GUARDED_CO + 4096 + GUARDED_THREAD;
        char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                          0);
        pthread_attr_t attr;
        pthread_t t;

        CHECK(base != MAP_FAILED);
        guard_page = base + GUARDED_CO;
        CHECK(mprotect(guard_page, 4096, PROT_NONE) == 0);
        CHECK(pthread_attr_init(&attr) == 0);
        CHECK(pthread_attr_setstack(&attr, guard_page + 4096, GUARDED_THREAD) == 0);
        CHECK(pthread_create(&t, &attr, guarded_thread, base) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        pthread_attr_destroy(&attr);
        munmap(base, size);
        /* the careful walk stops at the lying frame: guard_probe's caller is found */
        CHECK(guarded_careful >= 2);
}

static void *thread_main(void *arg)
{
        (void)arg;
        shapes();
        return NULL;
}

/* In a thread of its own: the memo's credit is per thread, and main's walks of ever new
 * shapes may have turned it off there. */
static void *same_start_main(void *arg)
{
        unsigned before = mp_unwind_replays();

        same_start();
        *(unsigned *)arg = mp_unwind_replays() - before;
        return NULL;
}

/* Frames whose unwind rules this unwinder refuses, leaving the stack to libunwind: a
 * saved RBP below the stack pointer, and a return address below it (the walk reads
 * neither, so it need not bound what it reads from below). */
static volatile int probe_result;

__attribute__((noinline, used)) void unwind_probe(void)
{
        probe_result = compare();
}

void rbp_below_sp(void);
void ra_below_sp(void);
__asm__(".text\n"
        ".globl rbp_below_sp\n"
        ".type rbp_below_sp, @function\n"
        "rbp_below_sp:\n"
        ".cfi_startproc\n"
        "push %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -40\n" /* claims CFA - 40, which is RSP - 24 */
        "call unwind_probe\n"
        "pop %rbp\n"
        ".cfi_def_cfa_offset 8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size rbp_below_sp, . - rbp_below_sp\n"
        ".globl ra_below_sp\n"
        ".type ra_below_sp, @function\n"
        "ra_below_sp:\n"
        ".cfi_startproc\n"
        "sub $8, %rsp\n"
        ".cfi_def_cfa_offset 4\n" /* claims the return address at RSP - 4 */
        "call unwind_probe\n"
        "add $8, %rsp\n"
        ".cfi_def_cfa_offset 8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size ra_below_sp, . - ra_below_sp\n");

static volatile int handler_result;

static void handler(int sig)
{
        (void)sig;
        handler_result = compare();
}

int main(void)
{
        pthread_t t;
        int before, foreign;
        unsigned replays = 0;

        shapes();
        CHECK(fallbacks == 0 && checks > 1000);
        CHECK(pthread_create(&t, NULL, same_start_main, &replays) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(fallbacks == 0);
        /* the memo was used, and every replay was compared with libunwind */
        CHECK(replays > 100);
        /* again, from the cache */
        shapes();
        CHECK(fallbacks == 0);

        before = fallbacks;
        foreign_stack(); /* walked as libunwind walks it, or left to it: both right */
        foreign = fallbacks - before;
        guarded_neighbour(); /* not a fault */

        before = fallbacks;
        CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(fallbacks == before);

        /* a signal frame is the careful walk's job, which steps through it as
         * libunwind does */
        before = fallbacks;
        signal(SIGUSR1, handler);
        raise(SIGUSR1);
        CHECK(handler_result == -1 && fallbacks == before + 1);
        /* and on a stack of its own (sigaltstack): the interrupted frames are on the
         * thread's stack, the handler's elsewhere */
        stack_t alt = {.ss_size = 256 << 10};
        struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_ONSTACK};
        alt.ss_sp = mmap(NULL, alt.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        CHECK(alt.ss_sp != MAP_FAILED && sigaltstack(&alt, NULL) == 0);
        sigemptyset(&sa.sa_mask);
        CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
        before = careful_checks;
        raise(SIGUSR2);
        CHECK(handler_result == -1 && careful_checks == before + 1);

        /* rules that would read below the stack pointer are the careful walk's too: it
         * must agree up to the frame whose rule is wrong (into unwind_probe, into the
         * frame with the wrong rule), and beyond it may only end early, never fault */
        before = fallbacks;
        careful_upto = 3;
        rbp_below_sp();
        CHECK(probe_result == -1 && fallbacks == before + 1);
        ra_below_sp();
        CHECK(probe_result == -1 && fallbacks == before + 2);
        careful_upto = -1;

        /* forgetting the cache changes nothing but the cost */
        mp_unwind_forget();
        shapes();
        CHECK(fallbacks == before + 2);
        printf("ok: %d stacks compared, %u of 400 replayed from the memo; on the swapcontext "
               "stack %d of 50 left to the careful walk; %d careful walks compared\n",
               checks, replays, foreign, careful_checks);
        return 0;
}
