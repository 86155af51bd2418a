/* Serializes a profile with protobuf-c and gzips it, as pprof reads it. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

#include "profile-private.h"

/* The protobuf-c view of a profile: arrays of message structs and of pointers to them,
 * pointing into the profile's own pools, which stay untouched while the view lives. */
struct pb_view {
        Perftools__Profiles__Profile msg;
        pb_value_type **sample_type_ptrs;
        pb_mapping **mapping_ptrs;
        pb_function **function_ptrs;
        Perftools__Profiles__Location *locations;
        Perftools__Profiles__Location **location_ptrs;
        pb_line **line_ptrs;
        Perftools__Profiles__Sample *samples;
        Perftools__Profiles__Sample **sample_ptrs;
        pb_label **label_ptrs;
};

static void view_done(struct pb_view *v)
{
        free(v->sample_type_ptrs);
        free(v->mapping_ptrs);
        free(v->function_ptrs);
        free(v->locations);
        free(v->location_ptrs);
        free(v->line_ptrs);
        free(v->samples);
        free(v->sample_ptrs);
        free(v->label_ptrs);
}

/* calloc(0) may return NULL; an empty array is fine as NULL since its count is 0. */
static int alloc_array(void **ret, size_t n, size_t size)
{
        void *a = NULL;

        if (n > 0) {
                a = calloc(n, size);
                if (!a)
                        return -ENOMEM;
        }
        *ret = a;
        return 0;
}

#define ALLOC_ARRAY(ptr, n) alloc_array((void **)&(ptr), (n), sizeof(*(ptr)))

static int view_alloc(struct pb_view *v, const struct profile *p)
{
        if (ALLOC_ARRAY(v->sample_type_ptrs, p->n_sample_types) < 0 ||
            ALLOC_ARRAY(v->mapping_ptrs, p->n_mappings) < 0 ||
            ALLOC_ARRAY(v->function_ptrs, p->n_functions) < 0 ||
            ALLOC_ARRAY(v->locations, p->n_locations) < 0 ||
            ALLOC_ARRAY(v->location_ptrs, p->n_locations) < 0 ||
            ALLOC_ARRAY(v->line_ptrs, p->n_lines) < 0 ||
            ALLOC_ARRAY(v->samples, p->n_samples) < 0 ||
            ALLOC_ARRAY(v->sample_ptrs, p->n_samples) < 0 ||
            ALLOC_ARRAY(v->label_ptrs, p->n_labels) < 0)
                return -ENOMEM;
        return 0;
}

static void view_fill_items(struct pb_view *v, struct profile *p)
{
        for (size_t i = 0; i < p->n_sample_types; i++)
                v->sample_type_ptrs[i] = &p->sample_types[i];
        for (size_t i = 0; i < p->n_mappings; i++)
                v->mapping_ptrs[i] = &p->mappings[i];
        for (size_t i = 0; i < p->n_functions; i++)
                v->function_ptrs[i] = &p->functions[i];
        for (size_t i = 0; i < p->n_lines; i++)
                v->line_ptrs[i] = &p->lines[i];
        for (size_t i = 0; i < p->n_labels; i++)
                v->label_ptrs[i] = &p->labels[i];

        for (size_t i = 0; i < p->n_locations; i++) {
                const struct profile_location *in = &p->locations[i];
                Perftools__Profiles__Location *l = &v->locations[i];

                perftools__profiles__location__init(l);
                l->id = i + 1;
                l->mapping_id = in->mapping_id;
                l->address = in->address;
                l->n_line = in->nlines;
                l->line = in->nlines ? &v->line_ptrs[in->line_off] : NULL;
                v->location_ptrs[i] = l;
        }

        for (size_t i = 0; i < p->n_samples; i++) {
                const struct profile_sample *in = &p->samples[i];
                Perftools__Profiles__Sample *s = &v->samples[i];

                perftools__profiles__sample__init(s);
                s->n_location_id = in->nlocs;
                s->location_id = in->nlocs ? &p->sample_locs[in->loc_off] : NULL;
                s->n_value = p->n_sample_types;
                s->value = &p->values[i * p->n_sample_types];
                s->n_label = in->nlabels;
                s->label = in->nlabels ? &v->label_ptrs[in->label_off] : NULL;
                v->sample_ptrs[i] = s;
        }
}

