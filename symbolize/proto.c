/* The symbolizer protocol: message framing, fd passing, and the bounded readers of
 * requests (the helper's) and replies (the daemon's). */
#include "memprof/clock.h"
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t proto_now_ns(void) {
        return time_now_ns(CLOCK_MONOTONIC);
}

void proto_buf_init(struct proto_buf *b, size_t max) {
        *b = (struct proto_buf){ .max = max };
}

void proto_buf_free(struct proto_buf *b) {
        free(b->data);
        *b = (struct proto_buf){ 0 };
}

void proto_put(struct proto_buf *b, const void *p, size_t n) {
        if (b->failed)
                return;
        if (n > b->max || b->len > b->max - n) {
                b->failed = true;
                return;
        }
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n)
                        cap *= 2;
                if (cap > b->max)
                        cap = b->max;
                uint8_t *d = realloc(b->data, cap);
                if (!d) {
                        b->failed = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
}

void proto_put_u8(struct proto_buf *b, uint8_t v) {
        proto_put(b, &v, 1);
}

void proto_put_u16(struct proto_buf *b, uint16_t v) {
        proto_put(b, &v, 2);
}

void proto_put_u32(struct proto_buf *b, uint32_t v) {
        proto_put(b, &v, 4);
}

void proto_put_u64(struct proto_buf *b, uint64_t v) {
        proto_put(b, &v, 8);
}

void proto_put_status(struct proto_buf *b, int error, const char *problem) {
        proto_put_u32(b, (uint32_t) error);
        if (error == 0)
                return;
        size_t n = problem ? strnlen(problem, PROTO_MAX_PROBLEM) : 0;
        proto_put_u16(b, (uint16_t) n);
        proto_put(b, problem, n);
}

/* Waits until sock is ready for events, or the deadline (0: none) passes. */
static int wait_for(int sock, short events, int64_t deadline_ns) {
        for (;;) {
                int timeout = -1;
                if (deadline_ns > 0) {
                        int64_t left = deadline_ns - proto_now_ns();
                        if (left <= 0)
                                return -ETIMEDOUT;
                        timeout = (int) ((left + 999999) / 1000000);
                }
                struct pollfd p = { .fd = sock, .events = events };
                int r = poll(&p, 1, timeout);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        continue; /* the loop rechecks the deadline */
                if (p.revents & (POLLERR | POLLNVAL))
                        return -EPIPE;
                return 0; /* readable, writable or hung up: the call says which */
        }
}

static void close_fds(const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
}

int proto_send(int sock, enum proto_type type, const void *payload, size_t len,
               const int *fds, size_t nfds, int64_t deadline_ns) {
        if (len > UINT32_MAX || nfds > PROTO_MAX_FDS)
                return -E2BIG;
        struct proto_header h = { .magic = PROTO_MAGIC, .type = type, .len = (uint32_t) len,
                                  .nfds = (uint32_t) nfds };
        union {
                char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
                struct cmsghdr align;
        } control;
        size_t sent = 0, total = sizeof(h) + len;
        while (sent < total) {
                struct iovec iov[2];
                int niov = 0;
                if (sent < sizeof(h))
                        iov[niov++] = (struct iovec){ (char *) &h + sent, sizeof(h) - sent };
                size_t poff = sent > sizeof(h) ? sent - sizeof(h) : 0;
                if (len > poff)
                        iov[niov++] = (struct iovec){ (char *) payload + poff, len - poff };
                struct msghdr m = { .msg_iov = iov, .msg_iovlen = niov };
                if (sent == 0 && nfds > 0) {
                        memset(&control, 0, sizeof(control));
                        m.msg_control = control.buf;
                        m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
                }
                ssize_t n = sendmsg(sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        int r = wait_for(sock, POLLOUT, deadline_ns);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return errno == ECONNRESET ? -EPIPE : -errno;
                sent += (size_t) n;
        }
        return 0;
}

/* Reads exactly len bytes; the fds of the first read land in fds (if asked for). */
static int recv_all(int sock, void *buf, size_t len, int64_t deadline_ns, int *fds,
                    size_t *nfds) {
        size_t got = 0;
        while (got < len) {
                union {
                        char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
                        struct cmsghdr align;
                } control;
                struct iovec iov = { (char *) buf + got, len - got };
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                                    .msg_control = control.buf,
                                    .msg_controllen = sizeof(control.buf) };
                ssize_t n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        int r = wait_for(sock, POLLIN, deadline_ns);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return errno == ECONNRESET ? -EPIPE : -errno;
                if (n == 0)
                        return -EPIPE;
                bool bad = (m.msg_flags & MSG_CTRUNC) != 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int got_fds[PROTO_MAX_FDS];
                        if (k > PROTO_MAX_FDS)
                                k = PROTO_MAX_FDS; /* the kernel truncated: MSG_CTRUNC */
                        memcpy(got_fds, CMSG_DATA(c), k * sizeof(int));
                        if (!fds || *nfds + k > PROTO_MAX_FDS) {
                                close_fds(got_fds, k);
                                bad = true;
                                continue;
                        }
                        memcpy(fds + *nfds, got_fds, k * sizeof(int));
                        *nfds += k;
                }
                if (bad)
                        return -EBADMSG;
                got += (size_t) n;
        }
        return 0;
}

