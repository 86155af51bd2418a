/* libFuzzer entry point for the Go runtime reader: the input is a Go process's memory
 * as a hostile process could arrange it, under a fixed layout of the runtime's globals
 * (the layout itself comes from the daemon's own reading of the binary, not the target). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gobinary.h"
#include "goruntime.h"
#include "heap_segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0x100000u /* where the input is "mapped" */

struct fake {
        const uint8_t *data;
        size_t size;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
        const struct fake *f = ctx;

        if (addr < BASE || addr - BASE > f->size || len > f->size - (addr - BASE))
                return -EFAULT;
        memcpy(buf, f->data + (addr - BASE), len);
        return 0;
}

static struct go_field u(uint64_t off, uint32_t size)
{
        return (struct go_field){.off = off, .size = size, .ok = true};
}

static struct go_field s(uint64_t off, uint32_t size)
{
        return (struct go_field){.off = off, .size = size, .is_signed = true, .ok = true};
}

static struct go_var v(uint64_t off, uint64_t size)
{
        return (struct go_var){.addr = BASE + off, .size = size, .ok = true};
}

/* A layout shaped like Go 1.19-1.23's, offsets of the fuzzer's choosing. */
static void layout(struct go_layout *l)
{
        struct go_heap_delta *d = &l->delta;

        memset(l, 0, sizeof(*l));
        l->memstats = v(0, 3680);
        l->heap_stats = (struct go_array){.off = 0, .stride = 1200, .count = 3, .ok = true};
        d->committed = s(0, 8);
        d->released = s(8, 8);
        d->in_heap = s(16, 8);
        d->in_stacks = s(24, 8);
        d->in_work_bufs = s(32, 8);
        d->in_ptr_scalar_bits = s(40, 8);
        d->tiny_alloc_count = u(48, 8);
        d->large_alloc = u(56, 8);
        d->large_alloc_count = u(64, 8);
        d->small_alloc_count = (struct go_array){.off = 88, .stride = 8, .count = 68, .ok = true};
        d->large_free = u(632, 8);
        d->large_free_count = u(640, 8);
        d->small_free_count = (struct go_array){.off = 648, .stride = 8, .count = 68, .ok = true};
        l->stacks_sys = u(3600, 8);
        l->mspan_sys = u(3608, 8);
        l->mcache_sys = u(3616, 8);
        l->buckhash_sys = u(3624, 8);
        l->gc_misc_sys = u(3632, 8);
        l->other_sys = u(3640, 8);
        l->last_gc_unix = u(3648, 8);
        l->pause_total_ns = u(3656, 8);
        l->numgc = u(3664, 4);
        l->numforcedgc = u(3668, 4);
        l->gc_controller = v(4096, 64);
        l->heap_in_use = u(0, 8);
        l->heap_free = u(8, 8);
        l->heap_released = u(16, 8);
        l->gc_percent_heap_goal = u(24, 8);
        l->sweep_dist_min_trigger = u(32, 8);
        l->triggered = u(40, 8);
        l->memory_limit = s(48, 8);
        l->mheap = v(4160, 16);
        l->spanalloc_inuse = u(0, 8);
        l->cachealloc_inuse = u(8, 8);
        l->class_to_size = v(4176, 136);
        l->class_sizes = (struct go_array){.off = 0, .stride = 2, .count = 68, .ok = true};
        l->allglen = v(4320, 8);
        l->allglen_v = u(0, 8);
        l->sched = v(4328, 16);
        l->sched_gfree_n = s(0, 4);
        l->sched_ngsys = s(4, 4);
        l->allp = v(4344, 24);
        l->allp_array = u(0, 8);
        l->allp_len = u(8, 8);
        l->p_gfree_n = s(0, 4);
        l->gomaxprocs = v(4368, 4);
        l->gomaxprocs_v = s(0, 4);
        l->mem_profile_rate = v(4376, 8);
        l->mem_profile_rate_v = s(0, 8);
        l->mbuckets = v(4384, 8);
        l->mbuckets_v = u(0, 8);
        l->mprof_cycle = v(4392, 4);
        l->mprof_cycle_v = u(0, 4);
        l->bucket =
            (struct go_bucket_layout){.size = 48,
                                      .allnext = u(8, 8),
                                      .typ = u(16, 8),
                                      .bsize = u(32, 8),
                                      .nstk = u(40, 8),
                                      .record_size = 128,
                                      .active = u(0, 8),
                                      .future = {.off = 32, .stride = 32, .count = 3, .ok = true},
                                      .allocs = u(0, 8),
                                      .frees = u(8, 8),
                                      .alloc_bytes = u(16, 8),
                                      .free_bytes = u(24, 8),
                                      .ok = true};
}

