/* The Go runtime's globals and struct layouts from a binary's DWARF: names in, offsets
 * and sizes out, nothing assumed about any version. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "golayout.h"

#define UNWRAP_MAX 4          /* atomic.Uint64 in a struct in a struct is as deep as it goes */
#define ARRAY_COUNT_MAX 65536 /* no runtime array this collector reads is longer */

/* The globals and types looked up by name: top-level DIEs, any compile unit. */
enum {
        V_MEMSTATS,
        V_GC_CONTROLLER,
        V_MHEAP,
        V_CLASS_TO_SIZE,
        V_MEM_PROFILE_RATE,
        V_BUILD_VERSION,
        V_ALLGLEN,
        V_ALLP,
        V_SCHED,
        V_GOMAXPROCS,
        V_MBUCKETS,
        V_MPROF_CYCLE,
        V_ALLGPTR,
        V_WAIT_REASONS,
        V_STATUS_NAMES,
        V_FING_RUNNING, /* 1.19 */
        V_FING_STATUS,  /* 1.21+ */
        T_BUCKET,       /* types from here */
        T_MEMRECORD,
        T_P,
        T_G,
        T_M,
        C_IDLE, /* constants from here */
        C_RUNNABLE,
        C_RUNNING,
        C_SYSCALL,
        C_WAITING,
        C_DEAD,
        C_COPYSTACK,
        C_PREEMPTED,
        C_SCAN,
        C_FING_RUNNING_FINALIZER,
        N_NAMES
};
static const char *const names[N_NAMES] = {
    [V_MEMSTATS] = "runtime.memstats",
    [V_GC_CONTROLLER] = "runtime.gcController",
    [V_MHEAP] = "runtime.mheap_",
    [V_CLASS_TO_SIZE] = "runtime.class_to_size",
    [V_MEM_PROFILE_RATE] = "runtime.MemProfileRate",
    [V_BUILD_VERSION] = "runtime.buildVersion",
    [V_ALLGLEN] = "runtime.allglen",
    [V_ALLP] = "runtime.allp",
    [V_SCHED] = "runtime.sched",
    [V_GOMAXPROCS] = "runtime.gomaxprocs",
    [V_MBUCKETS] = "runtime.mbuckets",
    [V_MPROF_CYCLE] = "runtime.mProfCycle",
    [T_BUCKET] = "runtime.bucket",
    [T_MEMRECORD] = "runtime.memRecord",
    [T_P] = "runtime.p",
    [V_ALLGPTR] = "runtime.allgptr",
    [V_WAIT_REASONS] = "runtime.waitReasonStrings",
    [V_STATUS_NAMES] = "runtime.gStatusStrings",
    [V_FING_RUNNING] = "runtime.fingRunning",
    [V_FING_STATUS] = "runtime.fingStatus",
    [T_G] = "runtime.g",
    [T_M] = "runtime.m",
    [C_IDLE] = "runtime._Gidle",
    [C_RUNNABLE] = "runtime._Grunnable",
    [C_RUNNING] = "runtime._Grunning",
    [C_SYSCALL] = "runtime._Gsyscall",
    [C_WAITING] = "runtime._Gwaiting",
    [C_DEAD] = "runtime._Gdead",
    [C_COPYSTACK] = "runtime._Gcopystack",
    [C_PREEMPTED] = "runtime._Gpreempted",
    [C_SCAN] = "runtime._Gscan",
    [C_FING_RUNNING_FINALIZER] = "runtime.fingRunningFinalizer",
};

#define RUNTIME_FUNCS_MAX 65536 /* runtime.* functions: a few thousand in any version */

/* The runtime's own functions (isSystemGoroutine: a goroutine started in one is the
 * runtime's), and the entries it treats apart. */
struct funcs {
        uint64_t *lo, *hi;
        size_t n, cap;
        uint64_t main_pc, runfinq_pc, corostart_pc;
        bool failed;
};

struct found {
        Dwarf_Die die[N_NAMES];
        bool seen[N_NAMES]; /* die holds something of that name */
        bool ok[N_NAMES];   /* die is the variable or the struct itself */
        struct funcs funcs;
};

static bool is_type_tag(int tag)
{
        return tag == DW_TAG_structure_type || tag == DW_TAG_typedef;
}

/* Whether a DIE of this tag can be what names[i] wants. */
static bool tag_fits(int i, int tag)
{
        if (i < T_BUCKET)
                return tag == DW_TAG_variable;
        if (i < C_IDLE)
                return is_type_tag(tag);
        return tag == DW_TAG_constant;
}

