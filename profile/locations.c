/* Functions and locations, each deduplicated so repeated stacks share their entries. */
#include <errno.h>
#include <stdlib.h>

#include "memprof/array.h"
#include "memprof/hash.h"
#include "profile-private.h"

struct function_key {
        const struct profile *p;
        const pb_function *f;
};

static bool function_match(const void *ctx, uint32_t idx)
{
        const struct function_key *k = ctx;
        const pb_function *a = &k->p->functions[idx], *b = k->f;

        return a->name == b->name && a->system_name == b->system_name &&
               a->filename == b->filename && a->start_line == b->start_line;
}

static uint32_t function_hash(const pb_function *f)
{
        uint64_t h = hash_mix(0, (uint64_t)f->name);

        h = hash_mix(h, (uint64_t)f->system_name);
        h = hash_mix(h, (uint64_t)f->filename);
        return (uint32_t)hash_mix(h, (uint64_t)f->start_line);
}

/* Returns the id of the function a line is in, adding it if it is new. */
static int function_intern(struct profile *p, const struct profile_line *l, uint64_t *ret_id)
{
        pb_function f = PERFTOOLS__PROFILES__FUNCTION__INIT;
        struct function_key k = { p, &f };
        uint32_t h, idx;
        int r;

        r = strtab_intern(&p->strings, l->function, &f.name);
        if (r < 0)
                return r;
        r = strtab_intern(&p->strings, l->system_name ? l->system_name : l->function,
                          &f.system_name);
        if (r < 0)
                return r;
        r = strtab_intern(&p->strings, l->filename, &f.filename);
        if (r < 0)
                return r;
        f.start_line = l->start_line;

        h = function_hash(&f);
        if (idxmap_find(&p->function_index, h, function_match, &k, &idx)) {
                *ret_id = p->functions[idx].id;
                return 0;
        }
        r = idxmap_reserve(&p->function_index, p->n_functions + 1);
        if (r < 0)
                return r;
        r = ARRAY_RESERVE(p->functions, p->cap_functions, p->n_functions, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        f.id = p->n_functions + 1;
        p->functions[p->n_functions] = f;
        idxmap_insert(&p->function_index, h, (uint32_t)p->n_functions);
        p->n_functions++;
        *ret_id = f.id;
        return 0;
}

/* The candidate location: its lines sit in the spare room past the end of p->lines
 * until it is known to be new. */
struct location_key {
        const struct profile *p;
        const struct profile_location *loc;
};

static bool location_match(const void *ctx, uint32_t idx)
{
        const struct location_key *k = ctx;
        const struct profile_location *a = &k->p->locations[idx], *b = k->loc;

        if (a->mapping_id != b->mapping_id || a->address != b->address || a->nlines != b->nlines)
                return false;
        for (size_t i = 0; i < a->nlines; i++) {
                const pb_line *la = &k->p->lines[a->line_off + i];
                const pb_line *lb = &k->p->lines[b->line_off + i];

                if (la->function_id != lb->function_id || la->line != lb->line)
                        return false;
        }
        return true;
}

static uint32_t location_hash(const struct profile *p, const struct profile_location *loc)
{
        uint64_t h = hash_mix(0, loc->mapping_id);

        h = hash_mix(h, loc->address);
        for (size_t i = 0; i < loc->nlines; i++) {
                h = hash_mix(h, p->lines[loc->line_off + i].function_id);
                h = hash_mix(h, (uint64_t)p->lines[loc->line_off + i].line);
        }
        return (uint32_t)h;
}

int profile_add_location(struct profile *p, uint64_t mapping_id, uint64_t address,
                         const struct profile_line *lines, size_t nlines, uint64_t *ret_id)
{
        struct profile_location loc = {
                .mapping_id = mapping_id,
                .address = address,
                .nlines = nlines,
        };
        struct location_key k = { p, &loc };
        uint32_t h, idx;
        int r;

        if (!p || !ret_id || mapping_id > p->n_mappings || (nlines > 0 && !lines))
                return -EINVAL;
        if (nlines > SIZE_MAX / 2 - p->n_lines)
                return -ENOMEM;
        for (size_t i = 0; i < nlines; i++)
                if (!lines[i].function)
                        return -EINVAL; /* pprof rejects a line without a function */

        r = ARRAY_RESERVE(p->lines, p->cap_lines, p->n_lines, nlines, 16, SIZE_MAX);
        if (r < 0)
                return r;
        loc.line_off = p->n_lines;
        for (size_t i = 0; i < nlines; i++) {
                pb_line l = PERFTOOLS__PROFILES__LINE__INIT;

                r = function_intern(p, &lines[i], &l.function_id);
                if (r < 0)
                        return r;
                l.line = lines[i].line;
                p->lines[loc.line_off + i] = l;
        }

        h = location_hash(p, &loc);
        if (idxmap_find(&p->location_index, h, location_match, &k, &idx)) {
                *ret_id = idx + 1;
                return 0;
        }
        r = idxmap_reserve(&p->location_index, p->n_locations + 1);
        if (r < 0)
                return r;
        r = ARRAY_RESERVE(p->locations, p->cap_locations, p->n_locations, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        p->locations[p->n_locations] = loc;
        idxmap_insert(&p->location_index, h, (uint32_t)p->n_locations);
        p->n_lines += nlines;
        *ret_id = ++p->n_locations;
        return 0;
}
