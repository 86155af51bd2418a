/* The helper processes: start (posix_spawn of the program opened at start-up), bounded
 * waits for a free one and for every reply, kill and reap on any failure. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HELPER_NAME "memprof-symbolizer"

struct pool {
        pthread_mutex_t lock;
        pthread_cond_t freed; /* a helper was released */
        int exe_fd;
        struct helper helpers[POOL_SIZE];
        uint64_t next_gen;
        int64_t starts[POOL_RESTARTS]; /* ring of recent start times */
        size_t nstarts;
};

static char default_exe[4096];
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void find_default_exe(void) {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        const char *root = SYM_BUILD_ROOT "/";
        if (n > 0) {
                exe[n] = '\0';
                if (strncmp(exe, root, strlen(root)) == 0) {
                        snprintf(default_exe, sizeof(default_exe), "%s", SYM_HELPER_BUILD);
                        return;
                }
        }
        snprintf(default_exe, sizeof(default_exe), "%s", SYM_HELPER_INSTALLED);
}

const char *pool_default_exe(void) {
        pthread_once(&default_once, find_default_exe);
        return default_exe;
}

int pool_new(const char *exe, struct pool **ret) {
        struct pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        int fd = open(exe, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(p);
                return r;
        }
        /* Far from 3 and 4, where the child wants the socket and the program. */
        p->exe_fd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
        close(fd);
        if (p->exe_fd < 0) {
                free(p);
                return -EMFILE;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->freed, &ca);
        pthread_condattr_destroy(&ca);
        for (int i = 0; i < POOL_SIZE; i++)
                p->helpers[i] = (struct helper){ .slot = i, .sock = -1 };
        *ret = p;
        return 0;
}

/* Kills, reaps and forgets the helper; returns its wait status. */
static int stop(struct helper *h) {
        int status = 0;
        if (h->pid > 0) {
                kill(h->pid, SIGKILL);
                while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
                        ;
        }
        if (h->sock >= 0)
                close(h->sock);
        h->pid = 0;
        h->sock = -1;
        return status;
}

void pool_free(struct pool *p) {
        if (!p)
                return;
        for (int i = 0; i < POOL_SIZE; i++)
                stop(&p->helpers[i]);
        close(p->exe_fd);
        pthread_cond_destroy(&p->freed);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

/* Whether one more start fits the restart budget; records it.  Under the lock. */
static bool may_start(struct pool *p, int64_t now) {
        size_t i = p->nstarts % POOL_RESTARTS;
        if (p->nstarts >= POOL_RESTARTS && now - p->starts[i] < POOL_RESTART_WINDOW_NS)
                return false;
        p->starts[i] = now;
        p->nstarts++;
        return true;
}

static int start(struct pool *p, struct helper *h) {
        int sv[2], child = -1, r;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
        close(sv[1]);
        if (child < 0) {
                close(sv[0]);
                return -EMFILE;
        }
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, child, 3);
        posix_spawn_file_actions_adddup2(&fa, p->exe_fd, 4);
        posix_spawn_file_actions_addclosefrom_np(&fa, 5);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        /* The program as opened at start-up, whatever its path names now. */
        char *argv[] = { HELPER_NAME, NULL }, *envp[] = { NULL };
        pid_t pid;
        r = -posix_spawn(&pid, "/proc/self/fd/4", &fa, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(child);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        h->pid = pid;
        h->sock = sv[0];
        return 0;
}

int pool_acquire(struct pool *p, int64_t deadline_ns, struct helper **ret) {
        struct timespec until = { deadline_ns / 1000000000, deadline_ns % 1000000000 };
        struct helper *h = NULL;
        int r = 0;
        pthread_mutex_lock(&p->lock);
        for (;;) {
                /* A running helper first: it may have the binaries loaded already. */
                for (int i = 0; i < POOL_SIZE && !h; i++)
                        if (!p->helpers[i].busy && p->helpers[i].pid > 0)
                                h = &p->helpers[i];
                for (int i = 0; i < POOL_SIZE && !h; i++)
                        if (!p->helpers[i].busy)
                                h = &p->helpers[i];
                if (h)
                        break;
                r = pthread_cond_timedwait(&p->freed, &p->lock, &until);
                if (r == ETIMEDOUT) {
                        pthread_mutex_unlock(&p->lock);
                        return -ETIMEDOUT;
                }
        }
        if (h->pid == 0) {
                if (!may_start(p, proto_now_ns())) {
                        pthread_mutex_unlock(&p->lock);
                        return -EAGAIN;
                }
                h->gen = ++p->next_gen;
        }
        h->busy = true;
        pthread_mutex_unlock(&p->lock);
        if (h->pid == 0 && (r = start(p, h)) < 0) {
                pool_release(p, h);
                return r;
        }
        *ret = h;
        return 0;
}

void pool_release(struct pool *p, struct helper *h) {
        pthread_mutex_lock(&p->lock);
        h->busy = false;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
}

int pool_call(struct pool *p, struct helper *h, enum proto_type type, const void *payload,
              size_t len, const int *fds, size_t nfds, int64_t deadline_ns,
              uint8_t **ret_reply, size_t *ret_len, int *ret_signal) {
        struct proto_header hd;
        uint8_t *reply = NULL;
        *ret_signal = 0;
        if (h->pid == 0)
                return -EPIPE;
        int r = proto_send(h->sock, type, payload, len, fds, nfds, deadline_ns);
        if (r == 0)
                r = proto_recv(h->sock, PROTO_MAX_REPLY, deadline_ns, &hd, &reply, NULL, NULL);
        if (r == 0 && (hd.type != (uint32_t) type || hd.nfds != 0)) {
                free(reply);
                r = -EBADMSG;
        }
        if (r == 0) {
                *ret_reply = reply;
                *ret_len = hd.len;
                return 0;
        }
        /* Whatever went wrong, the stream is out of step: this helper is done. */
        int status = stop(h);
        if (r == -EPIPE && WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
                *ret_signal = WTERMSIG(status);
                return -ECHILD;
        }
        /* An exit (it could not confine itself, say) is not the file's fault. */
        return r == -ETIMEDOUT || r == -EBADMSG ? r : -EPIPE;
}
