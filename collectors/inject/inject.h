/* Making one thread of a running process call functions of its own (dlopen and the
 * like) over ptrace, then putting it back exactly where it was; and what a process must
 * be for that to be safe. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Why a process is not attached to; INJ_OK when nothing stands against it. */
enum inject_refusal {
        INJ_OK,
        INJ_GONE,     /* no such process */
        INJ_PERM,     /* we may not ptrace it (its /proc files are closed to us) */
        INJ_STATIC,   /* no dynamic loader: statically linked */
        INJ_TRACED,   /* someone ptraces it already (ret->tracer) */
        INJ_SECCOMP,  /* a seccomp filter (or strict mode) */
        INJ_NO_LIBC,  /* no glibc mapped, or one without dlopen/dlsym/dlerror (< 2.34) */
        INJ_HAS_SHIM, /* libmemprof.so is mapped already */
};

/* What inject_inspect learned: where the functions are in the target. */
struct inject_target {
        pid_t pid;
        pid_t tracer;
        char comm[16];
        char shim_path[PATH_MAX]; /* INJ_HAS_SHIM: the shim's file as the target maps it */
        uint64_t dlopen, dlsym, dlerror, errno_location;
        uint64_t libc_lo, libc_hi; /* libc's and the loader's executable text, */
        uint64_t ld_lo, ld_hi;     /* where no thread is borrowed */
};

/* Checks the refusals above, in that order, and finds the functions in the target's
 * libc from its file's dynamic symbol table and its load address.  0 with *ret_why
 * set (INJ_OK or the refusal); -errno when /proc could not be read for another reason.
 * shim_name: the basename whose mapping means the shim is there. */
int inject_inspect(pid_t pid, const char *shim_name, struct inject_target *ret,
                   enum inject_refusal *ret_why);

/* The value of symbol `name` (a defined function, its default version preferred) in the
 * ELF file at path; -ENOENT if it has none, -ENOEXEC if it is not a 64-bit ELF file.
 * Files above 256 MiB are refused (-EFBIG). */
int elf_dynsym_find(const char *path, const char *name, uint64_t *ret_value);
/* Whether the ELF file at path asks for a program interpreter (is dynamically linked). */
int elf_has_interp(const char *path, bool *ret);

#define INJECT_MAX_PENDING 8

/* One borrowed thread, stopped by us. */
struct inject_session {
        pid_t pid, tid;
        struct user_regs_struct saved; /* as it was stopped, restored at the end */
        uint8_t xstate[16384];         /* FPU/SSE/AVX state, likewise */
        size_t xstate_len;
        uint64_t scratch;        /* stack memory below the red zone, for strings */
        uint64_t sp;             /* where calls start their stack frames */
        int64_t stop_ns, end_ns; /* CLOCK_MONOTONIC: interrupted, let go */
        int64_t deadline_ns;
        bool in_syscall; /* stopped inside a system call that is restarted at the end */
        /* signals that arrived during our calls, handed back at the end */
        int npending;
        int pending[INJECT_MAX_PENDING];
        uint8_t pending_info[INJECT_MAX_PENDING][128];
};

/*
 * Picks a thread that holds none of the allocator's or the loader's locks (one asleep
 * in a system call that restarts cleanly, else one interrupted while running outside
 * libc and the loader), seizes and interrupts it alone and saves its registers.  Every
 * wait is bounded by deadline_ns (CLOCK_MONOTONIC).  -EBUSY: traced by someone else;
 * -EPERM: not allowed; -EAGAIN: no thread was found in a safe place in time.
 */
int inject_begin(const struct inject_target *t, int64_t deadline_ns, struct inject_session *ret);
/* Calls fn(args...) (up to 6 integer arguments) in the borrowed thread; *ret_value is
 * its rax.  -ETIMEDOUT past the deadline; -EFAULT if it faulted elsewhere; -ESRCH if the
 * process died. */
int inject_call(struct inject_session *s, uint64_t fn, const uint64_t *args, int nargs,
                uint64_t *ret_value);
/* Copies len bytes into the scratch area at offset off (at most INJECT_SCRATCH). */
#define INJECT_SCRATCH 1024
int inject_put(struct inject_session *s, size_t off, const void *buf, size_t len,
               uint64_t *ret_addr);
/* Reads a NUL-terminated string of at most len-1 bytes at addr. */
int inject_get_string(struct inject_session *s, uint64_t addr, char *buf, size_t len);
int inject_peek(struct inject_session *s, uint64_t addr, uint64_t *ret);
int inject_poke(struct inject_session *s, uint64_t addr, uint64_t value);
/* Restores the registers (and the interrupted system call), hands back any signal that
 * arrived meanwhile and detaches.  Returns the time the thread was stopped, in ns. */
uint64_t inject_end(struct inject_session *s);
