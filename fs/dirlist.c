/* Directory listings, taken whole at opendir and served by offset (like seq_file). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "memprofd.h"
#include "openlist.h"

struct dirent_fs {
        char name[16];
        fuse_ino_t ino;
        mode_t type;
};

struct dirlist {
        struct open_link link; /* on the daemon's list while a directory holds it */
        size_t n, cap;
        struct dirent_fs e[];
};

static struct dirlist *dirlist_alloc(size_t cap)
{
        struct dirlist *l = malloc(sizeof(*l) + cap * sizeof(l->e[0]));

        if (l) {
                open_list_init(&l->link);
                l->n = 0;
                l->cap = cap;
        }
        return l;
}

static void dirlist_add(struct dirlist *l, const char *name, fuse_ino_t ino, mode_t type)
{
        struct dirent_fs *e;

        if (l->n >= l->cap)
                return;
        e = &l->e[l->n++];
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->ino = ino;
        e->type = type;
}

int dirlist_root(struct dirlist **ret)
{
        struct dirlist *l;
        struct node *nodes;
        size_t n;
        int r;

        r = listing_root(&nodes, &n);
        if (r < 0)
                return r;
        l = dirlist_alloc(n + 2 + root_files_count());
        if (!l) {
                free(nodes);
                return -ENOMEM;
        }
        dirlist_add(l, ".", FUSE_ROOT_ID, S_IFDIR);
        dirlist_add(l, "..", FUSE_ROOT_ID, S_IFDIR);
        for (size_t i = 0; i < n; i++) {
                char name[16];

                snprintf(name, sizeof(name), "%d", (int)nodes[i].pid);
                dirlist_add(l, name, tree_ino(&nodes[i]), S_IFDIR);
        }
        /* last: the processes come first, as they always have */
        for (size_t i = 0; i < root_files_count(); i++) {
                struct node file = {.kind = NODE_ROOT_FILE, .file = (int)i};

                dirlist_add(l, root_files_get((int)i)->name, tree_ino(&file), S_IFREG);
        }
        free(nodes);
        *ret = l;
        return 0;
}

int dirlist_pid(struct memprofd *d, const struct caller *c, const struct target *t,
                struct dirlist **ret)
{
        struct node dir = {.kind = NODE_PID, .pid = t->pid, .start = t->start};
        struct dirlist *l = dirlist_alloc(files_count() + 2);
        bool shim, go;

        if (!l)
                return -ENOMEM;
        files_present(d, c, t, &shim, &go); /* one look for all of its files */
        dirlist_add(l, ".", tree_ino(&dir), S_IFDIR);
        dirlist_add(l, "..", FUSE_ROOT_ID, S_IFDIR);
        for (size_t i = 0; i < files_count(); i++) {
                const struct fs_file *f = files_get((int)i);
                struct node file = {.kind = NODE_FILE, .pid = t->pid, .start = t->start,
                                    .file = (int)i};

                if ((shim || !f->needs_shim) && (go || !f->needs_go))
                        dirlist_add(l, f->name, tree_ino(&file), S_IFREG);
        }
        *ret = l;
        return 0;
}

void dirlist_free(struct dirlist *l)
{
        free(l);
}

struct dirlists {
        pthread_mutex_t lock;
        struct open_link open;
};

int dirlists_new(struct dirlists **ret)
{
        struct dirlists *s = malloc(sizeof(*s));

        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        open_list_init(&s->open);
        *ret = s;
        return 0;
}

void dirlists_free(struct dirlists *s)
{
        struct open_link *l;

        if (!s)
                return;
        while ((l = open_list_pop(&s->open)))
                dirlist_free(open_list_entry(l, struct dirlist, link));
        pthread_mutex_destroy(&s->lock);
        free(s);
}

void dirlist_open(struct dirlists *s, struct dirlist *l)
{
        pthread_mutex_lock(&s->lock);
        open_list_add(&s->open, &l->link);
        pthread_mutex_unlock(&s->lock);
}

void dirlist_close(struct dirlists *s, struct dirlist *l)
{
        pthread_mutex_lock(&s->lock);
        open_list_del(&l->link);
        pthread_mutex_unlock(&s->lock);
        dirlist_free(l);
}

size_t dirlist_fill(fuse_req_t req, const struct dirlist *l, off_t off, char *buf, size_t size)
{
        size_t used = 0;

        for (size_t i = (size_t)off; off >= 0 && i < l->n; i++) {
                struct stat st = {.st_ino = l->e[i].ino, .st_mode = l->e[i].type};
                size_t need;

                /* the offset handed back is that of the next entry */
                need = fuse_add_direntry(req, buf + used, size - used, l->e[i].name, &st,
                                         (off_t)i + 1);
                if (need > size - used)
                        break;
                used += need;
        }
        return used;
}
