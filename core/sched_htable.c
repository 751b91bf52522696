/*
 * sched_htable - string-keyed open-addressing hash table (sched_htable.h).
 */
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "xalloc.h"
#include "sched_htable.h"

typedef struct SLOT {
    const char *key; /* NULL: free slot */
    void *value;
    size_t hash;
} SLOT;

struct SCHED_HTABLE {
    SLOT *slots;
    size_t size; /* power of two */
    size_t used;
};

/* FNV-1a, 64 bits. */
static size_t
hash_key(const char *key)
{
    uint64_t h = 14695981039346656037ULL;

    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (size_t) h;
}

static SLOT *
alloc_slots(size_t size)
{
    return xcalloc(size, sizeof(SLOT));
}

SCHED_HTABLE *
sched_htable_create(size_t hint)
{
    SCHED_HTABLE *table = xmalloc(sizeof(*table));

    table->size = 16;
    while (table->size < 2 * hint)
        table->size *= 2;
    table->slots = alloc_slots(table->size);
    table->used = 0;
    return table;
}

void
sched_htable_free(SCHED_HTABLE *table)
{
    if (table == NULL)
        return;
    xfree(table->slots);
    xfree(table);
}

/* Index of the slot holding key, or of the free slot where it belongs. */
static size_t
probe(const SCHED_HTABLE *table, const char *key, size_t hash)
{
    size_t mask = table->size - 1;
    size_t i = hash & mask;

    while (table->slots[i].key != NULL) {
        if (table->slots[i].hash == hash &&
            strcmp(table->slots[i].key, key) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

static void
grow(SCHED_HTABLE *table)
{
    SLOT *old = table->slots;
    size_t old_size = table->size;

    table->size *= 2;
    table->slots = alloc_slots(table->size);
    for (size_t i = 0; i < old_size; i++) {
        if (old[i].key != NULL) {
            size_t j = probe(table, old[i].key, old[i].hash);

            table->slots[j] = old[i];
        }
    }
    xfree(old);
}

void *
sched_htable_find(const SCHED_HTABLE *table, const char *key)
{
    size_t i = probe(table, key, hash_key(key));

    return table->slots[i].key ? table->slots[i].value : NULL;
}

void
sched_htable_enter(SCHED_HTABLE *table, const char *key, void *value)
{
    size_t hash = hash_key(key);
    size_t i;

    if (2 * (table->used + 1) > table->size)
        grow(table);
    i = probe(table, key, hash);
    if (table->slots[i].key != NULL)
        msg_panic("sched_htable_enter: duplicate key \"%s\"", key);
    table->slots[i].key = key;
    table->slots[i].value = value;
    table->slots[i].hash = hash;
    table->used++;
}

/* Is slot position pos cyclically in the half-open range (from, to]? */
static int
cyclic_between(size_t from, size_t pos, size_t to)
{
    if (from <= to)
        return from < pos && pos <= to;
    return from < pos || pos <= to;
}

void
sched_htable_delete(SCHED_HTABLE *table, const char *key)
{
    size_t mask = table->size - 1;
    size_t hole = probe(table, key, hash_key(key));
    size_t i;

    if (table->slots[hole].key == NULL)
        msg_panic("sched_htable_delete: no key \"%s\"", key);
    table->slots[hole].key = NULL;
    table->used--;

    /*
     * Backward-shift: move later members of the probe run into the hole
     * when their home slot does not lie between the hole and them.
     */
    for (i = (hole + 1) & mask; table->slots[i].key != NULL;
         i = (i + 1) & mask) {
        size_t home = table->slots[i].hash & mask;

        if (cyclic_between(hole, home, i))
            continue;
        table->slots[hole] = table->slots[i];
        table->slots[i].key = NULL;
        hole = i;
    }
}

size_t
sched_htable_count(const SCHED_HTABLE *table)
{
    return table->used;
}
