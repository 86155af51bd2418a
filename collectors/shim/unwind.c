/* The shim's own unwinder (see unwind.h): rules from .eh_frame (cfi.c) cached
 * lock-free per code address, a walk up the thread's stack, and a memo of whole stacks
 * that replays a stack seen before by checking the words the walk read. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cfi.h"
#include "gocross.h"
#include "unwind.h"

#if defined(__x86_64__) && defined(DLFO_STRUCT_HAS_EH_DBASE)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * The cache: rules indexed by code address, two slots per address (a program's hot
 * return addresses number in the thousands; one slot each thrashed).  Lock-free the
 * way chess engines share their tables: a slot holds (pc ^ rule, rule), written rule
 * first; a reader that catches a slot half rewritten finds pc ^ rule wrong and takes
 * a miss.  256 KiB of zero pages until used.
 */
#define CACHE_BITS 14
static struct slot {
        uint64_t key, rule;
} cache[1u << CACHE_BITS];

static struct slot *slot_of(uint64_t pc)
{
        return &cache[(pc * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - CACHE_BITS) & ~UINT64_C(1)];
}

static uint32_t rules_gen; /* memos made with rules mp_unwind_forget dropped are stale */

void mp_unwind_forget(void)
{
        __atomic_fetch_add(&rules_gen, 1, __ATOMIC_RELAXED);
        for (size_t i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
                __atomic_store_n(&cache[i].rule, 0, __ATOMIC_RELAXED);
                __atomic_store_n(&cache[i].key, 0, __ATOMIC_RELAXED);
        }
}

static inline bool slot_holds(const struct slot *s, uint64_t pc, uint64_t *ret)
{
        uint64_t rule = __atomic_load_n(&s->rule, __ATOMIC_RELAXED);
        uint64_t key = __atomic_load_n(&s->key, __ATOMIC_RELAXED);

        /* An empty slot (0, 0) matches no pc a walk looks up but 0, which only a return
         * address of 1 leads to; its rule 0 then fails the walk's CFA check. */
        *ret = rule;
        return (key ^ rule) == pc;
}

static __attribute__((noinline)) uint64_t rule_miss(struct slot *s, uint64_t pc)
{
        uint64_t rule = mp_cfi_rule(pc) | R_VALID;

        s[1] = s[0]; /* the newer in front; a torn copy only costs a miss */
        __atomic_store_n(&s[0].rule, rule, __ATOMIC_RELAXED);
        __atomic_store_n(&s[0].key, pc ^ rule, __ATOMIC_RELAXED);
        return rule;
}

/*
 * The cache's slots are spread over 256 KiB, and between two samples the program's
 * own work pushes them out of the CPU's caches: each frame's lookup then waits for
 * memory, and it cannot start before the frame below it has been found (perf on
 * churn: 70% of the walk's time on that load).  A thread's next stack mostly shares
 * frames with its last, so each thread keeps where its last walk's rules were, and the
 * next walk asks for all of them at once before it starts.  Only when walks are far
 * apart: back to back (every allocation sampled) the rules are still cached, and the
 * trail would cost ~14 instructions a frame for nothing (sqlite3 at rate 1: +8.6%).
 */
#define TRAIL_MAX 64
static __thread uint16_t trail[TRAIL_MAX];
static __thread int trail_n;

static inline void trail_prefetch(void)
{
        for (int i = 0; i < trail_n; i++)
                __builtin_prefetch(&cache[trail[i]]);
}

static void trail_keep(const uint64_t *pcs, int n)
{
        if (n > TRAIL_MAX)
                n = TRAIL_MAX;
        for (int i = 0; i < n; i++)
                trail[i] = (uint16_t)(slot_of(pcs[i] - 1) - cache);
        trail_n = n;
}

static inline __attribute__((always_inline)) uint64_t rule_for(uint64_t pc)
{
        struct slot *s = slot_of(pc);
        uint64_t rule;

        if (likely(slot_holds(&s[0], pc, &rule)) || slot_holds(&s[1], pc, &rule))
                return rule;
        return rule_miss(s, pc);
}

/* ---- the walk ---- */

extern void *__libc_stack_end;

#define MAX_STACK (UINT64_C(1) << 30)

