/* One ELF binary's symbol data: identity, a Dwfl of the file alone, memoized lookups. */
#include "binary.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>

#include "curanges.h"
#include "funcindex.h"
#include "intern.h"
#include "memo.h"
#include "symtab.h"

/* Build ids are 20 bytes (sha1) in practice; anything past this is not one. */
#define BUILD_ID_MAX 64

static char *hex_of(const unsigned char *p, size_t n) {
        static const char digits[] = "0123456789abcdef";
        char *s = malloc(n * 2 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                s[2 * i] = digits[p[i] >> 4];
                s[2 * i + 1] = digits[p[i] & 15];
        }
        s[2 * n] = '\0';
        return s;
}

int binary_identify(int fd, char **ret_key, char **ret_build_id) {
        char *key = NULL, *build_id = NULL;
        int r;

        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return -ENOEXEC;
        if (elf_kind(elf) != ELF_K_ELF) {
                r = -ENOEXEC;
                goto out;
        }

        const void *id;
        ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
        if (n > 0 && n <= BUILD_ID_MAX) {
                build_id = hex_of(id, n);
                if (!build_id || asprintf(&key, "b%s", build_id) < 0) {
                        key = NULL;
                        r = -ENOMEM;
                        goto out;
                }
        } else {
                /* No build id: the file itself, as long as it is not modified. */
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        goto out;
                }
                if (asprintf(&key, "f%llx:%llx:%llx:%lld.%09ld", (unsigned long long) st.st_dev,
                             (unsigned long long) st.st_ino, (unsigned long long) st.st_size,
                             (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0) {
                        key = NULL;
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret_key = key;
        *ret_build_id = build_id;
        key = build_id = NULL;
        r = 0;
out:
        free(key);
        free(build_id);
        elf_end(elf);
        return r;
}

/* Separate debug info is searched for where the standard search looks for the opened
 * file, then as the process sees it (its own root: containers), then as the host sees
 * the same path.  libdwfl checks build id or CRC of every candidate, so a wrong guess
 * is rejected, not used. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                          Dwarf_Addr base, const char *file_name, const char *debuglink,
                          GElf_Word crc, char **ret_name) {
        const struct binary_origin *o = *userdata;
        int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                              debuglink, crc, ret_name);
        if (fd >= 0 || !o || !o->maps_path || o->maps_path[0] != '/')
                return fd;

        char *rooted = NULL;
        if (o->root && asprintf(&rooted, "%s%s", o->root, o->maps_path) >= 0) {
                fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, rooted,
                                                  debuglink, crc, ret_name);
                free(rooted);
                if (fd >= 0)
                        return fd;
        }
        return dwfl_standard_find_debuginfo(mod, userdata, modname, base, o->maps_path,
                                            debuglink, crc, ret_name);
}

static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf, /* unused: the file is reported by fd */
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

int binary_new(int fd, const char *key, const char *build_id,
               const struct binary_origin *origin, struct sym_binary **ret) {
        struct sym_binary *b = calloc(1, sizeof(*b));
        int r = -ENOMEM;
        if (!b)
                goto fail_fd;
        pthread_mutex_init(&b->lock, NULL);
        b->key = strdup(key);
        if (!b->key || intern_new(&b->strings) < 0 || memo_new(&b->memo) < 0 ||
            funcindex_new(&b->funcs) < 0)
                goto fail_fd;
        if (build_id && !(b->build_id = intern_str(b->strings, build_id)))
                goto fail_fd;

        b->dwfl = dwfl_begin(&callbacks);
        if (!b->dwfl)
                goto fail_fd;
        /* At its own link addresses (bias 0), so an ELF virtual address is a Dwfl
         * address; the process's load address is removed in binary_lookup. */
        b->mod = dwfl_report_elf(b->dwfl, origin->maps_path, origin->opened_path, fd, 0, true);
        if (!b->mod) {
                r = -ENOEXEC;
                goto fail_fd;
        }
        fd = -1; /* consumed */
        dwfl_report_end(b->dwfl, NULL, NULL);

        r = read_loads(b);
        if (r < 0)
                goto fail;

        /* Debug info is found now, while the process (and its root) still exists, and
         * so that the mapping's has_* flags are known before anything is looked up. */
        void **userdata;
        dwfl_module_info(b->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
        *userdata = (void *) origin;
        Dwarf_Addr dwbias;
        Dwarf *dw = dwfl_module_getdwarf(b->mod, &dwbias);
        int nsyms = dwfl_module_getsymtab(b->mod);
        *userdata = NULL;

        b->has_functions = dw || nsyms > 0;
        b->has_filenames = b->has_line_numbers = b->has_inline_frames = dw != NULL;
        *ret = b;
        return 0;

fail_fd:
        if (fd >= 0)
                close(fd);
fail:
        binary_free(b);
        return r;
}

void binary_free(struct sym_binary *b) {
        if (!b)
                return;
        if (b->dwfl)
                dwfl_end(b->dwfl);
        symtab_free(b->symtab);
        curanges_free(b->units);
        funcindex_free(b->funcs);
        memo_free(b->memo);
        intern_free(b->strings);
        pthread_mutex_destroy(&b->lock);
        free(b->key);
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
        size_t n = 0;
        if (!vaddr_of(b, off, &vaddr))
                return 0;

        pthread_mutex_lock(&b->lock);
        if (!memo_get(b->memo, vaddr, lines, &n)) {
                n = resolve_address(b, vaddr, lines);
                memo_put(b->memo, vaddr, lines, n);
        }
        pthread_mutex_unlock(&b->lock);
        return n;
}
