/* A Go executable recognised, its version and runtime layout read once and cached by
 * the file's identity; a process opened against that cache with its load bias. */
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gobinary.h"
#include "procmaps.h"

#define CACHE_SLOTS 64 /* binaries, Go or not: a listing asks about each process */
#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_HEADER 32
#define BUILDID_MAX 64

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct go_binary *cache[CACHE_SLOTS];
static uint64_t cache_tick;

static struct go_binary *cache_insert(struct go_binary *b);

static bool same_file(const struct go_binary *b, const struct stat *st)
{
        struct file_id id;

        fileid_of(st, &id);
        return fileid_equal(&b->id, &id);
}

static Elf_Scn *section(Elf *elf, const char *name, GElf_Shdr *ret)
{
        size_t shstrndx;
        Elf_Scn *scn = NULL;

        if (elf_getshdrstrndx(elf, &shstrndx) != 0)
                return NULL;
        while ((scn = elf_nextscn(elf, scn))) {
                const char *n;

                if (!gelf_getshdr(scn, ret))
                        continue;
                n = elf_strptr(elf, shstrndx, ret->sh_name);
                if (n && strcmp(n, name) == 0)
                        return scn;
        }
        return NULL;
}

/* Go 1.18+ keeps the version inline in .go.buildinfo: a 32-byte header whose flags
 * byte (offset 15) has bit 1 set, then a varint length and the string. */
static bool version_from_buildinfo(Elf *elf, char *buf, size_t len)
{
        GElf_Shdr sh;
        Elf_Scn *scn = section(elf, ".go.buildinfo", &sh);
        Elf_Data *d;
        const uint8_t *p;
        uint64_t n = 0;
        size_t i = BUILDINFO_HEADER;

        if (!scn || sh.sh_type == SHT_NOBITS || !(d = elf_getdata(scn, NULL)) || !d->d_buf ||
            d->d_size < BUILDINFO_HEADER + 1)
                return false;
        p = d->d_buf;
        if (memcmp(p, BUILDINFO_MAGIC, strlen(BUILDINFO_MAGIC)) != 0 || !(p[15] & 2))
                return true; /* Go, but an older layout: the version is read from memory */
        for (int shift = 0; i < d->d_size && shift < 64; shift += 7) {
                n |= (uint64_t)(p[i] & 0x7f) << shift;
                if (!(p[i++] & 0x80))
                        break;
        }
        if (n == 0 || n >= len || n > d->d_size - i)
                return true;
        memcpy(buf, p + i, n);
        buf[n] = '\0';
        return true;
}

static bool has_symbol(Elf *elf, const char *want)
{
        Elf_Scn *scn = NULL;
        GElf_Shdr sh;

        while ((scn = elf_nextscn(elf, scn))) {
                Elf_Data *d;
                GElf_Sym sym;

                if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0)
                        continue;
                if (!(d = elf_getdata(scn, NULL)))
                        continue;
                for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
                        const char *n;

                        if (!gelf_getsym(d, (int)i, &sym))
                                break;
                        n = elf_strptr(elf, sh.sh_link, sym.st_name);
                        if (n && strcmp(n, want) == 0)
                                return true;
                }
        }
        return false;
}

/* The GNU build id, hex, for finding a separate debug file. */
static bool gnu_build_id(Elf *elf, char *hex, size_t len)
{
        Elf_Scn *scn = NULL;
        GElf_Shdr sh;

        while ((scn = elf_nextscn(elf, scn))) {
                Elf_Data *d;
                GElf_Nhdr nh;
                size_t off = 0, name_off, desc_off;

                if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
                        continue;
                if (!(d = elf_getdata(scn, NULL)))
                        continue;
                while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
                        const uint8_t *desc = (const uint8_t *)d->d_buf + desc_off;

                        if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
                            memcmp((const char *)d->d_buf + name_off, "GNU", 4) != 0)
                                continue;
                        if (nh.n_descsz < 2 || nh.n_descsz > BUILDID_MAX ||
                            nh.n_descsz * 2 + 1 > len)
                                return false;
                        for (size_t i = 0; i < nh.n_descsz; i++)
                                snprintf(hex + 2 * i, 3, "%02x", desc[i]);
                        return true;
                }
        }
        return false;
}

/* /usr/lib/debug/.build-id/xx/rest.debug, the Debian place for separate debug info. */
static int open_debug_file(Elf *elf, int *ret_fd, Elf **ret_elf)
{
        char hex[2 * BUILDID_MAX + 1], path[PATH_MAX];
        struct stat st;
        int fd;

        if (!gnu_build_id(elf, hex, sizeof(hex)))
                return -ENOENT;
        snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -ENOENT;
        }
        *ret_elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!*ret_elf) {
                close(fd);
                return -ENOEXEC;
        }
        *ret_fd = fd;
        return 0;
}

static void load_layout(struct go_binary *b, Elf *elf)
{
        Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
        Elf *dbg_elf = NULL;
        int dbg_fd = -1;

        if (!dw && open_debug_file(elf, &dbg_fd, &dbg_elf) == 0)
                dw = dwarf_begin_elf(dbg_elf, DWARF_C_READ, NULL);
        if (!dw) {
                b->why = "stripped Go binary: no DWARF (built with -ldflags=-w or -s?) and no "
                         "debug file in /usr/lib/debug by build id, so the runtime's layout "
                         "is unknown";
        } else if (go_layout_from_dwarf(dw, &b->layout) < 0) {
                b->why = "this Go runtime's layout was not recognised (no runtime.memstats in "
                         "its DWARF)";
        } else {
                b->layout_ok = true;
        }
        if (dw)
                dwarf_end(dw);
        if (dbg_elf)
                elf_end(dbg_elf);
        if (dbg_fd >= 0)
                close(dbg_fd);
}

