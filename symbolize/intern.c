/* String interning: chunks that never move, indexed by an open-addressing hash set. */
#include "intern.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/hash.h" /* hash_bytes: names are short and the set private, no key */

#define CHUNK_SIZE (64 * 1024)

struct chunk {
        struct chunk *next;
        size_t used, size;
        char data[];
};

struct intern {
        struct chunk *chunks;
        const char **slots; /* NULL = empty */
        size_t nslots, count, bytes;
};

int intern_new(struct intern **ret) {
        struct intern *in = calloc(1, sizeof(*in));
        if (!in)
                return -ENOMEM;
        in->nslots = 256;
        in->slots = calloc(in->nslots, sizeof(*in->slots));
        if (!in->slots) {
                free(in);
                return -ENOMEM;
        }
        *ret = in;
        return 0;
}

void intern_free(struct intern *in) {
        if (!in)
                return;
        struct chunk *c = in->chunks;
        while (c) {
                struct chunk *next = c->next;
                free(c);
                c = next;
        }
        free(in->slots);
        free(in);
}

static char *arena_alloc(struct intern *in, size_t n) {
        struct chunk *c = in->chunks;
        if (!c || c->size - c->used < n) {
                size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;
                c = malloc(sizeof(*c) + size);
                if (!c)
                        return NULL;
                c->used = 0;
                c->size = size;
                /* A big string gets its own chunk behind the current one, so the
                 * current chunk's free space is not abandoned. */
                if (in->chunks && size > CHUNK_SIZE) {
                        c->next = in->chunks->next;
                        in->chunks->next = c;
                } else {
                        c->next = in->chunks;
                        in->chunks = c;
                }
                in->bytes += sizeof(*c) + size;
        }
        char *p = c->data + c->used;
        c->used += n;
        return p;
}

static int grow(struct intern *in) {
        size_t n = in->nslots * 2;
        const char **slots = calloc(n, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < in->nslots; i++) {
                const char *s = in->slots[i];
                if (!s)
                        continue;
                size_t j = hash_bytes(s, strlen(s)) & (n - 1);
                while (slots[j])
                        j = (j + 1) & (n - 1);
                slots[j] = s;
        }
        free(in->slots);
        in->bytes += (n - in->nslots) * sizeof(*slots);
        in->slots = slots;
        in->nslots = n;
        return 0;
}

const char *intern_strn(struct intern *in, const char *s, size_t len) {
        if (!s)
                return NULL;
        if ((in->count + 1) * 4 > in->nslots * 3 && grow(in) < 0)
                return NULL;

        size_t mask = in->nslots - 1;
        size_t i = hash_bytes(s, len) & mask;
        for (; in->slots[i]; i = (i + 1) & mask) {
                const char *t = in->slots[i];
                if (strncmp(t, s, len) == 0 && t[len] == '\0')
                        return t;
        }

        char *copy = arena_alloc(in, len + 1);
        if (!copy)
                return NULL;
        memcpy(copy, s, len);
        copy[len] = '\0';
        in->slots[i] = copy;
        in->count++;
        return copy;
}

const char *intern_str(struct intern *in, const char *s) {
        return s ? intern_strn(in, s, strlen(s)) : NULL;
}

size_t intern_bytes(const struct intern *in) {
        return in->bytes;
}
