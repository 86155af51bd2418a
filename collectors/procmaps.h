/* Parsing /proc/PID/maps, the one parser for the daemon, the symbolizer and the ptrace
 * collector: one line at a time, bounded, tolerant of any content. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest line kept; longer ones (only possible with absurd paths) are skipped whole. */
#define MAPS_LINE_MAX 8192

struct maps_entry {
        uint64_t start, end, offset, inode;
        unsigned dev_major, dev_minor;
        bool readable, writable, executable;
        bool shared; /* 's' (MAP_SHARED), not 'p' */
        const char *path; /* points into the parsed line; "" for anonymous */
        size_t path_len;
        bool deleted;     /* path ended in " (deleted)", which is not part of path_len */
};

/* Parses one line (without its newline).  -EINVAL if it is not a mapping line. */
int maps_parse_line(const char *line, size_t len, struct maps_entry *ret);

typedef int (*maps_callback)(const struct maps_entry *e, void *userdata);

/* Reads /proc/PID/maps and calls cb for every parsable line; a negative return from cb
 * stops and is returned.  -ENOENT if the process is gone. */
int maps_read(pid_t pid, maps_callback cb, void *userdata);
/* The same for the process whose /proc/PID directory dirfd is open: a PID reused since
 * that open is never read (-ENOENT). */
int maps_read_at(int dirfd, maps_callback cb, void *userdata);
