/* The one write the collector makes into a Go process: runtime.MemProfileRate, which
 * turns the runtime's own heap sampling on (memprof attach). */
#include <errno.h>
#include <sys/uio.h>

#include "gobinary.h"
#include "goruntime.h"

int go_write_mem_profile_rate(struct go_target *t, uint64_t rate, uint64_t *ret_old)
{
        const struct go_layout *l = &t->bin->layout;
        uint64_t addr, old;
        uint8_t b[8];
        struct iovec local = {.iov_base = b, .iov_len = sizeof(b)}, remote;
        ssize_t n;
        int r;

        if (!t->bin->layout_ok || !l->mem_profile_rate.ok || !l->mem_profile_rate_v.ok ||
            l->mem_profile_rate_v.size != 8 || l->mem_profile_rate.size != 8 || !l->bucket.ok ||
            !l->mbuckets.ok)
                return -ENOTSUP;
        if (rate == 0 || rate > GO_MEM_PROFILE_RATE_MAX)
                return -EINVAL;
        addr = t->bias + l->mem_profile_rate.addr;
        /* reading first checks the address is mapped and the access allowed */
        r = go_mem_read_uint(&t->mem, addr, 8, &old);
        if (r < 0)
                return r;
        for (int i = 0; i < 8; i++)
                b[i] = (uint8_t)(rate >> (8 * i));
        remote = (struct iovec){.iov_base = (void *)(uintptr_t)addr, .iov_len = sizeof(b)};
        /* the kernel applies the ptrace access rule to the caller, as for reading */
        n = process_vm_writev(t->pid, &local, 1, &remote, 1, 0);
        if (n < 0)
                return errno == EPERM || errno == EACCES ? -EPERM
                       : errno == ESRCH                  ? -ESRCH
                                                         : -EFAULT;
        if (n != (ssize_t)sizeof(b))
                return -EFAULT;
        *ret_old = old;
        return 0;
}
