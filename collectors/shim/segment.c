/* Creating the shared segment and the private tables beside it, at start-up (or from the
 * first slow path before that) and again in a forked child, which is profiled as itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "memprof/clock.h"
#include "memprof/rate.h"
#include "shim.h"

struct mp_state mp = { .live_free = UINT32_MAX };

struct geometry {
        uint32_t slots, stacks, frames, buckets, live, addrs;
};

static struct geometry geometry_for(uint64_t rate)
{
        /* Sparse sampling needs little room; dense sampling (rate below a page) gets
         * tables for a quarter million stacks of ~32 frames and millions of live
         * objects.  Pages are reserved as the tables fill, so room costs nothing until
         * it is used.  The address index holds every live sample in sparse mode (at
         * most half full) and when attached, in dense mode only the few near a page
         * start. */
        if (rate == 0 || rate >= 4096)
                return (struct geometry){ 1024, 65536, 1u << 20, 1u << 17, 1u << 17,
                                          mp_sparse() || mp.late ? 1u << 18 : 1024 };
        return (struct geometry){ 1024, 1u << 18, 1u << 23, 1u << 20, 1u << 22,
                                  mp.late ? 1u << 23 : 1024 };
}

static size_t align_up(size_t x, size_t a)
{
        return (x + a - 1) & ~(a - 1);
}

void mp_debug(const char *what, int err)
{
        if (!mp.debug)
                return;
        int saved = errno;
        char line[256];
        size_t n = 0;
        const char *parts[] = { "memprof: heap profiling off: ", what, ": ",
                                err ? strerror(err) : "failed", "\n" };
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
                for (const char *c = parts[i]; *c && n < sizeof(line); c++)
                        line[n++] = *c;
        ssize_t w = write(STDERR_FILENO, line, n);
        (void)w;
        errno = saved;
}

/* "/dev/shm/memprof.<pid>.<16 hex digits>" without stdio. */
static void seg_name(char *buf, size_t size, pid_t pid, uint64_t rnd)
{
        char digits[24];
        size_t n = 0, len = strlen(MP_SEG_PATH_PREFIX);
        memcpy(buf, MP_SEG_PATH_PREFIX, len);
        unsigned v = (unsigned)pid;
        do
                digits[n++] = (char)('0' + v % 10);
        while ((v /= 10) && n < sizeof(digits));
        while (n && len < size - 20)
                buf[len++] = digits[--n];
        buf[len++] = '.';
        for (int i = 60; i >= 0; i -= 4)
                buf[len++] = "0123456789abcdef"[(rnd >> i) & 15];
        buf[len] = '\0';
}

