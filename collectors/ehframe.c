/* Reading .eh_frame (see ehframe.h): the .eh_frame_hdr search table, the CIE and FDE,
 * and the call-frame program evaluated for the CFA, RBP and the return address only. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "ehframe.h"

#if defined(__x86_64__)

/* DWARF register numbers on x86-64 */
#define REG_RBP 6
#define REG_RSP 7


/* ---- reading the tables, bounded by the object's mapping ---- */

struct reader {
        const uint8_t *p, *end;
        bool bad;
};

static uint64_t read_n(struct reader *r, size_t n)
{
        uint64_t v = 0;

        if (r->bad || (size_t)(r->end - r->p) < n) {
                r->bad = true;
                return 0;
        }
        memcpy(&v, r->p, n); /* little-endian */
        r->p += n;
        return v;
}

static uint64_t read_uleb(struct reader *r)
{
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64; shift += 7) {
                uint8_t b = (uint8_t)read_n(r, 1);

                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        return v;
        }
        r->bad = true;
        return 0;
}

static int64_t read_sleb(struct reader *r)
{
        uint64_t v = 0;
        unsigned shift = 0;
        uint8_t b;

        do {
                b = (uint8_t)read_n(r, 1);
                if (shift < 64)
                        v |= (uint64_t)(b & 0x7f) << shift;
                shift += 7;
        } while ((b & 0x80) && !r->bad && shift < 70);
        if (shift < 64 && (b & 0x40))
                v |= ~UINT64_C(0) << shift;
        return (int64_t)v;
}

/* An unsigned operand that is a signed quantity (an offset); one beyond int64_t makes
 * the program unreadable rather than wrap into a small negative offset. */
static int64_t read_uleb_offset(struct reader *r)
{
        uint64_t v = read_uleb(r);

        if (v > INT64_MAX)
                r->bad = true;
        return r->bad ? 0 : (int64_t)v;
}

/* A factored offset: operand times the CIE's data alignment, refused when the product
 * does not fit (the file chooses both). */
static int64_t factor(struct reader *r, int64_t v, int64_t data_align)
{
        int64_t off;

        if (__builtin_mul_overflow(v, data_align, &off))
                r->bad = true;
        return r->bad ? 0 : off;
}

/* A DW_EH_PE-encoded pointer.  Indirect ones are only skipped (their value unused). */
static uint64_t read_encoded(struct reader *r, uint8_t enc, uint64_t datarel)
{
        uint64_t at = (uint64_t)(uintptr_t)r->p, v;

        switch (enc & 0x0f) {
        case 0x00: v = read_n(r, 8); break;
        case 0x01: v = read_uleb(r); break;
        case 0x02: v = read_n(r, 2); break;
        case 0x03: v = read_n(r, 4); break;
        case 0x04: v = read_n(r, 8); break;
        case 0x09: v = (uint64_t)read_sleb(r); break;
        case 0x0a: v = (uint64_t)(int64_t)(int16_t)read_n(r, 2); break;
        case 0x0b: v = (uint64_t)(int64_t)(int32_t)read_n(r, 4); break;
        case 0x0c: v = read_n(r, 8); break;
        default: r->bad = true; return 0;
        }
        switch (enc & 0x70) {
        case 0x00: return v;
        case 0x10: return v + at;
        case 0x30: return v + datarel;
        default: r->bad = true; return 0;
        }
}

/* ---- CIE and FDE ---- */

struct cie {
        uint64_t code_align;
        int64_t data_align;
        uint64_t ra_reg;
        uint8_t fde_enc;
        bool has_z, signal;
        const uint8_t *insns, *end;
};

