/* Reading a Go target's memory with process_vm_readv: bounded, never stopping it. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>

#include "gomem.h"

static int read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
        pid_t pid = (pid_t)(intptr_t)ctx;
        struct iovec local = {.iov_base = buf, .iov_len = len};
        struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

        if (n < 0)
                return errno == ESRCH ? -ESRCH : errno == EPERM ? -EPERM : -EFAULT;
        return (size_t)n == len ? 0 : -EFAULT;
}

#define READV_BATCH 1024 /* IOV_MAX: ranges per process_vm_readv */

/* process_vm_readv stops at the first range it cannot read: that one is read alone to
 * learn its error, and the batch goes on after it. */
static int readv_pid(void *ctx, struct go_iov *v, size_t n)
{
        pid_t pid = (pid_t)(intptr_t)ctx;
        struct iovec local[READV_BATCH], remote[READV_BATCH];
        size_t i = 0;

        while (i < n) {
                size_t k = n - i < READV_BATCH ? n - i : READV_BATCH, done = 0;
                ssize_t got;

                for (size_t j = 0; j < k; j++) {
                        local[j] = (struct iovec){.iov_base = v[i + j].buf, .iov_len = v[i + j].len};
                        remote[j] = (struct iovec){.iov_base = (void *)(uintptr_t)v[i + j].addr,
                                                   .iov_len = v[i + j].len};
                }
                got = process_vm_readv(pid, local, k, remote, k, 0);
                if (got < 0 && errno == ESRCH)
                        return -ESRCH;
                if (got < 0)
                        got = 0;
                while (done < k && (size_t)got >= v[i + done].len) {
                        got -= (ssize_t)v[i + done].len;
                        v[i + done++].error = 0;
                }
                if (done < k) {
                        struct go_iov *bad = &v[i + done++];

                        bad->error = read_pid(ctx, bad->addr, bad->buf, bad->len);
                        if (bad->error == -ESRCH)
                                return -ESRCH;
                }
                i += done;
        }
        return 0;
}

void go_mem_init_pid(struct go_mem *m, pid_t pid)
{
        *m = (struct go_mem){.read = read_pid, .readv = readv_pid, .ctx = (void *)(intptr_t)pid};
}

static bool range_ok(uint64_t addr, size_t len)
{
        uint64_t end;

        return addr != 0 && len <= GO_MEM_READ_MAX && !__builtin_add_overflow(addr, len, &end) &&
               end <= (1ull << 47);
}

int go_mem_readv(struct go_mem *m, struct go_iov *v, size_t n)
{
        size_t start = 0;
        int r;

        /* the batch is cut at each range that is refused before any system call */
        for (size_t i = 0; i <= n; i++) {
                if (i < n && range_ok(v[i].addr, v[i].len) && v[i].len > 0)
                        continue;
                if (i > start) {
                        m->reads++;
                        if (m->readv) {
                                r = m->readv(m->ctx, v + start, i - start);
                                if (r < 0)
                                        return r;
                        } else {
                                for (size_t j = start; j < i; j++) {
                                        v[j].error = m->read(m->ctx, v[j].addr, v[j].buf, v[j].len);
                                        if (v[j].error == -ESRCH)
                                                return -ESRCH;
                                }
                        }
                }
                if (i < n)
                        v[i].error = v[i].len == 0 ? 0 : -EFAULT;
                start = i + 1;
        }
        return 0;
}

int go_mem_read(struct go_mem *m, uint64_t addr, void *buf, size_t len)
{
        if (len == 0)
                return 0;
        if (!range_ok(addr, len))
                return -EFAULT;
        m->reads++;
        return m->read(m->ctx, addr, buf, len);
}

int go_mem_read_uint(struct go_mem *m, uint64_t addr, unsigned size, uint64_t *ret)
{
        uint8_t b[8] = {0};
        uint64_t v = 0;
        int r;

        if (size != 1 && size != 2 && size != 4 && size != 8)
                return -EINVAL;
        r = go_mem_read(m, addr, b, size);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < size; i++)
                v |= (uint64_t)b[i] << (8 * i);
        *ret = v;
        return 0;
}
