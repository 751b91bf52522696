/*
 * store_fault - a test shim that simulates a crash at a durable step.
 *
 * Backends call store_fault_point(step) right before every durable step
 * (see store_backend.h).  Normally that only counts.  A test arms the shim
 * with store_fault_arm(k): the k-th point reached afterwards ends the
 * process at once with _exit(STORE_FAULT_EXIT), without running the step
 * and without any clean-up, as a power cut or kill -9 would.  The test runs
 * the operation in a forked child, then reopens the store in the parent and
 * checks that recovery loses and duplicates nothing.  The environment
 * variable PQ_FAULT_AT=k arms the shim in a program that is not a test.
 *
 *	store_fault_point(step)	count; crash if this is the armed point
 *	store_fault_arm(k)	arm for the k-th point from now (0 disarms)
 *	store_fault_count()	points passed since the last arm
 *	store_fault_last()	name of the last point passed
 */
#ifndef PQ_STORE_FAULT_H
#define PQ_STORE_FAULT_H

#define STORE_FAULT_EXIT 86

void store_fault_point(const char *step);
void store_fault_arm(int k);
int store_fault_count(void);
const char *store_fault_last(void);

#endif
