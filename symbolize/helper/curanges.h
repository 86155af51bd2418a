/* The address ranges of every compilation unit of a binary, read from the units' own
 * DW_AT_low_pc/high_pc/ranges and sorted: which unit holds an address, without trusting
 * .debug_aranges (Go emits none, so a cgo binary's aranges describe only its C units). */
#pragma once

#include <stddef.h>

#include <elfutils/libdw.h>

/* More units than this claiming one address is not real code. */
#define CURANGES_MAX_CANDIDATES 4

struct curanges;

/* Reads the unit DIEs of dw (not their children) once.  A unit without address
 * attributes is left out: the caller may ask .debug_aranges about it. */
int curanges_new(Dwarf *dw, struct curanges **ret);
void curanges_free(struct curanges *cr);

/* The units whose ranges contain pc (a DWARF address), the one whose range starts
 * nearest below pc first; writes at most max into ret and returns how many. */
size_t curanges_find(const struct curanges *cr, Dwarf_Addr pc, Dwarf_Die *ret, size_t max);
