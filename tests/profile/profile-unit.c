/* Unit tests of the pprof encoder: deduplication of strings, functions and locations,
 * argument checking, and every allocation failure (injected through ld --wrap). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile-private.h"
#include "../check.h"

#define CHECK_R(expr, want)                                                             \
        do {                                                                            \
                int _r = (expr);                                                        \
                if (_r != (want)) {                                                     \
                        fprintf(stderr, "%s:%d: %s returned %d, want %d\n", __FILE__,   \
                                __LINE__, #expr, _r, (want));                           \
                        check_failures++;                                               \
                }                                                                       \
        } while (0)

/* Allocation failure injection: the encoder's (statically linked) calls to these go
 * through the wrappers, which fail allocation number `alloc_fail_at` (counting from 0)
 * and no other, so the tests also see that the encoder recovers. */
static long alloc_fail_at = -1; /* -1: never fail */
static long alloc_count;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);

static bool alloc_fails(void)
{
        return alloc_count++ == alloc_fail_at;
}

void *__wrap_malloc(size_t n)
{
        return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
        return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
        return alloc_fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
        return alloc_fails() ? NULL : __real_strdup(s);
}

static void test_strings(void)
{
        struct profile *p;
        char buf[32];
        int64_t a, b, c;

        CHECK_R(profile_new(&p), 0);
        CHECK(p->strings.n == 1 && strcmp(p->strings.strs[0], "") == 0);

        strcpy(buf, "hello");
        CHECK_R(strtab_intern(&p->strings, buf, &a), 0);
        strcpy(buf, "world"); /* the table must hold its own copy */
        CHECK_R(strtab_intern(&p->strings, buf, &b), 0);
        strcpy(buf, "hello");
        CHECK_R(strtab_intern(&p->strings, buf, &c), 0);
        CHECK(a == 1 && b == 2 && c == a);
        CHECK(strcmp(p->strings.strs[1], "hello") == 0);
        CHECK_R(strtab_intern(&p->strings, "", &c), 0);
        CHECK(c == 0);
        CHECK_R(strtab_intern(&p->strings, NULL, &c), 0);
        CHECK(c == 0);
        CHECK(p->strings.n == 3);

        /* Enough strings to make the hash table grow several times. */
        for (int i = 0; i < 5000; i++) {
                snprintf(buf, sizeof(buf), "s%d", i % 2500);
                CHECK_R(strtab_intern(&p->strings, buf, &a), 0);
                CHECK(a == 3 + i % 2500);
        }
        CHECK(p->strings.n == 3 + 2500);
        CHECK_R(strtab_lookup(&p->strings, "s77", &a), 0);
        CHECK(a == 80);
        CHECK_R(strtab_lookup(&p->strings, "absent", &a), -ENOENT);
        profile_free(p);
}

static void test_locations(void)
{
        struct profile *p;
        uint64_t m1, m2, a, b, id;
        char name[16], file[16];
        struct profile_line l = { name, NULL, file, 10, 5 };
        struct profile_line two[2] = {
                { "inner", NULL, "x.c", 1, 0 },
                { "outer", NULL, "x.c", 2, 0 },
        };

        CHECK_R(profile_new(&p), 0);
        CHECK_R(profile_add_mapping(p, 0x1000, 0x2000, 0, "/bin/a", NULL, 1, 1, 1, 0, &m1), 0);
        CHECK_R(profile_add_mapping(p, 0x3000, 0x4000, 0, "/bin/b", "id", 1, 1, 1, 0, &m2), 0);
        CHECK(m1 == 1 && m2 == 2);

        strcpy(name, "f");
        strcpy(file, "f.c");
        CHECK_R(profile_add_location(p, m1, 0x1100, &l, 1, &a), 0);
        /* The same content from fresh buffers, and system_name spelled out: merged. */
        strcpy(name, "g");
        strcpy(name, "f");
        l.system_name = "f";
        CHECK_R(profile_add_location(p, m1, 0x1100, &l, 1, &b), 0);
        CHECK(a == 1 && b == 1);
        CHECK(p->n_locations == 1 && p->n_functions == 1);

        /* Another line of the same function: a new location, the same function. */
        l.line = 11;
        CHECK_R(profile_add_location(p, m1, 0x1100, &l, 1, &id), 0);
        CHECK(id == 2 && p->n_functions == 1);
        /* Another start line makes another function. */
        l.start_line = 6;
        CHECK_R(profile_add_location(p, m1, 0x1100, &l, 1, &id), 0);
        CHECK(id == 3 && p->n_functions == 2);
        /* Different system name: another function too. */
        l.system_name = "_Z1fv";
        CHECK_R(profile_add_location(p, m1, 0x1100, &l, 1, &id), 0);
        CHECK(id == 4 && p->n_functions == 3);
        /* Same lines in another mapping or at another address: new locations. */
        CHECK_R(profile_add_location(p, m2, 0x1100, &l, 1, &id), 0);
        CHECK(id == 5);
        CHECK_R(profile_add_location(p, m2, 0x1104, &l, 1, &id), 0);
        CHECK(id == 6 && p->n_functions == 3);

        /* Inline lines: order matters, and both merge when repeated. */
        CHECK_R(profile_add_location(p, 0, 0x9000, two, 2, &a), 0);
        CHECK_R(profile_add_location(p, 0, 0x9000, two, 2, &b), 0);
        CHECK(a == 7 && b == 7);
        CHECK_R(profile_add_location(p, 0, 0x9000, two, 1, &b), 0);
        CHECK(b == 8);
        /* Address-only locations merge by address. */
        CHECK_R(profile_add_location(p, 0, 0xabc, NULL, 0, &a), 0);
        CHECK_R(profile_add_location(p, 0, 0xabc, NULL, 0, &b), 0);
        CHECK(a == 9 && b == 9);

        /* Many distinct locations, each added twice. */
        for (uint64_t i = 0; i < 20000; i++) {
                CHECK_R(profile_add_location(p, m1, 0x100000 + i, two, 2, &a), 0);
                CHECK_R(profile_add_location(p, m1, 0x100000 + i, two, 2, &b), 0);
                CHECK(a == b && a == 10 + i);
        }
        CHECK(p->n_functions == 5);
        profile_free(p);
}

