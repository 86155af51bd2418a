/* Unit test of the symbolizer against processes whose ground truth the test controls:
 * itself (forked, so lookups cross processes), a C++ target, a deleted binary, and five
 * distinct binaries through a cache bounded to two. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "procmaps.h"
#include "symbolize.h"

/* The test reads its own children: files are opened with its own ids. */
static struct sym_caller self_caller;

static int failures;

#define CHECK(cond)                                                                   \
        do {                                                                          \
                if (!(cond)) {                                                        \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                                __LINE__, #cond);                                     \
                        failures++;                                                   \
                }                                                                     \
        } while (0)

#define CHECK_STR(a, b)                                                               \
        do {                                                                          \
                const char *a_ = (a), *b_ = (b);                                      \
                if (!a_ || strcmp(a_, b_) != 0) {                                     \
                        fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n",         \
                                __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_);      \
                        failures++;                                                   \
                }                                                                     \
        } while (0)

#define CHECK_INT(a, b)                                                               \
        do {                                                                          \
                long long a_ = (a), b_ = (b);                                         \
                if (a_ != b_) {                                                       \
                        fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__,   \
                                __LINE__, #a, a_, b_);                                \
                        failures++;                                                   \
                }                                                                     \
        } while (0)

/* ---- ground truth in this very file (compiled -O1 -g) ---- */

volatile int sink;

static const int known_function_line = __LINE__ + 1;
__attribute__((noinline)) int known_function(int x) { sink += x; return sink * 3; }

__attribute__((noinline)) void *get_return_address(void) {
        void *ra = __builtin_return_address(0);
        __asm__ volatile("" : "+r"(ra));
        return ra;
}

void *ra_plain;
int ra_plain_line;
static const int plain_caller_line = __LINE__ + 1;
__attribute__((noinline)) void plain_caller(void) {
        ra_plain = get_return_address(); ra_plain_line = __LINE__;
        sink++;
}

void *ra_inline;
int ra_inline_line, ra_inline_call_line;
static const int inlined_leaf_line = __LINE__ + 1;
static inline __attribute__((always_inline)) void inlined_leaf(void) {
        ra_inline = get_return_address(); ra_inline_line = __LINE__;
        sink++;
}

static const int inline_outer_line = __LINE__ + 1;
__attribute__((noinline)) void inline_outer(void) {
        sink += 2;
        inlined_leaf(); ra_inline_call_line = __LINE__;
        sink += 3;
}

/* ---- child processes, killed with us if the test dies ---- */

struct child {
        pid_t pid;
        int to_child; /* closing it ends the child */
        FILE *from_child;
};

static void child_stop(struct child *c) {
        if (c->pid <= 0)
                return;
        if (c->to_child >= 0)
                close(c->to_child);
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        if (c->from_child)
                fclose(c->from_child);
        *c = (struct child){ .pid = -1, .to_child = -1 };
}

/* argv == NULL: a fork of this process that waits for its stdin to close. */
static int child_start(char *const argv[], struct child *ret) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(in[0], 0);
                dup2(out[1], 1);
                if (argv) {
                        execv(argv[0], argv);
                        _exit(127);
                }
                char c;
                while (read(0, &c, 1) > 0)
                        ;
                _exit(0);
        }
        close(in[0]);
        close(out[1]);
        *ret = (struct child){ .pid = pid, .to_child = in[1], .from_child = fdopen(out[0], "r") };
        return 0;
}

static const char *base(const char *path) {
        const char *s = path ? strrchr(path, '/') : NULL;
        return s ? s + 1 : path;
}

