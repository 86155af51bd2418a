/* Symbolized stacks into pprof locations, memoized per address. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/hash.h"
#include "memprof/array.h"
#include "profile.h"
#include "stacks.h"
#include "symbolize.h"

/* Memo entry: one per distinct (address, is_return) seen in this profile. */
struct memo {
        uint64_t key; /* address << 1 | is_return; 0 = empty */
        uint64_t location;
        bool drop_if_leading; /* operator new or the shim: cut while at the top */
};

struct stack_encoder {
        struct profile *profile;
        struct sym_process *sp;
        const struct sym_mapping *mappings;
        size_t nmappings;
        uint64_t *mapping_ids; /* profile id per mapping, 0 = not added yet */
        struct memo *memo;
        size_t memo_cap, memo_used;
};

static int mapping_id(struct stack_encoder *se, int index, uint64_t *ret);

int stack_encoder_new(struct profile *p, struct sym_process *sp, struct stack_encoder **ret)
{
        struct stack_encoder *se = calloc(1, sizeof(*se));
        if (!se)
                return -ENOMEM;
        se->profile = p;
        se->sp = sp;
        se->nmappings = sym_process_mappings(sp, &se->mappings);
        se->mapping_ids = calloc(se->nmappings + 1, sizeof(*se->mapping_ids));
        se->memo_cap = 1024;
        se->memo = calloc(se->memo_cap, sizeof(*se->memo));
        if (!se->mapping_ids || !se->memo) {
                stack_encoder_free(se);
                return -ENOMEM;
        }
        /* pprof takes the first mapping for the main binary ("File:" in its reports):
         * the lowest executable mapping, which /proc/PID/maps lists first, is the
         * program itself. */
        if (se->nmappings > 0) {
                uint64_t id;
                int r = mapping_id(se, 0, &id);
                if (r < 0) {
                        stack_encoder_free(se);
                        return r;
                }
        }
        *ret = se;
        return 0;
}

void stack_encoder_free(struct stack_encoder *se)
{
        if (!se)
                return;
        free(se->mapping_ids);
        free(se->memo);
        free(se);
}

static struct memo *memo_slot(struct memo *memo, size_t cap, uint64_t key)
{
        size_t i = hash_fmix64(key) & (cap - 1);
        while (memo[i].key != 0 && memo[i].key != key)
                i = (i + 1) & (cap - 1);
        return &memo[i];
}

static int memo_grow(struct stack_encoder *se)
{
        size_t cap = se->memo_cap * 2;
        struct memo *memo = calloc(cap, sizeof(*memo));
        if (!memo)
                return -ENOMEM;
        for (size_t i = 0; i < se->memo_cap; i++)
                if (se->memo[i].key)
                        *memo_slot(memo, cap, se->memo[i].key) = se->memo[i];
        free(se->memo);
        se->memo = memo;
        se->memo_cap = cap;
        return 0;
}

