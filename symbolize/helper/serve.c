/* The helper's request loop and its bounded cache of binaries, most recently used first. */
#include "serve.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary.h"
#include "intern.h"

/* Binaries kept between requests, and the bytes of their files (which are mapped):
 * within the helper's address space limit with room for libdw's own structures. */
#define SERVE_MAX_BINARIES 32
#define SERVE_MAX_BYTES (768ull << 20)

struct serve {
        struct sym_binary *head, *tail;
        size_t count;
        uint64_t bytes;
};

int serve_new(struct serve **ret) {
        struct serve *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static void unlink_binary(struct serve *s, struct sym_binary *b) {
        if (b->prev)
                b->prev->next = b->next;
        else
                s->head = b->next;
        if (b->next)
                b->next->prev = b->prev;
        else
                s->tail = b->prev;
        b->prev = b->next = NULL;
        s->count--;
        s->bytes -= b->bytes;
}

static void push_front(struct serve *s, struct sym_binary *b) {
        b->prev = NULL;
        b->next = s->head;
        if (s->head)
                s->head->prev = b;
        else
                s->tail = b;
        s->head = b;
        s->count++;
        s->bytes += b->bytes;
}

void serve_free(struct serve *s) {
        if (!s)
                return;
        while (s->head) {
                struct sym_binary *b = s->head;
                unlink_binary(s, b);
                binary_free(b);
        }
        free(s);
}

static struct sym_binary *find(struct serve *s, uint64_t id) {
        for (struct sym_binary *b = s->head; b; b = b->next)
                if (b->id == id) {
                        unlink_binary(s, b);
                        push_front(s, b);
                        return b;
                }
        return NULL;
}

static void forget(struct serve *s, uint64_t id) {
        struct sym_binary *b = find(s, id);
        if (b) {
                unlink_binary(s, b);
                binary_free(b);
        }
}

/* Makes room for a binary of `bytes`, oldest out first. */
static void evict_for(struct serve *s, uint64_t bytes) {
        while (s->tail && (s->count >= SERVE_MAX_BINARIES || s->bytes + bytes > SERVE_MAX_BYTES)) {
                struct sym_binary *b = s->tail;
                unlink_binary(s, b);
                binary_free(b);
        }
}

static void do_open(struct serve *s, const struct proto_request *q, int fd,
                    struct proto_buf *reply) {
        char problem[PROTO_MAX_PROBLEM] = "";
        struct sym_binary *b;
        forget(s, q->id);
        int r = binary_open(q->id, fd, &b, problem, sizeof(problem));
        if (r < 0) {
                proto_put_status(reply, -r, problem);
                return;
        }
        evict_for(s, b->bytes);
        push_front(s, b);
        proto_put_status(reply, 0, NULL);
        proto_put_u8(reply, (uint8_t) b->build_id_len);
        proto_put(reply, b->build_id, b->build_id_len);
        size_t n = strlen(b->debuglink);
        proto_put_u16(reply, (uint16_t) n);
        proto_put(reply, b->debuglink, n);
        proto_put_u32(reply, b->crc);
        proto_put_u32(reply, b->needs_debug ? PROTO_NEEDS_DEBUG : 0);
}

static void put_attached(struct sym_binary *b, int chosen, uint32_t rejected,
                         struct proto_buf *reply) {
        proto_put_status(reply, 0, NULL);
        proto_put_u32(reply, (uint32_t) chosen);
        proto_put_u32(reply, rejected);
        proto_put_u32(reply, (b->has_functions ? PROTO_HAS_FUNCTIONS : 0) |
                                     (b->has_filenames ? PROTO_HAS_FILENAMES : 0) |
                                     (b->has_line_numbers ? PROTO_HAS_LINE_NUMBERS : 0) |
                                     (b->has_inline_frames ? PROTO_HAS_INLINE_FRAMES : 0) |
                                     (b->needs_alt ? PROTO_NEEDS_ALT : 0));
        if (!b->needs_alt)
                return;
        size_t n = strlen(b->altname);
        proto_put_u8(reply, (uint8_t) b->alt_id_len);
        proto_put(reply, b->alt_id, b->alt_id_len);
        proto_put_u16(reply, (uint16_t) n);
        proto_put(reply, b->altname, n);
}

static void do_attach(struct serve *s, const struct proto_request *q, const int *fds,
                      size_t nfds, struct proto_buf *reply) {
        char problem[PROTO_MAX_PROBLEM] = "";
        struct sym_binary *b = find(s, q->id);
        int chosen = -1;
        uint32_t rejected = 0;
        if (!b) {
                proto_put_status(reply, ENOENT, "not opened");
                return;
        }
        uint64_t before = b->bytes;
        int r = q->type == PROTO_ALT
                        ? binary_attach_alt(b, fds, nfds, &chosen, &rejected)
                        : binary_attach(b, fds, nfds, &chosen, &rejected, problem,
                                        sizeof(problem));
        s->bytes += b->bytes - before;
        if (r < 0) {
                forget(s, q->id);
                proto_put_status(reply, -r, problem);
                return;
        }
        put_attached(b, chosen, rejected, reply);
}

/* A reply's string table: interned strings are unique by address, so a pointer-keyed
 * hash set numbers them. */
struct strtab {
        const char **keys;
        uint32_t *index;
        size_t nslots;
        uint32_t n;
        struct proto_buf bytes;
};

static uint32_t string_index(struct strtab *t, const char *s) {
        if (!s)
                return 0;
        size_t i = ((uintptr_t) s * 0x9e3779b97f4a7c15ull >> 20) & (t->nslots - 1);
        while (t->keys[i] && t->keys[i] != s)
                i = (i + 1) & (t->nslots - 1);
        if (t->keys[i])
                return t->index[i];
        size_t len = strlen(s);
        if (len > PROTO_MAX_STRING)
                len = PROTO_MAX_STRING;
        if (len == 0)
                return 0;
        proto_put_u32(&t->bytes, (uint32_t) len);
        proto_put(&t->bytes, s, len);
        t->keys[i] = s;
        t->index[i] = ++t->n;
        return t->n;
}

static void do_resolve(struct serve *s, const struct proto_request *q, struct proto_buf *reply) {
        struct sym_binary *b = find(s, q->id);
        struct strtab t = { 0 };
        struct proto_buf lines;
        proto_buf_init(&lines, PROTO_MAX_REPLY);
        proto_buf_init(&t.bytes, PROTO_MAX_REPLY);
        if (!b || !b->dwfl) {
                proto_put_status(reply, ENOENT, "not attached");
                goto out;
        }
        /* Room for every line's three strings to be new, at most 2/3 full. */
        size_t want = (size_t) q->n * PROTO_MAX_LINES * 3 * 3 / 2 + 16;
        t.nslots = 16;
        while (t.nslots < want)
                t.nslots *= 2;
        t.keys = calloc(t.nslots, sizeof(*t.keys));
        t.index = calloc(t.nslots, sizeof(*t.index));
        if (!t.keys || !t.index || intern_new(&b->strings) < 0) {
                proto_put_status(reply, ENOMEM, "out of memory");
                goto out;
        }
        /* Past this size the remaining addresses stay unknown rather than fail the
         * whole batch (strings already added for the address that did not fit stay in
         * the table, unused: harmless). */
        /* 256 KiB: more than one address can add (8 lines of 3 new 4 KiB strings). */
        size_t room = PROTO_MAX_REPLY - (256u << 10) - (size_t) q->n;
        bool full = false;
        for (uint32_t i = 0; i < q->n; i++) {
                struct sym_line l[SYM_MAX_INLINE];
                size_t n = full ? 0 : binary_lookup(b, proto_offset_at(q, i), l);
                size_t mark = lines.len;
                proto_put_u8(&lines, (uint8_t) n);
                for (size_t j = 0; j < n; j++) {
                        proto_put_u32(&lines, string_index(&t, l[j].function));
                        proto_put_u32(&lines, string_index(&t, l[j].system_name));
                        proto_put_u32(&lines, string_index(&t, l[j].file));
                        proto_put_u32(&lines, (uint32_t) (l[j].line < 0 ? 0 : l[j].line));
                        proto_put_u32(&lines,
                                      (uint32_t) (l[j].start_line < 0 ? 0 : l[j].start_line));
                }
                if (n > 0 && lines.len + t.bytes.len > room) {
                        lines.len = mark;
                        proto_put_u8(&lines, 0);
                        full = true;
                }
        }
        if (lines.failed || t.bytes.failed) {
                proto_put_status(reply, ENOMEM, "reply too large");
                goto out;
        }
        proto_put_status(reply, 0, NULL);
        proto_put_u32(reply, q->n);
        proto_put_u32(reply, t.n);
        proto_put(reply, t.bytes.data, t.bytes.len);
        proto_put(reply, lines.data, lines.len);
out:
        if (b) {
                intern_free(b->strings);
                b->strings = NULL;
        }
        free(t.keys);
        free(t.index);
        proto_buf_free(&lines);
        proto_buf_free(&t.bytes);
}

int serve_request(struct serve *s, const struct proto_header *h, const uint8_t *payload,
                  const int *fds, size_t nfds, struct proto_buf *reply) {
        struct proto_request q;
        int r = proto_parse_request(h, payload, h->len, nfds, &q);
        if (r < 0) {
                for (size_t i = 0; i < nfds; i++)
                        close(fds[i]);
                return r;
        }
        switch (q.type) {
        case PROTO_OPEN:
                do_open(s, &q, fds[0], reply);
                break;
        case PROTO_ATTACH:
        case PROTO_ALT:
                do_attach(s, &q, fds, nfds, reply);
                for (size_t i = 0; i < nfds; i++)
                        close(fds[i]);
                break;
        case PROTO_RESOLVE:
                do_resolve(s, &q, reply);
                break;
        }
        return reply->failed ? -ENOMEM : 0;
}

int serve_loop(struct serve *s, int sock) {
        for (;;) {
                struct proto_header h;
                uint8_t *payload;
                int fds[PROTO_MAX_FDS];
                size_t nfds = 0;
                int r = proto_recv(sock, PROTO_MAX_REQUEST, 0, &h, &payload, fds, &nfds);
                if (r == -EPIPE)
                        return 0;
                if (r < 0)
                        return r;
                struct proto_buf reply;
                proto_buf_init(&reply, PROTO_MAX_REPLY);
                r = serve_request(s, &h, payload, fds, nfds, &reply);
                free(payload);
                if (r == 0)
                        r = proto_send(sock, h.type, reply.data, reply.len, NULL, 0, 0);
                proto_buf_free(&reply);
                if (r == -EPIPE)
                        return 0;
                if (r < 0)
                        return r;
        }
}
