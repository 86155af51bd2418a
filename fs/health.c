/* The daemon's own health for metrics.prom: collection errors counted by kind since start. */
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "memprofd.h"

static const char *const names[HEALTH_KINDS] = {
    [HEALTH_SEGMENT_CORRUPT] = "segment_corrupt",
    [HEALTH_SEGMENT_REFUSED] = "segment_refused",
    [HEALTH_SEGMENT_READ] = "segment_read",
    [HEALTH_GO_RUNTIME] = "go_runtime",
    [HEALTH_TRACED] = "traced",
    [HEALTH_OUT_OF_MEMORY] = "out_of_memory",
    [HEALTH_TOO_BIG] = "too_big",
    [HEALTH_TIMEOUT] = "timeout",
    [HEALTH_IO] = "io",
};

static atomic_ullong counts[HEALTH_KINDS];
static atomic_llong last_logged_s[HEALTH_KINDS];

void health_count(enum health_kind k)
{
        if (k < HEALTH_KINDS)
                atomic_fetch_add(&counts[k], 1);
}

void health_count_errno(int r)
{
        switch (r) {
        case -EBUSY:
                health_count(HEALTH_TRACED);
                break;
        case -ENOMEM:
                health_count(HEALTH_OUT_OF_MEMORY);
                break;
        case -EFBIG:
                health_count(HEALTH_TOO_BIG);
                break;
        default:
                health_count(HEALTH_IO);
        }
}

uint64_t health_errors(enum health_kind k)
{
        return k < HEALTH_KINDS ? atomic_load(&counts[k]) : 0;
}

const char *health_kind_name(enum health_kind k)
{
        return k < HEALTH_KINDS ? names[k] : "?";
}

/*
 * metrics.prom is read every scrape interval, for every process: a process whose
 * runtime cannot be read would log a line per scrape.  One line per kind per
 * HEALTH_LOG_EVERY_S is enough to find the cause; the counters keep the full count.
 */
#define HEALTH_LOG_EVERY_S 60

bool health_may_log(enum health_kind k)
{
        struct timespec ts;
        long long last;

        if (k >= HEALTH_KINDS)
                return true;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        last = atomic_load(&last_logged_s[k]);
        if (last != 0 && ts.tv_sec - last < HEALTH_LOG_EVERY_S)
                return false;
        return atomic_compare_exchange_strong(&last_logged_s[k], &last, (long long)ts.tv_sec);
}
