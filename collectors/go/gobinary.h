/* One Go executable as the collector knows it: identity, version, runtime layout. */
#pragma once

#include "memprof/fileid.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "golayout.h"

struct go_binary {
        /* identity: the file, as fstat of the opened executable gives it */
        struct file_id id;

        bool is_go;          /* false: cached only to say so quickly */
        char version[48];    /* from .go.buildinfo; "" if it is not inline there */
        bool is_dyn;         /* PIE: addresses move by the load bias */
        uint64_t load_vaddr; /* link-time address of file offset 0 */
        bool layout_ok;
        const char *why; /* static sentence when !layout_ok */
        struct go_layout layout;

        unsigned refs; /* under the cache's lock */
        uint64_t used;
};

int go_binary_get(int fd, const struct stat *st, const struct go_binary **ret);
void go_binary_unref(const struct go_binary *b);
int go_binary_bias(const struct go_binary *b, pid_t pid, const struct stat *st, uint64_t *ret);
