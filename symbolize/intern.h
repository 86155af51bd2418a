/* String interning: an append-only arena with a hash set, so names stay valid and unique. */
#pragma once

#include <stddef.h>

struct intern;

int intern_new(struct intern **ret);
void intern_free(struct intern *in);

/* Returns the stable copy of s[0..len), NULL on allocation failure.  Not thread-safe:
 * the owner serializes calls. */
const char *intern_strn(struct intern *in, const char *s, size_t len);
const char *intern_str(struct intern *in, const char *s);

/* Bytes held, for bounding a cache's memory. */
size_t intern_bytes(const struct intern *in);
