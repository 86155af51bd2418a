/* The shared-memory segment: the one format libmemprof.so writes and memprofd reads. */
#pragma once

#include <stdint.h>

/*
 * Life cycle.  The shim creates /dev/shm/memprof.<pid>.<random> with O_EXCL and mode
 * 0600, reserves its whole size with posix_fallocate (so a full /dev/shm fails at start
 * instead of raising SIGBUS later), maps it MAP_SHARED and unlinks the name at once.
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
 */

#define MP_SEG_PATH_PREFIX "/dev/shm/memprof."
#define MP_SEG_MAGIC 0x3147455346525045ULL /* "EPRFSEG1" little-endian */
#define MP_SEG_VERSION 1u

#define MP_SEG_F_GLIBC 1u /* the allocator underneath is glibc's: mallinfo is meaningful */
#define MP_SEG_F_RATE_UNPARSED 2u /* MEMPROF_RATE was not understood: rate is the default,
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

/*
 * The header the shim puts in front of every *sampled* object at dense rates (below
 * 65536 bytes; at sparse rates, the default among them, sampled objects have no header
 * and are recognised by address).  It allocates 16 bytes more, or `alignment` more for
 * aligned requests, and hands out base + offset.  free compares the first word of the
 * 16 bytes before the pointer with MP_OBJ_MAGIC; with glibc those bytes always exist
 * (the chunk header), so an unsampled pointer reads glibc's prev_size field there.  A
 * match is then confirmed by `check` in the slow path.  Never in the segment; private
 * to the shim.
 */
#define MP_OBJ_MAGIC 0xb5e1c0deu
struct mp_obj_header {
        uint32_t magic;
        uint32_t live; /* index in the shim's live table; UINT32_MAX = bootstrap pool */
        uint32_t offset; /* user pointer - base pointer from the real allocator */
        uint32_t check;  /* hash of (pointer, live, offset, per-process-tree secret) */
};
