/* threads_collect against the example: every thread with its blocking function, name and
 * state; the target free and running afterwards; stopped stays stopped; traced is -EBUSY. */
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target.h"
#include "threads.h"

static const char *example;

static const struct thread_stack *find_thread(const struct thread_snapshot *s, const char *name)
{
        for (size_t i = 0; i < s->nthreads; i++)
                if (strcmp(s->threads[i].name, name) == 0)
                        return &s->threads[i];
        return NULL;
}

/* How many frames of the stack are in function fn (return addresses looked up at pc-1). */
static size_t frames_in(const struct target *t, const struct thread_stack *ts, const char *fn)
{
        size_t n = 0;

        for (size_t i = 0; i < ts->nframes; i++)
                if (strcmp(target_symbol(t, ts->pcs[i] - (i > 0)), fn) == 0)
                        n++;
        return n;
}

static void dump(const struct target *t, const struct thread_snapshot *s)
{
        for (size_t i = 0; i < s->nthreads; i++) {
                const struct thread_stack *ts = &s->threads[i];

                fprintf(stderr, "TID %d %s %c error %d\n", (int)ts->tid, ts->name, ts->state,
                        ts->error);
                for (size_t j = 0; j < ts->nframes; j++)
                        fprintf(stderr, "  #%zu 0x%lx %s\n", j, (unsigned long)ts->pcs[j],
                                target_symbol(t, ts->pcs[j] - (j > 0)));
        }
}

static void check_thread(const struct target *t, const struct thread_snapshot *s,
                         const char *name, const char *fn, const char *states)
{
        const struct thread_stack *ts = find_thread(s, name);

        if (!ts || ts->error || !strchr(states, ts->state) || frames_in(t, ts, fn) == 0 ||
            frames_in(t, ts, "run") != 1) {
                fprintf(stderr, "thread %s: expected %s in state [%s]\n", name, fn, states);
                dump(t, s);
                CHECK(!"thread as expected");
        }
}

static void test_all_threads(void)
{
        struct thread_snapshot *s = NULL;
        struct target t;

        target_start(&t, example, NULL);
        CHECK(threads_collect(t.pid, NULL, &s) == 0);
        CHECK(s->pid == t.pid && s->nthreads == 6 && s->time_ns > 0 && s->stopped_ns > 0);
        for (size_t i = 1; i < s->nthreads; i++)
                CHECK(s->threads[i - 1].tid < s->threads[i].tid);
        CHECK(s->threads[0].tid == t.pid && s->threads[0].nframes > 0);
        check_thread(&t, s, "mp-condvar", "wait_on_condvar", "S");
        check_thread(&t, s, "mp-sleep", "sleep_in_nanosleep", "S");
        check_thread(&t, s, "mp-pipe", "block_in_pipe_read", "S");
        check_thread(&t, s, "mp-busy", "spin_busy_loop", "R");
        check_thread(&t, s, "mp-deep", "block_at_bottom", "S");
        CHECK(frames_in(&t, find_thread(s, "mp-deep"), "recurse_deep") == 40);
        CHECK(frames_in(&t, &s->threads[0], "main") == 1);
        /* the busy thread's pc is in the loop itself, not a return address */
        CHECK(strcmp(target_symbol(&t, find_thread(s, "mp-busy")->pcs[0]), "spin_busy_loop") == 0);
        thread_snapshot_free(s);

        CHECK(target_free_running(t.pid, false));
        CHECK(target_spinning(&t));
        /* and again: nothing left behind by the first collection */
        CHECK(threads_collect(t.pid, NULL, &s) == 0 && s->nthreads == 6);
        thread_snapshot_free(s);
        CHECK(target_free_running(t.pid, false));
        target_stop(&t);
}

