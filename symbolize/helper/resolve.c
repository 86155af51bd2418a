/* Resolving one address of a binary to its inline chain with libdw: the unit that holds
 * it, DWARF scopes for names and call sites, that unit's line table for the innermost
 * line, the ELF symbol table when there is no DWARF. */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>

#include "binary.h"
#include "curanges.h"
#include "demangle.h"
#include "funcindex.h"
#include "intern.h"
#include "symtab.h"

/* Deeper inline nests than this are cut in the middle (see keep_ends). */
#define MAX_SCOPES 64

static bool is_function(Dwarf_Die *die) {
        int tag = dwarf_tag(die);
        return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

static const char *attr_string(Dwarf_Die *die, int name) {
        Dwarf_Attribute attr;
        /* _integrate follows abstract_origin and specification: an inlined instance or
         * an out-of-class member definition carries its names on another DIE. */
        return dwarf_attr_integrate(die, name, &attr) ? dwarf_formstring(&attr) : NULL;
}

static int attr_int(Dwarf_Die *die, int name, bool integrate) {
        Dwarf_Attribute attr;
        Dwarf_Word v;
        Dwarf_Attribute *a = integrate ? dwarf_attr_integrate(die, name, &attr)
                                       : dwarf_attr(die, name, &attr);
        if (!a || dwarf_formudata(a, &v) != 0 || v > INT32_MAX)
                return 0;
        return (int) v;
}

/* Fills function and system_name.  linkage is the symbol's name (mangled for C++; for C
 * an asm label such as glibc's __GI_qsort), plain the source name; the readable name is
 * the demangled linkage name, else the source name, else the linkage name. */
static void set_names(struct sym_binary *b, struct sym_line *l, const char *linkage,
                      const char *plain) {
        char *readable = demangle(linkage);
        const char *function = readable ? readable : plain ? plain : linkage;
        l->function = intern_str(b->strings, function);
        if (linkage && strcmp(linkage, function) != 0)
                l->system_name = intern_str(b->strings, linkage);
        free(readable);
}

static void names_from_die(struct sym_binary *b, Dwarf_Die *die, struct sym_line *l) {
        const char *linkage = attr_string(die, DW_AT_linkage_name);
        if (!linkage)
                linkage = attr_string(die, DW_AT_MIPS_linkage_name);
        const char *plain = attr_string(die, DW_AT_name);
        if (linkage || plain)
                set_names(b, l, linkage, plain);
        l->start_line = attr_int(die, DW_AT_decl_line, true);
}

static const char *call_file(struct sym_binary *b, Dwarf_Die *die) {
        Dwarf_Attribute attr;
        Dwarf_Word idx;
        Dwarf_Die cu;
        Dwarf_Files *files;
        size_t nfiles;
        if (!dwarf_attr(die, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &idx) != 0 ||
            !dwarf_diecu(die, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 ||
            idx >= nfiles)
                return NULL;
        return intern_str(b->strings, dwarf_filesrc(files, idx, NULL, NULL));
}

/* The line of pc from the line table of cu, the unit known to hold pc.  Not
 * dwfl_module_getsrc: it picks the unit by .debug_aranges, taking the gaps between them
 * for the unit before, and would read a wrong unit's table (see units_of). */
static void source_line(struct sym_binary *b, Dwarf_Die *cu, Dwarf_Addr pc, const char **file,
                        int *line) {
        Dwarf_Line *l = cu ? dwarf_getsrc_die(cu, pc) : NULL;
        int lineno = 0;
        const char *f = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
        if (f && dwarf_lineno(l, &lineno) != 0)
                lineno = 0;
        *file = f ? intern_str(b->strings, f) : NULL;
        *line = f ? lineno : 0;
}

/* Keeps the innermost frames and the outermost function when the nest is too deep:
 * the function that contains the address matters most to a profile. */
static size_t keep_ends(struct sym_line *all, size_t n, struct sym_line *lines) {
        if (n <= SYM_MAX_INLINE) {
                memcpy(lines, all, n * sizeof(*lines));
                return n;
        }
        memcpy(lines, all, (SYM_MAX_INLINE - 1) * sizeof(*lines));
        lines[SYM_MAX_INLINE - 1] = all[n - 1];
        return SYM_MAX_INLINE;
}

/* Lines from a chain of function DIEs, innermost first, ending with the subprogram. */
static size_t lines_of_chain(struct sym_binary *b, Dwarf_Die *cu, Dwarf_Addr pc,
                             Dwarf_Die *funcs, size_t n, struct sym_line *lines) {
        struct sym_line all[MAX_SCOPES];
        const char *file;
        int line;
        source_line(b, cu, pc, &file, &line);
        for (size_t j = 0; j < n; j++) {
                all[j] = (struct sym_line){ .file = file, .line = line };
                names_from_die(b, &funcs[j], &all[j]);
                /* The caller's position is where this instance was inlined. */
                file = call_file(b, &funcs[j]);
                line = attr_int(&funcs[j], DW_AT_call_line, false);
        }
        return keep_ends(all, n, lines);
}

/* From the subprogram down through the inlined instances that contain pc; writes them
 * innermost first. */
static size_t descend(Dwarf_Die *subprogram, Dwarf_Addr pc, Dwarf_Die *funcs) {
        Dwarf_Die nest[MAX_SCOPES], cur = *subprogram, child;
        size_t n = 0;
        nest[n++] = cur;
        while (n < MAX_SCOPES && dwarf_child(&cur, &child) == 0) {
                bool found = false;
                do {
                        int tag = dwarf_tag(&child);
                        if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
                             tag == DW_TAG_try_block || tag == DW_TAG_catch_block) &&
                            dwarf_haspc(&child, pc) == 1) {
                                found = true;
                                break;
                        }
                } while (dwarf_siblingof(&child, &child) == 0);
                if (!found)
                        break;
                cur = child;
                if (dwarf_tag(&cur) == DW_TAG_inlined_subroutine)
                        nest[n++] = cur;
        }
        for (size_t i = 0; i < n; i++)
                funcs[i] = nest[n - 1 - i];
        return n;
}

