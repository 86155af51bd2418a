/* Thread snapshots rendered as pprof (threads) and text (threads.txt). */
#include <errno.h>
#include "render.h"

int render_threads_pprof(const struct thread_snapshot *ts, struct sym_process *sp,
                         uint8_t **ret_buf, size_t *ret_len)
{
        return -ENOSYS;
}

int render_threads_text(const struct thread_snapshot *ts, struct sym_process *sp, char **ret_buf,
                        size_t *ret_len)
{
        return -ENOSYS;
}