/*
 * Where the calling thread's stack ends, found without allocating (pthread_getattr_np
 * would, and the program would see those allocations in its counts): a thread glibc
 * started keeps its thread control block just above its stack, and the main thread's
 * stack goes at least to the end of the page holding __libc_stack_end.  0: neither
 * (a thread made with a bare clone, or one on an alternate signal stack far away).
 */
static inline __attribute__((always_inline)) uint64_t stack_top(uint64_t sp)
{
        uint64_t self = (uint64_t)(uintptr_t)pthread_self();
        uint64_t main_top = ((uint64_t)(uintptr_t)__libc_stack_end | 4095) + 1;

        if (sp < self && self - sp < MAX_STACK)
                return self;
        if (sp < main_top && main_top - sp < MAX_STACK)
                return main_top;
        return 0;
}

/*
 * Whether all of [sp, hi) can be read.  On the thread's own stack it can, from the stack
 * pointer up; but code running on a stack of its own making (coroutines, swapcontext)
 * may have its stack anywhere below, with other mappings up to hi: gaps, and pages that
 * are mapped but not readable (a guard page, a library's PROT_NONE gap), where a walk
 * led by a clobbered frame register could read.  So each thread checks the part below
 * the lowest stack pointer it has checked before for that top, one byte of every page
 * with a process_vm_readv of its own memory, which stops at the first page a load would
 * fault on (mincore, which this used before, calls a PROT_NONE page mapped).  A few
 * system calls in a thread's life on its own stack; on another stack the check fails or
 * is repeated, and the careful walk (careful.c), which checks every page it reads,
 * walks instead.
 */
#define CHECK_PAGES 32 /* pages one process_vm_readv checks: 512 bytes of iovecs */
#define CHECK_MAX (UINT64_C(64) << 20)

/* [checked_lo, checked_hi) is readable; 0: not yet */
static __thread uint64_t checked_lo, checked_hi;

bool mp_pages_readable(uint64_t lo, uint64_t end)
{
        struct iovec remote[CHECK_PAGES];
        char bytes[CHECK_PAGES];
        struct iovec local = {bytes, sizeof(bytes)};
        pid_t self = getpid();

        for (uint64_t at = lo; at < end;) {
                unsigned n = 0;

                for (; n < CHECK_PAGES && at < end; n++, at += 4096)
                        remote[n] = (struct iovec){(void *)(uintptr_t)at, 1};
                local.iov_len = n;
                if (process_vm_readv(self, &local, 1, remote, n, 0) != (ssize_t)n)
                        return false; /* a page that is not ours to read: not our stack */
        }
        return true;
}

static inline __attribute__((always_inline)) bool stack_mapped(uint64_t sp, uint64_t hi)
{
        uint64_t lo = sp & ~UINT64_C(4095);
        uint64_t top = (hi + 4095) & ~UINT64_C(4095);
        bool known = checked_lo && checked_hi == top;
        uint64_t end = known ? checked_lo : top;

        if (known && lo >= checked_lo && sp < hi)
                return true;
        if (lo >= end || end - lo > CHECK_MAX || !mp_pages_readable(lo, end))
                return false;
        if (!known)
                checked_hi = top;
        checked_lo = lo;
        return true;
}

bool mp_stack_own(uint64_t sp, uint64_t *ret_hi)
{
        uint64_t hi = stack_top(sp);

        if (!hi || !stack_mapped(sp, hi))
                return false;
        *ret_hi = hi;
        return true;
}

uint64_t mp_unwind_rule(uint64_t pc)
{
        return rule_for(pc);
}

/*
 * The memo.  A walk is a function of where it starts (code address, stack pointer, frame
 * register) and of the stack words it reads, since the rules depend on code addresses
 * only; of the frame register only if a frame finds its CFA through it before any frame
 * restores it from the stack (optimised code uses it for anything else).  So each
 * thread keeps its last walks (16 KiB-32 KiB, mapped at its first sample), keyed by the
 * state MEMO_AFTER frames into the caller's stack, with every word read after that
 * (its address as an offset from that stack pointer, and its value): when the same
 * start comes again and every one of those words still holds its value, the walk would
 * read the same and find the same, and its frames are replayed at a few instructions
 * each.  A loop that allocates comes back to the same stack again and again.
 */
