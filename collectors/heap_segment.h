/* Daemon side of the shim's segment: find it in a process, read and validate a snapshot. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memprof/segment.h"

struct heap_stack {
        uint32_t depth;
        const uint64_t *pcs; /* return addresses, innermost first, shim frames removed */
};

struct heap_site {
        uint32_t stack; /* index into heap_snapshot.stacks */
        uint64_t size;  /* requested bytes per object */
        uint64_t allocs, frees; /* sampled counts; frees <= allocs */
};

struct heap_snapshot {
        int32_t pid_in_ns;
        uint64_t rate;
        int64_t start_time_ns;
        int64_t time_ns; /* when the snapshot was taken (CLOCK_REALTIME) */
        bool attached;   /* loaded by memprof attach: counts start at start_time_ns */
        bool detached;   /* memprof detach stopped sampling since */

        /* exact counters: all thread slots plus retired threads */
        uint64_t mallocs, frees, alloc_bytes;
        uint64_t samples, lost_samples;
        uint32_t threads; /* slots in use */

        int64_t mallinfo_time_ns; /* 0 = never refreshed */
        struct mp_mallinfo mallinfo;

        /* what the shim said at start, text cut to printable ASCII without quotes */
        uint32_t allocator; /* enum mp_allocator; MP_ALLOC_UNKNOWN for any other value */
        char allocator_file[sizeof(((struct mp_seg_header *)0)->allocator_file)];
        bool rate_unparsed; /* MEMPROF_RATE was not understood: rate is the default */
        char rate_text[sizeof(((struct mp_seg_header *)0)->rate_text)];

        size_t nstacks;
        struct heap_stack *stacks;
        size_t nsites;
        struct heap_site *sites;
        uint64_t *frames; /* storage behind stacks[].pcs */
};

/* Mappings that looked like a segment but were refused (see heap_segment_find.c). */
struct heap_segment_refused {
        unsigned n;
        const char *why; /* the first one's reason, a static string; NULL when n is 0 */
};

/* Finds PID's own segment (a shared writable mapping of a tmpfs file named memprof.*,
 * owned by PID's effective uid or root, writable by its owner alone, whose header
 * names PID) and opens it read-only through /proc/PID/map_files.  -ENOENT: none (no
 * shim, or PID gone).  *refused, if not NULL, is filled in whatever the result. */
int heap_segment_open(pid_t pid, int *ret_fd, struct heap_segment_refused *refused);

/* Reads and validates a snapshot from an open segment.  -EBADMSG for a corrupt or
 * hostile segment (with a reason in *ret_why, static string), other -errno for I/O. */
int heap_snapshot_read(int fd, struct heap_snapshot **ret, const char **ret_why);

/* The same without the stacks (nstacks 0, stacks and frames NULL; sites[].stack is
 * still checked but names nothing): all memstats needs, without reading the largest
 * tables. */
int heap_snapshot_read_counts(int fd, struct heap_snapshot **ret, const char **ret_why);

/* The same on a copy of the segment's bytes (used by the fuzzer and tests). */
int heap_snapshot_parse(const uint8_t *buf, size_t len, struct heap_snapshot **ret,
                        const char **ret_why);

void heap_snapshot_free(struct heap_snapshot *s);
