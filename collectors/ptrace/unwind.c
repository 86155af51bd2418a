/* Unwinding a copy: registers and stack come from the capture, taken while the thread
 * was stopped.  First with the .eh_frame rules of ehframe.c over tables kept per binary
 * (ehcache.c): CFA, return address and RBP, which is all that ordinary compiled code
 * needs.  A thread with a frame those rules cannot do (a signal frame, a DWARF
 * expression, code without tables) is walked again by libunwind, whose reads of
 * .eh_frame and code are read-only mapped file data, sound to read live after the
 * resume; its tables come from libunwind-ptrace's _UPT_find_proc_info, which maps the
 * ELF files per lookup.  Where tables are missing (Go), frame pointers. */
#include <errno.h>
#include <libunwind-ptrace.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "ehcache.h"
#include "ehframe.h"
#include "unwind.h"

#define CACHE_LINES 16
#define CACHE_LINE 4096u

struct cache_line {
        uint64_t base; /* page address; valid only if len */
        size_t len;
        uint8_t data[CACHE_LINE];
};

/* A mapping's tables, looked up at most once per collection. */
struct map_tables {
        struct eh_tables *tables; /* NULL: none (looked up if !looked) */
        uint64_t bias;
        bool looked;
};

struct unwinder {
        pid_t pid;
        const struct map_table *maps;
        struct map_tables *per_map; /* parallel to maps->ranges */
        unw_addr_space_t as;        /* libunwind's, made at its first use */
        void *upt;
        const struct thread_capture *cur;
        struct cache_line cache[CACHE_LINES];
};

/* libunwind hands our accessors the argument of whoever called it: ours from unw_step,
 * the _UPT context from inside _UPT_find_proc_info.  Both run in this thread, inside
 * unwinder_unwind, so the unwinder in use is kept here. */
static __thread struct unwinder *current;

/* Live memory outside the stacks, a page at a time through a small cache. */
static int cached_read(struct unwinder *u, uint64_t addr, uint8_t *out, size_t len)
{
        while (len > 0) {
                uint64_t base = addr & ~(uint64_t)(CACHE_LINE - 1);
                struct cache_line *l = &u->cache[(base / CACHE_LINE) % CACHE_LINES];
                size_t off = (size_t)(addr - base), n;

                if (!l->len || l->base != base) {
                        struct iovec local = { l->data, CACHE_LINE };
                        struct iovec remote = { (void *)(uintptr_t)base, CACHE_LINE };
                        ssize_t got = process_vm_readv(u->pid, &local, 1, &remote, 1, 0);

                        l->len = got > 0 ? (size_t)got : 0;
                        l->base = base;
                }
                if (off >= l->len)
                        return -EFAULT;
                n = l->len - off < len ? l->len - off : len;
                memcpy(out, l->data + off, n);
                out += n;
                addr += n;
                len -= n;
        }
        return 0;
}

static int read_word(struct unwinder *u, uint64_t addr, uint64_t *ret)
{
        const struct thread_capture *t = u->cur;

        for (size_t i = 0; i < t->ncopies; i++) {
                const struct stack_copy *c = &t->copies[i];

                if (addr >= c->start && addr - c->start <= c->len && c->len - (addr - c->start) >= 8) {
                        memcpy(ret, c->data + (addr - c->start), 8);
                        return 0;
                }
        }
        /* The rest of a stack has changed since the resume: never read it live. */
        for (size_t i = 0; i < t->ncopies; i++)
                if (addr >= t->copies[i].map_start && addr < t->copies[i].map_end)
                        return -EFAULT;
        return cached_read(u, addr, (uint8_t *)ret, 8);
}

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
                              int need_unwind_info, void *arg)
{
        return _UPT_find_proc_info(as, ip, pi, need_unwind_info, current->upt);
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
        _UPT_put_unwind_info(as, pi, current->upt);
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap, void *arg)
{
        return -UNW_ENOINFO; /* no JIT registrations: reading them would need the target */
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
                          void *arg)
{
        uint64_t v;

        if (write)
                return -UNW_EINVAL;
        if (read_word(current, addr, &v) < 0)
                return -UNW_EINVAL;
        *valp = v;
        return 0;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *valp, int write,
                          void *arg)
{
        const struct user_regs_struct *r = &current->cur->regs;

        if (write)
                return -UNW_EREADONLYREG;
        switch (reg) {
        case UNW_X86_64_RAX: *valp = r->rax; break;
        case UNW_X86_64_RDX: *valp = r->rdx; break;
        case UNW_X86_64_RCX: *valp = r->rcx; break;
        case UNW_X86_64_RBX: *valp = r->rbx; break;
        case UNW_X86_64_RSI: *valp = r->rsi; break;
        case UNW_X86_64_RDI: *valp = r->rdi; break;
        case UNW_X86_64_RBP: *valp = r->rbp; break;
        case UNW_X86_64_RSP: *valp = r->rsp; break;
        case UNW_X86_64_R8: *valp = r->r8; break;
        case UNW_X86_64_R9: *valp = r->r9; break;
        case UNW_X86_64_R10: *valp = r->r10; break;
        case UNW_X86_64_R11: *valp = r->r11; break;
        case UNW_X86_64_R12: *valp = r->r12; break;
        case UNW_X86_64_R13: *valp = r->r13; break;
        case UNW_X86_64_R14: *valp = r->r14; break;
        case UNW_X86_64_R15: *valp = r->r15; break;
        case UNW_X86_64_RIP: *valp = r->rip; break;
        default: return -UNW_EBADREG;
        }
        return 0;
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
                            int write, void *arg)
{
        return -UNW_EBADREG;
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
        return -UNW_EINVAL;
}

