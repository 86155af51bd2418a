/* Unit test of the symbolizer protocol (framing, fd passing, deadlines, the bounded
 * readers of requests and replies) and of debug file selection (the candidate paths,
 * and the helper's match rule: same build id, or a non-zero CRC equal to the file's). */
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../check.h"
#include "debugfile.h"
#include "helper/elfcheck.h"
#include "proto.h"

static void put_line(struct proto_buf *b, uint32_t fn, uint32_t sys, uint32_t file, int32_t line) {
        proto_put_u32(b, fn);
        proto_put_u32(b, sys);
        proto_put_u32(b, file);
        proto_put_u32(b, (uint32_t) line);
        proto_put_u32(b, 0);
}

/* A RESOLVE reply of two addresses: "main" at a.c:10, nothing for the second. */
static void resolve_reply(struct proto_buf *b, uint32_t n, uint32_t fn_index, uint8_t nlines,
                          int32_t line) {
        proto_buf_init(b, PROTO_MAX_REPLY);
        proto_put_status(b, 0, NULL);
        proto_put_u32(b, n);
        proto_put_u32(b, 2);
        proto_put_u32(b, 4);
        proto_put(b, "main", 4);
        proto_put_u32(b, 3);
        proto_put(b, "a.c", 3);
        proto_put_u8(b, nlines);
        for (uint8_t i = 0; i < nlines; i++)
                put_line(b, fn_index, 0, 2, line);
        for (uint32_t i = 1; i < n; i++)
                proto_put_u8(b, 0);
}

static void test_resolve_reply(void) {
        struct proto_buf b;
        struct proto_resolve_reply r;

        resolve_reply(&b, 2, 1, 1, 10);
        CHECK(proto_parse_resolve_reply(b.data, b.len, 2, &r) == 0);
        CHECK(r.n == 2 && r.nstrings == 2 && r.nlines[0] == 1 && r.nlines[1] == 0);
        CHECK(r.lines[0].function == 1 && r.lines[0].file == 2 && r.lines[0].line == 10);
        CHECK(r.string_len[0] == 4 && memcmp(r.string_at[0], "main", 4) == 0);
        proto_resolve_reply_free(&r);
        /* the count the daemon asked for, and nothing more or less */
        CHECK(proto_parse_resolve_reply(b.data, b.len, 3, &r) == -EBADMSG);
        CHECK(proto_parse_resolve_reply(b.data, b.len - 1, 2, &r) == -EBADMSG);
        proto_buf_free(&b);

        resolve_reply(&b, 2, 3, 1, 10); /* a string index past the table */
        CHECK(proto_parse_resolve_reply(b.data, b.len, 2, &r) == -EBADMSG);
        proto_buf_free(&b);
        resolve_reply(&b, 2, 1, PROTO_MAX_LINES + 1, 10); /* more lines than a frame has */
        CHECK(proto_parse_resolve_reply(b.data, b.len, 2, &r) == -EBADMSG);
        proto_buf_free(&b);
        resolve_reply(&b, 2, 1, 1, -5); /* a negative line */
        CHECK(proto_parse_resolve_reply(b.data, b.len, 2, &r) == -EBADMSG);
        proto_buf_free(&b);

        /* a string count no payload could hold */
        proto_buf_init(&b, 64);
        proto_put_status(&b, 0, NULL);
        proto_put_u32(&b, 0);
        proto_put_u32(&b, UINT32_MAX);
        CHECK(proto_parse_resolve_reply(b.data, b.len, 0, &r) == -EBADMSG);
        proto_buf_free(&b);

        /* an error status with its reason */
        proto_buf_init(&b, 64);
        proto_put_status(&b, ENOENT, "not attached");
        CHECK(proto_parse_resolve_reply(b.data, b.len, 5, &r) == 0);
        CHECK(r.status.error == ENOENT && strcmp(r.status.problem, "not attached") == 0);
        proto_resolve_reply_free(&r);
        proto_buf_free(&b);
}

static void open_reply(struct proto_buf *b, const char *link, size_t id_len, uint32_t flags) {
        uint8_t id[80] = { 1, 2, 3 };
        proto_buf_init(b, 1024);
        proto_put_status(b, 0, NULL);
        proto_put_u8(b, (uint8_t) id_len);
        proto_put(b, id, id_len);
        proto_put_u16(b, (uint16_t) strlen(link));
        proto_put(b, link, strlen(link));
        proto_put_u32(b, 0x1234);
        proto_put_u32(b, flags);
}

