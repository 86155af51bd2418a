/* The root listing, and what it remembers between listings so that a repeated `ls`
 * reads no file per process. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "memprof/clock.h"
#include "memprofd.h"

/*
 * A process's inode number needs its start time, and leaving out kernel threads needs
 * its flags: one read of /proc/PID/stat each, which made `ls` of a thousand processes
 * four times slower than `ls /proc`.  Neither changes while the process lives, and
 * /proc's own listing hands out, for free, an inode number that stays the same while
 * the process lives (its /proc dentry stays cached) and differs for a later process
 * with the same PID.  So each listing keeps, per PID, that inode and what the read
 * found, and the next listing reads only PIDs whose inode changed.  An entry is read
 * again after MAX_AGE, which keeps the (32-bit, wrapping) inode counter from ever
 * coming round to a cached value for the same PID, and lets a zombie drop out.
 */
#define MAX_AGE_NS (10 * 1000000000LL)

struct seen {
        pid_t pid; /* 0: empty slot */
        bool listed;
        uint64_t proc_ino;
        uint64_t start; /* as in struct node */
        int64_t read_ns;
};

static struct {
        pthread_mutex_t lock;
        struct seen *table;
        size_t mask;
} memory = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct seen *slot(struct seen *table, size_t mask, pid_t pid)
{
        size_t i = ((uint32_t)pid * 2654435761u) & mask;

        while (table[i].pid != 0 && table[i].pid != pid)
                i = (i + 1) & mask;
        return &table[i];
}

/* One read of /proc/PID/stat: the start time for the inode number, and the state and
 * flags to leave out kernel threads and zombies.  Fails for a process that exited since
 * /proc listed it, which is then neither listed nor remembered. */
static int read_one(const struct proc_pid_entry *e, int64_t now, struct seen *ret)
{
        struct proc_stat st;
        int r;

        r = proc_stat_read(e->pid, &st);
        if (r < 0)
                return r;
        *ret = (struct seen){.pid = e->pid, .proc_ino = e->ino, .read_ns = now,
                             .start = tree_start_bits(st.start_time),
                             .listed = st.state != 'Z' && st.state != 'X' &&
                                       !(st.flags & PROC_PF_KTHREAD)};
        return 0;
}

int listing_root(struct node **ret, size_t *ret_n)
{
        struct proc_pid_entry *pids;
        struct seen *table;
        struct node *nodes;
        size_t n, k = 0, mask = 63;
        int64_t now = time_now_ns(CLOCK_MONOTONIC);
        int r;

        r = proc_list_pids(&pids, &n);
        if (r < 0)
                return r;
        while (mask + 1 < 2 * n)
                mask = mask * 2 + 1;
        table = calloc(mask + 1, sizeof(*table));
        nodes = malloc((n ? n : 1) * sizeof(*nodes));
        if (!table || !nodes) {
                free(table);
                free(nodes);
                free(pids);
                return -ENOMEM;
        }
        pthread_mutex_lock(&memory.lock);
        for (size_t i = 0; i < n; i++) {
                const struct seen *old = memory.table ?
                                                 slot(memory.table, memory.mask, pids[i].pid) :
                                                 NULL;
                struct seen s;

                if (old && old->pid == pids[i].pid && old->proc_ino == pids[i].ino &&
                    now - old->read_ns < MAX_AGE_NS)
                        s = *old;
                else if (read_one(&pids[i], now, &s) < 0)
                        continue;
                *slot(table, mask, s.pid) = s;
                if (s.listed)
                        nodes[k++] = (struct node){.kind = NODE_PID, .pid = s.pid,
                                                   .start = s.start};
        }
        free(memory.table);
        memory.table = table;
        memory.mask = mask;
        pthread_mutex_unlock(&memory.lock);
        free(pids);
        *ret = nodes;
        *ret_n = k;
        return 0;
}