static int acc_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
                             unw_word_t *offp, void *arg)
{
        return -UNW_ENOINFO; /* names come from the symbolizer */
}

static unw_accessors_t accessors = {
        .find_proc_info = acc_find_proc_info,
        .put_unwind_info = acc_put_unwind_info,
        .get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
        .access_mem = acc_access_mem,
        .access_reg = acc_access_reg,
        .access_fpreg = acc_access_fpreg,
        .resume = acc_resume,
        .get_proc_name = acc_get_proc_name,
};

int unwinder_new(pid_t pid, const struct map_table *maps, struct unwinder **ret)
{
        struct unwinder *u = calloc(1, sizeof(*u));

        if (!u)
                return -ENOMEM;
        u->pid = pid;
        u->maps = maps;
        u->per_map = calloc(maps->n ? maps->n : 1, sizeof(*u->per_map));
        if (!u->per_map) {
                free(u);
                return -ENOMEM;
        }
        *ret = u;
        return 0;
}

/* libunwind, for the threads the rules cannot do: made once per collection. */
static int libunwind_ready(struct unwinder *u)
{
        if (u->as && u->upt)
                return 0;
        if (!u->as)
                u->as = unw_create_addr_space(&accessors, 0);
        if (u->as && !u->upt) {
                unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
                u->upt = _UPT_create(u->pid);
        }
        return u->as && u->upt ? 0 : -ENOMEM;
}

void unwinder_free(struct unwinder *u)
{
        if (!u)
                return;
        for (size_t i = 0; i < u->maps->n; i++)
                eh_tables_put(u->per_map[i].tables);
        free(u->per_map);
        if (u->as)
                unw_destroy_addr_space(u->as);
        if (u->upt)
                _UPT_destroy(u->upt);
        free(u);
}

/* The rule for the code at pc, R_UNSUPPORTED where the mapping has no tables of ours. */
static uint64_t rule_at(struct unwinder *u, uint64_t pc)
{
        const struct map_range *m = map_table_find(u->maps, pc);
        struct map_tables *mt;

        if (!m || !m->executable || m->inode == 0)
                return R_UNSUPPORTED;
        mt = &u->per_map[m - u->maps->ranges];
        if (!mt->looked) {
                mt->looked = true;
                if (eh_tables_get(u->pid, m, &mt->tables, &mt->bias) < 0)
                        mt->tables = NULL;
        }
        return mt->tables ? eh_tables_rule(mt->tables, pc - mt->bias) : R_UNSUPPORTED;
}

/* The walk with .eh_frame rules alone.  0 when it ended cleanly (an outermost frame, a
 * zero return address, max frames); -ENOTSUP when some frame needs libunwind. */
static int rules_walk(struct unwinder *u, const struct thread_capture *t, uint64_t *pcs,
                      size_t max, size_t *ret_n)
{
        uint64_t pc = t->regs.rip, sp = t->regs.rsp, bp = t->regs.rbp;
        size_t n = 0;

        pcs[n++] = pc;
        while (n < max) {
                /* a return address may be just past a call that does not return: the
                 * call itself is what belongs to the caller's frame */
                uint64_t rule = rule_at(u, n == 1 ? pc : pc - 1), cfa, ra;

                if (rule & R_UNSUPPORTED)
                        return -ENOTSUP;
                if (rule & R_OUTERMOST)
                        break;
                cfa = (rule & R_CFA_RBP ? bp : sp) +
                      (uint64_t)(int64_t)(int32_t)(rule >> R_CFA_SHIFT);
                if (cfa <= sp || read_word(u, cfa - 8, &ra) < 0)
                        return -ENOTSUP;
                if (rule & R_RBP_SAVED &&
                    read_word(u, cfa + (uint64_t)(int64_t)(int16_t)(rule >> R_RBP_SHIFT), &bp) < 0)
                        return -ENOTSUP;
                if (ra == 0)
                        break;
                pcs[n++] = ra;
                pc = ra;
                sp = cfa;
        }
        *ret_n = n;
        return 0;
}