/* The slow path for units the index does not cover (e.g. functions in partial units):
 * dwarf_getscopes walks the whole unit.  It follows an inlined instance to its abstract
 * definition's scopes, so the physical nest comes from dwarf_getscopes_die. */
static size_t walk_scopes(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *funcs) {
        Dwarf_Die *scopes = NULL, *chain = NULL;
        int nscopes = dwarf_getscopes(cu, pc, &scopes);
        int i = 0;
        while (i < nscopes && !is_function(&scopes[i]))
                i++;
        if (i >= nscopes) {
                free(scopes);
                return 0;
        }
        int nchain = dwarf_getscopes_die(&scopes[i], &chain);
        free(scopes);
        size_t n = 0;
        for (int j = 0; j < nchain && n < MAX_SCOPES; j++) {
                if (!is_function(&chain[j]))
                        continue;
                funcs[n++] = chain[j];
                if (dwarf_tag(&chain[j]) == DW_TAG_subprogram)
                        break;
        }
        free(chain);
        return n;
}

/* The units that hold vaddr, best guess first; *ret_pc is vaddr as a DWARF address.
 * Each unit's own ranges decide, not .debug_aranges: libdwfl reads the aranges as if
 * they covered the whole text, a gap belonging to the unit before it, but Go writes
 * none.  In a cgo binary the aranges list only the C units, and one of them (with a
 * .cold part at the start of .text) then swallowed every Go function.  The aranges are
 * still asked, exactly, about units that state no ranges of their own. */
static size_t units_of(struct sym_binary *b, uint64_t vaddr, Dwarf_Die *units,
                       Dwarf_Addr *ret_pc) {
        Dwarf_Addr bias;
        Dwarf *dw = dwfl_module_getdwarf(b->mod, &bias);
        if (!dw)
                return 0;
        if (!b->units && !b->units_failed && curanges_new(dw, &b->units) < 0)
                b->units_failed = true;
        Dwarf_Addr pc = vaddr - bias;
        size_t n = b->units ? curanges_find(b->units, pc, units, CURANGES_MAX_CANDIDATES) : 0;
        if (n == 0 && dwarf_addrdie(dw, pc, &units[0]))
                n = 1;
        *ret_pc = pc;
        return n;
}

/* The function chain at pc from the first of the candidate units that has one; *ret_unit
 * is that unit (the first candidate if none has). */
static size_t resolve_dwarf(struct sym_binary *b, Dwarf_Die *units, size_t nunits,
                            Dwarf_Addr pc, Dwarf_Die *funcs, size_t *ret_unit) {
        Dwarf_Die subprogram;
        size_t n = 0;
        *ret_unit = 0;
        for (size_t i = 0; i < nunits; i++)
                if (funcindex_find(b->funcs, &units[i], pc, &subprogram)) {
                        *ret_unit = i;
                        return descend(&subprogram, pc, funcs);
                }
        for (size_t i = 0; i < nunits && n == 0; i++)
                if ((n = walk_scopes(&units[i], pc, funcs)) > 0)
                        *ret_unit = i;
        return n;
}

static const char *elf_symbol(struct sym_binary *b, uint64_t vaddr) {
        if (!b->symtab && !b->symtab_failed && symtab_load(b->mod, &b->symtab) < 0)
                b->symtab_failed = true;
        return b->symtab ? symtab_find(b->symtab, vaddr) : NULL;
}

size_t resolve_address(struct sym_binary *b, uint64_t vaddr, struct sym_line *lines) {
        Dwarf_Die units[CURANGES_MAX_CANDIDATES], funcs[MAX_SCOPES];
        Dwarf_Addr pc = 0;
        size_t nunits = units_of(b, vaddr, units, &pc), unit = 0;
        size_t n = nunits > 0 ? resolve_dwarf(b, units, nunits, pc, funcs, &unit) : 0;
        Dwarf_Die *cu = nunits > 0 ? &units[unit] : NULL;
        if (n > 0) {
                n = lines_of_chain(b, cu, pc, funcs, n, lines);
                /* DWARF without a linkage name (C, or a C++ compiler that left it out):
                 * the symbol table may still have the mangled one. */
                struct sym_line *outer = &lines[n - 1];
                if (!outer->system_name) {
                        const char *sym = elf_symbol(b, vaddr);
                        if (sym && strncmp(sym, "_Z", 2) == 0)
                                set_names(b, outer, sym, NULL);
                        else if (!outer->function && sym)
                                set_names(b, outer, sym, NULL);
                }
                return n;
        }

        const char *sym = elf_symbol(b, vaddr);
        const char *file;
        int line;
        source_line(b, cu, pc, &file, &line);
        if (!sym && !file)
                return 0;
        lines[0] = (struct sym_line){ .file = file, .line = line };
        if (sym)
                set_names(b, &lines[0], sym, NULL);
        return 1;
}
