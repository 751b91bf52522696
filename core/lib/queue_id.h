/*
 * queue_id - Postfix queue ids: validity, making, decoding, hashing.
 *
 * A queue file's name is its queue id.  Short form (enable_long_queue_ids =
 * no): "%05X" of the microseconds, then "%lX" of the inode number.  Long form
 * (enable_long_queue_ids = yes): the seconds in base 52 (at least 6 digits,
 * '0'-padded), the microseconds in base 52 (exactly 4 digits), 'z', the inode
 * number in base 51.  The digits are "0-9", "BCDFGHJKLMNPQRSTVWXYZ",
 * "bcdfghjklmnpqrstvwxyz" (no vowels); base 51 never uses 'z'.  An id is in
 * long form when its last 'z' has at least 10 characters before it.
 *
 *	queue_id_ok(id)		non-zero when id may name a queue file:
 *				non-empty, at most QUEUE_ID_MAX_LEN characters,
 *				only [A-Za-z0-9_] (mail_queue_id_ok()).
 *	queue_id_is_long(id)	non-zero for the long form.
 *	queue_id_short(buf, len, usec, inode)
 *	queue_id_long(buf, len, sec, usec, inode)
 *				format an id into buf (len bytes, at least
 *				QUEUE_ID_BUFSIZE is always enough); return buf,
 *				or NULL when it does not fit.
 *	queue_id_decode(id, info)	take an id apart: 0, or -1 when id is
 *not in either form (bad digits, out of range, microseconds over 999999).
 *info->sec is -1 for a short id (it has no seconds). queue_id_hash(buf, len,
 *id, depth) the hash subdirectory part for hash_queue_depth = depth:
 *"c1/c2/.../cN/" ("" for depth 0).  Short ids use their first characters; long
 *ids the
 *				"%05X" of their microseconds, so both forms of
 *				the same microsecond hash alike.  Characters
 *				beyond the source become '_'.  Returns buf, or
 *				NULL when it does not fit (2 * depth + 1 bytes).
 *	queue_id_path(buf, len, queue, id, depth)
 *				"<queue>/<hash><id>" with the hash part for
 *				depth (0 for queues not in hash_queue_names);
 *				NULL when it does not fit.
 */
#ifndef PQ_QUEUE_ID_H
#define PQ_QUEUE_ID_H

#include <stddef.h>

#define QUEUE_ID_MAX_LEN 255
#define QUEUE_ID_BUFSIZE 64 /* any id made by queue_id_short/_long */

typedef struct QUEUE_ID_INFO {
    int long_form;       /* 1 for the long form */
    long sec;            /* seconds (long form), -1 otherwise */
    long usec;           /* microseconds */
    unsigned long inode; /* inode number */
} QUEUE_ID_INFO;

int queue_id_ok(const char *id);
int queue_id_is_long(const char *id);
char *queue_id_short(char *buf, size_t len, long usec, unsigned long inode);
char *queue_id_long(char *buf, size_t len, long sec, long usec,
                    unsigned long inode);
int queue_id_decode(const char *id, QUEUE_ID_INFO *info);
char *queue_id_hash(char *buf, size_t len, const char *id, int depth);
char *queue_id_path(char *buf, size_t len, const char *queue, const char *id,
                    int depth);

#endif
