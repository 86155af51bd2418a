/* The helper's confinement: who it runs as and what it may ask of the kernel. */
#pragma once

/* The helper's user and group when started as root.  A uid of its own rather than
 * `nobody`: nobody is shared with other services (NFS's squashed users, some daemons),
 * whose processes could signal the helper; this one owns no file and runs nothing else.
 * It lies above useradd's UID_MAX (60000) and systemd's dynamic users (61184-65519), and
 * past where /etc/subuid ranges are handed out (100000 + 65536 per user: the 32,766th
 * user would reach it).  A build can pick another with -Dhelper_uid. */
#ifndef SANDBOX_UID
#define SANDBOX_UID 2147483646u
#endif

/* Address space bound: libdw maps the files it reads (at most 768 MiB of them, see
 * serve.c) and inflates compressed sections (at most 512 MiB per file, elfcheck.h). */
#define SANDBOX_MAX_AS (2ull << 30)
/* Received fds: a request brings at most PROTO_MAX_FDS, a cached binary keeps two. */
#define SANDBOX_MAX_FILES 128

/* Drops every privilege (ids, groups, capabilities including the bounding set), sets
 * no_new_privs, non-dumpable, resource limits, and installs the seccomp filter.  keep_fd
 * (the socket) and stderr stay open; every other fd is closed.  Irreversible. */
int sandbox_enter(int keep_fd);
