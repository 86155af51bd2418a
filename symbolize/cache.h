/* The symbolizer's cache of binaries: shared, reference counted, LRU-bounded. */
#pragma once

#include "binary.h"

/* The cached binary with this key, with a reference taken, or NULL. */
struct sym_binary *cache_acquire(struct symbolizer *s, const char *key);

/* Adds b (whose key nobody had a moment ago) with a reference taken.  If another thread
 * added the same key meanwhile, b is freed and that one is returned instead. */
struct sym_binary *cache_insert(struct symbolizer *s, struct sym_binary *b);

/* Drops a reference; unused binaries beyond the bound are evicted, oldest first. */
void cache_release(struct symbolizer *s, struct sym_binary *b);

/* How many binaries are held, in use or not (for tests). */
size_t cache_size(struct symbolizer *s);
