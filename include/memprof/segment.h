/* The shared-memory segment: the one format libmemprof.so writes and memprofd reads. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Life cycle.  The shim creates /dev/shm/memprof.<pid>.<random> with O_EXCL and mode
 * 0600, sizes it with ftruncate, maps it MAP_SHARED and unlinks the name at once.  No
 * page is written before it is reserved, so a full /dev/shm never raises SIGBUS in the
 * program: the header and thread slots are reserved at start (MADV_POPULATE_WRITE, so a
 * /dev/shm without room for them fails there), table pages as the tables grow (a table
 * that cannot grow loses samples, counted); kernels before 5.14, without that advice,
 * get the whole file reserved at start with posix_fallocate (collectors/shim/segment.c).
 * The daemon never looks the name up: it scans /proc/PID/maps for a shared writable
 * mapping of a file whose name starts with "memprof." (in whatever directory: a chroot
 * shows it elsewhere) and opens it through /proc/PID/map_files/START-END.  It takes it
 * for PID's segment only if the file is on a tmpfs, writable by its owner alone, owned
 * by PID's effective uid or root, and `pid` below is PID as PID itself sees it (the
 * daemon compares it with NSpid's last field); collectors/heap_segment_find.c says why.
 * So a segment is attributed to PID only if PID maps it, nothing is left in /dev/shm
 * when a process dies, and a restarted daemon finds everything again: all state needed
 * for heap and allocs lives in the segment.
 *
 * Concurrency.  Tables are append-only.  The shim fills an entry completely, then
 * publishes it by storing the new count with release semantics (nstacks, nframes,
 * nbuckets); the reader loads counts with acquire semantics and reads only below them.
 * Bucket counters only grow; inuse = allocs - frees (read frees first).  Thread slots
 * are written by their own thread only; seq is odd while the slow path rewrites
 * countdown_start/bytes_base, so readers retry on odd or changed seq.  The mallinfo
 * record (mi_time_ns, mallinfo) is the same kind of seqlock with any thread as its
 * writer: mi_seq is made odd by a compare-and-swap from an even value, so one thread
 * writes at a time, and a reader takes a copy only if mi_seq read before and after it
 * is the same even value, retrying a bounded number of times.
 *
 * Trust.  To the daemon every byte here is hostile input: every offset, count, index and
 * depth is checked against the file size and the hard limits below.
 *
 * Layout.  Host byte order, every field naturally aligned with no padding left to the
 * compiler.  The header is 312 bytes; the shim puts the tables after it, each 64-byte
 * aligned, in the order slots, stacks, frames, buckets (the reader asks only that each
 * lie inside the file, 8-aligned, apart from the others).  A thread slot is 64 bytes
 * (one cache line, seq at 40), a stack 16, a frame 8, a bucket 32.  The fields the
 * reader loads on their own sit at fixed offsets: nstacks 96, nframes 100, nbuckets 104,
 * mi_seq 152, and the mallinfo record, mi_time_ns then the 80 bytes of mallinfo, at
 * 160..248.  The assertions at the end of this file hold the structs to these numbers:
 * a change to either is a change to both, and to MP_SEG_VERSION.
 */

#define MP_SEG_PATH_PREFIX "/dev/shm/memprof."
#define MP_SEG_MAGIC 0x3147455346525045ULL /* "EPRFSEG1" little-endian */
#define MP_SEG_VERSION 1u

#define MP_SEG_F_GLIBC 1u /* the allocator underneath is glibc's: mallinfo is meaningful */
#define MP_SEG_F_ATTACHED 2u /* loaded by `memprof attach`: counts start at start_time_ns */
#define MP_SEG_F_DETACHED 4u /* `memprof detach` stopped sampling since */
#define MP_SEG_F_RATE_UNPARSED 8u /* MEMPROF_RATE was not understood: rate is the default,
                                   * rate_text what was given */

/* Which allocator answers malloc underneath the shim (mp_seg_header.allocator); 0 from
 * a shim that did not say. */
enum mp_allocator {
        MP_ALLOC_UNKNOWN,
        MP_ALLOC_GLIBC,
        MP_ALLOC_JEMALLOC,
        MP_ALLOC_TCMALLOC,
        MP_ALLOC_MIMALLOC,
        MP_ALLOC_OTHER, /* none of those: allocator_file names it */
};

#define MP_MAX_DEPTH 64 /* frames kept per sampled stack */

/* Hard limits the reader enforces whatever the header claims. */
#define MP_LIMIT_SEG_SIZE (1ull << 30)
#define MP_LIMIT_SLOTS (1u << 16)
#define MP_LIMIT_STACKS (1u << 22)
#define MP_LIMIT_FRAMES (1u << 26)
#define MP_LIMIT_BUCKETS (1u << 24)

