/*
 * expand - $name expansion of parameter values, as Postfix 3.7 does it.
 *
 * A value is literal text with references in it:
 *
 *	$name, ${name}, $(name)	the value of name, itself expanded; empty
 *				when name is undefined
 *	$$			a literal "$"
 *	${name?text}		text when name is non-empty, else empty
 *	${name:text}		text when name is empty or undefined
 *	${name?{text}}, ${name:{text}}	the same, text in braces; whitespace
 *				around the braces is ignored
 *	${name?{text1}:{text2}}	text1 when name is non-empty, else text2
 *				(braces on text2 optional)
 *	${{a} OP {b}}		"true" or "" (a relational expression);
 *				OP is ==, !=, <, <=, >, >=: numeric when both
 *				sides are all digits, else byte-wise
 *	${{a} OPlevel {b}}	the same, comparing compatibility levels
 *				("major[.minor[.patch]]", numerically)
 *	${{a} OP {b} ? {t} : {f}}	t when true, f when false
 *
 * Names are [A-Za-z0-9_]+.  Both operands, the chosen result text and
 * every looked-up value are expanded in turn.  The nesting of references
 * is limited to EXPAND_MAX_DEPTH, as in Postfix: a value that refers to
 * itself, directly or not, is an error, never an endless loop.  Two limits
 * that Postfix does not have stop values that nest without looping but
 * grow exponentially ("a = $b$b", "b = $c$c", ...): one expansion handles
 * at most EXPAND_MAX_TOKENS literal runs and references, and produces at
 * most EXPAND_MAX_LENGTH bytes.  Real configurations stay far below both.
 *
 * Interface:
 *	expand_init(ex, lookup, context)  prepare an expander; lookup(name,
 *		context) returns a name's raw (unexpanded) value or NULL when
 *		it is undefined.  A lookup may itself call expand_append() on
 *		the same expander (to compute a default from other values):
 *		the nesting limit then covers both, and an error there
 *		is an error of the reference being looked up.
 *	expand_append(ex, result, pattern)  append the expansion of pattern
 *		to result.  Returns 0, or -1 after a syntax error or too deep
 *		nesting; expand_error(ex) then says what went wrong, in
 *		Postfix's words (e.g. "unreasonable macro call nesting:
 *		\"b\"").  After an error, result holds a partial expansion.
 *	expand_error(ex)  the text of the first error, "" when none
 *	expand_release(ex)  release the memory expand_init() took
 */
#ifndef PQ_EXPAND_H
#define PQ_EXPAND_H

#include "strbuf.h"

#define EXPAND_MAX_DEPTH  100
#define EXPAND_MAX_TOKENS 100000
#define EXPAND_MAX_LENGTH (1024 * 1024)

typedef const char *(*EXPAND_LOOKUP_FN)(const char *name, void *context);

typedef struct EXPAND {
    EXPAND_LOOKUP_FN lookup;
    void *context;
    int depth;   /* nesting of the reference being expanded */
    long tokens; /* literal runs and references handled so far */
    STRBUF *why; /* first error; empty when none */
} EXPAND;

void expand_init(EXPAND *ex, EXPAND_LOOKUP_FN lookup, void *context);
int expand_append(EXPAND *ex, STRBUF *result, const char *pattern);
const char *expand_error(const EXPAND *ex);
void expand_release(EXPAND *ex);

#endif