static bool parse_cie(const uint8_t *at, const uint8_t *limit, struct cie *c)
{
        struct reader r = { at, limit, false };
        char aug[8];
        size_t naug = 0;
        uint64_t len = read_n(&r, 4);

        if (r.bad || len == 0 || len == 0xffffffff || len > (uint64_t)(limit - r.p))
                return false;
        r.end = r.p + len;
        if (read_n(&r, 4) != 0)
                return false; /* not a CIE */
        uint8_t version = (uint8_t)read_n(&r, 1);
        if (version != 1 && version != 3)
                return false;
        for (;;) {
                char ch = (char)read_n(&r, 1);

                if (r.bad || naug == sizeof(aug))
                        return false;
                aug[naug++] = ch;
                if (!ch)
                        break;
        }
        *c = (struct cie){ .fde_enc = 0, .end = r.end };
        c->code_align = read_uleb(&r);
        c->data_align = read_sleb(&r);
        c->ra_reg = version == 1 ? read_n(&r, 1) : read_uleb(&r);
        if (aug[0] == 'z') {
                uint64_t alen = read_uleb(&r);
                const uint8_t *aend;

                if (r.bad || alen > (uint64_t)(r.end - r.p))
                        return false;
                aend = r.p + alen;
                c->has_z = true;
                for (size_t i = 1; aug[i]; i++) {
                        if (aug[i] == 'R') {
                                c->fde_enc = (uint8_t)read_n(&r, 1);
                        } else if (aug[i] == 'P') {
                                uint8_t enc = (uint8_t)read_n(&r, 1);
                                (void)read_encoded(&r, enc & 0x7f, 0);
                        } else if (aug[i] == 'L') {
                                (void)read_n(&r, 1);
                        } else if (aug[i] == 'S') {
                                c->signal = true;
                        } else {
                                break; /* unknown: its data is skipped with the rest */
                        }
                }
                r.p = aend;
        } else if (aug[0]) {
                return false;
        }
        c->insns = r.p;
        return !r.bad && c->ra_reg == 16 && c->code_align != 0;
}

/* ---- the call-frame program, for CFA, RBP and the return address only ---- */

enum { HOW_SAME, HOW_OFFSET, HOW_OTHER };

struct row {
        uint64_t cfa_reg;
        int64_t cfa_off;
        uint8_t rbp_how, ra_how;
        int64_t rbp_off, ra_off;
        bool ra_undefined;
};

struct frame_program {
        const struct cie *cie;
        const struct row *initial; /* after the CIE's instructions: DW_CFA_restore */
        uint64_t loc, target;
};

static void set_rule(struct row *row, uint64_t reg, uint8_t how, int64_t off, uint64_t ra_reg)
{
        if (reg == REG_RBP) {
                row->rbp_how = how;
                row->rbp_off = off;
        } else if (reg == ra_reg) {
                row->ra_how = how;
                row->ra_off = off;
                row->ra_undefined = false;
        }
}

static void restore_rule(struct row *row, uint64_t reg, const struct row *initial,
                         uint64_t ra_reg)
{
        if (!initial)
                return;
        if (reg == REG_RBP) {
                row->rbp_how = initial->rbp_how;
                row->rbp_off = initial->rbp_off;
        } else if (reg == ra_reg) {
                row->ra_how = initial->ra_how;
                row->ra_off = initial->ra_off;
                row->ra_undefined = initial->ra_undefined;
        }
}

/* Runs instructions until the row that covers fp->target; false if it cannot tell. */
static bool run_program(struct frame_program *fp, const uint8_t *p, const uint8_t *end,
                        struct row *row)
{
        struct reader r = { p, end, false };
        const struct cie *c = fp->cie;
        struct row saved[8];
        size_t nsaved = 0;

