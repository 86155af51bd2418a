/* The Go runtime's heap profile read from outside: the mbuckets list (mprof.go), each
 * bucket's stack and memRecord combined as runtime.MemProfile does, into the same
 * heap_snapshot the shim's segment gives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gobinary.h"
#include "goruntime.h"
#include "heap_segment.h"

#define BUCKETS_MAX (1u << 20) /* a longer list is circular or forged */
#define STACK_MAX 1024         /* mprof.go's maxProfStackDepth, the deepest version */
#define STACK_GUESS 32         /* pcs read with the header: most stacks are shorter */
#define FUTURE_MAX 8

struct cycle {
        uint64_t allocs, frees, alloc_bytes, free_bytes;
};

struct raw_bucket {
        uint64_t size, nstk;
        uint64_t *pcs;
        struct cycle active, future[FUTURE_MAX];
};

struct builder {
        struct raw_bucket *b;
        size_t n, cap;
};

static uint64_t le(const uint8_t *p, struct go_field f)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < f.size; i++)
                v |= (uint64_t)p[f.off + i] << (8 * i);
        return v;
}

static void read_cycle(const struct go_bucket_layout *bl, const uint8_t *rec, uint64_t off,
                       struct cycle *ret)
{
        const uint8_t *p = rec + off;

        ret->allocs = le(p, bl->allocs);
        ret->frees = le(p, bl->frees);
        ret->alloc_bytes = le(p, bl->alloc_bytes);
        ret->free_bytes = le(p, bl->free_bytes);
}

static bool cycle_fits(const struct go_bucket_layout *bl, uint64_t off)
{
        uint64_t cs = bl->future.stride;

        return off <= bl->record_size && cs <= bl->record_size - off &&
               bl->allocs.off + bl->allocs.size <= cs && bl->frees.off + bl->frees.size <= cs &&
               bl->alloc_bytes.off + bl->alloc_bytes.size <= cs &&
               bl->free_bytes.off + bl->free_bytes.size <= cs;
}

/* Reads one bucket at addr: header, stack and memRecord, usually in one read. */
static int read_bucket(struct go_target *t, const struct go_bucket_layout *bl, uint64_t addr,
                       uint8_t *buf, size_t buf_len, struct raw_bucket *ret, uint64_t *ret_next)
{
        uint64_t nstk, need, got;
        const uint8_t *rec;
        int r;

        got = bl->size + STACK_GUESS * 8 + bl->record_size;
        r = go_mem_read(&t->mem, addr, buf, got);
        if (r == -EFAULT) { /* a short bucket at the end of a mapping */
                got = bl->size;
                r = go_mem_read(&t->mem, addr, buf, got);
        }
        if (r < 0)
                return r;
        nstk = le(buf, bl->nstk);
        if (nstk > STACK_MAX)
                return -EBADMSG;
        need = bl->size + nstk * 8 + bl->record_size;
        if (need > buf_len)
                return -EBADMSG;
        if (need > got) {
                r = go_mem_read(&t->mem, addr, buf, need);
                if (r < 0)
                        return r;
        }
        ret->size = le(buf, bl->bsize);
        ret->nstk = nstk;
        ret->pcs = malloc((nstk ? nstk : 1) * sizeof(uint64_t));
        if (!ret->pcs)
                return -ENOMEM;
        for (uint64_t i = 0; i < nstk; i++) {
                struct go_field f = {.off = bl->size + 8 * i, .size = 8};
                ret->pcs[i] = le(buf, f);
        }
        rec = buf + bl->size + nstk * 8;
        read_cycle(bl, rec, bl->active.off, &ret->active);
        for (uint64_t c = 0; c < bl->future.count; c++)
                read_cycle(bl, rec, bl->future.off + c * bl->future.stride, &ret->future[c]);
        *ret_next = le(buf, bl->allnext);
        return 0;
}

static void add(struct cycle *to, const struct cycle *c)
{
        to->allocs += c->allocs;
        to->frees += c->frees;
        to->alloc_bytes += c->alloc_bytes;
        to->free_bytes += c->free_bytes;
}

static void builder_free(struct builder *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->b[i].pcs);
        free(b->b);
}

static int walk(struct go_target *t, const struct go_layout *l, struct builder *out)
{
        const struct go_bucket_layout *bl = &l->bucket;
        size_t buf_len = bl->size + STACK_MAX * 8 + bl->record_size;
        uint8_t *buf;
        uint64_t addr, mark = 0; /* Brent's cycle check: a forged loop ends early */
        size_t steps = 0, power = 1;
        int r;

        r = go_mem_read_uint(&t->mem, t->bias + l->mbuckets.addr + l->mbuckets_v.off,
                             l->mbuckets_v.size, &addr);
        if (r < 0)
                return r;
        buf = malloc(buf_len);
        if (!buf)
                return -ENOMEM;
        while (addr != 0) {
                if (out->n >= BUCKETS_MAX) {
                        r = -EBADMSG; /* circular, or more buckets than any program makes */
                        goto out;
                }
                if (out->n == out->cap) {
                        size_t cap = out->cap ? out->cap * 2 : 256;
                        struct raw_bucket *nb = realloc(out->b, cap * sizeof(*nb));
                        if (!nb) {
                                r = -ENOMEM;
                                goto out;
                        }
                        out->b = nb;
                        out->cap = cap;
                }
                r = read_bucket(t, bl, addr, buf, buf_len, &out->b[out->n], &addr);
                if (r < 0)
                        goto out;
                out->n++;
                if (addr != 0 && addr == mark) {
                        r = -EBADMSG;
                        goto out;
                }
                if (++steps == power) {
                        mark = addr;
                        power *= 2;
                        steps = 0;
                }
        }
        r = 0;
out:
        free(buf);
        return r;
}

