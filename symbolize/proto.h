/* The symbolizer protocol between memprofd and its unprivileged helper: length-prefixed
 * binary messages over a socketpair, file descriptors passed with SCM_RIGHTS.  Both
 * sides parse what the other sent as hostile bytes: every count and length is bounded
 * here and checked before use.
 *
 * A message is a header, then `len` payload bytes; a request's fds ride on its first
 * byte.  Integers are in the host's byte order (both ends are one machine).
 *
 *   OPEN     fds: the mapped file.      payload: u64 id
 *            reply: the file's build id, .gnu_debuglink name and CRC, whether its own
 *            DWARF is missing (so that the daemon looks for a separate debug file)
 *   ATTACH   fds: debug candidates, in order of preference.   payload: u64 id
 *            reply: which candidate matches (build id, or a non-zero CRC), which were
 *            looked at and rejected, and what the binary offers (functions, lines...)
 *            If the DWARF refers to a dwz alternate file (.gnu_debugaltlink), the reply
 *            says so, with that file's name and build id, and the binary waits for
 *   ALT      fds: alternate file candidates.   payload: u64 id
 *            reply: as ATTACH's, for the candidates of the alternate file
 *   RESOLVE  payload: u64 id, u32 n, u32 0, n x u64 file offsets
 *            reply: u32 n, u32 nstrings, nstrings x (u32 len, bytes), then per offset
 *            u8 nlines and nlines x (u32 function, u32 system_name, u32 file: a string
 *            index + 1, or 0 for none; i32 line, i32 start_line)
 *
 * Every reply starts with an i32 status: 0, or a positive errno followed by a u16-long
 * explanation (e.g. "section .debug_str inflates to 536870912 bytes"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC 0x3153504du /* "MPS1" */

enum proto_type {
        PROTO_OPEN = 1,
        PROTO_ATTACH = 2,
        PROTO_RESOLVE = 3,
        PROTO_ALT = 4,
};

struct proto_header {
        uint32_t magic;
        uint32_t type;
        uint32_t len;  /* payload bytes */
        uint32_t nfds; /* fds sent with the header (requests only) */
};

/* Debug file candidates of one binary: the daemon's list is at most this long. */
#define PROTO_MAX_CANDIDATES 8
#define PROTO_MAX_FDS PROTO_MAX_CANDIDATES
/* Addresses per RESOLVE; a file's worth of addresses is sent in several. */
#define PROTO_MAX_ADDRS 4096
#define PROTO_MAX_REQUEST (16 + PROTO_MAX_ADDRS * 8)
/* A reply of PROTO_MAX_ADDRS addresses, each with SYM_MAX_INLINE lines of distinct
 * long names, would not fit: the helper leaves later addresses unresolved instead. */
#define PROTO_MAX_REPLY (16u << 20)
#define PROTO_MAX_STRING 4096 /* longer names are cut by the helper */
#define PROTO_MAX_BUILD_ID 64
#define PROTO_MAX_DEBUGLINK 255
#define PROTO_MAX_PROBLEM 512
#define PROTO_MAX_LINES 8 /* == SYM_MAX_INLINE */

/* OPEN reply flags */
#define PROTO_NEEDS_DEBUG 1u /* no DWARF of its own: worth looking for a debug file */

/* ATTACH reply flags */
#define PROTO_HAS_FUNCTIONS 1u
#define PROTO_HAS_FILENAMES 2u
#define PROTO_HAS_LINE_NUMBERS 4u
#define PROTO_HAS_INLINE_FRAMES 8u
#define PROTO_NEEDS_ALT 16u /* then: u8 build id length, build id, u16 length, name */
#define PROTO_MAX_ALTLINK 1024

struct proto_request {
        enum proto_type type;
        uint64_t id;
        uint32_t n;               /* RESOLVE */
        const uint8_t *offsets;   /* RESOLVE: n unaligned u64s inside the payload */
};

