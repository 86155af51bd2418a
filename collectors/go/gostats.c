/* runtime.MemStats from outside: the sums runtime.readmemstats_m makes (mstats.go,
 * Go 1.19 to 1.23), over the runtime's own globals read from the live process. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gobinary.h"
#include "goruntime.h"

#define READ_TRIES 3                 /* re-reads of a copy that raced with the runtime */
#define ALLP_MAX 4096                /* GOMAXPROCS is at most this many Ps worth reading */
#define HEAP_GOAL_RUNWAY (64u << 10) /* mgcpacer.go's minRunway */

/* A copy of one global, and the fields read from it. */
struct blob {
        uint8_t *buf;
        size_t len;
        bool bad; /* a field fell outside the copy */
};

static uint64_t at(struct blob *b, uint64_t base, struct go_field f)
{
        uint64_t v = 0, off;

        if (!f.ok || __builtin_add_overflow(base, f.off, &off) || off > b->len ||
            f.size > b->len - off) {
                b->bad = true;
                return 0;
        }
        for (unsigned i = 0; i < f.size; i++)
                v |= (uint64_t)b->buf[off + i] << (8 * i);
        if (f.is_signed && f.size < 8 && (v >> (8 * f.size - 1)) & 1)
                v |= ~0ull << (8 * f.size); /* sign-extended: a negative delta stays one */
        return v;
}

static int read_var(struct go_target *t, const struct go_var *v, struct blob *ret)
{
        int r;

        if (!v->ok || v->size == 0 || v->size > GO_MEM_READ_MAX)
                return -EBADMSG;
        ret->buf = malloc(v->size);
        if (!ret->buf)
                return -ENOMEM;
        ret->len = v->size;
        ret->bad = false;
        r = go_mem_read(&t->mem, t->bias + v->addr, ret->buf, v->size);
        if (r < 0) {
                free(ret->buf);
                ret->buf = NULL;
        }
        return r;
}

static int read_field(struct go_target *t, const struct go_var *v, struct go_field f, uint64_t *ret)
{
        uint64_t v64;
        int r;

        if (!v->ok || !f.ok)
                return -EBADMSG;
        r = go_mem_read_uint(&t->mem, t->bias + v->addr + f.off, f.size, &v64);
        if (r < 0)
                return r;
        if (f.is_signed && f.size < 8 && (v64 >> (8 * f.size - 1)) & 1)
                v64 |= ~0ull << (8 * f.size);
        *ret = v64;
        return 0;
}

/* The heapStatsDelta generations summed (consistentHeapStats.unsafeRead), the way
 * readmemstats_m turns them into totals. */
struct cons {
        uint64_t in_stacks, in_work_bufs, in_ptr_scalar_bits; /* int64 sums, wrapped */
        uint64_t total_alloc, total_free, nmalloc, nfree;
};

static int sum_deltas(const struct go_layout *l, struct blob *ms, const uint16_t *sizes,
                      uint64_t nsizes, struct cons *ret)
{
        const struct go_heap_delta *d = &l->delta;
        struct cons c = {0};

        if (d->small_alloc_count.count != nsizes || d->small_free_count.count != nsizes ||
            d->small_alloc_count.stride != 8 || d->small_free_count.stride != 8)
                return -EBADMSG;
        for (uint64_t g = 0; g < l->heap_stats.count; g++) {
                uint64_t base = l->heap_stats.off + g * l->heap_stats.stride;
                uint64_t tiny = at(ms, base, d->tiny_alloc_count);

                c.in_stacks += at(ms, base, d->in_stacks);
                c.in_work_bufs += at(ms, base, d->in_work_bufs);
                c.in_ptr_scalar_bits += at(ms, base, d->in_ptr_scalar_bits);
                c.total_alloc += at(ms, base, d->large_alloc);
                c.nmalloc += at(ms, base, d->large_alloc_count) + tiny;
                c.total_free += at(ms, base, d->large_free);
                c.nfree += at(ms, base, d->large_free_count) + tiny;
                for (uint64_t i = 0; i < nsizes; i++) {
                        struct go_field fa = {
                            .off = d->small_alloc_count.off + 8 * i, .size = 8, .ok = true};
                        struct go_field ff = {
                            .off = d->small_free_count.off + 8 * i, .size = 8, .ok = true};
                        uint64_t a = at(ms, base, fa), f = at(ms, base, ff);

                        c.total_alloc += a * sizes[i];
                        c.nmalloc += a;
                        c.total_free += f * sizes[i];
                        c.nfree += f;
                }
        }
        if (ms->bad)
                return -EBADMSG;
        *ret = c;
        return 0;
}

