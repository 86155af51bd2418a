/* The daemon's log: one line on stderr per failure, which systemd's journal collects. */
#include <stdarg.h>
#include <stdio.h>

#include "memprofd.h"

void fs_log(const char *fmt, ...)
{
        char line[1024];
        va_list ap;

        /* formatted first so that concurrent requests never interleave within a line */
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        fprintf(stderr, "memprofd: %s\n", line);
}