int proto_recv(int sock, size_t max_len, int64_t deadline_ns, struct proto_header *ret_header,
               uint8_t **ret_payload, int *ret_fds, size_t *ret_nfds) {
        struct proto_header h;
        int fds[PROTO_MAX_FDS];
        size_t nfds = 0;
        uint8_t *payload = NULL;
        int r = recv_all(sock, &h, sizeof(h), deadline_ns, ret_fds ? fds : NULL, &nfds);
        if (r < 0)
                goto fail;
        if (h.magic != PROTO_MAGIC || h.len > max_len || h.nfds != nfds) {
                r = -EBADMSG;
                goto fail;
        }
        payload = malloc(h.len ? h.len : 1);
        if (!payload) {
                r = -ENOMEM;
                goto fail;
        }
        r = recv_all(sock, payload, h.len, deadline_ns, NULL, NULL);
        if (r < 0)
                goto fail;
        *ret_header = h;
        *ret_payload = payload;
        if (ret_fds) {
                memcpy(ret_fds, fds, nfds * sizeof(int));
                *ret_nfds = nfds;
        }
        return 0;
fail:
        close_fds(fds, nfds);
        free(payload);
        return r;
}

/* A reader of hostile bytes: every take is bounds-checked, a failure sticks. */
struct cursor {
        const uint8_t *p;
        size_t left;
        bool bad;
};

static const uint8_t *take(struct cursor *c, size_t n) {
        if (c->bad || n > c->left) {
                c->bad = true;
                return NULL;
        }
        const uint8_t *p = c->p;
        c->p += n;
        c->left -= n;
        return p;
}

static uint64_t take_uint(struct cursor *c, size_t n) {
        const uint8_t *p = take(c, n);
        if (!p)
                return 0;
        uint64_t v = 0;
        switch (n) {
        case 1: v = *p; break;
        case 2: { uint16_t x; memcpy(&x, p, 2); v = x; break; }
        case 4: { uint32_t x; memcpy(&x, p, 4); v = x; break; }
        default: memcpy(&v, p, 8); break;
        }
        return v;
}

int proto_parse_request(const struct proto_header *h, const uint8_t *p, size_t len,
                        size_t nfds, struct proto_request *ret) {
        struct cursor c = { p, len, false };
        struct proto_request r = { .type = h->type };
        r.id = take_uint(&c, 8);
        switch (h->type) {
        case PROTO_OPEN:
                if (nfds != 1)
                        return -EBADMSG;
                break;
        case PROTO_ATTACH:
        case PROTO_ALT:
                if (nfds > PROTO_MAX_CANDIDATES)
                        return -EBADMSG;
                break;
        case PROTO_RESOLVE:
                r.n = (uint32_t) take_uint(&c, 4);
                if (take_uint(&c, 4) != 0 || nfds != 0 || r.n > PROTO_MAX_ADDRS)
                        return -EBADMSG;
                r.offsets = take(&c, (size_t) r.n * 8);
                break;
        default:
                return -EBADMSG;
        }
        if (c.bad || c.left != 0)
                return -EBADMSG;
        *ret = r;
        return 0;
}

