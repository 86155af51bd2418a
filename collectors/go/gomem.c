/* Reading a Go target's memory with process_vm_readv: bounded, never stopping it. */
#include <errno.h>
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

void go_mem_init_pid(struct go_mem *m, pid_t pid)
{
        *m = (struct go_mem){.read = read_pid, .ctx = (void *)(intptr_t)pid};
}

int go_mem_read(struct go_mem *m, uint64_t addr, void *buf, size_t len)
{
        uint64_t end;

        if (len == 0)
                return 0;
        if (addr == 0 || len > GO_MEM_READ_MAX || __builtin_add_overflow(addr, len, &end) ||
            end > (1ull << 47))
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
