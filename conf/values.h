/*
 * values - parameter text to numbers, booleans and times, by Postfix's
 * rules.  These functions only convert; range checks and messages are the
 * caller's (see conf.h).
 *
 *	cf_convert_int(text, &value)  a decimal int, as strtol() reads it
 *		(leading whitespace and a sign allowed), with nothing after
 *		it and no overflow.  "" is not a number.
 *	cf_convert_bool(text, &value)  "yes" -> 1, "no" -> 0, any case
 *	cf_convert_time(text, unit, &seconds)  a non-negative number with an
 *		optional unit letter s, m, h, d or w (lower case only);
 *		without one, unit applies.  As in Postfix 3.7, what follows
 *		the unit letter is ignored ("10s # comment" is 10 s).  The
 *		result must fit an int.
 *	cf_convert_level(text, &level)  a compatibility level
 *		"major[.minor[.patch]]" (minor and patch 0..1023) as one
 *		number that compares the way the levels do ("3.10" > "3.9")
 *
 * Each returns 0, or -1 when the text is not valid (value unchanged).
 */
#ifndef PQ_VALUES_H
#define PQ_VALUES_H

int cf_convert_int(const char *text, int *value);
int cf_convert_bool(const char *text, int *value);
int cf_convert_time(const char *text, int unit, int *seconds);
int cf_convert_level(const char *text, long *level);

#endif
