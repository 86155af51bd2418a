/* Go's unbiasing of sampled heap counts, in one place for every file that shows them. */
#include <math.h>

#include "heap_segment.h"
#include "heap_values.h"

/* double -> int64 without the undefined behaviour of an out-of-range cast */
static int64_t saturate(double x)
{
        if (!(x > 0))
                return 0;
        if (x >= 9223372036854775807.0)
                return INT64_MAX;
        return (int64_t)x;
}

/* runtime/pprof's scaleHeapSample: a sample of an object of size S taken at mean rate R
 * stands for 1/(1-exp(-S/R)) objects.  Every sample of a site has the same size, so the
 * per-site average is exact.  At rate 1 (or 0) every object is sampled: no scaling. */
static void scale(uint64_t count, uint64_t size, uint64_t rate, int64_t *ret_count,
                  int64_t *ret_bytes)
{
        double s = 1.0;

        if (count == 0 || size == 0) {
                *ret_count = 0;
                *ret_bytes = 0;
                return;
        }
        if (rate > 1)
                s = -1.0 / expm1(-(double)size / (double)rate);
        *ret_count = saturate((double)count * s);
        *ret_bytes = saturate((double)count * (double)size * s);
}

struct heap_values heap_site_values(const struct heap_snapshot *h, const struct heap_site *s)
{
        struct heap_values v;

        scale(s->allocs, s->size, h->rate, &v.alloc_objects, &v.alloc_space);
        scale(s->allocs - s->frees, s->size, h->rate, &v.inuse_objects, &v.inuse_space);
        return v;
}

static int64_t add_sat(int64_t a, int64_t b)
{
        int64_t r;

        return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

void heap_values_add(struct heap_values *to, const struct heap_values *v)
{
        to->alloc_objects = add_sat(to->alloc_objects, v->alloc_objects);
        to->alloc_space = add_sat(to->alloc_space, v->alloc_space);
        to->inuse_objects = add_sat(to->inuse_objects, v->inuse_objects);
        to->inuse_space = add_sat(to->inuse_space, v->inuse_space);
}
