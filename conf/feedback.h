/*
 * feedback - concurrency feedback values, as Postfix 3.7's queue manager
 * parses "*_destination_concurrency_{positive,negative}_feedback".
 *
 * Accepted forms (whitespace allowed around the "/"):
 *	x		a constant, e.g. "1" or "0.5"
 *	x/y		a constant x divided by y (0 <= x, 1/INT_MAX <= y <=
 *			INT_MAX), e.g. "1/8"
 *	x/concurrency	x divided by the current concurrency window
 * The resulting constant (x, x/y, or x itself for "/concurrency") must be
 * in [0, 1].  Anything else is, as in Postfix, not an error: it is
 * replaced by the constant 1 and the caller logs Postfix's warning
 * ("<name>: ignoring malformed or unreasonable feedback: <value>").
 * Postfix 3.7 is built without "x/sqrt_concurrency": that form, too, is
 * malformed.  As with Postfix's sscanf(), text after a plain number that
 * does not start a "/" is ignored ("0.5 extra" is 0.5).
 *
 * Interface:
 *	cf_feedback_parse(text, &fb)  returns 0, or -1 for a malformed or
 *		unreasonable value (fb is then the constant 1)
 *	cf_feedback_value(&fb, concurrency)  the feedback at a window size
 */
#ifndef PQ_FEEDBACK_H
#define PQ_FEEDBACK_H

typedef struct CF_FEEDBACK {
    double base;         /* the constant, or the numerator */
    int per_concurrency; /* 1: divide base by the concurrency window */
} CF_FEEDBACK;

int cf_feedback_parse(const char *text, CF_FEEDBACK *fb);
double cf_feedback_value(const CF_FEEDBACK *fb, int concurrency);

#endif