static bool first_load(Elf *elf, uint64_t *ret_vaddr)
{
        size_t n;

        if (elf_getphdrnum(elf, &n) != 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                GElf_Phdr ph;

                if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
                        *ret_vaddr = ph.p_vaddr - ph.p_offset;
                        return true;
                }
        }
        return false;
}

/* The executable's code, link-time addresses: a return address outside it ends a stack
 * walk (a Go executable's code is all in one segment). */
static void text_range(Elf *elf, struct go_g_layout *g)
{
        size_t n;

        if (elf_getphdrnum(elf, &n) != 0)
                return;
        for (size_t i = 0; i < n; i++) {
                GElf_Phdr ph;

                if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
                        g->text_lo = ph.p_vaddr;
                        g->text_hi = ph.p_vaddr + ph.p_memsz;
                        return;
                }
        }
}

/* Reads what the collector needs of the executable at fd (only is_go if it is not Go). */
static int binary_load(int fd, const struct stat *st, struct go_binary **ret)
{
        struct go_binary *b;
        GElf_Ehdr eh;
        GElf_Shdr sh;
        Elf *elf;
        bool is_go;

        elf_version(EV_CURRENT);
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return -ENOEXEC;
        b = calloc(1, sizeof(*b));
        if (!b) {
                elf_end(elf);
                return -ENOMEM;
        }
        /* the symbol table is searched only where Go's own sections say it is worth it:
         * a large C++ binary's is not read for every directory listing */
        is_go = gelf_getehdr(elf, &eh) && eh.e_machine == EM_X86_64 &&
                (version_from_buildinfo(elf, b->version, sizeof(b->version)) ||
                 ((section(elf, ".gopclntab", &sh) || section(elf, ".note.go.buildid", &sh)) &&
                  has_symbol(elf, "runtime.buildVersion")));
        fileid_of(st, &b->id);
        b->refs = 1;
        b->is_go = is_go;
        if (!is_go) { /* cached too, so that a listing asks once per binary */
                elf_end(elf);
                *ret = b;
                return 0;
        }
        b->is_dyn = eh.e_type == ET_DYN;
        if (!first_load(elf, &b->load_vaddr))
                b->why = "the executable has no loadable segment";
        else
                load_layout(b, elf);
        if (b->layout_ok)
                text_range(elf, &b->layout.g);
        elf_end(elf);
        *ret = b;
        return 0;
}

static void binary_unref_locked(struct go_binary *b)
{
        if (b && --b->refs == 0) {
                go_layout_release(&b->layout);
                free(b);
        }
}

void go_binary_unref(const struct go_binary *cb)
{
        pthread_mutex_lock(&cache_lock);
        binary_unref_locked((struct go_binary *)cb);
        pthread_mutex_unlock(&cache_lock);
}

/* The cached binary for st (a reference taken), loading it from fd on a miss. */
int go_binary_get(int fd, const struct stat *st, const struct go_binary **ret)
{
        struct go_binary *b = NULL;
        int r;

        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++) {
                if (cache[i] && same_file(cache[i], st)) {
                        b = cache[i];
                        b->refs++;
                        b->used = ++cache_tick;
                        break;
                }
        }
        pthread_mutex_unlock(&cache_lock);
        if (!b) {
                r = binary_load(fd, st, &b);
                if (r < 0)
                        return r;
                b = cache_insert(b);
        }
        if (!b->is_go) {
                go_binary_unref(b);
                return -ENOEXEC;
        }
        *ret = b;
        return 0;
}

/* Adds b, evicting the least recently used; returns it with the caller's reference. */
static struct go_binary *cache_insert(struct go_binary *b)
{
        int victim = 0;

        pthread_mutex_lock(&cache_lock);
        for (int i = 1; i < CACHE_SLOTS && cache[victim]; i++)
                if (!cache[i] || cache[i]->used < cache[victim]->used)
                        victim = i;
        binary_unref_locked(cache[victim]);
        cache[victim] = b;
        b->refs++; /* the cache's and the caller's */
        b->used = ++cache_tick;
        pthread_mutex_unlock(&cache_lock);
        return b;
}

unsigned go_binary_cache_size(void)
{
        unsigned n = 0;

        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++)
                n += cache[i] != NULL;
        pthread_mutex_unlock(&cache_lock);
        return n;
}

struct bias_search {
        const struct stat *st;
        const struct go_binary *b;
        uint64_t bias;
        bool found;
};

static int find_exe_mapping(const struct maps_entry *e, void *userdata)
{
        struct bias_search *s = userdata;

        if (s->found || e->inode != s->st->st_ino || e->dev_major != major(s->st->st_dev) ||
            e->dev_minor != minor(s->st->st_dev) || e->offset != 0)
                return 0;
        s->bias = e->start - s->b->load_vaddr;
        s->found = true;
        return 0;
}

/* Where the executable's link-time addresses are in pid: 0 unless it is PIE. */
int go_binary_bias(const struct go_binary *b, pid_t pid, const struct stat *st, uint64_t *ret)
{
        struct bias_search s = {.st = st, .b = b};
        int r;

        if (!b->is_dyn) {
                *ret = 0;
                return 0;
        }
        r = maps_read(pid, find_exe_mapping, &s);
        if (r < 0)
                return r;
        if (!s.found)
                return -ENOENT;
        *ret = s.bias;
        return 0;
}
