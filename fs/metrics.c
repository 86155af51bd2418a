/* metrics.prom: the figures of every profiled process the caller may inspect, and the
 * daemon's health, for Prometheus (node_exporter's textfile collector reads it). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goruntime.h"
#include "heap_segment.h"
#include "heap_values.h"
#include "memprof/clock.h"
#include "memprofd.h"
#include "prom.h"

/*
 * Read at every scrape, for every process: cheap on purpose.  profiled.c tells which
 * processes to look at without reading most of them; those are read like memstats
 * reads them (the segment's counts, never its stacks; the runtime's MemStats, without
 * stopping the process), and nothing is symbolized.  A failure leaves that figure out
 * and is counted (memprof_collection_errors_total); it is logged once a minute per kind,
 * not once per scrape.
 */

static void log_failure(enum health_kind k, pid_t pid, const char *what, const char *why)
{
        health_count(k);
        if (health_may_log(k))
                fs_log("pid %d: metrics.prom: %s: %s (further failures of this kind are "
                       "counted in memprof_collection_errors_total{kind=\"%s\"}, logged once a "
                       "minute)",
                       (int)pid, what, why, health_kind_name(k));
}

static void collect_shim(const struct target *t, struct prom_process *p)
{
        struct heap_segment_refused refused;
        struct heap_snapshot *h;
        const char *why = NULL;
        int fd, r;

        r = heap_segment_open(t->pid, &fd, &refused);
        if (refused.n)
                log_failure(HEALTH_SEGMENT_REFUSED, t->pid,
                            "a mapping named like a heap "
                            "segment refused",
                            refused.why);
        if (r == -ENOENT) {
                profiled_shim_gone(t->pid, t->start);
                return;
        }
        if (r < 0) {
                log_failure(HEALTH_SEGMENT_READ, t->pid, "finding the heap segment", strerror(-r));
                return;
        }
        r = heap_snapshot_read_counts(fd, &h, &why); /* no stacks: not shown */
        close(fd);
        if (r == -EBADMSG) {
                log_failure(HEALTH_SEGMENT_CORRUPT, t->pid, "corrupt heap segment",
                            why ? why : "?");
                return;
        }
        if (r < 0) {
                log_failure(HEALTH_SEGMENT_READ, t->pid, "reading the heap segment", strerror(-r));
                return;
        }
        p->shim = true;
        p->sh = (struct prom_shim){
            .mallocs = h->mallocs,
            .frees = h->frees,
            /* read one after the other, so frees may run ahead (as in memstats) */
            .objects = h->mallocs > h->frees ? h->mallocs - h->frees : 0,
            .alloc_bytes = h->alloc_bytes,
            .inuse_bytes = heap_inuse_estimate(h),
            .rate = h->rate,
            .samples = h->samples,
            .lost_samples = h->lost_samples,
            .start_time_ns = h->start_time_ns > 0 ? h->start_time_ns : 0,
            .has_mallinfo = h->mallinfo_time_ns != 0,
            .mallinfo = h->mallinfo,
        };
        heap_snapshot_free(h);
}

static void collect_go(const struct target *t, struct prom_process *p)
{
        struct go_target *gt;
        const char *why = NULL;
        int r;

        r = go_target_open(t->pid, &gt);
        if (r == -ENOENT || r == -ENOEXEC)
                return;
        if (r < 0) {
                log_failure(HEALTH_GO_RUNTIME, t->pid, "looking at the executable", strerror(-r));
                return;
        }
        p->go = true;
        snprintf(p->go_version, sizeof(p->go_version), "%s", gt->version);
        /* a stripped binary, say: go_info only, as memstats says why */
        if (!go_target_unusable(gt)) {
                r = go_read_memstats(gt, &p->gm, &why);
                if (r == 0)
                        p->go_stats = true;
                else
                        log_failure(HEALTH_GO_RUNTIME, t->pid, "reading the Go runtime",
                                    r == -EBADMSG && why ? why : strerror(-r));
        }
        go_target_free(gt);
}

static char *exe_of(pid_t pid)
{
        char path[48], buf[PATH_MAX];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
        n = readlink(path, buf, sizeof(buf) - 1);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return strdup(buf);
}

/* One process's figures, if the caller may inspect it: 0, -EACCES or -ENOENT. */
static int collect_one(struct caller *c, const struct node *n, unsigned kinds,
                       struct prom_process *p)
{
        struct target t;
        int r;

        r = tree_target(n->pid, &t);
        if (r < 0 || t.start != n->start)
                return -ENOENT;
        r = access_check(c, &t);
        if (r < 0)
                return r;
        *p = (struct prom_process){.pid = t.pid,
                                   .rss = t.st.vm_rss,
                                   .rss_anon = t.st.rss_anon,
                                   .hwm = t.st.vm_hwm,
                                   .swap = t.st.vm_swap};
        snprintf(p->comm, sizeof(p->comm), "%s", t.st.name);
        if (kinds & PROFILED_SHIM)
                collect_shim(&t, p);
        if (kinds & PROFILED_GO)
                collect_go(&t, p);
        /* read after the check: shown only if it is still the process checked, and
         * still one the caller may inspect (no setuid exec meanwhile) */
        if (!p->shim && !p->go)
                return -ENOENT;
        r = access_recheck(c, &t);
        if (r < 0)
                return r;
        p->exe = exe_of(t.pid);
        return 0;
}

int gen_metrics(struct memprofd *d, struct caller *c, const struct target *unused, char **ret_buf,
                size_t *ret_len)
{
        const char *kind_names[HEALTH_KINDS];
        uint64_t errors[HEALTH_KINDS];
        struct prom_process *procs = NULL;
        struct node *nodes = NULL;
        unsigned *kinds = NULL;
        int64_t begin = time_now_ns(CLOCK_MONOTONIC);
        size_t n = 0, np = 0;
        int r;

        r = listing_root(&nodes, &n);
        if (r < 0) {
                fs_log("metrics.prom: listing the processes: %s", strerror(-r));
                return r == -ENOMEM ? r : -EIO;
        }
        kinds = calloc(n ? n : 1, sizeof(*kinds));
        procs = calloc(n ? n : 1, sizeof(*procs));
        r = kinds && procs ? profiled_classify(nodes, n, kinds) : -ENOMEM;
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++)
                if (kinds[i] && collect_one(c, &nodes[i], kinds[i], &procs[np]) == 0)
                        np++;

        for (int k = 0; k < HEALTH_KINDS; k++) {
                kind_names[k] = health_kind_name((enum health_kind)k);
                errors[k] = health_errors((enum health_kind)k);
        }
        struct prom_health h = {.version = MEMPROF_VERSION,
                                .nkinds = HEALTH_KINDS,
                                .kinds = kind_names,
                                .errors = errors,
                                .duration_s = (double)(time_now_ns(CLOCK_MONOTONIC) - begin) / 1e9};
        r = render_metrics(procs, np, &h, ret_buf, ret_len);
out:
        if (r < 0)
                fs_log("metrics.prom: %s", strerror(-r));
        for (size_t i = 0; i < np; i++)
                free(procs[i].exe);
        free(procs);
        free(kinds);
        free(nodes);
        return r;
}
