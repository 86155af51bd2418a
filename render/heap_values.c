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
 * per-site average is exact.  Sites come in runs of one size (a program's hot sizes), and
 * memstats sums 100k of them: the factor of the last size is kept per thread. */
static double factor(uint64_t size, uint64_t rate)
{
        static __thread uint64_t last_size, last_rate;
        static __thread double last;

        if (size != last_size || rate != last_rate) {
                last = -1.0 / expm1(-(double)size / (double)rate);
                last_size = size;
                last_rate = rate;
        }
        return last;
}

static void scale(uint64_t count, uint64_t size, double s, int64_t *ret_count, int64_t *ret_bytes)
{
        *ret_count = saturate((double)count * s);
        *ret_bytes = saturate((double)count * (double)size * s);
}

/* At rate 1 (or 0) every object is sampled: the counts as they are. */
static void exact(uint64_t count, uint64_t size, int64_t *ret_count, int64_t *ret_bytes)
{
        uint64_t bytes;

        *ret_count = count > INT64_MAX ? INT64_MAX : (int64_t)count;
        *ret_bytes = __builtin_mul_overflow(count, size, &bytes) || bytes > INT64_MAX
                         ? INT64_MAX
                         : (int64_t)bytes;
}

struct heap_values heap_site_values(const struct heap_snapshot *h, const struct heap_site *s)
{
        struct heap_values v = {0};
        uint64_t inuse = s->allocs - s->frees;

        if (s->size == 0)
                return v;
        if (h->rate <= 1) {
                exact(s->allocs, s->size, &v.alloc_objects, &v.alloc_space);
                exact(inuse, s->size, &v.inuse_objects, &v.inuse_space);
                return v;
        }
        double f = factor(s->size, h->rate);
        scale(s->allocs, s->size, f, &v.alloc_objects, &v.alloc_space);
        scale(inuse, s->size, f, &v.inuse_objects, &v.inuse_space);
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

uint64_t heap_inuse_estimate(const struct heap_snapshot *h)
{
        struct heap_values total = {0};

        for (size_t i = 0; i < h->nsites; i++) {
                struct heap_values v = heap_site_values(h, &h->sites[i]);
                heap_values_add(&total, &v);
        }
        return (uint64_t)total.inuse_space;
}