#define MEMO_BITS 4
#define MEMO_WAYS (1 << MEMO_BITS)
/* The memo starts this many frames into the caller's stack, the frames before it
 * hashed into its key: a start alone (the allocator wrapper's frame, say) is reached by
 * too many different stacks. */
#define MEMO_AFTER 4
#define MEMO_READS 160

struct memo {
        uint64_t path;       /* hash of the frames before the start */
        uint64_t pc, sp, bp; /* pc 0: empty */
        uint32_t gen;
        int max;
        bool full;      /* the walk is recorded (else the start was only seen once) */
        bool any_bp;    /* the walk never used the frame register it started with */
        uint32_t nreads;
        uint32_t off[MEMO_READS]; /* low bit: a return address that is a frame */
        uint64_t val[MEMO_READS];
};

#define MEMO_NONE ((struct memo *)1) /* the thread is ending: no more memos */
static __thread struct memo *memos;

/*
 * Whether the memo pays in this thread.  A record costs a walk and a half and pays only
 * if the start comes back before 16 others push it out; replays that fail cost a
 * record each.  A program whose allocations come from ever different stacks (sqlite3
 * inserting: 1 replay in 13 records) would pay for records that save nothing.  So
 * each record takes a credit and each replay gives one; below -32 the thread walks
 * without the memo and tries it again every 64th walk.
 */
static __thread int memo_credit;
static __thread uint32_t memo_tick;
static __thread unsigned memo_replays;

unsigned mp_unwind_replays(void)
{
        return memo_replays;
}

static bool memo_worth_it(void)
{
        if (memo_credit > -32)
                return true;
        if (++memo_tick % 64)
                return false;
        memo_credit = -31; /* one more record, unless replays come */
        return true;
}

