/* The FUSE operations table: one small handler per operation, exactly one reply each. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "memprofd.h"

/* Kernel caches nothing: every stat and path walk comes back here, so sizes and
 * processes are always current. */
#define TIMEOUT 0.0

static struct memprofd *daemon_of(fuse_req_t req)
{
        return fuse_req_userdata(req);
}

/* The snapshot of file FILE of the process a node names, as this caller sees it. */
static struct snap_key key_of(fuse_req_t req, pid_t pid, uint64_t start, int file)
{
        const struct fuse_ctx *ctx = fuse_req_ctx(req);
        struct snap_key k = {.pid = pid, .start = start, .file = file,
                             .uid = ctx->uid, .caller = ctx->pid};
        return k;
}

/* The node, the live process behind it and, for a process's contents, the caller's right
 * to see them. */
static int resolve(fuse_req_t req, struct caller *c, fuse_ino_t ino, struct node *ret_node,
                   struct target *ret_target)
{
        int r;

        r = tree_node(ino, ret_node);
        if (r < 0 || ret_node->kind == NODE_ROOT)
                return r;
        if (ret_node->kind == NODE_ROOT_FILE) {
                /* anyone may read it: what it shows is up to the caller's rights */
                root_target(ret_target);
                return 0;
        }
        r = tree_target_of(ret_node, ret_target);
        if (r < 0)
                return r;
        /* like /proc, anyone may stat /PID; its listing and files need the right */
        return ret_node->kind == NODE_PID ? 0 : access_check(c, ret_target);
}

static void reply_entry(fuse_req_t req, const struct stat *st)
{
        struct fuse_entry_param e = {.ino = st->st_ino, .attr = *st,
                                     .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT};

        fuse_reply_entry(req, &e);
}

static int lookup_file(fuse_req_t req, fuse_ino_t parent, const char *name,
                       struct stat *ret)
{
        struct snapshot *s;
        struct target t;
        struct caller c;
        struct node dir;
        int file, r;

        caller_of(req, &c);
        r = resolve(req, &c, parent, &dir, &t);
        if (r < 0)
                return r;
        r = access_check(&c, &t);
        if (r < 0)
                return r;
        file = files_find(name);
        if (file < 0)
                return -ENOENT;
        struct snap_key k = key_of(req, t.pid, t.start, file);
        caller_groups(req, &c);
        r = snap_get(daemon_of(req), &k, &c, &t, SNAP_LOOKUP, &s);
        if (r < 0)
                return r;
        struct node n = {.kind = NODE_FILE, .pid = t.pid, .start = t.start, .file = file};
        attr_file(&n, s, ret);
        snap_unref(s);
        return 0;
}

/* A file at the root, generated for this caller. */
static int lookup_root_file(fuse_req_t req, int file, struct stat *ret)
{
        struct node n = {.kind = NODE_ROOT_FILE, .file = file};
        struct snapshot *s;
        struct target t;
        struct caller c;
        int r;

        caller_of(req, &c);
        root_target(&t);
        struct snap_key k = key_of(req, t.pid, t.start, file);
        r = snap_get(daemon_of(req), &k, &c, &t, SNAP_LOOKUP, &s);
        if (r < 0)
                return r;
        attr_file(&n, s, ret);
        snap_unref(s);
        return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
        struct stat st;
        struct target t;
        struct node n;
        pid_t pid;
        int r;

        r = tree_node(parent, &n);
        if (r == 0 && n.kind == NODE_ROOT && root_files_find(name) >= 0) {
                r = lookup_root_file(req, root_files_find(name), &st);
        } else if (r == 0 && n.kind == NODE_ROOT) {
                r = tree_parse_pid(name, &pid);
                if (r == 0)
                        r = tree_target(pid, &t);
                if (r == 0)
                        attr_pid(&t, &st);
        } else if (r == 0 && n.kind == NODE_PID) {
                r = lookup_file(req, parent, name, &st);
        } else if (r == 0) {
                r = -ENOTDIR;
        }
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                reply_entry(req, &st);
}

/* A file's attributes come from the snapshot an open file holds, even after its process
 * exited (fstat on the open file, tar's check after reading); else from a new one. */
