/* PTRACE_SEIZE + PTRACE_INTERRUPT of each thread, the waits for their stops, the detaches.
 * Every request for a thread is made by the calling thread, which is its tracer.  Never
 * PTRACE_O_EXITKILL: if we die the kernel detaches and the target runs on. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memprof/array.h"
#include "seize.h"
#include "task.h"
#include "wakeup.h"

/* Threads that keep being born faster than we stop them: give up rescanning after this. */
#define STOP_MAX_PASSES 64

static int cmp_capture(const void *a, const void *b)
{
        pid_t x = ((const struct thread_capture *)a)->tid;
        pid_t y = ((const struct thread_capture *)b)->tid;

        return (x > y) - (x < y);
}

static bool stop_set_has(const struct stop_set *set, size_t sorted, pid_t tid)
{
        struct thread_capture key = { .tid = tid };

        if (sorted == 0)
                return false; /* bsearch wants a real array even for none */
        return bsearch(&key, set->threads, sorted, sizeof(key), cmp_capture) != NULL;
}

static int stop_set_add(struct stop_set *set, pid_t tid, struct thread_capture **ret)
{
        int r = ARRAY_RESERVE(set->threads, set->cap, set->n, 1, 16, TASK_MAX_THREADS);

        if (r < 0)
                return r;
        *ret = &set->threads[set->n++];
        **ret = (struct thread_capture){ .tid = tid };
        return 0;
}

/* Why a thread cannot be seized: someone else traces it, it is exiting, or we may not. */
static int seize_refused(pid_t pid, struct thread_capture *t)
{
        struct proc_stat st;
        pid_t tracer = 0;

        if (task_tracer_read(pid, t->tid, &tracer) == 0 && tracer != 0)
                return -EBUSY;
        if (task_stat_read(pid, t->tid, &st) < 0 || st.state == 'Z' || st.state == 'X') {
                t->error = -ESRCH; /* exited between listing and seizing */
                return 0;
        }
        return -EPERM;
}

static int seize_one(pid_t pid, struct thread_capture *t)
{
        /* TRACEEXIT: a thread (even the leader) exiting meanwhile reports a stop we can wait
         * for, instead of a leader whose death is only reported with the whole group. */
        if (ptrace(PTRACE_SEIZE, t->tid, NULL, (void *)(uintptr_t)PTRACE_O_TRACEEXIT) < 0) {
                if (errno == ESRCH) {
                        t->error = -ESRCH;
                        return 0;
                }
                if (errno == EPERM)
                        return seize_refused(pid, t);
                return -errno;
        }
        t->seized = true;
        return 0;
}

/* A stop is microseconds away once interrupted, and the thread pays for every one of
 * them until we let it go: polling for a while saves our own wake-up from a blocking
 * wait, tens of microseconds on a virtual machine. */
#define WAIT_POLL_NS 200000
/* A thread interrupted late (the running ones go last) still gets this long to stop,
 * even when the stop phase's deadline has passed meanwhile. */
#define WAIT_MIN_NS (20 * 1000000LL)
/* After the deadline the timer keeps interrupting waits this often, so that a signal
 * that lands just before a wait begins cannot leave that wait unbounded. */
#define TIMER_REPEAT_NS 1000000

#define TIMER_SIGNAL (SIGRTMIN + 6)

static void timer_handler(int sig)
{
        (void)sig; /* its only job is to make a blocked waitpid return EINTR */
}

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

static void install_handler(void)
{
        /* no SA_RESTART: the wait must come back to look at the clock */
        struct sigaction sa = { .sa_handler = timer_handler };

        sigemptyset(&sa.sa_mask);
        (void)sigaction(TIMER_SIGNAL, &sa, NULL);
}