static bool is_hex40(const char *s) {
        if (!s || strlen(s) != 40)
                return false;
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

static void lookup(struct sym_process *sp, const void *addr, bool ret_addr, struct sym_frame *f) {
        int r = sym_process_lookup(sp, (uint64_t) (uintptr_t) addr, ret_addr, f);
        CHECK_INT(r, 0);
}

/* ---- the tests ---- */

static void test_maps_parse(void) {
        struct maps_entry e;
        const char *l1 = "7f0000001000-7f0000002000 r-xp 00001000 fd:01 1234   /usr/lib/a b.so";
        CHECK_INT(maps_parse_line(l1, strlen(l1), &e), 0);
        CHECK(e.start == 0x7f0000001000 && e.end == 0x7f0000002000 && e.offset == 0x1000);
        CHECK(e.executable && e.readable && !e.writable && e.inode == 1234);
        CHECK(e.dev_major == 0xfd && e.dev_minor == 1);
        CHECK(e.path_len == strlen("/usr/lib/a b.so") && memcmp(e.path, "/usr/lib/a b.so", e.path_len) == 0);
        CHECK(!e.deleted);

        const char *l2 = "1000-2000 r-xp 00000000 08:02 77 /tmp/x (deleted)";
        CHECK_INT(maps_parse_line(l2, strlen(l2), &e), 0);
        CHECK(e.deleted && e.path_len == 6);

        const char *l3 = "1000-2000 ---p 00000000 00:00 0";
        CHECK_INT(maps_parse_line(l3, strlen(l3), &e), 0);
        CHECK(e.path_len == 0 && !e.executable);

        const char *bad[] = { "", "zzzz", "1000-", "1000-2000", "2000-1000 r-xp 0 0:0 0",
                              "1000-2000 r-xp 00000000 08:02", "10000000000000000-1 r-xp 0 0:0 0",
                              "1000-2000 r-x" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
                CHECK_INT(maps_parse_line(bad[i], strlen(bad[i]), &e), -EINVAL);
        /* Not NUL-terminated: the parser must stop at len. */
        char trunc[] = { '1', '0', '-', '2', '0' };
        CHECK_INT(maps_parse_line(trunc, sizeof(trunc), &e), -EINVAL);
}

static void test_gone(struct symbolizer *s) {
        pid_t pid = fork();
        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0);
        struct sym_process *sp = NULL;
        CHECK_INT(sym_process_open(s, pid, &self_caller, &sp), -ENOENT);
        CHECK(sp == NULL);
}

static void test_self(struct symbolizer *s) {
        /* Ground truth computed here is valid in the fork: same mappings. */
        plain_caller();
        inline_outer();
        /* From libc itself: under a sanitizer the global qsort is an interceptor. */
        void *libc_handle = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        void *qsort_addr = libc_handle ? dlsym(libc_handle, "qsort") : NULL;
        CHECK(qsort_addr != NULL);

        struct child c;
        CHECK_INT(child_start(NULL, &c), 0);
        struct sym_process *sp;
        int r = sym_process_open(s, c.pid, &self_caller, &sp);
        CHECK_INT(r, 0);
        if (r < 0) {
                child_stop(&c);
                return;
        }
        const struct sym_mapping *maps;
        size_t nmaps = sym_process_mappings(sp, &maps);
        CHECK(nmaps >= 3);

        struct sym_frame f;
        lookup(sp, (void *) known_function, false, &f);
        CHECK(f.mapping >= 0);
        CHECK_INT(f.nlines, 1);
        CHECK_STR(f.lines[0].function, "known_function");
        CHECK(f.lines[0].system_name == NULL);
        CHECK_STR(base(f.lines[0].file), "test_symbolize.c");
        CHECK_INT(f.lines[0].line, known_function_line);
        CHECK_INT(f.lines[0].start_line, known_function_line);
        if (f.mapping >= 0) {
                const struct sym_mapping *m = &maps[f.mapping];
                char self[4096];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                CHECK(n > 0);
                self[n > 0 ? n : 0] = '\0';
                CHECK_STR(m->path, self);
                CHECK(is_hex40(m->build_id));
                CHECK(m->has_functions && m->has_filenames && m->has_line_numbers &&
                      m->has_inline_frames);
                CHECK((uintptr_t) known_function >= m->start && (uintptr_t) known_function < m->limit);
        }

        lookup(sp, ra_plain, true, &f);
        CHECK_INT(f.address, (uintptr_t) ra_plain);
        CHECK_INT(f.nlines, 1);
        CHECK_STR(f.lines[0].function, "plain_caller");
        CHECK_STR(base(f.lines[0].file), "test_symbolize.c");
        CHECK_INT(f.lines[0].line, ra_plain_line);
        CHECK_INT(f.lines[0].start_line, plain_caller_line);

        lookup(sp, ra_inline, true, &f);
        CHECK_INT(f.nlines, 2);
        CHECK_STR(f.lines[0].function, "inlined_leaf");
        CHECK_STR(base(f.lines[0].file), "test_symbolize.c");
        CHECK_INT(f.lines[0].line, ra_inline_line);
        CHECK_INT(f.lines[0].start_line, inlined_leaf_line);
        CHECK_STR(f.lines[1].function, "inline_outer");
        CHECK_STR(base(f.lines[1].file), "test_symbolize.c");
        CHECK_INT(f.lines[1].line, ra_inline_call_line);
        CHECK_INT(f.lines[1].start_line, inline_outer_line);

        lookup(sp, qsort_addr, false, &f);
        CHECK(f.nlines >= 1);
        CHECK(f.nlines >= 1 && f.lines[f.nlines - 1].function &&
              strcmp(f.lines[f.nlines - 1].function, "qsort") == 0);
        if (f.nlines >= 1 && f.lines[f.nlines - 1].function)
                printf("qsort: %s at %s:%d (%zu lines)\n", f.lines[f.nlines - 1].function,
                       f.lines[0].file ? f.lines[0].file : "?", f.lines[0].line, f.nlines);
        CHECK(f.mapping >= 0);
        if (f.mapping >= 0) {
                const struct sym_mapping *m = &maps[f.mapping];
                CHECK(strstr(base(m->path), "libc.so") == base(m->path));
                CHECK(is_hex40(m->build_id));
                CHECK(m->has_functions);
                if (f.nlines >= 1 && f.lines[f.nlines - 1].system_name)
                        printf("qsort's system name: %s\n", f.lines[f.nlines - 1].system_name);
                /* With libc6-dbg installed, its DWARF is found by build id. */
                char dbg[128];
                if (m->build_id) {
                        snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug",
                                 m->build_id, m->build_id + 2);
                        bool have_dbg = access(dbg, R_OK) == 0;
                        printf("libc debug file %s: %s\n", dbg, have_dbg ? "present" : "absent");
                        CHECK(m->has_line_numbers == have_dbg);
                        if (have_dbg)
                                CHECK(f.lines[0].file && f.lines[0].line > 0);
                }
        }

        /* An address in no mapping at all. */
        lookup(sp, (void *) 16, false, &f);
        CHECK_INT(f.mapping, -1);
        CHECK_INT(f.nlines, 0);

        /* Many lookups, few distinct: each of 10k addresses of this binary's text and
         * of libc, ten times over.  No timing assertion, but it must finish and the
         * memoized answers must not change. */
        struct sym_frame f0;
        lookup(sp, ra_inline, true, &f0);
        const struct sym_mapping *mine = NULL, *libc = NULL;
        for (size_t i = 0; i < nmaps; i++) {
                if ((uintptr_t) known_function >= maps[i].start && (uintptr_t) known_function < maps[i].limit)
                        mine = &maps[i];
                if ((uintptr_t) qsort_addr >= maps[i].start && (uintptr_t) qsort_addr < maps[i].limit)
                        libc = &maps[i];
        }
        CHECK(mine && libc);
        if (mine && libc) {
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                size_t known = 0;
                double first_ms = 0;
                for (int round = 0; round < 10; round++) {
                        if (round == 1) {
                                clock_gettime(CLOCK_MONOTONIC, &t1);
                                first_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
                        }
                        for (uint64_t i = 0; i < 10000; i++) {
                                const struct sym_mapping *m = i % 2 ? libc : mine;
                                uint64_t a = m->start + (i * 13) % (m->limit - m->start);
                                CHECK_INT(sym_process_lookup(sp, a, i % 3 == 0, &f), 0);
                                known += f.nlines > 0;
                        }
                }
                clock_gettime(CLOCK_MONOTONIC, &t1);
                printf("100000 lookups (10000 distinct): %.1f ms (first 10000: %.1f ms), "
                       "%zu resolved\n",
                       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
                       first_ms, known);
                CHECK(known > 50000);
        }
        lookup(sp, ra_inline, true, &f);
        CHECK(f.nlines == f0.nlines && memcmp(f.lines, f0.lines, sizeof(f.lines)) == 0);

        sym_process_free(sp);
        child_stop(&c);
}

