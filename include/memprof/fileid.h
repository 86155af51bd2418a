/* A file's identity as the daemon's own fstat gives it: the key of every cache of what a
 * target's files hold, never a value the file itself carries (a build id). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* ctime too: a file's owner can put mtime back after rewriting it in place, but not
 * ctime, which any change of the inode moves. */
struct file_id {
        uint64_t dev, ino, size;
        int64_t ctime_s, ctime_ns, mtime_s, mtime_ns;
};

static inline void fileid_of(const struct stat *st, struct file_id *ret)
{
        *ret = (struct file_id){
                .dev = st->st_dev, .ino = st->st_ino, .size = (uint64_t)st->st_size,
                .ctime_s = st->st_ctim.tv_sec, .ctime_ns = st->st_ctim.tv_nsec,
                .mtime_s = st->st_mtim.tv_sec, .mtime_ns = st->st_mtim.tv_nsec,
        };
}

static inline bool fileid_equal(const struct file_id *a, const struct file_id *b)
{
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns &&
               a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}
