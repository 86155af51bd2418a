/* The profile's string table: each distinct string stored once, entry 0 always "". */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "idxmap.h"

struct strtab {
        char **strs; /* laid out as protobuf-c's string_table wants it */
        size_t n, cap;
        struct idxmap index;
};

int strtab_init(struct strtab *t);
void strtab_done(struct strtab *t);

/* Returns the index of s, copying it in if it is new; NULL and "" are index 0. */
int strtab_intern(struct strtab *t, const char *s, int64_t *ret_idx);

/* Returns the index of s if it is present; -ENOENT if not. */
int strtab_lookup(const struct strtab *t, const char *s, int64_t *ret_idx);
