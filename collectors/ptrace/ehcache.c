/* Unwind tables per binary file, read with pread and kept until the cache's bounds
 * push them out: collections of any process share them, so a warm read maps nothing. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ehcache.h"
#include "ehframe.h"
#include "memprof/fileid.h"

#define EH_MAX_LOADS 16
/* One binary's segment holding its tables; a larger one goes to libunwind instead. */
#define EH_TABLES_MAX (64u << 20)
/* The whole cache; entries no collection holds go, least recently used first. */
#define EH_CACHE_BYTES (256u << 20)
#define EH_CACHE_ENTRIES 256

struct eh_load {
        uint64_t offset, vaddr, filesz;
        bool executable;
};

struct eh_tables {
        struct file_id id; /* of the file as fstat gave it: the key */
        unsigned refs;
        uint64_t used; /* the tick of its last lookup */
        size_t nloads;
        struct eh_load loads[EH_MAX_LOADS];
        uint64_t vaddr0; /* the virtual address of data[0] */
        size_t len;
        uint8_t *data;
        const uint8_t *hdr; /* .eh_frame_hdr, inside data */
        struct eh_tables *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct eh_tables *entries;
static size_t nentries, nbytes;
static uint64_t tick;

void eh_tables_free(struct eh_tables *t)
{
        if (!t)
                return;
        free(t->data);
        free(t);
}

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ENOENT; /* shorter than its headers say */
                done += (size_t)n;
        }
        return 0;
}

/* The program headers, the segment that holds .eh_frame_hdr, and that segment's bytes.
 * Everything in the file is untrusted: counts and extents are checked against the file. */
int eh_tables_read(int fd, const struct stat *st, struct eh_tables **ret)
{
        Elf64_Phdr ph[64];
        Elf64_Ehdr eh;
        const Elf64_Phdr *hdr = NULL, *seg = NULL;
        struct eh_tables *t;
        int r;

        r = read_exact(fd, &eh, sizeof(eh), 0);
        if (r < 0)
                return r;
        if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_phentsize != sizeof(Elf64_Phdr) ||
            eh.e_phnum == 0 || eh.e_phnum > 64 || eh.e_phoff > (uint64_t)st->st_size)
                return -ENOENT;
        r = read_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
        if (r < 0)
                return r;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < eh.e_phnum; i++) {
                if (ph[i].p_type == PT_GNU_EH_FRAME)
                        hdr = &ph[i];
                if (ph[i].p_type != PT_LOAD || t->nloads == EH_MAX_LOADS)
                        continue;
                t->loads[t->nloads++] = (struct eh_load){ ph[i].p_offset, ph[i].p_vaddr,
                                                          ph[i].p_filesz,
                                                          (ph[i].p_flags & PF_X) != 0 };
        }
        for (size_t i = 0; hdr && i < eh.e_phnum; i++)
                if (ph[i].p_type == PT_LOAD && hdr->p_vaddr >= ph[i].p_vaddr &&
                    hdr->p_vaddr - ph[i].p_vaddr < ph[i].p_filesz)
                        seg = &ph[i];
        r = -ENOENT;
        if (!seg || seg->p_filesz > EH_TABLES_MAX || seg->p_offset > (uint64_t)st->st_size ||
            seg->p_filesz > (uint64_t)st->st_size - seg->p_offset)
                goto fail;
        r = -ENOMEM;
        t->data = malloc(seg->p_filesz);
        if (!t->data)
                goto fail;
        r = read_exact(fd, t->data, seg->p_filesz, seg->p_offset);
        if (r < 0)
                goto fail;
        t->len = seg->p_filesz;
        t->vaddr0 = seg->p_vaddr;
        t->hdr = t->data + (hdr->p_vaddr - seg->p_vaddr);
        *ret = t;
        return 0;
fail:
        eh_tables_free(t);
        return r;
}

