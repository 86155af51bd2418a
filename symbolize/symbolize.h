/* Daemon-side symbolization of a process's addresses with elfutils, cached per build id. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYM_MAX_INLINE 8

struct symbolizer; /* daemon-wide; thread-safe; owns a bounded cache of binaries */
struct sym_process; /* one process's address space, from /proc/PID/maps at open */

/* An executable mapping of the process, as pprof wants it. */
struct sym_mapping {
        uint64_t start, limit, offset;
        const char *path;     /* as in /proc/PID/maps */
        const char *build_id; /* hex, or NULL */
        bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct sym_line {
        const char *function;    /* readable (demangled) name, or NULL if unknown */
        const char *system_name; /* mangled (linkage) name, or NULL if same */
        const char *file;        /* NULL if unknown */
        int line;
        int start_line;
};

/* An address resolved: lines[0] is the innermost (inlined) frame, lines[n-1] the
 * function that contains the address.  Strings live as long as the sym_process. */
struct sym_frame {
        int mapping; /* index into sym_process_mappings(), or -1 */
        uint64_t address;
        size_t nlines; /* 0 if nothing is known */
        struct sym_line lines[SYM_MAX_INLINE];
};

int symbolizer_new(size_t max_binaries, struct symbolizer **ret);
void symbolizer_free(struct symbolizer *s);

/* Reads /proc/PID/maps and opens binaries via /proc/PID/map_files or /proc/PID/root.
 * -ENOENT if the process is gone. */
int sym_process_open(struct symbolizer *s, pid_t pid, struct sym_process **ret);
void sym_process_free(struct sym_process *sp);

size_t sym_process_mappings(struct sym_process *sp, const struct sym_mapping **ret);

/* Resolves one address.  is_return_address: the address follows a call (stack frames
 * other than the innermost), so the call instruction at address-1 is looked up. */
int sym_process_lookup(struct sym_process *sp, uint64_t address, bool is_return_address,
                       struct sym_frame *ret);
