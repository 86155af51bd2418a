/*
 * Choosing the thread to borrow: one that cannot be holding a lock dlopen needs.
 *
 * The call runs the loader and the allocator in the borrowed thread.  If that thread
 * was stopped inside malloc (holding an arena's lock) or inside the loader (holding its
 * lock, midway through a load), the call would wait for itself, or re-enter code that
 * is not re-entrant.  The other threads keep running and release whatever they hold,
 * so only the borrowed thread's own state matters.  Safe are:
 *   1. a thread asleep in a system call from the list below, made outside the loader:
 *      the program waits there for input or time, not inside the allocator (which
 *      calls only mmap, munmap, brk, madvise and mprotect, and futex to wait for an
 *      arena's lock: FUTEX_WAIT; a condition variable or a join waits with
 *      FUTEX_WAIT_BITSET).  Each of these returns a restart code when interrupted, so
 *      restoring the registers restarts it unnoticed, nanosleep with its remaining time;
 *   2. failing that, a running thread interrupted outside libc and the loader.
 * Threads that block or ignore SIGSEGV are never borrowed: the call's return traps with
 * one, and the kernel would reset such a thread's disposition to deliver it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "procfs.h"
#include "remote.h"
#include "task.h"

#define FUTEX_WAIT_BITSET_OP 9
/* How long one thread may take to reach its stop before the next is tried. */
#define STOP_WAIT_NS (100 * 1000000LL)

static bool safe_syscall(long nr, uint64_t arg2)
{
        switch (nr) {
        case SYS_read:
        case SYS_readv:
        case SYS_pread64:
        case SYS_preadv:
        case SYS_write:
        case SYS_writev:
        case SYS_poll:
        case SYS_ppoll:
        case SYS_select:
        case SYS_pselect6:
        case SYS_pause:
        case SYS_rt_sigsuspend:
        case SYS_nanosleep:
        case SYS_clock_nanosleep:
        case SYS_accept:
        case SYS_accept4:
        case SYS_recvfrom:
        case SYS_recvmsg:
        case SYS_wait4:
        case SYS_waitid:
                return true;
        case SYS_futex:
                return (arg2 & 0x7f) == FUTEX_WAIT_BITSET_OP;
        default:
                return false;
        }
}

static bool in_range(uint64_t pc, uint64_t lo, uint64_t hi)
{
        return pc >= lo && pc < hi;
}

/* /proc/PID/task/TID/syscall: "NR ARG1..ARG6 SP PC" asleep in a call, "-1 SP PC"
 * blocked elsewhere, "running".  *ret_nr -2 when running or unknown. */
static void read_syscall(pid_t pid, pid_t tid, long *ret_nr, uint64_t *ret_arg2, uint64_t *ret_pc)
{
        char path[64], *buf = NULL;
        size_t len;
        unsigned long long a[9] = {0};

        *ret_nr = -2;
        snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
        if (proc_read_file(path, 4096, &buf, &len) < 0)
                return;
        long nr;
        int n = sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2],
                       &a[3], &a[4], &a[5], &a[6], &a[7]);
        free(buf);
        if (n == 9) {
                *ret_nr = nr;
                *ret_arg2 = a[1];
                *ret_pc = a[7];
        } else if (n == 3 && nr == -1) {
                *ret_nr = -1;
                *ret_pc = a[1];
        }
}

