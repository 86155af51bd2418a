/* Thread slots: handing one to each thread (at pthread_create, or at its first slow
 * path), marking it at thread exit, and taking over slots of threads that are gone. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"
#include "unwind.h"

struct mp_thread_slot mp_sentinel __attribute__((aligned(64))) = {
        .countdown = MP_SENTINEL_COUNTDOWN,
};
struct mp_thread_slot mp_off_slot __attribute__((aligned(64))) = {
        .countdown = MP_OFF_COUNTDOWN,
};

/* The slot stays the thread's until the thread is really gone: frees that other
 * libraries' destructors make after this one still count, and only once the kernel
 * reports the tid dead may another thread take the slot (see take_slot). */
static void thread_exit(void *arg)
{
        struct mp_thread_slot *s = arg;
        __atomic_or_fetch(&s->flags, MP_SLOT_EXITED, __ATOMIC_RELEASE);
        mp_unwind_thread_end();
}

void mp_thread_init_key(void)
{
        if (!mp.key_ok)
                mp.key_ok = pthread_key_create(&mp.key, thread_exit) == 0;
}

static bool tid_gone(pid_t tid)
{
        return syscall(SYS_tgkill, getpid(), tid, 0) < 0 && errno == ESRCH;
}

/* Under mp_lock.  Counters of a slot only ever grow, also across owners, so taking
 * over a dead thread's slot keeps the sums exact without folding anything. */
static struct mp_thread_slot *take_slot(void)
{
        struct mp_seg_header *h = mp.hdr;
        if (h->nslots < h->slots_cap) {
                struct mp_thread_slot *s = &mp.slots[h->nslots];
                __atomic_store_n(&h->nslots, h->nslots + 1, __ATOMIC_RELEASE);
                return s;
        }
        for (uint32_t i = 0; i < h->nslots; i++) {
                struct mp_thread_slot *s = &mp.slots[i];
                if (s->tid == 0 ||
                    ((__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & MP_SLOT_EXITED) &&
                     tid_gone((pid_t)s->tid)))
                        return s;
        }
        return NULL;
}

void mp_thread_attach(void)
{
        if (mp.mode == MP_OFF) {
                mp_tls_slot = &mp_off_slot;
                return;
        }
        if (mp.mode != MP_READY || mp_tls_slot != &mp_sentinel)
                return;
        int saved = errno;
        mp_lock_take();
        /* frees that slotless threads counted on the sentinel (not atomically: rare) */
        uint64_t stray = __atomic_exchange_n(&mp_sentinel.frees, 0, __ATOMIC_RELAXED);
        __atomic_fetch_add(&mp.hdr->retired_frees, stray, __ATOMIC_RELAXED);
        struct mp_thread_slot *s = take_slot();
        if (s) {
                __atomic_store_n(&s->tid, (uint32_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
                __atomic_store_n(&s->flags, 0, __ATOMIC_RELEASE);
                if (!s->rng)
                        s->rng = mp_seed();
                mp_slot_reset(s);
        }
        mp_lock_release();
        if (s) {
                mp_tls_slot = s;
                if (mp.key_ok)
                        pthread_setspecific(mp.key, s);
        }
        errno = saved;
}

struct start {
        void *(*fn)(void *);
        void *arg;
};

static void *thread_start(void *p)
{
        struct start st = *(struct start *)p;
        mp_real.free(p);
        mp_tls_guard++;
        mp_thread_attach();
        mp_tls_guard--;
        return st.fn(st.arg);
}

/* Interposed so that every thread has a slot before it runs: a thread that only frees
 * what others allocated would otherwise count its frees on the shared sentinel. */
int mp_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                      void *arg)
{
        if (mp.mode != MP_READY)
                return mp_real.pthread_create(t, attr, fn, arg);
        struct start *st = mp_real.malloc(sizeof(*st));
        if (!st)
                return mp_real.pthread_create(t, attr, fn, arg);
        *st = (struct start){ fn, arg };
        int r = mp_real.pthread_create(t, attr, thread_start, st);
        if (r)
                mp_real.free(st);
        return r;
}
extern __typeof(mp_pthread_create) pthread_create
        __attribute__((alias("mp_pthread_create"), visibility("default")));
