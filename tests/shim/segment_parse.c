/* heap_snapshot_parse against a hand-built segment: the right figures from a valid one,
 * -EBADMSG (never a crash) for each field corrupted, and random mutations survived. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_segment.h"

#define SLOTS 4
#define STACKS 8
#define FRAMES 64
#define BUCKETS 8

struct layout {
        struct mp_seg_header h;
        struct mp_thread_slot slots[SLOTS];
        struct mp_stack stacks[STACKS];
        uint64_t frames[FRAMES];
        struct mp_bucket buckets[BUCKETS];
};

static int failures;

#define EXPECT(c, ...)                                       \
        do {                                                 \
                if (!(c)) {                                  \
                        fprintf(stderr, "FAIL %d: ", __LINE__); \
                        fprintf(stderr, __VA_ARGS__);        \
                        fprintf(stderr, "\n");               \
                        failures++;                          \
                }                                            \
        } while (0)

static void build(struct layout *l)
{
        memset(l, 0, sizeof(*l));
        struct mp_seg_header *h = &l->h;
        h->magic = MP_SEG_MAGIC;
        h->version = MP_SEG_VERSION;
        h->header_size = sizeof(*h);
        h->seg_size = sizeof(*l);
        h->pid = 1234;
        h->rate = 512;
        h->start_time_ns = 42;
        h->slots_off = offsetof(struct layout, slots);
        h->stacks_off = offsetof(struct layout, stacks);
        h->frames_off = offsetof(struct layout, frames);
        h->buckets_off = offsetof(struct layout, buckets);
        h->slots_cap = SLOTS;
        h->stacks_cap = STACKS;
        h->frames_cap = FRAMES;
        h->buckets_cap = BUCKETS;
        h->nslots = 3;
        h->nstacks = 2;
        h->nframes = 5;
        h->nbuckets = 3;
        h->retired_mallocs = 7;
        h->retired_frees = 3;
        h->retired_bytes = 700;
        h->samples = 9;
        h->lost_samples = 1;
        h->mi_time_ns = 99;
        h->mallinfo.uordblks = 4096;
        /* slot 0: 10 mallocs, bytes 1000 + (500 - 200); slot 1 exited; slot 2 torn */
        l->slots[0] = (struct mp_thread_slot){ .countdown = 200, .mallocs = 10, .frees = 4,
                                               .countdown_start = 500, .bytes_base = 1000,
                                               .tid = 11 };
        l->slots[1] = (struct mp_thread_slot){ .countdown = -5, .mallocs = 5, .frees = 5,
                                               .countdown_start = -1, .bytes_base = 50,
                                               .tid = 12, .flags = MP_SLOT_EXITED };
        l->slots[2] = (struct mp_thread_slot){ .countdown = 1, .mallocs = 1, .frees = 0,
                                               .countdown_start = 900, .bytes_base = 20,
                                               .seq = 3, .tid = 13 };
        uint64_t pcs[] = { 0x1000, 0x2000, 0x3000, 0x4000, 0x5000 };
        memcpy(l->frames, pcs, sizeof(pcs));
        l->stacks[0] = (struct mp_stack){ .hash = 1, .frames_off = 0, .depth = 3 };
        l->stacks[1] = (struct mp_stack){ .hash = 2, .frames_off = 3, .depth = 2 };
        l->buckets[0] = (struct mp_bucket){ .stack = 0, .size = 48, .allocs = 5, .frees = 2 };
        l->buckets[1] = (struct mp_bucket){ .stack = 1, .size = 1000, .allocs = 3, .frees = 0 };
        l->buckets[2] = (struct mp_bucket){ .stack = 1, .size = 8, .allocs = 1, .frees = 4 };
}

static void check_valid(void)
{
        struct layout l;
        build(&l);
        struct heap_snapshot *s = NULL;
        const char *why = NULL;
        int r = heap_snapshot_parse((const uint8_t *)&l, sizeof(l), &s, &why);
        EXPECT(r == 0, "valid segment rejected: %d %s", r, why ? why : "");
        if (r)
                return;
        /* the snapshot must not point into the input */
        memset(&l, 0xee, sizeof(l));
        EXPECT(s->pid_in_ns == 1234 && s->rate == 512 && s->start_time_ns == 42, "header");
        EXPECT(s->mallocs == 7 + 10 + 5 + 1, "mallocs %llu", (unsigned long long)s->mallocs);
        EXPECT(s->frees == 3 + 4 + 5 + 0, "frees %llu", (unsigned long long)s->frees);
        /* 700 retired + 1300 + (50 + (-1 - -5)) + 20 (torn slot: base only) */
        EXPECT(s->alloc_bytes == 700 + 1300 + 54 + 20, "bytes %llu",
               (unsigned long long)s->alloc_bytes);
        EXPECT(s->threads == 2, "threads %u", s->threads);
        EXPECT(s->samples == 9 && s->lost_samples == 1, "samples");
        EXPECT(s->mallinfo_time_ns == 99 && s->mallinfo.uordblks == 4096, "mallinfo");
        EXPECT(s->nstacks == 2 && s->nsites == 3, "counts");
        EXPECT(s->stacks[0].depth == 3 && s->stacks[0].pcs[0] == 0x1000 &&
               s->stacks[1].depth == 2 && s->stacks[1].pcs[1] == 0x5000, "stacks");
        EXPECT(s->sites[0].size == 48 && s->sites[0].allocs == 5 && s->sites[0].frees == 2,
               "site 0");
        EXPECT(s->sites[2].frees == 1, "frees clamped to allocs: %llu",
               (unsigned long long)s->sites[2].frees);
        heap_snapshot_free(s);
}

