/* Parses /proc/PID/maps into address ranges with their permissions. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maps.h"
#include "task.h"

/* A process has at most vm.max_map_count (65530 by default) mappings; allow some slack. */
#define MAPS_MAX_RANGES 262144
#define MAPS_MAX_BYTES (64u << 20)

int map_table_parse(const char *text, size_t len, struct map_table *ret)
{
        struct map_range *r = NULL;
        size_t n = 0, cap = 0;
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *eol = nl ? nl : end;
                char line[128], perms[5];
                size_t l = (size_t)(eol - p);
                uint64_t s, e;

                if (l >= sizeof(line))
                        l = sizeof(line) - 1; /* the path is not needed */
                memcpy(line, p, l);
                line[l] = '\0';
                p = nl ? nl + 1 : end;
                if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &s, &e, perms) != 3 || e <= s)
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        struct map_range *nr;

                        if (ncap > MAPS_MAX_RANGES) {
                                free(r);
                                return -E2BIG;
                        }
                        nr = realloc(r, ncap * sizeof(*r));
                        if (!nr) {
                                free(r);
                                return -ENOMEM;
                        }
                        r = nr;
                        cap = ncap;
                }
                r[n++] = (struct map_range){
                        .start = s,
                        .end = e,
                        .readable = perms[0] == 'r',
                        .writable = perms[1] == 'w',
                        .executable = perms[2] == 'x',
                };
        }
        ret->n = n;
        ret->ranges = r;
        return 0;
}

int map_table_read(pid_t pid, struct map_table *ret)
{
        char path[64], *text = NULL;
        size_t len = 0;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
        r = proc_read_file(path, MAPS_MAX_BYTES, &text, &len);
        if (r < 0)
                return r;
        r = map_table_parse(text, len, ret);
        free(text);
        return r;
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