/* A SIGSTOP'd process is still stopped after the collection, every thread of it. */
static void test_stopped_stays_stopped(void)
{
        struct thread_snapshot *s = NULL;
        struct timespec tick = { 0, 1000000 };
        struct target t;
        int status;
        uint64_t spins;

        target_start(&t, example, NULL);
        CHECK(kill(t.pid, SIGSTOP) == 0);
        CHECK(waitpid(t.pid, &status, WUNTRACED) == t.pid && WIFSTOPPED(status));
        CHECK(threads_collect(t.pid, NULL, &s) == 0 && s->nthreads == 6);
        for (size_t i = 0; i < s->nthreads; i++)
                CHECK(s->threads[i].state == 'T' && s->threads[i].nframes > 0);
        check_thread(&t, s, "mp-deep", "block_at_bottom", "T");
        thread_snapshot_free(s);
        CHECK(target_free_running(t.pid, true));
        spins = target_spins(&t);
        /* back in the group stop: every thread T again (detach puts them back there) */
        for (int i = 0; i < 5000; i++) {
                bool all = true;

                CHECK(threads_collect(t.pid, NULL, &s) == 0);
                for (size_t j = 0; j < s->nthreads; j++)
                        all &= s->threads[j].state == 'T';
                thread_snapshot_free(s);
                if (all)
                        break;
                nanosleep(&tick, NULL);
        }
        nanosleep(&tick, NULL);
        CHECK(target_spins(&t) == spins);
        CHECK(kill(t.pid, SIGCONT) == 0);
        CHECK(target_spinning(&t));
        CHECK(target_free_running(t.pid, false));
        target_stop(&t);
}

/* Another tracer holds one thread (not the leader, so only SEIZE can tell): -EBUSY, and the
 * threads seized before it are let go. */
static void test_traced_is_busy(bool whole_process)
{
        struct thread_snapshot *s = NULL;
        struct target t;
        pid_t holder, victim;
        int sync[2];
        char c;

        target_start(&t, example, NULL);
        CHECK(threads_collect(t.pid, NULL, &s) == 0);
        victim = whole_process ? t.pid : find_thread(s, "mp-sleep")->tid;
        thread_snapshot_free(s);
        CHECK(pipe(sync) == 0);
        holder = fork();
        CHECK(holder >= 0);
        if (holder == 0) {
                if (ptrace(PTRACE_SEIZE, victim, NULL, NULL) < 0)
                        _exit(1);
                (void)!write(sync[1], "x", 1);
                pause();
                _exit(0);
        }
        close(sync[1]);
        CHECK(read(sync[0], &c, 1) == 1);
        close(sync[0]);
        CHECK(threads_collect(t.pid, NULL, &s) == -EBUSY);
        CHECK(thread_tracer(t.pid, victim) == holder);
        kill(holder, SIGKILL);
        waitpid(holder, NULL, 0);
        CHECK(target_free_running(t.pid, false));
        CHECK(target_spinning(&t));
        CHECK(threads_collect(t.pid, NULL, &s) == 0 && s->nthreads == 6);
        thread_snapshot_free(s);
        target_stop(&t);
}

/* The leader exited (pthread_exit) and is a zombie: reported without a stack. */
static void test_zombie_leader(void)
{
        struct thread_snapshot *s = NULL;
        struct timespec tick = { 0, 1000000 };
        struct target t;

        target_start(&t, example, "exit-main");
        for (int i = 0; i < 5000 && thread_state(t.pid, t.pid) != 'Z'; i++)
                nanosleep(&tick, NULL);
        CHECK(thread_state(t.pid, t.pid) == 'Z');
        CHECK(threads_collect(t.pid, NULL, &s) == 0 && s->nthreads == 6);
        CHECK(s->threads[0].tid == t.pid && s->threads[0].state == 'Z');
        CHECK(s->threads[0].error == -ESRCH && s->threads[0].nframes == 0);
        check_thread(&t, s, "mp-pipe", "block_in_pipe_read", "S");
        thread_snapshot_free(s);
        CHECK(target_free_running(t.pid, false));
        target_stop(&t);
}

/* Threads born while the collection stops the process: every collection succeeds with
 * the long-lived threads as they are, and leaves no thread traced or stopped. */
