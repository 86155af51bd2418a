/* One ELF binary in the helper: its identity at OPEN, its debug file and Dwfl at ATTACH,
 * lookups by file offset. */
#include "binary.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curanges.h"
#include "elfcheck.h"
#include "funcindex.h"
#include "intern.h"
#include "symtab.h"

/* Size of a file the helper will map, or -EFBIG with the reason in problem. */
static int file_size(int fd, uint64_t *ret, const char *what, char *problem, size_t size) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > ELFCHECK_MAX_FILE) {
                snprintf(problem, size, "%s is %llu bytes, more than the %llu read", what,
                         (unsigned long long) st.st_size,
                         (unsigned long long) ELFCHECK_MAX_FILE);
                return -EFBIG;
        }
        *ret = (uint64_t) st.st_size;
        return 0;
}

int binary_open(uint64_t id, int fd, struct sym_binary **ret, char *problem, size_t size) {
        struct sym_binary *b = NULL;
        Elf *elf = NULL;
        uint64_t bytes = 0;
        int r = file_size(fd, &bytes, "the file", problem, size);
        if (r < 0)
                goto fail;
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf || elf_kind(elf) != ELF_K_ELF) {
                r = -ENOEXEC;
                goto fail;
        }
        r = elfcheck_inflated(elf, problem, size);
        if (r < 0)
                goto fail;
        b = calloc(1, sizeof(*b));
        if (!b) {
                r = -ENOMEM;
                goto fail;
        }
        b->id = id;
        b->fd = fd;
        b->debug_fd = -1;
        b->alt_fd = -1;
        b->bytes = bytes;
        b->build_id_len = elfcheck_build_id(elf, b->build_id, sizeof(b->build_id));
        elfcheck_debuglink(elf, b->debuglink, sizeof(b->debuglink), &b->crc);
        b->needs_debug = !elfcheck_has_dwarf(elf);
        elf_end(elf);
        *ret = b;
        return 0;
fail:
        if (elf)
                elf_end(elf);
        close(fd);
        return r;
}

/* libdwfl asks for the debug file by the main file's .gnu_debuglink, and later for a
 * dwz alternate file by the name in .gnu_debugaltlink: each gets the file chosen for it. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                          Dwarf_Addr base, const char *file_name, const char *debuglink,
                          GElf_Word crc, char **ret_name) {
        const struct sym_binary *b = *userdata;
        *ret_name = NULL;
        if (!b)
                return -1;
        if (debuglink && strcmp(debuglink, b->debuglink) != 0)
                return b->alt_fd >= 0 && strcmp(debuglink, b->altname) == 0
                               ? fcntl(b->alt_fd, F_DUPFD_CLOEXEC, 0)
                               : -1;
        return b->debug_fd >= 0 ? fcntl(b->debug_fd, F_DUPFD_CLOEXEC, 0) : -1;
}

/* libdwfl never looks for files itself: the binary is reported by fd. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname,
                       Dwarf_Addr base, char **file_name, Elf **elfp) {
        return -1;
}

static const Dwfl_Callbacks callbacks = {
        .find_elf = find_no_elf,
        .find_debuginfo = find_debuginfo,
        .section_address = dwfl_offline_section_address,
};

static int read_loads(struct sym_binary *b) {
        GElf_Addr bias;
        Elf *elf = dwfl_module_getelf(b->mod, &bias);
        size_t n;
        if (!elf || elf_getphdrnum(elf, &n) < 0)
                return -ENOEXEC;
        for (size_t i = 0; i < n && b->nloads < BINARY_MAX_LOADS; i++) {
                GElf_Phdr ph;
                if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
                        continue;
                b->loads[b->nloads++] = (struct binary_load){
                        .offset = ph.p_offset,
                        .filesz = ph.p_filesz,
                        .vaddr = ph.p_vaddr + bias,
                };
        }
        return 0;
}

/* The first candidate that matches; a match whose sections are a bomb is refused. */
static int choose_debug(struct sym_binary *b, const int *fds, size_t nfds, int *ret_chosen,
                        uint32_t *ret_rejected, char *problem, size_t size) {
        *ret_chosen = -1;
        *ret_rejected = 0;
        for (size_t i = 0; i < nfds; i++) {
                if (!elfcheck_matches(fds[i], b->build_id, b->build_id_len, b->crc)) {
                        *ret_rejected |= 1u << i;
                        continue;
                }
                uint64_t bytes;
                int r = file_size(fds[i], &bytes, "the debug file", problem, size);
                if (r < 0)
                        return r;
                Elf *elf = elf_begin(fds[i], ELF_C_READ_MMAP, NULL);
                if (!elf)
                        return -ENOEXEC;
                r = elfcheck_inflated(elf, problem, size);
                elf_end(elf);
                if (r < 0)
                        return r;
                b->debug_fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
                if (b->debug_fd < 0)
                        return -errno;
                b->bytes += bytes;
                *ret_chosen = (int) i;
                return 0;
        }
        return 0;
}

