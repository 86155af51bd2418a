/* Private interfaces between the parts of memprofd: tree, files, snapshots, access. */
#pragma once

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "openlist.h"
#include "procfs.h"

struct symbolizer;
struct snap_cache;
struct dirlists;

/* Daemon-wide state, reached from every request through fuse_req_userdata(). */
struct memprofd {
        struct symbolizer *sym; /* NULL if it could not be created: symbol files fail */
        struct snap_cache *cache;
        struct dirlists *dirs; /* listings of open directories */
        char shim_path[4096];  /* the libmemprof.so memstats tells users to preload */
};

/* access.c: who made a request.  uid, gid and tid come with the request; the rest is
 * read from /proc by caller_probe() when a decision needs it. */
#define CALLER_MAX_GROUPS 256

struct caller {
        pid_t tid;       /* the calling thread in our PID namespace; 0 if not visible */
        uid_t uid, gid;  /* its filesystem ids, which the kernel checks /proc files by */
        bool probed;     /* tgid and cap_ptrace below are read */
        pid_t tgid;      /* its process; 0 if unknown */
        bool cap_ptrace; /* CAP_SYS_PTRACE in memprofd's user namespace */
        /* Supplementary groups, read by caller_groups() before a file is generated
         * (files are opened as the caller); the first CALLER_MAX_GROUPS of them. */
        size_t ngroups;
        gid_t groups[CALLER_MAX_GROUPS];
};

void caller_of(fuse_req_t req, struct caller *ret);
void caller_probe(struct caller *c);
/* Reads the caller's supplementary groups while req is still unanswered. */
void caller_groups(fuse_req_t req, struct caller *c);

/* log.c: one line on stderr per failure, with its cause. */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tree.c: what an inode number stands for.  Inodes are computed, not stored: a
 * process's inodes carry its pid, file and start time, so an inode of a process whose
 * PID was since reused no longer matches the process and is ENOENT.  Files at the root
 * (metrics.prom) have small fixed inodes of their own. */
enum node_kind { NODE_ROOT, NODE_PID, NODE_FILE, NODE_ROOT_FILE };

struct node {
        enum node_kind kind;
        pid_t pid;      /* 0 for the root and its files */
        uint64_t start; /* start time, truncated to the bits an inode can hold */
        int file;       /* index into the PID dir's (NODE_FILE) or the root's file table */
};

/* Bits of an inode number that say which file of a PID directory it is (tree.c). */
#define TREE_FILE_BITS 4

fuse_ino_t tree_ino(const struct node *n);
int tree_node(fuse_ino_t ino, struct node *ret);
int tree_parse_pid(const char *name, pid_t *ret);

/* The live process a node refers to: its status, checked against the node's start time
 * (-ENOENT if it exited or its PID now belongs to someone else). */
struct target {
        pid_t pid;
        uint64_t start;
        struct proc_status st;
};
int tree_target(pid_t pid, struct target *ret);
int tree_target_of(const struct node *n, struct target *ret);
uint64_t tree_start_bits(uint64_t start_time); /* what of a start time an inode keeps */

/* listing.c: the processes the root lists, as PID nodes (*ret is malloc'd). */
int listing_root(struct node **ret, size_t *ret_n);
bool tree_still_running(const struct target *t);

/* What makes a file's contents: 0, -ENOENT (process or file gone), or the errno the
 * reader should see after a genuine failure, which it has logged. */
typedef int (*generate_fn)(struct memprofd *d, struct caller *c, const struct target *t,
                           char **ret_buf, size_t *ret_len);

/* files.c: the tables of files in PID/ and at the root.  A root file is generated for
 * the caller alone (its contents depend on what the caller may see) and gets the
 * target of root_target(): pid 0, owned by root. */
struct fs_file {
        const char *name;
        bool needs_shim; /* exists only for processes that carry libmemprof.so (or Go) */
        bool needs_go;   /* exists only for Go processes */
        generate_fn generate;
};

size_t files_count(void);
const struct fs_file *files_get(int index);
int files_find(const char *name);
#define ROOT_FILES_MAX 64 /* inodes tree.c keeps for them */
size_t root_files_count(void);
const struct fs_file *root_files_get(int index);
int root_files_find(const char *name);
void root_target(struct target *ret);
/* Whether the process maps a shim segment or is Go (its needs_shim files exist), and
 * whether it is Go (its needs_go files exist).  Opens files the target names (its
 * executable, its mappings), so it runs as a job: a stall there counts as neither. */
