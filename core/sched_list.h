/*
 * sched_list - intrusive circular doubly-linked lists for the scheduler.
 *
 * An object that is a list member embeds one SCHED_LINK per list it can be
 * on; the link remembers its owner, so that walking a list yields objects
 * without pointer arithmetic.  A SCHED_LIST is a sentinel plus a member
 * count.  Every operation is O(1).
 *
 *  sched_list_init(list)            empty list
 *  sched_list_append(list, link, owner)   add at the tail
 *  sched_list_prepend(list, link, owner)  add at the head
 *  sched_list_insert_after(list, after, link, owner)  add right after the
 *                                   member link "after", or at the head
 *                                   when after is NULL
 *  sched_list_unlink(list, link)    remove a member
 *  sched_list_first(list)           owner of the head, or NULL
 *  sched_list_last(list)            owner of the tail, or NULL
 *  sched_list_next(list, link)      owner of the member after link, or NULL
 *  sched_list_prev(list, link)      owner of the member before link, or NULL
 *  sched_list_rotate(list, link)    round-robin rotation: make link the
 *                                   tail, so that its successor becomes
 *                                   the head (cyclic order is kept)
 *  sched_list_count(list)           number of members
 *  sched_list_empty(list)           no members
 *
 * Safe traversal while members go away: fetch the next member before
 * handling the current one.
 */
#ifndef PQ_SCHED_LIST_H
#define PQ_SCHED_LIST_H

typedef struct SCHED_LINK {
    struct SCHED_LINK *prev;
    struct SCHED_LINK *next;
    void *owner;
} SCHED_LINK;

typedef struct SCHED_LIST {
    SCHED_LINK head; /* sentinel: head.next is the first member */
    int count;
} SCHED_LIST;

void sched_list_init(SCHED_LIST *list);
void sched_list_append(SCHED_LIST *list, SCHED_LINK *link, void *owner);
void sched_list_prepend(SCHED_LIST *list, SCHED_LINK *link, void *owner);
void sched_list_insert_after(SCHED_LIST *list, SCHED_LINK *after,
                             SCHED_LINK *link, void *owner);
void sched_list_unlink(SCHED_LIST *list, SCHED_LINK *link);
void *sched_list_first(const SCHED_LIST *list);
void *sched_list_last(const SCHED_LIST *list);
void *sched_list_next(const SCHED_LIST *list, const SCHED_LINK *link);
void *sched_list_prev(const SCHED_LIST *list, const SCHED_LINK *link);
void sched_list_rotate(SCHED_LIST *list, SCHED_LINK *link);

#define sched_list_count(list) ((list)->count)
#define sched_list_empty(list) ((list)->count == 0)

#endif