int stop_set_timer_arm(int64_t deadline_ns, timer_t *ret)
{
        struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = TIMER_SIGNAL };
        struct itimerspec its = {
                .it_value = { deadline_ns / 1000000000, deadline_ns % 1000000000 },
                .it_interval = { 0, TIMER_REPEAT_NS },
        };
        sigset_t mask;
        timer_t timer;

        pthread_once(&handler_once, install_handler);
        /* libfuse starts its workers with every signal blocked, and we inherit that */
        sigemptyset(&mask);
        sigaddset(&mask, TIMER_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
        ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &ev, &timer) < 0)
                return -errno;
        if (timer_settime(timer, TIMER_ABSTIME, &its, NULL) < 0) {
                int r = -errno;

                timer_delete(timer);
                return r;
        }
        *ret = timer;
        return 0;
}

void stop_set_timer_disarm(timer_t timer)
{
        sigset_t mask;

        timer_delete(timer);
        /* a signal already queued is harmless, but block it so it never interrupts a
         * later call of this thread's */
        sigemptyset(&mask);
        sigaddset(&mask, TIMER_SIGNAL);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
}

/* waitpid for tid until deadline: its pid, 0 when the deadline passed first, -1 with
 * errno on error.  The timer's signal ends the blocking wait at the deadline. */
static pid_t wait_tid(pid_t tid, int *status, int64_t deadline)
{
        int64_t until = capture_now_ns() + WAIT_POLL_NS;

        for (;;) {
                pid_t r = waitpid(tid, status, __WALL | WNOHANG);

                if (r != 0)
                        return r;
                if (capture_now_ns() > deadline)
                        return 0;
                if (capture_now_ns() > until)
                        break;
                __builtin_ia32_pause();
        }
        for (;;) {
                pid_t r = waitpid(tid, status, __WALL);

                if (r >= 0 || errno != EINTR)
                        return r;
                if (capture_now_ns() > deadline)
                        return 0;
        }
}

/* Where a thread that did not stop is waiting, from /proc (empty if unknown). */
static void read_wchan(pid_t pid, struct thread_capture *t)
{
        char path[64];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)t->tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, t->wchan, sizeof(t->wchan) - 1);
        close(fd);
        if (n <= 0 || (n == 1 && t->wchan[0] == '0'))
                n = 0;
        t->wchan[n] = '\0';
        for (ssize_t i = 0; i < n; i++)
                if (t->wchan[i] < 0x21 || t->wchan[i] > 0x7e)
                        t->wchan[i] = '?';
}

/* Waits until a seized thread is in a ptrace-stop, or gone, or the deadline passed. */
static void wait_stop(const struct stop_set *set, struct thread_capture *t)
{
        for (;;) {
                int status;
                unsigned event;
                int64_t deadline = set->deadline_ns;
                pid_t r;

                if (t->interrupt_ns + WAIT_MIN_NS > deadline)
                        deadline = t->interrupt_ns + WAIT_MIN_NS;
                r = wait_tid(t->tid, &status, deadline);
                if (r == 0) {
                        /* Asleep where an interrupt does not reach (a vfork parent, a
                         * reader of a FUSE file): it stays seized, and the kernel lets it
                         * go when our thread exits, stopped or not. */
                        t->stuck = true;
                        t->error = -ETIMEDOUT;
                        read_wchan(set->pid, t);
                        return;
                }
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        /* ECHILD: its id was taken over by an exec in another thread */
                        break;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        break;
                if (!WIFSTOPPED(status))
                        continue;
                t->stopped = true;
                event = (unsigned)status >> 16;
                if (event == PTRACE_EVENT_EXIT)
                        t->error = -ESRCH; /* stopped on its way out: nothing to unwind */
                else if (event == 0)
                        /* A signal-delivery-stop: the registers are as good here; the signal
                         * is handed back at detach so the target still receives it. */
                        t->resume_signal = WSTOPSIG(status);
                /* else PTRACE_EVENT_STOP: our interrupt, or a group-stop (SIGSTOP'd target) */
                return;
        }
        t->seized = false;
        t->error = -ESRCH;
}

static void interrupt_one(struct thread_capture *t)
{
        t->interrupt_ns = capture_now_ns();
        /* Failing only for a thread already exiting; the wait then sees its exit. */
        (void)ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
}

static bool is_running(const struct thread_capture *t)
{
        return t->stat.state == 'R';
}

