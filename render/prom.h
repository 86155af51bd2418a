/* metrics.prom's contents: profiled processes' figures in Prometheus' text format. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "goruntime.h"
#include "memprof/segment.h"

/* The shim's figures of one process (memstats' shim section). */
struct prom_shim {
        uint64_t mallocs, frees, objects, alloc_bytes;
        uint64_t inuse_bytes; /* exact at rate 1, an unbiased estimate otherwise */
        uint64_t rate, samples, lost_samples;
        int64_t start_time_ns; /* CLOCK_REALTIME when sampling began; 0: unknown */
        bool has_mallinfo;
        struct mp_mallinfo mallinfo;
};

struct prom_process {
        pid_t pid;
        char comm[64];
        char *exe; /* malloc'd; NULL if unknown */
        uint64_t rss, rss_anon, hwm, swap;
        bool shim; /* shim figures below */
        struct prom_shim sh;
        bool go;       /* a Go program: go_version below */
        bool go_stats; /* and its runtime's MemStats in gm */
        char go_version[48];
        struct go_memstats gm;
};

/* The daemon's own figures. */
struct prom_health {
        const char *version;
        size_t nkinds; /* collection errors: kinds[i] happened errors[i] times */
        const char *const *kinds;
        const uint64_t *errors;
        double duration_s; /* spent collecting this file */
};

/* Every family once, its samples together, a HELP and a TYPE line each; label values
 * escaped and made valid UTF-8 whatever the process calls itself. */
int render_metrics(const struct prom_process *p, size_t n, const struct prom_health *h,
                   char **ret_buf, size_t *ret_len);