void files_present(struct memprofd *d, const struct caller *c, const struct target *t,
                   bool *ret_heap, bool *ret_go);

/* generate.c: file contents.  Return 0, -ENOENT (process or file gone), or the errno
 * the reader should see after a genuine failure, which they have logged. */
int gen_memstats(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                 size_t *ret_len);
int gen_heap(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
             size_t *ret_len);
int gen_allocs(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
               size_t *ret_len);
int gen_heap_txt(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                 size_t *ret_len);
int gen_threads(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                size_t *ret_len);
int gen_threads_txt(struct memprofd *d, struct caller *c, const struct target *t,
                    char **ret_buf, size_t *ret_len);
int gen_goroutines(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                   size_t *ret_len);
int gen_goroutines_txt(struct memprofd *d, struct caller *c, const struct target *t,
                       char **ret_buf, size_t *ret_len);
/* metrics.c: metrics.prom, the figures of every profiled process the caller may see. */
int gen_metrics(struct memprofd *d, struct caller *c, const struct target *t, char **ret_buf,
                size_t *ret_len);

/* jobs.c: a file's contents generated in a thread of its own, waited for at most
 * JOB_TIMEOUT_S: no target, however it stalls /proc or ptrace, holds a FUSE worker.
 * Jobs still running after their timeout count against their caller's uid; beyond a
 * few (or JOBS_LIMIT jobs daemon-wide), new requests fail with EAGAIN at once. */
#define JOB_TIMEOUT_S 30
#define JOBS_LIMIT 256 /* generations at once, daemon-wide */
int job_generate(struct memprofd *d, const struct fs_file *f, const struct caller *c,
                 const struct target *t, char **ret_buf, size_t *ret_len);
/* The same for any work on a target; what names it in log lines. */
int job_run(struct memprofd *d, const char *what, generate_fn fn, const struct caller *c,
            const struct target *t, char **ret_buf, size_t *ret_len);
/* A condition variable whose timed waits count on CLOCK_MONOTONIC. */
void cond_init_monotonic(pthread_cond_t *c);
/* Waits up to timeout_s for jobs given up on to end; whether none runs any more. */
bool jobs_drain(int timeout_s);

/* snapshot.c: generated contents, shared by reference between the cache and open files. */
struct snapshot {
        atomic_int refs;
        atomic_int opens;     /* open files holding it now */
        atomic_bool consumed; /* opened at least once: the next open wants a new one */
        int64_t born_mono_ns;
        int64_t born_real_ns;
        uid_t uid; /* owner of the process when generated: the file's owner */
        gid_t gid;
        size_t len;
        char *buf;
        struct open_link open; /* in the cache's list of open files, while opens > 0 */
        struct snap_budget *budget; /* charged to, for len bytes */
        uid_t charged_uid;
};

enum snap_use {
        SNAP_LOOKUP, /* lookup and open: a recent snapshot nobody has opened yet */
        SNAP_STAT,   /* getattr: that, or one an open file holds */
};

/* A snapshot is only handed between requests of one caller (thread): tar's lstat and
 * open agree, while a `cat` after someone else's `ls -l` gets a fresh one. */
struct snap_key {
        pid_t pid;
        uint64_t start;
        int file;
        uid_t uid;
        pid_t caller;
};

int snap_cache_new(struct snap_cache **ret);
void snap_cache_free(struct snap_cache *c);
/* A reference to the cached snapshot for key if it is fit for use, else -ENOENT. */
int snap_find(struct memprofd *d, const struct snap_key *key, enum snap_use use,
              struct snapshot **ret);
/* A reference to the snapshot for key: cached if fit for use, else generated. */
int snap_get(struct memprofd *d, const struct snap_key *key, const struct caller *c,
             const struct target *t, enum snap_use use, struct snapshot **ret);
void snap_ref(struct snapshot *s);
void snap_unref(struct snapshot *s);
/* An open file now holds s (and the caller's reference): until snap_close, or until the
 * cache is freed if the kernel never releases the file. */
void snap_open(struct memprofd *d, struct snapshot *s);
/* The open file holding s was released: its reference is dropped at once, and the
 * cache's too when no other open file holds s; the bytes are freed with the last. */
