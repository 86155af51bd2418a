/* A binary's function symbols sorted by address: libdwfl's own address-to-symbol search
 * scans the whole table per call, far too slow for thousands of frames. */
#pragma once

#include <stdint.h>

#include <elfutils/libdwfl.h>

struct symtab;

/* Reads the symbols of mod (.symtab, else .dynsym, plus minidebuginfo, as libdwfl
 * offers them).  Names point into mod's data: valid while its Dwfl lives. */
int symtab_load(Dwfl_Module *mod, struct symtab **ret);
void symtab_free(struct symtab *t);

/* The function symbol containing vaddr (a Dwfl address), or NULL. */
const char *symtab_find(const struct symtab *t, uint64_t vaddr);