/* Each corruption on its own must give -EBADMSG with a reason. */
static const char *const corruptions[] = {
        "magic",
        "version",
        "header_size",
        "seg_size beyond buffer",
        "seg_size tiny",
        "seg_size huge",
        "slots_cap beyond limit",
        "stacks_cap beyond limit",
        "frames_cap beyond limit",
        "buckets_cap beyond limit",
        "slots table past end",
        "frames table past end",
        "stacks_off in header",
        "buckets_off past end",
        "frames_off overflow",
        "misaligned table",
        "tables overlap",
        "nslots > cap",
        "nstacks > cap",
        "nframes > cap",
        "nbuckets > cap",
        "stack depth 0",
        "stack depth too deep",
        "stack frames past nframes",
        "stack frames_off huge",
        "bucket stack missing",
        "bucket stack huge",
        "bucket size impossible",
        "slot mallocs overflow",
        "slot bytes overflow",
        "slot countdown overflow",
        "retired overflow",
};

static void corrupt(size_t which, struct layout *l)
{
        switch (which) {
        case 0:
                l->h.magic ^= 1;
                break;
        case 1:
                l->h.version = 99;
                break;
        case 2:
                l->h.header_size = 8;
                break;
        case 3:
                l->h.seg_size = sizeof(*l) + 1;
                break;
        case 4:
                l->h.seg_size = 16;
                break;
        case 5:
                l->h.seg_size = UINT64_MAX;
                break;
        case 6:
                l->h.slots_cap = MP_LIMIT_SLOTS + 1;
                break;
        case 7:
                l->h.stacks_cap = MP_LIMIT_STACKS + 1;
                break;
        case 8:
                l->h.frames_cap = MP_LIMIT_FRAMES + 1;
                break;
        case 9:
                l->h.buckets_cap = MP_LIMIT_BUCKETS + 1;
                break;
        case 10:
                l->h.slots_cap = SLOTS * 100;
                break;
        case 11:
                l->h.frames_cap = FRAMES * 1000;
                break;
        case 12:
                l->h.stacks_off = 8;
                break;
        case 13:
                l->h.buckets_off = UINT64_MAX - 8;
                break;
        case 14:
                l->h.frames_off = UINT64_MAX / 2;
                break;
        case 15:
                l->h.stacks_off += 4;
                break;
        case 16:
                l->h.stacks_off = l->h.slots_off;
                break;
        case 17:
                l->h.nslots = SLOTS + 1;
                break;
        case 18:
                l->h.nstacks = STACKS + 1;
                break;
        case 19:
                l->h.nframes = FRAMES + 1;
                break;
        case 20:
                l->h.nbuckets = BUCKETS + 1;
                break;
        case 21:
                l->stacks[1].depth = 0;
                break;
        case 22:
                l->stacks[1].depth = MP_MAX_DEPTH + 1;
                break;
        case 23:
                l->stacks[1].frames_off = 4;
                break;
        case 24:
                l->stacks[0].frames_off = UINT32_MAX;
                break;
        case 25:
                l->buckets[2].stack = 2;
                break;
        case 26:
                l->buckets[0].stack = UINT32_MAX;
                break;
        case 27:
                l->buckets[1].size = UINT64_MAX;
                break;
        case 28:
                l->slots[0].mallocs = UINT64_MAX;
                break;
        case 29:
                l->slots[0].bytes_base = UINT64_MAX - 10;
                break;
        case 30:
                l->slots[0].countdown = INT64_MIN, l->slots[0].countdown_start = INT64_MAX;
                break;
        case 31:
                l->h.retired_frees = UINT64_MAX;
                break;
        }
}