static void test_errors(void)
{
        struct profile *p;
        uint64_t id = 12345, loc;
        int64_t v4[4] = { 1, 2, 3, 4 };
        struct profile_line noname = { NULL, NULL, "f.c", 1, 0 };
        struct profile_label nokey = { NULL, "v", 0, NULL };
        uint8_t *buf = (uint8_t *)&id;
        size_t len = 777;

        CHECK_R(profile_new(NULL), -EINVAL);
        profile_free(NULL);
        profile_set_time(NULL, 1, 2);
        CHECK_R(profile_add_sample_type(NULL, "a", "b"), -EINVAL);
        CHECK_R(profile_write_gzip(NULL, &buf, &len), -EINVAL);

        CHECK_R(profile_new(&p), 0);
        CHECK_R(profile_add_sample_type(p, NULL, "count"), -EINVAL);
        CHECK_R(profile_add_sample_type(p, "x", NULL), -EINVAL);
        CHECK_R(profile_set_period(p, "space", NULL, 1), -EINVAL);
        CHECK_R(profile_add_comment(p, NULL), -EINVAL);
        /* No sample types yet: a sample cannot be valid. */
        CHECK_R(profile_add_sample(p, NULL, 0, v4, 0, NULL, 0), -EINVAL);
        CHECK_R(profile_set_default_sample_type(p, "objects"), -EINVAL);

        CHECK_R(profile_add_sample_type(p, "objects", "count"), 0);
        CHECK_R(profile_add_sample_type(p, "space", "bytes"), 0);
        CHECK_R(profile_set_default_sample_type(p, "space"), 0);
        /* Known as a string ("bytes") but not as a sample type. */
        CHECK_R(profile_set_default_sample_type(p, "bytes"), -EINVAL);
        CHECK_R(profile_set_default_sample_type(p, NULL), -EINVAL);

        CHECK_R(profile_add_mapping(p, 0x2000, 0x1000, 0, "/x", NULL, 0, 0, 0, 0, &id),
                 -EINVAL);
        CHECK_R(profile_add_mapping(p, 0x1000, 0x2000, 0, "/x", NULL, 0, 0, 0, 0, NULL),
                 -EINVAL);
        CHECK(id == 12345);
        CHECK_R(profile_add_location(p, 1, 0x10, NULL, 0, &id), -EINVAL); /* no mapping 1 */
        CHECK_R(profile_add_location(p, 0, 0x10, NULL, 1, &id), -EINVAL);
        CHECK_R(profile_add_location(p, 0, 0x10, &noname, 1, &id), -EINVAL);
        CHECK_R(profile_add_location(p, 0, 0x10, NULL, 0, NULL), -EINVAL);
        CHECK(id == 12345 && p->n_locations == 0 && p->n_functions == 0);

        CHECK_R(profile_add_location(p, 0, 0x10, NULL, 0, &loc), 0);
        CHECK_R(profile_add_sample(p, &loc, 1, v4, 1, NULL, 0), -EINVAL);
        CHECK_R(profile_add_sample(p, &loc, 1, v4, 3, NULL, 0), -EINVAL);
        CHECK_R(profile_add_sample(p, &loc, 1, NULL, 2, NULL, 0), -EINVAL);
        CHECK_R(profile_add_sample(p, NULL, 1, v4, 2, NULL, 0), -EINVAL);
        CHECK_R(profile_add_sample(p, &loc, 1, v4, 2, NULL, 1), -EINVAL);
        CHECK_R(profile_add_sample(p, &loc, 1, v4, 2, &nokey, 1), -EINVAL);
        id = 0;
        CHECK_R(profile_add_sample(p, &id, 1, v4, 2, NULL, 0), -EINVAL);
        id = loc + 1;
        CHECK_R(profile_add_sample(p, &id, 1, v4, 2, NULL, 0), -EINVAL);
        CHECK(p->n_samples == 0);

        CHECK_R(profile_add_sample(p, &loc, 1, v4, 2, NULL, 0), 0);
        CHECK_R(profile_add_sample(p, NULL, 0, v4, 2, NULL, 0), 0); /* empty stack is fine */
        /* Existing samples have two values: a third type would make them invalid. */
        CHECK_R(profile_add_sample_type(p, "late", "count"), -EINVAL);
        CHECK(p->n_samples == 2 && p->n_sample_types == 2);

        buf = NULL;
        CHECK_R(profile_write_gzip(p, NULL, &len), -EINVAL);
        CHECK_R(profile_write_gzip(p, &buf, NULL), -EINVAL);
        CHECK(buf == NULL);
        profile_free(p);
}

