/* What the Go collector knows of one binary's runtime: where its globals are and where
 * the members it reads sit, every figure taken from the binary's DWARF. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct go_field { /* an integer member: offset from its base */
        uint64_t off;
        uint32_t size; /* 1, 2, 4 or 8 */
        bool is_signed;
        bool ok;
};

struct go_array { /* an array member: offset, element size and count */
        uint64_t off, stride, count;
        bool ok;
};

struct go_var { /* a global: its link-time address and size */
        uint64_t addr, size;
        bool ok;
};

/* The heapStatsDelta members ReadMemStats sums, relative to one delta. */
struct go_heap_delta {
        struct go_field committed, released, in_heap, in_stacks, in_work_bufs, in_ptr_scalar_bits,
            tiny_alloc_count, large_alloc, large_alloc_count, large_free, large_free_count;
        struct go_array small_alloc_count, small_free_count;
};

/* The profiling bucket (runtime/mprof.go) and its memRecord. */
struct go_bucket_layout {
        uint64_t size; /* sizeof(bucket): the stack follows it */
        struct go_field allnext, typ, bsize, nstk;
        uint64_t record_size;   /* sizeof(memRecord): follows the stack */
        struct go_field active; /* offset of memRecord.active */
        struct go_array future; /* memRecord.future */
        struct go_field allocs, frees, alloc_bytes, free_bytes; /* in a memRecordCycle */
        bool ok;
};

/* What the goroutine walk reads (runtime2.go's g, gobuf, m; proc.go's allgs), and the
 * constants it compares with, all from DWARF.  ok: everything the walk needs is there. */
struct go_g_layout {
        uint64_t g_size, m_size;
        struct go_field stack_lo, stack_hi, m, sched_sp, sched_pc, sched_bp, syscallsp,
            syscallpc, syscallbp /* 1.23 */, status, goid, waitsince, waitreason, lockedm, gopc,
            startpc, parent_goid /* 1.21 */;
        struct go_field m_procid, m_curg;
        struct go_var allgptr, wait_reasons, status_names, fing;
        struct go_field allgptr_v, fing_v;
        uint64_t wait_reasons_count, status_names_count;
        /* runtime._G* values; fing_mask: fingRunningFinalizer (1.21+), 0 with 1.19's bool */
        uint64_t s_idle, s_runnable, s_running, s_syscall, s_waiting, s_dead, s_copystack,
            s_preempted, s_scan, fing_mask;
        /* entry points isSystemGoroutine treats apart; runtime.* function ranges, sorted */
        uint64_t main_pc, runfinq_pc, corostart_pc;
        uint64_t *runtime_lo, *runtime_hi;
        size_t nruntime;
        uint64_t text_lo, text_hi; /* the executable's code (from its program headers) */
        bool ok;
};

struct go_layout {
        struct go_var memstats, gc_controller, mheap, class_to_size, mem_profile_rate,
            build_version, allglen, allp, sched, gomaxprocs, mbuckets, mprof_cycle;

        /* runtime.memstats */
        struct go_array heap_stats; /* heapStats.stats: the generations of deltas */
        struct go_heap_delta delta;
        struct go_field stacks_sys, mspan_sys, mcache_sys, buckhash_sys, gc_misc_sys, other_sys,
            last_gc_unix, pause_total_ns, numgc, numforcedgc;

        /* runtime.gcController */
        struct go_field heap_in_use, heap_free, heap_released, gc_percent_heap_goal,
            sweep_dist_min_trigger, triggered, memory_limit;

        /* runtime.mheap_ */
        struct go_field spanalloc_inuse, cachealloc_inuse;

        struct go_array class_sizes; /* runtime.class_to_size itself */

        /* goroutine count: allglen - sched.gFree.n - sched.ngsys - sum(allp[i].gFree.n) */
        struct go_field sched_gfree_n, sched_ngsys, allp_array, allp_len, p_gfree_n;

        /* scalars that are whole globals */
        struct go_field allglen_v, gomaxprocs_v, mem_profile_rate_v, mbuckets_v, mprof_cycle_v,
            build_version_ptr, build_version_len;

        struct go_bucket_layout bucket;
        struct go_g_layout g;
};

struct Dwarf;
/* Fills *ret from dw.  Members a version lacks stay !ok; the readers check. */
int go_layout_from_dwarf(struct Dwarf *dw, struct go_layout *ret);
/* Frees what go_layout_from_dwarf allocated (the function ranges); NULL is fine. */
void go_layout_release(struct go_layout *l);
