/* Builds pprof profile.proto messages and writes them gzip-compressed: the one encoder. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct profile;

/* A label on a sample: either a string value (str != NULL) or a number with a unit. */
struct profile_label {
        const char *key;
        const char *str; /* NULL for a numeric label */
        int64_t num;
        const char *num_unit; /* may be NULL */
};

/* One source line of a location; a location with inlined calls has several,
 * innermost (the inlined callee) first, as pprof expects. */
struct profile_line {
        const char *function;    /* readable name (demangled) */
        const char *system_name; /* mangled name; NULL = same as function */
        const char *filename;    /* may be NULL */
        int64_t line;            /* 0 = unknown */
        int64_t start_line;      /* 0 = unknown */
};

int profile_new(struct profile **ret);
void profile_free(struct profile *p);

/* Header.  Sample types are kept in the order they are added. */
int profile_add_sample_type(struct profile *p, const char *type, const char *unit);
int profile_set_period(struct profile *p, const char *type, const char *unit, int64_t period);
int profile_set_default_sample_type(struct profile *p, const char *type);
/* The header of a profile that counts things (threads, goroutines): one sample type
 * TYPE/count, the period 1 TYPE/count, and that type the default. */
int profile_set_count_type(struct profile *p, const char *type);
void profile_set_time(struct profile *p, int64_t time_nanos, int64_t duration_nanos);
int profile_add_comment(struct profile *p, const char *comment);

/* Returns the mapping id (1-based) in *ret_id.  build_id may be NULL. */
int profile_add_mapping(struct profile *p, uint64_t start, uint64_t limit, uint64_t offset,
                        const char *filename, const char *build_id, int has_functions,
                        int has_filenames, int has_line_numbers, int has_inline_frames,
                        uint64_t *ret_id);

/* Returns the location id (1-based); identical (mapping, address, lines) are merged.
 * mapping_id 0 means no mapping. */
int profile_add_location(struct profile *p, uint64_t mapping_id, uint64_t address,
                         const struct profile_line *lines, size_t nlines, uint64_t *ret_id);

/* locations innermost first; values as many as sample types. */
int profile_add_sample(struct profile *p, const uint64_t *location_ids, size_t nlocations,
                       const int64_t *values, size_t nvalues, const struct profile_label *labels,
                       size_t nlabels);

/* Serializes and gzips; *ret_buf is malloc'd, caller frees. */
int profile_write_gzip(struct profile *p, uint8_t **ret_buf, size_t *ret_len);
