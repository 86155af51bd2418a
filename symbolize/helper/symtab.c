/* A binary's function symbols sorted by address, searched by bisection. */
#include "symtab.h"

#include <errno.h>
#include <gelf.h>
#include <stdlib.h>

struct sym {
        uint64_t addr, size;
        const char *name;
        int rank; /* which of several names at one address to show */
};

struct symtab {
        struct sym *syms;
        size_t n;
};

static int rank_of(const GElf_Sym *s) {
        int bind = GELF_ST_BIND(s->st_info);
        int r = bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : 1;
        return r * 2 + (s->st_size > 0);
}

static int cmp_sym(const void *a, const void *b) {
        const struct sym *x = a, *y = b;
        if (x->addr != y->addr)
                return x->addr < y->addr ? -1 : 1;
        /* Best name first, so that deduplication keeps it. */
        return y->rank - x->rank;
}

int symtab_load(Dwfl_Module *mod, struct symtab **ret) {
        struct symtab *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        int n = dwfl_module_getsymtab(mod);
        if (n > 0) {
                t->syms = malloc((size_t) n * sizeof(*t->syms));
                if (!t->syms) {
                        free(t);
                        return -ENOMEM;
                }
        }
        for (int i = 1; i < n; i++) {
                GElf_Sym s;
                GElf_Addr addr;
                GElf_Word shndx;
                const char *name = dwfl_module_getsym_info(mod, i, &s, &addr, &shndx, NULL, NULL);
                if (!name || !*name || s.st_shndx == SHN_UNDEF || addr == 0)
                        continue;
                int type = GELF_ST_TYPE(s.st_info);
                /* Hand-written assembly often leaves its symbols untyped. */
                if (type != STT_FUNC && type != STT_GNU_IFUNC &&
                    !(type == STT_NOTYPE && s.st_size > 0))
                        continue;
                t->syms[t->n++] = (struct sym){ .addr = addr, .size = s.st_size, .name = name,
                                                .rank = rank_of(&s) };
        }
        if (t->n > 0) {
                qsort(t->syms, t->n, sizeof(*t->syms), cmp_sym);
                size_t k = 0;
                for (size_t i = 0; i < t->n; i++)
                        if (k == 0 || t->syms[k - 1].addr != t->syms[i].addr)
                                t->syms[k++] = t->syms[i];
                t->n = k;
        }
        *ret = t;
        return 0;
}

void symtab_free(struct symtab *t) {
        if (!t)
                return;
        free(t->syms);
        free(t);
}

const char *symtab_find(const struct symtab *t, uint64_t vaddr) {
        size_t lo = 0, hi = t->n;
        while (lo < hi) { /* first symbol above vaddr */
                size_t mid = lo + (hi - lo) / 2;
                if (t->syms[mid].addr <= vaddr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0)
                return NULL;
        const struct sym *s = &t->syms[lo - 1];
        /* An unsized symbol is taken to reach up to the next one. */
        if (s->size > 0 && vaddr - s->addr >= s->size)
                return NULL;
        return s->name;
}