static const char *missing_member(const struct go_layout *l)
{
        const struct go_heap_delta *d = &l->delta;

        if (!l->heap_stats.ok || l->heap_stats.count > 8)
                return "memstats.heapStats.stats";
        if (!d->in_stacks.ok || !d->in_work_bufs.ok || !d->in_ptr_scalar_bits.ok ||
            !d->tiny_alloc_count.ok || !d->large_alloc.ok || !d->large_alloc_count.ok ||
            !d->large_free.ok || !d->large_free_count.ok || !d->small_alloc_count.ok ||
            !d->small_free_count.ok)
                return "a member of heapStatsDelta";
        if (!l->stacks_sys.ok || !l->mspan_sys.ok || !l->mcache_sys.ok || !l->buckhash_sys.ok ||
            !l->gc_misc_sys.ok || !l->other_sys.ok || !l->last_gc_unix.ok ||
            !l->pause_total_ns.ok || !l->numgc.ok || !l->numforcedgc.ok)
                return "a member of runtime.mstats";
        if (!l->heap_in_use.ok || !l->heap_free.ok || !l->heap_released.ok ||
            !l->gc_percent_heap_goal.ok)
                return "a member of runtime.gcController";
        if (!l->spanalloc_inuse.ok || !l->cachealloc_inuse.ok)
                return "runtime.mheap_'s fixalloc inuse";
        if (!l->class_sizes.ok || l->class_sizes.stride != 2 || l->class_sizes.count > 1024)
                return "runtime.class_to_size";
        return NULL;
}

/* NumGoroutine: gcount() in proc.go. */
int go_read_goroutine_count(struct go_target *t, uint64_t *ret)
{
        const struct go_layout *l = &t->bin->layout;
        uint64_t allglen, gfree, ngsys, allp, np, pp, n;
        int64_t count;
        int r;

        if ((r = read_field(t, &l->allglen, l->allglen_v, &allglen)) < 0 ||
            (r = read_field(t, &l->sched, l->sched_gfree_n, &gfree)) < 0 ||
            (r = read_field(t, &l->sched, l->sched_ngsys, &ngsys)) < 0 ||
            (r = read_field(t, &l->allp, l->allp_array, &allp)) < 0 ||
            (r = read_field(t, &l->allp, l->allp_len, &np)) < 0)
                return r;
        if (!l->p_gfree_n.ok || np > ALLP_MAX)
                return -EBADMSG;
        count = (int64_t)(int32_t)allglen - (int32_t)gfree - (int32_t)ngsys;
        for (uint64_t i = 0; i < np; i++) {
                r = go_mem_read_uint(&t->mem, allp + 8 * i, 8, &pp);
                if (r < 0)
                        return r;
                if (pp == 0)
                        continue;
                r = go_mem_read_uint(&t->mem, pp + l->p_gfree_n.off, l->p_gfree_n.size, &n);
                if (r < 0)
                        return r;
                count -= (int32_t)n;
        }
        *ret = count < 1 ? 1 : (uint64_t)count;
        return 0;
}

static int read_once(struct go_target *t, const uint16_t *sizes, uint64_t nsizes,
                     struct go_memstats *m, bool *ret_consistent)
{
        const struct go_layout *l = &t->bin->layout;
        struct blob ms = {0}, gc = {0};
        struct cons c;
        uint64_t heap_in_use, heap_free, heap_released, goal, v;
        int r;

        r = read_var(t, &l->memstats, &ms);
        if (r < 0)
                goto out;
        r = read_var(t, &l->gc_controller, &gc);
        if (r < 0)
                goto out;
        r = sum_deltas(l, &ms, sizes, nsizes, &c);
        if (r < 0)
                goto out;

        heap_in_use = at(&gc, 0, l->heap_in_use);
        heap_free = at(&gc, 0, l->heap_free);
        heap_released = at(&gc, 0, l->heap_released);
        goal = at(&gc, 0, l->gc_percent_heap_goal);
        /* heapGoalInternal without a memory limit: the sweep-distance and runway floors */
        if (l->memory_limit.ok && at(&gc, 0, l->memory_limit) != (uint64_t)INT64_MAX)
                m->memory_limit_set = true;
        if (l->sweep_dist_min_trigger.ok && at(&gc, 0, l->sweep_dist_min_trigger) > goal)
                goal = at(&gc, 0, l->sweep_dist_min_trigger);
        if (l->triggered.ok && (v = at(&gc, 0, l->triggered)) != UINT64_MAX &&
            goal < v + HEAP_GOAL_RUNWAY)
                goal = v + HEAP_GOAL_RUNWAY;

