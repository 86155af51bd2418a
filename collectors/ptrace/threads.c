/* threads_collect: stop every thread, copy registers and stacks, resume, then unwind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "maps.h"
#include "seize.h"
#include "task.h"
#include "threads.h"
#include "unwind.h"

/* The stopped phase: keep it to syscalls that copy, nothing that parses or allocates much. */
/* Copies every stopped thread's registers and stack and resumes it at once.  Threads
 * that were running go first: a thread asleep in the kernel loses nothing by waiting
 * for its turn, a running one loses every microsecond of it. */
static void capture_all(const struct map_table *maps, struct stop_set *set)
{
        size_t budget = CAPTURE_BUDGET;

        for (int running = 1; running >= 0; running--) {
                for (size_t i = 0; i < set->n; i++) {
                        struct thread_capture *t = &set->threads[i];

                        if ((t->stat.state == 'R') != running)
                                continue;
                        if (t->stopped && t->error == 0)
                                t->error = capture_thread(maps, t, &budget);
                        /* all were stopped together, so the copies are one instant */
                        stop_set_detach(t);
                }
                if (running)
                        stop_set_running_resumed(set);
        }
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
                if (t->error == 0 && t->have_regs)
                        s->error = unwinder_unwind(u, t, s->pcs, THREAD_MAX_FRAMES,
                                                   &s->nframes);
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

int threads_collect(pid_t pid, struct thread_snapshot **ret)
{
        struct map_table maps = {0};
        struct stop_set set = {0};
        struct thread_snapshot *s = NULL;
        struct timespec now;
        pid_t tracer = 0, live;
        int r;

        if (pid <= 0)
                return -ENOENT;
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

        clock_gettime(CLOCK_REALTIME, &now);
        r = stop_set_stop_all(pid, &maps, &set);
        if (r < 0)
                goto out;
        capture_all(&maps, &set);
        uint64_t stopped_ns = stop_set_detach_all(&set);

        s = calloc(1, sizeof(*s));
        if (!s || !(s->threads = calloc(set.n ? set.n : 1, sizeof(*s->threads)))) {
                r = -ENOMEM;
                goto out;
        }
        s->pid = pid;
        s->time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        s->stopped_ns = stopped_ns;
        s->nthreads = set.n;
        r = unwind_all(live, &maps, &set, s->threads);
        if (r < 0)
                goto out;
        *ret = s;
        s = NULL;
out:
        thread_snapshot_free(s);
        stop_set_clear(&set);
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