static int read_target_line(struct child *c, void **ret_addr, int *ret_line) {
        void *addr;
        int line;
        if (!c->from_child || fscanf(c->from_child, "%p %d", &addr, &line) != 2)
                return -EIO;
        *ret_addr = addr;
        *ret_line = line;
        return 0;
}

static void test_cxx(struct symbolizer *s, char *path) {
        struct child c;
        char *argv[] = { path, NULL };
        void *ra;
        int line;
        CHECK_INT(child_start(argv, &c), 0);
        CHECK_INT(read_target_line(&c, &ra, &line), 0);

        struct sym_process *sp;
        CHECK_INT(sym_process_open(s, c.pid, &self_caller, &sp), 0);
        struct sym_frame f;
        lookup(sp, ra, true, &f);
        CHECK_INT(f.nlines, 1);
        CHECK_STR(f.lines[0].function, "memprof_test::Widget::method(int)");
        CHECK_STR(f.lines[0].system_name, "_ZN12memprof_test6Widget6methodEi");
        CHECK_STR(base(f.lines[0].file), "cxx_target.cc");
        CHECK_INT(f.lines[0].line, line);
        CHECK_INT(f.lines[0].start_line, line - 1);
        const struct sym_mapping *maps;
        sym_process_mappings(sp, &maps);
        if (f.mapping >= 0)
                CHECK_STR(base(maps[f.mapping].path), "sym_cxx_target");
        sym_process_free(sp);
        child_stop(&c);
}

