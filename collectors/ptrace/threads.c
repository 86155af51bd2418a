/* threads_collect: stop every thread, copy registers and stacks, resume, then unwind. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "maps.h"
#include "seize.h"
#include "task.h"
#include "threads.h"
#include "unwind.h"
#include "wakeup.h"

/* The stopped phase: keep it to syscalls that copy, nothing that parses or allocates much. */
/* Copies every stopped thread's registers and stack and resumes it at once.  Threads
 * that were running go first: a thread asleep in the kernel loses nothing by waiting
 * for its turn, a running one loses every microsecond of it. */
static void capture_all(const struct map_table *maps, struct stop_set *set)
{
        size_t budget = CAPTURE_BUDGET;
        bool boosted = false;

        for (int running = 1; running >= 0; running--) {
                size_t resumed = 0;

                for (size_t i = 0; i < set->n; i++) {
                        struct thread_capture *t = &set->threads[i];

                        if ((t->stat.state == 'R') != running)
                                continue;
                        if (t->stopped && t->error == 0)
                                t->error = capture_thread(maps, t, &budget);
                        /* all were stopped together, so the copies are one instant */
                        resumed += t->stopped;
                        stop_set_detach(t);
                }
                if (running) {
                        stop_set_running_resumed(set);
                        /* the threads just resumed would take our CPU (wakeup.h) */
                        if (resumed > 0)
                                boosted = tracer_boost_begin(set->n);
                }
        }
        tracer_boost_end(boosted);
}

/* The profiler must not change the stacks it shows: a thread inside the shim (its
 * malloc, say) is shown from the frame that called into it. */
static void drop_shim_frames(const struct map_table *maps, struct thread_stack *s)
{
        size_t kept = 0;

        for (size_t i = 0; i < s->nframes; i++) {
                const struct map_range *m = map_table_find(maps, s->pcs[i]);

                if (!m || !m->shim)
                        s->pcs[kept++] = s->pcs[i];
        }
        s->nframes = kept;
}

static int unwind_all(pid_t live, const struct map_table *maps, const struct stop_set *set,
                      struct thread_stack *out)
{
        struct unwinder *u = NULL;
        int r;

        r = unwinder_new(live, maps, &u);
        if (r < 0)
                return r;
        for (size_t i = 0; i < set->n; i++) {
                const struct thread_capture *t = &set->threads[i];
                struct thread_stack *s = &out[i];

                s->tid = t->tid;
                memcpy(s->name, t->stat.comm, sizeof(s->name));
                s->state = t->stat.state;
                s->error = t->error;
                memcpy(s->wchan, t->wchan, sizeof(s->wchan));
                if (t->error == 0 && t->have_regs) {
                        s->error = unwinder_unwind(u, t, s->pcs, THREAD_MAX_FRAMES,
                                                   &s->nframes);
                        drop_shim_frames(maps, s);
                }
        }
        unwinder_free(u);
        return 0;
}

/* A thread whose /proc files show the address space: a leader that exited (a zombie
 * while its threads run on) shows an empty maps file. */
static int pick_live_tid(pid_t pid, pid_t *ret)
{
        struct proc_stat st;
        pid_t *tids = NULL;
        size_t n = 0;
        int r;

        r = task_stat_read(pid, pid, &st);
        if (r < 0)
                return r;
        if (st.state != 'Z' && st.state != 'X') {
                *ret = pid;
                return 0;
        }
        r = task_list(pid, &tids, &n);
        if (r < 0)
                return r;
        *ret = pid; /* all zombies: no stacks anyway */
        for (size_t i = 0; i < n; i++)
                if (task_stat_read(pid, tids[i], &st) == 0 && st.state != 'Z' && st.state != 'X') {
                        *ret = tids[i];
                        break;
                }
        free(tids);
        return 0;
}

bool threads_still_seized(void)
{
        return stop_set_left_seized();
}

