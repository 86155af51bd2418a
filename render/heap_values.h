/* A heap site's four pprof values, unbiased as Go does: shared by heap, allocs, heap.txt
 * and memstats' HeapAlloc, so that they all agree. */
#pragma once

#include <stdint.h>

struct heap_snapshot;
struct heap_site;

struct heap_values {
        int64_t alloc_objects, alloc_space, inuse_objects, inuse_space;
};

struct heap_values heap_site_values(const struct heap_snapshot *h, const struct heap_site *s);

/* Adds v to *to, saturating at INT64_MAX (a hostile segment may claim anything). */
void heap_values_add(struct heap_values *to, const struct heap_values *v);

/* The live bytes of all sites together, as heap, heap.txt and memstats' HeapAlloc show
 * them: exact at rate 1, an unbiased estimate otherwise. */
uint64_t heap_inuse_estimate(const struct heap_snapshot *h);
