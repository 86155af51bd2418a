/* The files of a PID directory: name, whether it exists for a process, its generator. */
#include <errno.h>
#include <stdlib.h>
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
 * runtime keeps its own heap profile.  The answer is one byte, '1' or '0'. */
static int heap_presence(struct memprofd *d, struct caller *c, const struct target *t,
                         char **ret_buf, size_t *ret_len)
{
        struct go_target *gt;
        bool present = false;
        char *buf;
        int fd;

        if (heap_segment_open(t->pid, &fd, NULL) == 0) {
                close(fd);
                present = true;
        } else if (go_target_open(t->pid, &gt) == 0) {
                go_target_free(gt);
                present = true;
        }
        buf = malloc(1);
        if (!buf)
                return -ENOMEM;
        buf[0] = present ? '1' : '0';
        *ret_buf = buf;
        *ret_len = 1;
        return 0;
}

bool files_shim_present(struct memprofd *d, const struct caller *c, const struct target *t)
{
        char *buf = NULL;
        size_t len = 0;
        bool present;

        if (job_run(d, "heap files", heap_presence, c, t, &buf, &len) < 0)
                return false;
        present = len == 1 && buf[0] == '1';
        free(buf);
        return present;
}
