/* What the helper checks in an ELF file before libdw may look into it: the memory its
 * compressed sections would take, its identity (build id, .gnu_debuglink), and whether a
 * debug file candidate belongs to a binary. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libelf.h>

/* Files larger than this are not read: they are mapped whole, and the helper's address
 * space is bounded (see sandbox.c). */
#define ELFCHECK_MAX_FILE (1ull << 30)
/* One section inflated, and all of a file's inflated sections together.  libdw inflates
 * every compressed .debug_* section when it opens the DWARF (and libdwfl a compressed
 * symbol table), so the sum is what a file costs.  Real .debug_info sections beyond
 * 256 MiB exist (browsers), but not compressed in a distribution's debug packages. */
#define ELFCHECK_MAX_SECTION (256ull << 20)
#define ELFCHECK_MAX_INFLATED (512ull << 20)

/* 0, or -EFBIG with the reason in problem, if elf's compressed sections (SHF_COMPRESSED,
 * the older .zdebug_* "ZLIB" format, and the xz-compressed .gnu_debugdata) claim more
 * than the bounds above, or hide their size.  (An ELF file inside .gnu_debugdata is
 * not looked into: the helper's address space bound and the request deadline hold
 * for it.) */
int elfcheck_inflated(Elf *elf, char *problem, size_t size);

/* The GNU build id (up to max bytes), 0 if none. */
size_t elfcheck_build_id(Elf *elf, uint8_t *ret, size_t max);

/* The .gnu_debuglink file name (copied, "" if none or not a plain file name) and CRC. */
void elfcheck_debuglink(Elf *elf, char *ret_name, size_t size, uint32_t *ret_crc);

/* The dwz alternate file elf's DWARF refers to (.gnu_debugaltlink): its name (copied)
 * and build id; false if there is none (or it is malformed). */
bool elfcheck_altlink(Elf *elf, char *ret_name, size_t size, uint8_t *ret_id,
                      size_t *ret_id_len);

/* Whether elf carries DWARF of its own (a non-empty .debug_info). */
bool elfcheck_has_dwarf(Elf *elf);

/* Whether the debug file at fd belongs to the binary with this build id, or, for a
 * binary without one, whose .gnu_debuglink CRC is crc: a CRC of 0 matches nothing. */
bool elfcheck_matches(int fd, const uint8_t *build_id, size_t build_id_len, uint32_t crc);
