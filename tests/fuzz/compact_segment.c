/* Writes a copy of a live process's segment with its tables shrunk to what is in use,
 * a small valid input for the fuzz corpus.  usage: compact-segment PID OUTPUT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_segment.h"

static size_t up8(size_t x)
{
        return (x + 7) & ~(size_t)7;
}

int main(int argc, char **argv)
{
        if (argc != 3)
                return 2;
        int fd;
        if (heap_segment_open(atoi(argv[1]), &fd, NULL) < 0)
                return 1;
        off_t size = lseek(fd, 0, SEEK_END);
        uint8_t *in = malloc((size_t)size);
        if (!in || pread(fd, in, (size_t)size, 0) != size)
                return 1;
        struct mp_seg_header h;
        memcpy(&h, in, sizeof(h));
        size_t slots = h.nslots * sizeof(struct mp_thread_slot);
        size_t stacks = h.nstacks * sizeof(struct mp_stack);
        size_t frames = h.nframes * sizeof(uint64_t);
        size_t buckets = h.nbuckets * sizeof(struct mp_bucket);
        size_t o_sl = up8(sizeof(h)), o_st = up8(o_sl + slots), o_fr = up8(o_st + stacks);
        size_t o_bu = up8(o_fr + frames), total = up8(o_bu + buckets);
        uint8_t *out = calloc(1, total);
        if (!out)
                return 1;
        memcpy(out + o_sl, in + h.slots_off, slots);
        memcpy(out + o_st, in + h.stacks_off, stacks);
        memcpy(out + o_fr, in + h.frames_off, frames);
        memcpy(out + o_bu, in + h.buckets_off, buckets);
        h.seg_size = total;
        h.slots_off = o_sl;
        h.stacks_off = o_st;
        h.frames_off = o_fr;
        h.buckets_off = o_bu;
        h.slots_cap = h.nslots;
        h.stacks_cap = h.nstacks;
        h.frames_cap = h.nframes;
        h.buckets_cap = h.nbuckets;
        memcpy(out, &h, sizeof(h));
        struct heap_snapshot *s;
        const char *why;
        if (heap_snapshot_parse(out, total, &s, &why) < 0) {
                fprintf(stderr, "compacted copy does not parse: %s\n", why);
                return 1;
        }
        FILE *f = fopen(argv[2], "we");
        if (!f || fwrite(out, 1, total, f) != total || fclose(f))
                return 1;
        printf("%s: %zu bytes, %zu stacks, %zu sites\n", argv[2], total, s->nstacks, s->nsites);
        return 0;
}
