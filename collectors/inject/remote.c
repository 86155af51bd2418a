/* Borrowing one stopped thread to call functions in its process, and putting it back:
 * registers, extended state and the interrupted system call restored exactly. */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "remote.h"

#define RED_ZONE 128
#define WAIT_SPIN_NS 200000

int64_t inject_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* waitpid for tid until deadline: its pid, 0 at the deadline, -errno on error.  Spins
 * a little first (the stop is microseconds away and the thread pays for each), then
 * polls every 50 µs: never a wait without bound. */
pid_t inject_wait(pid_t tid, int *status, int64_t deadline)
{
        int64_t spin_until = inject_now_ns() + WAIT_SPIN_NS;

        for (;;) {
                pid_t r = waitpid(tid, status, __WALL | WNOHANG);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r != 0)
                        return r < 0 ? -errno : r;
                int64_t now = inject_now_ns();
                if (now > deadline)
                        return 0;
                if (now > spin_until) {
                        struct timespec ts = {0, 50000};
                        nanosleep(&ts, NULL);
                }
        }
}

int inject_save(struct inject_session *s)
{
        struct iovec iov = {s->xstate, sizeof(s->xstate)};

        if (ptrace(PTRACE_GETREGS, s->tid, NULL, &s->saved) < 0)
                return -errno;
        if (ptrace(PTRACE_GETREGSET, s->tid, (void *)NT_X86_XSTATE, &iov) < 0)
                return -errno;
        s->xstate_len = iov.iov_len;
        /* strings go below the red zone, calls' frames below them, 16-byte aligned */
        s->scratch = ((s->saved.rsp - RED_ZONE - INJECT_SCRATCH) & ~15ull);
        s->sp = s->scratch - 64;
        s->in_syscall = (int64_t)s->saved.orig_rax >= 0;
        return 0;
}

int inject_peek(struct inject_session *s, uint64_t addr, uint64_t *ret)
{
        errno = 0;
        long v = ptrace(PTRACE_PEEKDATA, s->tid, (void *)addr, NULL);
        if (errno)
                return -errno;
        *ret = (uint64_t)v;
        return 0;
}

int inject_poke(struct inject_session *s, uint64_t addr, uint64_t value)
{
        if (ptrace(PTRACE_POKEDATA, s->tid, (void *)addr, (void *)value) < 0)
                return -errno;
        return 0;
}

int inject_put(struct inject_session *s, size_t off, const void *buf, size_t len,
               uint64_t *ret_addr)
{
        if (off % 8 || off > INJECT_SCRATCH || len > INJECT_SCRATCH - off)
                return -E2BIG;
        for (size_t i = 0; i < len; i += 8) {
                uint64_t w = 0;
                memcpy(&w, (const char *)buf + i, len - i < 8 ? len - i : 8);
                int r = inject_poke(s, s->scratch + off + i, w);
                if (r < 0)
                        return r;
        }
        *ret_addr = s->scratch + off;
        return 0;
}

int inject_get_string(struct inject_session *s, uint64_t addr, char *buf, size_t len)
{
        size_t n = 0;

        while (n + 1 < len) {
                uint64_t w;
                int r = inject_peek(s, addr + n, &w);
                if (r < 0)
                        return r;
                for (int i = 0; i < 8 && n + 1 < len; i++, n++) {
                        buf[n] = (char)(w >> (8 * i));
                        if (!buf[n])
                                return 0;
                }
        }
        buf[n] = '\0';
        return 0;
}

/* A signal that reached the thread during our call: kept (with its siginfo) to be
 * handed back at the end, so the program receives it as it would have. */
void inject_defer_signal(struct inject_session *s, int sig)
{
        if (s->npending >= INJECT_MAX_PENDING)
                return; /* a standard signal already pending again is one signal */
        for (int i = 0; i < s->npending; i++)
                if (s->pending[i] == sig && sig < SIGRTMIN)
                        return;
        siginfo_t si;
        if (ptrace(PTRACE_GETSIGINFO, s->tid, NULL, &si) < 0)
                memset(&si, 0, sizeof(si));
        memcpy(s->pending_info[s->npending], &si, sizeof(si));
        s->pending[s->npending++] = sig;
}

int inject_call(struct inject_session *s, uint64_t fn, const uint64_t *args, int nargs,
                uint64_t *ret_value)
{
        struct user_regs_struct regs = s->saved;
        unsigned long long *argregs[6] = {&regs.rdi, &regs.rsi, &regs.rdx,
                                          &regs.rcx, &regs.r8,  &regs.r9};
        int r;

        if (nargs > 6)
                return -E2BIG;
        for (int i = 0; i < nargs; i++)
                *argregs[i] = args[i];
        /* a return address of 0: the return faults, a stop we recognise (rip 0) */
        regs.rsp = s->sp - 8;
        r = inject_poke(s, regs.rsp, 0);
        if (r < 0)
                return r;
        regs.rip = fn;
        regs.rax = 0;
        regs.orig_rax = (uint64_t)-1; /* no system call to restart on the way out */
        regs.eflags &= ~0x400ull;     /* the ABI's direction flag clear */
        if (ptrace(PTRACE_SETREGS, s->tid, NULL, &regs) < 0)
                return -errno;
        int sig = 0;
        for (;;) {
                int status;
                if (ptrace(PTRACE_CONT, s->tid, NULL, (void *)(uintptr_t)sig) < 0)
                        return -errno;
                sig = 0;
                pid_t w = inject_wait(s->tid, &status, s->deadline_ns);
                if (w == 0) {
                        /* it must not run on into address 0: stop it where it is */
                        (void)ptrace(PTRACE_INTERRUPT, s->tid, NULL, NULL);
                        w = inject_wait(s->tid, &status, inject_now_ns() + 1000000000);
                        return w > 0 && WIFSTOPPED(status) ? -ETIMEDOUT : -ESRCH;
                }
                if (w < 0)
                        return w;
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return -ESRCH;
                if (!WIFSTOPPED(status))
                        continue;
                unsigned event = (unsigned)status >> 16;
                if (event == PTRACE_EVENT_EXIT)
                        return -ESRCH;
                if (event != 0)
                        continue; /* an interrupt or group-stop: on with the call */
                int stopsig = WSTOPSIG(status);
                if (stopsig == SIGSEGV) {
                        if (ptrace(PTRACE_GETREGS, s->tid, NULL, &regs) < 0)
                                return -errno;
                        if (regs.rip == 0) {
                                *ret_value = regs.rax;
                                return 0;
                        }
                        return -EFAULT; /* it crashed inside the call */
                }
                inject_defer_signal(s, stopsig);
        }
}

uint64_t inject_end(struct inject_session *s)
{
        struct iovec iov = {s->xstate, s->xstate_len};
        int sig = 0;

        (void)ptrace(PTRACE_SETREGSET, s->tid, (void *)NT_X86_XSTATE, &iov);
        (void)ptrace(PTRACE_SETREGS, s->tid, NULL, &s->saved);
        /* the first deferred signal with its own siginfo, the others queued again */
        for (int i = 1; i < s->npending; i++)
                (void)syscall(SYS_tgkill, s->pid, s->tid, s->pending[i]);
        if (s->npending > 0 && ptrace(PTRACE_SETSIGINFO, s->tid, NULL, s->pending_info[0]) == 0)
                sig = s->pending[0];
        (void)ptrace(PTRACE_DETACH, s->tid, NULL, (void *)(uintptr_t)sig);
        s->end_ns = inject_now_ns();
        return (uint64_t)(s->end_ns - s->stop_ns);
}
