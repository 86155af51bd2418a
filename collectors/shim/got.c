/* Pointing the malloc family's GOT entries of every loaded object at the shim, for a
 * shim that `memprof attach` loaded into a running process (see attach.c). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

extern const ElfW(Ehdr) __ehdr_start; /* this library's own load address */

void *mp_dlopen_hook(const char *file, int mode);

struct target {
        const char *name;
        void *shim;
        void *real; /* what the process resolves the name to: only that is redirected */
};

/* Filled once by mp_got_patch's first call; read under patch_lock only. */
static struct target targets[] = {
    {"malloc", (void *)mp_malloc, NULL},
    {"free", (void *)mp_free, NULL},
    {"calloc", (void *)mp_calloc, NULL},
    {"realloc", (void *)mp_realloc, NULL},
    {"reallocarray", (void *)mp_reallocarray, NULL},
    {"posix_memalign", (void *)mp_posix_memalign, NULL},
    {"aligned_alloc", (void *)mp_aligned_alloc, NULL},
    {"memalign", (void *)mp_memalign, NULL},
    {"valloc", (void *)mp_valloc, NULL},
    {"pvalloc", (void *)mp_pvalloc, NULL},
    {"malloc_usable_size", (void *)mp_malloc_usable_size, NULL},
    {"pthread_create", (void *)mp_pthread_create, NULL},
    {"dlopen", (void *)mp_dlopen_hook, NULL},
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static bool targets_ok;

/* dlopen's own entry, for the hook; written once before any GOT points at the hook. */
void *(*mp_real_dlopen)(const char *, int)MP_HIDDEN;

/*
 * Pages that are mapped without write permission, from /proc/self/maps, read without
 * allocating (the allocator may be the one being patched).  A RELRO page is patched
 * only once the loader has made it read-only: that is the last thing the loader does to
 * an object's relocations, so an object another thread is loading right now is left
 * alone (patching it then would be undone, or would make its RELRO read-only before
 * the loader wrote it).
 */
#define RO_MAX 4096
static struct ro_range {
        uintptr_t lo, hi;
        int prot;
} ro[RO_MAX];
static size_t nro;

static uintptr_t parse_hex(const char **s)
{
        uintptr_t v = 0;
        for (;; (*s)++) {
                char c = **s;
                if (c >= '0' && c <= '9')
                        v = v * 16 + (uintptr_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v = v * 16 + (uintptr_t)(c - 'a' + 10);
                else
                        return v;
        }
}

static void ro_line(const char *l)
{
        uintptr_t lo = parse_hex(&l);
        if (*l++ != '-')
                return;
        uintptr_t hi = parse_hex(&l);
        if (*l++ != ' ' || l[0] != 'r' || l[1] != '-' || nro >= RO_MAX)
                return;
        ro[nro++] = (struct ro_range){lo, hi, PROT_READ | (l[2] == 'x' ? PROT_EXEC : 0)};
}

static int ro_read(void)
{
        char buf[4096], line[256];
        size_t len = 0;
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        nro = 0;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n') {
                                if (len < sizeof(line) - 1)
                                        line[len++] = buf[i];
                                continue;
                        }
                        line[len] = '\0';
                        ro_line(line);
                        len = 0;
                }
        }
        close(fd);
        return 0;
}

static const struct ro_range *ro_find(uintptr_t page)
{
        for (size_t i = 0; i < nro; i++)
                if (page >= ro[i].lo && page < ro[i].hi)
                        return &ro[i];
        return NULL;
}

struct object {
        uintptr_t base, lo, hi;       /* load bias; extent of its PT_LOAD segments */
        uintptr_t relro_lo, relro_hi; /* the pages the loader makes read-only */
        const ElfW(Sym) * symtab;
        const char *strtab;
        size_t strsz;
        unsigned patched, skipped;
};

static const struct target *target_for(const char *name)
{
        for (size_t i = 0; i < NTARGETS; i++)
                if (targets[i].real && strcmp(targets[i].name, name) == 0)
                        return &targets[i];
        return NULL;
}

