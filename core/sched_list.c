/*
 * sched_list - intrusive circular doubly-linked lists (sched_list.h).
 */
#include <stddef.h>

#include "msg.h"
#include "sched_list.h"

void
sched_list_init(SCHED_LIST *list)
{
    list->head.next = list->head.prev = &list->head;
    list->head.owner = NULL;
    list->count = 0;
}

/* Insert link between two adjacent links. */
static void
link_between(SCHED_LINK *link, SCHED_LINK *prev, SCHED_LINK *next)
{
    link->prev = prev;
    link->next = next;
    prev->next = link;
    next->prev = link;
}

void
sched_list_append(SCHED_LIST *list, SCHED_LINK *link, void *owner)
{
    link->owner = owner;
    link_between(link, list->head.prev, &list->head);
    list->count++;
}

void
sched_list_prepend(SCHED_LIST *list, SCHED_LINK *link, void *owner)
{
    link->owner = owner;
    link_between(link, &list->head, list->head.next);
    list->count++;
}

void
sched_list_insert_after(SCHED_LIST *list, SCHED_LINK *after, SCHED_LINK *link,
                        void *owner)
{
    SCHED_LINK *prev = after ? after : &list->head;

    link->owner = owner;
    link_between(link, prev, prev->next);
    list->count++;
}

void
sched_list_unlink(SCHED_LIST *list, SCHED_LINK *link)
{
    if (list->count <= 0 || link->next == NULL)
        msg_panic("sched_list_unlink: link is not on a list");
    link->prev->next = link->next;
    link->next->prev = link->prev;
    link->next = link->prev = NULL;
    list->count--;
}

void *
sched_list_first(const SCHED_LIST *list)
{
    return list->head.next->owner;
}

void *
sched_list_last(const SCHED_LIST *list)
{
    return list->head.prev->owner;
}

void *
sched_list_next(const SCHED_LIST *list, const SCHED_LINK *link)
{
    (void) list;
    return link->next->owner;
}

void *
sched_list_prev(const SCHED_LIST *list, const SCHED_LINK *link)
{
    (void) list;
    return link->prev->owner;
}

void
sched_list_rotate(SCHED_LIST *list, SCHED_LINK *link)
{
    if (list->head.prev == link)
        return;
    /* Move the sentinel to just after link: link becomes the tail. */
    list->head.prev->next = list->head.next;
    list->head.next->prev = list->head.prev;
    link_between(&list->head, link, link->next);
}
