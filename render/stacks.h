/* Symbolized stacks into pprof locations: shared by every pprof file of a process. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memprof/addrset.h"

struct profile;
struct sym_process;
struct sym_frame;
struct stack_encoder;

/* Maps addresses of one process to pprof mapping/location ids, memoized per address. */
int stack_encoder_new(struct profile *p, struct sym_process *sp, struct stack_encoder **ret);
void stack_encoder_free(struct stack_encoder *se);

/* pcs[0] is innermost; first_is_return: pcs[0] is a return address too (heap stacks,
 * where the shim's own frames were cut).  Writes up to max ids to ret_ids and their
 * count to *ret_n.  Leading frames in operator new/new[] (C++) are dropped so the top
 * frame is the caller of new. */
int stack_encoder_locations(struct stack_encoder *se, const uint64_t *pcs, size_t npcs,
                            bool first_is_return, uint64_t *ret_ids, size_t max,
                            size_t *ret_n);

/* The same cut without pprof: symbolizes pcs into ret_frames (up to max), dropping
 * leading allocator frames, for the text renderers. */
int stack_symbolize(struct sym_process *sp, const uint64_t *pcs, size_t npcs,
                    bool first_is_return, struct sym_frame *ret_frames, size_t max,
                    size_t *ret_n);

/* The code addresses of many stacks, gathered for one sym_process_prefetch: a file's
 * frames are resolved in a few batches instead of one request each. */
struct pc_batch {
        uint64_t *addrs; /* each once */
        size_t n, cap;
        struct addrset seen;
};

int pc_batch_add(struct pc_batch *b, const uint64_t *pcs, size_t npcs, bool first_is_return);
/* Prefetches the batch into sp (if sp is not NULL) and frees it. */
int pc_batch_prefetch(struct pc_batch *b, struct sym_process *sp);
