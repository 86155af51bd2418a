/* struct stat for the root, a PID directory and a file, as `ls -l` shows them. */
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memprof/clock.h"
#include "memprofd.h"

static void set_times(struct stat *st, int64_t real_ns)
{
        st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = real_ns / 1000000000;
        st->st_atim.tv_nsec = st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = real_ns % 1000000000;
}

/* Times must hold still between two stats (tar compares them before and after reading a
 * directory): the root shows when the daemon started, a PID directory when its process
 * started, a file when its snapshot was taken.  All computed from values fixed at the
 * first call, so they never move. */
static int64_t daemon_start_ns, boot_ns;
static long ticks_per_s;
static pthread_once_t times_once = PTHREAD_ONCE_INIT;

static void times_init(void)
{
        daemon_start_ns = time_now_ns(CLOCK_REALTIME);
        /* process start times count clock ticks on CLOCK_BOOTTIME */
        boot_ns = daemon_start_ns - time_now_ns(CLOCK_BOOTTIME);
        ticks_per_s = sysconf(_SC_CLK_TCK);
        if (ticks_per_s <= 0)
                ticks_per_s = 100;
}

static int64_t process_start_ns(uint64_t ticks)
{
        return boot_ns + (int64_t)(ticks / (uint64_t)ticks_per_s) * 1000000000LL +
               (int64_t)(ticks % (uint64_t)ticks_per_s) * (1000000000LL / ticks_per_s);
}

void attr_root(struct stat *st)
{
        memset(st, 0, sizeof(*st));
        st->st_ino = FUSE_ROOT_ID;
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        pthread_once(&times_once, times_init);
        set_times(st, daemon_start_ns);
}

/* Owned by the process's effective ids, like /proc/PID. */
void attr_pid(const struct target *t, struct stat *st)
{
        struct node n = {.kind = NODE_PID, .pid = t->pid, .start = t->start};

        memset(st, 0, sizeof(*st));
        st->st_ino = tree_ino(&n);
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        st->st_uid = t->st.uid[1];
        st->st_gid = t->st.gid[1];
        pthread_once(&times_once, times_init);
        set_times(st, process_start_ns(t->start));
}

/* Owned like its process was when the snapshot was taken; the snapshot's true size. */
void attr_file(const struct node *n, const struct snapshot *s, struct stat *st)
{
        memset(st, 0, sizeof(*st));
        st->st_ino = tree_ino(n);
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_uid = s->uid;
        st->st_gid = s->gid;
        /* blocks to match the size: cp treats size > blocks as a sparse file */
        st->st_size = (off_t)s->len;
        st->st_blocks = (blkcnt_t)((s->len + 511) / 512);
        st->st_blksize = 4096;
        set_times(st, s->born_real_ns);
}
