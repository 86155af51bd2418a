/* Reading a function's address from an ELF file's dynamic symbol table, and whether the
 * file is dynamically linked; every offset and size checked against the file. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject.h"

#define ELF_MAX_SIZE (256ull << 20)

struct file {
        const uint8_t *data;
        size_t size;
};

static int file_read(const char *path, struct file *ret)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int r = 0;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if ((uint64_t)st.st_size > ELF_MAX_SIZE) {
                r = -EFBIG;
                goto out;
        }
        uint8_t *buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        size_t got = 0;
        while (got < (size_t)st.st_size) {
                ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        *ret = (struct file){buf, got};
out:
        close(fd);
        return r;
}

static bool in_file(const struct file *f, uint64_t off, uint64_t len)
{
        return off <= f->size && len <= f->size - off;
}

static const Elf64_Ehdr *elf_header(const struct file *f)
{
        const Elf64_Ehdr *e = (const Elf64_Ehdr *)f->data;

        if (!in_file(f, 0, sizeof(*e)) || memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 ||
            e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_ident[EI_DATA] != ELFDATA2LSB)
                return NULL;
        return e;
}

int elf_has_interp(const char *path, bool *ret)
{
        struct file f;
        int r = file_read(path, &f);

        if (r < 0)
                return r;
        const Elf64_Ehdr *e = elf_header(&f);
        bool interp = false;
        r = -ENOEXEC;
        if (e && e->e_phentsize == sizeof(Elf64_Phdr) &&
            in_file(&f, e->e_phoff, (uint64_t)e->e_phnum * sizeof(Elf64_Phdr))) {
                const Elf64_Phdr *ph = (const Elf64_Phdr *)(f.data + e->e_phoff);
                for (unsigned i = 0; i < e->e_phnum; i++)
                        interp |= ph[i].p_type == PT_INTERP;
                r = 0;
        }
        free((void *)f.data);
        if (r == 0)
                *ret = interp;
        return r;
}

/* The section of the given type (the first), or NULL. */
static const Elf64_Shdr *section(const struct file *f, const Elf64_Ehdr *e, uint32_t type)
{
        if (e->e_shentsize != sizeof(Elf64_Shdr) ||
            !in_file(f, e->e_shoff, (uint64_t)e->e_shnum * sizeof(Elf64_Shdr)))
                return NULL;
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(f->data + e->e_shoff);
        for (unsigned i = 0; i < e->e_shnum; i++)
                if (sh[i].sh_type == type && in_file(f, sh[i].sh_offset, sh[i].sh_size))
                        return &sh[i];
        return NULL;
}

int elf_dynsym_find(const char *path, const char *name, uint64_t *ret_value)
{
        struct file f;
        int r = file_read(path, &f);

        if (r < 0)
                return r;
        const Elf64_Ehdr *e = elf_header(&f);
        const Elf64_Shdr *dynsym = e ? section(&f, e, SHT_DYNSYM) : NULL;
        const Elf64_Shdr *versym = e ? section(&f, e, SHT_GNU_versym) : NULL;
        const Elf64_Shdr *sh = dynsym ? (const Elf64_Shdr *)(f.data + e->e_shoff) : NULL;
        r = -ENOEXEC;
        if (!dynsym || dynsym->sh_link >= e->e_shnum || dynsym->sh_entsize != sizeof(Elf64_Sym))
                goto out;
        const Elf64_Shdr *strs = &sh[dynsym->sh_link];
        if (!in_file(&f, strs->sh_offset, strs->sh_size))
                goto out;
        const Elf64_Sym *syms = (const Elf64_Sym *)(f.data + dynsym->sh_offset);
        size_t n = dynsym->sh_size / sizeof(Elf64_Sym);
        const char *str = (const char *)(f.data + strs->sh_offset);
        size_t len = strlen(name);
        const uint16_t *ver = versym && versym->sh_size / 2 >= n
                                  ? (const uint16_t *)(f.data + versym->sh_offset)
                                  : NULL;
        uint64_t found = 0;
        bool found_default = false;

        r = -ENOENT;
        for (size_t i = 0; i < n; i++) {
                const Elf64_Sym *s = &syms[i];
                if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
                    s->st_name >= strs->sh_size || strs->sh_size - s->st_name <= len ||
                    memcmp(str + s->st_name, name, len + 1) != 0)
                        continue;
                bool dflt = !ver || !(ver[i] & 0x8000); /* not a hidden (old) version */
                if (r == 0 && (found_default || !dflt))
                        continue;
                found = s->st_value;
                found_default = dflt;
                r = 0;
        }
        if (r == 0)
                *ret_value = found;
out:
        free((void *)f.data);
        return r;
}
