/* Which compilation unit holds an address, from the units' own address attributes. */
#include "curanges.h"

#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "memprof/array.h"

/* A file's ranges are bounded by its size; this bounds the memory a hostile one costs.
 * Past it, the remaining units are simply not indexed. */
#define MAX_RANGES (1u << 22)
/* How many overlapping ranges a lookup walks back over before it gives up. */
#define MAX_SCAN 256

struct curange {
        Dwarf_Addr low, high;
        Dwarf_Addr reach; /* the highest end of this and every earlier range */
        uint32_t unit;    /* index into units */
};

struct curanges {
        Dwarf_Die *units;
        size_t nunits, units_cap;
        struct curange *ranges; /* sorted by low */
        size_t n, cap;
};

static int add_unit(struct curanges *cr, Dwarf_Die *die) {
        int r = ARRAY_RESERVE(cr->units, cr->units_cap, cr->nunits, 1, 64, UINT32_MAX);

        if (r < 0)
                return r;
        cr->units[cr->nunits++] = *die;
        return 0;
}

static int add_range(struct curanges *cr, Dwarf_Addr low, Dwarf_Addr high) {
        int r = ARRAY_RESERVE(cr->ranges, cr->cap, cr->n, 1, 256, MAX_RANGES);

        if (r < 0)
                return r;
        cr->ranges[cr->n++] = (struct curange){ .low = low, .high = high,
                                                .unit = (uint32_t) cr->nunits };
        return 0;
}

/* Adds the ranges of one unit; the unit is kept only if it has some. */
static int index_unit(struct curanges *cr, Dwarf_Die *cudie, Dwarf_Die *die) {
        Dwarf_Addr base, low, high;
        ptrdiff_t off = 0;
        size_t before = cr->n;
        int r;
        while (cr->n < MAX_RANGES && (off = dwarf_ranges(cudie, off, &base, &low, &high)) > 0)
                if (low < high && (r = add_range(cr, low, high)) < 0)
                        return r;
        if (cr->n == before)
                return 0;
        return add_unit(cr, die);
}

static int cmp_range(const void *a, const void *b) {
        const struct curange *x = a, *y = b;
        if (x->low != y->low)
                return x->low < y->low ? -1 : 1;
        return x->unit < y->unit ? -1 : x->unit > y->unit;
}

int curanges_new(Dwarf *dw, struct curanges **ret) {
        struct curanges *cr = calloc(1, sizeof(*cr));
        if (!cr)
                return -ENOMEM;

        Dwarf_CU *cu = NULL;
        Dwarf_Half version;
        uint8_t unit_type;
        Dwarf_Die cudie, subdie;
        int r;
        while (cr->n < MAX_RANGES && cr->nunits < UINT32_MAX &&
               dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
                /* Type and partial units hold no code of their own. */
                int tag = dwarf_tag(&cudie);
                if (tag != DW_TAG_compile_unit && tag != DW_TAG_skeleton_unit)
                        continue;
                /* A skeleton's ranges are its own; its functions are in the split unit. */
                Dwarf_Die *die = unit_type == DW_UT_skeleton && subdie.addr ? &subdie : &cudie;
                if ((r = index_unit(cr, &cudie, die)) < 0) {
                        curanges_free(cr);
                        return r;
                }
        }

        qsort(cr->ranges, cr->n, sizeof(*cr->ranges), cmp_range);
        Dwarf_Addr reach = 0;
        for (size_t i = 0; i < cr->n; i++) {
                if (cr->ranges[i].high > reach)
                        reach = cr->ranges[i].high;
                cr->ranges[i].reach = reach;
        }
        *ret = cr;
        return 0;
}

void curanges_free(struct curanges *cr) {
        if (!cr)
                return;
        free(cr->units);
        free(cr->ranges);
        free(cr);
}

size_t curanges_find(const struct curanges *cr, Dwarf_Addr pc, Dwarf_Die *ret, size_t max) {
        size_t lo = 0, hi = cr->n;
        while (lo < hi) { /* first range starting above pc */
                size_t mid = lo + (hi - lo) / 2;
                if (cr->ranges[mid].low <= pc)
                        lo = mid + 1;
                else
                        hi = mid;
        }

        /* Walk back over the ranges that start at or below pc for as long as one of them
         * (or an earlier one) still reaches past pc: overlaps are rare, so this is
         * usually one step. */
        uint32_t found[CURANGES_MAX_CANDIDATES];
        size_t n = 0;
        if (max > CURANGES_MAX_CANDIDATES)
                max = CURANGES_MAX_CANDIDATES;
        for (size_t i = lo, steps = 0; i > 0 && n < max && steps < MAX_SCAN; i--, steps++) {
                const struct curange *r = &cr->ranges[i - 1];
                if (r->reach <= pc)
                        break;
                if (r->high <= pc)
                        continue;
                bool seen = false;
                for (size_t j = 0; j < n; j++)
                        seen = seen || found[j] == r->unit;
                if (seen)
                        continue;
                found[n] = r->unit;
                ret[n++] = cr->units[r->unit];
        }
        return n;
}