/* A reply's status: 0, or an errno and the helper's explanation (copied, "" if none). */
struct proto_status {
        int error;
        char problem[PROTO_MAX_PROBLEM + 1];
};

struct proto_open_reply {
        struct proto_status status;
        uint8_t build_id[PROTO_MAX_BUILD_ID];
        size_t build_id_len;
        char debuglink[PROTO_MAX_DEBUGLINK + 1]; /* "" if none; checked to be a file name */
        uint32_t crc;
        uint32_t flags;
};

struct proto_attach_reply {
        struct proto_status status;
        int chosen;        /* index of the matching candidate, -1 for none */
        uint32_t rejected; /* bit i: candidate i was examined and does not match */
        uint32_t flags;
        uint8_t alt_id[PROTO_MAX_BUILD_ID]; /* with PROTO_NEEDS_ALT */
        size_t alt_id_len;
        char altname[PROTO_MAX_ALTLINK + 1];
};

struct proto_line {
        uint32_t function, system_name, file; /* string index + 1; 0 = none */
        int32_t line, start_line;
};

/* A RESOLVE reply, pointing into the payload it was parsed from. */
struct proto_resolve_reply {
        struct proto_status status;
        uint32_t n;
        uint32_t nstrings;
        const uint8_t *strings; /* nstrings x (u32 len, bytes), checked */
        uint8_t *nlines;        /* n counts, malloc'd */
        struct proto_line *lines; /* sum of nlines, malloc'd, indices checked */
        const char **string_at;   /* nstrings pointers, malloc'd */
        uint32_t *string_len;
};

/* A growable message being written. */
struct proto_buf {
        uint8_t *data;
        size_t len, cap, max;
        bool failed; /* an append did not fit or could not allocate */
};

void proto_buf_init(struct proto_buf *b, size_t max);
void proto_buf_free(struct proto_buf *b);
void proto_put(struct proto_buf *b, const void *p, size_t n);
void proto_put_u8(struct proto_buf *b, uint8_t v);
void proto_put_u16(struct proto_buf *b, uint16_t v);
void proto_put_u32(struct proto_buf *b, uint32_t v);
void proto_put_u64(struct proto_buf *b, uint64_t v);
/* A reply's status word and, for an error, its explanation. */
void proto_put_status(struct proto_buf *b, int error, const char *problem);

/* Sending and receiving whole messages.  deadline_ns (CLOCK_MONOTONIC) bounds the wait,
 * 0 for none.  proto_recv accepts fds only if ret_fds is given (up to PROTO_MAX_FDS,
 * O_CLOEXEC), and closes any it did not ask for; a payload longer than max_len is
 * refused (-EBADMSG).  -ETIMEDOUT past the deadline, -EPIPE when the peer is gone. */
int proto_send(int sock, enum proto_type type, const void *payload, size_t len,
               const int *fds, size_t nfds, int64_t deadline_ns);
int proto_recv(int sock, size_t max_len, int64_t deadline_ns, struct proto_header *ret_header,
               uint8_t **ret_payload, int *ret_fds, size_t *ret_nfds);

int64_t proto_now_ns(void);

/* The helper's reading of a request (header already checked for magic and length). */
int proto_parse_request(const struct proto_header *h, const uint8_t *p, size_t len,
                        size_t nfds, struct proto_request *ret);
uint64_t proto_offset_at(const struct proto_request *r, uint32_t i);

/* The daemon's readings of replies.  -EBADMSG for anything malformed. */
int proto_parse_open_reply(const uint8_t *p, size_t len, struct proto_open_reply *ret);
int proto_parse_attach_reply(const uint8_t *p, size_t len, size_t ncandidates,
                             struct proto_attach_reply *ret);
int proto_parse_resolve_reply(const uint8_t *p, size_t len, uint32_t expect_n,
                              struct proto_resolve_reply *ret);
void proto_resolve_reply_free(struct proto_resolve_reply *r);

/* Whether name may be joined to a directory: one path component, not "." or "..". */
bool proto_is_file_name(const char *name, size_t len);
