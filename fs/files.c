/* The files of a PID directory: name, whether it exists for a process, its generator. */
#include <string.h>
#include <unistd.h>

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

bool files_shim_present(pid_t pid)
{
        int fd;

        if (heap_segment_open(pid, &fd, NULL) < 0)
                return false;
        close(fd);
        return true;
}