static int copy_index(const struct thread_capture *t, uint64_t addr)
{
        for (size_t i = 0; i < t->ncopies; i++)
                if (addr >= t->copies[i].start && addr - t->copies[i].start < t->copies[i].len)
                        return (int)i;
        return -1;
}

/* Frame pointers through the copied stacks: each record [bp] = caller's bp, [bp+8] = return
 * address.  Sane only while bp rises within a copy or moves on to a later copy, and each
 * return address lies in executable memory. */
static void fp_walk(struct unwinder *u, uint64_t bp, uint64_t *pcs, size_t max, size_t *n)
{
        const struct thread_capture *t = u->cur;
        int seg = copy_index(t, bp);

        while (*n < max && seg >= 0 && !(bp & 7)) {
                const struct map_range *m;
                uint64_t next, ret;
                int nseg;

                if (read_word(u, bp, &next) < 0 || read_word(u, bp + 8, &ret) < 0 || ret == 0)
                        return;
                m = map_table_find(u->maps, ret);
                if (!m || !m->executable)
                        return;
                pcs[(*n)++] = ret;
                nseg = copy_index(t, next);
                if (nseg < seg || (nseg == seg && next <= bp))
                        return;
                seg = nseg;
                bp = next;
        }
}

/* Whether addr follows a call instruction: E8 rel32, or FF /2 in its 2, 3 and 6 byte forms. */
static bool after_call(struct unwinder *u, uint64_t addr)
{
        uint8_t b[8];

        if (addr < 8 || cached_read(u, addr - 8, b, sizeof(b)) < 0)
                return false;
        return b[3] == 0xe8 || (b[6] == 0xff && ((b[7] >> 3) & 7) == 2) ||
               (b[5] == 0xff && ((b[6] >> 3) & 7) == 2) || (b[2] == 0xff && ((b[3] >> 3) & 7) == 2);
}

/* A function without unwind tables interrupted before it set up a frame (Go's NOFRAME
 * assembly, like runtime.futex) has its return address at [sp], and the frame-pointer
 * guess skips its caller.  Found only if it looks like one: executable, after a call. */
static uint64_t leaf_return(struct unwinder *u, const struct thread_capture *t)
{
        const struct map_range *m;
        uint64_t ret;

        if (read_word(u, t->regs.rsp, &ret) < 0)
                return 0;
        m = map_table_find(u->maps, ret);
        return m && m->executable && after_call(u, ret) ? ret : 0;
}

int unwinder_unwind(struct unwinder *u, const struct thread_capture *t, uint64_t *pcs,
                    size_t max, size_t *ret_n)
{
        unw_word_t bp = t->regs.rbp;
        uint64_t leaf = 0;
        unw_cursor_t c;
        size_t n = 0;
        int r;

        if (max == 0 || !t->have_regs)
                return -EINVAL;
        current = u;
        u->cur = t;
        if (rules_walk(u, t, pcs, max, ret_n) == 0) {
                u->cur = NULL;
                current = NULL;
                return 0;
        }
        r = libunwind_ready(u);
        if (r < 0) {
                u->cur = NULL;
                current = NULL;
                return r;
        }
        pcs[n++] = t->regs.rip;
        r = unw_init_remote(&c, u->as, u);
        if (r == 0) {
                unw_proc_info_t pi;

                /* without tables libunwind reports a made-up one-byte procedure */
                if (max > 1 && (unw_get_proc_info(&c, &pi) < 0 || pi.end_ip - pi.start_ip <= 1))
                        leaf = leaf_return(u, t);
                while (n < max) {
                        unw_word_t ip, b;

                        r = unw_step(&c);
                        if (r <= 0)
                                break;
                        if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0) {
                                r = 1; /* a clean end of the chain */
                                break;
                        }
                        pcs[n++] = ip;
                        /* kept from the frame reached: a failed step may clear the cursor's */
                        bp = unw_get_reg(&c, UNW_X86_64_RBP, &b) == 0 ? b : 0;
                }
        }
        /* libunwind gave up (no tables, or its own frame-pointer guess refused a stack
         * switch): carry on with frame pointers from the last frame it reached. */
        if (r <= 0 && bp && n < max)
                fp_walk(u, bp, pcs, max, &n);
        if (leaf && (n < 2 || pcs[1] != leaf)) {
                if (n == max)
                        n--;
                memmove(&pcs[2], &pcs[1], (n - 1) * sizeof(*pcs));
                pcs[1] = leaf;
                n++;
        }
        u->cur = NULL;
        current = NULL;
        *ret_n = n;
        return 0;
}