uint64_t proto_offset_at(const struct proto_request *r, uint32_t i) {
        uint64_t v;
        memcpy(&v, r->offsets + (size_t) i * 8, 8);
        return v;
}

static void parse_status(struct cursor *c, struct proto_status *s) {
        uint32_t e = (uint32_t) take_uint(c, 4);
        s->error = 0;
        s->problem[0] = '\0';
        if (e == 0)
                return;
        /* An errno, not anything else a hostile helper might send. */
        if (e > 4095) {
                c->bad = true;
                return;
        }
        s->error = (int) e;
        size_t n = take_uint(c, 2);
        const char *p = n <= PROTO_MAX_PROBLEM ? (const char *) take(c, n) : NULL;
        if (!p || memchr(p, '\0', n)) {
                c->bad = true;
                return;
        }
        memcpy(s->problem, p, n);
        s->problem[n] = '\0';
}

bool proto_is_file_name(const char *name, size_t len) {
        if (len == 0 || len > PROTO_MAX_DEBUGLINK || memchr(name, '/', len) ||
            memchr(name, '\0', len))
                return false;
        return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

int proto_parse_open_reply(const uint8_t *p, size_t len, struct proto_open_reply *ret) {
        struct cursor c = { p, len, false };
        struct proto_open_reply r = { 0 };
        parse_status(&c, &r.status);
        if (!c.bad && r.status.error == 0) {
                r.build_id_len = take_uint(&c, 1);
                if (r.build_id_len > PROTO_MAX_BUILD_ID)
                        return -EBADMSG;
                const uint8_t *id = take(&c, r.build_id_len);
                if (id)
                        memcpy(r.build_id, id, r.build_id_len);
                size_t n = take_uint(&c, 2);
                if (n > PROTO_MAX_DEBUGLINK)
                        return -EBADMSG;
                const char *name = (const char *) take(&c, n);
                if (name && n > 0) {
                        if (!proto_is_file_name(name, n))
                                return -EBADMSG;
                        memcpy(r.debuglink, name, n);
                }
                r.crc = (uint32_t) take_uint(&c, 4);
                r.flags = (uint32_t) take_uint(&c, 4);
                if (r.flags & ~PROTO_NEEDS_DEBUG)
                        return -EBADMSG;
        }
        if (c.bad || c.left != 0)
                return -EBADMSG;
        *ret = r;
        return 0;
}

int proto_parse_attach_reply(const uint8_t *p, size_t len, size_t ncandidates,
                             struct proto_attach_reply *ret) {
        struct cursor c = { p, len, false };
        struct proto_attach_reply r = { .chosen = -1 };
        parse_status(&c, &r.status);
        if (!c.bad && r.status.error == 0) {
                int32_t chosen = (int32_t) (uint32_t) take_uint(&c, 4);
                r.rejected = (uint32_t) take_uint(&c, 4);
                r.flags = (uint32_t) take_uint(&c, 4);
                uint32_t all = ncandidates >= 32 ? UINT32_MAX : (1u << ncandidates) - 1;
                if (chosen < -1 || chosen >= (int32_t) ncandidates || (r.rejected & ~all) ||
                    (chosen >= 0 && (r.rejected & (1u << chosen))) || (r.flags & ~31u))
                        return -EBADMSG;
                r.chosen = chosen;
                if (r.flags & PROTO_NEEDS_ALT) {
                        r.alt_id_len = take_uint(&c, 1);
                        const uint8_t *id = take(&c, r.alt_id_len);
                        size_t n = take_uint(&c, 2);
                        const char *name = n <= PROTO_MAX_ALTLINK ? (const char *) take(&c, n)
                                                                  : NULL;
                        if (!id || !name || r.alt_id_len == 0 ||
                            r.alt_id_len > PROTO_MAX_BUILD_ID || memchr(name, '\0', n))
                                return -EBADMSG;
                        memcpy(r.alt_id, id, r.alt_id_len);
                        memcpy(r.altname, name, n);
                        r.altname[n] = '\0';
                }
        }
        if (c.bad || c.left != 0)
                return -EBADMSG;
        *ret = r;
        return 0;
}

void proto_resolve_reply_free(struct proto_resolve_reply *r) {
        if (!r)
                return;
        free(r->nlines);
        free(r->lines);
        free(r->string_at);
        free(r->string_len);
        *r = (struct proto_resolve_reply){ 0 };
}

static bool index_ok(uint32_t idx, uint32_t nstrings) {
        return idx <= nstrings; /* 0 is none, else index + 1 */
}

int proto_parse_resolve_reply(const uint8_t *p, size_t len, uint32_t expect_n,
                              struct proto_resolve_reply *ret) {
        struct cursor c = { p, len, false };
        struct proto_resolve_reply r = { 0 };
        int err = -EBADMSG;
        parse_status(&c, &r.status);
        if (c.bad)
                goto fail;
        if (r.status.error != 0)
                goto done;
        r.n = (uint32_t) take_uint(&c, 4);
        r.nstrings = (uint32_t) take_uint(&c, 4);
        /* Each string costs at least its 4-byte length: more cannot fit in len. */
        if (c.bad || r.n != expect_n || r.nstrings > c.left / 4)
                goto fail;
        r.string_at = calloc(r.nstrings ? r.nstrings : 1, sizeof(*r.string_at));
        r.string_len = calloc(r.nstrings ? r.nstrings : 1, sizeof(*r.string_len));
        r.nlines = calloc(r.n ? r.n : 1, 1);
        if (!r.string_at || !r.string_len || !r.nlines) {
                err = -ENOMEM;
                goto fail;
        }
        r.strings = c.p;
        for (uint32_t i = 0; i < r.nstrings; i++) {
                uint32_t n = (uint32_t) take_uint(&c, 4);
                const char *s = (const char *) take(&c, n);
                if (!s || n == 0 || n > PROTO_MAX_STRING || memchr(s, '\0', n))
                        goto fail;
                r.string_at[i] = s;
                r.string_len[i] = n;
        }
        /* Each line is 20 bytes: a count above what is left is a lie. */
        size_t total = 0, cap = c.left / 20;
        r.lines = calloc(cap ? cap : 1, sizeof(*r.lines));
        if (!r.lines) {
                err = -ENOMEM;
                goto fail;
        }
        for (uint32_t i = 0; i < r.n; i++) {
                uint8_t k = (uint8_t) take_uint(&c, 1);
                if (c.bad || k > PROTO_MAX_LINES || total + k > cap)
                        goto fail;
                r.nlines[i] = k;
                for (uint8_t j = 0; j < k; j++) {
                        struct proto_line *l = &r.lines[total++];
                        l->function = (uint32_t) take_uint(&c, 4);
                        l->system_name = (uint32_t) take_uint(&c, 4);
                        l->file = (uint32_t) take_uint(&c, 4);
                        l->line = (int32_t) (uint32_t) take_uint(&c, 4);
                        l->start_line = (int32_t) (uint32_t) take_uint(&c, 4);
                        if (!index_ok(l->function, r.nstrings) ||
                            !index_ok(l->system_name, r.nstrings) ||
                            !index_ok(l->file, r.nstrings) || l->line < 0 || l->start_line < 0)
                                goto fail;
                }
        }
done:
        if (c.bad || c.left != 0)
                goto fail;
        *ret = r;
        return 0;
fail:
        proto_resolve_reply_free(&r);
        return err;
}
