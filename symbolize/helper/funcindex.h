/* Per compilation unit, the address ranges of its functions, sorted: finding the
 * function of an address by bisection instead of walking the unit's DIE tree. */
#pragma once

#include <stdbool.h>

#include <elfutils/libdw.h>

struct funcindex;

int funcindex_new(struct funcindex **ret);
void funcindex_free(struct funcindex *fi);

/* The concrete subprogram DIE of cu whose code contains pc (a DWARF address).  The
 * unit's index is built on first use.  false if none is known (the caller may fall back
 * to a full walk). */
bool funcindex_find(struct funcindex *fi, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *ret);
