/* Every goroutine of a Go process read from outside: runtime.allgs walked, each g's status,
 * wait reason and creator, and the stacks of the parked ones, without stopping it.  What
 * moved while it was read is read again, a bounded number of times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gobinary.h"
#include "goruntime.h"
#include "gostack.h"

#define READ_TRIES 3             /* re-reads of allgs, and of goroutines that moved */
#define HEAD_BATCH 4096          /* gs whose headers are read in one vector read */
#define STACK_BATCH 1024         /* stacks copied in one vector read */
#define FRAMES_BUDGET (8u << 20) /* pcs in one snapshot (64 MiB): beyond, no more stacks */
#define NAMES_MAX 128            /* entries of a status or wait-reason table */

/* The part of a g the walk reads: its fields are all below this. */
static size_t g_span(const struct go_g_layout *gl)
{
        const struct go_field *f[] = {
            &gl->stack_lo, &gl->stack_hi,   &gl->m,          &gl->sched_sp,  &gl->sched_pc,
            &gl->sched_bp, &gl->syscallsp,  &gl->syscallpc,  &gl->syscallbp, &gl->status,
            &gl->goid,     &gl->waitsince,  &gl->waitreason, &gl->lockedm,   &gl->gopc,
            &gl->startpc,  &gl->parent_goid};
        size_t span = 0;

        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
                if (f[i]->ok && f[i]->off + f[i]->size > span)
                        span = f[i]->off + f[i]->size;
        return span;
}

static uint64_t fld(const uint8_t *buf, struct go_field f)
{
        uint64_t v = 0;

        if (!f.ok)
                return 0;
        for (unsigned i = 0; i < f.size; i++)
                v |= (uint64_t)buf[f.off + i] << (8 * i);
        return v;
}

/* The raw state a g's stack is read from, compared again after the read. */
struct ghead {
        uint64_t status, goid, sp, pc, bp, lo, hi, m, syscallsp, syscallpc, syscallbp;
};

static void parse_head(const struct go_g_layout *gl, const uint8_t *b, struct ghead *h)
{
        *h = (struct ghead){
            .status = fld(b, gl->status),
            .goid = fld(b, gl->goid),
            .sp = fld(b, gl->sched_sp),
            .pc = fld(b, gl->sched_pc),
            .bp = fld(b, gl->sched_bp),
            .lo = fld(b, gl->stack_lo),
            .hi = fld(b, gl->stack_hi),
            .m = fld(b, gl->m),
            .syscallsp = fld(b, gl->syscallsp),
            .syscallpc = fld(b, gl->syscallpc),
            .syscallbp = fld(b, gl->syscallbp),
        };
}

/* Strings of a [N]string table in the target (the runtime's own spelling). */
static int read_names(struct go_target *t, const struct go_var *v, uint64_t count,
                      char (**ret)[GO_NAME_MAX], size_t *ret_n)
{
        uint8_t raw[NAMES_MAX * 16];
        struct go_iov iov[NAMES_MAX];
        char(*names)[GO_NAME_MAX];
        int r;

        if (!v->ok || count == 0 || count > NAMES_MAX)
                return 0; /* shown as numbers */
        r = go_mem_read(&t->mem, t->bias + v->addr, raw, count * 16);
        if (r < 0)
                return r;
        names = calloc(count, GO_NAME_MAX);
        if (!names)
                return -ENOMEM;
        for (uint64_t i = 0; i < count; i++) {
                struct go_field p = {.off = 16 * i, .size = 8, .ok = true};
                struct go_field l = {.off = 16 * i + 8, .size = 8, .ok = true};
                uint64_t len = fld(raw, l);

                iov[i] = (struct go_iov){.addr = fld(raw, p),
                                         .buf = names[i],
                                         .len = len < GO_NAME_MAX ? len : GO_NAME_MAX - 1};
        }
        r = go_mem_readv(&t->mem, iov, count);
        for (uint64_t i = 0; i < count && r == 0; i++) {
                if (iov[i].error < 0)
                        names[i][0] = '\0';
                for (size_t k = 0; names[i][k]; k++)
                        if (names[i][k] < 0x20 || names[i][k] > 0x7e)
                                names[i][k] = '?'; /* the target's bytes: printable only */
        }
        if (r < 0) {
                free(names);
                return r;
        }
        *ret = names;
        *ret_n = count;
        return 0;
}