/* Decompresses and parses a written profile, and checks that everything it refers to
 * exists: what pprof's reader would insist on. */
static Perftools__Profiles__Profile *decode(const uint8_t *gz, size_t len)
{
        static uint8_t raw[1 << 22];
        Perftools__Profiles__Profile *m;
        z_stream zs = { 0 };

        if (len < 2 || gz[0] != 0x1f || gz[1] != 0x8b)
                return NULL;
        if (inflateInit2(&zs, 31) != Z_OK)
                return NULL;
        zs.next_in = (Bytef *)gz;
        zs.avail_in = (uInt)len;
        zs.next_out = raw;
        zs.avail_out = sizeof(raw);
        if (inflate(&zs, Z_FINISH) != Z_STREAM_END) {
                inflateEnd(&zs);
                return NULL;
        }
        inflateEnd(&zs);
        m = perftools__profiles__profile__unpack(NULL, zs.total_out, raw);
        return m;
}

static bool consistent(const Perftools__Profiles__Profile *m)
{
        size_t ns = m->n_string_table;

        if (ns == 0 || strcmp(m->string_table[0], "") != 0)
                return false;
        for (size_t i = 0; i < m->n_sample; i++) {
                const Perftools__Profiles__Sample *s = m->sample[i];

                if (s->n_value != m->n_sample_type)
                        return false;
                for (size_t j = 0; j < s->n_location_id; j++)
                        if (s->location_id[j] == 0 || s->location_id[j] > m->n_location)
                                return false;
                for (size_t j = 0; j < s->n_label; j++)
                        if ((size_t)s->label[j]->key >= ns || (size_t)s->label[j]->str >= ns ||
                            (size_t)s->label[j]->num_unit >= ns)
                                return false;
        }
        for (size_t i = 0; i < m->n_location; i++) {
                const Perftools__Profiles__Location *l = m->location[i];

                if (l->id != i + 1 || l->mapping_id > m->n_mapping)
                        return false;
                for (size_t j = 0; j < l->n_line; j++)
                        if (l->line[j]->function_id == 0 ||
                            l->line[j]->function_id > m->n_function)
                                return false;
        }
        for (size_t i = 0; i < m->n_function; i++)
                if (m->function[i]->id != i + 1 || (size_t)m->function[i]->name >= ns ||
                    (size_t)m->function[i]->system_name >= ns ||
                    (size_t)m->function[i]->filename >= ns)
                        return false;
        for (size_t i = 0; i < m->n_mapping; i++)
                if (m->mapping[i]->id != i + 1 || (size_t)m->mapping[i]->filename >= ns ||
                    (size_t)m->mapping[i]->build_id >= ns)
                        return false;
        return true;
}

static int nomem_seen;

