/* Capturing the stack of a sampled allocation with libunwind's local unwinder, with this
 * library's own frames cut so the top frame is the caller of malloc. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"
#include "unwind.h"

/* The shim's unwinder reads x86-64 frames and raw_syscall() below is x86-64 assembly:
 * another architecture must fail to build, not build something wrong. */
#if !defined(__x86_64__)
#error "libmemprof.so supports x86-64 only (its unwinder and raw_syscall)"
#endif

struct range {
        uintptr_t probe, lo, hi;
};

/* The extent of the loaded object that contains range->probe. */
static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
        struct range *r = data;
        uintptr_t lo = UINTPTR_MAX, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD)
                        continue;
                uintptr_t a = info->dlpi_addr + ph->p_vaddr;
                if (a < lo)
                        lo = a;
                if (a + ph->p_memsz > hi)
                        hi = a + ph->p_memsz;
        }
        if (r->probe < lo || r->probe >= hi)
                return 0;
        r->lo = lo;
        r->hi = hi;
        return 1;
}

static struct range unwinder = {.probe = (uintptr_t)&unw_backtrace};
static __thread bool capturing;

void mp_stack_init(void)
{
        struct range self = {.probe = (uintptr_t)&mp_stack_init};

        dl_iterate_phdr(find_object, &self);
        mp.text_lo = self.lo;
        mp.text_hi = self.hi;
        dl_iterate_phdr(find_object, &unwinder);
}

static bool from_unwinder(uintptr_t caller)
{
        return unlikely(capturing) && caller >= unwinder.lo && caller < unwinder.hi;
}

/*
 * libunwind checks that an address is readable, where its unwind tables cannot vouch for
 * a frame, by writing one byte from it into a pipe it opens on first use and then keeps:
 * two descriptors the profiled program never opened, which a program that lists or
 * closes its descriptors sees (CPython's test_subprocess does).  So while we capture,
 * libunwind's pipe2 fails (its pipe stays {-1, -1}) and its write to descriptor -1 is
 * answered here: readable or not, found with one process_vm_readv of our own memory.
 * Validation then succeeds as it would with the pipe, so libunwind's caches work and it
 * validates rarely.  Everything else passes through untouched.
 */
__attribute__((visibility("default"))) int pipe2(int fds[2], int flags)
{
        if (from_unwinder((uintptr_t)__builtin_return_address(0))) {
                errno = EMFILE;
                return -1;
        }
        return (int)syscall(SYS_pipe2, fds, flags);
}

static long raw_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
        register long r10 __asm__("r10") = a4;
        register long r8 __asm__("r8") = a5;
        register long r9 __asm__("r9") = a6;
        long ret;

        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        if ((unsigned long)ret > -4096ul) {
                errno = (int)-ret;
                return -1;
        }
        return ret;
}

static long readable(const void *addr)
{
        char byte;
        struct iovec local = {&byte, 1}, remote = {(void *)addr, 1};

        if (raw_syscall(SYS_process_vm_readv, getpid(), (long)&local, 1, (long)&remote, 1, 0) ==
            1)
                return 1;
        errno = EFAULT;
        return -1;
}

/* glibc's syscall(): six arguments in registers, errno on failure.  libunwind's probe is
 * syscall(SYS_write, -1, addr, 1); the descriptor is an int in a long's place. */
__attribute__((visibility("default"))) long syscall(long n, ...)
{
        va_list ap;
        long a[6];

        va_start(ap, n);
        for (int i = 0; i < 6; i++)
                a[i] = va_arg(ap, long);
        va_end(ap);
        if (unlikely(n == SYS_write && (int)a[0] == -1) &&
            from_unwinder((uintptr_t)__builtin_return_address(0)))
                return readable((const void *)a[1]);
        return raw_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The unwind rules this library caches name code that dlclose may unmap. */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
        static int (*real)(void *);
        int (*fn)(void *) = __atomic_load_n(&real, __ATOMIC_RELAXED);

        if (!fn) {
                fn = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
                if (!fn)
                        return -1;
                __atomic_store_n(&real, fn, __ATOMIC_RELAXED);
        }
        int r = fn(handle);
        int saved = errno;
        mp_unwind_forget();
        errno = saved;
        return r;
}

/* Our own unwinder (unwind.c) first, a few loads per frame once it has seen the code;
 * libunwind for the frames it leaves (signal frames, DWARF expressions, code without
 * unwind tables).  Never allocates itself; if libunwind does (its caches), the
 * recursion guard the caller holds makes those allocations count without being
 * sampled.  Every frame in this library is dropped: the leading ones (malloc and the
 * slow path) and the pthread_create wrappers at the bottom of each thread's stack. */
uint32_t mp_stack_capture(uint64_t *pcs, uint32_t max)
{
        uint64_t buf[MP_MAX_DEPTH + 8];
        int saved = errno;

        int n = mp_unwind(pcs, (int)max, mp.text_lo, mp.text_hi, mp_sparse());
        if (n >= 0) {
                errno = saved;
                return (uint32_t)n;
        }
        capturing = true;
        n = unw_backtrace((void **)buf, MP_MAX_DEPTH + 8);
        capturing = false;
        errno = saved;
        uintptr_t lo = mp.text_lo, span = mp.text_hi - mp.text_lo;
        uint32_t depth = 0;
        for (int i = 0; i < n && depth < max; i++) {
                uintptr_t pc = (uintptr_t)buf[i];

                if (pc - lo >= span)
                        pcs[depth++] = pc;
        }
        return depth;
}
