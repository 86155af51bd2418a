/* Checks of an ELF file made before libdw reads it: inflated sizes, identity, matching. */
#include "elfcheck.h"

#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <lzma.h>
#include <zlib.h>

#include <elfutils/libdwelf.h>

#include "proto.h"

/* What an xz file (.gnu_debugdata, "MiniDebugInfo", which libdwfl decompresses whole
 * when a binary has no .symtab) inflates to, from the indexes at the end of its streams;
 * UINT64_MAX if they cannot be read.  Nothing is decompressed. */
static uint64_t xz_size(const uint8_t *p, size_t n) {
        uint64_t total = 0;
        while (n > 0) {
                /* Stream padding: zero bytes in fours between and after streams. */
                while (n >= 4 && !p[n - 1] && !p[n - 2] && !p[n - 3] && !p[n - 4])
                        n -= 4;
                if (n == 0)
                        break;
                lzma_stream_flags footer;
                if (n < 2 * LZMA_STREAM_HEADER_SIZE ||
                    lzma_stream_footer_decode(&footer, p + n - LZMA_STREAM_HEADER_SIZE) !=
                            LZMA_OK ||
                    footer.backward_size > n - 2 * LZMA_STREAM_HEADER_SIZE)
                        return UINT64_MAX;
                const uint8_t *index = p + n - LZMA_STREAM_HEADER_SIZE - footer.backward_size;
                lzma_index *idx = NULL;
                uint64_t memlimit = 16u << 20;
                size_t pos = 0;
                if (lzma_index_buffer_decode(&idx, &memlimit, NULL, index, &pos,
                                             footer.backward_size) != LZMA_OK)
                        return UINT64_MAX;
                uint64_t size = lzma_index_uncompressed_size(idx);
                uint64_t stream = lzma_index_stream_size(idx);
                lzma_index_end(idx, NULL);
                if (stream == 0 || stream > n || size > UINT64_MAX - total)
                        return UINT64_MAX;
                total += size;
                n -= stream;
        }
        return total;
}

/* The size a section inflates to, 0 if it is not compressed. */
static uint64_t inflated_size(Elf_Scn *scn, const GElf_Shdr *sh, const char *name) {
        if (sh->sh_type == SHT_NOBITS)
                return 0;
        if (sh->sh_flags & SHF_COMPRESSED) {
                GElf_Chdr ch;
                /* An unreadable header: libelf would fail to inflate it too, but count
                 * it as the worst, not as nothing. */
                return gelf_getchdr(scn, &ch) ? ch.ch_size : UINT64_MAX;
        }
        if (name && strcmp(name, ".gnu_debugdata") == 0) {
                Elf_Data *d = elf_rawdata(scn, NULL);
                return d && d->d_size > 0 ? xz_size(d->d_buf, d->d_size) : 0;
        }
        if (!name || strncmp(name, ".zdebug", 7) != 0)
                return 0;
        Elf_Data *d = elf_rawdata(scn, NULL);
        if (!d || d->d_size < 12 || memcmp(d->d_buf, "ZLIB", 4) != 0)
                return 0;
        const uint8_t *p = (const uint8_t *) d->d_buf + 4;
        uint64_t n = 0;
        for (int i = 0; i < 8; i++) /* big-endian, whatever the file's byte order */
                n = n << 8 | p[i];
        return n;
}

int elfcheck_inflated(Elf *elf, char *problem, size_t size) {
        size_t shstrndx;
        if (elf_getshdrstrndx(elf, &shstrndx) < 0)
                shstrndx = 0;
        uint64_t total = 0;
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
                GElf_Shdr sh;
                if (!gelf_getshdr(scn, &sh))
                        continue;
                const char *name = shstrndx ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
                uint64_t n = inflated_size(scn, &sh, name);
                if (n == 0)
                        continue;
                if (n == UINT64_MAX) {
                        snprintf(problem, size, "compressed section %s: its size cannot be read",
                                 name ? name : "?");
                        return -EFBIG;
                }
                if (n > ELFCHECK_MAX_SECTION || n > ELFCHECK_MAX_INFLATED - total) {
                        snprintf(problem, size,
                                 "compressed section %s inflates to %llu bytes (bounds: "
                                 "%llu a section, %llu a file)",
                                 name ? name : "?", (unsigned long long) n,
                                 (unsigned long long) ELFCHECK_MAX_SECTION,
                                 (unsigned long long) ELFCHECK_MAX_INFLATED);
                        return -EFBIG;
                }
                total += n;
        }
        return 0;
}

