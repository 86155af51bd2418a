/* The daemon's cache of answers per binary: entries keyed by the identity of the mapped
 * file and of the debug file used, as the daemon's own fstat saw them, shared by
 * reference, bounded in count and bytes, least recently used out first. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caller.h"
#include "pool.h"
#include "proto.h"
#include "symbolize.h"

struct intern;
struct memo;

/* What the helper said about debug file candidates of a binary, so that a later read
 * picks the same one without asking. */
#define ENTRY_MAX_VERDICTS 8

struct verdict {
        struct file_id id;
        bool match;
};

struct sym_entry {
        /* The key. */
        struct file_id file;
        struct file_id debug; /* meaningful if has_debug */
        bool has_debug;

        /* Under the symbolizer's lock. */
        unsigned refs;
        struct sym_entry *prev, *next;
        uint64_t loaded_gen[POOL_SIZE]; /* the helper generation that has it loaded */
        size_t bytes;                   /* memo and strings, last counted */

        /* Immutable once inserted. */
        uint64_t id; /* the helper's name for it */
        uint8_t build_id_raw[PROTO_MAX_BUILD_ID];
        size_t build_id_len;
        const char *build_id; /* hex, in strings; NULL without one */
        char debuglink[PROTO_MAX_DEBUGLINK + 1];
        bool needs_debug;
        bool has_alt; /* its DWARF needs a dwz alternate file, found by these: */
        char altname[PROTO_MAX_ALTLINK + 1];
        uint8_t alt_id[PROTO_MAX_BUILD_ID];
        size_t alt_id_len;
        bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
        const char *problem; /* refused: why (in strings); nothing is looked up */
        atomic_bool poisoned; /* a helper crashed or hung on it: nothing more is asked */

        /* Under lock. */
        pthread_mutex_t lock;
        struct memo *memo; /* file offset -> lines */
        struct intern *strings;
        struct verdict verdicts[ENTRY_MAX_VERDICTS];
        size_t nverdicts;
};

/* Entry strings and memo stop growing past this; later answers live in the reading
 * sym_process only. */
#define ENTRY_MAX_BYTES (8u << 20)

int entry_new(const struct file_id *file, const struct file_id *debug,
              struct sym_entry **ret);
void entry_free(struct sym_entry *e);
/* Records what the helper said about a candidate (under e->lock). */
void entry_add_verdict(struct sym_entry *e, const struct file_id *id, bool match);
/* -1 unknown, 0 refused, 1 matches (under e->lock). */
int entry_verdict(struct sym_entry *e, const struct file_id *id);

struct pool *symbolizer_pool(struct symbolizer *s);
uint64_t symbolizer_next_id(struct symbolizer *s);

/* The most recently used entry for this mapped file, whatever its debug file, with a
 * reference taken; NULL if none. */
struct sym_entry *cache_find_file(struct symbolizer *s, const struct file_id *file);
/* The entry for exactly this pair (debug NULL: none), with a reference taken. */
struct sym_entry *cache_acquire(struct symbolizer *s, const struct file_id *file,
                                const struct file_id *debug);
/* Adds e with a reference taken; if an equal key got in first, e is freed and that
 * entry is returned instead. */
struct sym_entry *cache_insert(struct symbolizer *s, struct sym_entry *e);
/* Drops a reference; unused entries beyond the bounds are evicted, oldest first. */
void cache_release(struct symbolizer *s, struct sym_entry *e);
/* Whether e is loaded in helper h / records that it is now (or no longer). */
bool cache_loaded(struct symbolizer *s, struct sym_entry *e, const struct helper *h);
void cache_set_loaded(struct symbolizer *s, struct sym_entry *e, const struct helper *h,
                      bool loaded);
/* Updates e's share of the cache's byte bound after it grew. */
void cache_account(struct symbolizer *s, struct sym_entry *e, size_t bytes);

/* How many entries are held, in use or not (for tests). */
size_t cache_size(struct symbolizer *s);