static void test_deleted(struct symbolizer *s, const char *target) {
        char dir[] = "/tmp/memprof-sym-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char copy[64];
        snprintf(copy, sizeof(copy), "%s/doomed", dir);

        char cmd[8192];
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", target, copy);
        CHECK_INT(system(cmd), 0);

        struct child c;
        char *argv[] = { copy, NULL };
        void *addr;
        int line;
        CHECK_INT(child_start(argv, &c), 0);
        CHECK_INT(read_target_line(&c, &addr, &line), 0);
        CHECK_INT(unlink(copy), 0);
        CHECK_INT(rmdir(dir), 0);

        struct sym_process *sp;
        CHECK_INT(sym_process_open(s, c.pid, &self_caller, &sp), 0);
        struct sym_frame f;
        lookup(sp, addr, false, &f);
        CHECK_INT(f.nlines, 1);
        CHECK_STR(f.lines[0].function, "target_function");
        CHECK_STR(base(f.lines[0].file), "sym_target.c");
        CHECK_INT(f.lines[0].line, line);
        const struct sym_mapping *maps;
        sym_process_mappings(sp, &maps);
        CHECK(f.mapping >= 0);
        if (f.mapping >= 0) {
                char want[128];
                snprintf(want, sizeof(want), "%s (deleted)", copy);
                CHECK_STR(maps[f.mapping].path, want);
                CHECK(is_hex40(maps[f.mapping].build_id));
        }
        sym_process_free(sp);
        child_stop(&c);
}

/* Garbage, truncated and corrupted ELF files mapped executable: lookups in them must
 * return what is known (maybe nothing) and never crash. */
static int write_file(const char *path, const void *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, data, len);
        close(fd);
        return n == (ssize_t) len ? 0 : -EIO;
}

