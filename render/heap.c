/* Heap snapshots rendered as Go-compatible pprof (heap, allocs) and as heap.txt. */
#include <errno.h>
#include "render.h"

int render_heap_pprof(const struct heap_snapshot *heap, struct sym_process *sp, bool allocs,
                      uint8_t **ret_buf, size_t *ret_len)
{
        return -ENOSYS;
}

int render_heap_text(const struct heap_snapshot *heap, struct sym_process *sp, char **ret_buf,
                     size_t *ret_len)
{
        return -ENOSYS;
}
