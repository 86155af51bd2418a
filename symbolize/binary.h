/* One ELF binary's symbol data (a Dwfl of that file alone), shared by every process
 * that maps it and cached by the symbolizer under its identity. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>

#include "symbolize.h"

struct intern;
struct memo;
struct symtab;
struct funcindex;
struct curanges;

#define BINARY_MAX_LOADS 64

struct binary_load {
        uint64_t offset, filesz, vaddr;
};

struct sym_binary {
        /* Identity and cache bookkeeping: owned by cache.c, under the symbolizer lock. */
        char *key;
        uint64_t key_hash;
        unsigned refs;
        struct sym_binary *prev, *next;

        /* Immutable after binary_new. */
        const char *build_id; /* hex, interned in strings; NULL without one */
        struct binary_load loads[BINARY_MAX_LOADS];
        size_t nloads;
        bool has_functions, has_filenames, has_line_numbers, has_inline_frames;

        /* libdw is not thread-safe per Dwfl: lock serializes lookups, the memo and
         * interning.  Interned strings never move, so readers need no lock. */
        pthread_mutex_t lock;
        Dwfl *dwfl;
        Dwfl_Module *mod;
        struct intern *strings;
        struct memo *memo;
        struct symtab *symtab; /* loaded on first need */
        bool symtab_failed;
        struct funcindex *funcs; /* filled unit by unit as units are looked into */
        struct curanges *units;  /* which unit holds an address; loaded on first need */
        bool units_failed;
};

/* Where a binary was found, for finding its separate debug info.  */
struct binary_origin {
        const char *opened_path; /* the path fd was opened from */
        const char *maps_path;   /* the path as the process sees it */
        const char *root;        /* "/proc/PID/root", the process's file system view */
};

/* Reads the identity of the ELF file open at fd: "b<hex build id>", or, without a build
 * id, "f<dev>:<ino>:<size>:<mtime>".  *ret_build_id is the hex build id or NULL.
 * -ENOEXEC if fd is not an ELF file. */
int binary_identify(int fd, char **ret_key, char **ret_build_id);

/* Loads the symbol data of the file at fd (consumed, also on failure).  key and
 * build_id are copied. */
int binary_new(int fd, const char *key, const char *build_id,
               const struct binary_origin *origin, struct sym_binary **ret);
void binary_free(struct sym_binary *b);

/* Resolves the code at file offset off.  Writes up to SYM_MAX_INLINE lines, innermost
 * first, into lines (strings owned by b) and returns how many (0 if unknown). */
size_t binary_lookup(struct sym_binary *b, uint64_t off, struct sym_line *lines);

/* The uncached resolution of an ELF virtual address; called with b->lock held. */
size_t resolve_address(struct sym_binary *b, uint64_t vaddr, struct sym_line *lines);