static void test_weird_files(struct symbolizer *s) {
        size_t len = 0;
        char *self = NULL;
        FILE *f = fopen("/proc/self/exe", "re");
        CHECK(f != NULL);
        if (!f)
                return;
        self = malloc(1 << 24);
        len = fread(self, 1, 1 << 24, f);
        fclose(f);
        CHECK(len > 4096);

        char dir[] = "/tmp/memprof-weird-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        enum { GARBAGE, TRUNCATED, BAD_SHOFF, SCRAMBLED, NFILES };
        char path[NFILES][64];
        void *map[NFILES] = {};
        size_t maplen[NFILES];
        unsigned seed = 12345;
        for (int i = 0; i < NFILES; i++) {
                snprintf(path[i], sizeof(path[i]), "%s/f%d", dir, i);
                char *data = malloc(len);
                memcpy(data, self, len);
                size_t n = len;
                if (i == GARBAGE)
                        for (size_t j = 0; j < n; j++)
                                data[j] = (char) (rand_r(&seed) >> 7);
                if (i == TRUNCATED)
                        n = 8192;
                if (i == BAD_SHOFF)
                        memset(data + 0x28, 0x7f, 8); /* e_shoff far beyond the file */
                if (i == SCRAMBLED) /* everything but the ELF and program headers */
                        for (size_t j = 4096; j < n; j += 7)
                                data[j] = (char) (rand_r(&seed) >> 7);
                CHECK_INT(write_file(path[i], data, n), 0);
                free(data);
                int fd = open(path[i], O_RDONLY | O_CLOEXEC);
                maplen[i] = n;
                map[i] = fd < 0 ? MAP_FAILED : mmap(NULL, n, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
                if (fd >= 0)
                        close(fd);
                if (map[i] == MAP_FAILED) {
                        printf("weird file %d: cannot map executable (%s), not tested\n", i, strerror(errno));
                        map[i] = NULL;
                }
        }
        free(self);

        struct child c;
        CHECK_INT(child_start(NULL, &c), 0);
        struct sym_process *sp;
        CHECK_INT(sym_process_open(s, c.pid, &self_caller, &sp), 0);
        const struct sym_mapping *maps;
        size_t nmaps = sym_process_mappings(sp, &maps);
        for (int i = 0; i < NFILES; i++) {
                if (!map[i])
                        continue;
                struct sym_frame fr;
                for (size_t off = 0; off < maplen[i]; off += maplen[i] / 97 + 1) {
                        lookup(sp, (char *) map[i] + off, off % 2, &fr);
                        CHECK(fr.mapping >= 0 && (size_t) fr.mapping < nmaps);
                        CHECK(fr.nlines <= SYM_MAX_INLINE);
                }
                if (fr.mapping >= 0)
                        CHECK(strncmp(maps[fr.mapping].path, path[i], strlen(path[i])) == 0);
                if (i == GARBAGE && fr.mapping >= 0)
                        CHECK(!maps[fr.mapping].has_functions && maps[fr.mapping].build_id == NULL);
        }
        sym_process_free(sp);
        child_stop(&c);
        for (int i = 0; i < NFILES; i++) {
                if (map[i])
                        munmap(map[i], maplen[i]);
                unlink(path[i]);
        }
        rmdir(dir);
}

#define NTARGETS 5

static void test_bounded_cache(char *targets[NTARGETS]) {
        struct symbolizer *s;
        CHECK_INT(symbolizer_new(2, &s), 0);
        struct child c[NTARGETS];
        struct sym_process *sp[NTARGETS] = {};
        const char *ids[NTARGETS] = {};
        void *addr[NTARGETS];
        int line[NTARGETS];

        for (int i = 0; i < NTARGETS; i++) {
                char *argv[] = { targets[i], NULL };
                CHECK_INT(child_start(argv, &c[i]), 0);
                CHECK_INT(read_target_line(&c[i], &addr[i], &line[i]), 0);
        }
        /* All held at once: every binary stays alive though the bound is 2. */
        for (int i = 0; i < NTARGETS; i++) {
                CHECK_INT(sym_process_open(s, c[i].pid, &self_caller, &sp[i]), 0);
                if (!sp[i])
                        continue;
                struct sym_frame f;
                lookup(sp[i], addr[i], false, &f);
                CHECK_INT(f.nlines, 1);
                CHECK_STR(f.lines[0].function, "target_function");
                CHECK_INT(f.lines[0].line, line[i]);
                const struct sym_mapping *maps;
                sym_process_mappings(sp[i], &maps);
                if (f.mapping >= 0)
                        ids[i] = maps[f.mapping].build_id;
                CHECK(is_hex40(ids[i]));
                for (int j = 0; j < i; j++)
                        CHECK(ids[j] && ids[i] && strcmp(ids[i], ids[j]) != 0);
        }
        CHECK(cache_size(s) >= NTARGETS);
        for (int i = 0; i < NTARGETS; i++) {
                sym_process_free(sp[i]);
                CHECK(cache_size(s) >= 2);
        }
        CHECK_INT(cache_size(s), 2);

        /* One at a time, twice round: evicted binaries are loaded again. */
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < NTARGETS; i++) {
                        struct sym_process *p;
                        CHECK_INT(sym_process_open(s, c[i].pid, &self_caller, &p), 0);
                        if (!p)
                                continue;
                        struct sym_frame f;
                        lookup(p, addr[i], false, &f);
                        CHECK_INT(f.nlines, 1);
                        CHECK_STR(f.lines[0].function, "target_function");
                        CHECK_STR(base(f.lines[0].file), "sym_target.c");
                        CHECK_INT(f.lines[0].line, line[i]);
                        sym_process_free(p);
                        CHECK_INT(cache_size(s), 2);
                }
        for (int i = 0; i < NTARGETS; i++)
                child_stop(&c[i]);
        symbolizer_free(s);
}

