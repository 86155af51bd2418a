/* Profile lifecycle, header fields (sample types, period, comments, time) and mappings. */
#include <errno.h>
#include <stdlib.h>

#include "memprof/array.h"
#include "profile-private.h"

int profile_new(struct profile **ret)
{
        struct profile *p;
        int r;

        if (!ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        r = strtab_init(&p->strings);
        if (r < 0) {
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

void profile_free(struct profile *p)
{
        if (!p)
                return;
        strtab_done(&p->strings);
        free(p->sample_types);
        free(p->comments);
        free(p->mappings);
        free(p->functions);
        idxmap_done(&p->function_index);
        free(p->locations);
        idxmap_done(&p->location_index);
        free(p->lines);
        free(p->samples);
        free(p->sample_locs);
        free(p->values);
        free(p->labels);
        free(p);
}

static int value_type(struct profile *p, const char *type, const char *unit,
                      pb_value_type *ret)
{
        pb_value_type vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
        int r;

        r = strtab_intern(&p->strings, type, &vt.type);
        if (r < 0)
                return r;
        r = strtab_intern(&p->strings, unit, &vt.unit);
        if (r < 0)
                return r;
        *ret = vt;
        return 0;
}

int profile_add_sample_type(struct profile *p, const char *type, const char *unit)
{
        pb_value_type vt;
        int r;

        /* Samples already added carry one value per type known then. */
        if (!p || !type || !unit || p->n_samples > 0)
                return -EINVAL;
        r = ARRAY_RESERVE(p->sample_types, p->cap_sample_types, p->n_sample_types, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        r = value_type(p, type, unit, &vt);
        if (r < 0)
                return r;
        p->sample_types[p->n_sample_types++] = vt;
        return 0;
}

int profile_set_period(struct profile *p, const char *type, const char *unit, int64_t period)
{
        pb_value_type vt;
        int r;

        if (!p || !type || !unit)
                return -EINVAL;
        r = value_type(p, type, unit, &vt);
        if (r < 0)
                return r;
        p->period_type = vt;
        p->has_period_type = true;
        p->period = period;
        return 0;
}

int profile_set_default_sample_type(struct profile *p, const char *type)
{
        int64_t idx;

        if (!p || !type)
                return -EINVAL;
        /* pprof refuses a profile whose default names no sample type, so catch it here,
         * where the caller can still tell which call was wrong. */
        if (strtab_lookup(&p->strings, type, &idx) < 0)
                return -EINVAL;
        for (size_t i = 0; i < p->n_sample_types; i++)
                if (p->sample_types[i].type == idx) {
                        p->default_sample_type = idx;
                        return 0;
                }
        return -EINVAL;
}

int profile_set_count_type(struct profile *p, const char *type)
{
        int r = profile_add_sample_type(p, type, "count");

        if (r == 0)
                r = profile_set_period(p, type, "count", 1);
        if (r == 0)
                r = profile_set_default_sample_type(p, type);
        return r;
}

void profile_set_time(struct profile *p, int64_t time_nanos, int64_t duration_nanos)
{
        if (!p)
                return;
        p->time_nanos = time_nanos;
        p->duration_nanos = duration_nanos;
}

int profile_add_comment(struct profile *p, const char *comment)
{
        int64_t idx;
        int r;

        if (!p || !comment)
                return -EINVAL;
        r = ARRAY_RESERVE(p->comments, p->cap_comments, p->n_comments, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        r = strtab_intern(&p->strings, comment, &idx);
        if (r < 0)
                return r;
        p->comments[p->n_comments++] = idx;
        return 0;
}

int profile_add_mapping(struct profile *p, uint64_t start, uint64_t limit, uint64_t offset,
                        const char *filename, const char *build_id, int has_functions,
                        int has_filenames, int has_line_numbers, int has_inline_frames,
                        uint64_t *ret_id)
{
        pb_mapping m = PERFTOOLS__PROFILES__MAPPING__INIT;
        int r;

        if (!p || !ret_id || limit < start)
                return -EINVAL;
        r = ARRAY_RESERVE(p->mappings, p->cap_mappings, p->n_mappings, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        r = strtab_intern(&p->strings, filename, &m.filename);
        if (r < 0)
                return r;
        r = strtab_intern(&p->strings, build_id, &m.build_id);
        if (r < 0)
                return r;
        m.id = p->n_mappings + 1;
        m.memory_start = start;
        m.memory_limit = limit;
        m.file_offset = offset;
        m.has_functions = !!has_functions;
        m.has_filenames = !!has_filenames;
        m.has_line_numbers = !!has_line_numbers;
        m.has_inline_frames = !!has_inline_frames;
        p->mappings[p->n_mappings++] = m;
        *ret_id = m.id;
        return 0;
}
