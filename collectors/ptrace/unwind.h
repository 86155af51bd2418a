/* Unwinding a captured thread after the target has been resumed. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "maps.h"

struct unwinder;

/* maps must outlive the unwinder. */
int unwinder_new(pid_t pid, const struct map_table *maps, struct unwinder **ret);
void unwinder_free(struct unwinder *u);

/* pcs[0] is the thread's pc, then return addresses; at least one frame is written. */
int unwinder_unwind(struct unwinder *u, const struct thread_capture *t, uint64_t *pcs,
                    size_t max, size_t *ret_n);
