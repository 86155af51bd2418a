/* The target's memory map, read once before the stop to bound stack copies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct map_range {
        uint64_t start, end;
        uint64_t offset, inode; /* inode 0: anonymous memory ([stack], [heap], ...) */
        unsigned dev_major, dev_minor;
        bool readable, writable, executable;
        bool shim; /* a mapping of libmemprof.so: its frames are never shown */
};

struct map_table {
        size_t n, cap;
        struct map_range *ranges; /* sorted by start, as the kernel lists them */
};

/* -ENOENT if the process is gone. */
int map_table_read(pid_t pid, struct map_table *ret);
void map_table_clear(struct map_table *t);

/* The range holding addr, or NULL. */
const struct map_range *map_table_find(const struct map_table *t, uint64_t addr);
