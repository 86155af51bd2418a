/* The inside of a sym_process, shared by process.c (mappings, lookups) and prefetch.c
 * (resolving batches through the cache and the helper). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "pool.h"
#include "symbolize.h"

struct mapping_info {
        uint64_t inode;
        unsigned dev_major, dev_minor;
        bool deleted;
        size_t path_len; /* without " (deleted)" */
        int file;        /* index into files, -1 if not a file symbolized */
};

/* One mapped file of the process. */
struct sp_file {
        size_t mapping;          /* its first mapping */
        bool tried;              /* its entry was looked for */
        struct sym_entry *entry; /* one reference; NULL if it cannot be symbolized */
};

struct sym_process {
        struct symbolizer *s;
        pid_t pid;
        struct sym_caller caller;
        gid_t *groups;
        struct sym_mapping *mappings; /* sorted by start, as the kernel lists them */
        struct mapping_info *info;
        size_t n, cap;
        struct sp_file *files;
        size_t nfiles;
        struct intern *paths;
        struct intern *strings; /* answers an entry had no room for */
        struct memo *results;   /* code address -> lines, for this process's reads */
        const char *problem;    /* in strings */
        bool prefetched;        /* sym_process_prefetch ran: lookups do not fetch */

        /* During a prefetch. */
        struct helper *helper;
        int root_fd;
        int64_t deadline_ns;
};

int process_find_mapping(const struct sym_process *sp, uint64_t addr);
/* sym_process_prefetch without marking the process prefetched. */
int prefetch_batch(struct sym_process *sp, const uint64_t *addrs, size_t n);
