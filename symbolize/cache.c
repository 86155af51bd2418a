/* The daemon's cache of answers: shared, reference counted, bounded in count and bytes. */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "memo.h"

/* All entries' memos and strings together; past it, unused entries go first. */
#define CACHE_MAX_BYTES (64u << 20)

struct symbolizer {
        pthread_mutex_t lock;
        size_t max_entries;
        /* Most recently used first.  Lookups scan it: there are a few dozen entries and
         * a scan compares inode numbers first, so a hash table would not pay off. */
        struct sym_entry *head, *tail;
        size_t count, bytes;
        uint64_t next_id;
        struct pool *pool;
};

int symbolizer_new_with(size_t max_binaries, const char *helper, struct symbolizer **ret) {
        if (max_binaries == 0)
                return -EINVAL;
        struct symbolizer *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        int r = pool_new(helper, &s->pool);
        if (r < 0) {
                free(s);
                return r;
        }
        pthread_mutex_init(&s->lock, NULL);
        s->max_entries = max_binaries;
        *ret = s;
        return 0;
}

int symbolizer_new(size_t max_binaries, struct symbolizer **ret) {
        return symbolizer_new_with(max_binaries, pool_default_exe(), ret);
}

/* Every sym_process must have been freed before. */
void symbolizer_free(struct symbolizer *s) {
        if (!s)
                return;
        struct sym_entry *e = s->head;
        while (e) {
                struct sym_entry *next = e->next;
                entry_free(e);
                e = next;
        }
        pool_free(s->pool);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

struct pool *symbolizer_pool(struct symbolizer *s) {
        return s->pool;
}

uint64_t symbolizer_next_id(struct symbolizer *s) {
        pthread_mutex_lock(&s->lock);
        uint64_t id = ++s->next_id;
        pthread_mutex_unlock(&s->lock);
        return id;
}

int entry_new(const struct file_id *file, const struct file_id *debug,
              struct sym_entry **ret) {
        struct sym_entry *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        pthread_mutex_init(&e->lock, NULL);
        e->file = *file;
        if (debug) {
                e->debug = *debug;
                e->has_debug = true;
        }
        if (memo_new(MEMO_MAX_ENTRIES, &e->memo) < 0 || intern_new(&e->strings) < 0) {
                entry_free(e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

void entry_free(struct sym_entry *e) {
        if (!e)
                return;
        memo_free(e->memo);
        intern_free(e->strings);
        pthread_mutex_destroy(&e->lock);
        free(e);
}

void entry_add_verdict(struct sym_entry *e, const struct file_id *id, bool match) {
        for (size_t i = 0; i < e->nverdicts; i++)
                if (fileid_equal(&e->verdicts[i].id, id)) {
                        e->verdicts[i].match = match;
                        return;
                }
        /* Full: the oldest makes room (a candidate seen again is asked about again). */
        if (e->nverdicts == ENTRY_MAX_VERDICTS) {
                memmove(e->verdicts, e->verdicts + 1,
                        sizeof(e->verdicts[0]) * (ENTRY_MAX_VERDICTS - 1));
                e->nverdicts--;
        }
        e->verdicts[e->nverdicts++] = (struct verdict){ .id = *id, .match = match };
}

int entry_verdict(struct sym_entry *e, const struct file_id *id) {
        for (size_t i = 0; i < e->nverdicts; i++)
                if (fileid_equal(&e->verdicts[i].id, id))
                        return e->verdicts[i].match;
        return -1;
}

static void unlink_entry(struct symbolizer *s, struct sym_entry *e) {
        if (e->prev)
                e->prev->next = e->next;
        else
                s->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                s->tail = e->prev;
        e->prev = e->next = NULL;
}

static void push_front(struct symbolizer *s, struct sym_entry *e) {
        e->prev = NULL;
        e->next = s->head;
        if (s->head)
                s->head->prev = e;
        else
                s->tail = e;
        s->head = e;
}

static bool same_key(const struct sym_entry *e, const struct file_id *file,
                     const struct file_id *debug) {
        if (e->file.ino != file->ino || !fileid_equal(&e->file, file))
                return false;
        if (!debug)
                return !e->has_debug;
        return e->has_debug && fileid_equal(&e->debug, debug);
}

static struct sym_entry *take(struct symbolizer *s, struct sym_entry *e) {
        e->refs++;
        unlink_entry(s, e);
        push_front(s, e);
        return e;
}

struct sym_entry *cache_find_file(struct symbolizer *s, const struct file_id *file) {
        struct sym_entry *e;
        pthread_mutex_lock(&s->lock);
        for (e = s->head; e; e = e->next)
                if (e->file.ino == file->ino && fileid_equal(&e->file, file))
                        break;
        if (e)
                take(s, e);
        pthread_mutex_unlock(&s->lock);
        return e;
}

struct sym_entry *cache_acquire(struct symbolizer *s, const struct file_id *file,
                                const struct file_id *debug) {
        struct sym_entry *e;
        pthread_mutex_lock(&s->lock);
        for (e = s->head; e; e = e->next)
                if (same_key(e, file, debug))
                        break;
        if (e)
                take(s, e);
        pthread_mutex_unlock(&s->lock);
        return e;
}

/* Unlinks unused entries beyond the bounds, oldest first, into *victims (freed by the
 * caller outside the lock). */
static void evict_locked(struct symbolizer *s, struct sym_entry **victims) {
        struct sym_entry *e = s->tail;
        while ((s->count > s->max_entries || s->bytes > CACHE_MAX_BYTES) && e) {
                struct sym_entry *prev = e->prev;
                if (e->refs == 0) {
                        unlink_entry(s, e);
                        s->count--;
                        s->bytes -= e->bytes;
                        e->next = *victims;
                        *victims = e;
                }
                e = prev;
        }
}

static void free_victims(struct sym_entry *victims) {
        while (victims) {
                struct sym_entry *next = victims->next;
                entry_free(victims);
                victims = next;
        }
}

struct sym_entry *cache_insert(struct symbolizer *s, struct sym_entry *e) {
        struct sym_entry *victims = NULL, *old;
        pthread_mutex_lock(&s->lock);
        for (old = s->head; old; old = old->next)
                if (same_key(old, &e->file, e->has_debug ? &e->debug : NULL))
                        break;
        if (old) {
                take(s, old);
        } else {
                e->refs = 1;
                push_front(s, e);
                s->count++;
                s->bytes += e->bytes;
                evict_locked(s, &victims);
        }
        pthread_mutex_unlock(&s->lock);
        free_victims(victims);
        if (old) {
                entry_free(e);
                return old;
        }
        return e;
}

void cache_release(struct symbolizer *s, struct sym_entry *e) {
        struct sym_entry *victims = NULL;
        if (!e)
                return;
        pthread_mutex_lock(&s->lock);
        e->refs--;
        evict_locked(s, &victims);
        pthread_mutex_unlock(&s->lock);
        free_victims(victims);
}

bool cache_loaded(struct symbolizer *s, struct sym_entry *e, const struct helper *h) {
        pthread_mutex_lock(&s->lock);
        bool loaded = h->pid > 0 && e->loaded_gen[h->slot] == h->gen;
        pthread_mutex_unlock(&s->lock);
        return loaded;
}

void cache_set_loaded(struct symbolizer *s, struct sym_entry *e, const struct helper *h,
                      bool loaded) {
        pthread_mutex_lock(&s->lock);
        e->loaded_gen[h->slot] = loaded ? h->gen : 0;
        pthread_mutex_unlock(&s->lock);
}

void cache_account(struct symbolizer *s, struct sym_entry *e, size_t bytes) {
        pthread_mutex_lock(&s->lock);
        s->bytes = s->bytes - e->bytes + bytes;
        e->bytes = bytes;
        pthread_mutex_unlock(&s->lock);
}

size_t cache_size(struct symbolizer *s) {
        pthread_mutex_lock(&s->lock);
        size_t n = s->count;
        pthread_mutex_unlock(&s->lock);
        return n;
}
