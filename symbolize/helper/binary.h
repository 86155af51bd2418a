/* The helper's view of one ELF binary: the mapped file the daemon passed, the debug file
 * it chose among the daemon's candidates, and a Dwfl over the two. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>

#include "proto.h"
#include "symbolize.h"

struct intern;
struct symtab;
struct funcindex;
struct curanges;

#define BINARY_MAX_LOADS 64

struct binary_load {
        uint64_t offset, filesz, vaddr;
};

struct sym_binary {
        uint64_t id;                    /* the daemon's name for it */
        struct sym_binary *prev, *next; /* the helper's LRU list */
        uint64_t bytes;                 /* of its files, for the cache's bound */

        /* From OPEN: the mapped file, until ATTACH hands it to the Dwfl. */
        int fd;
        uint8_t build_id[PROTO_MAX_BUILD_ID];
        size_t build_id_len;
        char debuglink[PROTO_MAX_DEBUGLINK + 1];
        uint32_t crc;
        bool needs_debug;

        /* From ATTACH. */
        int debug_fd; /* the chosen debug file, -1 for none; the Dwfl gets a dup */
        bool needs_alt; /* its DWARF refers to a dwz alternate file: ALT comes next */
        char altname[PROTO_MAX_ALTLINK + 1];
        uint8_t alt_id[PROTO_MAX_BUILD_ID];
        size_t alt_id_len;
        int alt_fd;
        struct binary_load loads[BINARY_MAX_LOADS];
        size_t nloads;
        bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
        Dwfl *dwfl;
        Dwfl_Module *mod;

        /* Names of the request being answered: reset per request. */
        struct intern *strings;
        struct symtab *symtab; /* loaded on first need */
        bool symtab_failed;
        struct funcindex *funcs; /* filled unit by unit as units are looked into */
        struct curanges *units;  /* which unit holds an address; loaded on first need */
        bool units_failed;
};

/* Reads what the daemon needs to find the file's debug file (fd consumed).  A file whose
 * compressed sections would inflate past the helper's bound is refused: -EFBIG, with
 * the reason in problem. */
int binary_open(uint64_t id, int fd, struct sym_binary **ret, char *problem, size_t size);

/* Picks the first candidate that matches (same build id; without one, a non-zero
 * .gnu_debuglink CRC equal to the candidate's CRC32) and loads the symbol data.  The
 * candidate fds stay the caller's.  *ret_rejected: bit i for candidates looked at and
 * refused.  If the DWARF refers to a dwz alternate file, b->needs_alt is set and the
 * symbol data waits for binary_attach_alt. */
int binary_attach(struct sym_binary *b, const int *fds, size_t nfds, int *ret_chosen,
                  uint32_t *ret_rejected, char *problem, size_t size);

/* The alternate file among the candidates (same build id as the altlink names), then
 * the symbol data, as binary_attach would have loaded it. */
int binary_attach_alt(struct sym_binary *b, const int *fds, size_t nfds, int *ret_chosen,
                      uint32_t *ret_rejected);

void binary_free(struct sym_binary *b);

/* Resolves the code at file offset off.  Writes up to SYM_MAX_INLINE lines, innermost
 * first, into lines (strings owned by b->strings) and returns how many (0 if unknown). */
size_t binary_lookup(struct sym_binary *b, uint64_t off, struct sym_line *lines);

/* The uncached resolution of an ELF virtual address. */
size_t resolve_address(struct sym_binary *b, uint64_t vaddr, struct sym_line *lines);