/* Accepts success or -ENOMEM; anything else is a bug. */
#define TRY(expr)                                                                       \
        do {                                                                            \
                int _r = (expr);                                                        \
                nomem_seen += _r == -ENOMEM;                                            \
                if (_r < 0 && _r != -ENOMEM) {                                          \
                        fprintf(stderr, "%s:%d: %s returned %d\n", __FILE__, __LINE__,  \
                                #expr, _r);                                             \
                        check_failures++;                                               \
                }                                                                       \
        } while (0)

/* A small but complete profile; every call may fail for want of memory. */
static void build(struct profile *p)
{
        struct profile_line lines[2] = {
                { "inner", "_Z5innerv", "a.c", 3, 1 },
                { "outer", NULL, "a.c", 9, 7 },
        };
        struct profile_label labels[2] = {
                { "thread", "t1", 0, NULL },
                { "bytes", NULL, 64, "bytes" },
        };
        uint64_t m = 0, ids[3] = { 1, 1, 1 };
        int64_t v[2] = { 1, 64 };

        TRY(profile_add_sample_type(p, "objects", "count"));
        TRY(profile_add_sample_type(p, "space", "bytes"));
        if (p->n_sample_types == 2) /* else "space" is no sample type */
                TRY(profile_set_default_sample_type(p, "space"));
        TRY(profile_set_period(p, "space", "bytes", 4096));
        TRY(profile_add_comment(p, "a comment"));
        TRY(profile_add_mapping(p, 0x1000, 0x2000, 0, "/bin/x", "b1d", 1, 1, 1, 1, &m));
        for (int i = 0; i < 40; i++) {
                uint64_t id;

                if (profile_add_location(p, m, 0x1000 + (uint64_t)i % 20, lines, 1 + i % 2,
                                         &id) == 0)
                        ids[i % 3] = id;
                if (p->n_locations == 0)
                        continue;
                TRY(profile_add_sample(p, ids, 3, v, p->n_sample_types == 2 ? 2 : 1, labels,
                                       2));
        }
}

static void test_out_of_memory(void)
{
        int write_failed = 0, write_ok = 0;
        long needed;

        /* Count the allocations of a full run, then fail each one in turn. */
        alloc_count = 0;
        {
                struct profile *p;

                CHECK_R(profile_new(&p), 0);
                build(p);
                needed = alloc_count;
                profile_free(p);
        }
        for (long k = 0; k <= needed; k++) {
                struct profile *p = NULL;
                Perftools__Profiles__Profile *m;
                uint8_t *buf = NULL;
                size_t len = 0;
                int r;

                alloc_count = 0;
                alloc_fail_at = k;
                r = profile_new(&p);
                if (r < 0) {
                        CHECK(r == -ENOMEM && p == NULL);
                        alloc_fail_at = -1;
                        continue;
                }
                build(p);
                /* Whatever failed, the profile must still be whole and writable. */
                alloc_fail_at = -1;
                CHECK_R(profile_write_gzip(p, &buf, &len), 0);
                m = buf ? decode(buf, len) : NULL;
                CHECK(m && consistent(m));
                if (m)
                        perftools__profiles__profile__free_unpacked(m, NULL);
                free(buf);
                profile_free(p);
        }

        /* And failures while writing. */
        for (long k = 0; k < 64; k++) {
                struct profile *p;
                uint8_t *buf = (uint8_t *)&k;
                size_t len = 999;
                int r;

                alloc_fail_at = -1;
                CHECK_R(profile_new(&p), 0);
                build(p);
                alloc_count = 0;
                alloc_fail_at = k;
                r = profile_write_gzip(p, &buf, &len);
                alloc_fail_at = -1;
                if (r < 0) {
                        CHECK(r == -ENOMEM && buf == (uint8_t *)&k && len == 999);
                        write_failed++;
                } else {
                        write_ok++;
                        Perftools__Profiles__Profile *m = decode(buf, len);

                        CHECK(m && consistent(m) && m->n_sample == 40);
                        if (m)
                                perftools__profiles__profile__free_unpacked(m, NULL);
                        free(buf);
                }
                profile_free(p);
        }
        /* Proof that the injection reached the encoder at all. */
        CHECK(nomem_seen > 10 && write_failed > 0 && write_ok > 0);
}

static void test_empty(void)
{
        Perftools__Profiles__Profile *m;
        struct profile *p;
        uint8_t *buf = NULL;
        size_t len = 0;

        CHECK_R(profile_new(&p), 0);
        CHECK_R(profile_write_gzip(p, &buf, &len), 0);
        m = buf ? decode(buf, len) : NULL;
        CHECK(m && m->n_string_table == 1 && m->n_sample == 0 && !m->period_type);
        if (m)
                perftools__profiles__profile__free_unpacked(m, NULL);
        free(buf);
        profile_free(p);
}

int main(void)
{
        test_empty();
        test_strings();
        test_locations();
        test_errors();
        test_out_of_memory();
        if (check_failures) {
                fprintf(stderr, "%d checks failed\n", check_failures);
                return 1;
        }
        printf("ok\n");
        return 0;
}
