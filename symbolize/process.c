/* A process's address space for symbolization: its executable mappings from
 * /proc/PID/maps, each tied to a cached binary opened through the process's own view. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "intern.h"
#include "memprof/array.h"
#include "procmaps.h"
#include "symbolize.h"

/* vm.max_map_count's default; more executable mappings than this are not real. */
#define MAX_MAPPINGS 65530
/* Distinct files symbolized per process; real programs map a few hundred at most. */
#define MAX_BINARIES 4096

struct mapping_info {
        struct sym_binary *binary; /* NULL if the file could not be opened or read */
        uint64_t inode;
        unsigned dev_major, dev_minor;
        bool deleted;
};

struct sym_process {
        struct symbolizer *s;
        pid_t pid;
        struct sym_mapping *mappings; /* sorted by start, as the kernel lists them */
        struct mapping_info *info;
        size_t n, cap, info_cap;
        struct intern *paths;
        struct sym_binary **held; /* one reference each */
        size_t nheld, held_cap;
};

static int add_mapping(const struct maps_entry *e, void *userdata) {
        struct sym_process *sp = userdata;
        if (!e->executable || e->path_len == 0 || sp->n >= MAX_MAPPINGS)
                return 0;
        if (ARRAY_RESERVE(sp->mappings, sp->cap, sp->n, 1, 32, MAX_MAPPINGS) < 0 ||
            ARRAY_RESERVE(sp->info, sp->info_cap, sp->n, 1, 32, MAX_MAPPINGS) < 0)
                return -ENOMEM;
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
                .deleted = e->deleted,
        };
        sp->n++;
        return 0;
}

/* Opens the mapped file as the process sees it: map_files works for deleted files and
 * across mount namespaces; the root path is the fallback where map_files is refused. */