static void test_open_attach_reply(void) {
        struct proto_buf b;
        struct proto_open_reply o;
        struct proto_attach_reply a;

        open_reply(&b, "libc.so.6.debug", 20, PROTO_NEEDS_DEBUG);
        CHECK(proto_parse_open_reply(b.data, b.len, &o) == 0);
        CHECK(o.build_id_len == 20 && o.build_id[2] == 3 && o.crc == 0x1234);
        CHECK(strcmp(o.debuglink, "libc.so.6.debug") == 0 && o.flags == PROTO_NEEDS_DEBUG);
        proto_buf_free(&b);
        /* a debuglink is a file name: no directories, no way up */
        const char *bad[] = { "../../etc/shadow", "a/b", "..", "." };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                open_reply(&b, bad[i], 20, 0);
                CHECK(proto_parse_open_reply(b.data, b.len, &o) == -EBADMSG);
                proto_buf_free(&b);
        }
        open_reply(&b, "x", PROTO_MAX_BUILD_ID + 1, 0);
        CHECK(proto_parse_open_reply(b.data, b.len, &o) == -EBADMSG);
        proto_buf_free(&b);
        open_reply(&b, "x", 20, 0x80); /* a flag nobody defined */
        CHECK(proto_parse_open_reply(b.data, b.len, &o) == -EBADMSG);
        proto_buf_free(&b);

        struct { int32_t chosen; uint32_t rejected; size_t n; int want; } cases[] = {
                { 1, 1, 3, 0 },         { -1, 7, 3, 0 },  { 3, 0, 3, -EBADMSG },
                { -2, 0, 3, -EBADMSG }, { 0, 1, 3, -EBADMSG }, /* chosen and rejected */
                { -1, 8, 3, -EBADMSG }, /* a candidate that was not sent */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                proto_buf_init(&b, 64);
                proto_put_status(&b, 0, NULL);
                proto_put_u32(&b, (uint32_t) cases[i].chosen);
                proto_put_u32(&b, cases[i].rejected);
                proto_put_u32(&b, PROTO_HAS_FUNCTIONS);
                int r = proto_parse_attach_reply(b.data, b.len, cases[i].n, &a);
                CHECK(r == cases[i].want);
                if (r == 0)
                        CHECK(a.chosen == cases[i].chosen && a.rejected == cases[i].rejected);
                proto_buf_free(&b);
        }
}

static void test_request(void) {
        uint8_t p[16 + 3 * 8] = { 7 };
        uint32_t n = 3;
        struct proto_request q;
        memcpy(p + 8, &n, 4);
        uint64_t off = 0x1234;
        memcpy(p + 16 + 8, &off, 8);
        struct proto_header h = { PROTO_MAGIC, PROTO_RESOLVE, sizeof(p), 0 };
        CHECK(proto_parse_request(&h, p, sizeof(p), 0, &q) == 0);
        CHECK(q.id == 7 && q.n == 3 && proto_offset_at(&q, 1) == 0x1234);
        CHECK(proto_parse_request(&h, p, sizeof(p) - 1, 0, &q) == -EBADMSG);
        CHECK(proto_parse_request(&h, p, sizeof(p), 1, &q) == -EBADMSG); /* fds with it */
        n = PROTO_MAX_ADDRS + 1;
        memcpy(p + 8, &n, 4);
        CHECK(proto_parse_request(&h, p, sizeof(p), 0, &q) == -EBADMSG);
        h.type = PROTO_OPEN;
        CHECK(proto_parse_request(&h, p, 8, 1, &q) == 0 && q.id == 7);
        CHECK(proto_parse_request(&h, p, 8, 0, &q) == -EBADMSG); /* OPEN needs its file */
        h.type = PROTO_ATTACH;
        CHECK(proto_parse_request(&h, p, 8, PROTO_MAX_CANDIDATES + 1, &q) == -EBADMSG);
        h.type = 99;
        CHECK(proto_parse_request(&h, p, 8, 0, &q) == -EBADMSG);
}

static void test_transport(void) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        int fds[2] = { open("/dev/null", O_RDONLY | O_CLOEXEC), open("/", O_RDONLY | O_CLOEXEC) };
        uint64_t id = 42;
        CHECK(proto_send(sv[0], PROTO_ATTACH, &id, sizeof(id), fds, 2, 0) == 0);
        struct proto_header h;
        uint8_t *payload;
        int got[PROTO_MAX_FDS];
        size_t ngot = 0;
        CHECK(proto_recv(sv[1], PROTO_MAX_REQUEST, 0, &h, &payload, got, &ngot) == 0);
        CHECK(h.type == PROTO_ATTACH && h.len == 8 && ngot == 2 && h.nfds == 2);
        if (ngot == 2) {
                struct stat a, b;
                CHECK(fstat(got[0], &a) == 0 && S_ISCHR(a.st_mode));
                CHECK(fstat(got[1], &b) == 0 && S_ISDIR(b.st_mode));
                CHECK(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
                close(got[0]);
                close(got[1]);
        }
        free(payload);

        /* The daemon takes no fds from the helper: they are closed, the reply refused. */
        CHECK(proto_send(sv[0], PROTO_OPEN, &id, sizeof(id), fds, 1, 0) == 0);
        CHECK(proto_recv(sv[1], PROTO_MAX_REPLY, 0, &h, &payload, NULL, NULL) == -EBADMSG);
        /* A length past the bound is refused before anything is allocated for it. */
        CHECK(proto_send(sv[0], PROTO_OPEN, &id, sizeof(id), NULL, 0, 0) == 0);
        CHECK(proto_recv(sv[1], 4, 0, &h, &payload, NULL, NULL) == -EBADMSG);
        close(sv[0]);
        close(sv[1]);

        /* Nothing comes: the deadline ends the wait. */
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        int64_t t0 = proto_now_ns();
        CHECK(proto_recv(sv[1], 64, t0 + 100000000, &h, &payload, NULL, NULL) == -ETIMEDOUT);
        CHECK(proto_now_ns() - t0 >= 100000000);
        /* The peer gone: EPIPE, not a wait. */
        close(sv[0]);
        CHECK(proto_recv(sv[1], 64, 0, &h, &payload, NULL, NULL) == -EPIPE);
        close(sv[1]);
        close(fds[0]);
        close(fds[1]);
}

