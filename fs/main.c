/* memprofd: options, mounting (with stale-mount recovery), signals and the request loop. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memprofd.h"
#include "shimpath.h"
#include "symbolize.h"

#define SYMBOLIZER_BINARIES 64

static void usage(const char *prog)
{
        printf("usage: %s [options] MOUNTPOINT\n\n"
               "Mounts memprof: a directory per process with memstats, heap, allocs,\n"
               "heap.txt, threads and threads.txt, generated when read.\n\n",
               prog);
        fuse_cmdline_help();
        fuse_lowlevel_help();
}

/* allow_other lets every user use one mount (memprofd decides access itself, so no
 * default_permissions); ro makes write attempts EROFS in the kernel. */
static int add_mount_options(struct fuse_args *args)
{
        const char *opts = "-ofsname=memprof,subtype=memprof,ro";
        int r;

        r = fuse_opt_add_arg(args, opts);
        if (r < 0)
                return r;
        if (geteuid() != 0) {
                /* fusermount3 refuses allow_other to users unless fuse.conf allows it */
                fs_log("not running as root: mounting without allow_other, so only uid %d "
                       "can use the mount and only its own processes are readable",
                       (int)getuid());
                return 0;
        }
        return fuse_opt_add_arg(args, "-oallow_other");
}

static int daemon_init(struct memprofd *d)
{
        int r;

        r = snap_cache_new(&d->cache);
        if (r < 0)
                return r;
        r = dirlists_new(&d->dirs);
        if (r < 0)
                return r;
        /* the shim of this very build, so that memstats' hint works when pasted */
        if (shim_path_find(d->shim_path, sizeof(d->shim_path)) < 0)
                snprintf(d->shim_path, sizeof(d->shim_path), "%s", shim_path_installed());
        r = symbolizer_new(SYMBOLIZER_BINARIES, &d->sym);
        if (r < 0) {
                fs_log("no symbolizer (%s): heap and threads files will fail", strerror(-r));
                d->sym = NULL;
        }
        return 0;
}

static void daemon_done(struct memprofd *d)
{
        /* A job the FUSE worker gave up on may still use the symbolizer and the cache:
         * give it a moment, and if it is stuck on its target, leave the state to the
         * exit rather than free it under the job. */
        if (!jobs_drain(2)) {
                fs_log("exiting with a file still being generated: its target stalls it");
                return;
        }
        symbolizer_free(d->sym);
        dirlists_free(d->dirs);
        snap_cache_free(d->cache);
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *opts)
{
        struct fuse_loop_config *config;
        int r;

        if (opts->singlethread) {
                r = fuse_session_loop(se);
                goto out;
        }
        config = fuse_loop_cfg_create();
        if (!config)
                return -ENOMEM;
        fuse_loop_cfg_set_clone_fd(config, (unsigned)opts->clone_fd);
        if (opts->max_threads != UINT_MAX) /* libfuse's "not given" */
                fuse_loop_cfg_set_max_threads(config, opts->max_threads);
        if (opts->max_idle_threads != UINT_MAX)
                fuse_loop_cfg_set_idle_threads(config, opts->max_idle_threads);
        r = fuse_session_loop_mt(se, config);
        fuse_loop_cfg_destroy(config);
out:
        /* a signal that asked us to stop is a clean exit, not a failure */
        if (r == SIGTERM || r == SIGINT || r == SIGHUP || r == -SIGTERM || r == -SIGINT ||
            r == -SIGHUP)
                r = 0;
        return r;
}

int main(int argc, char *argv[])
{
        struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
        struct fuse_cmdline_opts opts = {0};
        struct memprofd d = {0};
        struct fuse_session *se = NULL;
        int ret = 1;

#ifdef M_MMAP_THRESHOLD
        /* Snapshots and the renderers' working buffers are large and short-lived, made by
         * any of libfuse's worker threads.  glibc raises its mmap threshold to the largest
         * block freed, after which such blocks come from per-thread arenas and stay there,
         * fragmented, after free: 10 workers reading one 2 MB heap.txt held 365 MB of RSS
         * (tests/faults/test_reader_killed.py).  A fixed threshold (glibc's initial one)
         * keeps them in mmap, returned to the kernel on free: 40 MB. */
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
        /* Symbols come from the target's own files and local debug info only: never let
         * elfutils fetch from the network on a reader's behalf. */
        unsetenv("DEBUGINFOD_URLS");
        if (fuse_parse_cmdline(&args, &opts) != 0)
                goto out_args;
        if (opts.show_help) {
                usage(argv[0]);
                ret = 0;
                goto out_args;
        }
        if (opts.show_version) {
                printf("memprofd %s\n", MEMPROF_VERSION);
                fuse_lowlevel_version();
                ret = 0;
                goto out_args;
        }
        if (!opts.mountpoint) {
                fprintf(stderr, "usage: %s [options] MOUNTPOINT (see --help)\n", argv[0]);
                ret = 2;
                goto out_args;
        }
        if (mount_refuse_live(opts.mountpoint) < 0)
                goto out_args;
        if (add_mount_options(&args) < 0) {
                fs_log("out of memory");
                goto out_args;
        }
        if (daemon_init(&d) < 0) {
                fs_log("out of memory");
                goto out_daemon;
        }

        se = fuse_session_new(&args, &memprofd_ops, sizeof(memprofd_ops), &d);
        if (!se)
                goto out_daemon;
        if (fuse_set_signal_handlers(se) != 0)
                goto out_session;
        if (stale_mount_clear(opts.mountpoint) < 0)
                goto out_signals;
        if (fuse_session_mount(se, opts.mountpoint) != 0)
                goto out_signals;
        fuse_daemonize(opts.foreground);

        ret = serve(se, &opts) == 0 ? 0 : 1;
        fuse_session_unmount(se);
out_signals:
        fuse_remove_signal_handlers(se);
out_session:
        fuse_session_destroy(se);
out_daemon:
        daemon_done(&d);
out_args:
        free(opts.mountpoint);
        fuse_opt_free_args(&args);
        return ret;
}