void snap_close(struct memprofd *d, struct snapshot *s);

/* budget.c: the memory snapshots hold, charged to the caller's uid (snapshot.c).  The
 * bounds: total; per uid and all uids together, for uids other than root. */
struct snap_budget;
struct snap_limits {
        size_t total, per_uid, users;
};
struct snap_usage {
        struct snap_limits lim; /* per_uid: the one that applies to the uid asking */
        size_t uid, total, users; /* held now by the uid asking, by all, by non-root */
};
int budget_new(struct snap_budget **ret);
void budget_free(struct snap_budget *b);
/* Charges bytes to uid: 0, or -ENOMEM if that would pass a bound.  *usage (may be
 * NULL) is filled in either way, for a log line. */
int budget_charge(struct snap_budget *b, uid_t uid, size_t bytes, struct snap_usage *usage);
void budget_release(struct snap_budget *b, uid_t uid, size_t bytes);

/* access.c: may caller c inspect target t? 0 or -EACCES. */
int access_check(struct caller *c, const struct target *t);
/* The same, for the process as it is now: -ENOENT if t's PID has another process now,
 * -EACCES if it changed credentials (exec of a setuid program, setuid()) since. */
int access_recheck(struct caller *c, const struct target *t);

/* attr.c: struct stat for each kind of node. */
void attr_root(struct stat *st);
void attr_pid(const struct target *t, struct stat *st);
void attr_file(const struct node *n, const struct snapshot *s, struct stat *st);

/* dirlist.c: a directory listing taken at opendir, served by offset. */
struct dirlist;
int dirlist_root(struct dirlist **ret);
int dirlist_pid(struct memprofd *d, const struct caller *c, const struct target *t,
                struct dirlist **ret);
void dirlist_free(struct dirlist *l);
/* The listings open directories hold: a listing is put on the set when its directory is
 * opened and freed when it is released; freeing the set frees those never released. */
int dirlists_new(struct dirlists **ret);
void dirlists_free(struct dirlists *s);
void dirlist_open(struct dirlists *s, struct dirlist *l);
void dirlist_close(struct dirlists *s, struct dirlist *l);
/* Fills buf (size bytes) from entry off on; returns the bytes used. */
size_t dirlist_fill(fuse_req_t req, const struct dirlist *l, off_t off, char *buf, size_t size);

/* profiled.c: which of the listed processes memprof profiles, as PROFILED_* bits per
 * node (ret_kinds has n places); remembered per process image between calls. */
#define PROFILED_SHIM 1u /* maps a shim segment of its own */
#define PROFILED_GO 2u   /* runs a Go executable */
int profiled_classify(const struct node *nodes, size_t n, unsigned *ret_kinds);
/* A read found no segment where one was: look again when next due, not every time. */
void profiled_shim_gone(pid_t pid, uint64_t start);

/* health.c: collection errors by kind since the daemon started, for metrics.prom. */
enum health_kind {
        HEALTH_SEGMENT_CORRUPT, /* a shim segment failed validation */
        HEALTH_SEGMENT_REFUSED, /* a mapping named like a segment was not the process's */
        HEALTH_SEGMENT_READ,    /* a segment could not be found or read (I/O) */
        HEALTH_GO_RUNTIME,      /* a Go runtime's memory could not be read */
        HEALTH_TRACED,          /* threads: the process is traced by someone else */
        HEALTH_OUT_OF_MEMORY,
        HEALTH_TOO_BIG, /* a file would pass its bound */
        HEALTH_TIMEOUT, /* a generation overran JOB_TIMEOUT_S */
        HEALTH_IO,      /* any other collection failure */
        HEALTH_KINDS
};
void health_count(enum health_kind k);
/* The kind of failure a collector's -errno stands for (see generate.c's failed()). */
void health_count_errno(int r);
uint64_t health_errors(enum health_kind k);
const char *health_kind_name(enum health_kind k);
/* Whether a failure of this kind may be logged now: once a minute per kind. */
bool health_may_log(enum health_kind k);

/* stale.c: a mount point left behind by a crashed daemon is lazily unmounted. */
int stale_mount_clear(const char *mountpoint);

/* mounted.c: -EBUSY (logged) when a live memprof is already mounted on mountpoint. */
int mount_refuse_live(const char *mountpoint);

extern const struct fuse_lowlevel_ops memprofd_ops;
