/* A process's address space for symbolization: its executable mappings from
 * /proc/PID/maps, grouped by file; addresses resolved in batches through the cache and
 * the helper, the answers kept for this process's reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "intern.h"
#include "memo.h"
#include "prefetch.h"
#include "procmaps.h"
#include "symbolize.h"

/* vm.max_map_count's default; more executable mappings than this are not real. */
#define MAX_MAPPINGS 65530
/* Distinct files symbolized per process; real programs map a few hundred at most. */
#define MAX_FILES 4096
/* Distinct code addresses one read keeps answers for: real heaps of 100k stacks have a
 * few tens of thousands.  A hostile segment of random addresses gets unknown frames past
 * this (about 40 MiB of answers at most), not more memory. */
#define MAX_RESULTS (1u << 18)

static int add_mapping(const struct maps_entry *e, void *userdata) {
        struct sym_process *sp = userdata;
        if (!e->executable || e->path_len == 0 || sp->n >= MAX_MAPPINGS)
                return 0;
        if (sp->n == sp->cap) {
                size_t cap = sp->cap ? sp->cap * 2 : 32;
                struct sym_mapping *m = realloc(sp->mappings, cap * sizeof(*m));
                if (!m)
                        return -ENOMEM;
                sp->mappings = m;
                struct mapping_info *info = realloc(sp->info, cap * sizeof(*info));
                if (!info)
                        return -ENOMEM;
                sp->info = info;
                sp->cap = cap;
        }
        /* The path as the kernel shows it, " (deleted)" included: it tells the reader
         * of a profile why the file cannot be found. */
        size_t len = e->path_len + (e->deleted ? strlen(" (deleted)") : 0);
        const char *path = intern_strn(sp->paths, e->path, len);
        if (!path)
                return -ENOMEM;
        sp->mappings[sp->n] = (struct sym_mapping){
                .start = e->start, .limit = e->end, .offset = e->offset, .path = path,
        };
        sp->info[sp->n] = (struct mapping_info){
                .inode = e->inode, .dev_major = e->dev_major, .dev_minor = e->dev_minor,
                .deleted = e->deleted, .path_len = e->path_len, .file = -1,
        };
        sp->n++;
        return 0;
}

static bool same_file(const struct sym_process *sp, size_t i, size_t j) {
        return sp->info[i].inode == sp->info[j].inode &&
               sp->info[i].dev_major == sp->info[j].dev_major &&
               sp->info[i].dev_minor == sp->info[j].dev_minor &&
               strcmp(sp->mappings[i].path, sp->mappings[j].path) == 0;
}

/* A binary with several executable segments, or mapped many times, is one file: first[]
 * is a hash set of the first mapping of each file, so a process with thousands of
 * mappings costs linear time, not quadratic. */
static int group_files(struct sym_process *sp) {
        size_t nslots = 64;
        while (nslots < sp->n * 2)
                nslots *= 2;
        size_t *first = malloc(nslots * sizeof(*first));
        sp->files = calloc(sp->n ? sp->n : 1, sizeof(*sp->files));
        if (!first || !sp->files) {
                free(first);
                return -ENOMEM;
        }
        for (size_t k = 0; k < nslots; k++)
                first[k] = SIZE_MAX;
        for (size_t i = 0; i < sp->n; i++) {
                struct mapping_info *info = &sp->info[i];
                /* Only real files: inode 0 is anonymous or [vdso]-like. */
                if (info->inode == 0 || sp->mappings[i].path[0] != '/')
                        continue;
                size_t k = (size_t) ((info->inode ^ ((uint64_t) info->dev_major << 40) ^
                                      ((uint64_t) info->dev_minor << 20)) *
                                     0x9e3779b97f4a7c15ull >> 20) & (nslots - 1);
                while (first[k] != SIZE_MAX && !same_file(sp, first[k], i))
                        k = (k + 1) & (nslots - 1);
                if (first[k] != SIZE_MAX) {
                        info->file = sp->info[first[k]].file;
                } else if (sp->nfiles < MAX_FILES) {
                        /* Bounded, so a process mapping countless files cannot make the
                         * daemon load them all. */
                        first[k] = i;
                        info->file = (int) sp->nfiles;
                        sp->files[sp->nfiles++] = (struct sp_file){ .mapping = i };
                }
        }
        free(first);
        return 0;
}

void sym_process_free(struct sym_process *sp) {
        if (!sp)
                return;
        for (size_t i = 0; i < sp->nfiles; i++)
                cache_release(sp->s, sp->files[i].entry);
        free(sp->files);
        memo_free(sp->results);
        intern_free(sp->strings);
        intern_free(sp->paths);
        free(sp->groups);
        free(sp->mappings);
        free(sp->info);
        free(sp);
}

int sym_process_open(struct symbolizer *s, pid_t pid, const struct sym_caller *caller,
                     struct sym_process **ret) {
        if (!s || pid <= 0 || !caller || caller->ngroups > 65536)
                return -EINVAL;
        struct sym_process *sp = calloc(1, sizeof(*sp));
        if (!sp)
                return -ENOMEM;
        sp->s = s;
        sp->pid = pid;
        sp->root_fd = -1;
        sp->caller = *caller;
        sp->groups = malloc((caller->ngroups ? caller->ngroups : 1) * sizeof(gid_t));
        int r = -ENOMEM;
        if (!sp->groups)
                goto fail;
        if (caller->ngroups)
                memcpy(sp->groups, caller->groups, caller->ngroups * sizeof(gid_t));
        sp->caller.groups = sp->groups;
        if ((r = intern_new(&sp->paths)) < 0 || (r = intern_new(&sp->strings)) < 0 ||
            (r = memo_new(MAX_RESULTS, &sp->results)) < 0)
                goto fail;
        r = maps_read(pid, add_mapping, sp);
        if (r < 0)
                goto fail;
        r = group_files(sp);
        if (r < 0)
                goto fail;
        *ret = sp;
        return 0;
fail:
        sym_process_free(sp);
        return r;
}

size_t sym_process_mappings(struct sym_process *sp, const struct sym_mapping **ret) {
        *ret = sp->mappings;
        return sp->n;
}

const char *sym_process_problem(const struct sym_process *sp) {
        return sp ? sp->problem : NULL;
}

int process_find_mapping(const struct sym_process *sp, uint64_t addr) {
        size_t lo = 0, hi = sp->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct sym_mapping *m = &sp->mappings[mid];
                if (addr < m->start)
                        hi = mid;
                else if (addr >= m->limit)
                        lo = mid + 1;
                else
                        return (int) mid;
        }
        return -1;
}

int sym_process_lookup(struct sym_process *sp, uint64_t address, bool is_return_address,
                       struct sym_frame *ret) {
        if (!sp || !ret)
                return -EINVAL;
        uint64_t addr = sym_code_address(address, is_return_address);
        struct sym_frame f = { .mapping = process_find_mapping(sp, addr), .address = address };
        if (f.mapping >= 0) {
                size_t n;
                if (!memo_get(sp->results, addr, f.lines, &n)) {
                        /* After a prefetch, a miss is an address it had no room for;
                         * a caller that never prefetches gets batches of one. */
                        int r = sp->prefetched ? 0 : prefetch_batch(sp, &addr, 1);
                        if (r < 0)
                                return r;
                        if (!memo_get(sp->results, addr, f.lines, &n))
                                n = 0;
                }
                f.nlines = n;
        }
        *ret = f;
        return 0;
}