        while (!r.bad && r.p < r.end) {
                uint8_t op = (uint8_t)read_n(&r, 1);
                uint64_t reg, delta = 0;
                int64_t off;
                bool advance = false;

                switch (op & 0xc0) {
                case 0x40:
                        delta = op & 0x3f;
                        advance = true;
                        break;
                case 0x80:
                        off = factor(&r, read_uleb_offset(&r), c->data_align);
                        set_rule(row, op & 0x3f, HOW_OFFSET, off, c->ra_reg);
                        continue;
                case 0xc0:
                        restore_rule(row, op & 0x3f, fp->initial, c->ra_reg);
                        continue;
                }
                if (!advance) {
                        switch (op) {
                        case 0x00: /* nop */
                                break;
                        case 0x02: delta = read_n(&r, 1); advance = true; break;
                        case 0x03: delta = read_n(&r, 2); advance = true; break;
                        case 0x04: delta = read_n(&r, 4); advance = true; break;
                        case 0x05: /* offset_extended */
                                reg = read_uleb(&r);
                                off = factor(&r, read_uleb_offset(&r), c->data_align);
                                set_rule(row, reg, HOW_OFFSET, off, c->ra_reg);
                                break;
                        case 0x11: /* offset_extended_sf */
                                reg = read_uleb(&r);
                                off = factor(&r, read_sleb(&r), c->data_align);
                                set_rule(row, reg, HOW_OFFSET, off, c->ra_reg);
                                break;
                        case 0x2f: /* GNU_negative_offset_extended */
                                reg = read_uleb(&r);
                                off = factor(&r, read_uleb_offset(&r), c->data_align);
                                if (__builtin_sub_overflow(0, off, &off))
                                        r.bad = true;
                                set_rule(row, reg, HOW_OFFSET, off, c->ra_reg);
                                break;
                        case 0x06: /* restore_extended */
                                restore_rule(row, read_uleb(&r), fp->initial, c->ra_reg);
                                break;
                        case 0x07: /* undefined */
                                reg = read_uleb(&r);
                                if (reg == c->ra_reg)
                                        row->ra_undefined = true;
                                else
                                        set_rule(row, reg, HOW_OTHER, 0, c->ra_reg);
                                break;
                        case 0x08: /* same_value */
                                set_rule(row, read_uleb(&r), HOW_SAME, 0, c->ra_reg);
                                break;
                        case 0x09: /* register */
                        case 0x14: /* val_offset: both a register and an unsigned operand */
                                reg = read_uleb(&r);
                                (void)read_uleb(&r);
                                set_rule(row, reg, HOW_OTHER, 0, c->ra_reg);
                                break;
                        case 0x0a: /* remember_state */
                                if (nsaved == sizeof(saved) / sizeof(saved[0]))
                                        return false;
                                saved[nsaved++] = *row;
                                break;
                        case 0x0b: /* restore_state: the CFA too, as GCC's epilogues expect */
                                if (nsaved == 0)
                                        return false;
                                *row = saved[--nsaved];
                                break;
                        case 0x0c: /* def_cfa */
                                row->cfa_reg = read_uleb(&r);
                                row->cfa_off = read_uleb_offset(&r);
                                break;
                        case 0x12: /* def_cfa_sf */
                                row->cfa_reg = read_uleb(&r);
                                row->cfa_off = factor(&r, read_sleb(&r), c->data_align);
                                break;
                        case 0x0d: /* def_cfa_register */
                                row->cfa_reg = read_uleb(&r);
                                break;
                        case 0x0e: /* def_cfa_offset */
                                row->cfa_off = read_uleb_offset(&r);
                                break;
                        case 0x13: /* def_cfa_offset_sf */
                                row->cfa_off = factor(&r, read_sleb(&r), c->data_align);
                                break;
                        case 0x0f: /* def_cfa_expression */
                                return false;
                        case 0x10: /* expression */
                        case 0x16: /* val_expression */
                                reg = read_uleb(&r);
                                {
                                        uint64_t n = read_uleb(&r);

                                        if (r.bad || n > (uint64_t)(r.end - r.p))
                                                return false;
                                        r.p += n;
                                }
                                set_rule(row, reg, HOW_OTHER, 0, c->ra_reg);
                                break;
                        case 0x15: /* val_offset_sf */
                                reg = read_uleb(&r);
                                (void)read_sleb(&r);
                                set_rule(row, reg, HOW_OTHER, 0, c->ra_reg);
                                break;
                        case 0x2e: /* GNU_args_size */
                                (void)read_uleb(&r);
                                break;
                        default: /* set_loc and anything newer */
                                return false;
                        }
                }
                /* a location past the address space is past the target too */
                if (advance && (__builtin_mul_overflow(delta, c->code_align, &delta) ||
                                __builtin_add_overflow(fp->loc, delta, &fp->loc) ||
                                fp->loc > fp->target))
                        return true;
        }
        return !r.bad;
}

