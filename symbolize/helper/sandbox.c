/* The helper's confinement: unprivileged ids, no capabilities, limits, a seccomp filter
 * that allows reading passed fds and memory management, and no path lookups. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp filter: add this architecture's AUDIT_ARCH"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(n) (offsetof(struct seccomp_data, args[n]))
#else
#define ARG_LOW(n) (offsetof(struct seccomp_data, args[n]) + 4)
#endif

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ALLOW(nr)                                                                          \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                   \
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define REFUSE(nr, err)                                                                    \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                   \
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))
/* mmap and mprotect, but never of executable memory: the helper runs no new code. */
#define ALLOW_NOEXEC(nr)                                                                   \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 4),                                   \
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(2)),                            \
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 1, 0),                     \
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                              \
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

/* What libdw, libelf, glibc's malloc and stdio need to read passed fds and answer on
 * the socket.  Path lookups (open, openat, readlink, access) fail with EACCES: libraries
 * that try one carry on without.  fstat is newfstatat(fd, "", AT_EMPTY_PATH) in glibc,
 * which seccomp cannot tell from a stat of a path: a path's existence is all it shows,
 * and only what the helper's uid may see.  Anything else kills the helper. */
static struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        LOAD_NR,
#ifdef __x86_64__
        /* x32 numbers alias the 64-bit ones */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
        ALLOW(__NR_read),
        ALLOW(__NR_write),
        ALLOW(__NR_writev),
        ALLOW(__NR_pread64),
        ALLOW(__NR_lseek),
        ALLOW(__NR_close),
        ALLOW(__NR_fstat),
        ALLOW(__NR_newfstatat),
        ALLOW(__NR_fcntl),
        ALLOW(__NR_recvmsg),
        ALLOW(__NR_sendmsg),
        ALLOW(__NR_poll),
        ALLOW(__NR_ppoll),
        ALLOW_NOEXEC(__NR_mmap),
        ALLOW_NOEXEC(__NR_mprotect),
        ALLOW(__NR_munmap),
        ALLOW(__NR_mremap),
        ALLOW(__NR_brk),
        ALLOW(__NR_madvise),
        ALLOW(__NR_futex),
        ALLOW(__NR_clock_gettime),
        ALLOW(__NR_gettimeofday),
        ALLOW(__NR_getrandom),
        ALLOW(__NR_sysinfo), /* glibc's qsort sizes its buffer by the machine's memory */
        ALLOW(__NR_sched_yield),
        ALLOW(__NR_restart_syscall),
        ALLOW(__NR_rt_sigreturn),
        ALLOW(__NR_rt_sigprocmask), /* abort() */
        ALLOW(__NR_rt_sigaction),
        ALLOW(__NR_getpid),
        ALLOW(__NR_gettid),
        ALLOW(__NR_tgkill),
        ALLOW(__NR_sigaltstack),
        ALLOW(__NR_prlimit64),
        ALLOW(__NR_exit),
        ALLOW(__NR_exit_group),
#ifdef __NR_open
        REFUSE(__NR_open, EACCES),
#endif
        REFUSE(__NR_openat, EACCES),
#ifdef __NR_openat2
        REFUSE(__NR_openat2, EACCES),
#endif
#ifdef __NR_readlink
        REFUSE(__NR_readlink, EACCES),
#endif
        REFUSE(__NR_readlinkat, EACCES),
#ifdef __NR_access
        REFUSE(__NR_access, EACCES),
#endif
        REFUSE(__NR_faccessat, EACCES),
        REFUSE(__NR_ioctl, ENOTTY),
        REFUSE(__NR_statx, ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};

static int drop_ids(void) {
        /* The bounding set first, while CAP_SETPCAP is still held: no later execve (none
         * is allowed anyway) could regain a capability. */
        for (int cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        if (setgroups(0, NULL) < 0 || setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) < 0 ||
            setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) < 0)
                return -errno;
        /* Leaving uid 0 cleared the permitted and effective sets; make sure. */
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        uid_t ru, eu, su;
        if (getresuid(&ru, &eu, &su) < 0 || ru != SANDBOX_UID || eu != SANDBOX_UID ||
            su != SANDBOX_UID || setuid(0) == 0)
                return -EPERM;
        return 0;
}

static int set_limit(int resource, rlim_t value) {
        struct rlimit l = { value, value };
        return setrlimit(resource, &l) < 0 ? -errno : 0;
}

int sandbox_enter(int keep_fd) {
        int r;
        /* Everything but the socket and stderr (where a crash report would go). */
        for (int fd = 0; fd < 3; fd++)
                if (fd != keep_fd && fd != STDERR_FILENO)
                        close(fd);
        if (syscall(SYS_close_range, (unsigned) (keep_fd > 2 ? keep_fd + 1 : 3), ~0u, 0) < 0)
                return -errno;
        for (int fd = 3; fd < keep_fd; fd++)
                close(fd);

        if (geteuid() == 0 && (r = drop_ids()) < 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return -errno;
        if ((r = set_limit(RLIMIT_CORE, 0)) < 0 ||
            (r = set_limit(RLIMIT_NOFILE, SANDBOX_MAX_FILES)) < 0 ||
            (r = set_limit(RLIMIT_FSIZE, 0)) < 0 || (r = set_limit(RLIMIT_NPROC, 0)) < 0)
                return r;
#if !defined(__SANITIZE_ADDRESS__)
        /* AddressSanitizer reserves terabytes of shadow address space at start: a
         * sanitizer build runs its helper without this bound (the explicit bounds on
         * inflated sections and mapped files still hold). */
        if ((r = set_limit(RLIMIT_AS, SANDBOX_MAX_AS)) < 0)
                return r;
#endif
        struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
