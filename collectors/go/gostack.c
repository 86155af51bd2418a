/* A parked goroutine's stack walked by frame pointers.  Go on amd64 keeps a frame
 * pointer in every frame that calls another (the runtime's own execution tracer and, since
 * 1.23, its block profile unwind that way), so the chain from the saved context is the
 * goroutine's stack: two loads per frame, no tables.  pclntab's per-pc frame sizes would
 * need a decoder per pclntab version for the same answer. */
#include <string.h>

#include "gostack.h"

#define SLOT_SEARCH_MAX 4096 /* bytes of the parking function's frame searched */

struct window {
        struct go_stack_copy c;
        uint8_t *buf; /* GO_STACK_READ_MAX bytes for reads beyond the copy */
};

static bool word(const struct go_stack_copy *c, uint64_t addr, uint64_t *ret)
{
        if (addr < c->addr || addr - c->addr > c->len || c->len - (addr - c->addr) < 8)
                return false;
        memcpy(ret, c->data + (addr - c->addr), 8); /* amd64: the target's byte order */
        return true;
}

/* The two words of the frame record at fp, from the copy, or from memory beyond it. */
static bool frame_record(struct go_mem *mem, const struct go_stack_start *s, struct window *w,
                         uint64_t fp, uint64_t *ret_next, uint64_t *ret_ret)
{
        size_t len;

        if (word(&w->c, fp, ret_next) && word(&w->c, fp + 8, ret_ret))
                return true;
        len = s->hi - fp < GO_STACK_READ_MAX ? s->hi - fp : GO_STACK_READ_MAX;
        if (len < 16 || go_mem_read(mem, fp, w->buf, len) < 0)
                return false;
        w->c = (struct go_stack_copy){.addr = fp, .data = w->buf, .len = len};
        return word(&w->c, fp, ret_next) && word(&w->c, fp + 8, ret_ret);
}

static bool in_text(const struct go_stack_start *s, uint64_t pc)
{
        return pc > s->text_lo && pc <= s->text_hi;
}

/*
 * Since Go 1.21 mcall saves its caller's caller's frame pointer (the value at the parking
 * function's BP: "storing BP as it is can cause a frame pointer cycle"), so the chain
 * from g.sched.bp skips the parking function's own return address.  Its frame record is
 * the slot between sp and bp that holds bp, followed by a return address; 1.19's mcall
 * saves the parking function's BP itself, where no such slot exists and nothing is added.
 */
static bool skipped_return(const struct go_stack_start *s, const struct go_stack_copy *c,
                           uint64_t *ret)
{
        uint64_t end = s->bp < s->sp + SLOT_SEARCH_MAX ? s->bp : s->sp + SLOT_SEARCH_MAX;

        for (uint64_t a = (s->sp + 7) & ~7ull; a + 16 <= end; a += 8) {
                uint64_t v, r;

                if (!word(c, a, &v) || !word(c, a + 8, &r))
                        return false;
                if (v == s->bp && in_text(s, r)) {
                        *ret = r;
                        return true;
                }
        }
        return false;
}

uint32_t go_stack_walk(struct go_mem *mem, const struct go_stack_start *s,
                       const struct go_stack_copy *copy, uint8_t *scratch, uint64_t *pcs,
                       uint32_t max, bool *ret_truncated)
{
        struct window w = {.buf = scratch};
        uint64_t fp = s->bp, low, next, ret;
        uint32_t n = 0;

        *ret_truncated = false;
        if (max == 0 || s->pc == 0)
                return 0;
        w.c = *copy;
        if (s->pc == s->startpc && s->bp == 0) {
                /* never ran: at its entry, goexit's return address pushed below */
                pcs[n++] = s->pc + 1;
                if (n < max && word(&w.c, s->sp, &ret) && in_text(s, ret))
                        pcs[n++] = ret;
                return n;
        }
        pcs[n++] = s->pc;
        if (n < max && skipped_return(s, &w.c, &ret))
                pcs[n++] = ret;
        low = s->sp;
        while (fp != 0) {
                if ((fp & 7) || fp < low || fp >= s->hi || s->hi - fp < 16)
                        break; /* not a frame of this stack: the chain ends or was forged */
                if (!frame_record(mem, s, &w, fp, &next, &ret)) {
                        *ret_truncated = true;
                        break;
                }
                if (ret == 0 || !in_text(s, ret))
                        break;
                if (n == max) {
                        *ret_truncated = true;
                        break;
                }
                pcs[n++] = ret;
                low = fp + 16; /* frames only go up: a cycle cannot last */
                fp = next;
        }
        return n;
}
