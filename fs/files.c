/* The files of a PID directory and of the root: name, whether it exists for a process,
 * its generator. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goruntime.h"
#include "heap_segment.h"
#include "memprofd.h"

static const struct fs_file files[] = {
        {"memstats", false, false, gen_memstats},
        {"heap", true, false, gen_heap},
        {"allocs", true, false, gen_allocs},
        {"heap.txt", true, false, gen_heap_txt},
        {"threads", false, false, gen_threads},
        {"threads.txt", false, false, gen_threads_txt},
        {"goroutines", false, true, gen_goroutines},
        {"goroutines.txt", false, true, gen_goroutines_txt},
};

/* An inode holds 1 + a file's index in TREE_FILE_BITS bits (tree.c). */
_Static_assert(sizeof(files) / sizeof(files[0]) < (1u << TREE_FILE_BITS),
               "more files than an inode number has room for");

/* Generated per caller, from every process the caller may inspect. */
static const struct fs_file root_files[] = {
        {"metrics.prom", false, false, gen_metrics},
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
 * runtime keeps its own heap profile; the goroutine files for Go programs.  The answer
 * is one byte: '0' plus 1 for a heap, plus 2 for Go. */
static int presence(struct memprofd *d, struct caller *c, const struct target *t,
                    char **ret_buf, size_t *ret_len)
{
        struct go_target *gt = NULL;
        bool go, heap;
        char *buf;
        int fd;

        go = go_target_open(t->pid, &gt) == 0;
        go_target_free(gt);
        heap = go;
        if (heap_segment_open(t->pid, &fd, NULL) == 0) {
                close(fd);
                heap = true;
        }
        buf = malloc(1);
        if (!buf)
                return -ENOMEM;
        buf[0] = (char)('0' + heap + 2 * go);
        *ret_buf = buf;
        *ret_len = 1;
        return 0;
}

void files_present(struct memprofd *d, const struct caller *c, const struct target *t,
                   bool *ret_heap, bool *ret_go)
{
        char *buf = NULL;
        size_t len = 0;

        *ret_heap = *ret_go = false;
        if (job_run(d, "listing", presence, c, t, &buf, &len) < 0)
                return;
        if (len == 1 && buf[0] >= '0' && buf[0] <= '3') {
                *ret_heap = (buf[0] - '0') & 1;
                *ret_go = (buf[0] - '0') & 2;
        }
        free(buf);
}
