/*
 * verp_sender - the envelope sender of one VERP delivery.
 *
 *	char *verp_sender(delims, sender, recipient)
 *
 * With variable envelope return paths each delivery request carries one
 * recipient, and the sender prefix@origin becomes
 * prefix<d1>rlocal<d2>rdomain@origin, where rlocal@rdomain is the
 * recipient and d1, d2 are the two VERP delimiter characters.  The caller
 * passes the recipient Postfix encodes: the original recipient when the
 * queue file has one, else the final address (so that the address the
 * list owner mailed is the one that comes back).  A recipient without a
 * domain gives prefix<d1>rlocal@origin; a sender without a domain gives
 * no @origin.  The result is malloc'd; the caller frees it.
 */
#ifndef PQ_VERP_SENDER_H
#define PQ_VERP_SENDER_H

char *verp_sender(const char *delims, const char *sender,
                  const char *recipient);

#endif
