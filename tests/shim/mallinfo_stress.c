/* The mallinfo record under stress: many threads publish it (the shim's own writer,
 * collectors/shim/mallinfo.c) while others read the segment the way memprofd does
 * (collectors/heap_segment.c); no read may return a torn record.
 *
 * Torn, checkably: writer k publishes arena = k, ordblks = k + 1, ..., keepcost = k + 9
 * and mi_time_ns = k + 10, so a whole record has every field at its own offset from
 * arena.  Fields from two writers, or a half-written record, break that. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "heap_segment.h"
#include "shim.h"

/* What mallinfo.c refers to besides the function under test (the shim's state). */
struct mp_state mp;
uint32_t mp_free_mask;

#define WRITERS 6
#define READERS 2
#define READS 10000 /* per reader; the writers publish until the readers are done */
#define SEG_SIZE 4096

static struct mp_seg_header *hdr;
static int seg_fd;
static uint64_t next_k;            /* atomic */
static int readers_left = READERS; /* atomic */

struct reader_result {
        unsigned long whole, absent, torn, failed;
};

static struct mp_mallinfo record_of(uint64_t k)
{
        return (struct mp_mallinfo){k,     k + 1, k + 2, k + 3, k + 4,
                                    k + 5, k + 6, k + 7, k + 8, k + 9};
}

static bool whole(const struct heap_snapshot *s)
{
        struct mp_mallinfo want = record_of(s->mallinfo.arena);

        return memcmp(&want, &s->mallinfo, sizeof(want)) == 0 &&
               s->mallinfo_time_ns == (int64_t)s->mallinfo.arena + 10;
}

/* Bursts of publishes with pauses of varying length between them, so that readers
 * meet the record both at rest and in the middle of a write. */
static void *writer(void *arg)
{
        uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

        while (__atomic_load_n(&readers_left, __ATOMIC_ACQUIRE) > 0) {
                /* steps of 16 keep each record's values apart from the next one's */
                uint64_t k = (__atomic_fetch_add(&next_k, 1, __ATOMIC_RELAXED) + 1) * 16;
                struct mp_mallinfo m = record_of(k);

                mp_mallinfo_publish(hdr, &m, (int64_t)k + 10);
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                for (unsigned spin = rng % 4096; spin; spin--)
                        __asm__ volatile("" ::: "memory");
        }
        return NULL;
}

static void read_once(struct reader_result *res)
{
        struct heap_snapshot *s = NULL;
        const char *why = NULL;

        if (heap_snapshot_read_counts(seg_fd, &s, &why) < 0) {
                fprintf(stderr, "read failed: %s\n", why ? why : "errno");
                res->failed++;
                return;
        }
        if (s->mallinfo_time_ns == 0)
                res->absent++;
        else if (whole(s))
                res->whole++;
        else if (res->torn++ == 0)
                fprintf(stderr, "torn record: arena %llu ordblks %llu keepcost %llu time %lld\n",
                        (unsigned long long)s->mallinfo.arena,
                        (unsigned long long)s->mallinfo.ordblks,
                        (unsigned long long)s->mallinfo.keepcost, (long long)s->mallinfo_time_ns);
        heap_snapshot_free(s);
}

static void *reader(void *arg)
{
        struct reader_result *res = arg;

        for (int i = 0; i < READS; i++)
                read_once(res);
        __atomic_fetch_sub(&readers_left, 1, __ATOMIC_RELEASE);
        return NULL;
}

static int make_segment(void)
{
        seg_fd = memfd_create("mallinfo-stress", MFD_CLOEXEC);
        if (seg_fd < 0 || ftruncate(seg_fd, SEG_SIZE) < 0)
                return -errno;
        hdr = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, seg_fd, 0);
        if (hdr == MAP_FAILED)
                return -errno;
        /* a valid segment with empty tables: only the mallinfo record matters here */
        uint64_t tables = (sizeof(*hdr) + 63) & ~(uint64_t)63;
        *hdr = (struct mp_seg_header){
            .magic = MP_SEG_MAGIC,
            .version = MP_SEG_VERSION,
            .header_size = sizeof(*hdr),
            .seg_size = SEG_SIZE,
            .pid = getpid(),
            .flags = MP_SEG_F_GLIBC,
            .rate = 1,
            .slots_off = tables,
            .stacks_off = tables,
            .frames_off = tables,
            .buckets_off = tables,
        };
        return 0;
}

int main(void)
{
        pthread_t w[WRITERS], r[READERS];
        struct reader_result res[READERS] = {0}, last = {0};
        unsigned long whole_reads = 0, absent = 0;

        if (make_segment() < 0) {
                perror("making the segment");
                return 1;
        }
        for (int i = 0; i < READERS; i++)
                pthread_create(&r[i], NULL, reader, &res[i]);
        for (int i = 0; i < WRITERS; i++)
                pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)(i + 1));
        for (int i = 0; i < READERS; i++)
                pthread_join(r[i], NULL);
        for (int i = 0; i < WRITERS; i++)
                pthread_join(w[i], NULL);
        for (int i = 0; i < READERS; i++) {
                CHECK(res[i].torn == 0);
                CHECK(res[i].failed == 0);
                whole_reads += res[i].whole;
                absent += res[i].absent;
        }
        /* with the writers gone the record is at rest: the next read must see it whole */
        read_once(&last);
        CHECK(last.whole == 1);
        CHECK(hdr->mi_seq % 2 == 0);
        printf("%d writers: %llu publishes tried, %u made; %d readers: %lu whole reads, "
               "%lu without figures (record busy, or before the first publish)\n",
               WRITERS, (unsigned long long)next_k, hdr->mi_seq / 2, READERS, whole_reads, absent);
        return check_failures ? 1 : 0;
}