static int getattr_file(fuse_req_t req, fuse_ino_t ino, struct node n, struct stat *ret)
{
        struct snapshot *s;
        struct target t;
        struct caller c;
        int r;

        struct snap_key k = key_of(req, n.pid, n.start, n.file);
        if (snap_find(daemon_of(req), &k, SNAP_STAT, &s) < 0) {
                caller_of(req, &c);
                r = resolve(req, &c, ino, &n, &t);
                if (r < 0)
                        return r;
                caller_groups(req, &c);
                r = snap_get(daemon_of(req), &k, &c, &t, SNAP_STAT, &s);
                if (r < 0)
                        return r;
        }
        attr_file(&n, s, ret);
        snap_unref(s);
        return 0;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct target t;
        struct caller c;
        struct stat st;
        struct node n;
        int r;

        r = tree_node(ino, &n);
        if (r == 0 && (n.kind == NODE_FILE || n.kind == NODE_ROOT_FILE)) {
                r = getattr_file(req, ino, n, &st);
        } else if (r == 0) {
                caller_of(req, &c);
                r = resolve(req, &c, ino, &n, &t);
                if (r == 0 && n.kind == NODE_ROOT)
                        attr_root(&st);
                else if (r == 0)
                        attr_pid(&t, &st);
        }
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct dirlist *l = NULL;
        struct target t;
        struct caller c;
        struct node n;
        int r;

        caller_of(req, &c);
        r = resolve(req, &c, ino, &n, &t);
        if (r == 0 && n.kind == NODE_ROOT)
                r = dirlist_root(&l);
        else if (r == 0 && n.kind == NODE_PID)
                r = access_check(&c, &t) ?: dirlist_pid(daemon_of(req), &c, &t, &l);
        else if (r == 0)
                r = -ENOTDIR;
        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        fi->fh = (uintptr_t)l;
        dirlist_open(daemon_of(req)->dirs, l);
        if (fuse_reply_open(req, fi) != 0) /* the opener was interrupted: no releasedir */
                dirlist_close(daemon_of(req)->dirs, l);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
        const struct dirlist *l = (const struct dirlist *)(uintptr_t)fi->fh;
        char *buf;

        buf = malloc(size);
        if (!buf) {
                fuse_reply_err(req, ENOMEM);
                return;
        }
        fuse_reply_buf(req, buf, dirlist_fill(req, l, off, buf, size));
        free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        dirlist_close(daemon_of(req)->dirs, (struct dirlist *)(uintptr_t)fi->fh);
        fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct snapshot *s;
        struct target t;
        struct caller c;
        struct node n;
        int r;

        if ((fi->flags & O_ACCMODE) != O_RDONLY) {
                fuse_reply_err(req, EACCES);
                return;
        }
        caller_of(req, &c);
        r = resolve(req, &c, ino, &n, &t);
        if (r == 0 && n.kind != NODE_FILE && n.kind != NODE_ROOT_FILE)
                r = -EISDIR;
        if (r == 0) {
                struct snap_key k = key_of(req, t.pid, t.start, n.file);

                caller_groups(req, &c);
                r = snap_get(daemon_of(req), &k, &c, &t, SNAP_LOOKUP, &s);
        }
        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        /* Reads are served from this snapshot, not the page cache, whatever size the
         * kernel last saw: every read of this open file sees the same bytes. */
        snap_open(daemon_of(req), s);
        fi->fh = (uintptr_t)s;
        fi->direct_io = 1;
        fi->keep_cache = 0;
        if (fuse_reply_open(req, fi) != 0) /* the opener was interrupted: no release */
                snap_close(daemon_of(req), s);
}

/*
 * The file's snapshot is alive when a READ arrives: the kernel sends RELEASE only when
 * the last reference to the open file is dropped, a read() in progress holds one, and
 * once a request has been handed to us the kernel waits for its answer even if the
 * reader is killed (fs/fuse/dev.c, request_wait_answer).  But the answer itself wakes
 * the reader, which may close at once, and another worker may handle that RELEASE while
 * this one is still inside fuse_reply_buf (ASan's writev check reads the buffer after
 * the call).  So the read holds a reference of its own across the reply, and whichever
 * of the two lets go last frees the bytes.
 */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
        struct snapshot *s = (struct snapshot *)(uintptr_t)fi->fh;

        if (off < 0 || (size_t)off >= s->len) {
                fuse_reply_buf(req, NULL, 0);
                return;
        }
        if (size > s->len - (size_t)off)
                size = s->len - (size_t)off;
        snap_ref(s);
        fuse_reply_buf(req, s->buf + off, size);
        snap_unref(s);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct snapshot *s = (struct snapshot *)(uintptr_t)fi->fh;

        snap_close(daemon_of(req), s);
        fuse_reply_err(req, 0);
}

const struct fuse_lowlevel_ops memprofd_ops = {
        .lookup = op_lookup,
        .getattr = op_getattr,
        .opendir = op_opendir,
        .readdir = op_readdir,
        .releasedir = op_releasedir,
        .open = op_open,
        .read = op_read,
        .release = op_release,
};
