/* Writes a pprof file with fixed, known contents (a Go-style heap profile) for
 * test_golden.py to check with go tool pprof and its own decoder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"

#define CHECK(expr)                                                                     \
        do {                                                                            \
                int _r = (expr);                                                        \
                if (_r < 0) {                                                           \
                        fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,   \
                                strerror(-_r));                                         \
                        exit(1);                                                        \
                }                                                                       \
        } while (0)

/* Interns through a scratch buffer that is overwritten afterwards, to prove that the
 * encoder copies strings instead of keeping the caller's pointers. */
static char scratch[8][128];
static const char *tmp(int slot, const char *s)
{
        snprintf(scratch[slot], sizeof(scratch[slot]), "%s", s);
        return scratch[slot];
}

static void clobber(void)
{
        memset(scratch, 'X', sizeof(scratch));
        for (size_t i = 0; i < 8; i++)
                scratch[i][127] = '\0';
}

static uint64_t location(struct profile *p, uint64_t mapping, uint64_t addr,
                         const struct profile_line *lines, size_t n)
{
        uint64_t id;

        CHECK(profile_add_location(p, mapping, addr, lines, n, &id));
        return id;
}

int main(int argc, char **argv)
{
        struct profile *p;
        uint64_t m1, m2, l1, l1again, l2, l3, l4, l5;
        uint8_t *buf;
        size_t len;
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
                return 2;
        }
        CHECK(profile_new(&p));
        CHECK(profile_add_sample_type(p, tmp(0, "alloc_objects"), tmp(1, "count")));
        CHECK(profile_add_sample_type(p, tmp(0, "alloc_space"), tmp(1, "bytes")));
        CHECK(profile_add_sample_type(p, tmp(0, "inuse_objects"), tmp(1, "count")));
        CHECK(profile_add_sample_type(p, tmp(0, "inuse_space"), tmp(1, "bytes")));
        CHECK(profile_set_period(p, tmp(0, "space"), tmp(1, "bytes"), 524288));
        CHECK(profile_set_default_sample_type(p, tmp(0, "inuse_space")));
        profile_set_time(p, 1700000000123456789LL, 2500000000LL);
        CHECK(profile_add_comment(p, tmp(0, "memprof golden profile")));
        CHECK(profile_add_comment(p, tmp(0, "second comment")));
        clobber();

        CHECK(profile_add_mapping(p, 0x400000, 0x500000, 0, tmp(0, "/usr/bin/testprog"),
                                  tmp(1, "abcdef0123456789"), 1, 1, 1, 1, &m1));
        CHECK(profile_add_mapping(p, 0x7f0000000000, 0x7f0000100000, 0x1000,
                                  tmp(0, "/usr/lib/libfoo.so.1"),
                                  tmp(1, "00112233445566778899aabbccddeeff00112233"), 1, 1, 0,
                                  0, &m2));
        clobber();

        struct profile_line inl[2] = {
                { "inlined_helper", NULL, "/src/buffer.h", 42, 40 },
                { "alloc_buffer", NULL, "/src/buffer.c", 77, 70 },
        };
        struct profile_line main_line = { "main", NULL, "/src/main.c", 25, 10 };
        struct profile_line cxx = { "ns::Widget::create(int)", "_ZN2ns6Widget6createEi",
                                    "/src/widget.cc", 120, 115 };
        struct profile_line wrap = { "malloc_wrapper", "malloc_wrapper", "/src/foo.c", 8, 0 };

        l1 = location(p, m1, 0x401234, inl, 2);
        l2 = location(p, m1, 0x401500, &main_line, 1);
        l3 = location(p, m2, 0x7f0000001234, &cxx, 1);
        l4 = location(p, m2, 0x7f0000002000, &wrap, 1);
        l5 = location(p, 0, 0x500abc, NULL, 0);
        l1again = location(p, m1, 0x401234, inl, 2);
        if (l1 != 1 || l2 != 2 || l3 != 3 || l4 != 4 || l5 != 5 || l1again != l1) {
                fprintf(stderr, "unexpected location ids\n");
                return 1;
        }

        {
                uint64_t stack[] = { l1, l2 };
                int64_t v[] = { 3, 3072, 1, 1024 };
                struct profile_label lab[] = {
                        { tmp(0, "bytes"), NULL, 1024, tmp(1, "bytes") },
                        { tmp(2, "thread"), tmp(3, "main"), 0, NULL },
                };
                CHECK(profile_add_sample(p, stack, 2, v, 4, lab, 2));
                clobber();
        }
        {
                uint64_t stack[] = { l3, l2 };
                int64_t v[] = { 5, 640, 5, 640 };
                struct profile_label lab[] = {
                        { "bytes", NULL, 128, "bytes" },
                        { "thread", "worker-1", 0, NULL },
                };
                CHECK(profile_add_sample(p, stack, 2, v, 4, lab, 2));
        }
        {
                uint64_t stack[] = { l4, l3, l2 };
                int64_t v[] = { 1, 524288, 0, 0 };
                struct profile_label lab[] = {
                        { "bytes", NULL, 524288, NULL },
                        { "thread", "worker-2", 0, NULL },
                        { "kind", "big", 0, NULL },
                };
                CHECK(profile_add_sample(p, stack, 3, v, 4, lab, 3));
        }
        {
                uint64_t stack[] = { l5 };
                int64_t v[] = { 2, 100, 2, 100 };
                CHECK(profile_add_sample(p, stack, 1, v, 4, NULL, 0));
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