static void add_func(struct funcs *fs, Dwarf_Die *die, const char *name)
{
        Dwarf_Addr lo, hi;

        if (fs->failed || dwarf_lowpc(die, &lo) != 0 || dwarf_highpc(die, &hi) != 0 || hi <= lo)
                return; /* an abstract (inlined-only) function has no code of its own */
        if (strcmp(name, "runtime.main") == 0)
                fs->main_pc = lo;
        else if (strcmp(name, "runtime.runfinq") == 0)
                fs->runfinq_pc = lo;
        else if (strcmp(name, "runtime.corostart") == 0)
                fs->corostart_pc = lo;
        if (fs->n == fs->cap) {
                size_t cap = fs->cap ? fs->cap * 2 : 1024;
                uint64_t *nlo, *nhi;

                if (cap > RUNTIME_FUNCS_MAX) {
                        fs->failed = true;
                        return;
                }
                nlo = realloc(fs->lo, cap * sizeof(*nlo));
                if (nlo)
                        fs->lo = nlo;
                nhi = nlo ? realloc(fs->hi, cap * sizeof(*nhi)) : NULL;
                if (!nhi) {
                        fs->failed = true;
                        return;
                }
                fs->hi = nhi;
                fs->cap = cap;
        }
        fs->lo[fs->n] = lo;
        fs->hi[fs->n++] = hi;
}

static void scan(Dwarf *dw, struct found *f)
{
        Dwarf_Off off = 0, next;
        size_t hsize;

        while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
                Dwarf_Die cu, child;

                if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
                        do {
                                int tag = dwarf_tag(&child);
                                const char *name;

                                if (tag != DW_TAG_variable && tag != DW_TAG_constant &&
                                    tag != DW_TAG_subprogram && !is_type_tag(tag))
                                        continue;
                                name = dwarf_diename(&child);
                                if (!name || strncmp(name, "runtime.", 8) != 0)
                                        continue;
                                if (tag == DW_TAG_subprogram) {
                                        add_func(&f->funcs, &child, name);
                                        continue;
                                }
                                for (int i = 0; i < N_NAMES; i++) {
                                        if (f->ok[i] || strcmp(name, names[i]) != 0)
                                                continue;
                                        if (!tag_fits(i, tag))
                                                continue;
                                        /* a struct is better than its typedef */
                                        f->die[i] = child;
                                        f->seen[i] = true;
                                        f->ok[i] = tag != DW_TAG_typedef;
                                        break;
                                }
                        } while (dwarf_siblingof(&child, &child) == 0);
                }
                off = next;
        }
}

static bool raw_type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
        Dwarf_Attribute a;

        return dwarf_attr(die, DW_AT_type, &a) && dwarf_formref_die(&a, ret);
}

/* Typedefs and qualifiers followed to the type itself (by hand: libdw's
 * dwarf_peel_type does not follow Go's typedefs). */
static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
        if (!raw_type_of(die, ret))
                return false;
        for (int i = 0; i < UNWRAP_MAX * 4; i++) {
                int tag = dwarf_tag(ret);

                if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
                    tag != DW_TAG_volatile_type)
                        return true;
                if (!raw_type_of(ret, ret))
                        return false;
        }
        return false;
}

static bool array_count(Dwarf_Die *array, uint64_t *ret);

/* Go gives every type but pointers a DW_AT_byte_size; arrays are count * element. */
static bool size_of(Dwarf_Die *type, uint64_t *ret)
{
        Dwarf_Attribute a;
        Dwarf_Word w;
        Dwarf_Die elem;
        uint64_t count, esize;

        if (dwarf_attr(type, DW_AT_byte_size, &a) && dwarf_formudata(&a, &w) == 0) {
                *ret = w;
                return true;
        }
        switch (dwarf_tag(type)) {
        case DW_TAG_pointer_type:
                *ret = 8;
                return true;
        case DW_TAG_array_type:
                if (!array_count(type, &count) || count > ARRAY_COUNT_MAX ||
                    !type_of(type, &elem) || !size_of(&elem, &esize))
                        return false;
                return !__builtin_mul_overflow(count, esize, ret);
        default:
                return false;
        }
}