static void test_candidates(void) {
        struct debug_candidate c[PROTO_MAX_CANDIDATES];
        const uint8_t id[] = { 0xab, 0xcd, 0xef, 0x01 };
        const char *path = "/usr/lib/libz.so.1 (deleted)";
        size_t n = debugfile_candidates(path, strlen("/usr/lib/libz.so.1"), id, sizeof(id),
                                        "libz.debug", c);
        const char *want[] = {
                "/usr/lib/debug/.build-id/ab/cdef01.debug", "/usr/lib/debug/usr/lib/libz.debug",
                "/usr/lib/debug/.build-id/ab/cdef01.debug", "/usr/lib/libz.debug",
                "/usr/lib/.debug/libz.debug",               "/usr/lib/debug/usr/lib/libz.debug",
        };
        const bool trusted[] = { true, true, false, false, false, false };
        CHECK(n == 6);
        for (size_t i = 0; i < n && i < 6; i++) {
                CHECK(strcmp(c[i].path, want[i]) == 0);
                CHECK(c[i].trusted == trusted[i]);
        }
        /* dwz alternate files: the host's debug root only, by name and by build id. */
        n = debugfile_alt_candidates("/usr/lib/debug/.dwz/x86_64-linux-gnu/libz.debug", id,
                                     sizeof(id), c);
        CHECK(n == 2 && c[0].trusted && c[1].trusted);
        CHECK(n == 2 && strcmp(c[0].path, "/usr/lib/debug/.dwz/x86_64-linux-gnu/libz.debug") == 0);
        CHECK(n == 2 && strcmp(c[1].path, "/usr/lib/debug/.build-id/ab/cdef01.debug") == 0);
        const char *outside[] = { "/tmp/alt.debug", "/usr/lib/debug/../../../etc/shadow",
                                  "../.dwz/x.debug", "/usr/lib/debug/./x", "/usr/lib/debugx" };
        for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
                n = debugfile_alt_candidates(outside[i], id, sizeof(id), c);
                CHECK(n == 1 && strcmp(c[0].path, "/usr/lib/debug/.build-id/ab/cdef01.debug") == 0);
        }

        /* No build id and a name that is not one: nothing to look for. */
        CHECK(debugfile_candidates(path, 18, id, 0, "../x", c) == 0);
        CHECK(debugfile_candidates(path, 18, id, 0, "", c) == 0);
}

/* The file at path and its CRC32 and build id, for the match rule. */
static void test_match(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        if (fd < 0)
                return;
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        uint8_t id[PROTO_MAX_BUILD_ID];
        size_t n = elf ? elfcheck_build_id(elf, id, sizeof(id)) : 0;
        elf_end(elf);
        CHECK(n > 0);
        uint8_t other[PROTO_MAX_BUILD_ID];
        memcpy(other, id, n);
        other[0] ^= 1;

        struct stat st;
        CHECK(fstat(fd, &st) == 0);
        uint8_t *data = malloc((size_t) st.st_size);
        CHECK(data && pread(fd, data, (size_t) st.st_size, 0) == st.st_size);
        uint32_t crc = (uint32_t) crc32(0, data, (uInt) st.st_size);
        free(data);

        CHECK(elfcheck_matches(fd, id, n, 0));       /* the same build id */
        CHECK(!elfcheck_matches(fd, other, n, 0));   /* another one */
        CHECK(!elfcheck_matches(fd, id, n - 1, 0));  /* a prefix of it */
        CHECK(elfcheck_matches(fd, NULL, 0, crc));   /* no build id: the CRC */
        CHECK(!elfcheck_matches(fd, NULL, 0, crc ^ 1));
        CHECK(!elfcheck_matches(fd, NULL, 0, 0));    /* a CRC of 0 matches nothing */
        close(fd);

        /* Not a regular file: never read (a FIFO would block a plain read). */
        int dir = open("/", O_RDONLY | O_CLOEXEC);
        CHECK(!elfcheck_matches(dir, NULL, 0, crc));
        close(dir);
}

int main(int argc, char **argv) {
        elf_version(EV_CURRENT);
        test_resolve_reply();
        test_open_attach_reply();
        test_request();
        test_transport();
        test_candidates();
        test_match(argc > 1 ? argv[1] : "/proc/self/exe");
        if (check_failures) {
                fprintf(stderr, "%d checks failed\n", check_failures);
                return 1;
        }
        printf("all protocol and debug file checks passed\n");
        return 0;
}
