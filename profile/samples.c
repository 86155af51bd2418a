/* Samples: their stacks, values and labels, appended to shared pools. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/array.h"
#include "profile-private.h"

static int check_sample(const struct profile *p, const uint64_t *location_ids, size_t nlocations,
                        const int64_t *values, size_t nvalues, const struct profile_label *labels,
                        size_t nlabels)
{
        /* pprof rejects samples whose value count differs from the sample type count. */
        if (p->n_sample_types == 0 || nvalues != p->n_sample_types || !values)
                return -EINVAL;
        if ((nlocations > 0 && !location_ids) || (nlabels > 0 && !labels))
                return -EINVAL;
        for (size_t i = 0; i < nlocations; i++)
                if (location_ids[i] == 0 || location_ids[i] > p->n_locations)
                        return -EINVAL;
        for (size_t i = 0; i < nlabels; i++)
                if (!labels[i].key)
                        return -EINVAL;
        if (nlocations > SIZE_MAX / 2 - p->n_sample_locs || nlabels > SIZE_MAX / 2 - p->n_labels)
                return -ENOMEM;
        return 0;
}

/* Note what survives pprof's reader: a string label whose value is "" and a numeric
 * label that is 0 without a unit both read back as absent. */
static int intern_label(struct profile *p, const struct profile_label *in, pb_label *ret)
{
        pb_label l = PERFTOOLS__PROFILES__LABEL__INIT;
        int r;

        r = strtab_intern(&p->strings, in->key, &l.key);
        if (r < 0)
                return r;
        if (in->str) {
                r = strtab_intern(&p->strings, in->str, &l.str);
        } else {
                l.num = in->num;
                r = strtab_intern(&p->strings, in->num_unit, &l.num_unit);
        }
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int profile_add_sample(struct profile *p, const uint64_t *location_ids, size_t nlocations,
                       const int64_t *values, size_t nvalues, const struct profile_label *labels,
                       size_t nlabels)
{
        struct profile_sample s;
        int r;

        if (!p)
                return -EINVAL;
        r = check_sample(p, location_ids, nlocations, values, nvalues, labels, nlabels);
        if (r < 0)
                return r;

        /* Reserve everything first so a failure adds no partial sample. */
        r = ARRAY_RESERVE(p->samples, p->cap_samples, p->n_samples, 1, 16, SIZE_MAX);
        if (r < 0)
                return r;
        r = ARRAY_RESERVE(p->sample_locs, p->cap_sample_locs, p->n_sample_locs, nlocations, 16,
                          SIZE_MAX);
        if (r < 0)
                return r;
        r = ARRAY_RESERVE(p->values, p->cap_values, p->n_values, nvalues, 16, SIZE_MAX);
        if (r < 0)
                return r;
        r = ARRAY_RESERVE(p->labels, p->cap_labels, p->n_labels, nlabels, 16, SIZE_MAX);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nlabels; i++) {
                r = intern_label(p, &labels[i], &p->labels[p->n_labels + i]);
                if (r < 0)
                        return r;
        }

        s = (struct profile_sample){
                .loc_off = p->n_sample_locs,
                .nlocs = nlocations,
                .label_off = p->n_labels,
                .nlabels = nlabels,
        };
        if (nlocations > 0)
                memcpy(&p->sample_locs[p->n_sample_locs], location_ids,
                       nlocations * sizeof(*location_ids));
        memcpy(&p->values[p->n_values], values, nvalues * sizeof(*values));
        p->n_sample_locs += nlocations;
        p->n_values += nvalues;
        p->n_labels += nlabels;
        p->samples[p->n_samples++] = s;
        return 0;
}