static void check_corrupt(void)
{
        for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
                struct layout l;
                build(&l);
                corrupt(i, &l);
                struct heap_snapshot *s = NULL;
                const char *why = NULL;
                int r = heap_snapshot_parse((const uint8_t *)&l, sizeof(l), &s, &why);
                EXPECT(r == -EBADMSG && why, "%s: got %d", corruptions[i], r);
                if (r == -EBADMSG)
                        printf("ok   %-28s -> %s\n", corruptions[i], why);
                heap_snapshot_free(r == 0 ? s : NULL);
        }
        /* every truncation */
        struct layout l;
        build(&l);
        for (size_t len = 0; len < sizeof(l); len += 7) {
                struct heap_snapshot *s = NULL;
                const char *why = NULL;
                uint8_t *copy = malloc(len + 1); /* exact-size copy: ASan sees overreads */
                memcpy(copy, &l, len);
                int r = heap_snapshot_parse(copy, len, &s, &why);
                EXPECT(r == -EBADMSG, "truncated to %zu: %d", len, r);
                free(copy);
        }
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* Random byte and word mutations: only 0 or -EBADMSG, and a snapshot that passes must
 * hold together. */
static void check_mutations(int rounds)
{
        int ok = 0, bad = 0;
        for (int round = 0; round < rounds; round++) {
                struct layout l;
                build(&l);
                uint8_t *b = (uint8_t *)&l;
                int n = 1 + (int)(next() % 4);
                for (int k = 0; k < n; k++) {
                        size_t at = next() % sizeof(l);
                        switch (next() % 3) {
                        case 0:
                                b[at] ^= (uint8_t)(1u << (next() % 8));
                                break;
                        case 1:
                                b[at] = (uint8_t)next();
                                break;
                        default: {
                                uint64_t v = next() % 2 ? next() : next() % 70;
                                size_t w = at & ~(size_t)3;
                                memcpy(b + w, &v, w + 4 <= sizeof(l) ? 4 : 1);
                        }
                        }
                }
                struct heap_snapshot *s = NULL;
                const char *why = NULL;
                int r = heap_snapshot_parse(b, sizeof(l), &s, &why);
                EXPECT(r == 0 || r == -EBADMSG, "mutation %d: %d", round, r);
                if (r == 0) {
                        ok++;
                        for (size_t i = 0; i < s->nsites; i++)
                                EXPECT(s->sites[i].stack < s->nstacks &&
                                               s->sites[i].frees <= s->sites[i].allocs,
                                       "site %zu", i);
                        uint64_t sum = 0;
                        for (size_t i = 0; i < s->nstacks; i++)
                                for (uint32_t d = 0; d < s->stacks[i].depth; d++)
                                        sum += s->stacks[i].pcs[d]; /* ASan checks bounds */
                        (void)sum;
                        heap_snapshot_free(s);
                } else
                        bad++;
        }
        printf("ok   %d mutations: %d parsed, %d rejected\n", rounds, ok, bad);
}

/* The read path on a real file: a valid file parses, a truncated one is refused. */
static void check_file(void)
{
        char path[] = "/tmp/memprof-segtest-XXXXXX";
        int fd = mkstemp(path);
        EXPECT(fd >= 0, "mkstemp");
        if (fd < 0)
                return;
        unlink(path);
        struct layout l;
        build(&l);
        EXPECT(write(fd, &l, sizeof(l)) == (ssize_t)sizeof(l), "write");
        struct heap_snapshot *s = NULL;
        const char *why = NULL;
        int r = heap_snapshot_read(fd, &s, &why);
        EXPECT(r == 0 && s && s->mallocs == 23, "read valid file: %d %s", r, why ? why : "");
        /* the counts alone: the same figures and sites, no stacks */
        struct heap_snapshot *c = NULL;
        int rc = heap_snapshot_read_counts(fd, &c, &why);
        EXPECT(rc == 0 && c && c->nstacks == 0 && !c->stacks && !c->frames, "read counts: %d",
               rc);
        if (r == 0 && rc == 0) {
                EXPECT(c->mallocs == s->mallocs && c->frees == s->frees &&
                               c->alloc_bytes == s->alloc_bytes && c->samples == s->samples &&
                               c->nsites == s->nsites,
                       "counts differ from the full read");
                for (size_t i = 0; i < c->nsites && i < s->nsites; i++)
                        EXPECT(c->sites[i].size == s->sites[i].size &&
                                       c->sites[i].allocs == s->sites[i].allocs &&
                                       c->sites[i].frees == s->sites[i].frees,
                               "site %zu differs in the counts read", i);
        }
        heap_snapshot_free(rc == 0 ? c : NULL);
        heap_snapshot_free(r == 0 ? s : NULL);
        EXPECT(ftruncate(fd, sizeof(l) - 64) == 0, "ftruncate");
        r = heap_snapshot_read(fd, &s, &why);
        EXPECT(r == -EBADMSG, "read truncated file: %d", r);
        r = heap_snapshot_read_counts(fd, &c, &why);
        EXPECT(r == -EBADMSG, "read counts of a truncated file: %d", r);
        close(fd);
}

int main(int argc, char **argv)
{
        int rounds = argc > 1 ? atoi(argv[1]) : 200000;
        check_valid();
        check_corrupt();
        check_mutations(rounds);
        check_file();
        if (failures) {
                fprintf(stderr, "%d failures\n", failures);
                return 1;
        }
        printf("PASS\n");
        return 0;
}
