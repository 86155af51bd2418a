/* Publishing glibc's mallinfo2() figures into the segment, at most every 100 ms. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <time.h>

#include "memprof/clock.h" /* header-only: nothing of the daemon's is called */
#include "shim.h"

/* mallinfo2 walks every free list under every arena's lock: a few microseconds on a
 * tidy heap, far more on a fragmented one (churn's, with a 10 ms period: 1.4% of its
 * instructions under callgrind, and the other threads wait for the locks).  The first
 * slow path 100 ms after the last refresh makes the next one (at dense rates, the first
 * of a thread's every 64th); a program that stops allocating keeps its last figures
 * (memstats prints their age).
 *
 * Nothing refreshes them after the last slow path, so a program that allocates in one
 * burst and then idles (a start-up, a batch, the leak example) would show the figures
 * of the burst's first sample: an empty heap.  So while a process is young, each
 * doubling of its samples refreshes too: at most 11 more refreshes in its life, and a
 * burst's figures miss at most its last half (counted in samples). */
#define REFRESH_NS 100000000ll
#define YOUNG_SAMPLES 1024
#define DENSE_CLOCK_EVERY 64

static __thread uint32_t clock_tick;

static bool young_due(const struct mp_seg_header *h)
{
        uint64_t n = __atomic_load_n(&h->samples, __ATOMIC_RELAXED);
        uint64_t next = __atomic_load_n(&mp.mi_next_samples, __ATOMIC_RELAXED);

        return n < YOUNG_SAMPLES && n >= next &&
               __atomic_compare_exchange_n(&mp.mi_next_samples, &next, n ? 2 * n : 1, false,
                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/*
 * The record is a seqlock (segment.h): mi_seq odd while it is written.  Two threads
 * can be due at once (each won a different compare-and-swap in
 * mp_mallinfo_maybe_refresh), so the sequence itself is the writers' lock: a writer
 * makes it odd with a compare-and-swap from the even value it read, and one that finds
 * it odd leaves the record to the writer already at work, whose figures are as fresh
 * as its own.  Never a wait, so a writer interrupted (or stopped) mid-write costs the
 * others nothing but their figures.
 */
void mp_mallinfo_publish(struct mp_seg_header *h, const struct mp_mallinfo *m, int64_t time_ns)
{
        uint32_t seq = __atomic_load_n(&h->mi_seq, __ATOMIC_RELAXED);

        do {
                if (seq & 1)
                        return;
        } while (!__atomic_compare_exchange_n(&h->mi_seq, &seq, seq + 1, false,
                                              __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
        /* the odd sequence is visible before any field changes */
        __atomic_thread_fence(__ATOMIC_RELEASE);
        h->mallinfo = *m;
        h->mi_time_ns = time_ns;
        __atomic_store_n(&h->mi_seq, seq + 2, __ATOMIC_RELEASE);
}

/*
 * mallinfo2 takes every arena's lock.  Called from a signal handler that interrupted
 * glibc's malloc on this thread, it would deadlock where the program alone might not
 * (tcache serves many mallocs without a lock).  A handler runs with its signal
 * blocked, so refresh only when no signal is blocked, and block all of them meanwhile
 * so no handler can enter malloc while this thread holds arena locks.  A program
 * that keeps signals blocked everywhere just never gets mallinfo figures.
 */
static __attribute__((noinline)) void refresh(struct mp_seg_header *h)
{
        int saved = errno;
        sigset_t all, old;
        sigfillset(&all);
        if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
                goto out;
        if (sigisemptyset(&old)) {
                struct mallinfo2 m = mallinfo2();
                mp_mallinfo_publish(h,
                                    &(struct mp_mallinfo){
                                            .arena = m.arena, .ordblks = m.ordblks,
                                            .smblks = m.smblks, .hblks = m.hblks,
                                            .hblkhd = m.hblkhd, .usmblks = m.usmblks,
                                            .fsmblks = m.fsmblks, .uordblks = m.uordblks,
                                            .fordblks = m.fordblks, .keepcost = m.keepcost,
                                    },
                                    time_now_ns(CLOCK_REALTIME));
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
        errno = saved;
}

void mp_mallinfo_maybe_refresh(void)
{
        struct mp_seg_header *h = mp.hdr;
        if (!mp.glibc || mp.mode != MP_READY || !h)
                return;
        bool young = young_due(h);
        /* at dense rates a thread samples every few hundred instructions: reading the
         * clock each time was 2% of what the shim adds to sqlite3 at rate 1 */
        if (!young && !mp_sparse() && ++clock_tick % DENSE_CLOCK_EVERY)
                return;
        int64_t now = time_now_ns(CLOCK_MONOTONIC_COARSE);
        int64_t due = __atomic_load_n(&mp.mi_next_ns, __ATOMIC_RELAXED);
        bool timely = now >= due &&
                      __atomic_compare_exchange_n(&mp.mi_next_ns, &due, now + REFRESH_NS,
                                                  false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        if (timely || young)
                refresh(h);
}