static bool member(Dwarf_Die *type, const char *name, size_t len, uint64_t *ret_off,
                   Dwarf_Die *ret_type)
{
        Dwarf_Die m;
        Dwarf_Attribute a;
        Dwarf_Word off;

        if (dwarf_tag(type) != DW_TAG_structure_type || dwarf_child(type, &m) != 0)
                return false;
        do {
                const char *n = dwarf_diename(&m);

                if (dwarf_tag(&m) != DW_TAG_member || !n || strlen(n) != len ||
                    memcmp(n, name, len) != 0)
                        continue;
                if (!dwarf_attr(&m, DW_AT_data_member_location, &a) ||
                    dwarf_formudata(&a, &off) != 0)
                        return false;
                *ret_off = off;
                return type_of(&m, ret_type);
        } while (dwarf_siblingof(&m, &m) == 0);
        return false;
}

/* Follows a dotted path of members ("heapStats.stats") from type; an empty path is the
 * type itself. */
static bool walk(Dwarf_Die *type, const char *path, uint64_t *ret_off, Dwarf_Die *ret_type)
{
        Dwarf_Die t = *type;
        uint64_t off = 0;

        while (*path) {
                const char *dot = strchr(path, '.');
                size_t len = dot ? (size_t)(dot - path) : strlen(path);
                uint64_t m;

                if (!member(&t, path, len, &m, &t) || __builtin_add_overflow(off, m, &off))
                        return false;
                path += len + (dot ? 1 : 0);
        }
        *ret_off = off;
        *ret_type = t;
        return true;
}

/* The one member of a wrapper struct that has a size (atomic.Uint64's v beside its
 * zero-sized noCopy and align64). */
static bool unwrap(Dwarf_Die *type, uint64_t *off)
{
        Dwarf_Die m, found, mt;
        Dwarf_Attribute a;
        Dwarf_Word moff = 0;
        int n = 0;

        if (dwarf_child(type, &m) != 0)
                return false;
        do {
                uint64_t size;

                if (dwarf_tag(&m) != DW_TAG_member || !type_of(&m, &mt) || !size_of(&mt, &size))
                        continue;
                if (size == 0)
                        continue;
                if (++n > 1)
                        return false;
                found = mt;
                if (!dwarf_attr(&m, DW_AT_data_member_location, &a) ||
                    dwarf_formudata(&a, &moff) != 0)
                        return false;
        } while (dwarf_siblingof(&m, &m) == 0);
        if (n != 1 || __builtin_add_overflow(*off, moff, off))
                return false;
        *type = found;
        return true;
}

static struct go_field field(Dwarf_Die *base, const char *path)
{
        struct go_field f = {0};
        Dwarf_Die t;
        Dwarf_Attribute a;
        Dwarf_Word enc = 0;
        uint64_t off, size;

        if (!base || !walk(base, path, &off, &t))
                return f;
        for (int i = 0; i < UNWRAP_MAX && dwarf_tag(&t) == DW_TAG_structure_type; i++)
                if (!unwrap(&t, &off))
                        return f;
        if (dwarf_tag(&t) != DW_TAG_base_type && dwarf_tag(&t) != DW_TAG_pointer_type)
                return f;
        if (!size_of(&t, &size) || (size != 1 && size != 2 && size != 4 && size != 8))
                return f;
        if (dwarf_attr(&t, DW_AT_encoding, &a))
                dwarf_formudata(&a, &enc);
        f.off = off;
        f.size = (uint32_t)size;
        f.is_signed = enc == DW_ATE_signed;
        f.ok = true;
        return f;
}

static bool array_count(Dwarf_Die *array, uint64_t *ret)
{
        Dwarf_Die sub;
        Dwarf_Attribute a;
        Dwarf_Word w;

        if (dwarf_child(array, &sub) != 0)
                return false;
        do {
                if (dwarf_tag(&sub) != DW_TAG_subrange_type)
                        continue;
                if (dwarf_attr(&sub, DW_AT_count, &a) && dwarf_formudata(&a, &w) == 0) {
                        *ret = w;
                        return true;
                }
                if (dwarf_attr(&sub, DW_AT_upper_bound, &a) && dwarf_formudata(&a, &w) == 0 &&
                    w < ARRAY_COUNT_MAX) {
                        *ret = w + 1;
                        return true;
                }
                return false;
        } while (dwarf_siblingof(&sub, &sub) == 0);
        return false;
}

static struct go_array array(Dwarf_Die *base, const char *path, Dwarf_Die *ret_elem)
{
        struct go_array arr = {0};
        Dwarf_Die t, elem;
        uint64_t off, count, stride;