/* One GOT entry: redirected if it holds the allocator's function (or, not yet bound by
 * lazy binding, a PLT stub of its own object).  An atomic store: a thread calling
 * through it at this moment gets either function, and both are right. */
static void patch_slot(struct object *o, void **slot, const struct target *t)
{
        void *v = __atomic_load_n(slot, __ATOMIC_RELAXED);
        if (v == t->shim)
                return;
        if (v != t->real && !((uintptr_t)v >= o->lo && (uintptr_t)v < o->hi)) {
                o->skipped++; /* someone else's interposer: left as it is */
                return;
        }
        uintptr_t page = (uintptr_t)slot & ~(uintptr_t)(mp.page_size - 1);
        if (page >= o->relro_lo && page < o->relro_hi) {
                const struct ro_range *r = ro_find(page);
                if (!r) {
                        o->skipped++; /* RELRO not applied yet: still being loaded */
                        return;
                }
                if (mprotect((void *)page, mp.page_size, PROT_READ | PROT_WRITE) < 0) {
                        o->skipped++;
                        return;
                }
                __atomic_store_n(slot, t->shim, __ATOMIC_RELEASE);
                (void)mprotect((void *)page, mp.page_size, r->prot);
        } else {
                __atomic_store_n(slot, t->shim, __ATOMIC_RELEASE);
        }
        o->patched++;
}

static uintptr_t dyn_ptr(const struct object *o, uintptr_t v)
{
        /* the loader rebases these in place on x86-64; an untouched one is an offset */
        return o->base && v < o->base ? v + o->base : v;
}

static void patch_relocs(struct object *o, const ElfW(Rela) * r, size_t size)
{
        for (size_t i = 0; i < size / sizeof(*r); i++) {
                unsigned type = ELF64_R_TYPE(r[i].r_info);
                if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                        continue;
                const ElfW(Sym) *s = &o->symtab[ELF64_R_SYM(r[i].r_info)];
                if (s->st_name >= o->strsz)
                        continue;
                const struct target *t = target_for(o->strtab + s->st_name);
                if (t)
                        patch_slot(o, (void **)(o->base + r[i].r_offset), t);
        }
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *data)
{
        unsigned *total = data;
        if (info->dlpi_addr == (uintptr_t)&__ehdr_start)
                return 0; /* this library: its calls must reach the allocator */
        struct object o = {.base = info->dlpi_addr, .lo = UINTPTR_MAX};
        const ElfW(Dyn) *dyn = NULL;
        uintptr_t pagemask = ~(uintptr_t)(mp.page_size - 1);
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                uintptr_t a = info->dlpi_addr + ph->p_vaddr;
                if (ph->p_type == PT_LOAD) {
                        if (a < o.lo)
                                o.lo = a;
                        if (a + ph->p_memsz > o.hi)
                                o.hi = a + ph->p_memsz;
                } else if (ph->p_type == PT_DYNAMIC) {
                        dyn = (const ElfW(Dyn) *)a;
                } else if (ph->p_type == PT_GNU_RELRO) {
                        o.relro_lo = a & pagemask;
                        o.relro_hi = (a + ph->p_memsz) & pagemask;
                }
        }
        if (!dyn)
                return 0;
        uintptr_t rela = 0, jmprel = 0;
        size_t relasz = 0, pltrelsz = 0;
        long pltrel = DT_RELA;
        for (; dyn->d_tag != DT_NULL; dyn++) {
                switch (dyn->d_tag) {
                case DT_SYMTAB:
                        o.symtab = (const ElfW(Sym) *)dyn_ptr(&o, dyn->d_un.d_ptr);
                        break;
                case DT_STRTAB:
                        o.strtab = (const char *)dyn_ptr(&o, dyn->d_un.d_ptr);
                        break;
                case DT_STRSZ:
                        o.strsz = dyn->d_un.d_val;
                        break;
                case DT_RELA:
                        rela = dyn_ptr(&o, dyn->d_un.d_ptr);
                        break;
                case DT_RELASZ:
                        relasz = dyn->d_un.d_val;
                        break;
                case DT_JMPREL:
                        jmprel = dyn_ptr(&o, dyn->d_un.d_ptr);
                        break;
                case DT_PLTRELSZ:
                        pltrelsz = dyn->d_un.d_val;
                        break;
                case DT_PLTREL:
                        pltrel = (long)dyn->d_un.d_val;
                        break;
                }
        }
        if (!o.symtab || !o.strtab)
                return 0;
        if (rela)
                patch_relocs(&o, (const ElfW(Rela) *)rela, relasz);
        if (jmprel && pltrel == DT_RELA)
                patch_relocs(&o, (const ElfW(Rela) *)jmprel, pltrelsz);
        *total += o.patched;
        return 0;
}

