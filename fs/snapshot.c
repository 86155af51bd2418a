/* Generated file contents and the short-lived cache that makes stat, open and read agree. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memprof/clock.h"
#include "memprofd.h"

/*
 * Why a cache at all: `ls -l`, tar and rsync stat a file and then open it, and expect to
 * read exactly the size they were told.  Every lookup would otherwise generate a new
 * snapshot of a different size.  So the snapshot a lookup made is handed to the open that
 * follows in the same caller (if within CACHE_LIFE_NS), and getattr keeps returning it as long as an open
 * file holds it (tar's fstat after reading).  Once opened it is never handed to another
 * open: `cp heap before; <change>; cat heap` must see the change, however quickly.
 */
#define CACHE_LIFE_NS 1000000000LL
#define CACHE_MAX 256 /* beyond this, snapshots are simply not cached */

struct cache_entry {
        struct snap_key key;
        struct snapshot *snap;
};

struct snap_cache {
        pthread_mutex_t lock;
        size_t n;
        struct cache_entry e[CACHE_MAX];
        struct open_link open; /* snapshots open files hold */
        struct snap_budget *budget;
};

int snap_cache_new(struct snap_cache **ret)
{
        struct snap_cache *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        if (budget_new(&c->budget) < 0) {
                free(c);
                return -ENOMEM;
        }
        pthread_mutex_init(&c->lock, NULL);
        open_list_init(&c->open);
        *ret = c;
        return 0;
}

void snap_cache_free(struct snap_cache *c)
{
        struct open_link *l;

        if (!c)
                return;
        /* files the kernel never released: each open holds a reference */
        while ((l = open_list_pop(&c->open))) {
                struct snapshot *s = open_list_entry(l, struct snapshot, open);

                for (int n = atomic_exchange(&s->opens, 0); n > 0; n--)
                        snap_unref(s);
        }
        for (size_t i = 0; i < c->n; i++)
                snap_unref(c->e[i].snap);
        pthread_mutex_destroy(&c->lock);
        budget_free(c->budget);
        free(c);
}

void snap_ref(struct snapshot *s)
{
        atomic_fetch_add(&s->refs, 1);
}

void snap_unref(struct snapshot *s)
{
        if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
                return;
        if (s->budget)
                budget_release(s->budget, s->charged_uid, s->len);
        free(s->buf);
        free(s);
}

static bool key_equal(const struct snap_key *a, const struct snap_key *b)
{
        return a->pid == b->pid && a->start == b->start && a->file == b->file &&
               a->uid == b->uid && a->caller == b->caller;
}

static bool usable(const struct snapshot *s, enum snap_use use, int64_t now)
{
        if (use == SNAP_STAT && atomic_load(&s->opens) > 0)
                return true;
        return now - s->born_mono_ns < CACHE_LIFE_NS && !atomic_load(&s->consumed);
}

/* Drops entries nobody can use any more.  Called with the lock held. */
static void cache_prune(struct snap_cache *c, int64_t now)
{
        size_t i = 0;

        while (i < c->n) {
                if (usable(c->e[i].snap, SNAP_STAT, now)) {
                        i++;
                        continue;
                }
                snap_unref(c->e[i].snap);
                c->e[i] = c->e[--c->n];
        }
}

static struct snapshot *cache_find(struct snap_cache *c, const struct snap_key *key,
                                   enum snap_use use)
{
        int64_t now = time_now_ns(CLOCK_MONOTONIC);
        struct snapshot *s = NULL;

        pthread_mutex_lock(&c->lock);
        cache_prune(c, now);
        for (size_t i = 0; i < c->n; i++) {
                if (key_equal(&c->e[i].key, key)) {
                        if (usable(c->e[i].snap, use, now)) {
                                s = c->e[i].snap;
                                snap_ref(s);
                        }
                        break;
                }
        }
        pthread_mutex_unlock(&c->lock);
        return s;
}

/* The newest snapshot replaces any older one for the same key. */
static void cache_put(struct snap_cache *c, const struct snap_key *key, struct snapshot *s)
{
        size_t i;

        pthread_mutex_lock(&c->lock);
        for (i = 0; i < c->n; i++)
                if (key_equal(&c->e[i].key, key))
                        break;
        if (i < c->n) {
                snap_unref(c->e[i].snap);
        } else if (c->n < CACHE_MAX) {
                c->e[c->n++].key = *key;
        } else {
                pthread_mutex_unlock(&c->lock);
                return;
        }
        snap_ref(s);
        c->e[i].snap = s;
        pthread_mutex_unlock(&c->lock);
}

/* Drops the cached snapshots of uid that no open file holds (made for a stat, kept for
 * an open that may follow); returns how many. */
