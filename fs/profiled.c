/* Which processes memprof profiles (a shim segment of their own, a Go executable),
 * remembered per process so that metrics.prom reads nothing of the many that are neither. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "goruntime.h"
#include "heap_segment.h"
#include "memprof/clock.h"
#include "memprofd.h"

/*
 * Finding out costs a read of /proc/PID/maps (the shim's segment) and a look at the
 * executable (Go), for every process on the host at every scrape: the expensive part of
 * metrics.prom.  Both answers belong to one process image: the same PID and start time
 * (not a later process with the PID) and the same executable (exec keeps PID and start
 * time; /proc/PID/exe's device and inode tell).  So they are kept per (pid, start time,
 * executable), and a scrape costs one stat of /proc/PID/exe for a process that is
 * neither.  What can change within one image:
 *   - Go-ness cannot: it is the executable's;
 *   - the shim can be found gone (a process that unmapped it, a forged one refused now):
 *     the metrics read finds that and says so (profiled_shim_gone);
 *   - the shim can appear: a freshly exec'd process before the shim's constructor made
 *     its segment, or `memprof attach` loading it later.  A process younger than
 *     YOUNG_S is looked at every time; an older one again after RECHECK_S to twice
 *     that (spread by PID, so that a host's processes are not all looked at in the same
 *     scrape).
 */
#define YOUNG_S 2
#define RECHECK_S 30
#define NS_PER_S 1000000000LL

struct known {
        pid_t pid;
        uint64_t start; /* as in struct node */
        bool exe_known; /* exe_dev and exe_ino hold the image the answers are about */
        dev_t exe_dev;
        ino_t exe_ino;
        unsigned kinds;          /* PROFILED_* */
        int64_t shim_checked_ns; /* CLOCK_MONOTONIC */
};

/* The last classification, sorted by pid. */
static struct {
        pthread_mutex_t lock;
        struct known *e;
        size_t n;
} memory = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The entry for pid, or NULL.  Called with the lock held. */
static struct known *find(pid_t pid)
{
        size_t lo = 0, hi = memory.n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (memory.e[mid].pid == pid)
                        return &memory.e[mid];
                if (memory.e[mid].pid < pid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static bool has_shim(pid_t pid)
{
        int fd;

        if (heap_segment_open(pid, &fd, NULL) < 0)
                return false;
        close(fd);
        return true;
}

/* Whether pid runs a Go program; -errno when that could not be told (not remembered). */
static int is_go(pid_t pid, bool *ret)
{
        struct go_target *gt;
        int r;

        r = go_target_open(pid, &gt);
        if (r == -ENOEXEC) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return r;
        go_target_free(gt);
        *ret = true;
        return 0;
}

static bool shim_due(const struct known *k, int64_t now, uint64_t now_ticks, long ticks_per_s)
{
        int64_t every =
            (RECHECK_S + (int64_t)((uint32_t)k->pid * 2654435761u % RECHECK_S)) * NS_PER_S;

        /* both in the bits an inode keeps; a wrapped clock (after 21 years) counts as old */
        if (now_ticks >= k->start && now_ticks - k->start < (uint64_t)(YOUNG_S * ticks_per_s))
                return true;
        return now - k->shim_checked_ns >= every;
}

/* Brings k up to date for the process as it is now. */
static void classify_one(struct known *k, int64_t now, uint64_t now_ticks, long ticks_per_s)
{
        char path[48];
        struct stat st;
        bool go;

        snprintf(path, sizeof(path), "/proc/%d/exe", (int)k->pid);
        if (stat(path, &st) < 0) {
                /* gone, or no executable to speak of: nothing profiled, nothing known */
                *k = (struct known){.pid = k->pid, .start = k->start};
                return;
        }
        if (!k->exe_known || k->exe_dev != st.st_dev || k->exe_ino != st.st_ino) {
                *k = (struct known){.pid = k->pid, .start = k->start};
                if (is_go(k->pid, &go) == 0) {
                        k->exe_known = true;
                        k->exe_dev = st.st_dev;
                        k->exe_ino = st.st_ino;
                        k->kinds = go ? PROFILED_GO : 0;
                }
        } else if ((k->kinds & PROFILED_SHIM) || !shim_due(k, now, now_ticks, ticks_per_s)) {
                return; /* a shim is checked by reading it */
        }
        k->kinds &= ~PROFILED_SHIM;
        if (has_shim(k->pid))
                k->kinds |= PROFILED_SHIM;
        k->shim_checked_ns = now;
}

int profiled_classify(const struct node *nodes, size_t n, unsigned *ret_kinds)
{
        long ticks_per_s = sysconf(_SC_CLK_TCK);
        int64_t now = time_now_ns(CLOCK_MONOTONIC);
        uint64_t now_ticks;
        struct known *fresh, *old;

        if (ticks_per_s <= 0)
                ticks_per_s = 100;
        /* process start times count clock ticks on CLOCK_BOOTTIME */
        now_ticks = tree_start_bits(
                (uint64_t)(time_now_ns(CLOCK_BOOTTIME) / (NS_PER_S / ticks_per_s)));
        fresh = malloc((n ? n : 1) * sizeof(*fresh));
        if (!fresh)
                return -ENOMEM;
        pthread_mutex_lock(&memory.lock);
        for (size_t i = 0; i < n; i++) {
                const struct known *k = find(nodes[i].pid);

                fresh[i] = k && k->start == nodes[i].start
                               ? *k
                               : (struct known){.pid = nodes[i].pid, .start = nodes[i].start};
        }
        pthread_mutex_unlock(&memory.lock);

        /* outside the lock: a slow process must not hold up another reader */
        for (size_t i = 0; i < n; i++) {
                classify_one(&fresh[i], now, now_ticks, ticks_per_s);
                ret_kinds[i] = fresh[i].kinds;
        }

        /* the listing is sorted by pid, so the new table is too */
        pthread_mutex_lock(&memory.lock);
        old = memory.e;
        memory.e = fresh;
        memory.n = n;
        pthread_mutex_unlock(&memory.lock);
        free(old);
        return 0;
}

void profiled_shim_gone(pid_t pid, uint64_t start)
{
        struct known *k;

        pthread_mutex_lock(&memory.lock);
        k = find(pid);
        if (k && k->start == start) {
                k->kinds &= ~PROFILED_SHIM;
                k->shim_checked_ns = time_now_ns(CLOCK_MONOTONIC);
        }
        pthread_mutex_unlock(&memory.lock);
}
