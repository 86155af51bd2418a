/* libFuzzer entry point for the segment parser: the bytes a hostile process can put in
 * its shared segment. */
#include <stddef.h>
#include <stdint.h>

#include "heap_segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct heap_snapshot *s = NULL;
        const char *why = NULL;
        if (heap_snapshot_parse(data, size, &s, &why) == 0) {
                /* touch everything the parser promised is in bounds */
                volatile uint64_t sum = 0;
                for (size_t i = 0; i < s->nsites; i++) {
                        const struct heap_stack *st = &s->stacks[s->sites[i].stack];
                        for (uint32_t d = 0; d < st->depth; d++)
                                sum += st->pcs[d];
                        if (s->sites[i].frees > s->sites[i].allocs)
                                __builtin_trap();
                }
                (void)sum;
                heap_snapshot_free(s);
        } else if (!why)
                __builtin_trap(); /* every rejection names its reason */
        return 0;
}
