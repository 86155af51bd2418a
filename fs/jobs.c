/* File contents generated in threads of their own, each waited for with a deadline. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memprofd.h"
#include "threads.h"

/*
 * A generator reads the target's /proc files and memory and may ptrace it, and the
 * target decides how long some of that takes (its mmap lock, a thread asleep where no
 * interrupt reaches).  Every wait inside has its own bound, but a FUSE worker must not
 * depend on all of them holding: it hands the work to a thread and waits JOB_TIMEOUT_S
 * at most.  A job that overruns finishes on its own and frees what it made.  Until then
 * it counts against its caller's uid, so one user's stalled targets cannot pile up
 * threads without bound: a uid with JOBS_OVERRUN_PER_UID of them gets EAGAIN until they
 * end.  Jobs that have a worker waiting are bounded by the workers already.
 */
#define JOBS_OVERRUN_PER_UID 4

struct job {
        int refs; /* the waiting worker (until it gives up) and the thread */
        bool done;
        bool overrun; /* the worker gave up on it */
        int r;
        char *buf;
        size_t len;
        struct memprofd *d;
        generate_fn fn;
        struct caller c;
        struct target t;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_done; /* on CLOCK_MONOTONIC: see jobs_init */
static pthread_once_t jobs_once = PTHREAD_ONCE_INIT;
static unsigned nrunning;
static struct {
        uid_t uid;
        unsigned n;
} overrun[JOBS_LIMIT]; /* jobs given up on and still running, by uid */

void cond_init_monotonic(pthread_cond_t *c)
{
        pthread_condattr_t a;

        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(c, &a);
        pthread_condattr_destroy(&a);
}

static void jobs_init(void)
{
        cond_init_monotonic(&jobs_done);
}

/* The overrun count of uid, or a free one to use for it; NULL if none is left.  Called
 * with jobs_lock held. */
static unsigned *overrun_of(uid_t uid, bool add)
{
        int free_slot = -1;

        for (int i = 0; i < JOBS_LIMIT; i++) {
                if (overrun[i].n > 0 && overrun[i].uid == uid)
                        return &overrun[i].n;
                if (overrun[i].n == 0 && free_slot < 0)
                        free_slot = i;
        }
        if (!add || free_slot < 0)
                return NULL;
        overrun[free_slot].uid = uid;
        return &overrun[free_slot].n;
}

/* Counts a new job for uid; -EAGAIN when the daemon or that uid has too many. */
static int slot_take(uid_t uid)
{
        unsigned *mine;
        int r = -EAGAIN;

        pthread_mutex_lock(&jobs_lock);
        mine = overrun_of(uid, false);
        if (nrunning < JOBS_LIMIT && (!mine || *mine < JOBS_OVERRUN_PER_UID)) {
                nrunning++;
                r = 0;
        }
        pthread_mutex_unlock(&jobs_lock);
        return r;
}

/* Called with jobs_lock held. */
static void slot_put(const struct job *j)
{
        unsigned *mine = j->overrun ? overrun_of(j->c.uid, false) : NULL;

        if (mine)
                (*mine)--;
        nrunning--;
}

/* Drops a reference; called with jobs_lock held, returns the job to free or NULL. */
static struct job *job_unref_locked(struct job *j)
{
        return --j->refs == 0 ? j : NULL;
}

static void job_free(struct job *j)
{
        if (!j)
                return;
        free(j->buf);
        free(j);
}

/*
 * The access check was made before the job started; what the job read (maps, segment,
 * memory, /proc figures) must still be the caller's to see.  A process that exec'd a
 * setuid program, made itself non-dumpable or left its PID to another process meanwhile
 * is refused now, after the reading, which is the check's moment of use for files made
 * without stopping the process.  (threads is checked again while the process is
 * stopped: see collect_threads.)  A process that simply exited (or is a zombie now)
 * keeps what was read.
 */
static int check_after(struct job *j)
{
        uint64_t start;
        int r;

        if (j->t.pid <= 0) /* a root file: per caller by construction */
                return 0;
        r = access_recheck(&j->c, &j->t);
        if (r != -ENOENT)
                return r;
        /* gone, or a zombie now: still the process that was read, not a new one */
        if (proc_start_time(j->t.pid, &start) < 0 || tree_start_bits(start) == j->t.start)
                return 0;
        return r;
}

/* Runs one job and hands its result to the worker waiting for it (or frees it). */
static void job_execute(struct job *j)
{
        char *buf = NULL;
        size_t len = 0;
        int r;

        r = j->fn(j->d, &j->c, &j->t, &buf, &len);
        if (r == 0) {
                r = check_after(j);
                if (r == -EACCES)
                        fs_log("pid %d: its credentials changed while a file was made for "
                               "uid %d: refused",
                               (int)j->t.pid, (int)j->c.uid);
                if (r < 0)
                        free(buf);
        }
        pthread_mutex_lock(&jobs_lock);
        j->r = r;
        j->buf = r == 0 ? buf : NULL;
        j->len = len;
        j->done = true;
        slot_put(j);
        pthread_cond_broadcast(&jobs_done);
        j = job_unref_locked(j);
        pthread_mutex_unlock(&jobs_lock);
        job_free(j); /* only when the worker gave up on it */
}

/*
 * Job threads wait for the next job once done, a few of them, for a while: a new
 * thread waits for a CPU until the scheduler's next tick when the target keeps every
 * CPU busy (milliseconds), where a woken one usually runs at once.  A thread that is
 * still the tracer of a thread it could not stop ends instead: only that lets it go.
 */
#define JOBS_IDLE_MAX 4
#define JOBS_IDLE_S 30

struct idler {
        pthread_cond_t wake;
        struct job *job; /* given by job_run */
        struct idler *next;
};

static struct idler *idlers; /* waiting for a job, under jobs_lock */
static unsigned nidle;

/* The next job for this thread, or NULL when it should end. */
static struct job *job_wait(void)
{
        struct idler me = {.job = NULL};
        struct timespec until;

