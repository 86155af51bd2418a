/* An intrusive list of handles the kernel holds open, so that the daemon frees at exit
 * what it was never asked to release. */
#pragma once

#include <stddef.h>

/*
 * Why: the kernel sends RELEASE and RELEASEDIR asynchronously, after close() has
 * returned, and a daemon told to stop while files are open is never sent them at all.
 * Whoever owns the handles keeps them on such a list, under their own lock.
 */
struct open_link {
        struct open_link *prev, *next;
};

static inline void open_list_init(struct open_link *head)
{
        head->prev = head->next = head;
}

static inline void open_list_add(struct open_link *head, struct open_link *l)
{
        l->next = head->next;
        l->prev = head;
        head->next->prev = l;
        head->next = l;
}

static inline void open_list_del(struct open_link *l)
{
        l->prev->next = l->next;
        l->next->prev = l->prev;
        l->prev = l->next = l;
}

/* The first handle on the list, unlinked; NULL when the list is empty. */
static inline struct open_link *open_list_pop(struct open_link *head)
{
        struct open_link *l = head->next;

        if (l == head)
                return NULL;
        open_list_del(l);
        return l;
}

#define open_list_entry(link, type, member) \
        ((type *)((char *)(link) - offsetof(type, member)))