static void targets_resolve(void)
{
        for (size_t i = 0; i < NTARGETS; i++)
                targets[i].real = dlsym(RTLD_DEFAULT, targets[i].name);
        for (size_t i = 0; i < NTARGETS; i++)
                if (targets[i].shim == (void *)mp_dlopen_hook)
                        __atomic_store_n(&mp_real_dlopen, targets[i].real, __ATOMIC_RELEASE);
        targets_ok = true;
}

int mp_got_patch(unsigned *ret_patched)
{
        unsigned total = 0;
        int saved = errno;
        pthread_mutex_lock(&patch_lock);
        if (!targets_ok)
                targets_resolve();
        int r = ro_read();
        if (r == 0)
                dl_iterate_phdr(patch_object, &total);
        pthread_mutex_unlock(&patch_lock);
        errno = saved;
        if (r < 0)
                return r;
        if (ret_patched)
                *ret_patched = total;
        return 0;
}

/*
 * dlopen, redirected: the objects it loads are patched before it returns.  dlopen
 * searches a bare name in the caller's own RUNPATH and RPATH, and this wrapper would
 * be the caller (and its namespace the namespace): so a bare name opened by an object
 * that has either, and any name opened from another namespace, go straight to dlopen
 * with the caller's return address kept (a tail jump); what they load stays unpatched
 * until the next redirected dlopen (its allocations are plain ones, which is safe).
 */
MP_HIDDEN int mp_dlopen_keeps_caller(const char *file, const void *caller);
MP_HIDDEN void *mp_dlopen_patching(const char *file, int mode);

__asm__(".text\n"
        ".globl mp_dlopen_hook\n"
        ".hidden mp_dlopen_hook\n"
        ".type mp_dlopen_hook, @function\n"
        "mp_dlopen_hook:\n"
        "        push %rdi\n"
        "        push %rsi\n"
        "        sub $8, %rsp\n"
        "        mov 24(%rsp), %rsi\n" /* the return address: dlopen's caller */
        "        call mp_dlopen_keeps_caller\n"
        "        add $8, %rsp\n"
        "        pop %rsi\n"
        "        pop %rdi\n"
        "        test %eax, %eax\n"
        "        jz mp_dlopen_patching\n"
        "        jmp *mp_real_dlopen(%rip)\n"
        ".size mp_dlopen_hook, .-mp_dlopen_hook\n");

static bool has_search_path(const struct link_map *lm)
{
        for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++)
                if (d->d_tag == DT_RUNPATH || d->d_tag == DT_RPATH)
                        return true;
        return false;
}

int mp_dlopen_keeps_caller(const char *file, const void *caller)
{
        Dl_info info;
        struct link_map *lm = NULL;
        Lmid_t ns = LM_ID_BASE;
        int saved = errno, r = 0;
        if (dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm)
                r = (dlinfo(lm, RTLD_DI_LMID, &ns) == 0 && ns != LM_ID_BASE) ||
                    (file && !strchr(file, '/') && has_search_path(lm));
        errno = saved;
        return r;
}

void *mp_dlopen_patching(const char *file, int mode)
{
        void *h = mp_real_dlopen(file, mode);
        if (h) {
                int saved = errno;
                (void)mp_got_patch(NULL);
                errno = saved;
        }
        return h;
}