/* The altlink of the file whose DWARF will be read: the debug file, else the binary. */
static void find_altlink(struct sym_binary *b) {
        int fd = b->debug_fd >= 0 ? b->debug_fd : b->fd;
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return;
        b->needs_alt = elfcheck_altlink(elf, b->altname, sizeof(b->altname), b->alt_id,
                                        &b->alt_id_len);
        elf_end(elf);
}

static int load(struct sym_binary *b) {
        if (funcindex_new(&b->funcs) < 0)
                return -ENOMEM;
        b->dwfl = dwfl_begin(&callbacks);
        if (!b->dwfl)
                return -ENOMEM;
        /* At its own link addresses (bias 0), so an ELF virtual address is a Dwfl
         * address.  The Dwfl owns the fd from here on, also on failure. */
        int fd = b->fd;
        b->fd = -1;
        b->mod = dwfl_report_elf(b->dwfl, "binary", "binary", fd, 0, true);
        if (!b->mod) {
                close(fd);
                return -ENOEXEC;
        }
        dwfl_report_end(b->dwfl, NULL, NULL);
        int r = read_loads(b);
        if (r < 0)
                return r;

        void **userdata;
        dwfl_module_info(b->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
        *userdata = b;
        Dwarf_Addr dwbias;
        Dwarf *dw = dwfl_module_getdwarf(b->mod, &dwbias);
        int nsyms = dwfl_module_getsymtab(b->mod);
        b->has_functions = dw || nsyms > 0;
        b->has_filenames = b->has_line_numbers = b->has_inline_frames = dw != NULL;
        return 0;
}

int binary_attach(struct sym_binary *b, const int *fds, size_t nfds, int *ret_chosen,
                  uint32_t *ret_rejected, char *problem, size_t size) {
        int chosen;
        uint32_t rejected;
        if (b->dwfl || b->fd < 0 || b->debug_fd >= 0 || b->needs_alt)
                return -EINVAL;
        int r = choose_debug(b, fds, nfds, &chosen, &rejected, problem, size);
        if (r < 0)
                return r;
        find_altlink(b);
        if (!b->needs_alt && (r = load(b)) < 0)
                return r;
        *ret_chosen = chosen;
        *ret_rejected = rejected;
        return 0;
}

int binary_attach_alt(struct sym_binary *b, const int *fds, size_t nfds, int *ret_chosen,
                      uint32_t *ret_rejected) {
        int chosen = -1;
        uint32_t rejected = 0;
        if (!b->needs_alt || b->dwfl || b->fd < 0)
                return -EINVAL;
        for (size_t i = 0; i < nfds && chosen < 0; i++) {
                struct stat st;
                if (fstat(fds[i], &st) < 0 || !elfcheck_matches(fds[i], b->alt_id,
                                                                b->alt_id_len, 0)) {
                        rejected |= 1u << i;
                        continue;
                }
                char problem[PROTO_MAX_PROBLEM];
                Elf *elf = elf_begin(fds[i], ELF_C_READ_MMAP, NULL);
                bool bomb = !elf || elfcheck_inflated(elf, problem, sizeof(problem)) < 0;
                elf_end(elf);
                if (bomb) {
                        rejected |= 1u << i;
                        continue;
                }
                b->alt_fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
                if (b->alt_fd < 0)
                        return -errno;
                b->bytes += (uint64_t) st.st_size;
                chosen = (int) i;
        }
        b->needs_alt = false;
        int r = load(b);
        if (r < 0)
                return r;
        *ret_chosen = chosen;
        *ret_rejected = rejected;
        return 0;
}

void binary_free(struct sym_binary *b) {
        if (!b)
                return;
        if (b->dwfl)
                dwfl_end(b->dwfl);
        if (b->fd >= 0)
                close(b->fd);
        if (b->debug_fd >= 0)
                close(b->debug_fd);
        if (b->alt_fd >= 0)
                close(b->alt_fd);
        symtab_free(b->symtab);
        curanges_free(b->units);
        funcindex_free(b->funcs);
        intern_free(b->strings);
        free(b);
}

static bool vaddr_of(const struct sym_binary *b, uint64_t off, uint64_t *ret) {
        for (size_t i = 0; i < b->nloads; i++) {
                const struct binary_load *l = &b->loads[i];
                if (off >= l->offset && off - l->offset < l->filesz) {
                        *ret = l->vaddr + (off - l->offset);
                        return true;
                }
        }
        return false;
}

size_t binary_lookup(struct sym_binary *b, uint64_t off, struct sym_line *lines) {
        uint64_t vaddr;
        if (!b->mod || !b->strings || !vaddr_of(b, off, &vaddr))
                return 0;
        return resolve_address(b, vaddr, lines);
}