/* Under lock: unreferenced entries go, oldest first, until the bounds hold. */
static void evict(void)
{
        while (nentries > EH_CACHE_ENTRIES || nbytes > EH_CACHE_BYTES) {
                struct eh_tables **oldest = NULL;

                for (struct eh_tables **p = &entries; *p; p = &(*p)->next)
                        if ((*p)->refs == 0 && (!oldest || (*p)->used < (*oldest)->used))
                                oldest = p;
                if (!oldest)
                        return; /* all in use: over the bound until they are put */
                struct eh_tables *t = *oldest;
                *oldest = t->next;
                nentries--;
                nbytes -= t->len;
                eh_tables_free(t);
        }
}

static struct eh_tables *lookup(const struct stat *st)
{
        struct file_id id;

        fileid_of(st, &id);
        for (struct eh_tables *t = entries; t; t = t->next)
                if (fileid_equal(&t->id, &id)) {
                        t->refs++;
                        t->used = ++tick;
                        return t;
                }
        return NULL;
}

/* Two segments may share a page of the file (lld lays them out so): the mapping's
 * permissions tell which one it is. */
static int bias_of(const struct eh_tables *t, const struct map_range *m, uint64_t *ret)
{
        for (size_t i = 0; i < t->nloads; i++) {
                const struct eh_load *l = &t->loads[i];
                uint64_t page_off = l->offset & ~UINT64_C(4095);

                /* offset and size are the file's: compared without a sum that wraps */
                if (l->executable == m->executable && m->offset >= page_off &&
                    (m->offset < l->offset || m->offset - l->offset < l->filesz)) {
                        *ret = m->start - (l->vaddr - l->offset + m->offset);
                        return 0;
                }
        }
        return -ENOENT;
}

int eh_tables_get(pid_t pid, const struct map_range *m, struct eh_tables **ret,
                  uint64_t *ret_bias)
{
        struct eh_tables *t = NULL, *have;
        struct stat st;
        char path[64];
        uint64_t bias;
        int fd, r;

        snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
                 m->start, m->end);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = -ENOENT;
                goto out;
        }
        pthread_mutex_lock(&lock);
        t = lookup(&st);
        pthread_mutex_unlock(&lock);
        if (!t) {
                r = eh_tables_read(fd, &st, &t);
                if (r < 0)
                        goto out;
                fileid_of(&st, &t->id);
                pthread_mutex_lock(&lock);
                have = lookup(&st); /* another collection read it meanwhile */
                if (have) {
                        eh_tables_free(t);
                        t = have;
                } else {
                        t->refs = 1;
                        t->used = ++tick;
                        t->next = entries;
                        entries = t;
                        nentries++;
                        nbytes += t->len;
                        evict();
                }
                pthread_mutex_unlock(&lock);
        }
        r = bias_of(t, m, &bias);
        if (r < 0) {
                eh_tables_put(t);
                goto out;
        }
        *ret = t;
        *ret_bias = bias;
out:
        close(fd);
        return r;
}

void eh_tables_put(struct eh_tables *t)
{
        if (!t)
                return;
        pthread_mutex_lock(&lock);
        t->refs--;
        evict();
        pthread_mutex_unlock(&lock);
}

uint64_t eh_tables_rule(const struct eh_tables *t, uint64_t vaddr)
{
        /* pc moved into the copy by as much as the tables were: the rule reader only
         * compares and subtracts addresses, so wrapping arithmetic is fine */
        uint64_t pc = (uint64_t)(uintptr_t)t->data + (vaddr - t->vaddr0);

        return eh_rule_find(t->hdr, t->data, t->data + t->len, pc);
}

void eh_tables_flush(void)
{
        pthread_mutex_lock(&lock);
        for (struct eh_tables **p = &entries; *p;) {
                struct eh_tables *t = *p;

                if (t->refs) {
                        p = &t->next;
                        continue;
                }
                *p = t->next;
                nentries--;
                nbytes -= t->len;
                eh_tables_free(t);
        }
        pthread_mutex_unlock(&lock);
}
