/* The symbolizer's cache of binaries: shared, reference counted, LRU-bounded. */
#include <errno.h>
#include <libelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "memprof/hash.h"

struct symbolizer {
        pthread_mutex_t lock;
        size_t max_binaries;
        /* Most recently used first.  Lookups scan it: max_binaries is a few hundred
         * and a scan compares hashes, so a hash table would not pay off. */
        struct sym_binary *head, *tail;
        size_t count;
};

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void init_libelf(void) {
        elf_version(EV_CURRENT);
}

int symbolizer_new(size_t max_binaries, struct symbolizer **ret) {
        if (max_binaries == 0)
                return -EINVAL;
        pthread_once(&elf_once, init_libelf);
        struct symbolizer *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        s->max_binaries = max_binaries;
        *ret = s;
        return 0;
}

/* Every sym_process must have been freed before. */
void symbolizer_free(struct symbolizer *s) {
        if (!s)
                return;
        struct sym_binary *b = s->head;
        while (b) {
                struct sym_binary *next = b->next;
                binary_free(b);
                b = next;
        }
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static void unlink_binary(struct symbolizer *s, struct sym_binary *b) {
        if (b->prev)
                b->prev->next = b->next;
        else
                s->head = b->next;
        if (b->next)
                b->next->prev = b->prev;
        else
                s->tail = b->prev;
        b->prev = b->next = NULL;
}

static void push_front(struct symbolizer *s, struct sym_binary *b) {
        b->prev = NULL;
        b->next = s->head;
        if (s->head)
                s->head->prev = b;
        else
                s->tail = b;
        s->head = b;
}

static struct sym_binary *find_locked(struct symbolizer *s, const char *key, uint64_t h) {
        for (struct sym_binary *b = s->head; b; b = b->next)
                if (b->key_hash == h && strcmp(b->key, key) == 0)
                        return b;
        return NULL;
}

struct sym_binary *cache_acquire(struct symbolizer *s, const char *key) {
        uint64_t h = hash_bytes(key, strlen(key));
        pthread_mutex_lock(&s->lock);
        struct sym_binary *b = find_locked(s, key, h);
        if (b) {
                b->refs++;
                unlink_binary(s, b);
                push_front(s, b);
        }
        pthread_mutex_unlock(&s->lock);
        return b;
}

/* Unlinks unused binaries beyond the bound, oldest first, into *victims (freed by the
 * caller outside the lock: dwfl_end can take a while). */
static void evict_locked(struct symbolizer *s, struct sym_binary **victims) {
        struct sym_binary *b = s->tail;
        while (s->count > s->max_binaries && b) {
                struct sym_binary *prev = b->prev;
                if (b->refs == 0) {
                        unlink_binary(s, b);
                        s->count--;
                        b->next = *victims;
                        *victims = b;
                }
                b = prev;
        }
}

static void free_victims(struct sym_binary *victims) {
        while (victims) {
                struct sym_binary *next = victims->next;
                binary_free(victims);
                victims = next;
        }
}

struct sym_binary *cache_insert(struct symbolizer *s, struct sym_binary *b) {
        struct sym_binary *victims = NULL;
        b->key_hash = hash_bytes(b->key, strlen(b->key));
        pthread_mutex_lock(&s->lock);
        struct sym_binary *old = find_locked(s, b->key, b->key_hash);
        if (old) {
                old->refs++;
                unlink_binary(s, old);
                push_front(s, old);
        } else {
                b->refs = 1;
                push_front(s, b);
                s->count++;
                evict_locked(s, &victims);
        }
        pthread_mutex_unlock(&s->lock);
        free_victims(victims);
        if (old) {
                binary_free(b);
                return old;
        }
        return b;
}

void cache_release(struct symbolizer *s, struct sym_binary *b) {
        struct sym_binary *victims = NULL;
        if (!b)
                return;
        pthread_mutex_lock(&s->lock);
        b->refs--;
        evict_locked(s, &victims);
        pthread_mutex_unlock(&s->lock);
        free_victims(victims);
}

size_t cache_size(struct symbolizer *s) {
        pthread_mutex_lock(&s->lock);
        size_t n = s->count;
        pthread_mutex_unlock(&s->lock);
        return n;
}