static void test_threads_born_meanwhile(void)
{
        struct thread_snapshot *s = NULL;
        struct target t;

        target_start(&t, example, "spawn");
        for (int i = 0; i < 300; i++) {
                bool leader = false;

                CHECK(threads_collect(t.pid, NULL, &s) == 0);
                for (size_t j = 0; j < s->nthreads; j++)
                        leader |= s->threads[j].tid == t.pid && s->threads[j].nframes > 0;
                CHECK(s->nthreads >= 6 && leader);
                /* back-to-back stops restart their system calls: R for a moment */
                check_thread(&t, s, "mp-sleep", "sleep_in_nanosleep", "SR");
                check_thread(&t, s, "mp-deep", "block_at_bottom", "SR");
                thread_snapshot_free(s);
        }
        CHECK(target_free_running(t.pid, false));
        CHECK(target_spinning(&t));
        target_stop(&t);
}

/* A collector killed at any point leaves the target running: the kernel detaches. */
static void test_collector_killed(void)
{
        struct target t;

        target_start(&t, example, NULL);
        for (int i = 0; i < 40; i++) {
                struct timespec delay = { 0, (long)(i % 10) * 300000 };
                pid_t c = fork();

                CHECK(c >= 0);
                if (c == 0) {
                        for (;;) {
                                struct thread_snapshot *s = NULL;

                                if (threads_collect(t.pid, NULL, &s) == 0)
                                        thread_snapshot_free(s);
                        }
                }
                nanosleep(&delay, NULL);
                kill(c, SIGKILL);
                waitpid(c, NULL, 0);
                CHECK(target_free_running(t.pid, false));
        }
        CHECK(target_spinning(&t));
        target_stop(&t);
}

static void test_no_such_process(void)
{
        struct thread_snapshot *s = NULL;
        pid_t p = fork();

        CHECK(p >= 0);
        if (p == 0)
                _exit(0);
        waitpid(p, NULL, 0);
        CHECK(threads_collect(p, NULL, &s) == -ENOENT);
        CHECK(threads_collect(-1, NULL, &s) == -ENOENT);
}

/* A kernel thread has no user stack: listed, not an error, never a hang. */
static void test_kernel_thread(void)
{
        struct thread_snapshot *s = NULL;

        if (threads_collect(2, NULL, &s) != 0) {
                printf("no kthreadd at pid 2 (container?): kernel thread case not checked\n");
                return;
        }
        CHECK(s->nthreads == 1 && s->threads[0].error == -EOPNOTSUPP);
        CHECK(s->threads[0].nframes == 0);
        thread_snapshot_free(s);
}

static void kill_children(pid_t pid)
{
        char path[64];
        FILE *f;
        int child;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fscanf(f, "%d", &child) == 1)
                kill(child, SIGKILL);
        fclose(f);
}

/* A thread asleep in vfork cannot be stopped: reported as such after the timeout, the
 * others unwound as usual, and nothing left traced. */
static void test_vfork_times_out(void)
{
        struct threads_opts o = { .stop_timeout_ns = 100 * 1000000LL };
        struct thread_snapshot *s = NULL;
        struct timespec tick = { 0, 1000000 };
        struct target t;

        target_start(&t, example, "vfork");
        for (int i = 0; i < 5000 && thread_state(t.pid, t.pid) != 'D'; i++)
                nanosleep(&tick, NULL);
        CHECK(thread_state(t.pid, t.pid) == 'D');
        CHECK(threads_collect(t.pid, &o, &s) == 0 && s->nthreads == 6);
        CHECK(s->threads[0].tid == t.pid && s->threads[0].error == -ETIMEDOUT);
        CHECK(s->threads[0].nframes == 0 && s->threads[0].wchan[0] != '\0');
        check_thread(&t, s, "mp-condvar", "wait_on_condvar", "S");
        check_thread(&t, s, "mp-deep", "block_at_bottom", "S");
        thread_snapshot_free(s);
        /* the kernel let the leader go with the collector's thread: nobody traces it */
        for (int i = 0; i < 5000 && thread_tracer(t.pid, t.pid) != 0; i++)
                nanosleep(&tick, NULL);
        CHECK(target_free_running(t.pid, false));
        CHECK(target_spinning(&t));
        kill_children(t.pid); /* the sleeping child holds our stdout */
        target_stop(&t);
}

struct verify_seen {
        pid_t pid;
        int calls;
        bool all_stopped;
        int answer;
};