/* Threads opening processes and looking up at once, as the FUSE daemon does. */
struct thread_arg {
        struct symbolizer *s;
        pid_t pid;
        int errors;
};

static void *thread_main(void *p) {
        struct thread_arg *a = p;
        for (int round = 0; round < 10; round++) {
                struct sym_process *sp;
                if (sym_process_open(a->s, a->pid, &self_caller, &sp) < 0) {
                        a->errors++;
                        continue;
                }
                for (int i = 0; i < 200; i++) {
                        struct sym_frame f;
                        void *addr = i % 2 ? ra_inline : (void *) known_function;
                        if (sym_process_lookup(sp, (uintptr_t) addr, i % 2, &f) < 0 ||
                            f.nlines != (i % 2 ? 2u : 1u) ||
                            strcmp(f.lines[0].function, i % 2 ? "inlined_leaf" : "known_function") != 0)
                                a->errors++;
                }
                sym_process_free(sp);
        }
        return NULL;
}

static void test_threads(void) {
        struct symbolizer *s;
        CHECK_INT(symbolizer_new(2, &s), 0);
        struct child c;
        CHECK_INT(child_start(NULL, &c), 0);
        pthread_t t[4];
        struct thread_arg args[4];
        for (int i = 0; i < 4; i++) {
                args[i] = (struct thread_arg){ .s = s, .pid = c.pid };
                CHECK_INT(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                CHECK_INT(args[i].errors, 0);
        }
        child_stop(&c);
        symbolizer_free(s);
}

int main(int argc, char **argv) {
        self_caller = (struct sym_caller){ .uid = geteuid(), .gid = getegid() };
        if (argc != 2 + NTARGETS) {
                fprintf(stderr, "usage: %s CXX_TARGET TARGET1..%d\n", argv[0], NTARGETS);
                return 2;
        }
        struct symbolizer *s;
        if (symbolizer_new(16, &s) < 0)
                return 1;

        test_maps_parse();
        test_gone(s);
        test_self(s);
        test_cxx(s, argv[1]);
        test_deleted(s, argv[2]);
        test_weird_files(s);
        test_bounded_cache(argv + 2);
        test_threads();
        symbolizer_free(s);

        if (failures) {
                fprintf(stderr, "%d checks failed\n", failures);
                return 1;
        }
        printf("all symbolizer checks passed\n");
        return 0;
}