static bool any_running(const struct stop_set *set)
{
        for (size_t i = 0; i < set->n; i++)
                if (set->threads[i].seized && !set->threads[i].stopped &&
                    !set->threads[i].stuck && is_running(&set->threads[i]))
                        return true;
        return false;
}

/* Interrupts the seized threads from `first` on that are not stopped yet and match
 * `running` (or all, when all is set), then waits for their stops.  The leader is
 * waited for last: if the process is killed meanwhile, its death is only reported once
 * we have reaped every other traced thread. */
static void stop_some(struct stop_set *set, size_t first, bool all, bool running)
{
        for (size_t i = first; i < set->n; i++) {
                struct thread_capture *t = &set->threads[i];

                t->pending = t->seized && !t->stopped && !t->stuck &&
                             (all || is_running(t) == running);
                if (t->pending)
                        interrupt_one(t);
        }
        for (int leader = 0; leader < 2; leader++)
                for (size_t i = first; i < set->n; i++) {
                        struct thread_capture *t = &set->threads[i];

                        if (t->pending && (t->tid == set->pid) == leader) {
                                wait_stop(set, t);
                                t->pending = false;
                        }
                }
}

/* One pass: seize every thread not in the set yet and stop those that are not running
 * (or all of them, when all is set); *ret_added says how many were new. */
static int stop_pass(pid_t pid, struct stop_set *set, bool all, size_t *ret_added)
{
        size_t sorted = set->n, first = set->n, ntids = 0;
        pid_t *tids = NULL;
        int r;

        r = task_list(pid, &tids, &ntids);
        if (r < 0)
                return r;
        /* Every /proc read first, so that the threads are then stopped in a tight loop. */
        for (size_t i = 0; i < ntids; i++) {
                struct thread_capture *t;
                struct proc_stat st;

                if (stop_set_has(set, sorted, tids[i]))
                        continue;
                if (task_stat_read(pid, tids[i], &st) < 0)
                        continue; /* gone before we saw it */
                r = stop_set_add(set, tids[i], &t);
                if (r < 0)
                        break;
                t->stat = st;
                if (tids[i] == set->skip_tid)
                        t->error = -EDEADLK; /* it waits for our answer: never stop it */
                else if (pid == getpid())
                        t->error = -EPERM; /* no thread can trace its own process */
                else if (st.flags & PROC_PF_KTHREAD)
                        t->error = -EOPNOTSUPP;
                else if (st.state == 'Z' || st.state == 'X')
                        t->error = -ESRCH;
                if (t->error == -EDEADLK || t->error == -EPERM)
                        read_wchan(pid, t);
        }
        free(tids);
        for (size_t i = first; i < set->n && r == 0; i++)
                if (set->threads[i].error == 0)
                        r = seize_one(pid, &set->threads[i]);
        /* Even after a failure: whoever was seized must reach a stop to be detached. */
        stop_some(set, first, all || r < 0, false);
        qsort(set->threads, set->n, sizeof(*set->threads), cmp_capture);
        if (r == 0)
                *ret_added = set->n - first;
        return r;
}

/* Whether every thread the process has is stopped by us: /proc/PID/task counts the
 * process's threads in its link count (2 + threads), one fstat instead of a listing. */
static bool all_stopped(const struct stop_set *set, int task_fd)
{
        struct stat st;
        size_t stopped = 0;

        for (size_t i = 0; i < set->n; i++)
                stopped += set->threads[i].stopped;
        return task_fd >= 0 && fstat(task_fd, &st) == 0 && st.st_nlink >= 2 &&
               st.st_nlink - 2 == stopped;
}

/*
 * The threads are stopped together, so the stacks are one instant, but not all for the
 * same time: a thread asleep in the kernel loses nothing by being stopped, a running
 * one loses every microsecond.  So every thread is seized first (that costs the target
 * nothing) and the sleeping ones are stopped, listing again until no new thread shows
 * up; only then are the running ones interrupted.  A running thread may have started
 * another meanwhile: /proc/PID/task's link count tells, without a listing, and only
 * then is the process listed again.
 */
