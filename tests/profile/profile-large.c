/* Writes a profile of 100k samples over 100k locations, adding every frame again per
 * sample as a renderer does, so deduplication runs at scale; test_large.py checks it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"

/* Keep in step with test_large.py, which recomputes everything from these formulas. */
#define NSAMPLES 100000
#define NLOCATIONS 100000
#define NFUNCTIONS 5000
#define NTHREADS 16

#define CHECK(expr)                                                                     \
        do {                                                                            \
                int _r = (expr);                                                        \
                if (_r < 0) {                                                           \
                        fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,   \
                                strerror(-_r));                                         \
                        exit(1);                                                        \
                }                                                                       \
        } while (0)

static uint64_t add_location(struct profile *p, const uint64_t *maps, uint64_t j)
{
        char fn[32], inl[32], file[32];
        struct profile_line lines[2];
        size_t n = 0;
        uint64_t id;

        /* Every tenth location has an inlined callee in front of its own line. */
        if (j % 10 == 0) {
                snprintf(inl, sizeof(inl), "inl_%" PRIu64, j % 97);
                lines[n++] = (struct profile_line){ inl, NULL, "inline.h", (int64_t)(j % 50) + 1, 0 };
        }
        snprintf(fn, sizeof(fn), "fn_%" PRIu64, j % NFUNCTIONS);
        snprintf(file, sizeof(file), "file_%" PRIu64 ".c", j % 100);
        lines[n++] = (struct profile_line){ fn, NULL, file, (int64_t)(j % 1000) + 1, 0 };
        CHECK(profile_add_location(p, maps[j % 2], 0x10000 + j * 16, lines, n, &id));
        return id;
}

int main(int argc, char **argv)
{
        struct profile *p;
        uint64_t maps[2];
        uint8_t *buf;
        size_t len;
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
                return 2;
        }
        CHECK(profile_new(&p));
        CHECK(profile_add_sample_type(p, "alloc_objects", "count"));
        CHECK(profile_add_sample_type(p, "alloc_space", "bytes"));
        CHECK(profile_add_sample_type(p, "inuse_objects", "count"));
        CHECK(profile_add_sample_type(p, "inuse_space", "bytes"));
        CHECK(profile_set_period(p, "space", "bytes", 524288));
        CHECK(profile_set_default_sample_type(p, "inuse_space"));
        CHECK(profile_add_mapping(p, 0x10000, 0x10000 + NLOCATIONS * 16, 0, "/bin/big", "b1",
                                  1, 1, 1, 1, &maps[0]));
        CHECK(profile_add_mapping(p, 0x10000, 0x10000 + NLOCATIONS * 16, 0, "/lib/big.so",
                                  "b2", 1, 1, 1, 1, &maps[1]));

        for (uint64_t j = 0; j < NLOCATIONS; j++)
                if (add_location(p, maps, j) != j + 1) {
                        fprintf(stderr, "location %" PRIu64 " got another id\n", j);
                        return 1;
                }

        for (uint64_t i = 0; i < NSAMPLES; i++) {
                uint64_t stack[8];
                size_t depth = 1 + i % 8;
                int64_t size = 100 + (int64_t)(i % 1000), live = (int64_t)(i % 2);
                int64_t v[4] = { 1, size, live, live * size };
                char thread[16];
                struct profile_label labels[2] = {
                        { "bytes", NULL, size, "bytes" },
                        { "thread", thread, 0, NULL },
                };

                snprintf(thread, sizeof(thread), "t%" PRIu64, i % NTHREADS);
                for (size_t k = 0; k < depth; k++) {
                        uint64_t j = (i * 7 + k * 13) % NLOCATIONS;

                        stack[k] = add_location(p, maps, j);
                        if (stack[k] != j + 1) {
                                fprintf(stderr, "location %" PRIu64 " was not merged\n", j);
                                return 1;
                        }
                }
                CHECK(profile_add_sample(p, stack, depth, v, 4, labels, 2));
        }

        CHECK(profile_write_gzip(p, &buf, &len));
        profile_free(p);
        fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) < 0) {
                perror(argv[1]);
                return 1;
        }
        free(buf);
        return 0;
}