static struct memo *memo_slot(uint64_t path, uint64_t sp)
{
        if (!memos) {
                void *p = mmap(NULL, MEMO_WAYS * sizeof(struct memo), PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

                memos = p == MAP_FAILED ? MEMO_NONE : p;
        }
        if (memos == MEMO_NONE)
                return NULL;
        return &memos[((path ^ sp) * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - MEMO_BITS)];
}

static bool memo_is(const struct memo *m, uint64_t path, uint64_t pc, uint64_t sp,
                    uint64_t bp, int max)
{
        return m->path == path && m->pc == pc && m->sp == sp && (m->any_bp || m->bp == bp) &&
               m->max == max && m->gen == __atomic_load_n(&rules_gen, __ATOMIC_RELAXED);
}

/* Frames from a memo after the n found so far, or -1 if the walk might now find others. */
static int memo_replay(const struct memo *m, uint64_t sp, uint64_t *pcs, int n)
{
        for (uint32_t i = 0; i < m->nreads; i++) {
                uint64_t v = *(const uint64_t *)(uintptr_t)(sp + (m->off[i] & ~1u));

                if (v != m->val[i])
                        return -1;
                if (m->off[i] & 1)
                        pcs[n++] = v;
        }
        return n;
}

/* Whether the reads recorded can be kept: offsets even (the low bit is a flag) and
 * within 32 bits, checked once at the end on the OR of them all. */
static void memo_read(struct memo *m, uint64_t at, uint64_t v, bool frame, uint64_t *all)
{
        uint64_t off = at - m->sp;
        uint32_t i = m->nreads;

        *all |= off;
        if (i < MEMO_READS) {
                m->off[i] = (uint32_t)off | frame;
                m->val[i] = v;
        }
        m->nreads = i + 1;
}

/* A walk in progress: the frame it is at, and what it found. */
struct walk {
        uint64_t lookup, sp, bp, hi;  /* code address for the rule, registers, stack top */
        uint64_t skip_lo, skip_span;
        uint64_t *pcs;
        int n, max;
        /* recording (rec != NULL): */
        struct memo *rec;
        uint64_t offs;               /* OR of the offsets read */
        bool bp_first, bp_used;      /* bp still the start's; and used for a CFA */
};

enum { STEP_ON, STEP_END, STEP_FAIL };

/* Where a frame whose rule has R_RBP_SAVED keeps its caller's RBP. */
static inline uint64_t saved_rbp_at(uint64_t rule, uint64_t cfa)
{
        return cfa + (uint64_t)(int64_t)(int16_t)(rule >> R_RBP_SHIFT);
}

/*
 * The walk from w's frame outward until UNTIL frames are found (or its end), recording
 * every word it reads into w->rec when RECORD.  Written with locals, which the compiler
 * keeps in registers (through w, every store to pcs[] might change the walk's fields),
 * and inlined into the two callers below, each with RECORD a constant.  The walk ends
 * at the max-th frame found, without a step past it.
 */
static inline __attribute__((always_inline)) int walk_loop(struct walk *w, int until,
                                                           const bool record)
{
        uint64_t lookup = w->lookup, sp = w->sp, bp = w->bp, offs = w->offs;
        const uint64_t hi = w->hi, skip_lo = w->skip_lo, skip_span = w->skip_span;
        uint64_t *out = w->pcs + w->n;
        uint64_t *const full = w->pcs + w->max, *const lim = until < w->max ? w->pcs + until : full;
        int r = STEP_ON;
        bool bp_first = w->bp_first, bp_used = w->bp_used;

        while (out < lim) {
                uint64_t rule = rule_for(lookup), cfa, pc;

                if (likely(!(rule & R_NOT_PLAIN))) {
                        /* CFA = RSP + at least 8, the saved RBP at or above RSP (cfi.c):
                         * what the walk reads lies above sp, and must lie below the
                         * stack top */
                        cfa = sp + (uint64_t)((int64_t)rule >> R_CFA_SHIFT);
                        if (unlikely(cfa > hi)) {
                                r = STEP_FAIL;
                                break;
                        }
                } else {
                        if (rule & (R_UNSUPPORTED | R_OUTERMOST)) {
                                r = rule & R_UNSUPPORTED ? STEP_FAIL : STEP_END;
                                break;
                        }
                        cfa = bp + (uint64_t)((int64_t)rule >> R_CFA_SHIFT);
                        /* the return address at cfa - 8 must lie in [sp, stack top) */
                        if (unlikely(cfa < sp + 8 || cfa > hi)) {
                                r = STEP_FAIL;
                                break;
                        }
                        if (record)
                                bp_used |= bp_first;
                        /* at most cfa - 16 (cfi.c), so below the stack top too */
                        if ((rule & R_RBP_SAVED) && unlikely(saved_rbp_at(rule, cfa) < sp)) {
                                r = STEP_FAIL;
                                break;
                        }
                }
                if (rule & R_RBP_SAVED) {
                        uint64_t at = saved_rbp_at(rule, cfa);

                        bp = *(const uint64_t *)(uintptr_t)at;
                        if (record) {
                                bp_first = false;
                                memo_read(w->rec, at, bp, false, &offs);
                        }
                }
                pc = *(const uint64_t *)(uintptr_t)(cfa - 8);
                sp = cfa;
                bool frame = pc - skip_lo >= skip_span;
                if (record)
                        memo_read(w->rec, cfa - 8, pc, frame && pc != 0, &offs);
                if (unlikely(pc == 0)) {
                        r = STEP_END;
                        break;
                }
                lookup = pc - 1; /* the call, not what follows it */
                if (likely(frame))
                        *out++ = pc;
        }
        if (out == full)
                r = STEP_END;
        w->lookup = lookup;
        w->sp = sp;
        w->bp = bp;
        w->n = (int)(out - w->pcs);
        w->offs = offs;
        w->bp_first = bp_first;
        w->bp_used = bp_used;
        return r;
}

static inline __attribute__((always_inline)) int walk_plain(struct walk *w, int until)
{
        return walk_loop(w, until, false);
}

static int walk_record(struct walk *w)
{
        return walk_loop(w, w->max + 1, true);
}

/* At the memo's start (MEMO_AFTER frames found): frames replayed into w, or -1 and w
 * set to record the rest of the walk if that may pay. */
static int memo_start(struct walk *w)
{
        uint64_t pc = w->pcs[w->n - 1], path = pc;
        struct memo *m;
        int r;

        for (int i = 0; i < w->n - 1; i++)
                path = (path ^ w->pcs[i]) * UINT64_C(0x9e3779b97f4a7c15);
        m = memo_slot(path, w->sp);
        if (!m)
                return -1;
        /* a start seen once is recorded the second time, and replayed from the third:
         * walks that never come again cost no record */
        if (memo_is(m, path, pc, w->sp, w->bp, w->max)) {
                if (m->full && (r = memo_replay(m, w->sp, w->pcs, w->n)) >= 0) {
                        memo_credit += memo_credit < 32;
                        memo_replays++;
                        return r;
                }
                memo_credit--; /* a record, first or again */
                m->full = false;
                m->nreads = 0;
                w->rec = m;
                w->offs = 0;
                w->bp_first = true;
                w->bp_used = false;
                return -1;
        }
        m->path = path;
        m->pc = pc;
        m->sp = w->sp;
        m->bp = w->bp;
        m->max = w->max;
        m->gen = __atomic_load_n(&rules_gen, __ATOMIC_RELAXED);
        m->full = false;
        m->any_bp = true; /* not known yet: the record, which finds out, may use any */
        return -1;
}

/* A walk stopped by a frame it cannot step: code without unwind tables (Go's), which is
 * the end unless it is a cgo call's return into Go, then crossed.  A memo being recorded
 * stays incomplete: a crossing reads beyond the thread's stack, which it cannot check. */
static int walk_failed(const struct walk *w)
{
        return mp_go_cross(w->lookup + 1, w->sp, w->hi, w->bp, w->pcs, w->n, w->max);
}

__attribute__((noinline)) int mp_unwind(uint64_t *pcs, int max, uint64_t skip_lo,
                                        uint64_t skip_hi, bool cold)
{
        struct walk w = { .skip_lo = skip_lo, .skip_span = skip_hi - skip_lo, .pcs = pcs,
                          .max = max };
        int r;

        /* this very instruction's address, stack pointer and frame register: the rule
         * for it describes exactly this sp */
        __asm__ volatile("lea 0(%%rip), %0\n\t"
                         "mov %%rsp, %1\n\t"
                         "mov %%rbp, %2"
                         : "=&r"(w.lookup), "=&r"(w.sp), "=&r"(w.bp));
        w.hi = stack_top(w.sp);
        if (!w.hi || max < 1 || !stack_mapped(w.sp, w.hi))
                return -1;
        if (cold)
                trail_prefetch();
        /* a thread without the memo walks in one go */
        if (max > MEMO_AFTER && memo_worth_it()) {
                r = walk_plain(&w, MEMO_AFTER);
                if (r != STEP_ON)
                        return r == STEP_FAIL ? walk_failed(&w) : w.n;
                if ((r = memo_start(&w)) >= 0)
                        return r;
        }
        if (!w.rec) {
                r = walk_plain(&w, max + 1);
                if (r == STEP_FAIL)
                        return walk_failed(&w);
                if (cold)
                        trail_keep(pcs, w.n);
                return w.n;
        }
        r = walk_record(&w);
        if (r == STEP_FAIL)
                return walk_failed(&w);
        if (cold)
                trail_keep(pcs, w.n);
        w.rec->any_bp = !w.bp_used;
        w.rec->full = w.rec->nreads <= MEMO_READS && !(w.offs & 1) && w.offs <= UINT32_MAX;
        return w.n;
}

void mp_unwind_thread_end(void)
{
        struct memo *m = memos;

        memos = MEMO_NONE;
        if (m && m != MEMO_NONE)
                munmap(m, MEMO_WAYS * sizeof(struct memo));
}

#else

int mp_unwind(uint64_t *pcs, int max, uint64_t skip_lo, uint64_t skip_hi, bool cold)
{
        (void)cold;
        (void)pcs;
        (void)max;
        (void)skip_lo;
        (void)skip_hi;
        return -1;
}

void mp_unwind_forget(void)
{
}

uint64_t mp_unwind_rule(uint64_t pc)
{
        (void)pc;
        return R_UNSUPPORTED;
}

bool mp_stack_own(uint64_t sp, uint64_t *ret_hi)
{
        (void)sp;
        (void)ret_hi;
        return false;
}

bool mp_pages_readable(uint64_t lo, uint64_t end)
{
        (void)lo;
        (void)end;
        return false;
}

void mp_unwind_thread_end(void)
{
}

unsigned mp_unwind_replays(void)
{
        return 0;
}

#endif