int stop_set_stop_all(pid_t pid, pid_t skip_tid, int64_t deadline_ns,
                      const struct map_table *maps, struct stop_set *set)
{
        bool running_stopped = false;
        char path[48];
        int r = 0, task_fd;

        *set = (struct stop_set){ .pid = pid, .skip_tid = skip_tid, .deadline_ns = deadline_ns,
                                  .quick_wake = -1 };
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        task_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (int pass = 0; pass < STOP_MAX_PASSES; pass++) {
                size_t added = 0;

                r = stop_pass(pid, set, running_stopped, &added);
                if (r == -ENOENT && set->n > 0)
                        r = 0; /* the whole process went away after the first listing */
                if (r < 0)
                        break;
                if (capture_now_ns() > deadline_ns)
                        break; /* threads born that fast are not waited for either */
                if (added > 0)
                        continue;
                if (running_stopped)
                        break; /* listed with everything stopped: nothing new */
                if (any_running(set)) {
                        set->quick_wake = wakeup_hold();
                        capture_warm(pid, maps);
                }
                stop_some(set, 0, false, true);
                running_stopped = true;
                if (all_stopped(set, task_fd))
                        break;
        }
        if (task_fd >= 0)
                close(task_fd);
        /* whoever is seized and still running (the passes ran out, or one failed) must
         * reach a stop: only a stopped thread can be detached */
        stop_some(set, 0, true, false);
        if (r < 0) {
                stop_set_detach_all(set);
                stop_set_clear(set);
                return r;
        }
        return 0;
}

/* A stopped thread the detach did not reach was killed meanwhile (SIGKILL ends a
 * ptrace-stop): it is our zombie now, and must be reaped or the process can never be.
 * False if it is still on its way out at the deadline: only our thread's exit lets go
 * of it then, as of a stuck one. */
static bool reap(const struct stop_set *set, struct thread_capture *t)
{
        for (;;) {
                int status;
                pid_t r = wait_tid(t->tid, &status, set->deadline_ns);

                if (r == 0)
                        return false;
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return true; /* not ours to reap (any more) */
                }
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return true;
                /* stopped again on its way out (PTRACE_EVENT_EXIT): now the detach works */
                if (WIFSTOPPED(status) && ptrace(PTRACE_DETACH, t->tid, NULL, NULL) == 0)
                        return true;
        }
}

void stop_set_detach(struct thread_capture *t)
{
        if (!t->stopped)
                return;
        if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)t->resume_signal) == 0)
                t->seized = false;
        t->detach_ns = capture_now_ns();
        t->stopped = false;
}

void stop_set_running_resumed(struct stop_set *set)
{
        wakeup_release(set->quick_wake);
        set->quick_wake = -1;
}

/* Set on a thread that, as a tracer, could not let go of every thread it seized. */
static __thread bool left_seized;

bool stop_set_left_seized(void)
{
        return left_seized;
}

uint64_t stop_set_detach_all(struct stop_set *set)
{
        uint64_t longest = 0;

        for (size_t i = 0; i < set->n; i++) {
                struct thread_capture *t = &set->threads[i];

                stop_set_detach(t);
                if (t->detach_ns && (uint64_t)(t->detach_ns - t->interrupt_ns) > longest)
                        longest = (uint64_t)(t->detach_ns - t->interrupt_ns);
        }
        stop_set_running_resumed(set);
        /* the leader last, as in the stop: its death waits for the others' */
        for (int leader = 0; leader < 2; leader++)
                for (size_t i = 0; i < set->n; i++) {
                        struct thread_capture *t = &set->threads[i];

                        if (t->seized && !t->stuck && (t->tid == set->pid) == leader) {
                                left_seized |= !reap(set, t);
                                t->seized = false;
                                t->error = -ESRCH;
                        }
                }
        for (size_t i = 0; i < set->n; i++)
                left_seized |= set->threads[i].seized;
        return longest;
}

void stop_set_clear(struct stop_set *set)
{
        if (!set)
                return;
        for (size_t i = 0; i < set->n; i++)
                capture_release(&set->threads[i]);
        free(set->threads);
        set->threads = NULL;
        set->n = set->cap = 0;
}
