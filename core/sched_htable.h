/*
 * sched_htable - a string-keyed hash table for scheduler lookups.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones); the table doubles when it is half full, so lookups stay
 * O(1) on average.  The table stores the caller's key pointer, not a copy:
 * the key must stay valid (and unchanged) while the entry exists.  Usually
 * the key is the name inside the stored object.
 *
 *  sched_htable_create(hint)        empty table sized for about hint entries
 *  sched_htable_free(table)         release the table (not the values)
 *  sched_htable_find(table, key)    the value, or NULL
 *  sched_htable_enter(table, key, value)  add; panics if the key exists
 *  sched_htable_delete(table, key)  remove; panics if the key is absent
 *  sched_htable_count(table)        number of entries
 */
#ifndef PQ_SCHED_HTABLE_H
#define PQ_SCHED_HTABLE_H

#include <stddef.h>

typedef struct SCHED_HTABLE SCHED_HTABLE;

SCHED_HTABLE *sched_htable_create(size_t hint);
void sched_htable_free(SCHED_HTABLE *table);
void *sched_htable_find(const SCHED_HTABLE *table, const char *key);
void sched_htable_enter(SCHED_HTABLE *table, const char *key, void *value);
void sched_htable_delete(SCHED_HTABLE *table, const char *key);
size_t sched_htable_count(const SCHED_HTABLE *table);

#endif
