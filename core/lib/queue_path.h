/*
 * queue_path - where a queue file or log lives in Postfix's queue directory.
 *
 *	queue_path_hashed(hash_queues, queue)
 *		non-zero when queue is named in hash_queues ($hash_queue_names:
 *		words separated by commas and/or white space, compared
 *		case-insensitively)
 *	queue_path(out, hash_queues, depth, queue, id)
 *		"<queue>/<c1>/.../<cN>/<id>" for a hashed queue (N = depth =
 *		$hash_queue_depth, characters from queue_id_hash()), else
 *		"<queue>/<id>"; relative to the queue directory.  out is reset
 *		first.
 */
#ifndef PQ_QUEUE_PATH_H
#define PQ_QUEUE_PATH_H

#include "strbuf.h"

int queue_path_hashed(const char *hash_queues, const char *queue);
void queue_path(STRBUF *out, const char *hash_queues, int depth,
                const char *queue, const char *id);

#endif