        if (threads_still_seized())
                return NULL;
        cond_init_monotonic(&me.wake);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += JOBS_IDLE_S;
        pthread_mutex_lock(&jobs_lock);
        if (nidle < JOBS_IDLE_MAX) {
                me.next = idlers;
                idlers = &me;
                nidle++;
                while (!me.job)
                        if (pthread_cond_timedwait(&me.wake, &jobs_lock, &until) == ETIMEDOUT)
                                break;
                if (!me.job) { /* still listed: nobody took it */
                        struct idler **p = &idlers;

                        while (*p != &me)
                                p = &(*p)->next;
                        *p = me.next;
                        nidle--;
                }
        }
        pthread_mutex_unlock(&jobs_lock);
        pthread_cond_destroy(&me.wake);
        return me.job;
}

/* Gives j to a waiting job thread; false if none waits.  Called with jobs_lock held. */
static bool job_hand_over(struct job *j)
{
        struct idler *w = idlers;

        if (!w)
                return false;
        idlers = w->next;
        nidle--;
        w->job = j;
        pthread_cond_signal(&w->wake);
        return true;
}

static void *job_main(void *arg)
{
        for (struct job *j = arg; j; j = job_wait())
                job_execute(j);
        return NULL;
}

int job_run(struct memprofd *d, const char *what, generate_fn fn, const struct caller *c,
            const struct target *t, char **ret_buf, size_t *ret_len)
{
        struct timespec deadline;
        pthread_attr_t attr;
        pthread_t th;
        struct job *j;
        bool handed;
        int r;

        pthread_once(&jobs_once, jobs_init);
        r = slot_take(c->uid);
        if (r < 0) {
                fs_log("pid %d: %s: refused: uid %d has %d files whose generation overran, "
                       "or the daemon has %d files being generated",
                       (int)t->pid, what, (int)c->uid, JOBS_OVERRUN_PER_UID, JOBS_LIMIT);
                return r;
        }
        j = calloc(1, sizeof(*j));
        if (!j) {
                pthread_mutex_lock(&jobs_lock);
                nrunning--;
                pthread_mutex_unlock(&jobs_lock);
                return -ENOMEM;
        }
        *j = (struct job){.refs = 2, .d = d, .fn = fn, .c = *c, .t = *t};
        pthread_mutex_lock(&jobs_lock);
        handed = job_hand_over(j);
        pthread_mutex_unlock(&jobs_lock);
        if (!handed) {
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = -pthread_create(&th, &attr, job_main, j);
                pthread_attr_destroy(&attr);
        }
        if (r < 0) {
                pthread_mutex_lock(&jobs_lock);
                nrunning--;
                pthread_mutex_unlock(&jobs_lock);
                free(j);
                return r;
        }

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += JOB_TIMEOUT_S;
        pthread_mutex_lock(&jobs_lock);
        while (!j->done)
                if (pthread_cond_timedwait(&jobs_done, &jobs_lock, &deadline) == ETIMEDOUT)
                        break;
        if (j->done) {
                r = j->r;
                if (r == 0) {
                        *ret_buf = j->buf;
                        *ret_len = j->len;
                        j->buf = NULL;
                }
        } else {
                unsigned *mine = overrun_of(c->uid, true);

                /* the daemon-wide bound keeps a free place for every running job */
                if (mine) {
                        (*mine)++;
                        j->overrun = true;
                }
                r = -ETIMEDOUT;
        }
        j = job_unref_locked(j);
        pthread_mutex_unlock(&jobs_lock);
        job_free(j);
        if (r == -ETIMEDOUT) {
                health_count(HEALTH_TIMEOUT);
                fs_log("pid %d: %s: not done within %d s: given up", (int)t->pid, what,
                       JOB_TIMEOUT_S);
                return -EIO;
        }
        return r;
}

int job_generate(struct memprofd *d, const struct fs_file *f, const struct caller *c,
                 const struct target *t, char **ret_buf, size_t *ret_len)
{
        return job_run(d, f->name, f->generate, c, t, ret_buf, ret_len);
}

bool jobs_drain(int timeout_s)
{
        struct timespec deadline;
        bool idle;

        pthread_once(&jobs_once, jobs_init);
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_s;
        pthread_mutex_lock(&jobs_lock);
        while (nrunning > 0)
                if (pthread_cond_timedwait(&jobs_done, &jobs_lock, &deadline) == ETIMEDOUT)
                        break;
        idle = nrunning == 0;
        pthread_mutex_unlock(&jobs_lock);
        return idle;
}