static int open_mapped(struct sym_process *sp, size_t i, const char *path, size_t path_len,
                       char *opened, size_t opened_size) {
        const struct sym_mapping *m = &sp->mappings[i];
        snprintf(opened, opened_size, "/proc/%d/map_files/%llx-%llx", (int) sp->pid,
                 (unsigned long long) m->start, (unsigned long long) m->limit);
        int fd = open(opened, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        /* A deleted file's path may now name a different file. */
        if (sp->info[i].deleted)
                return -ENOENT;
        if ((size_t) snprintf(opened, opened_size, "/proc/%d/root%.*s", (int) sp->pid,
                              (int) path_len, path) >= opened_size)
                return -ENAMETOOLONG;
        fd = open(opened, O_RDONLY | O_CLOEXEC);
        return fd >= 0 ? fd : -errno;
}

static int hold(struct sym_process *sp, struct sym_binary *b) {
        if (ARRAY_RESERVE(sp->held, sp->held_cap, sp->nheld, 1, 8, SIZE_MAX) < 0) {
                cache_release(sp->s, b);
                return -ENOMEM;
        }
        sp->held[sp->nheld++] = b;
        return 0;
}

static struct sym_binary *load_binary(struct sym_process *sp, size_t i) {
        const struct sym_mapping *m = &sp->mappings[i];
        size_t path_len = strlen(m->path) - (sp->info[i].deleted ? strlen(" (deleted)") : 0);
        char opened[4200 + MAPS_LINE_MAX], root[64], *maps_path = NULL, *key = NULL,
                *build_id = NULL;
        struct sym_binary *b = NULL;

        int fd = open_mapped(sp, i, m->path, path_len, opened, sizeof(opened));
        if (fd < 0)
                return NULL;
        if (binary_identify(fd, &key, &build_id) < 0)
                goto out;
        b = cache_acquire(sp->s, key);
        if (b)
                goto out;

        maps_path = strndup(m->path, path_len);
        snprintf(root, sizeof(root), "/proc/%d/root", (int) sp->pid);
        struct binary_origin origin = { .opened_path = opened, .maps_path = maps_path,
                                        .root = root };
        if (!maps_path || binary_new(fd, key, build_id, &origin, &b) < 0) {
                b = NULL;
                fd = -1; /* binary_new consumes it, also on failure */
                goto out;
        }
        fd = -1;
        b = cache_insert(sp->s, b);
out:
        if (fd >= 0)
                close(fd);
        free(maps_path);
        free(key);
        free(build_id);
        if (b && hold(sp, b) < 0)
                b = NULL;
        return b;
}

static bool same_file(const struct sym_process *sp, size_t i, size_t j) {
        return sp->info[i].inode == sp->info[j].inode &&
               sp->info[i].dev_major == sp->info[j].dev_major &&
               sp->info[i].dev_minor == sp->info[j].dev_minor &&
               strcmp(sp->mappings[i].path, sp->mappings[j].path) == 0;
}

/* A binary with several executable segments, or mapped many times, is opened once:
 * first[] is a hash set of the first mapping of each file, so a process with thousands
 * of mappings costs linear time, not quadratic. */
static int attach_binaries(struct sym_process *sp) {
        size_t nslots = 64;
        while (nslots < sp->n * 2)
                nslots *= 2;
        size_t *first = malloc(nslots * sizeof(*first));
        if (!first)
                return -ENOMEM;
        for (size_t k = 0; k < nslots; k++)
                first[k] = SIZE_MAX;
        size_t nbinaries = 0;

        for (size_t i = 0; i < sp->n; i++) {
                struct mapping_info *info = &sp->info[i];
                struct sym_mapping *m = &sp->mappings[i];
                /* Only real files: inode 0 is anonymous or [vdso]-like. */
                if (info->inode == 0 || m->path[0] != '/')
                        continue;
                size_t k = (size_t) ((info->inode ^ ((uint64_t) info->dev_major << 40) ^
                                      ((uint64_t) info->dev_minor << 20)) *
                                     0x9e3779b97f4a7c15ull >> 20) & (nslots - 1);
                while (first[k] != SIZE_MAX && !same_file(sp, first[k], i))
                        k = (k + 1) & (nslots - 1);
                if (first[k] != SIZE_MAX) {
                        info->binary = sp->info[first[k]].binary;
                } else {
                        first[k] = i;
                        /* Bounded, so a process mapping countless files cannot make the
                         * daemon load them all. */
                        if (nbinaries < MAX_BINARIES) {
                                nbinaries++;
                                info->binary = load_binary(sp, i);
                        }
                }

                struct sym_binary *b = info->binary;
                if (!b)
                        continue;
                m->build_id = b->build_id;
                m->has_functions = b->has_functions;
                m->has_filenames = b->has_filenames;
                m->has_line_numbers = b->has_line_numbers;
                m->has_inline_frames = b->has_inline_frames;
        }
        free(first);
        return 0;
}

void sym_process_free(struct sym_process *sp) {
        if (!sp)
                return;
        for (size_t i = 0; i < sp->nheld; i++)
                cache_release(sp->s, sp->held[i]);
        free(sp->held);
        intern_free(sp->paths);
        free(sp->mappings);
        free(sp->info);
        free(sp);
}

int sym_process_open(struct symbolizer *s, pid_t pid, struct sym_process **ret) {
        if (!s || pid <= 0)
                return -EINVAL;
        struct sym_process *sp = calloc(1, sizeof(*sp));
        if (!sp)
                return -ENOMEM;
        sp->s = s;
        sp->pid = pid;
        int r = intern_new(&sp->paths);
        if (r < 0)
                goto fail;
        r = maps_read(pid, add_mapping, sp);
        if (r < 0)
                goto fail;
        r = attach_binaries(sp);
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

static int find_mapping(const struct sym_process *sp, uint64_t addr) {
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
        /* A return address follows the call; the call itself is one byte before. */
        uint64_t addr = is_return_address && address > 0 ? address - 1 : address;
        int i = find_mapping(sp, addr);
        struct sym_frame f = { .mapping = i, .address = address };
        if (i >= 0 && sp->info[i].binary) {
                const struct sym_mapping *m = &sp->mappings[i];
                f.nlines = binary_lookup(sp->info[i].binary, addr - m->start + m->offset, f.lines);
        }
        *ret = f;
        return 0;
}