        if (!base || !walk(base, path, &off, &t) || dwarf_tag(&t) != DW_TAG_array_type)
                return arr;
        if (!array_count(&t, &count) || count == 0 || count > ARRAY_COUNT_MAX)
                return arr;
        if (!type_of(&t, &elem) || !size_of(&elem, &stride) || stride == 0)
                return arr;
        if (ret_elem)
                *ret_elem = elem;
        arr = (struct go_array){.off = off, .stride = stride, .count = count, .ok = true};
        return arr;
}

/* A global's address from its location, one DW_OP_addr (Go writes it as a block,
 * which libdw's location parser refuses in DWARF 4), its size from its type. */
static struct go_var var(struct found *f, int i, Dwarf_Die *ret_type)
{
        struct go_var v = {0};
        Dwarf_Attribute a;
        Dwarf_Block b;

        if (!f->ok[i])
                return v;
        if (!dwarf_attr(&f->die[i], DW_AT_location, &a) || dwarf_formblock(&a, &b) != 0 ||
            b.length != 9 || b.data[0] != DW_OP_addr)
                return v;
        if (!type_of(&f->die[i], ret_type) || !size_of(ret_type, &v.size))
                return v;
        for (int k = 0; k < 8; k++)
                v.addr |= (uint64_t)b.data[1 + k] << (8 * k);
        v.ok = v.addr != 0;
        return v;
}

/* A type found by name (a typedef's target if only the typedef was seen). */
static Dwarf_Die *named_type(struct found *f, int i, Dwarf_Die *buf)
{
        if (f->ok[i]) {
                *buf = f->die[i];
                return buf;
        }
        if (f->seen[i] && type_of(&f->die[i], buf))
                return buf;
        return NULL;
}

static void heap_delta(Dwarf_Die *d, struct go_heap_delta *ret)
{
        ret->committed = field(d, "committed");
        ret->released = field(d, "released");
        ret->in_heap = field(d, "inHeap");
        ret->in_stacks = field(d, "inStacks");
        ret->in_work_bufs = field(d, "inWorkBufs");
        ret->in_ptr_scalar_bits = field(d, "inPtrScalarBits");
        ret->tiny_alloc_count = field(d, "tinyAllocCount");
        ret->large_alloc = field(d, "largeAlloc");
        ret->large_alloc_count = field(d, "largeAllocCount");
        ret->large_free = field(d, "largeFree");
        ret->large_free_count = field(d, "largeFreeCount");
        ret->small_alloc_count = array(d, "smallAllocCount", NULL);
        ret->small_free_count = array(d, "smallFreeCount", NULL);
}

static void bucket(struct found *f, struct go_bucket_layout *ret)
{
        Dwarf_Die bbuf, mbuf, cycle, *b = named_type(f, T_BUCKET, &bbuf);
        Dwarf_Die *m = named_type(f, T_MEMRECORD, &mbuf);
        Dwarf_Die t;
        uint64_t off;

        if (!b || !m || !size_of(b, &ret->size) || !size_of(m, &ret->record_size))
                return;
        ret->allnext = field(b, "allnext");
        ret->typ = field(b, "typ");
        ret->bsize = field(b, "size");
        ret->nstk = field(b, "nstk");
        ret->future = array(m, "future", &cycle);
        if (!walk(m, "active", &off, &t) || !ret->future.ok)
                return;
        ret->active = (struct go_field){.off = off, .ok = true};
        ret->allocs = field(&cycle, "allocs");
        ret->frees = field(&cycle, "frees");
        ret->alloc_bytes = field(&cycle, "alloc_bytes");
        ret->free_bytes = field(&cycle, "free_bytes");
        ret->ok = ret->allnext.ok && ret->typ.ok && ret->bsize.ok && ret->nstk.ok &&
                  ret->allocs.ok && ret->frees.ok && ret->alloc_bytes.ok && ret->free_bytes.ok;
}

static bool constant(struct found *f, int i, uint64_t *ret)
{
        Dwarf_Attribute a;
        Dwarf_Word w;

        if (!f->ok[i] || !dwarf_attr(&f->die[i], DW_AT_const_value, &a) ||
            dwarf_formudata(&a, &w) != 0)
                return false;
        *ret = w;
        return true;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return (x > y) - (x < y);
}

/* The runtime's function ranges sorted by start (Go's functions do not overlap, so the
 * ends sort with them: each is sorted on its own). */
