/* The files of a PID directory and of the root: name, whether it exists for a process,
 * its generator. */
#include <string.h>
#include <unistd.h>

#include "goruntime.h"
#include "heap_segment.h"
#include "memprofd.h"

static const struct fs_file files[] = {
        {"memstats", false, gen_memstats},
        {"heap", true, gen_heap},
        {"allocs", true, gen_allocs},
        {"heap.txt", true, gen_heap_txt},
        {"threads", false, gen_threads},
        {"threads.txt", false, gen_threads_txt},
};

/* Generated per caller, from every process the caller may inspect. */
static const struct fs_file root_files[] = {
        {"metrics.prom", false, gen_metrics},
};

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))
_Static_assert(COUNT(root_files) <= ROOT_FILES_MAX, "more root files than inodes for them");

static const struct fs_file *table_get(const struct fs_file *t, size_t n, int index)
{
        return index < 0 || (size_t)index >= n ? NULL : &t[index];
}

static int table_find(const struct fs_file *t, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(t[i].name, name) == 0)
                        return (int)i;
        return -1;
}

size_t files_count(void)
{
        return COUNT(files);
}

const struct fs_file *files_get(int index)
{
        return table_get(files, COUNT(files), index);
}

int files_find(const char *name)
{
        return table_find(files, COUNT(files), name);
}

size_t root_files_count(void)
{
        return COUNT(root_files);
}

const struct fs_file *root_files_get(int index)
{
        return table_get(root_files, COUNT(root_files), index);
}

int root_files_find(const char *name)
{
        return table_find(root_files, COUNT(root_files), name);
}

void root_target(struct target *ret)
{
        *ret = (struct target){0}; /* pid 0; uid and gid 0 own the file */
}

/* The heap files exist for a process with the shim, and for a Go program, whose
 * runtime keeps its own heap profile. */
bool files_shim_present(pid_t pid)
{
        struct go_target *t;
        int fd;

        if (heap_segment_open(pid, &fd, NULL) == 0) {
                close(fd);
                return true;
        }
        if (go_target_open(pid, &t) < 0)
                return false;
        go_target_free(t);
        return true;
}
