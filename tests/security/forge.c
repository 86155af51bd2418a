/* Maps a hand-made, possibly hostile, memprof segment into this process, as an attacker
 * (or a bug) could, so the daemon's reader meets it; or writes one to a file for
 * another process to map.
 *
 *   forge [--pid PID] [--mallocs N] [--stacks N] MODE [NAME_PID]
 *   forge [--pid PID] [--mallocs N] [--stacks N] --write PATH [--send SOCKET] MODE
 *
 * MODE is "valid" or one of the corruptions below.  The file is named after NAME_PID
 * (default: our own pid), so a segment can claim to be another process's.  Prints
 * "ready PID" and waits for EOF on stdin.  --pid puts PID in the header (default: our
 * own), --mallocs sets the thread slot's mallocs and the bucket's allocations (a
 * number that cannot be mistaken for a real one); --write creates PATH (O_EXCL, mode
 * 0600), writes the segment there and exits; --send then also passes an fd open for
 * reading and writing to whoever listens on the Unix socket SOCKET, and unlinks PATH,
 * as a client handing shared memory to a service would.  --stacks N makes a "valid"
 * segment of N distinct stacks instead, each 64 frames deep (of addresses no mapping
 * holds), each with a bucket of one live object: a heap.txt of about 1.5 KB a stack. */
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "memprof/segment.h"

#define NSTACKS 4
#define NFRAMES 16
#define NBUCKETS 4

struct image {
        struct mp_seg_header h;
        struct mp_thread_slot slots[2];
        struct mp_stack stacks[NSTACKS];
        uint64_t frames[NFRAMES];
        struct mp_bucket buckets[NBUCKETS];
};

static void build_valid(struct image *im)
{
        struct mp_seg_header *h = &im->h;

        memset(im, 0, sizeof(*im));
        h->magic = MP_SEG_MAGIC;
        h->version = MP_SEG_VERSION;
        h->header_size = sizeof(*h);
        h->seg_size = sizeof(*im);
        h->pid = getpid();
        h->rate = 1;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now); /* newer than any segment made before */
        h->start_time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        h->slots_off = offsetof(struct image, slots);
        h->stacks_off = offsetof(struct image, stacks);
        h->frames_off = offsetof(struct image, frames);
        h->buckets_off = offsetof(struct image, buckets);
        h->slots_cap = 2;
        h->stacks_cap = NSTACKS;
        h->frames_cap = NFRAMES;
        h->buckets_cap = NBUCKETS;
        h->nslots = 1;
        im->slots[0].mallocs = 10;
        im->slots[0].frees = 4;
        im->slots[0].tid = (uint32_t)getpid();
        /* one stack of two frames inside main(), one bucket: 3 live objects of 4096 */
        im->frames[0] = (uint64_t)(uintptr_t)build_valid + 1;
        im->frames[1] = (uint64_t)(uintptr_t)build_valid + 2;
        im->stacks[0] = (struct mp_stack){.hash = 1, .frames_off = 0, .depth = 2};
        im->buckets[0] = (struct mp_bucket){.stack = 0, .size = 4096, .allocs = 5, .frees = 2};
        h->nframes = 2;
        h->nstacks = 1;
        h->nbuckets = 1;
        h->samples = 5;
}

static int corrupt(struct image *im, const char *mode)
{
        struct mp_seg_header *h = &im->h;

        if (strcmp(mode, "valid") == 0)
                return 0;
        if (strcmp(mode, "bad-magic") == 0)
                h->magic ^= 1;
        else if (strcmp(mode, "bad-version") == 0)
                h->version = 999;
        else if (strcmp(mode, "short-header") == 0)
                h->header_size = 8;
        else if (strcmp(mode, "size-lie") == 0)
                h->seg_size = 1ull << 40;
        else if (strcmp(mode, "count-over-cap") == 0)
                h->nbuckets = NBUCKETS + 1;
        else if (strcmp(mode, "huge-caps") == 0)
                h->buckets_cap = 0xffffffffu, h->stacks_cap = 0xffffffffu;
        else if (strcmp(mode, "offset-outside") == 0)
                h->frames_off = 1ull << 62;
        else if (strcmp(mode, "offset-wrap") == 0)
                h->buckets_off = UINT64_MAX - 8;
        else if (strcmp(mode, "offset-in-header") == 0)
                h->stacks_off = 8;
        else if (strcmp(mode, "deep-stack") == 0)
                im->stacks[0].depth = 100000;
        else if (strcmp(mode, "zero-depth") == 0)
                im->stacks[0].depth = 0;
        else if (strcmp(mode, "frames-outside") == 0)
                im->stacks[0].frames_off = 0xfffffff0u;
        else if (strcmp(mode, "stack-index") == 0)
                im->buckets[0].stack = 12345;
        else if (strcmp(mode, "slots-over") == 0)
                h->nslots = 1000000;
        else
                return -1;
        return 0;
}