static void take_funcs(struct funcs *fs, struct go_g_layout *g)
{
        if (fs->failed || fs->n == 0) {
                free(fs->lo);
                free(fs->hi);
                return;
        }
        qsort(fs->lo, fs->n, sizeof(uint64_t), cmp_u64);
        qsort(fs->hi, fs->n, sizeof(uint64_t), cmp_u64);
        g->runtime_lo = fs->lo;
        g->runtime_hi = fs->hi;
        g->nruntime = fs->n;
        g->main_pc = fs->main_pc;
        g->runfinq_pc = fs->runfinq_pc;
        g->corostart_pc = fs->corostart_pc;
}

/* What the goroutine walk needs: g, gobuf, m, allgs, the status and wait-reason names
 * and the status values (never assumed: 1.19 to 1.23 agree, a later one may not). */
static void g_layout(struct found *f, struct go_layout *l)
{
        struct go_g_layout *g = &l->g;
        Dwarf_Die gbuf, mbuf, t, *gt = named_type(f, T_G, &gbuf), *mt = named_type(f, T_M, &mbuf);
        struct go_array arr;
        bool consts;

        take_funcs(&f->funcs, g);
        if (!gt || !mt || !size_of(gt, &g->g_size) || !size_of(mt, &g->m_size))
                return;
        g->stack_lo = field(gt, "stack.lo");
        g->stack_hi = field(gt, "stack.hi");
        g->m = field(gt, "m");
        g->sched_sp = field(gt, "sched.sp");
        g->sched_pc = field(gt, "sched.pc");
        g->sched_bp = field(gt, "sched.bp");
        g->syscallsp = field(gt, "syscallsp");
        g->syscallpc = field(gt, "syscallpc");
        g->syscallbp = field(gt, "syscallbp");
        g->status = field(gt, "atomicstatus");
        g->goid = field(gt, "goid");
        g->waitsince = field(gt, "waitsince");
        g->waitreason = field(gt, "waitreason");
        g->lockedm = field(gt, "lockedm");
        g->gopc = field(gt, "gopc");
        g->startpc = field(gt, "startpc");
        g->parent_goid = field(gt, "parentGoid");
        g->m_procid = field(mt, "procid");
        g->m_curg = field(mt, "curg");

        g->allgptr = var(f, V_ALLGPTR, &t);
        if (g->allgptr.ok)
                g->allgptr_v = field(&t, "");
        g->wait_reasons = var(f, V_WAIT_REASONS, &t);
        arr = g->wait_reasons.ok ? array(&t, "", NULL) : (struct go_array){0};
        g->wait_reasons.ok = arr.ok && arr.stride == 16;
        g->wait_reasons_count = arr.count;
        g->status_names = var(f, V_STATUS_NAMES, &t);
        arr = g->status_names.ok ? array(&t, "", NULL) : (struct go_array){0};
        g->status_names.ok = arr.ok && arr.stride == 16;
        g->status_names_count = arr.count;
        g->fing = var(f, V_FING_STATUS, &t);
        if (g->fing.ok && constant(f, C_FING_RUNNING_FINALIZER, &g->fing_mask)) {
                g->fing_v = field(&t, "");
        } else {
                g->fing = var(f, V_FING_RUNNING, &t);
                if (g->fing.ok)
                        g->fing_v = field(&t, "");
        }

        consts = constant(f, C_IDLE, &g->s_idle) && constant(f, C_RUNNABLE, &g->s_runnable) &&
                 constant(f, C_RUNNING, &g->s_running) &&
                 constant(f, C_SYSCALL, &g->s_syscall) &&
                 constant(f, C_WAITING, &g->s_waiting) && constant(f, C_DEAD, &g->s_dead) &&
                 constant(f, C_COPYSTACK, &g->s_copystack) &&
                 constant(f, C_PREEMPTED, &g->s_preempted) && constant(f, C_SCAN, &g->s_scan);
        g->ok = consts && g->stack_lo.ok && g->stack_hi.ok && g->m.ok && g->sched_sp.ok &&
                g->sched_pc.ok && g->sched_bp.ok && g->syscallsp.ok && g->syscallpc.ok &&
                g->status.ok && g->goid.ok && g->waitsince.ok && g->waitreason.ok &&
                g->gopc.ok && g->startpc.ok && g->m_procid.ok && g->m_curg.ok &&
                g->allgptr_v.ok && l->allglen_v.ok && g->g_size <= 4096 && g->m_size <= 16384;
}

