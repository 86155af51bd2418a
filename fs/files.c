/* The files of a PID directory: name, whether it exists for a process, its generator. */
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

size_t files_count(void)
{
        return sizeof(files) / sizeof(files[0]);
}

const struct fs_file *files_get(int index)
{
        if (index < 0 || (size_t)index >= files_count())
                return NULL;
        return &files[index];
}

int files_find(const char *name)
{
        for (size_t i = 0; i < files_count(); i++)
                if (strcmp(files[i].name, name) == 0)
                        return (int)i;
        return -1;
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
