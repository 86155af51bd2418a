/* The memory snapshots may hold: charged per caller's uid when made, given back when freed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "memprof/array.h"
#include "memprofd.h"

/*
 * Why bounds: each open file holds its own snapshot, so without them a user could hold
 * a 73 MB heap.txt once per descriptor it may open and drive a root daemon into the
 * OOM killer.  The whole is min(1 GiB, a quarter of RAM): far beyond what reading a few
 * files at a time needs, and small beside the machine.  A uid other than root may hold
 * a quarter of that, so it takes four users working together to fill it, and those
 * users together three quarters, so root always finds room; root, who could stop the
 * daemon anyway, is held to the whole alone (a process whose tables are full has a
 * 300 MB heap.txt, which only root can then open).
 */
#define TOTAL_MAX (1ull << 30)

struct uid_use {
        uid_t uid;
        size_t bytes;
};

struct snap_budget {
        pthread_mutex_t lock;
        struct snap_limits lim;
        size_t total, users;  /* held by all, held by uids other than root */
        struct uid_use *uids; /* uids holding something, unordered */
        size_t nuids, cap;
};

static size_t default_total(void)
{
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        unsigned long long quarter;

        if (pages <= 0 || page <= 0)
                return TOTAL_MAX;
        quarter = (unsigned long long)pages * (unsigned long long)page / 4;
        return quarter < TOTAL_MAX ? (size_t)quarter : (size_t)TOTAL_MAX;
}

int budget_new(struct snap_budget **ret)
{
        struct snap_budget *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        pthread_mutex_init(&b->lock, NULL);
        b->lim.total = default_total();
        b->lim.per_uid = b->lim.total / 4;
        b->lim.users = b->lim.total - b->lim.per_uid;
        *ret = b;
        return 0;
}

void budget_free(struct snap_budget *b)
{
        if (!b)
                return;
        pthread_mutex_destroy(&b->lock);
        free(b->uids);
        free(b);
}

/* The uid's entry, added if missing; NULL without memory.  Called with the lock held. */
static struct uid_use *use_of(struct snap_budget *b, uid_t uid, bool add)
{
        for (size_t i = 0; i < b->nuids; i++)
                if (b->uids[i].uid == uid)
                        return &b->uids[i];
        if (!add)
                return NULL;
        if (ARRAY_RESERVE(b->uids, b->cap, b->nuids, 1, 8, SIZE_MAX) < 0)
                return NULL;
        b->uids[b->nuids] = (struct uid_use){.uid = uid};
        return &b->uids[b->nuids++];
}

int budget_charge(struct snap_budget *b, uid_t uid, size_t bytes, struct snap_usage *usage)
{
        struct uid_use *u;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        u = use_of(b, uid, true);
        if (!u) {
                r = -ENOMEM;
        } else if (bytes > b->lim.total - b->total ||
                   (uid != 0 &&
                    (bytes > b->lim.per_uid - u->bytes || bytes > b->lim.users - b->users))) {
                r = -ENOMEM;
        } else {
                u->bytes += bytes;
                b->total += bytes;
                if (uid != 0)
                        b->users += bytes;
        }
        if (usage) {
                *usage = (struct snap_usage){
                    .lim = b->lim, .uid = u ? u->bytes : 0, .total = b->total, .users = b->users};
                if (uid == 0) /* root's own bound is the whole */
                        usage->lim.per_uid = b->lim.total;
        }
        if (u && u->bytes == 0) /* refused its first: no entry kept */
                *u = b->uids[--b->nuids];
        pthread_mutex_unlock(&b->lock);
        return r;
}

void budget_release(struct snap_budget *b, uid_t uid, size_t bytes)
{
        struct uid_use *u;

        pthread_mutex_lock(&b->lock);
        u = use_of(b, uid, false);
        if (u && u->bytes >= bytes) {
                u->bytes -= bytes;
                b->total -= bytes;
                if (uid != 0)
                        b->users -= bytes;
                if (u->bytes == 0)
                        *u = b->uids[--b->nuids];
        }
        pthread_mutex_unlock(&b->lock);
}