uint64_t eh_rule_find(const uint8_t *hdr, const uint8_t *lo, const uint8_t *hi, uint64_t pc)
{
        /* offsets from the tables are compared as integers: a pointer moved outside
         * [lo, hi) would already be undefined */
        if (!hdr || hdr < lo || hdr > hi || hi - hdr < 4 || hdr[0] != 1 ||
            hdr[3] != 0x3b /* datarel sdata4 */)
                return R_UNSUPPORTED;

        /* .eh_frame_hdr: a sorted table of (first address, FDE), both hdr-relative */
        struct reader r = { hdr + 4, hi, false };
        (void)read_encoded(&r, hdr[1], (uint64_t)(uintptr_t)hdr);
        uint64_t count = read_encoded(&r, hdr[2], (uint64_t)(uintptr_t)hdr);
        const uint8_t *table = r.p;
        if (r.bad || count == 0 || count > (uint64_t)(hi - table) / 8)
                return R_UNSUPPORTED;
        uint64_t first = 0, last = count; /* find the last entry starting at or below pc */
        while (last - first > 1) {
                uint64_t mid = first + (last - first) / 2;
                int32_t start;

                memcpy(&start, table + mid * 8, 4);
                if ((uint64_t)(uintptr_t)hdr + (uint64_t)(int64_t)start <= pc)
                        first = mid;
                else
                        last = mid;
        }
        int32_t start_rel, fde_rel;
        memcpy(&start_rel, table + first * 8, 4);
        memcpy(&fde_rel, table + first * 8 + 4, 4);
        if ((uint64_t)(uintptr_t)hdr + (uint64_t)(int64_t)start_rel > pc)
                return R_UNSUPPORTED;

        /* the FDE and its CIE */
        ptrdiff_t fde_at = (hdr - lo) + (ptrdiff_t)fde_rel;
        if (fde_at < 0 || hi - lo < 8 || fde_at > (hi - lo) - 8)
                return R_UNSUPPORTED;
        struct reader f = { lo + fde_at, hi, false };
        uint64_t len = read_n(&f, 4);
        if (len == 0 || len == 0xffffffff || len > (uint64_t)(hi - f.p))
                return R_UNSUPPORTED;
        f.end = f.p + len;
        const uint8_t *cie_field = f.p;
        uint64_t cie_off = read_n(&f, 4);
        if (cie_off == 0 || cie_off > (uint64_t)(cie_field - lo))
                return R_UNSUPPORTED;
        struct cie c;
        if (!parse_cie(cie_field - cie_off, hi, &c) || c.signal)
                return R_UNSUPPORTED;
        uint64_t begin = read_encoded(&f, c.fde_enc, 0);
        uint64_t range = read_encoded(&f, c.fde_enc & 0x0f, 0);
        if (f.bad || pc < begin || pc - begin >= range)
                return R_UNSUPPORTED;
        if (c.has_z) {
                uint64_t alen = read_uleb(&f);

                if (f.bad || alen > (uint64_t)(f.end - f.p))
                        return R_UNSUPPORTED;
                f.p += alen;
        }

        struct row initial = { .rbp_how = HOW_SAME, .ra_how = HOW_SAME };
        struct frame_program fp = { .cie = &c, .initial = NULL, .loc = begin,
                                    .target = UINT64_MAX };
        if (!run_program(&fp, c.insns, c.end, &initial))
                return R_UNSUPPORTED;
        struct row row = initial;
        fp = (struct frame_program){ .cie = &c, .initial = &initial, .loc = begin, .target = pc };
        if (!run_program(&fp, f.p, f.end, &row))
                return R_UNSUPPORTED;

        if ((row.cfa_reg != REG_RSP && row.cfa_reg != REG_RBP) ||
            row.cfa_off < INT32_MIN || row.cfa_off > INT32_MAX)
                return R_UNSUPPORTED;
        /* a return address below the stack pointer is no frame: the walk's common rules
         * (CFA = RSP + offset) then need no lower bound */
        if (row.cfa_reg == REG_RSP && row.cfa_off < 8)
                return R_UNSUPPORTED;
        uint64_t rule = R_VALID | (uint64_t)(uint32_t)(int32_t)row.cfa_off << R_CFA_SHIFT;
        if (row.cfa_reg == REG_RBP)
                rule |= R_CFA_RBP;
        if (row.ra_undefined)
                return rule | R_OUTERMOST;
        if (row.ra_how != HOW_OFFSET || row.ra_off != -8)
                return R_UNSUPPORTED;
        if (row.rbp_how == HOW_OFFSET) {
                /* below the return address, so the walk need not bound it from above */
                if (row.rbp_off < INT16_MIN || row.rbp_off > -16)
                        return R_UNSUPPORTED;
                /* and, from RSP, at or above the stack pointer: the walk need not bound
                 * it from below either */
                if (row.cfa_reg == REG_RSP && row.cfa_off + row.rbp_off < 0)
                        return R_UNSUPPORTED;
                rule |= R_RBP_SAVED | (uint64_t)(uint16_t)(int16_t)row.rbp_off << R_RBP_SHIFT;
        } else if (row.rbp_how != HOW_SAME) {
                return R_UNSUPPORTED;
        }
        return rule;
}

#else

uint64_t eh_rule_find(const uint8_t *hdr, const uint8_t *lo, const uint8_t *hi, uint64_t pc)
{
        (void)hdr, (void)lo, (void)hi, (void)pc;
        return R_UNSUPPORTED;
}

#endif
