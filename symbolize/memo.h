/* Memoized lookups: address -> resolved lines, bounded. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

/* Beyond this many entries the memo starts over: profiles revisit the same few
 * thousand addresses, so a full reset is rare and cheaper than tracking recency. */
#define MEMO_MAX_ENTRIES 32768

struct memo;

/* max_entries: MEMO_MAX_ENTRIES for a binary's memo, more for one read's results. */
int memo_new(size_t max_entries, struct memo **ret);
void memo_free(struct memo *m);

/* true and the lines (copied into lines, count in *ret_n) if vaddr is known. */
bool memo_get(struct memo *m, uint64_t vaddr, struct sym_line *lines, size_t *ret_n);
/* Remembers a result; failure to allocate only means it is not remembered. */
void memo_put(struct memo *m, uint64_t vaddr, const struct sym_line *lines, size_t n);
/* Bytes held, for bounding a cache's memory. */
size_t memo_bytes(const struct memo *m);