static void *map_private(size_t size)
{
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

static uint32_t pow2_at_least(uint32_t x)
{
        uint32_t p = 1;
        while (p < x)
                p <<= 1;
        return p;
}

static int create_private(const struct geometry *g)
{
        uint32_t si = pow2_at_least(2 * g->stacks), bi = pow2_at_least(2 * g->buckets);
        size_t off_bucket = align_up((size_t)si * 4, 64);
        size_t off_live = align_up(off_bucket + (size_t)bi * 4, mp.page_size);
        size_t off_addr = align_up(off_live + (size_t)g->live * sizeof(struct mp_live), 64);
        size_t size = align_up(off_addr + (size_t)g->addrs * sizeof(uint32_t), mp.page_size);
        char *p = map_private(size);
        if (!p)
                return -ENOMEM;
        mp.priv = p;
        mp.priv_size = size;
        mp.priv_index_size = off_live;
        mp.stack_index = (uint32_t *)p;
        mp.stack_index_max = si - 1;
        mp.bucket_index = (uint32_t *)(p + off_bucket);
        mp.bucket_index_max = bi - 1;
        mp_table_indices_reset();
        mp.live = (struct mp_live *)(p + off_live);
        mp.live_cap = g->live;
        mp.live_used = 0;
        mp.live_free = UINT32_MAX;
        mp.addr_index_mask = g->addrs - 1;
        __atomic_store_n(&mp.addr_index, (uint32_t *)(p + off_addr), __ATOMIC_RELEASE);
        return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define GROW_STEP (64 * 1024)

/*
 * Shared memory must never raise SIGBUS in the program, so every page is reserved
 * before it is written.  Where the kernel has MADV_POPULATE_WRITE (5.14+), only the
 * header and thread slots are reserved now and the tables' pages as they grow
 * (mp_seg_grow: a full /dev/shm then just loses samples); otherwise the whole file
 * is reserved up front with posix_fallocate.  Either way a /dev/shm without room for
 * the header and slots fails here, at start.
 */
static int reserve(int fd, size_t size, size_t head, void **ret)
{
        if (ftruncate(fd, (off_t)size) < 0)
                return errno;
        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
                return errno;
        int r = 0;
        if (madvise(m, align_up(head, mp.page_size), MADV_POPULATE_WRITE) == 0)
                mp.lazy = true;
        else if (errno != EINVAL)
                r = errno == EFAULT ? ENOSPC : errno;
        else {
                r = posix_fallocate(fd, 0, (off_t)size);
                mp.lazy = false;
        }
        if (r) {
                munmap(m, size);
                return r;
        }
        *ret = m;
        return 0;
}

int mp_seg_grow(int table, const void *end)
{
        uintptr_t need = (uintptr_t)end;
        if (!mp.lazy || need <= mp.grown[table])
                return 0;
        uintptr_t seg_end = (uintptr_t)mp.hdr + mp.seg_size;
        uintptr_t to = align_up(need - mp.grown[table] < GROW_STEP ? mp.grown[table] + GROW_STEP : need,
                                mp.page_size);
        if (to > seg_end)
                to = seg_end;
        if (madvise((void *)mp.grown[table], to - mp.grown[table], MADV_POPULATE_WRITE) < 0)
                return -ENOSPC;
        mp.grown[table] = to;
        return 0;
}

static int create_segment(const struct geometry *g)
{
        size_t off_slots = align_up(sizeof(struct mp_seg_header), 64);
        size_t off_stacks = align_up(off_slots + (size_t)g->slots * sizeof(struct mp_thread_slot), 64);
        size_t off_frames = align_up(off_stacks + (size_t)g->stacks * sizeof(struct mp_stack), 64);
        size_t off_buckets = align_up(off_frames + (size_t)g->frames * sizeof(uint64_t), 64);
        size_t size = align_up(off_buckets + (size_t)g->buckets * sizeof(struct mp_bucket),
                               mp.page_size);
        pid_t pid = getpid();
        char name[80];
        int fd = -1;
        for (int tries = 0; fd < 0 && tries < 4; tries++) {
                seg_name(name, sizeof(name), pid, mp_seed());
                fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 && errno != EEXIST)
                        break;
        }
        if (fd < 0) {
                mp_debug("creating " MP_SEG_PATH_PREFIX "*", errno);
                return -errno;
        }
        void *m = NULL;
        int r = reserve(fd, size, off_stacks, &m);
        unlink(name);
        close(fd);
        if (r) {
                mp_debug("reserving the shared segment", r);
                return -r;
        }
        struct mp_seg_header *h = m;
        *h = (struct mp_seg_header){
                .version = MP_SEG_VERSION,
                .header_size = sizeof(*h),
                .seg_size = size,
                .pid = pid,
                .flags = (mp.glibc ? MP_SEG_F_GLIBC : 0) | (mp.late ? MP_SEG_F_ATTACHED : 0) |
                         (mp.rate_unparsed ? MP_SEG_F_RATE_UNPARSED : 0),
                .allocator = mp.allocator,
                .rate = mp.rate,
                .start_time_ns = time_now_ns(CLOCK_REALTIME),
                .slots_off = off_slots,
                .stacks_off = off_stacks,
                .frames_off = off_frames,
                .buckets_off = off_buckets,
                .slots_cap = g->slots,
                .stacks_cap = g->stacks,
                .frames_cap = g->frames,
                .buckets_cap = g->buckets,
                .retired_mallocs = __atomic_exchange_n(&mp.pre_mallocs, 0, __ATOMIC_RELAXED),
                .retired_frees = __atomic_exchange_n(&mp.pre_frees, 0, __ATOMIC_RELAXED) +
                                 __atomic_exchange_n(&mp_sentinel.frees, 0, __ATOMIC_RELAXED),
                .retired_bytes = __atomic_exchange_n(&mp.pre_bytes, 0, __ATOMIC_RELAXED),
        };
        memcpy(h->allocator_file, mp.allocator_file, sizeof(h->allocator_file));
        memcpy(h->rate_text, mp.rate_text, sizeof(h->rate_text));
        __atomic_store_n(&h->magic, MP_SEG_MAGIC, __ATOMIC_RELEASE);
        mp.seg_size = size;
        mp.slots = (struct mp_thread_slot *)((char *)m + off_slots);
        mp.stacks = (struct mp_stack *)((char *)m + off_stacks);
        mp.frames = (uint64_t *)((char *)m + off_frames);
        mp.buckets = (struct mp_bucket *)((char *)m + off_buckets);
        size_t page_mask = ~(mp.page_size - 1);
        mp.grown[MP_GROW_STACKS] = ((uintptr_t)m + off_stacks) & page_mask;
        mp.grown[MP_GROW_FRAMES] = ((uintptr_t)m + off_frames) & page_mask;
        mp.grown[MP_GROW_BUCKETS] = ((uintptr_t)m + off_buckets) & page_mask;
        __atomic_store_n(&mp.hdr, h, __ATOMIC_RELEASE);
        return 0;
}

/* Builds segment and tables; on failure the process runs unprofiled. Under mp_lock or
 * single-threaded (fork child). */
static void create_all(void)
{
        struct geometry g = geometry_for(mp.rate);
        int r = mp.priv ? 0 : create_private(&g); /* a forked child keeps its parent's */
        if (r < 0)
                mp_debug("private tables", -r);
        else
                r = create_segment(&g);
        if (r < 0) {
                /* the private tables stay: free may be reading the address index, and
                 * a child's inherited objects are found there */
                __atomic_store_n(&mp.mode, MP_OFF, __ATOMIC_RELEASE);
                return;
        }
        __atomic_store_n(&mp.mode, MP_READY, __ATOMIC_RELEASE);
}

/* MEMPROF_RATE (include/memprof/rate.h's syntax); anything else gets the default, one
 * line on stderr and a comment in memstats: the user asked for profiling and would
 * otherwise never learn that the rate asked for is not the one in use. */
static void set_rate(const char *s)
{
        mp.rate = MP_DEFAULT_RATE;
        if (!s || !*s || mp_rate_parse(s, &mp.rate) == 0)
                return;
        mp.rate = MP_DEFAULT_RATE;
        mp.rate_unparsed = true;
        strncpy(mp.rate_text, s, sizeof(mp.rate_text) - 1);

        static const char head[] = "memprof: MEMPROF_RATE=\"",
                          tail[] = "\" not understood (bytes, or with k, M or G): using "
                                   "the default, 524288\n";
        _Static_assert(MP_DEFAULT_RATE == 524288, "the message names the default");
        char line[sizeof(head) + sizeof(mp.rate_text) + sizeof(tail)];
        size_t n = 0, len = strlen(mp.rate_text);
        memcpy(line + n, head, sizeof(head) - 1), n += sizeof(head) - 1;
        memcpy(line + n, mp.rate_text, len), n += len;
        memcpy(line + n, tail, sizeof(tail) - 1), n += sizeof(tail) - 1;
        int saved = errno;
        ssize_t w = write(STDERR_FILENO, line, n);
        (void)w;
        errno = saved;
}

static void fork_prepare(void)
{
        mp_lock_take();
}

static void fork_parent(void)
{
        mp_lock_release();
}

/* The child: one thread, a copy of the parent's memory.  It drops the parent's segment
 * (still mapped shared: writing to it would corrupt the parent's counts) and starts
 * its own from its first slow path, so a child that execs without allocating never
 * pays for one; until then it counts like a process before its constructor.  It keeps
 * its copy of the private tables, so the sampled objects it inherited are still found
 * (in sparse mode only the table knows where their block starts); they carry the
 * parent's generation, so freeing them touches no bucket.  The stack and bucket
 * indices name the parent's segment: they are dropped (zero pages again). */
static void fork_child(void)
{
        mp_lock = 0; /* the only thread now: whoever held it in the parent is not here */
        if (mp.mode != MP_READY)
                return;
        int saved = errno;
        mp_tls_slot = &mp_sentinel;
        munmap(mp.hdr, mp.seg_size);
        mp.hdr = NULL;
        if (mp.priv_index_size) {
                madvise(mp.priv, mp.priv_index_size, MADV_DONTNEED);
                mp_table_indices_reset();
        }
        mp.gen++;
        mp.pre_mallocs = mp.pre_frees = mp.pre_bytes = 0;
        mp_sentinel.frees = 0;
        mp.mi_next_ns = 0;
        mp.mi_next_samples = 0;
        mp.mode = MP_UNINIT;
        errno = saved;
}

static void init_locked(void)
{
        if (!mp.inited) { /* once per process tree: a forked child keeps all this */
                mp.secret = mp_seed();
                mp.page_size = (size_t)sysconf(_SC_PAGESIZE);
                if (mp.late)
                        mp.rate = mp.attach_rate;
                else
                        set_rate(getenv("MEMPROF_RATE"));
                if (mp.rate == 0 || mp.rate >= MP_SPARSE_MIN_RATE) { /* see shim.h */
                        __atomic_store_n(&mp_free_mask, MP_SPARSE_ALIGN - 1,
                                         __ATOMIC_RELEASE);
                        __atomic_store_n(&mp_dense_hdr, 0, __ATOMIC_RELEASE);
                }
                mp.debug = getenv("MEMPROF_DEBUG") != NULL;
                mp_resolve();
                mp_stack_init();
                mp_thread_init_key();
                if (pthread_atfork(fork_prepare, fork_parent, fork_child)) {
                        mp_debug("pthread_atfork", 0);
                        __atomic_store_n(&mp.mode, MP_OFF, __ATOMIC_RELEASE);
                        return;
                }
                mp.inited = true;
        }
        create_all();
}

extern char **environ;

void mp_ensure(void)
{
        if (likely(__atomic_load_n(&mp.mode, __ATOMIC_ACQUIRE) != MP_UNINIT))
                return;
        if (!environ)
                return; /* too early in start-up to read MEMPROF_RATE: keep counting */
        int saved = errno;
        mp_tls_guard++;
        mp_lock_take();
        if (mp.mode == MP_UNINIT)
                init_locked();
        mp_lock_release();
        mp_tls_guard--;
        errno = saved;
}

__attribute__((constructor)) static void mp_constructor(void)
{
        if (mp_loaded_late()) { /* by memprof attach, which calls memprof_attach next */
                mp.late = true;
                __atomic_store_n(&mp_dense_hdr, 0, __ATOMIC_RELEASE);
                return;
        }
        mp_ensure();
        int saved = errno;
        mp_tls_guard++;
        mp_thread_attach();
        mp_tls_guard--;
        errno = saved;
}
