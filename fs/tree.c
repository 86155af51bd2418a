/* The tree's inode numbers and names: "/", "/NAME", "/PID", "/PID/NAME", and the process
 * behind them. */
#include <errno.h>

#include "memprofd.h"

/*
 * Inode layout, so no table of inodes is needed and a reused PID cannot be mistaken for
 * the process that had it before:
 *   bit 62       set for every process node (keeps them apart from the root, ino 1)
 *   bits 26..61  process start time (clock ticks since boot, low 36 bits: ~21 years)
 *   bits 22..25  0 for the PID directory, 1 + file index for a file
 *   bits 0..21   PID (the kernel caps pid_max at 2^22)
 * Files at the root take the inodes right after the root's (2, 3, ...): bit 62 clear,
 * so never a process's.
 */
#define INO_PROCESS (UINT64_C(1) << 62)
#define PID_BITS 22
#define FILE_BITS TREE_FILE_BITS
#define START_BITS 36
#define MASK(bits) ((UINT64_C(1) << (bits)) - 1)
#define INO_ROOT_FILES (FUSE_ROOT_ID + 1)

_Static_assert(PID_BITS + FILE_BITS + START_BITS <= 62, "process fields overlap bit 62");
_Static_assert(INO_ROOT_FILES + ROOT_FILES_MAX < INO_PROCESS, "root files reach bit 62");

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uint64_t), "an inode holds 64 bits");
_Static_assert(PID_BITS + FILE_BITS + START_BITS == 62,
               "the fields fill bits 0..61, below INO_PROCESS, and do not overlap it");
/* PID_MAX_LIMIT, the highest pid_max a 64-bit kernel allows, is 2^22: PIDs are below */
_Static_assert(MASK(PID_BITS) >= (UINT64_C(1) << 22) - 1, "every PID fits");
/* files.c asserts its table fits FILE_BITS (0 is the directory itself) */

fuse_ino_t tree_ino(const struct node *n)
{
        uint64_t file = n->kind == NODE_FILE ? (uint64_t)n->file + 1 : 0;

        if (n->kind == NODE_ROOT)
                return FUSE_ROOT_ID;
        if (n->kind == NODE_ROOT_FILE)
                return INO_ROOT_FILES + (uint64_t)n->file;
        return INO_PROCESS | (n->start & MASK(START_BITS)) << (PID_BITS + FILE_BITS) |
               file << PID_BITS | ((uint64_t)n->pid & MASK(PID_BITS));
}

int tree_node(fuse_ino_t ino, struct node *ret)
{
        uint64_t file = (ino >> PID_BITS) & MASK(FILE_BITS);
        struct node n = {.kind = NODE_ROOT};

        if (ino == FUSE_ROOT_ID) {
                *ret = n;
                return 0;
        }
        if (ino >= INO_ROOT_FILES && ino - INO_ROOT_FILES < root_files_count()) {
                n.kind = NODE_ROOT_FILE;
                n.file = (int)(ino - INO_ROOT_FILES);
                *ret = n;
                return 0;
        }
        if (!(ino & INO_PROCESS))
                return -ENOENT;
        n.pid = (pid_t)(ino & MASK(PID_BITS));
        n.start = (ino >> (PID_BITS + FILE_BITS)) & MASK(START_BITS);
        if (n.pid <= 0)
                return -ENOENT;
        if (file == 0) {
                n.kind = NODE_PID;
        } else {
                if (file > files_count())
                        return -ENOENT;
                n.kind = NODE_FILE;
                n.file = (int)file - 1;
        }
        *ret = n;
        return 0;
}

/* "1234" → 1234.  Leading zeros, signs and blanks are not PIDs, as in /proc. */
int tree_parse_pid(const char *name, pid_t *ret)
{
        long v = 0;

        if (*name < '1' || *name > '9')
                return -ENOENT;
        for (; *name; name++) {
                if (*name < '0' || *name > '9')
                        return -ENOENT;
                v = v * 10 + (*name - '0');
                if (v > (long)MASK(PID_BITS))
                        return -ENOENT;
        }
        *ret = (pid_t)v;
        return 0;
}

int tree_target(pid_t pid, struct target *ret)
{
        struct target t = {.pid = pid};
        uint64_t again;
        int r;

        r = proc_start_time(pid, &t.start);
        if (r < 0)
                return -ENOENT;
        r = proc_status_read(pid, &t.st);
        if (r < 0)
                return -ENOENT;
        /* kernel threads and zombies have no memory to profile: leave them out */
        if (!t.st.has_mm)
                return -ENOENT;
        /* the status must belong to the process whose start time we hold */
        r = proc_start_time(pid, &again);
        if (r < 0 || again != t.start)
                return -ENOENT;
        t.start &= MASK(START_BITS);
        *ret = t;
        return 0;
}

uint64_t tree_start_bits(uint64_t start_time)
{
        return start_time & MASK(START_BITS);
}

int tree_target_of(const struct node *n, struct target *ret)
{
        struct target t;
        int r;

        r = tree_target(n->pid, &t);
        if (r < 0)
                return r;
        if (t.start != n->start)
                return -ENOENT; /* the PID was reused since this inode was looked up */
        *ret = t;
        return 0;
}

bool tree_still_running(const struct target *t)
{
        uint64_t start;

        return proc_start_time(t->pid, &start) == 0 && (start & MASK(START_BITS)) == t->start;
}
