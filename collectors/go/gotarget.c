/* A Go process opened for reading: its executable recognised, the cached layout and
 * the load bias at hand. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gobinary.h"
#include "goruntime.h"

#define VERSION_LEN_MAX 40

/* runtime.buildVersion, a Go string, when .go.buildinfo did not hold it inline. */
static void version_from_memory(struct go_target *t)
{
        const struct go_layout *l = &t->bin->layout;
        uint64_t ptr, len;
        char buf[VERSION_LEN_MAX + 1];

        if (!l->build_version_ptr.ok || !l->build_version_len.ok)
                return;
        if (go_mem_read_uint(&t->mem, t->bias + l->build_version.addr + l->build_version_ptr.off, 8,
                             &ptr) < 0 ||
            go_mem_read_uint(&t->mem, t->bias + l->build_version.addr + l->build_version_len.off, 8,
                             &len) < 0)
                return;
        if (len == 0 || len > VERSION_LEN_MAX || go_mem_read(&t->mem, ptr, buf, len) < 0)
                return;
        buf[len] = '\0';
        for (size_t i = 0; i < len; i++)
                if (buf[i] < 0x21 || buf[i] > 0x7e)
                        return; /* a version is printable: anything else is not shown */
        memcpy(t->version, buf, len + 1);
}

int go_target_open(pid_t pid, struct go_target **ret)
{
        char path[64];
        struct stat st;
        struct go_target *t;
        int fd, r;

        snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -ENOEXEC;
        }
        t = calloc(1, sizeof(*t));
        if (!t) {
                close(fd);
                return -ENOMEM;
        }
        t->pid = pid;
        go_mem_init_pid(&t->mem, pid);
        r = go_binary_get(fd, &st, &t->bin);
        close(fd);
        if (r < 0) {
                free(t);
                return r;
        }
        snprintf(t->version, sizeof(t->version), "%s", t->bin->version);
        if (t->bin->layout_ok) {
                r = go_binary_bias(t->bin, pid, &st, &t->bias);
                if (r < 0) {
                        go_target_free(t);
                        return r;
                }
                if (!t->version[0])
                        version_from_memory(t);
        }
        *ret = t;
        return 0;
}

void go_target_free(struct go_target *t)
{
        if (!t)
                return;
        if (t->bin)
                go_binary_unref(t->bin);
        free(t);
}

const char *go_target_unusable(const struct go_target *t)
{
        return t->bin->layout_ok ? NULL : t->bin->why;
}
