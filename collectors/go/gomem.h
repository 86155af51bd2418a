/* Reading a Go target's memory: a live process (process_vm_readv, no stop) or a fake
 * address space (the fuzzer), behind one bounded interface. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* No single read is larger: a hostile length never makes the daemon allocate more. */
#define GO_MEM_READ_MAX (1u << 20)

/* One range of a vector read: error is 0 or why that range was not read. */
struct go_iov {
        uint64_t addr;
        void *buf;
        size_t len;
        int error;
};

struct go_mem {
        /* 0, or -EFAULT when any byte of [addr, addr+len) cannot be read, or -errno. */
        int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
        /* Optional: many ranges in one go, each v[i].error set; returns 0 or a -errno
         * that ends the whole read (the process is gone).  NULL: read() one by one. */
        int (*readv)(void *ctx, struct go_iov *v, size_t n);
        void *ctx;
        uint64_t reads; /* calls made, for the callers' bounds and the benchmarks */
};

/* A reader of pid's memory (ctx is the pid; nothing to free). */
void go_mem_init_pid(struct go_mem *m, pid_t pid);

/* Reads exactly len bytes at addr; -EFAULT for a null address, an overflowing range, a
 * length above GO_MEM_READ_MAX or a short read. */
int go_mem_read(struct go_mem *m, uint64_t addr, void *buf, size_t len);

/* Reads every range of v (each bounded like go_mem_read), setting each one's error;
 * returns 0, or the -errno that stopped it (-ESRCH: the process is gone). */
int go_mem_readv(struct go_mem *m, struct go_iov *v, size_t n);

/* A little-endian unsigned integer of size 1, 2, 4 or 8 at addr. */
int go_mem_read_uint(struct go_mem *m, uint64_t addr, unsigned size, uint64_t *ret);
