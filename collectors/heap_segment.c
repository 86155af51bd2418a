/* Daemon side of the shim's segment: reading it consistently while the target writes,
 * and validating every byte (heap_segment_find.c finds it). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "heap_segment.h"
#include "memprof/clock.h"

#define SLOT_READ_TRIES 4
#define MALLINFO_READ_TRIES 8
#define OBJ_SIZE_LIMIT (1ull << 48) /* no single object is larger than an address space */

static void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

static int pread_full(int fd, void *buf, size_t len, off_t off, size_t *ret_got)
{
        size_t got = 0;
        while (got < len) {
                ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        *ret_got = got;
        return 0;
}

/* ---- validation ---- */

/* A text field of the header into dst (as large as the field): up to the first NUL,
 * printable ASCII only, and no quote or backslash, so it can be shown in quotes. */
static void copy_text(char *dst, const char *src, size_t size)
{
        size_t i;

        for (i = 0; i + 1 < size && src[i]; i++)
                dst[i] = src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"' && src[i] != '\\'
                                 ? src[i]
                                 : '?';
        dst[i] = '\0';
}

#define BAD(why_)                  \
        do {                       \
                *ret_why = (why_); \
                return -EBADMSG;   \
        } while (0)

struct range {
        uint64_t off, len;
};

static bool overlap(struct range a, struct range b)
{
        return a.len && b.len && a.off < b.off + b.len && b.off < a.off + a.len;
}

/* Checks a table's place: inside the segment, past the header, aligned, no overflow. */
static int check_table(uint64_t off, uint32_t cap, size_t entsize, uint64_t seg_size,
                       struct range *ret, const char **ret_why, const char *why)
{
        uint64_t len;
        if (__builtin_mul_overflow((uint64_t)cap, (uint64_t)entsize, &len) ||
            off < sizeof(struct mp_seg_header) || off % 8 || off > seg_size ||
            len > seg_size - off)
                BAD(why);
        *ret = (struct range){ off, len };
        return 0;
}

static int check_header(const struct mp_seg_header *h, size_t len, const char **ret_why)
{
        if (h->magic != MP_SEG_MAGIC)
                BAD("bad magic");
        if (h->version != MP_SEG_VERSION)
                BAD("unknown version");
        if (h->header_size != sizeof(struct mp_seg_header))
                BAD("bad header size");
        if (h->seg_size > len || h->seg_size > MP_LIMIT_SEG_SIZE ||
            h->seg_size < sizeof(struct mp_seg_header))
                BAD("segment size beyond the file");
        if (h->slots_cap > MP_LIMIT_SLOTS || h->stacks_cap > MP_LIMIT_STACKS ||
            h->frames_cap > MP_LIMIT_FRAMES || h->buckets_cap > MP_LIMIT_BUCKETS)
                BAD("table capacity beyond limits");
        if (h->nslots > h->slots_cap || h->nstacks > h->stacks_cap ||
            h->nframes > h->frames_cap || h->nbuckets > h->buckets_cap)
                BAD("count beyond capacity");
        struct range t[4];
        int r;
        if ((r = check_table(h->slots_off, h->slots_cap, sizeof(struct mp_thread_slot),
                             h->seg_size, &t[0], ret_why, "slot table out of bounds")) < 0 ||
            (r = check_table(h->stacks_off, h->stacks_cap, sizeof(struct mp_stack),
                             h->seg_size, &t[1], ret_why, "stack table out of bounds")) < 0 ||
            (r = check_table(h->frames_off, h->frames_cap, sizeof(uint64_t), h->seg_size,
                             &t[2], ret_why, "frame table out of bounds")) < 0 ||
            (r = check_table(h->buckets_off, h->buckets_cap, sizeof(struct mp_bucket),
                             h->seg_size, &t[3], ret_why, "bucket table out of bounds")) < 0)
                return r;
        for (int i = 0; i < 4; i++)
                for (int j = i + 1; j < 4; j++)
                        if (overlap(t[i], t[j]))
                                BAD("tables overlap");
        return 0;
}

static int add_u64(uint64_t *acc, uint64_t x)
{
        return __builtin_add_overflow(*acc, x, acc) ? -EOVERFLOW : 0;
}

/* Bytes a slot has seen: base + (start - countdown).  A slot caught mid-update
 * (odd seq) contributes its base alone, which is never more than the truth. */
static int slot_bytes(const struct mp_thread_slot *s, uint64_t *ret)
{
        uint64_t b = s->bytes_base;
        if (!(s->seq & 1)) {
                int64_t used;
                if (__builtin_sub_overflow(s->countdown_start, s->countdown, &used))
                        return -EOVERFLOW;
                /* negative only after a failed malloc of ~SIZE_MAX bytes: count none */
                if (used > 0 && __builtin_add_overflow(b, (uint64_t)used, &b))
                        return -EOVERFLOW;
        }
        *ret = b;
        return 0;
}

static int sum_slots(const uint8_t *buf, const struct mp_seg_header *h,
                     struct heap_snapshot *s, const char **ret_why)
{
        s->mallocs = h->retired_mallocs;
        s->frees = h->retired_frees;
        s->alloc_bytes = h->retired_bytes;
        for (uint32_t i = 0; i < h->nslots; i++) {
                struct mp_thread_slot sl;
                memcpy(&sl, buf + h->slots_off + (uint64_t)i * sizeof(sl), sizeof(sl));
                uint64_t bytes;
                if (slot_bytes(&sl, &bytes) < 0 || add_u64(&s->mallocs, sl.mallocs) < 0 ||
                    add_u64(&s->frees, sl.frees) < 0 || add_u64(&s->alloc_bytes, bytes) < 0)
                        BAD("thread counters overflow");
                if (sl.tid && !(sl.flags & MP_SLOT_EXITED))
                        s->threads++;
        }
        return 0;
}

/*
 * A large table is copied into fresh pages: one call fills them in rather than a fault
 * each (~2 us a page on a VM; memstats of 100k sites spent half its time in faults).
 * Only pages of [p, p + n), which the caller owns; where the kernel cannot (before
 * 5.14), the writes fault as before.
 */
#define POPULATE_MIN (64 * 1024)

static void populate(void *p, size_t n)
{
        uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;

        if (n >= POPULATE_MIN && hi > lo)
                madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

static int copy_stacks(const uint8_t *buf, const struct mp_seg_header *h,
                       struct heap_snapshot *s, const char **ret_why)
{
        s->frames = malloc(((size_t)h->nframes + 1) * sizeof(uint64_t));
        s->stacks = malloc(((size_t)h->nstacks + 1) * sizeof(struct heap_stack));
        if (!s->frames || !s->stacks)
                return -ENOMEM;
        populate(s->frames, (size_t)h->nframes * sizeof(uint64_t));
        populate(s->stacks, (size_t)h->nstacks * sizeof(struct heap_stack));
        memcpy(s->frames, buf + h->frames_off, (size_t)h->nframes * sizeof(uint64_t));
        for (uint32_t i = 0; i < h->nstacks; i++) {
                struct mp_stack st;
                memcpy(&st, buf + h->stacks_off + (uint64_t)i * sizeof(st), sizeof(st));
                if (st.depth < 1 || st.depth > MP_MAX_DEPTH)
                        BAD("stack depth out of range");
                if (st.frames_off > h->nframes || st.depth > h->nframes - st.frames_off)
                        BAD("stack frames out of bounds");
                s->stacks[i] = (struct heap_stack){ st.depth, s->frames + st.frames_off };
        }
        s->nstacks = h->nstacks;
        return 0;
}

static int copy_sites(const uint8_t *buf, const struct mp_seg_header *h,
                      struct heap_snapshot *s, const char **ret_why)
{
        s->sites = malloc(((size_t)h->nbuckets + 1) * sizeof(struct heap_site));
        if (!s->sites)
                return -ENOMEM;
        populate(s->sites, (size_t)h->nbuckets * sizeof(struct heap_site));
        for (uint32_t i = 0; i < h->nbuckets; i++) {
                struct mp_bucket b;
                memcpy(&b, buf + h->buckets_off + (uint64_t)i * sizeof(b), sizeof(b));
                if (b.stack >= h->nstacks)
                        BAD("bucket names a missing stack");
                if (b.size > OBJ_SIZE_LIMIT)
                        BAD("bucket object size impossible");
                s->sites[i] = (struct heap_site){
                        .stack = b.stack,
                        .size = b.size,
                        .allocs = b.allocs,
                        .frees = b.frees > b.allocs ? b.allocs : b.frees,
                };
        }
        s->nsites = h->nbuckets;
        return 0;
}

static int parse(const uint8_t *buf, size_t len, bool stacks, struct heap_snapshot **ret,
                 const char **ret_why)
{
        const char *why = NULL;
        if (!ret_why)
                ret_why = &why;
        if (!buf || len < sizeof(struct mp_seg_header))
                BAD("shorter than the header");
        struct mp_seg_header h;
        memcpy(&h, buf, sizeof(h));
        int r = check_header(&h, len, ret_why);
        if (r < 0)
                return r;

        struct heap_snapshot *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->pid_in_ns = h.pid;
        s->rate = h.rate;
        s->start_time_ns = h.start_time_ns;
        s->attached = (h.flags & MP_SEG_F_ATTACHED) != 0;
        s->detached = (h.flags & MP_SEG_F_DETACHED) != 0;
        s->time_ns = time_now_ns(CLOCK_REALTIME);
        s->samples = h.samples;
        s->lost_samples = h.lost_samples;
        s->allocator = h.allocator <= MP_ALLOC_OTHER ? h.allocator : MP_ALLOC_UNKNOWN;
        copy_text(s->allocator_file, h.allocator_file, sizeof(s->allocator_file));
        s->rate_unparsed = h.flags & MP_SEG_F_RATE_UNPARSED;
        copy_text(s->rate_text, h.rate_text, sizeof(s->rate_text));
        if (!(h.mi_seq & 1) && h.mi_time_ns > 0) {
                s->mallinfo_time_ns = h.mi_time_ns;
                s->mallinfo = h.mallinfo;
        }
        r = sum_slots(buf, &h, s, ret_why);
        if (r == 0 && stacks)
                r = copy_stacks(buf, &h, s, ret_why);
        if (r == 0)
                r = copy_sites(buf, &h, s, ret_why);
        if (r < 0) {
                heap_snapshot_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int heap_snapshot_parse(const uint8_t *buf, size_t len, struct heap_snapshot **ret,
                        const char **ret_why)
{
        return parse(buf, len, true, ret, ret_why);
}

/* ---- reading a live segment ---- */

static int read_u32(int fd, size_t off, uint32_t *ret)
{
        size_t got = 0;
        int r = pread_full(fd, ret, sizeof(*ret), (off_t)off, &got);
        return r < 0 ? r : got == sizeof(*ret) ? 0 : -EBADMSG;
}

/* Slot counters change while we copy.  Per slot, a seqlock read across three copies:
 * seq from an earlier copy, the data from the next, seq again from a third; equal and
 * even means the data is whole.  A slot that stays torn is marked odd and so counts
 * its base only. */
static int stabilise_slots(int fd, uint8_t *buf, const struct mp_seg_header *h)
{
        const size_t sz = sizeof(struct mp_thread_slot), seq_at = offsetof(struct mp_thread_slot, seq);
        size_t n = (size_t)h->nslots * sz;
        if (n == 0)
                return 0;
        _cleanup_free_ uint8_t *data = malloc(n), *after = malloc(n);
        _cleanup_free_ uint32_t *before = malloc((size_t)h->nslots * sizeof(uint32_t));
        _cleanup_free_ bool *done = calloc(h->nslots, sizeof(bool));
        if (!data || !after || !before || !done)
                return -ENOMEM;
        uint8_t *slots = buf + h->slots_off;
        for (uint32_t i = 0; i < h->nslots; i++)
                memcpy(&before[i], slots + i * sz + seq_at, 4);
        for (int tries = 0; tries < SLOT_READ_TRIES; tries++) {
                size_t got1 = 0, got2 = 0;
                int r = pread_full(fd, data, n, (off_t)h->slots_off, &got1);
                if (r == 0)
                        r = pread_full(fd, after, n, (off_t)h->slots_off, &got2);
                if (r < 0)
                        return r;
                if (got1 != n || got2 != n)
                        return 0; /* the file shrank: the parser judges what is there */
                bool torn = false;
                for (uint32_t i = 0; i < h->nslots; i++) {
                        if (done[i])
                                continue;
                        uint32_t s3;
                        memcpy(&s3, after + i * sz + seq_at, 4);
                        if (before[i] == s3 && !(s3 & 1)) {
                                memcpy(slots + i * sz, data + i * sz, sz);
                                memcpy(slots + i * sz + seq_at, &s3, 4);
                                done[i] = true;
                        } else {
                                before[i] = s3;
                                torn = true;
                        }
                }
                if (!torn)
                        return 0;
        }
        for (uint32_t i = 0; i < h->nslots; i++) {
                if (done[i])
                        continue;
                memcpy(slots + i * sz, after + i * sz, sz);
                uint32_t odd = before[i] | 1;
                memcpy(slots + i * sz + seq_at, &odd, 4);
        }
        return 0;
}

/* The mallinfo record is a seqlock (segment.h): a copy is whole only if the sequence
 * read before it and the one read after it are the same even value.  The writer holds
 * it for a dozen stores, so a few tries see it whole; one that stays busy is marked odd
 * (the parser then shows no figures rather than torn ones). */
static int stabilise_mallinfo(int fd, struct mp_seg_header *h)
{
        /* the record: mi_time_ns and the figures right after it */
        const size_t seq_at = offsetof(struct mp_seg_header, mi_seq),
                     rec_at = offsetof(struct mp_seg_header, mi_time_ns);
        uint8_t rec[sizeof(int64_t) + sizeof(struct mp_mallinfo)];
        const size_t rec_len = sizeof(rec);
        _Static_assert(offsetof(struct mp_seg_header, mallinfo) ==
                               offsetof(struct mp_seg_header, mi_time_ns) + sizeof(int64_t),
                       "mi_time_ns and mallinfo are one run of bytes");

        for (int tries = 0; tries < MALLINFO_READ_TRIES; tries++) {
                uint32_t before, after;
                size_t got = 0;
                int r;

                if ((r = read_u32(fd, seq_at, &before)) < 0 ||
                    (r = pread_full(fd, rec, rec_len, (off_t)rec_at, &got)) < 0 ||
                    (r = read_u32(fd, seq_at, &after)) < 0)
                        return r == -EBADMSG ? 0 : r; /* the file shrank: judged later */
                if (got != rec_len)
                        return 0;
                if (before == after && !(before & 1)) {
                        h->mi_seq = before;
                        memcpy((uint8_t *)h + rec_at, rec, rec_len);
                        return 0;
                }
        }
        h->mi_seq |= 1;
        return 0;
}

/* Reads [off, off + n * entsize) of the segment into the same place of buf, clamped to
 * the buffer: the parser judges whatever arrives. */
static int read_used(int fd, uint8_t *buf, size_t len, uint64_t off, uint64_t n,
                     size_t entsize)
{
        uint64_t want;
        size_t got = 0;

        if (off >= len || __builtin_mul_overflow(n, (uint64_t)entsize, &want))
                return 0;
        if (want > len - off)
                want = len - off;
        populate(buf + off, (size_t)want);
        return pread_full(fd, buf + off, (size_t)want, (off_t)off, &got);
}

/*
 * Only the used part of each table is read, into an anonymous mapping the size of the
 * segment whose other pages stay untouched (zero, never faulted in): a segment sized
 * for a million samples that holds a hundred costs a hundred.  A mapping rather than
 * malloc, so the daemon's heap does not keep a high-water mark of every segment.
 */
static int read_segment(int fd, bool stacks, struct heap_snapshot **ret, const char **ret_why)
{
        const char *why = NULL;
        if (!ret_why)
                ret_why = &why;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size < (off_t)sizeof(struct mp_seg_header))
                BAD("shorter than the header");
        if ((uint64_t)st.st_size > MP_LIMIT_SEG_SIZE)
                BAD("segment larger than the limit");

        /* A bucket names a stack published before it, a stack frames published before
         * it: load the counts in that order, before copying the tables. */
        uint32_t nbuckets, nstacks, nframes;
        int r;
        if ((r = read_u32(fd, offsetof(struct mp_seg_header, nbuckets), &nbuckets)) < 0 ||
            (r = read_u32(fd, offsetof(struct mp_seg_header, nstacks), &nstacks)) < 0 ||
            (r = read_u32(fd, offsetof(struct mp_seg_header, nframes), &nframes)) < 0)
                return r == -EBADMSG ? (*ret_why = "shorter than the header", r) : r;

        size_t len = (size_t)st.st_size, got = 0;
        uint8_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
        if (buf == MAP_FAILED)
                return -ENOMEM;
        struct mp_seg_header h;
        r = pread_full(fd, &h, sizeof(h), 0, &got);
        if (r < 0)
                goto out;
        if (got < sizeof(h)) {
                *ret_why = "shorter than the header";
                r = -EBADMSG;
                goto out;
        }
        h.nbuckets = nbuckets;
        h.nstacks = nstacks;
        h.nframes = nframes;
        r = stabilise_mallinfo(fd, &h);
        if (r < 0)
                goto out;
        memcpy(buf, &h, sizeof(h));
        if (check_header(&h, len, ret_why) == 0) {
                if ((r = read_used(fd, buf, len, h.slots_off, h.nslots,
                                   sizeof(struct mp_thread_slot))) < 0 ||
                    (stacks && (r = read_used(fd, buf, len, h.stacks_off, h.nstacks,
                                              sizeof(struct mp_stack))) < 0) ||
                    (stacks && (r = read_used(fd, buf, len, h.frames_off, h.nframes,
                                              sizeof(uint64_t))) < 0) ||
                    (r = read_used(fd, buf, len, h.buckets_off, h.nbuckets,
                                   sizeof(struct mp_bucket))) < 0 ||
                    (r = stabilise_slots(fd, buf, &h)) < 0)
                        goto out;
        }
        r = parse(buf, len, stacks, ret, ret_why);
out:
        munmap(buf, len);
        return r;
}

int heap_snapshot_read(int fd, struct heap_snapshot **ret, const char **ret_why)
{
        return read_segment(fd, true, ret, ret_why);
}

int heap_snapshot_read_counts(int fd, struct heap_snapshot **ret, const char **ret_why)
{
        return read_segment(fd, false, ret, ret_why);
}

void heap_snapshot_free(struct heap_snapshot *s)
{
        if (!s)
                return;
        free(s->stacks);
        free(s->frames);
        free(s->sites);
        free(s);
}
