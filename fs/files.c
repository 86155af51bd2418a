/* The files of a PID directory: name, whether it exists for a process, its generator. */
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
 * runtime keeps its own heap profile; the goroutine files for Go programs. */
void files_present(pid_t pid, bool *ret_heap, bool *ret_go)
{
        struct go_target *t = NULL;
        int fd;

        *ret_go = go_target_open(pid, &t) == 0;
        go_target_free(t);
        if (heap_segment_open(pid, &fd, NULL) == 0) {
                close(fd);
                *ret_heap = true;
                return;
        }
        *ret_heap = *ret_go;
}