/*
 * Per-thread counters, one cache line, written only by the owning thread.  The malloc
 * fast path subtracts the request from countdown and counts mallocs; the free fast path
 * counts frees.  Bytes allocated by this thread so far are
 *     bytes_base + (countdown_start - countdown)
 * which stays true between slow paths because only the slow path moves the base.
 */
struct mp_thread_slot {
        int64_t countdown;       /* bytes until the next sample; < 0 means "slow path" */
        uint64_t mallocs;        /* allocations (realloc of a live block counts 1 + 1 free) */
        uint64_t frees;          /* frees of non-NULL pointers */
        int64_t countdown_start; /* countdown's value when last reset */
        uint64_t bytes_base;     /* bytes allocated before that reset */
        uint32_t seq;            /* odd while the slow path updates base/start */
        uint32_t tid;            /* owner's kernel tid; 0 = never used */
        uint64_t rng;            /* sampler state (xorshift) */
        uint32_t flags;          /* MP_SLOT_EXITED once the owner ran its exit hook */
        uint32_t reserved;
};
/* A slot whose thread has exited keeps its counters (they only ever grow, also when a
 * new thread takes the slot over), so the sum over slots stays exact without folding. */
#define MP_SLOT_EXITED 1u

struct mp_stack {
        uint64_t hash;
        uint32_t frames_off; /* index into the frames table */
        uint32_t depth;      /* 1..MP_MAX_DEPTH return addresses, innermost first */
};

/* A sampled site: one per (stack, requested size), like Go's memprofile buckets. */
struct mp_bucket {
        uint32_t stack; /* index into the stack table */
        uint32_t reserved;
        uint64_t size;   /* requested size in bytes of each sampled object */
        uint64_t allocs; /* sampled allocations so far */
        uint64_t frees;  /* of those, freed so far */
};

/* glibc's mallinfo2(), refreshed by the shim from its slow path (see mi_time_ns). */
struct mp_mallinfo {
        uint64_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks,
                fordblks, keepcost;
};

struct mp_seg_header {
        uint64_t magic;
        uint32_t version;
        uint32_t header_size; /* sizeof(struct mp_seg_header) */
        uint64_t seg_size;    /* bytes in the file */
        int32_t pid;          /* getpid() of the writer, in its own namespace */
        uint32_t flags;       /* MP_SEG_F_* */
        uint64_t rate;         /* MEMPROF_RATE: mean bytes between samples; 0 = off */
        int64_t start_time_ns; /* CLOCK_REALTIME when this segment began sampling */

        /* geometry: byte offsets from the start of the segment and capacities */
        uint64_t slots_off, stacks_off, frames_off, buckets_off;
        uint32_t slots_cap, stacks_cap, frames_cap, buckets_cap;

        /* published counts (release store by the shim, acquire load by the reader).
         * A bucket names a stack published before it, and a stack frames published
         * before it, so a reader loads nbuckets, then nstacks, then nframes. */
        uint32_t nstacks, nframes, nbuckets;
        uint32_t nslots; /* slots ever handed out; the reader scans [0, nslots) */

        /* atomics: counts of threads that had no slot (more threads than slots_cap, or
         * work done before the segment existed) */
        uint64_t retired_mallocs, retired_frees, retired_bytes;
        uint64_t samples;      /* sampled allocations recorded */
        uint64_t lost_samples; /* sampled allocations dropped: a table was full */

        uint32_t mi_seq; /* odd while mallinfo is being written (see Concurrency) */
        uint32_t reserved0;
        int64_t mi_time_ns; /* CLOCK_REALTIME of the last mallinfo refresh; 0 = never */
        struct mp_mallinfo mallinfo;

        /* set once, when the segment is made; text NUL-padded, untrusted like the rest */
        uint32_t allocator; /* enum mp_allocator */
        uint32_t reserved1;
        char allocator_file[32]; /* base name of the file that defines that malloc */
        char rate_text[24];      /* MEMPROF_RATE as given, with MP_SEG_F_RATE_UNPARSED */
};

/* The numbers in "Layout" above. */
_Static_assert(sizeof(struct mp_seg_header) == 312, "Layout: the header's size");
_Static_assert(sizeof(struct mp_thread_slot) == 64 &&
                       offsetof(struct mp_thread_slot, seq) == 40,
               "Layout: a thread slot");
_Static_assert(sizeof(struct mp_stack) == 16 && sizeof(struct mp_bucket) == 32,
               "Layout: a stack, a bucket");
_Static_assert(offsetof(struct mp_seg_header, nstacks) == 96 &&
                       offsetof(struct mp_seg_header, nframes) == 100 &&
                       offsetof(struct mp_seg_header, nbuckets) == 104,
               "Layout: the published counts");
_Static_assert(offsetof(struct mp_seg_header, mi_seq) == 152 &&
                       offsetof(struct mp_seg_header, mi_time_ns) == 160 &&
                       offsetof(struct mp_seg_header, mallinfo) == 168 &&
                       sizeof(struct mp_mallinfo) == 80,
               "Layout: the mallinfo record");
