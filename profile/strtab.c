/* String table with hash-based deduplication; strings are copied so callers may pass
 * temporaries. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/array.h"
#include "memprof/hash.h"
#include "strtab.h"

struct str_key {
        const struct strtab *t;
        const char *s;
};

static bool str_match(const void *ctx, uint32_t idx)
{
        const struct str_key *k = ctx;

        return strcmp(k->t->strs[idx], k->s) == 0;
}

static uint32_t str_hash(const char *s)
{
        return (uint32_t)hash_bytes(s, strlen(s));
}

int strtab_lookup(const struct strtab *t, const char *s, int64_t *ret_idx)
{
        struct str_key k = { t, s ? s : "" };
        uint32_t idx;

        if (!idxmap_find(&t->index, str_hash(k.s), str_match, &k, &idx))
                return -ENOENT;
        *ret_idx = idx;
        return 0;
}

int strtab_intern(struct strtab *t, const char *s, int64_t *ret_idx)
{
        struct str_key k = { t, s ? s : "" };
        uint32_t h = str_hash(k.s), idx;
        char *copy;
        int r;

        if (idxmap_find(&t->index, h, str_match, &k, &idx)) {
                *ret_idx = idx;
                return 0;
        }
        /* Make every allocation before changing anything, so a failure leaves the table
         * as it was. */
        r = idxmap_reserve(&t->index, t->n + 1);
        if (r < 0)
                return r;
        r = ARRAY_RESERVE(t->strs, t->cap, t->n, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        copy = strdup(k.s);
        if (!copy)
                return -ENOMEM;
        t->strs[t->n] = copy;
        idxmap_insert(&t->index, h, (uint32_t)t->n);
        *ret_idx = (int64_t)t->n++;
        return 0;
}

int strtab_init(struct strtab *t)
{
        int64_t idx;
        int r;

        *t = (struct strtab){ 0 };
        r = strtab_intern(t, "", &idx);
        if (r < 0)
                strtab_done(t);
        return r;
}

void strtab_done(struct strtab *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->strs[i]);
        free(t->strs);
        idxmap_done(&t->index);
        *t = (struct strtab){ 0 };
}