/* The stopped phase, run by a thread of its own (see threads_collect). */
struct tracer {
        pid_t pid;
        const struct threads_opts *o;
        int64_t deadline_ns;
        const struct map_table *maps;
        struct stop_set set;
        uint64_t stopped_ns;
        int r;
};

static void *tracer_main(void *arg)
{
        struct tracer *tr = arg;
        timer_t timer;
        int r;

        r = stop_set_timer_arm(tr->deadline_ns, &timer);
        if (r < 0)
                goto out;
        r = stop_set_stop_all(tr->pid, tr->o->skip_tid, tr->deadline_ns, tr->maps, &tr->set);
        if (r == 0 && tr->o->verify) {
                /* everything is stopped: no exec, no exit, no credential change until we
                 * let go, so what verify sees holds for what is copied */
                r = tr->o->verify(tr->pid, tr->o->userdata);
                if (r < 0) {
                        stop_set_detach_all(&tr->set);
                        stop_set_clear(&tr->set);
                }
        }
        if (r == 0) {
                capture_all(tr->maps, &tr->set);
                tr->stopped_ns = stop_set_detach_all(&tr->set);
        }
        stop_set_timer_disarm(timer);
out:
        tr->r = r;
        /* returning ends this thread, and with it every ptrace link it still has: a
         * thread that never reached its stop is let go by the kernel */
        return NULL;
}

/* The stopped phase in a thread that exits when it is done, so that nothing it could
 * not stop stays traced by the daemon. */
static int run_tracer(struct tracer *tr)
{
        pthread_t th;
        int r;

        if (tr->o->caller_is_tracer) {
                tracer_main(tr);
                return tr->r;
        }
        r = pthread_create(&th, NULL, tracer_main, tr);
        if (r != 0)
                return -r;
        pthread_join(th, NULL); /* bounded: every wait in there has the deadline */
        return tr->r;
}

int threads_collect(pid_t pid, const struct threads_opts *o, struct thread_snapshot **ret)
{
        static const struct threads_opts defaults = {0};
        struct map_table maps = {0};
        struct thread_snapshot *s = NULL;
        pid_t tracer = 0, live;
        int r;

        if (pid <= 0)
                return -ENOENT;
        if (!o)
                o = &defaults;
        /* Checked first so a traced target fails fast; a race is caught again by SEIZE. */
        r = task_tracer_read(pid, 0, &tracer);
        if (r < 0)
                return r;
        if (tracer != 0)
                return -EBUSY;
        r = pick_live_tid(pid, &live);
        if (r < 0)
                return r;
        /* Read before the stop: the stacks' bounds, without costing the target anything. */
        r = map_table_read(live, &maps);
        if (r < 0)
                return r;

        int64_t now_ns = time_now_ns(CLOCK_REALTIME);
        struct tracer tr = {
                .pid = pid, .o = o, .maps = &maps,
                .deadline_ns = capture_now_ns() +
                               (o->stop_timeout_ns > 0 ? o->stop_timeout_ns
                                                       : THREADS_STOP_TIMEOUT_NS),
        };
        r = run_tracer(&tr);
        if (r < 0)
                goto out;

        s = calloc(1, sizeof(*s));
        if (!s || !(s->threads = calloc(tr.set.n ? tr.set.n : 1, sizeof(*s->threads)))) {
                r = -ENOMEM;
                goto out;
        }
        s->pid = pid;
        s->time_ns = now_ns;
        s->stopped_ns = tr.stopped_ns;
        s->nthreads = tr.set.n;
        r = unwind_all(live, &maps, &tr.set, s->threads);
        if (r < 0)
                goto out;
        *ret = s;
        s = NULL;
out:
        thread_snapshot_free(s);
        stop_set_clear(&tr.set);
        map_table_clear(&maps);
        return r;
}

void thread_snapshot_free(struct thread_snapshot *s)
{
        if (!s)
                return;
        free(s->threads);
        free(s);
}