static uint64_t status_hex(const char *text, const char *key)
{
        const char *p = strstr(text, key);
        return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

/* Neither blocked nor ignored: the trap at the call's return is a plain stop. */
static bool segv_plain(pid_t pid, pid_t tid)
{
        char path[64], *buf = NULL;
        size_t len;
        uint64_t bit = 1ull << (SIGSEGV - 1);

        snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
        if (proc_read_file(path, 1 << 16, &buf, &len) < 0)
                return false;
        bool ok = !(status_hex(buf, "\nSigBlk:") & bit) && !(status_hex(buf, "\nSigIgn:") & bit);
        free(buf);
        return ok;
}

struct cand {
        pid_t tid;
        int tier; /* 1 asleep in a safe call, 2 anything else */
};

static int cmp_cand(const void *a, const void *b)
{
        const struct cand *x = a, *y = b;
        if (x->tier != y->tier)
                return x->tier - y->tier;
        return (x->tid > y->tid) - (x->tid < y->tid);
}

static int candidates(const struct inject_target *t, struct cand **ret, size_t *ret_n)
{
        pid_t *tids = NULL;
        size_t n = 0, k = 0;
        int r = task_list(t->pid, &tids, &n);

        if (r < 0)
                return r;
        struct cand *c = calloc(n ? n : 1, sizeof(*c));
        if (!c) {
                free(tids);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                long nr;
                uint64_t arg2 = 0, pc = 0;
                if (!segv_plain(t->pid, tids[i]))
                        continue;
                read_syscall(t->pid, tids[i], &nr, &arg2, &pc);
                bool safe = nr >= 0 && safe_syscall(nr, arg2) && !in_range(pc, t->ld_lo, t->ld_hi);
                c[k++] = (struct cand){tids[i], safe ? 1 : 2};
        }
        free(tids);
        qsort(c, k, sizeof(*c), cmp_cand);
        *ret = c;
        *ret_n = k;
        return 0;
}

/* Whether the stopped thread may be borrowed; an interrupted call that would return
 * EINTR is set to be restarted instead. */
static bool borrowable(const struct inject_target *t, struct inject_session *s)
{
        struct user_regs_struct *g = &s->saved;
        int64_t rax = (int64_t)g->rax;

        if (in_range(g->rip, t->ld_lo, t->ld_hi))
                return false;
        if (!s->in_syscall)
                return !in_range(g->rip, t->libc_lo, t->libc_hi);
        if (!safe_syscall((long)g->orig_rax, g->rsi))
                return false;
        if (rax == -EINTR) {
                uint64_t w;
                if (inject_peek(s, g->rip - 2, &w) < 0 || (w & 0xffff) != 0x050f)
                        return false; /* not after a syscall instruction */
                g->rax = g->orig_rax;
                g->rip -= 2;
        }
        return true;
}

/* Seizes and interrupts one thread; 1 when it is stopped and saved in s, 0 when it
 * cannot be used (gone, stuck, not stopped in time), -errno to give up. */
static int stop_one(const struct inject_target *t, pid_t tid, int64_t deadline,
                    struct inject_session *s)
{
        *s = (struct inject_session){.pid = t->pid, .tid = tid, .deadline_ns = deadline};
        if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(uintptr_t)PTRACE_O_TRACEEXIT) < 0) {
                if (errno == ESRCH)
                        return 0;
                if (errno == EPERM) {
                        pid_t tracer = 0;
                        if (task_tracer_read(t->pid, tid, &tracer) == 0 && tracer)
                                return -EBUSY;
                        return -EPERM;
                }
                return -errno;
        }
        s->stop_ns = inject_now_ns();
        (void)ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
        int64_t until = s->stop_ns + STOP_WAIT_NS;
        for (;;) {
                int status;
                pid_t w = inject_wait(tid, &status, until < deadline ? until : deadline);
                if (w == 0)
                        return 0; /* asleep where an interrupt does not reach: it stays
                                   * seized until we exit, and the kernel lets it go */
                if (w < 0 || WIFEXITED(status) || WIFSIGNALED(status))
                        return 0;
                if (!WIFSTOPPED(status))
                        continue;
                unsigned event = (unsigned)status >> 16;
                if (event == PTRACE_EVENT_EXIT) {
                        (void)ptrace(PTRACE_DETACH, tid, NULL, NULL);
                        return 0;
                }
                if (event == 0) /* a signal on its way in: handed back at the end */
                        inject_defer_signal(s, WSTOPSIG(status));
                break;
        }
        if (inject_save(s) < 0) {
                (void)ptrace(PTRACE_DETACH, tid, NULL, NULL);
                return 0;
        }
        return 1;
}

int inject_begin(const struct inject_target *t, int64_t deadline_ns, struct inject_session *ret)
{
        struct cand *c = NULL;
        size_t n = 0;
        int r = 0;

        for (int round = 0; inject_now_ns() < deadline_ns; round++) {
                if (round > 0) {
                        struct timespec ts = {0, 1000000}; /* let them run on */
                        nanosleep(&ts, NULL);
                }
                free(c);
                c = NULL;
                r = candidates(t, &c, &n);
                if (r < 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        r = stop_one(t, c[i].tid, deadline_ns, ret);
                        if (r < 0)
                                goto out;
                        if (r == 0)
                                continue;
                        if (borrowable(t, ret)) {
                                r = 0;
                                goto out;
                        }
                        inject_end(ret);
                }
                r = -EAGAIN;
        }
        if (r == 0)
                r = -EAGAIN;
out:
        free(c);
        return r;
}
