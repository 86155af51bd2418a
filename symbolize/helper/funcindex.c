/* Per compilation unit, the address ranges of its functions, sorted for bisection. */
#include "funcindex.h"

#include <dwarf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/array.h"

/* Namespaces and classes nest function definitions; deeper than this is not code. */
#define MAX_NESTING 16

struct range {
        Dwarf_Addr low, high;
        Dwarf_Die die;
};

struct unit {
        Dwarf_Off offset; /* of the unit's DIE, the key */
        struct range *ranges;
        size_t n, cap;
};

struct funcindex {
        struct unit *units; /* sorted by offset */
        size_t n, cap;
};

int funcindex_new(struct funcindex **ret) {
        struct funcindex *fi = calloc(1, sizeof(*fi));
        if (!fi)
                return -ENOMEM;
        *ret = fi;
        return 0;
}

void funcindex_free(struct funcindex *fi) {
        if (!fi)
                return;
        for (size_t i = 0; i < fi->n; i++)
                free(fi->units[i].ranges);
        free(fi->units);
        free(fi);
}

static int add_range(struct unit *u, Dwarf_Addr low, Dwarf_Addr high, Dwarf_Die *die) {
        int r = ARRAY_RESERVE(u->ranges, u->cap, u->n, 1, 64, SIZE_MAX);

        if (r < 0)
                return r;
        u->ranges[u->n++] = (struct range){ .low = low, .high = high, .die = *die };
        return 0;
}

static void index_children(struct unit *u, Dwarf_Die *parent, int depth) {
        Dwarf_Die child;
        if (depth > MAX_NESTING || dwarf_child(parent, &child) != 0)
                return;
        do {
                switch (dwarf_tag(&child)) {
                case DW_TAG_subprogram: {
                        /* Several ranges when the compiler split hot and cold parts. */
                        Dwarf_Addr base, low, high;
                        ptrdiff_t off = 0;
                        while ((off = dwarf_ranges(&child, off, &base, &low, &high)) > 0)
                                if (low < high && add_range(u, low, high, &child) < 0)
                                        return;
                        break;
                }
                case DW_TAG_namespace:
                case DW_TAG_class_type:
                case DW_TAG_structure_type:
                case DW_TAG_union_type:
                case DW_TAG_module:
                        index_children(u, &child, depth + 1);
                        break;
                default:
                        break;
                }
        } while (dwarf_siblingof(&child, &child) == 0);
}

static int cmp_range(const void *a, const void *b) {
        const struct range *x = a, *y = b;
        return x->low < y->low ? -1 : x->low > y->low;
}

static struct unit *unit_of(struct funcindex *fi, Dwarf_Die *cu) {
        Dwarf_Off off = dwarf_dieoffset(cu);
        size_t lo = 0, hi = fi->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (fi->units[mid].offset < off)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < fi->n && fi->units[lo].offset == off)
                return &fi->units[lo];

        if (ARRAY_RESERVE(fi->units, fi->cap, fi->n, 1, 64, SIZE_MAX) < 0)
                return NULL;
        memmove(fi->units + lo + 1, fi->units + lo, (fi->n - lo) * sizeof(*fi->units));
        fi->n++;
        struct unit *u = &fi->units[lo];
        *u = (struct unit){ .offset = off };
        index_children(u, cu, 0);
        qsort(u->ranges, u->n, sizeof(*u->ranges), cmp_range);
        return u;
}

bool funcindex_find(struct funcindex *fi, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *ret) {
        struct unit *u = unit_of(fi, cu);
        if (!u)
                return false;
        size_t lo = 0, hi = u->n;
        while (lo < hi) { /* first range starting above pc */
                size_t mid = lo + (hi - lo) / 2;
                if (u->ranges[mid].low <= pc)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0 || pc >= u->ranges[lo - 1].high)
                return false;
        *ret = u->ranges[lo - 1].die;
        return true;
}