static void view_fill_profile(struct pb_view *v, struct profile *p)
{
        Perftools__Profiles__Profile *m = &v->msg;

        perftools__profiles__profile__init(m);
        m->n_sample_type = p->n_sample_types;
        m->sample_type = v->sample_type_ptrs;
        m->n_sample = p->n_samples;
        m->sample = v->sample_ptrs;
        m->n_mapping = p->n_mappings;
        m->mapping = v->mapping_ptrs;
        m->n_location = p->n_locations;
        m->location = v->location_ptrs;
        m->n_function = p->n_functions;
        m->function = v->function_ptrs;
        m->n_string_table = p->strings.n;
        m->string_table = p->strings.strs;
        m->time_nanos = p->time_nanos;
        m->duration_nanos = p->duration_nanos;
        m->period_type = p->has_period_type ? &p->period_type : NULL;
        m->period = p->period;
        m->n_comment = p->n_comments;
        m->comment = p->comments;
        m->default_sample_type = p->default_sample_type;
}

static int serialize(struct profile *p, uint8_t **ret_buf, size_t *ret_len)
{
        struct pb_view v = { 0 };
        uint8_t *buf = NULL;
        size_t len;
        int r;

        r = view_alloc(&v, p);
        if (r < 0)
                goto out;
        view_fill_items(&v, p);
        view_fill_profile(&v, p);

        len = protobuf_c_message_get_packed_size(&v.msg.base);
        /* malloc(0) is never asked for: the string table alone makes len > 0. */
        buf = malloc(len);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        if (protobuf_c_message_pack(&v.msg.base, buf) != len) {
                free(buf);
                r = -EIO;
                goto out;
        }
        *ret_buf = buf;
        *ret_len = len;
        r = 0;
out:
        view_done(&v);
        return r;
}

/* Gzip (windowBits 31 selects the gzip wrapper) at the speed-first level, as Go's
 * runtime/pprof writes profiles: these are made on every read of a file. */
static int gzip_buffer(const uint8_t *in, size_t in_len, uint8_t **ret_buf, size_t *ret_len)
{
        z_stream zs = { 0 };
        uint8_t *out = NULL, *shrunk;
        size_t cap, len;
        int zr, r;

        if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        cap = deflateBound(&zs, in_len);
        out = malloc(cap);
        if (!out) {
                r = -ENOMEM;
                goto out;
        }
        zs.next_in = (Bytef *)in;
        zs.next_out = out;
        /* avail_in and avail_out are 32-bit, so feed huge buffers in pieces. */
        do {
                size_t in_left = in_len - (size_t)((const uint8_t *)zs.next_in - in);
                size_t out_left = cap - (size_t)(zs.next_out - out);

                zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
                zs.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
                zr = deflate(&zs, in_left > UINT_MAX ? Z_NO_FLUSH : Z_FINISH);
        } while (zr == Z_OK);
        if (zr != Z_STREAM_END) {
                r = zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
                goto out;
        }
        /* The bound is about the input size; the result, kept in a file handle for the
         * life of an open file, is usually a fraction of it. */
        len = (size_t)(zs.next_out - out);
        shrunk = realloc(out, len);
        *ret_buf = shrunk ? shrunk : out;
        *ret_len = len;
        out = NULL;
        r = 0;
out:
        free(out);
        deflateEnd(&zs);
        return r;
}

int profile_write_gzip(struct profile *p, uint8_t **ret_buf, size_t *ret_len)
{
        uint8_t *raw, *gz;
        size_t raw_len, gz_len;
        int r;

        if (!p || !ret_buf || !ret_len)
                return -EINVAL;
        r = serialize(p, &raw, &raw_len);
        if (r < 0)
                return r;
        r = gzip_buffer(raw, raw_len, &gz, &gz_len);
        free(raw);
        if (r < 0)
                return r;
        *ret_buf = gz;
        *ret_len = gz_len;
        return 0;
}
