/* Copies what the unwinder needs out of a stopped thread, in as few syscalls as possible. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <time.h>

#include "capture.h"

/* PEEKDATA word by word: only where process_vm_readv is unavailable (seccomp, old kernel),
 * so bounded small. */
static ssize_t peek_copy(pid_t tid, uint64_t addr, uint8_t *buf, size_t len)
{
        size_t done = 0;

        if (len > CAPTURE_STACK_LEAN)
                len = CAPTURE_STACK_LEAN;
        while (done + sizeof(long) <= len) {
                long w;

                errno = 0;
                w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(addr + done), NULL);
                if (errno)
                        break;
                memcpy(buf + done, &w, sizeof(w));
                done += sizeof(w);
        }
        return done ? (ssize_t)done : -1;
}

static int copy_range(pid_t tid, uint64_t start, uint64_t end,
                      const struct map_range *m, struct stack_copy *ret)
{
        size_t len = (size_t)(end - start);
        struct iovec local, remote;
        uint8_t *buf;
        ssize_t n;

        if (end <= start)
                return -EINVAL;
        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        local = (struct iovec){ buf, len };
        remote = (struct iovec){ (void *)(uintptr_t)start, len };
        /* One call for the whole range; a short count (the range ran into a hole) is fine. */
        n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        if (n < 0 && (errno == ENOSYS || errno == EPERM))
                n = peek_copy(tid, start, buf, len);
        if (n <= 0) {
                int r = n < 0 ? -errno : -EFAULT;

                free(buf);
                return r;
        }
        *ret = (struct stack_copy){
                .start = start,
                .len = (size_t)n,
                .data = buf,
                .map_start = m ? m->start : 0,
                .map_end = m ? m->end : 0,
        };
        return 0;
}

void capture_warm(pid_t pid, const struct map_table *maps)
{
        for (size_t i = 0; i < maps->n; i++) {
                uint64_t word;
                struct iovec local = { &word, sizeof(word) };
                struct iovec remote = { (void *)(uintptr_t)maps->ranges[i].start, sizeof(word) };

                if (!maps->ranges[i].readable || !maps->ranges[i].writable)
                        continue;
                /* the outcome does not matter: a failed read warms nothing and costs nothing */
                (void)process_vm_readv(pid, &local, 1, &remote, 1, 0);
                return;
        }
}

static bool copy_load(const struct stack_copy *c, uint64_t addr, uint64_t *ret)
{
        if (addr < c->start || addr - c->start > c->len || c->len - (addr - c->start) < 8)
                return false;
        memcpy(ret, c->data + (addr - c->start), 8);
        return true;
}

/* Follows the frame-pointer chain through the copy; returns where it leaves for another
 * writable mapping (a stack switch), or 0. */
static uint64_t find_hop(const struct stack_copy *c, uint64_t bp, const struct map_table *maps)
{
        for (int i = 0; i < 512; i++) {
                const struct map_range *m;
                uint64_t next;

                if ((bp & 7) || !copy_load(c, bp, &next) || next == 0)
                        return 0;
                if (next > bp && next < c->start + c->len) {
                        bp = next;
                        continue;
                }
                if (c->map_end && next >= c->map_start && next < c->map_end)
                        return 0; /* backwards within the stack: not a frame chain */
                /* only to anonymous memory: a stack is never file-backed, while a
                 * register that is no frame pointer may well lead into a binary's .data,
                 * whose live reads (a personality pointer) the copy would then hide */
                m = map_table_find(maps, next);
                return m && m->writable && m->readable && m->inode == 0 && !(next & 7) ? next
                                                                                       : 0;
        }
        return 0;
}

int capture_thread(const struct map_table *maps, struct thread_capture *t,
                   size_t *budget)
{
        struct iovec iov = { &t->regs, sizeof(t->regs) };
        const struct map_range *m;
        uint64_t sp, end, hop;
        size_t want;
        int r;

        if (ptrace(PTRACE_GETREGSET, t->tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0)
                return -errno;
        t->have_regs = true;

        sp = t->regs.rsp;
        want = *budget >= CAPTURE_STACK_MAX ? CAPTURE_STACK_MAX : CAPTURE_STACK_LEAN;
        m = map_table_find(maps, sp);
        /* A stack mapped after we read the maps: copy what is there, the read stops at a hole. */
        end = m ? (m->end - sp < want ? m->end : sp + want) : sp + want;
        r = copy_range(t->tid, sp, end, m, &t->copies[0]);
        if (r < 0)
                return r;
        t->ncopies = 1;
        *budget -= *budget > t->copies[0].len ? t->copies[0].len : *budget;

        hop = find_hop(&t->copies[0], t->regs.rbp, maps);
        if (hop) {
                m = map_table_find(maps, hop);
                end = m->end - hop < CAPTURE_HOP_MAX ? m->end : hop + CAPTURE_HOP_MAX;
                if (copy_range(t->tid, hop, end, m, &t->copies[1]) == 0)
                        t->ncopies = 2;
        }
        return 0;
}

void capture_release(struct thread_capture *t)
{
        for (size_t i = 0; i < t->ncopies; i++) {
                free(t->copies[i].data);
                t->copies[i].data = NULL;
        }
        t->ncopies = 0;
}