static int mapping_id(struct stack_encoder *se, int index, uint64_t *ret)
{
        const struct sym_mapping *m;
        int r;

        if (index < 0 || (size_t)index >= se->nmappings) {
                *ret = 0;
                return 0;
        }
        if (se->mapping_ids[index] == 0) {
                m = &se->mappings[index];
                r = profile_add_mapping(se->profile, m->start, m->limit, m->offset, m->path,
                                        m->build_id, m->has_functions, m->has_filenames,
                                        m->has_line_numbers, m->has_inline_frames,
                                        &se->mapping_ids[index]);
                if (r < 0)
                        return r;
        }
        *ret = se->mapping_ids[index];
        return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = s ? strlen(s) : 0, m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The allocation's caller is what a user wants on top, not the C++ allocation
 * functions (operator new and new[], in every overload) nor the shim itself. */
static bool is_allocator_frame(const struct sym_mapping *mappings, size_t nmappings,
                               const struct sym_frame *f)
{
        const struct sym_line *l;

        if (f->mapping >= 0 && (size_t)f->mapping < nmappings &&
            ends_with(mappings[f->mapping].path, "/libmemprof.so"))
                return true;
        if (f->nlines == 0)
                return false;
        l = &f->lines[f->nlines - 1];
        if (l->system_name &&
            (strncmp(l->system_name, "_Znw", 4) == 0 || strncmp(l->system_name, "_Zna", 4) == 0))
                return true;
        return l->function && strncmp(l->function, "operator new", 12) == 0;
}

static int encode_one(struct stack_encoder *se, uint64_t pc, bool is_return, struct memo *ret)
{
        struct profile_line lines[SYM_MAX_INLINE];
        struct sym_frame f;
        uint64_t mid;
        int r;

        r = sym_process_lookup(se->sp, pc, is_return, &f);
        if (r < 0) {
                memset(&f, 0, sizeof(f));
                f.mapping = -1;
        }
        r = mapping_id(se, f.mapping, &mid);
        if (r < 0)
                return r;
        for (size_t i = 0; i < f.nlines; i++) {
                lines[i] = (struct profile_line){
                        .function = f.lines[i].function ? f.lines[i].function : "??",
                        .system_name = f.lines[i].system_name,
                        .filename = f.lines[i].file,
                        .line = f.lines[i].line,
                        .start_line = f.lines[i].start_line,
                };
        }
        /* A return address is reported as the call instruction's, like the lines. */
        r = profile_add_location(se->profile, mid, is_return ? pc - 1 : pc, lines, f.nlines,
                                 &ret->location);
        if (r < 0)
                return r;
        ret->drop_if_leading = is_allocator_frame(se->mappings, se->nmappings, &f);
        return 0;
}

int stack_encoder_locations(struct stack_encoder *se, const uint64_t *pcs, size_t npcs,
                            bool first_is_return, uint64_t *ret_ids, size_t max, size_t *ret_n)
{
        bool leading = true;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < npcs && n < max; i++) {
                bool is_return = i > 0 || first_is_return;
                uint64_t key = (pcs[i] << 1) | is_return;
                struct memo *m;

                if (key == 0)
                        continue;
                if (se->memo_used * 2 >= se->memo_cap) {
                        r = memo_grow(se);
                        if (r < 0)
                                return r;
                }
                m = memo_slot(se->memo, se->memo_cap, key);
                if (m->key == 0) {
                        struct memo fresh = {.key = key};
                        r = encode_one(se, pcs[i], is_return, &fresh);
                        if (r < 0)
                                return r;
                        *m = fresh;
                        se->memo_used++;
                }
                if (leading && m->drop_if_leading)
                        continue;
                leading = false;
                ret_ids[n++] = m->location;
        }
        *ret_n = n;
        return 0;
}

int stack_symbolize(struct sym_process *sp, const uint64_t *pcs, size_t npcs,
                    bool first_is_return, struct sym_frame *ret_frames, size_t max,
                    size_t *ret_n)
{
        const struct sym_mapping *mappings;
        size_t nmappings = sym_process_mappings(sp, &mappings);
        bool leading = true;
        size_t n = 0;

        for (size_t i = 0; i < npcs && n < max; i++) {
                struct sym_frame *f = &ret_frames[n];

                if (sym_process_lookup(sp, pcs[i], i > 0 || first_is_return, f) < 0) {
                        memset(f, 0, sizeof(*f));
                        f->mapping = -1;
                        f->address = pcs[i];
                }
                if (leading && is_allocator_frame(mappings, nmappings, f))
                        continue;
                leading = false;
                n++;
        }
        *ret_n = n;
        return 0;
}

int pc_batch_add(struct pc_batch *b, const uint64_t *pcs, size_t npcs, bool first_is_return)
{
        for (size_t i = 0; i < npcs; i++) {
                uint64_t a = sym_code_address(pcs[i], i > 0 || first_is_return);
                int r = addrset_add(&b->seen, a);

                if (r == 0)
                        continue;
                if (r > 0)
                        r = ARRAY_RESERVE(b->addrs, b->cap, b->n, 1, 1024, SIZE_MAX / 2);
                if (r < 0)
                        return r;
                b->addrs[b->n++] = a;
        }
        return 0;
}

int pc_batch_prefetch(struct pc_batch *b, struct sym_process *sp)
{
        int r = sp ? sym_process_prefetch(sp, b->addrs, b->n) : 0;

        free(b->addrs);
        addrset_free(&b->seen);
        *b = (struct pc_batch){0};
        return r;
}
