/* Where a binary's separate debug file may be: the host's /usr/lib/debug (trusted, read
 * as root), then the places the standard search looks inside the process's own root
 * (read as the reader).  Every candidate must still match, which the helper checks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define DEBUGFILE_ROOT "/usr/lib/debug"
#define DEBUGFILE_PATH_MAX 4096

struct debug_candidate {
        bool trusted; /* the host's DEBUGFILE_ROOT, opened as root; else in the target's root */
        char path[DEBUGFILE_PATH_MAX];
};

/* Fills up to PROTO_MAX_CANDIDATES candidates, most preferred first, for a binary at
 * maps_path (as the process sees it, path_len bytes) with this build id and debuglink
 * (a checked file name, or ""); returns how many. */
size_t debugfile_candidates(const char *maps_path, size_t path_len, const uint8_t *build_id,
                            size_t build_id_len, const char *debuglink,
                            struct debug_candidate *ret);

/* Candidates for a dwz alternate file (named by a debug file's .gnu_debugaltlink), all
 * in the host's DEBUGFILE_ROOT: the name itself if it lies there, and its build id's
 * path.  A process's own alternate files are not looked for: the answers are shared by
 * every reader of the debug file, so the alternate must be one anyone may read. */
size_t debugfile_alt_candidates(const char *altname, const uint8_t *build_id,
                                size_t build_id_len, struct debug_candidate *ret);
