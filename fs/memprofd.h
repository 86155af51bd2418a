/* Private interfaces between the parts of memprofd: tree, files, snapshots, access. */
#pragma once

#include <fuse_lowlevel.h>
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
};

/* log.c: one line on stderr per failure, with its cause. */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tree.c: what an inode number stands for.  Inodes are computed, not stored: a
 * process's inodes carry its pid, file and start time, so an inode of a process whose
 * PID was since reused no longer matches the process and is ENOENT. */
enum node_kind { NODE_ROOT, NODE_PID, NODE_FILE };

struct node {
        enum node_kind kind;
        pid_t pid;
        uint64_t start; /* start time, truncated to the bits an inode can hold */
        int file;       /* index into the file table for NODE_FILE */
};

fuse_ino_t tree_ino(const struct node *n);
int tree_node(fuse_ino_t ino, struct node *ret);
int tree_parse_pid(const char *name, pid_t *ret);

/* The live process a node refers to: its status, checked against the node's start time
 * (-ENOENT if it exited or its PID now belongs to someone else). */
struct target {
        pid_t pid;
        uint64_t start;
        struct proc_status st;
        fuse_req_t req; /* the request it was resolved for: whose files to open (or NULL) */
};
int tree_target(pid_t pid, struct target *ret);
int tree_target_of(const struct node *n, struct target *ret);
uint64_t tree_start_bits(uint64_t start_time); /* what of a start time an inode keeps */

/* listing.c: the processes the root lists, as PID nodes (*ret is malloc'd). */
int listing_root(struct node **ret, size_t *ret_n);
bool tree_still_running(const struct target *t);

/* files.c: the table of files in PID/. */
struct fs_file {
        const char *name;
        bool needs_shim; /* exists only for processes that carry libmemprof.so */
        int (*generate)(struct memprofd *d, const struct target *t, char **ret_buf,
                        size_t *ret_len);
};

size_t files_count(void);
const struct fs_file *files_get(int index);
int files_find(const char *name);
/* Whether the process maps a shim segment, so that its needs_shim files exist. */
bool files_shim_present(pid_t pid);

/* generate.c: file contents.  Return 0, -ENOENT (process or file gone), or the errno
 * the reader should see after a genuine failure, which they have logged. */
int gen_memstats(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len);
int gen_heap(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len);
int gen_allocs(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len);
int gen_heap_txt(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len);
int gen_threads(struct memprofd *d, const struct target *t, char **ret_buf, size_t *ret_len);
int gen_threads_txt(struct memprofd *d, const struct target *t, char **ret_buf,
                    size_t *ret_len);

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
        struct open_link open;        /* in the cache's list of open files, while opens > 0 */
        struct snapshot *next_closed; /* in the cache's list of recently closed files */
        int64_t closed_mono_ns;
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
int snap_get(struct memprofd *d, const struct snap_key *key, const struct target *t,
             enum snap_use use, struct snapshot **ret);
void snap_unref(struct snapshot *s);
/* An open file now holds s (and the caller's reference): until snap_close, or until the
 * cache is freed if the kernel never releases the file. */
void snap_open(struct memprofd *d, struct snapshot *s);
/* The open file holding s was released: its reference is dropped after a grace period,
 * or at once if another open file still holds s. */
void snap_close(struct memprofd *d, struct snapshot *s);

/* access.c: may the caller of req inspect target t? 0 or -EACCES. */
int access_check(fuse_req_t req, const struct target *t);

/* attr.c: struct stat for each kind of node. */
void attr_root(struct stat *st);
void attr_pid(const struct target *t, struct stat *st);
void attr_file(const struct node *n, const struct snapshot *s, struct stat *st);

/* dirlist.c: a directory listing taken at opendir, served by offset. */
struct dirlist;
int dirlist_root(struct dirlist **ret);
int dirlist_pid(const struct target *t, struct dirlist **ret);
void dirlist_free(struct dirlist *l);
/* The listings open directories hold: a listing is put on the set when its directory is
 * opened and freed when it is released; freeing the set frees those never released. */
int dirlists_new(struct dirlists **ret);
void dirlists_free(struct dirlists *s);
void dirlist_open(struct dirlists *s, struct dirlist *l);
void dirlist_close(struct dirlists *s, struct dirlist *l);
/* Fills buf (size bytes) from entry off on; returns the bytes used. */
size_t dirlist_fill(fuse_req_t req, const struct dirlist *l, off_t off, char *buf, size_t size);

/* stale.c: a mount point left behind by a crashed daemon is lazily unmounted. */
int stale_mount_clear(const char *mountpoint);

extern const struct fuse_lowlevel_ops memprofd_ops;