/* verify runs with every thread in a ptrace-stop ('t'), before anything is copied. */
static int verify_stopped(pid_t pid, void *userdata)
{
        struct verify_seen *v = userdata;
        pid_t tids[16];
        size_t n = 0;
        char path[64];
        DIR *d;
        struct dirent *de;

        v->calls++;
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        d = opendir(path);
        if (!d)
                return -EIO;
        while ((de = readdir(d)) && n < 16)
                if (de->d_name[0] != '.')
                        tids[n++] = (pid_t)atoi(de->d_name);
        closedir(d);
        v->all_stopped = n == 6 && pid == v->pid;
        for (size_t i = 0; i < n; i++)
                v->all_stopped &= thread_state(pid, tids[i]) == 't';
        return v->answer;
}

static void test_verify(void)
{
        struct verify_seen v = { .answer = 0 };
        struct threads_opts o = { .verify = verify_stopped, .userdata = &v };
        struct thread_snapshot *s = NULL;
        struct target t;

        target_start(&t, example, NULL);
        v.pid = t.pid;
        CHECK(threads_collect(t.pid, &o, &s) == 0 && s->nthreads == 6);
        CHECK(v.calls == 1 && v.all_stopped);
        check_thread(&t, s, "mp-deep", "block_at_bottom", "S");
        thread_snapshot_free(s);
        /* a refusal ends the collection with its error, the target untouched */
        v = (struct verify_seen){ .pid = t.pid, .answer = -EACCES };
        s = NULL;
        CHECK(threads_collect(t.pid, &o, &s) == -EACCES && s == NULL && v.calls == 1);
        CHECK(target_free_running(t.pid, false));
        CHECK(target_spinning(&t));
        target_stop(&t);
}

/* The skipped thread (a reader of the file) is listed, never stopped. */
static void test_skip_tid(void)
{
        struct thread_snapshot *s = NULL;
        const struct thread_stack *sl;
        struct target t;

        target_start(&t, example, NULL);
        CHECK(threads_collect(t.pid, NULL, &s) == 0);
        sl = find_thread(s, "mp-sleep");
        CHECK(sl);
        struct threads_opts o = { .skip_tid = sl->tid };
        pid_t skip = sl->tid;
        thread_snapshot_free(s);
        CHECK(threads_collect(t.pid, &o, &s) == 0 && s->nthreads == 6);
        sl = find_thread(s, "mp-sleep");
        CHECK(sl && sl->tid == skip && sl->error == -EDEADLK && sl->nframes == 0);
        /* right after the first collection's stop it may still be restarting its read */
        check_thread(&t, s, "mp-pipe", "block_in_pipe_read", "SR");
        thread_snapshot_free(s);
        CHECK(target_free_running(t.pid, false));
        target_stop(&t);
}

/* The calling thread as the tracer (a job thread's way): the same stacks, nothing left
 * seized, and the thread back on the ordinary policy after its boost (wakeup.h), even
 * from a process with a busy thread (mp-busy), which is what takes it. */
static void test_caller_is_tracer(void)
{
        struct threads_opts o = {.caller_is_tracer = true};
        struct thread_snapshot *s = NULL;
        struct target t;

        target_start(&t, example, NULL);
        for (int i = 0; i < 20; i++) {
                CHECK(threads_collect(t.pid, &o, &s) == 0 && s->nthreads == 6);
                check_thread(&t, s, "mp-deep", "block_at_bottom", "SR");
                CHECK(frames_in(&t, find_thread(s, "mp-deep"), "recurse_deep") == 40);
                thread_snapshot_free(s);
                CHECK(sched_getscheduler(0) == SCHED_OTHER);
                CHECK(!threads_still_seized());
        }
        CHECK(target_free_running(t.pid, false));
        target_stop(&t);
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s EXAMPLE\n", argv[0]);
                return 2;
        }
        example = argv[1];
        test_no_such_process();
        test_kernel_thread();
        test_all_threads();
        test_stopped_stays_stopped();
        test_traced_is_busy(true);
        test_traced_is_busy(false);
        test_zombie_leader();
        test_threads_born_meanwhile();
        test_collector_killed();
        test_vfork_times_out();
        test_verify();
        test_skip_tid();
        test_caller_is_tracer();
        target_kill_all();
        printf("ok\n");
        return 0;
}
