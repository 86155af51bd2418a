/* Resolving one address of a binary to its inline chain with libdw: DWARF scopes for
 * names and call sites, the line table for the innermost line, the ELF symbol table
 * when there is no DWARF. */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>

#include "binary.h"
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

static void source_line(struct sym_binary *b, uint64_t vaddr, const char **file, int *line) {
        Dwfl_Line *l = dwfl_module_getsrc(b->mod, vaddr);
        int lineno = 0;
        const char *f = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
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
static size_t lines_of_chain(struct sym_binary *b, uint64_t vaddr, Dwarf_Die *funcs, size_t n,
                             struct sym_line *lines) {
        struct sym_line all[MAX_SCOPES];
        const char *file;
        int line;
        source_line(b, vaddr, &file, &line);
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

static size_t resolve_dwarf(struct sym_binary *b, uint64_t vaddr, struct sym_line *lines) {
        Dwarf_Addr bias;
        Dwarf_Die *cu = dwfl_module_addrdie(b->mod, vaddr, &bias);
        if (!cu)
                return 0;
        Dwarf_Die subprogram, funcs[MAX_SCOPES];
        size_t n = funcindex_find(b->funcs, cu, vaddr - bias, &subprogram)
                           ? descend(&subprogram, vaddr - bias, funcs)
                           : walk_scopes(cu, vaddr - bias, funcs);
        return n > 0 ? lines_of_chain(b, vaddr, funcs, n, lines) : 0;
}

static const char *elf_symbol(struct sym_binary *b, uint64_t vaddr) {
        if (!b->symtab && !b->symtab_failed && symtab_load(b->mod, &b->symtab) < 0)
                b->symtab_failed = true;
        return b->symtab ? symtab_find(b->symtab, vaddr) : NULL;
}

size_t resolve_address(struct sym_binary *b, uint64_t vaddr, struct sym_line *lines) {
        size_t n = resolve_dwarf(b, vaddr, lines);
        if (n > 0) {
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
        source_line(b, vaddr, &file, &line);
        if (!sym && !file)
                return 0;
        lines[0] = (struct sym_line){ .file = file, .line = line };
        if (sym)
                set_names(b, &lines[0], sym, NULL);
        return 1;
}
