/* Symbolized stacks into pprof locations, memoized per address. */
#include <errno.h>
#include <stdbool.h>
#include "stacks.h"

int stack_encoder_new(struct profile *p, struct sym_process *sp, struct stack_encoder **ret)
{
        return -ENOSYS;
}

void stack_encoder_free(struct stack_encoder *se)
{
}

int stack_encoder_locations(struct stack_encoder *se, const uint64_t *pcs, size_t npcs,
                            bool first_is_return, uint64_t *ret_ids, size_t max, size_t *ret_n)
{
        return -ENOSYS;
}
