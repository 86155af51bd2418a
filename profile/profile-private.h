/* The encoder's in-memory profile, shared by the files that build and write it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idxmap.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "strtab.h"

typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Function pb_function;

/* A location's lines live in the shared pool p->lines, so a location is a slice of it. */
struct profile_location {
        uint64_t mapping_id;
        uint64_t address;
        size_t line_off, nlines;
};

/* A sample's ids and labels are slices of shared pools; its values are the
 * n_sample_types values at sample index * n_sample_types in p->values. */
struct profile_sample {
        size_t loc_off, nlocs;
        size_t label_off, nlabels;
};

struct profile {
        struct strtab strings;

        pb_value_type *sample_types;
        size_t n_sample_types, cap_sample_types;
        pb_value_type period_type;
        bool has_period_type;
        int64_t period;
        int64_t default_sample_type;
        int64_t time_nanos, duration_nanos;
        int64_t *comments;
        size_t n_comments, cap_comments;

        /* Items are stored as the protobuf-c messages they become, with ids already set. */
        pb_mapping *mappings;
        size_t n_mappings, cap_mappings;

        pb_function *functions;
        size_t n_functions, cap_functions;
        struct idxmap function_index;

        struct profile_location *locations;
        size_t n_locations, cap_locations;
        struct idxmap location_index;
        pb_line *lines;
        size_t n_lines, cap_lines;

        struct profile_sample *samples;
        size_t n_samples, cap_samples;
        uint64_t *sample_locs;
        size_t n_sample_locs, cap_sample_locs;
        int64_t *values;
        size_t n_values, cap_values;
        pb_label *labels;
        size_t n_labels, cap_labels;
};