/* runtime.allgs as one consistent copy: allglen before allgptr (proc.go's order, so the
 * length never exceeds the array), read again if the array was replaced and freed. */
static int read_allgs(struct go_target *t, const struct go_layout *l, uint64_t **ret, size_t *ret_n)
{
        const struct go_g_layout *gl = &l->g;
        uint64_t n, array, *ptrs = NULL;
        int r = -EAGAIN;

        for (int try = 0; try < READ_TRIES && r == -EAGAIN; try++) {
                r = go_mem_read_uint(&t->mem, t->bias + l->allglen.addr + l->allglen_v.off,
                                     l->allglen_v.size, &n);
                if (r == 0)
                        r = go_mem_read_uint(&t->mem,
                                             t->bias + gl->allgptr.addr + gl->allgptr_v.off,
                                             gl->allgptr_v.size, &array);
                if (r < 0)
                        return r;
                if (n > GO_GOROUTINES_MAX)
                        return -EBADMSG;
                free(ptrs);
                ptrs = malloc((n ? n : 1) * sizeof(*ptrs));
                if (!ptrs)
                        return -ENOMEM;
                r = 0;
                for (uint64_t at = 0; at < n && r == 0; at += GO_MEM_READ_MAX / 8) {
                        uint64_t k = n - at < GO_MEM_READ_MAX / 8 ? n - at : GO_MEM_READ_MAX / 8;

                        r = go_mem_read(&t->mem, array + 8 * at, ptrs + at, 8 * k);
                }
                if (r == -EFAULT)
                        r = -EAGAIN;
        }
        if (r < 0) {
                free(ptrs);
                return r == -EAGAIN ? -EBADMSG : r;
        }
        *ret = ptrs;
        *ret_n = n;
        return 0;
}