/* N stacks of MP_MAX_DEPTH frames sharing one table as sliding windows: N + 63
 * distinct addresses (cheap to symbolize), N distinct stacks.  Written to fd after
 * im's header and slots; returns the segment's size, 0 on failure. */
static size_t write_wide(int fd, struct image *im, uint32_t n)
{
        struct mp_seg_header *h = &im->h;
        uint32_t nframes = n + MP_MAX_DEPTH - 1;
        size_t off = sizeof(*h) + sizeof(im->slots), size;
        uint64_t *frames = calloc(nframes, sizeof(uint64_t));
        struct mp_stack *stacks = calloc(n, sizeof(*stacks));
        struct mp_bucket *buckets = calloc(n, sizeof(*buckets));

        if (!frames || !stacks || !buckets)
                return 0;
        for (uint32_t i = 0; i < nframes; i++)
                frames[i] = 0x7f0000000000ull + 16ull * i;
        for (uint32_t i = 0; i < n; i++) {
                stacks[i] = (struct mp_stack){.hash = i, .frames_off = i, .depth = MP_MAX_DEPTH};
                buckets[i] = (struct mp_bucket){.stack = i, .size = 64, .allocs = 1};
        }
        h->slots_off = sizeof(*h);
        h->stacks_off = off;
        h->frames_off = h->stacks_off + (size_t)n * sizeof(*stacks);
        h->buckets_off = h->frames_off + (size_t)nframes * sizeof(uint64_t);
        size = h->buckets_off + (size_t)n * sizeof(*buckets);
        h->seg_size = size;
        h->stacks_cap = h->nstacks = n;
        h->frames_cap = h->nframes = nframes;
        h->buckets_cap = h->nbuckets = n;
        h->samples = n;
        if (pwrite(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h) ||
            pwrite(fd, im->slots, sizeof(im->slots), (off_t)h->slots_off) < 0 ||
            pwrite(fd, stacks, (size_t)n * sizeof(*stacks), (off_t)h->stacks_off) < 0 ||
            pwrite(fd, frames, (size_t)nframes * sizeof(uint64_t), (off_t)h->frames_off) < 0 ||
            pwrite(fd, buckets, (size_t)n * sizeof(*buckets), (off_t)h->buckets_off) < 0 ||
            ftruncate(fd, (off_t)size) < 0)
                size = 0;
        free(frames);
        free(stacks);
        free(buckets);
        return size;
}

/* Passes fd over a connection to the Unix socket at path (SCM_RIGHTS). */
static int send_fd(const char *path, int fd)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = {};
        char byte = 'S';
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        int s, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -1;
        r = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && sendmsg(s, &msg, 0) == 1
                    ? 0
                    : -1;
        close(s);
        return r;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"pid", required_argument, NULL, 'p'},
                {"mallocs", required_argument, NULL, 'm'},
                {"write", required_argument, NULL, 'w'},
                {"send", required_argument, NULL, 's'},
                {"stacks", required_argument, NULL, 'n'},
                {},
        };
        const char *out = NULL, *sock = NULL;
        struct image im;
        char path[128], line[16];
        uint32_t wide = 0;
        size_t size = sizeof(im);
        int fd, c;
        void *map;

        build_valid(&im);
        while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                if (c == 'p') {
                        im.h.pid = atoi(optarg);
                } else if (c == 'm') {
                        im.slots[0].mallocs = strtoull(optarg, NULL, 10);
                        im.buckets[0].allocs = im.slots[0].mallocs;
                } else if (c == 'w') {
                        out = optarg;
                } else if (c == 's') {
                        sock = optarg;
                } else if (c == 'n') {
                        wide = (uint32_t)strtoul(optarg, NULL, 10);
                } else {
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: forge [--pid PID] [--mallocs N] [--write PATH "
                                "[--send SOCKET]] MODE [NAME_PID]\n");
                return 2;
        }
        if (corrupt(&im, argv[optind]) < 0) {
                fprintf(stderr, "forge: unknown mode %s\n", argv[optind]);
                return 2;
        }
        if (out)
                snprintf(path, sizeof(path), "%s", out);
        else
                snprintf(path, sizeof(path), MP_SEG_PATH_PREFIX "%s.forged%d",
                         optind + 1 < argc ? argv[optind + 1] : "self", (int)getpid());
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (wide && fd >= 0)
                size = write_wide(fd, &im, wide);
        else if (fd >= 0 && pwrite(fd, &im, sizeof(im), 0) != (ssize_t)sizeof(im))
                size = 0;
        if (fd < 0 || size == 0) {
                perror("forge: creating the segment");
                return 1;
        }
        if (out && sock) {
                if (send_fd(sock, fd) < 0) {
                        perror("forge: sending the segment");
                        return 1;
                }
                unlink(path);
        }
        if (out)
                return close(fd) == 0 ? 0 : 1;
        map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        unlink(path);
        close(fd);
        if (map == MAP_FAILED) {
                perror("forge: mmap");
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("ready %d\n", (int)getpid());
        while (fgets(line, sizeof(line), stdin))
                ;
        return 0;
}