size_t elfcheck_build_id(Elf *elf, uint8_t *ret, size_t max) {
        const void *id;
        ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
        if (n <= 0 || (size_t) n > max)
                return 0;
        memcpy(ret, id, (size_t) n);
        return (size_t) n;
}

void elfcheck_debuglink(Elf *elf, char *ret_name, size_t size, uint32_t *ret_crc) {
        GElf_Word crc = 0;
        const char *name = dwelf_elf_gnu_debuglink(elf, &crc);
        size_t n = name ? strnlen(name, size) : 0;
        ret_name[0] = '\0';
        *ret_crc = 0;
        if (n == 0 || n >= size || !proto_is_file_name(name, n))
                return;
        memcpy(ret_name, name, n + 1);
        *ret_crc = crc;
}

bool elfcheck_altlink(Elf *elf, char *ret_name, size_t size, uint8_t *ret_id,
                      size_t *ret_id_len) {
        size_t shstrndx;
        if (elf_getshdrstrndx(elf, &shstrndx) < 0)
                return false;
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
                GElf_Shdr sh;
                if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
                        continue;
                const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
                if (!name || strcmp(name, ".gnu_debugaltlink") != 0)
                        continue;
                Elf_Data *d = elf_rawdata(scn, NULL);
                const char *p = d ? d->d_buf : NULL;
                size_t n = p ? strnlen(p, d->d_size) : 0;
                if (!p || n == 0 || n >= d->d_size || n >= size)
                        return false;
                size_t id_len = d->d_size - n - 1;
                if (id_len == 0 || id_len > PROTO_MAX_BUILD_ID)
                        return false;
                memcpy(ret_name, p, n + 1);
                memcpy(ret_id, p + n + 1, id_len);
                *ret_id_len = id_len;
                return true;
        }
        return false;
}

bool elfcheck_has_dwarf(Elf *elf) {
        size_t shstrndx;
        if (elf_getshdrstrndx(elf, &shstrndx) < 0)
                return false;
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
                GElf_Shdr sh;
                if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
                        continue;
                const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
                if (name && (strcmp(name, ".debug_info") == 0 ||
                             strcmp(name, ".zdebug_info") == 0))
                        return true;
        }
        return false;
}

static uint32_t crc_of(Elf *elf) {
        size_t size;
        const unsigned char *p = (const unsigned char *) elf_rawfile(elf, &size);
        uLong crc = crc32(0, Z_NULL, 0);
        if (!p)
                return 0;
        while (size > 0) {
                uInt n = size > (1u << 30) ? (1u << 30) : (uInt) size;
                crc = crc32(crc, p, n);
                p += n;
                size -= n;
        }
        return (uint32_t) crc;
}

bool elfcheck_matches(int fd, const uint8_t *build_id, size_t build_id_len, uint32_t crc) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            (uint64_t) st.st_size > ELFCHECK_MAX_FILE)
                return false;
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return false;
        bool ok = false;
        if (elf_kind(elf) == ELF_K_ELF) {
                if (build_id_len > 0) {
                        uint8_t id[PROTO_MAX_BUILD_ID];
                        size_t n = elfcheck_build_id(elf, id, sizeof(id));
                        ok = n == build_id_len && memcmp(id, build_id, n) == 0;
                } else {
                        ok = crc != 0 && crc_of(elf) == crc;
                }
        }
        elf_end(elf);
        return ok;
}
