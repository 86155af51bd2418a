/* The target's address ranges with their permissions, from /proc/PID/maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/array.h"
#include "maps.h"
#include "procmaps.h"

/* A process has at most vm.max_map_count (65530 by default) mappings; allow some slack. */
#define MAPS_MAX_RANGES 262144

/* The shim by its file name, as heap_segment.c knows its segments: a program that names
 * a library of its own so only hides that library's frames from its own stacks. */
static bool is_shim(const struct maps_entry *e)
{
        static const char name[] = "libmemprof.so";
        const char *base = e->path;

        for (size_t i = 0; i < e->path_len; i++)
                if (e->path[i] == '/')
                        base = e->path + i + 1;
        return (size_t)(e->path + e->path_len - base) >= sizeof(name) - 1 &&
               memcmp(base, name, sizeof(name) - 1) == 0;
}

static int add_range(const struct maps_entry *e, void *userdata)
{
        struct map_table *t = userdata;

        if (e->end <= e->start)
                return 0;
        int r = ARRAY_RESERVE(t->ranges, t->cap, t->n, 1, 64, MAPS_MAX_RANGES);

        if (r < 0)
                return r;
        t->ranges[t->n++] = (struct map_range){
                .start = e->start,
                .end = e->end,
                .offset = e->offset,
                .inode = e->inode,
                .dev_major = e->dev_major,
                .dev_minor = e->dev_minor,
                .readable = e->readable,
                .writable = e->writable,
                .executable = e->executable,
                .shim = e->executable && is_shim(e),
        };
        return 0;
}

int map_table_read(pid_t pid, struct map_table *ret)
{
        struct map_table t = {0};
        int r = maps_read(pid, add_range, &t);

        if (r < 0) {
                free(t.ranges);
                return r;
        }
        *ret = t;
        return 0;
}

void map_table_clear(struct map_table *t)
{
        if (!t)
                return;
        free(t->ranges);
        t->ranges = NULL;
        t->n = 0;
}

const struct map_range *map_table_find(const struct map_table *t, uint64_t addr)
{
        size_t lo = 0, hi = t->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (addr < t->ranges[mid].start)
                        hi = mid;
                else if (addr >= t->ranges[mid].end)
                        lo = mid + 1;
                else
                        return &t->ranges[mid];
        }
        return NULL;
}
