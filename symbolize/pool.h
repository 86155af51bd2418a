/* The daemon's helper processes (memprof-symbolizer): started on first need, restarted
 * after they die at a bounded rate, one request at a time each, every wait bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* Two: the machines this runs on have few cores, and a reader waits for a free helper
 * only while another read loads new binaries (warm reads need none). */
#define POOL_SIZE 2
/* One request, and one whole prefetch: past these the helper is killed and the read
 * fails with EIO.  A first look at a large binary takes about a second. */
#define POOL_REQUEST_NS (10ll * 1000000000)
#define POOL_PREFETCH_NS (30ll * 1000000000)
/* Restarts allowed per POOL_RESTART_WINDOW_NS; past that, reads needing a helper fail
 * at once instead of feeding a crash loop. */
#define POOL_RESTARTS 10
#define POOL_RESTART_WINDOW_NS (10ll * 1000000000)

struct pool;

struct helper {
        int slot;
        pid_t pid;    /* 0: not running */
        int sock;
        uint64_t gen; /* changes with every start: what a helper has loaded dies with it */
        bool busy;
};

/* exe: the helper program's path, opened now and executed through that fd later. */
int pool_new(const char *exe, struct pool **ret);
/* Kills and reaps the helpers.  No request may be in progress. */
void pool_free(struct pool *p);

/* A free helper, started if need be.  -ETIMEDOUT if none frees up by the deadline,
 * -EAGAIN if helpers have been restarting too often. */
int pool_acquire(struct pool *p, int64_t deadline_ns, struct helper **ret);
void pool_release(struct pool *p, struct helper *h);

/* One request and its reply (malloc'd payload).  On any failure the helper is killed
 * and reaped (the caller still releases it); the return is -ETIMEDOUT (a hang),
 * -ECHILD (a crash: *ret_signal is the signal), -EBADMSG (a reply that breaks the
 * protocol) or -EPIPE (killed from outside, or it exited). */
int pool_call(struct pool *p, struct helper *h, enum proto_type type, const void *payload,
              size_t len, const int *fds, size_t nfds, int64_t deadline_ns,
              uint8_t **ret_reply, size_t *ret_len, int *ret_signal);

/* The helper program beside the daemon in a build tree, else where meson installs it. */
const char *pool_default_exe(void);
