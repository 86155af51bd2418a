/* Fuzz target: a binary's unwind tables as memprofd reads them from a target's file
 * (eh_tables_read: ELF header, program headers, the segment holding .eh_frame_hdr) and
 * walks them (eh_rule_find: the search table, CIE, FDE, call-frame program).  The input
 * is the whole file.  Beyond not crashing, every rule keeps the packing ehframe.h
 * documents, which the shim's and the ptrace collector's walks rely on to read only
 * between the stack pointer and the return address. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ehcache.h"
#include "ehframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Probes per input: enough for every FDE of a small binary, few enough to stay fast. */
#define PROBES_MAX 4096

/* Bits that no rule sets: 5..15. */
#define R_SPARE (((UINT64_C(1) << R_RBP_SHIFT) - 1) & ~UINT64_C(31))

static void check_rule(uint64_t rule)
{
        int32_t cfa = (int32_t)(rule >> R_CFA_SHIFT);
        int16_t rbp = (int16_t)(rule >> R_RBP_SHIFT);

        if (rule == R_UNSUPPORTED)
                return;
        /* the unsupported bit alone; otherwise a valid rule with no spare bits */
        if (!(rule & R_VALID) || (rule & (R_UNSUPPORTED | R_SPARE)))
                abort();
        /* the RBP offset is there only when RBP is saved, and never in an outermost one */
        if (!(rule & R_RBP_SAVED) && (uint16_t)(rule >> R_RBP_SHIFT) != 0)
                abort();
        if ((rule & R_OUTERMOST) && (rule & R_RBP_SAVED))
                abort();
        /* from RSP: the return address at or above the stack pointer */
        if (!(rule & R_CFA_RBP) && cfa < 8)
                abort();
        if (rule & R_RBP_SAVED) {
                /* below the return address, and from RSP at or above the stack pointer */
                if (rbp > -16)
                        abort();
                if (!(rule & R_CFA_RBP) && (int64_t)cfa + rbp < 0)
                        abort();
        }
}

static uint64_t probe(const struct eh_tables *t, uint64_t pc)
{
        uint64_t rule = eh_tables_rule(t, pc);

        check_rule(rule);
        /* nothing but the tables decides: asked again, the same answer */
        if (eh_tables_rule(t, pc) != rule)
                abort();
        return rule;
}

static uint64_t load64(const uint8_t *p)
{
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

/* The addresses worth asking about, from the input itself: each table entry's start
 * (and its neighbours) when the image's program headers point at a search table, the
 * segments' edges, and words of the input taken as addresses. */
static void probe_image(const struct eh_tables *t, const uint8_t *data, size_t size)
{
        static const uint64_t edges[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1, INT64_MAX,
                                          (uint64_t)INT64_MIN, 0x1000, 0x400000 };
        size_t probes = 0;
        Elf64_Ehdr eh;

        for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
                probe(t, edges[i]);
        for (size_t off = 0; off + 8 <= size && probes < PROBES_MAX / 4; off += 8, probes++)
                probe(t, load64(data + off));

        if (size < sizeof(eh))
                return;
        memcpy(&eh, data, sizeof(eh));
        for (size_t i = 0; i < eh.e_phnum && i < 64; i++) {
                Elf64_Phdr ph;
                uint64_t at = eh.e_phoff + i * sizeof(ph);

                if (eh.e_phoff > size || at > size - sizeof(ph))
                        break;
                memcpy(&ph, data + at, sizeof(ph));
                probe(t, ph.p_vaddr);
                probe(t, ph.p_vaddr - 1);
                probe(t, ph.p_vaddr + ph.p_filesz);
                probe(t, ph.p_vaddr + ph.p_filesz - 1);
                if (ph.p_type != PT_GNU_EH_FRAME || ph.p_offset > size || size - ph.p_offset < 12)
                        continue;
                /* version, encodings, eh_frame_ptr (sdata4), count (udata4), then
                 * (start, fde) pairs, hdr-relative: the layout every linker writes */
                const uint8_t *hdr = data + ph.p_offset;
                uint32_t count;
                memcpy(&count, hdr + 8, 4);
                for (uint64_t e = 0; e < count && probes < PROBES_MAX; e++, probes += 4) {
                        int32_t start;
                        uint64_t pos = 12 + e * 8;

                        if (pos > size - ph.p_offset - 8)
                                break;
                        memcpy(&start, hdr + pos, 4);
                        uint64_t pc = ph.p_vaddr + (uint64_t)(int64_t)start;
                        probe(t, pc - 1);
                        probe(t, pc);
                        probe(t, pc + 1);
                        probe(t, pc + hdr[pos + 4]); /* somewhere inside, input-chosen */
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct eh_tables *t = NULL;
        struct stat st;
        int fd;

        fd = memfd_create("ehtables", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, data + done, size - done);

                if (n <= 0)
                        abort();
                done += (size_t)n;
        }
        if (fstat(fd, &st) < 0)
                abort();
        if (eh_tables_read(fd, &st, &t) == 0) {
                probe_image(t, data, size);
                eh_tables_free(t);
        }
        close(fd);
        return 0;
}