static size_t cache_drop_unopened(struct snap_cache *c, uid_t uid)
{
        struct snapshot *drop[CACHE_MAX];
        size_t n = 0, i = 0;

        pthread_mutex_lock(&c->lock);
        while (i < c->n) {
                if (c->e[i].key.uid == uid && atomic_load(&c->e[i].snap->opens) == 0) {
                        drop[n++] = c->e[i].snap;
                        c->e[i] = c->e[--c->n];
                } else {
                        i++;
                }
        }
        pthread_mutex_unlock(&c->lock);
        for (i = 0; i < n; i++)
                snap_unref(drop[i]);
        return n;
}

/* Charges a new snapshot to the caller; -ENOMEM, logged, beyond the bounds.  Snapshots
 * only kept in case an open follows a stat (`ls -l` over many processes) make room
 * first. */
static int charge(struct snap_cache *c, const struct snap_key *key, const char *file,
                  struct snapshot *s)
{
        struct snap_usage u;
        int r;

        r = budget_charge(c->budget, key->uid, s->len, &u);
        if (r < 0 && cache_drop_unopened(c, key->uid) > 0)
                r = budget_charge(c->budget, key->uid, s->len, &u);
        if (r < 0) {
                health_count(HEALTH_OUT_OF_MEMORY);
                fs_log("uid %u: %s of pid %d: %zu bytes more would pass the bound on memory "
                       "held for open files (this uid %zu of %zu, other users %zu of %zu, "
                       "all %zu of %zu)",
                       (unsigned)key->uid, file, (int)key->pid, s->len, u.uid, u.lim.per_uid,
                       u.users, u.lim.users, u.total, u.lim.total);
                return r;
        }
        s->budget = c->budget;
        s->charged_uid = key->uid;
        return 0;
}

static int snap_generate(struct memprofd *d, const struct snap_key *key,
                         const struct caller *c, const struct target *t,
                         struct snapshot **ret)
{
        /* pid 0: a file at the root */
        const struct fs_file *f = key->pid ? files_get(key->file) : root_files_get(key->file);
        struct snapshot *s;
        char *fit;
        int r;

        if (!f)
                return -ENOENT;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = job_generate(d, f, c, t, &s->buf, &s->len);
        if (r < 0) {
                free(s);
                return r;
        }
        /* held for as long as a file is open: no slack from the buffer's growth */
        fit = s->len ? realloc(s->buf, s->len) : NULL;
        if (fit)
                s->buf = fit;
        r = charge(d->cache, key, f->name, s);
        if (r < 0) {
                free(s->buf);
                free(s);
                return r;
        }
        atomic_init(&s->refs, 1);
        atomic_init(&s->opens, 0);
        atomic_init(&s->consumed, false);
        open_list_init(&s->open);
        s->born_mono_ns = time_now_ns(CLOCK_MONOTONIC);
        s->born_real_ns = time_now_ns(CLOCK_REALTIME);
        s->uid = t->st.uid[1];
        s->gid = t->st.gid[1];
        *ret = s;
        return 0;
}

int snap_find(struct memprofd *d, const struct snap_key *key, enum snap_use use,
              struct snapshot **ret)
{
        struct snapshot *s = cache_find(d->cache, key, use);

        if (!s)
                return -ENOENT;
        *ret = s;
        return 0;
}

int snap_get(struct memprofd *d, const struct snap_key *key, const struct caller *c,
             const struct target *t, enum snap_use use, struct snapshot **ret)
{
        struct snapshot *s;
        int r;

        s = cache_find(d->cache, key, use);
        if (s) {
                *ret = s;
                return 0;
        }
        /* generated outside the lock: a slow process must not hold up the others */
        r = snap_generate(d, key, c, t, &s);
        if (r < 0)
                return r;
        cache_put(d->cache, key, s);
        *ret = s;
        return 0;
}

void snap_open(struct memprofd *d, struct snapshot *s)
{
        struct snap_cache *c = d->cache;

        pthread_mutex_lock(&c->lock);
        if (atomic_fetch_add(&s->opens, 1) == 0)
                open_list_add(&c->open, &s->open);
        atomic_store(&s->consumed, true);
        pthread_mutex_unlock(&c->lock);
}

/* The cache's entry holding s, if any, unlinked; NULL if none.  With the lock held. */
static struct snapshot *cache_take(struct snap_cache *c, const struct snapshot *s)
{
        for (size_t i = 0; i < c->n; i++) {
                if (c->e[i].snap == s) {
                        struct snapshot *taken = c->e[i].snap;

                        c->e[i] = c->e[--c->n];
                        return taken;
                }
        }
        return NULL;
}

void snap_close(struct memprofd *d, struct snapshot *s)
{
        struct snap_cache *c = d->cache;
        struct snapshot *cached = NULL;

        pthread_mutex_lock(&c->lock);
        if (atomic_fetch_sub(&s->opens, 1) == 1) {
                open_list_del(&s->open);
                /* opened once, so no open wants it again, and no file holds it for stat
                 * any more: the cache lets go at once rather than at its next prune */
                cached = cache_take(c, s);
        }
        pthread_mutex_unlock(&c->lock);
        /* freed here if this was the last holder: a read still being answered holds a
         * reference of its own (op_read) */
        snap_unref(cached);
        snap_unref(s);
}