static bool in_runtime(const struct go_g_layout *gl, uint64_t pc)
{
        size_t lo = 0, hi = gl->nruntime;

        while (lo < hi) { /* the last range starting at or below pc */
                size_t mid = lo + (hi - lo) / 2;

                if (gl->runtime_lo[mid] <= pc)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo > 0 && pc < gl->runtime_hi[lo - 1];
}

/* isSystemGoroutine (traceback.go): started in a runtime.* function other than
 * runtime.main (and corostart); the finalizer goroutine only while it is not running
 * a finalizer. */
static bool is_system(const struct go_g_layout *gl, uint64_t startpc, bool fing_running)
{
        if (startpc == 0 || startpc == gl->main_pc || startpc == gl->corostart_pc)
                return false;
        if (startpc == gl->runfinq_pc)
                return !fing_running;
        return in_runtime(gl, startpc);
}

static bool fing_running(struct go_target *t, const struct go_g_layout *gl)
{
        uint64_t v;

        if (!gl->fing.ok || !gl->fing_v.ok ||
            go_mem_read_uint(&t->mem, t->bias + gl->fing.addr + gl->fing_v.off, gl->fing_v.size,
                             &v) < 0)
                return false;
        return gl->fing_mask ? (v & gl->fing_mask) != 0 : v != 0;
}

/* Where a parked goroutine's stack is read from; false: it is on a thread. */
static bool parked_start(const struct go_g_layout *gl, const struct go_target *t,
                         const struct ghead *h, uint64_t startpc, struct go_stack_start *ret)
{
        uint64_t st = h->status & ~gl->s_scan;

        *ret = (struct go_stack_start){.pc = h->pc,
                                       .sp = h->sp,
                                       .bp = h->bp,
                                       .lo = h->lo,
                                       .hi = h->hi,
                                       .startpc = startpc,
                                       .text_lo = t->bias + gl->text_lo,
                                       .text_hi = t->bias + gl->text_hi};
        if (st == gl->s_syscall) {
                if (!gl->syscallbp.ok)
                        return false; /* before 1.23 the frame pointer is not saved */
                ret->pc = h->syscallpc;
                ret->sp = h->syscallsp;
                ret->bp = h->syscallbp;
        } else if (st != gl->s_waiting && st != gl->s_runnable && st != gl->s_preempted) {
                return false;
        }
        return true;
}

struct walk {
        struct go_target *t;
        const struct go_g_layout *gl;
        struct go_goroutines *gs;
        struct ghead *heads; /* beside gs->g: the state each stack was read from */
        size_t cap;
        bool fing_running;
        uint8_t *scratch; /* GO_STACK_READ_MAX */
        uint8_t *copies;  /* STACK_BATCH * GO_STACK_COPY */
        size_t span;
};

static int frames_reserve(struct go_goroutines *gs, size_t more)
{
        size_t cap;
        uint64_t *nf;

        if (gs->nframes + more <= gs->frames_cap)
                return 0;
        if (gs->nframes + more > FRAMES_BUDGET)
                return -EFBIG;
        cap = gs->frames_cap ? gs->frames_cap * 2 : 4096;
        while (cap < gs->nframes + more)
                cap *= 2;
        if (cap > FRAMES_BUDGET)
                cap = FRAMES_BUDGET;
        nf = realloc(gs->frames, cap * sizeof(*nf));
        if (!nf)
                return -ENOMEM;
        gs->frames = nf;
        gs->frames_cap = cap;
        return 0;
}

/* One goroutine's stack from its copy; a full budget leaves it without one. */
static int walk_one(struct walk *w, size_t i, const struct go_stack_start *s,
                    const struct go_stack_copy *c)
{
        struct go_goroutine *g = &w->gs->g[i];
        int r = frames_reserve(w->gs, GO_STACK_MAX);

        if (r == -EFBIG) {
                g->error = -EFBIG;
                return 0;
        }
        if (r < 0)
                return r;
        g->frames_at = w->gs->nframes;
        g->npcs = go_stack_walk(&w->t->mem, s, c, w->scratch, w->gs->frames + w->gs->nframes,
                                GO_STACK_MAX, &g->truncated);
        w->gs->nframes += g->npcs;
        g->error = 0;
        return 0;
}

/* Copies the top of each listed goroutine's stack in vector reads and walks them. */
static int walk_stacks(struct walk *w, const size_t *idx, size_t n)
{
        struct go_iov iov[STACK_BATCH];
        struct go_stack_start s[STACK_BATCH];
        int r;

        for (size_t b = 0; b < n; b += STACK_BATCH) {
                size_t k = n - b < STACK_BATCH ? n - b : STACK_BATCH;

                for (size_t j = 0; j < k; j++) {
                        struct go_goroutine *g = &w->gs->g[idx[b + j]];
                        bool ok =
                            parked_start(w->gl, w->t, &w->heads[idx[b + j]], g->startpc, &s[j]);
                        uint64_t len = 0;

                        if (ok && s[j].lo < s[j].hi && s[j].sp >= s[j].lo && s[j].sp < s[j].hi &&
                            s[j].hi - s[j].lo <= (1ull << 30))
                                len = s[j].hi - s[j].sp < GO_STACK_COPY ? s[j].hi - s[j].sp
                                                                        : GO_STACK_COPY;
                        g->error = ok ? -EFAULT : GO_G_ON_THREAD;
                        iov[j] = (struct go_iov){.addr = s[j].sp,
                                                 .buf = w->copies + j * GO_STACK_COPY,
                                                 .len = len,
                                                 .error = -EFAULT};
                }
                r = go_mem_readv(&w->t->mem, iov, k);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < k; j++) {
                        struct go_stack_copy c = {
                            .addr = iov[j].addr, .data = iov[j].buf, .len = iov[j].len};

                        if (w->gs->g[idx[b + j]].error == GO_G_ON_THREAD)
                                continue;
                        if (iov[j].len == 0 || iov[j].error < 0)
                                continue; /* -EFAULT: a stack that cannot be read */
                        r = walk_one(w, idx[b + j], &s[j], &c);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Reads the headers of n (at most HEAD_BATCH) gs at addrs into bufs (n * span bytes). */
static int read_heads(struct walk *w, const uint64_t *addrs, size_t n, uint8_t *bufs, int *errors)
{
        struct go_iov *iov = calloc(n ? n : 1, sizeof(*iov));
        int r;

        if (!iov)
                return -ENOMEM;
        for (size_t j = 0; j < n; j++)
                iov[j] =
                    (struct go_iov){.addr = addrs[j], .buf = bufs + j * w->span, .len = w->span};
        r = go_mem_readv(&w->t->mem, iov, n);
        for (size_t j = 0; j < n && r == 0; j++)
                errors[j] = iov[j].error;
        free(iov);
        return r;
}

static bool same_head(const struct go_g_layout *gl, const struct ghead *a, const struct ghead *b)
{
        return a->status == b->status && a->goid == b->goid && a->sp == b->sp && a->pc == b->pc &&
               a->bp == b->bp && a->lo == b->lo && a->hi == b->hi &&
               ((a->status & ~gl->s_scan) != gl->s_syscall ||
                (a->syscallsp == b->syscallsp && a->syscallpc == b->syscallpc));
}

/* A g's fields into g (its stack not yet read); false for a g that is not live. */
static bool parse_g(struct walk *w, uint64_t addr, const uint8_t *b, struct go_goroutine *g,
                    struct ghead *h)
{
        const struct go_g_layout *gl = w->gl;
        uint64_t st;

        parse_head(gl, b, h);
        st = h->status & ~gl->s_scan;
        if (st == gl->s_dead || st == gl->s_idle)
                return false;
        *g = (struct go_goroutine){
            .addr = addr,
            .goid = h->goid,
            .parent_goid = fld(b, gl->parent_goid),
            .gopc = fld(b, gl->gopc),
            .startpc = fld(b, gl->startpc),
            .m = h->m,
            .waitsince = (int64_t)fld(b, gl->waitsince),
            .status = (uint32_t)st,
            .wait_reason = (uint32_t)fld(b, gl->waitreason),
            .scan = (h->status & gl->s_scan) != 0,
            .locked = fld(b, gl->lockedm) != 0,
            .error = GO_G_CHANGED,
        };
        g->system = is_system(gl, g->startpc - w->t->bias, w->fing_running);
        return true;
}

static int add_live(struct walk *w, const struct go_goroutine *g, const struct ghead *h)
{
        struct go_goroutines *gs = w->gs;

        if (gs->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 1024;
                struct go_goroutine *ng = realloc(gs->g, cap * sizeof(*ng));
                struct ghead *nh;

                if (!ng)
                        return -ENOMEM;
                gs->g = ng;
                nh = realloc(w->heads, cap * sizeof(*nh));
                if (!nh)
                        return -ENOMEM;
                w->heads = nh;
                w->cap = cap;
        }
        gs->g[gs->n] = *g;
        w->heads[gs->n++] = *h;
        return 0;
}

/* allgs, HEAD_BATCH gs at a time: the live ones kept, the unreadable counted. */
static int list_live(struct walk *w, const uint64_t *ptrs, size_t n)
{
        uint8_t *bufs = malloc(HEAD_BATCH * w->span);
        int *errors = malloc(HEAD_BATCH * sizeof(*errors));
        int r = bufs && errors ? 0 : -ENOMEM;

        for (size_t b = 0; b < n && r == 0; b += HEAD_BATCH) {
                size_t k = n - b < HEAD_BATCH ? n - b : HEAD_BATCH;

                r = read_heads(w, ptrs + b, k, bufs, errors);
                for (size_t j = 0; j < k && r == 0; j++) {
                        struct go_goroutine g;
                        struct ghead h;

                        if (errors[j] < 0) {
                                w->gs->unreadable++;
                                continue;
                        }
                        if (parse_g(w, ptrs[b + j], bufs + j * w->span, &g, &h))
                                r = add_live(w, &g, &h);
                }
        }
        free(bufs);
        free(errors);
        return r;
}

/*
 * Stacks of the parked goroutines, then their headers read again: one that moved since
 * (another status, SP or PC) is read again with its new state, up to READ_TRIES times,
 * then left without a stack (GO_G_CHANGED) and counted.
 */
static int read_stacks(struct walk *w)
{
        size_t n = w->gs->n, *todo = malloc((n ? n : 1) * sizeof(*todo));
        uint64_t *addrs = malloc(HEAD_BATCH * sizeof(*addrs));
        uint8_t *bufs = malloc(HEAD_BATCH * w->span);
        int *errors = malloc(HEAD_BATCH * sizeof(*errors));
        size_t ntodo = n;
        int r = todo && addrs && bufs && errors ? 0 : -ENOMEM;

        for (size_t i = 0; i < n && r == 0; i++)
                todo[i] = i;
        for (int try = 0; try < READ_TRIES && ntodo > 0 && r == 0; try++) {
                size_t moved = 0;

                r = walk_stacks(w, todo, ntodo);
                for (size_t b = 0; b < ntodo && r == 0; b += HEAD_BATCH) {
                        size_t k = ntodo - b < HEAD_BATCH ? ntodo - b : HEAD_BATCH;

                        for (size_t j = 0; j < k; j++)
                                addrs[j] = w->gs->g[todo[b + j]].addr;
                        r = read_heads(w, addrs, k, bufs, errors);
                        for (size_t j = 0; j < k && r == 0; j++) {
                                size_t i = todo[b + j];
                                struct go_goroutine *g = &w->gs->g[i], ng;
                                struct ghead h;

                                if (errors[j] < 0 ||
                                    !parse_g(w, g->addr, bufs + j * w->span, &ng, &h)) {
                                        g->error = GO_G_CHANGED; /* it ended meanwhile */
                                        g->npcs = 0;
                                        continue;
                                }
                                if (same_head(w->gl, &w->heads[i], &h))
                                        continue;
                                *g = ng; /* read with its new state next round */
                                w->heads[i] = h;
                                todo[moved++] = i;
                        }
                }
                ntodo = moved;
        }
        free(todo);
        free(addrs);
        free(bufs);
        free(errors);
        return r;
}

/* The thread each goroutine on a thread runs on: m.procid (minit sets it to gettid). */
static int thread_ids(struct walk *w)
{
        const struct go_g_layout *gl = w->gl;

        for (size_t i = 0; i < w->gs->n; i++) {
                struct go_goroutine *g = &w->gs->g[i];
                uint64_t tid = 0, curg = 0;

                if (g->error != GO_G_ON_THREAD)
                        continue;
                w->gs->on_thread++;
                if (g->m == 0)
                        continue;
                if (go_mem_read_uint(&w->t->mem, g->m + gl->m_procid.off, gl->m_procid.size, &tid) <
                        0 ||
                    go_mem_read_uint(&w->t->mem, g->m + gl->m_curg.off, gl->m_curg.size, &curg) < 0)
                        continue;
                /* a syscall's M still names it; a running g is its M's curg */
                if (tid > 0 && tid < (1u << 30) && (curg == g->addr || curg == 0))
                        g->tid = (pid_t)tid;
        }
        return 0;
}

static int cmp_goid(const void *a, const void *b)
{
        const struct go_goroutine *x = a, *y = b;

        if (x->goid != y->goid)
                return (x->goid > y->goid) - (x->goid < y->goid);
        return (x->addr > y->addr) - (x->addr < y->addr);
}

/* The pcs pointers set once the frames stop moving, the goroutines by goid. */
static void finish(struct go_goroutines *gs)
{
        if (gs->n > 1)
                qsort(gs->g, gs->n, sizeof(*gs->g), cmp_goid);
        for (size_t i = 0; i < gs->n; i++)
                gs->g[i].pcs = gs->g[i].npcs ? gs->frames + gs->g[i].frames_at : NULL;
}

void go_goroutines_free(struct go_goroutines *gs)
{
        if (!gs)
                return;
        free(gs->g);
        free(gs->frames);
        free(gs->status_names);
        free(gs->reasons);
        free(gs);
}

static int64_t clock_ns(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int setup(struct go_target *t, struct walk *w, const char **ret_why)
{
        const struct go_layout *l = &t->bin->layout;

        if (!t->bin->layout_ok) {
                *ret_why = t->bin->why;
                return -EBADMSG;
        }
        if (!l->g.ok || !l->allglen.ok || l->g.text_hi <= l->g.text_lo) {
                *ret_why = "this Go runtime's goroutine structures were not recognised";
                return -EBADMSG;
        }
        *w = (struct walk){.t = t, .gl = &l->g, .span = g_span(&l->g)};
        if (w->span == 0 || w->span > l->g.g_size) {
                *ret_why = "this Go runtime's g does not hold the members it should";
                return -EBADMSG;
        }
        w->scratch = malloc(GO_STACK_READ_MAX);
        w->copies = malloc((size_t)STACK_BATCH * GO_STACK_COPY);
        return w->scratch && w->copies ? 0 : -ENOMEM;
}

static void teardown(struct walk *w)
{
        free(w->scratch);
        free(w->copies);
        free(w->heads);
}

int go_read_goroutines(struct go_target *t, struct go_goroutines **ret, const char **ret_why)
{
        const struct go_layout *l = &t->bin->layout;
        struct go_goroutines *gs;
        struct walk w = {0};
        uint64_t *ptrs = NULL;
        size_t n = 0;
        int r;

        r = setup(t, &w, ret_why);
        gs = calloc(1, sizeof(*gs));
        if (r == 0 && !gs)
                r = -ENOMEM;
        if (r < 0)
                goto fail;
        w.gs = gs;
        snprintf(gs->version, sizeof(gs->version), "%s", t->version);
        gs->time_ns = clock_ns(CLOCK_REALTIME);
        gs->mono_ns = clock_ns(CLOCK_MONOTONIC);
        gs->status_waiting = (uint32_t)l->g.s_waiting;
        r = go_read_goroutine_count(t, &gs->runtime_count);
        if (r == -ESRCH)
                goto fail;
        r = read_names(t, &l->g.status_names, l->g.status_names_count, &gs->status_names,
                       &gs->nstatus);
        if (r == 0)
                r = read_names(t, &l->g.wait_reasons, l->g.wait_reasons_count, &gs->reasons,
                               &gs->nreasons);
        if (r < 0)
                goto fail;
        w.fing_running = fing_running(t, &l->g);
        r = read_allgs(t, l, &ptrs, &n);
        if (r == -EBADMSG)
                *ret_why = "runtime.allgs is inconsistent (longer than any program makes, or "
                           "replaced on every read)";
        if (r < 0)
                goto fail;
        gs->listed = n;
        r = list_live(&w, ptrs, n);
        if (r == 0)
                r = read_stacks(&w);
        if (r == 0)
                r = thread_ids(&w);
        if (r < 0)
                goto fail;
        finish(gs);
        free(ptrs);
        teardown(&w);
        *ret = gs;
        return 0;
fail:
        free(ptrs);
        teardown(&w);
        go_goroutines_free(gs);
        return r;
}

const char *go_goroutine_state(const struct go_goroutines *gs, const struct go_goroutine *g)
{
        if (g->status == gs->status_waiting && g->wait_reason != 0 &&
            g->wait_reason < gs->nreasons && gs->reasons[g->wait_reason][0])
                return gs->reasons[g->wait_reason];
        if (g->status < gs->nstatus && gs->status_names[g->status][0])
                return gs->status_names[g->status];
        return "unknown status";
}

static const struct go_thread_pcs *find_thread(const struct go_thread_pcs *th, size_t n, pid_t tid)
{
        for (size_t i = 0; i < n; i++)
                if (th[i].tid == tid)
                        return &th[i];
        return NULL;
}

/* A goroutine on a thread gets that thread's stack if, read again now, it is still the
 * one that thread runs; if it has parked since, its saved context is read instead. */
static int settle(struct walk *w, struct go_goroutine *g, const struct go_thread_pcs *th,
                  size_t nth, uint8_t *buf)
{
        struct go_goroutine ng;
        struct ghead h;
        const struct go_thread_pcs *tp;
        size_t i = (size_t)(g - w->gs->g);
        int r;

        r = go_mem_read(&w->t->mem, g->addr, buf, w->span);
        if (r == -ESRCH)
                return r;
        if (r < 0 || !parse_g(w, g->addr, buf, &ng, &h) || ng.goid != g->goid) {
                g->error = GO_G_CHANGED;
                return 0;
        }
        w->heads[i] = h;
        if (ng.status != g->status || ng.m != g->m) {
                pid_t tid = g->tid;

                *g = ng;
                g->tid = tid;
                r = walk_stacks(w, &i, 1); /* parked since: its own context */
                if (r < 0)
                        return r;
                if (g->error == GO_G_ON_THREAD)
                        g->error = GO_G_CHANGED; /* on another thread now */
                return 0;
        }
        tp = g->tid ? find_thread(th, nth, g->tid) : NULL;
        if (!tp || tp->npcs == 0)
                return 0; /* stays GO_G_ON_THREAD: that thread gave no stack */
        r = frames_reserve(w->gs, GO_STACK_MAX);
        if (r < 0)
                return r == -EFBIG ? 0 : r;
        g->frames_at = w->gs->nframes;
        g->npcs = tp->npcs < GO_STACK_MAX ? (uint32_t)tp->npcs : GO_STACK_MAX;
        g->truncated = tp->npcs > GO_STACK_MAX;
        for (uint32_t k = 0; k < g->npcs; k++) /* the current pc is exact: made a return */
                w->gs->frames[w->gs->nframes + k] = tp->pcs[k] + (k == 0);
        w->gs->nframes += g->npcs;
        g->error = 0;
        return 0;
}

int go_goroutines_from_threads(struct go_target *t, struct go_goroutines *gs,
                               const struct go_thread_pcs *threads, size_t nthreads,
                               uint64_t stopped_ns)
{
        const char *why = NULL;
        struct walk w;
        uint8_t *buf = NULL;
        int r;

        r = setup(t, &w, &why);
        if (r < 0)
                return r == -EBADMSG ? -EINVAL : r;
        w.gs = gs;
        w.cap = gs->n;
        w.heads = calloc(gs->n ? gs->n : 1, sizeof(*w.heads));
        buf = malloc(w.span);
        if (!w.heads || !buf) {
                r = -ENOMEM;
                goto out;
        }
        w.fing_running = false;
        for (size_t i = 0; i < gs->n && r == 0; i++) {
                bool system = gs->g[i].system;

                if (gs->g[i].error != GO_G_ON_THREAD)
                        continue;
                r = settle(&w, &gs->g[i], threads, nthreads, buf);
                gs->g[i].system = system; /* as decided with the finalizer's state then */
        }
        gs->on_thread = 0;
        for (size_t i = 0; i < gs->n; i++)
                gs->on_thread += gs->g[i].error == GO_G_ON_THREAD;
        gs->stopped_ns = stopped_ns;
        for (size_t i = 0; i < gs->n; i++)
                gs->g[i].pcs = gs->g[i].npcs ? gs->frames + gs->g[i].frames_at : NULL;
out:
        free(buf);
        teardown(&w);
        return r;
}
