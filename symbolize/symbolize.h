/* Symbolization of a process's addresses.  The ELF and DWARF parsing runs in helper
 * processes without privileges (helper/); the daemon opens the files on the reader's
 * behalf, passes them over, and caches the answers per file identity. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYM_MAX_INLINE 8

struct symbolizer; /* daemon-wide; thread-safe; owns the helpers and a bounded cache */
struct sym_process; /* one process's address space, from /proc/PID/maps at open */

/* Who is reading: files are opened with these filesystem ids and groups, so that a
 * reader learns nothing from a file it could not read itself (except the host's
 * /usr/lib/debug, which is trusted). */
struct sym_caller {
        uid_t uid; /* filesystem ids */
        gid_t gid;
        const gid_t *groups; /* supplementary groups, copied at open */
        size_t ngroups;
};

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

/* max_binaries bounds the daemon's cache of answers; the helper program is found beside
 * the daemon (build tree) or where meson installs it, and started on first need. */
int symbolizer_new(size_t max_binaries, struct symbolizer **ret);
/* The same with the helper program named. */
int symbolizer_new_with(size_t max_binaries, const char *helper, struct symbolizer **ret);
void symbolizer_free(struct symbolizer *s);

/* Reads /proc/PID/maps; binaries are opened (via /proc/PID/map_files, as the caller)
 * when their addresses are first looked up.  -ENOENT if the process is gone. */
int sym_process_open(struct symbolizer *s, pid_t pid, const struct sym_caller *caller,
                     struct sym_process **ret);
void sym_process_free(struct sym_process *sp);

/* The address to look up for a stack frame: the call instruction of a return address. */
static inline uint64_t sym_code_address(uint64_t pc, bool is_return_address) {
        return is_return_address && pc > 0 ? pc - 1 : pc;
}

/* Resolves many code addresses (sym_code_address) in few helper requests; afterwards
 * sym_process_lookup answers them locally.  Call it once with all the addresses a file
 * needs.  A binary that cannot be read or is refused leaves its frames unsymbolized
 * (see sym_process_problem); -EIO if the helper crashed, hung or broke the protocol. */
int sym_process_prefetch(struct sym_process *sp, const uint64_t *addrs, size_t n);

/* The first binary refused during this process's lookups and why, for the log; NULL if
 * none was. */
const char *sym_process_problem(const struct sym_process *sp);

size_t sym_process_mappings(struct sym_process *sp, const struct sym_mapping **ret);

/* Resolves one address.  is_return_address: the address follows a call (stack frames
 * other than the innermost), so the call instruction at address-1 is looked up.  Before
 * any sym_process_prefetch an address costs a helper request of its own; after one, an
 * address it did not cover is answered as unknown. */
int sym_process_lookup(struct sym_process *sp, uint64_t address, bool is_return_address,
                       struct sym_frame *ret);