        m->alloc = m->heap_alloc = c.total_alloc - c.total_free;
        m->total_alloc = c.total_alloc;
        m->mallocs = c.nmalloc;
        m->frees = c.nfree;
        m->heap_sys = heap_in_use + heap_free + heap_released;
        m->heap_idle = heap_free + heap_released;
        m->heap_inuse = heap_in_use;
        m->heap_released = heap_released;
        m->heap_objects = c.nmalloc - c.nfree;
        m->stack_inuse = (uint64_t)c.in_stacks;
        m->stack_sys = (uint64_t)c.in_stacks + at(&ms, 0, l->stacks_sys);
        m->gc_sys =
            at(&ms, 0, l->gc_misc_sys) + (uint64_t)c.in_work_bufs + (uint64_t)c.in_ptr_scalar_bits;
        m->other_sys = at(&ms, 0, l->other_sys);
        m->sys = m->heap_sys + at(&ms, 0, l->stacks_sys) + at(&ms, 0, l->mspan_sys) +
                 at(&ms, 0, l->mcache_sys) + at(&ms, 0, l->buckhash_sys) +
                 at(&ms, 0, l->gc_misc_sys) + m->other_sys + (uint64_t)c.in_stacks +
                 (uint64_t)c.in_work_bufs + (uint64_t)c.in_ptr_scalar_bits;
        m->next_gc = goal;
        m->last_gc = at(&ms, 0, l->last_gc_unix);
        m->pause_total_ns = at(&ms, 0, l->pause_total_ns);
        m->num_gc = at(&ms, 0, l->numgc);
        m->num_forced_gc = at(&ms, 0, l->numforcedgc);
        if (ms.bad || gc.bad) {
                r = -EBADMSG;
                goto out;
        }
        /* a copy taken while the runtime moved counters between generations */
        *ret_consistent = c.total_free <= c.total_alloc && c.nfree <= c.nmalloc &&
                          (int64_t)c.in_stacks >= 0 && (int64_t)c.in_work_bufs >= 0 &&
                          (int64_t)c.in_ptr_scalar_bits >= 0;
out:
        free(ms.buf);
        free(gc.buf);
        return r;
}

int go_read_memstats(struct go_target *t, struct go_memstats *ret, const char **ret_why)
{
        const struct go_layout *l = &t->bin->layout;
        struct go_memstats m = {0};
        uint16_t sizes[1024];
        uint8_t raw[2048];
        const char *why;
        bool consistent = false;
        int r;

        if (!t->bin->layout_ok) {
                *ret_why = t->bin->why;
                return -EBADMSG;
        }
        why = missing_member(l);
        if (why) {
                *ret_why = why;
                return -EBADMSG;
        }
        r = go_mem_read(&t->mem, t->bias + l->class_to_size.addr + l->class_sizes.off, raw,
                        l->class_sizes.count * 2);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < l->class_sizes.count; i++)
                sizes[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);

        for (int i = 0; i < READ_TRIES && !consistent; i++) {
                r = read_once(t, sizes, l->class_sizes.count, &m, &consistent);
                if (r == -EBADMSG) {
                        *ret_why = "the runtime's heap statistics do not fit their DWARF "
                                   "layout";
                        return r;
                }
                if (r < 0)
                        return r;
        }
        if (!consistent) {
                *ret_why = "the runtime's heap statistics are inconsistent (frees above "
                           "allocations)";
                return -EBADMSG;
        }
        if ((r = read_field(t, &l->mheap, l->spanalloc_inuse, &m.mspan_inuse)) < 0 ||
            (r = read_field(t, &l->mheap, l->cachealloc_inuse, &m.mcache_inuse)) < 0)
                return r;
        /* the three below are optional: a layout without one shows 0 and says nothing
         * wrong about the heap figures */
        if (go_read_goroutine_count(t, &m.goroutines) == -EFAULT)
                return -EFAULT;
        read_field(t, &l->gomaxprocs, l->gomaxprocs_v, &m.gomaxprocs);
        read_field(t, &l->mem_profile_rate, l->mem_profile_rate_v, &m.mem_profile_rate);
        *ret = m;
        return 0;
}