void go_layout_release(struct go_layout *l)
{
        if (!l)
                return;
        free(l->g.runtime_lo);
        free(l->g.runtime_hi);
        l->g.runtime_lo = l->g.runtime_hi = NULL;
        l->g.nruntime = 0;
}

int go_layout_from_dwarf(struct Dwarf *dw, struct go_layout *ret)
{
        struct found f = {0};
        struct go_layout l = {0};
        Dwarf_Die ms, gc, mh, cts, rate, bv, allglen, allp, sched, gmp, mb, cyc, delta, pbuf, *p;

        scan(dw, &f);
        l.memstats = var(&f, V_MEMSTATS, &ms);
        if (!l.memstats.ok) {
                free(f.funcs.lo);
                free(f.funcs.hi);
                return -ENODATA;
        }
        l.gc_controller = var(&f, V_GC_CONTROLLER, &gc);
        l.mheap = var(&f, V_MHEAP, &mh);
        l.class_to_size = var(&f, V_CLASS_TO_SIZE, &cts);
        l.mem_profile_rate = var(&f, V_MEM_PROFILE_RATE, &rate);
        l.build_version = var(&f, V_BUILD_VERSION, &bv);
        l.allglen = var(&f, V_ALLGLEN, &allglen);
        l.allp = var(&f, V_ALLP, &allp);
        l.sched = var(&f, V_SCHED, &sched);
        l.gomaxprocs = var(&f, V_GOMAXPROCS, &gmp);
        l.mbuckets = var(&f, V_MBUCKETS, &mb);
        l.mprof_cycle = var(&f, V_MPROF_CYCLE, &cyc);

        l.heap_stats = array(&ms, "heapStats.stats", &delta);
        if (l.heap_stats.ok)
                heap_delta(&delta, &l.delta);
        l.stacks_sys = field(&ms, "stacks_sys");
        l.mspan_sys = field(&ms, "mspan_sys");
        l.mcache_sys = field(&ms, "mcache_sys");
        l.buckhash_sys = field(&ms, "buckhash_sys");
        l.gc_misc_sys = field(&ms, "gcMiscSys");
        l.other_sys = field(&ms, "other_sys");
        l.last_gc_unix = field(&ms, "last_gc_unix");
        l.pause_total_ns = field(&ms, "pause_total_ns");
        l.numgc = field(&ms, "numgc");
        l.numforcedgc = field(&ms, "numforcedgc");

        if (l.gc_controller.ok) {
                l.heap_in_use = field(&gc, "heapInUse");
                l.heap_free = field(&gc, "heapFree");
                l.heap_released = field(&gc, "heapReleased");
                l.gc_percent_heap_goal = field(&gc, "gcPercentHeapGoal");
                l.sweep_dist_min_trigger = field(&gc, "sweepDistMinTrigger");
                l.triggered = field(&gc, "triggered");
                l.memory_limit = field(&gc, "memoryLimit");
        }
        if (l.mheap.ok) {
                l.spanalloc_inuse = field(&mh, "spanalloc.inuse");
                l.cachealloc_inuse = field(&mh, "cachealloc.inuse");
        }
        if (l.class_to_size.ok)
                l.class_sizes = array(&cts, "", NULL);
        if (l.sched.ok) {
                l.sched_gfree_n = field(&sched, "gFree.n");
                l.sched_ngsys = field(&sched, "ngsys");
        }
        if (l.allp.ok) {
                l.allp_array = field(&allp, "array");
                l.allp_len = field(&allp, "len");
        }
        p = named_type(&f, T_P, &pbuf);
        if (p)
                l.p_gfree_n = field(p, "gFree.n");
        if (l.allglen.ok)
                l.allglen_v = field(&allglen, "");
        if (l.gomaxprocs.ok)
                l.gomaxprocs_v = field(&gmp, "");
        if (l.mem_profile_rate.ok)
                l.mem_profile_rate_v = field(&rate, "");
        if (l.mbuckets.ok)
                l.mbuckets_v = field(&mb, "");
        if (l.mprof_cycle.ok)
                l.mprof_cycle_v = field(&cyc, "value");
        if (l.build_version.ok) {
                l.build_version_ptr = field(&bv, "str");
                l.build_version_len = field(&bv, "len");
        }
        bucket(&f, &l.bucket);
        g_layout(&f, &l);
        *ret = l;
        return 0;
}
