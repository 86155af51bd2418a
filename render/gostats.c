/* memstats' Go section: the runtime's own MemStats of a Go process, under Go's names. */
#include <stdio.h>

#include "goruntime.h"
#include "render.h"

static void line(FILE *f, const char *name, uint64_t value)
{
        fprintf(f, "go_%s %llu\n", name, (unsigned long long)value);
}

void render_go_section(FILE *f, const struct go_section *go)
{
        const struct go_memstats *m = go->stats;

        fprintf(f, "# go runtime (%s)\n",
                go->version && go->version[0] ? go->version : "unknown version");
        if (!m) {
                fprintf(f, "# %s\n", go->why ? go->why : "the runtime could not be read");
                return;
        }
        if (m->memory_limit_set)
                fputs("# GOMEMLIMIT is set: go_NextGC is the GOGC goal, the limit may lower "
                      "it\n",
                      f);
        line(f, "Alloc", m->alloc);
        line(f, "TotalAlloc", m->total_alloc);
        line(f, "Sys", m->sys);
        line(f, "Mallocs", m->mallocs);
        line(f, "Frees", m->frees);
        line(f, "HeapAlloc", m->heap_alloc);
        line(f, "HeapSys", m->heap_sys);
        line(f, "HeapIdle", m->heap_idle);
        line(f, "HeapInuse", m->heap_inuse);
        line(f, "HeapReleased", m->heap_released);
        line(f, "HeapObjects", m->heap_objects);
        line(f, "StackInuse", m->stack_inuse);
        line(f, "StackSys", m->stack_sys);
        line(f, "MSpanInuse", m->mspan_inuse);
        line(f, "MCacheInuse", m->mcache_inuse);
        line(f, "GCSys", m->gc_sys);
        line(f, "OtherSys", m->other_sys);
        line(f, "NextGC", m->next_gc);
        line(f, "LastGC", m->last_gc);
        line(f, "PauseTotalNs", m->pause_total_ns);
        line(f, "NumGC", m->num_gc);
        line(f, "NumForcedGC", m->num_forced_gc);
        line(f, "Goroutines", m->goroutines);
        line(f, "GOMAXPROCS", m->gomaxprocs);
        line(f, "MemProfileRate", m->mem_profile_rate);
}
