/* Binaries' unwind tables, read once from their files and kept across collections. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "maps.h"

/* The .eh_frame_hdr and .eh_frame of one binary, as a copy of the file's bytes. */
struct eh_tables;

/*
 * The tables of the file mapped at m in process pid, opened through
 * /proc/PID/map_files and known by what fstat says of it (device, inode, size,
 * modification time): a file replaced or rewritten is read again, and nothing the
 * target wrote chooses the entry.  Read with pread, never mapped: a warm lookup costs
 * an open and an fstat.  Holds a reference until eh_tables_put.  *ret_bias is what
 * the mapping adds to the file's virtual addresses.  -ENOENT: no unwind tables (no
 * PT_GNU_EH_FRAME, a file too large, not ELF); other -errno from the open.
 */
int eh_tables_get(pid_t pid, const struct map_range *m, struct eh_tables **ret,
                  uint64_t *ret_bias);
void eh_tables_put(struct eh_tables *t);

/* The rule (ehframe.h) for the code at link-time address vaddr. */
uint64_t eh_tables_rule(const struct eh_tables *t, uint64_t vaddr);

/*
 * The reading alone, uncached: the tables of the regular file open at fd, whose fstat
 * is st, for eh_tables_get and for the fuzzer (tests/fuzz/fuzz_ehtables.c), which so
 * reads a file exactly as the daemon does.  -ENOENT as above; freed by eh_tables_free.
 */
int eh_tables_read(int fd, const struct stat *st, struct eh_tables **ret);
void eh_tables_free(struct eh_tables *t);

/* Forgets every entry no collection holds (for tests: the next get reads the file). */
void eh_tables_flush(void);