/* runtime.MemProfile's view: active plus the cycle now being published, or, while
 * nothing is published yet (no GC since profiling began), every cycle. */
static void combine(struct builder *bs, uint32_t cycle, uint64_t nfuture, struct cycle *ret)
{
        bool clear = true;
        uint32_t index = cycle % nfuture;

        for (size_t i = 0; i < bs->n; i++) {
                ret[i] = bs->b[i].active;
                add(&ret[i], &bs->b[i].future[index]);
                if (ret[i].allocs != 0 || ret[i].frees != 0)
                        clear = false;
        }
        if (!clear)
                return;
        for (size_t i = 0; i < bs->n; i++)
                for (uint64_t c = 0; c < nfuture; c++)
                        if (c != index)
                                add(&ret[i], &bs->b[i].future[c]);
}

static int to_snapshot(struct builder *bs, const struct cycle *c, uint64_t rate,
                       struct heap_snapshot **ret)
{
        struct heap_snapshot *h = calloc(1, sizeof(*h));
        size_t nframes = 0, at = 0;
        struct timespec now;

        if (!h)
                return -ENOMEM;
        for (size_t i = 0; i < bs->n; i++)
                nframes += bs->b[i].nstk;
        h->stacks = calloc(bs->n ? bs->n : 1, sizeof(*h->stacks));
        h->sites = calloc(bs->n ? bs->n : 1, sizeof(*h->sites));
        h->frames = calloc(nframes ? nframes : 1, sizeof(*h->frames));
        if (!h->stacks || !h->sites || !h->frames) {
                heap_snapshot_free(h);
                return -ENOMEM;
        }
        for (size_t i = 0; i < bs->n; i++) {
                const struct raw_bucket *b = &bs->b[i];
                uint32_t depth = b->nstk > MP_MAX_DEPTH ? MP_MAX_DEPTH : (uint32_t)b->nstk;

                if (c[i].allocs == 0 || b->size == 0)
                        continue; /* nothing sampled in the cycles shown: all values 0 */
                memcpy(h->frames + at, b->pcs, depth * sizeof(uint64_t));
                h->stacks[h->nstacks] = (struct heap_stack){.depth = depth, .pcs = h->frames + at};
                h->sites[h->nsites++] = (struct heap_site){
                    .stack = (uint32_t)h->nstacks++,
                    .size = b->size,
                    .allocs = c[i].allocs,
                    .frees = c[i].frees > c[i].allocs ? c[i].allocs : c[i].frees,
                };
                at += depth;
        }
        h->rate = rate;
        clock_gettime(CLOCK_REALTIME, &now);
        h->time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        *ret = h;
        return 0;
}

int go_read_heap(struct go_target *t, struct heap_snapshot **ret, uint64_t *ret_rate,
                 const char **ret_why)
{
        const struct go_layout *l = &t->bin->layout;
        const struct go_bucket_layout *bl = &l->bucket;
        struct builder bs = {0};
        struct cycle *c = NULL;
        uint64_t cycle = 0, rate = 0;
        int r;

        if (!t->bin->layout_ok) {
                *ret_why = t->bin->why;
                return -EBADMSG;
        }
        if (!bl->ok || !l->mbuckets.ok || !l->mbuckets_v.ok || !l->mprof_cycle.ok ||
            !l->mprof_cycle_v.ok || !l->mem_profile_rate_v.ok || bl->future.count == 0 ||
            bl->future.count > FUTURE_MAX || bl->size > 4096 || bl->record_size > 4096 ||
            !cycle_fits(bl, bl->active.off) ||
            !cycle_fits(bl, bl->future.off + (bl->future.count - 1) * bl->future.stride) ||
            bl->nstk.off + bl->nstk.size > bl->size ||
            bl->allnext.off + bl->allnext.size > bl->size ||
            bl->bsize.off + bl->bsize.size > bl->size) {
                *ret_why = "this Go runtime's profiling buckets were not recognised";
                return -EBADMSG;
        }
        r = go_mem_read_uint(&t->mem, t->bias + l->mem_profile_rate.addr,
                             l->mem_profile_rate_v.size, &rate);
        if (r < 0)
                return r;
        r = go_mem_read_uint(&t->mem, t->bias + l->mprof_cycle.addr + l->mprof_cycle_v.off,
                             l->mprof_cycle_v.size, &cycle);
        if (r < 0)
                return r;
        r = walk(t, l, &bs);
        if (r == -EBADMSG)
                *ret_why = "the Go runtime's bucket list is inconsistent (too long, a cycle, "
                           "or a stack deeper than the runtime allows)";
        if (r < 0)
                goto out;
        c = calloc(bs.n ? bs.n : 1, sizeof(*c));
        if (!c) {
                r = -ENOMEM;
                goto out;
        }
        combine(&bs, (uint32_t)(cycle >> 1), bl->future.count, c);
        r = to_snapshot(&bs, c, (int64_t)rate < 0 ? 0 : rate, ret);
        if (r == 0)
                *ret_rate = rate;
out:
        free(c);
        builder_free(&bs);
        return r;
}