/* The goroutine walk's part, shaped like Go 1.23's g (offsets of the fuzzer's choosing):
 * allgptr and allglen among the globals, gs and their stacks anywhere in the input. */
static uint64_t runtime_lo[] = {BASE + 0x100, BASE + 0x200};
static uint64_t runtime_hi[] = {BASE + 0x180, BASE + 0x280};

static void g_layout(struct go_layout *l)
{
        struct go_g_layout *g = &l->g;

        g->g_size = 256;
        g->m_size = 64;
        g->stack_lo = u(0, 8);
        g->stack_hi = u(8, 8);
        g->m = u(48, 8);
        g->sched_sp = u(56, 8);
        g->sched_pc = u(64, 8);
        g->sched_bp = u(104, 8);
        g->syscallsp = u(112, 8);
        g->syscallpc = u(120, 8);
        g->syscallbp = u(128, 8);
        g->status = u(152, 4);
        g->goid = u(160, 8);
        g->waitsince = s(176, 8);
        g->waitreason = u(184, 1);
        g->lockedm = u(192, 8);
        g->gopc = u(200, 8);
        g->startpc = u(208, 8);
        g->parent_goid = u(216, 8);
        g->m_procid = u(0, 8);
        g->m_curg = u(8, 8);
        g->allgptr = v(4400, 8);
        g->allgptr_v = u(0, 8);
        g->wait_reasons = v(4416, 16 * 4);
        g->wait_reasons_count = 4;
        g->status_names = v(4480, 16 * 10);
        g->status_names_count = 10;
        g->s_runnable = 1;
        g->s_running = 2;
        g->s_syscall = 3;
        g->s_waiting = 4;
        g->s_dead = 6;
        g->s_copystack = 8;
        g->s_preempted = 9;
        g->s_scan = 0x1000;
        g->main_pc = BASE + 0x300;
        g->runtime_lo = runtime_lo;
        g->runtime_hi = runtime_hi;
        g->nruntime = 2;
        g->text_lo = BASE;
        g->text_hi = BASE + 0x1000;
        g->ok = true;
}

static void check_goroutines(struct go_target *t)
{
        struct go_goroutines *gs = NULL;
        const char *why = NULL;
        int r = go_read_goroutines(t, &gs, &why);

        if (r == -EBADMSG && !why)
                __builtin_trap();
        if (r < 0)
                return;
        for (size_t i = 0; i < gs->n; i++) {
                const struct go_goroutine *g = &gs->g[i];
                volatile uint64_t sum = 0;

                if (g->npcs > GO_STACK_MAX || (g->npcs && !g->pcs) || (g->npcs && g->error))
                        __builtin_trap();
                for (uint32_t k = 0; k < g->npcs; k++)
                        sum += g->pcs[k];
                (void)go_goroutine_state(gs, g);
        }
        if (gs->n + gs->unreadable > gs->listed)
                __builtin_trap(); /* every g listed is shown or counted, never more */
        go_goroutines_free(gs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct go_binary bin;
        struct fake f = {.data = data, .size = size};
        struct go_target t = {.pid = 1, .bin = &bin};
        struct go_memstats ms;
        struct heap_snapshot *h = NULL;
        const char *why = NULL;
        uint64_t rate;
        int r;

        if (!bin.layout_ok) {
                layout(&bin.layout);
                g_layout(&bin.layout);
                bin.is_go = bin.layout_ok = true;
        }
        t.mem = (struct go_mem){.read = fake_read, .ctx = &f};

        r = go_read_memstats(&t, &ms, &why);
        if (r == -EBADMSG && !why)
                __builtin_trap(); /* every rejection names its reason */
        why = NULL;
        r = go_read_heap(&t, &h, &rate, &why);
        if (r == 0) {
                volatile uint64_t sum = 0;
                for (size_t i = 0; i < h->nsites; i++) {
                        const struct heap_stack *st = &h->stacks[h->sites[i].stack];
                        if (st->depth > MP_MAX_DEPTH || h->sites[i].frees > h->sites[i].allocs)
                                __builtin_trap();
                        for (uint32_t k = 0; k < st->depth; k++)
                                sum += st->pcs[k];
                }
                (void)sum;
                heap_snapshot_free(h);
        } else if (r == -EBADMSG && !why) {
                __builtin_trap();
        }
        check_goroutines(&t);
        return 0;
}
