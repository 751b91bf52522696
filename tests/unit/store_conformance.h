/*
 * store_conformance - one Check suite that states the queue store contract
 * (backends/store.h) and runs it against any backend.
 *
 * Every test makes a fresh, empty store in its own temporary directory,
 * writes real queue files the way cleanup(8) does (local incoming/, mode
 * 0600 while writing, 0700 when ready, the queue id made from the time and
 * the inode), and drives the store only through store.h.  Tests that look
 * at Postfix's directories directly (where a deferred file lies, its mtime,
 * its logs) run only for stores with STORE_CAP_POSTFIX; tests of leases
 * between hosts run only for stores with STORE_CAP_SHARED (and say so when
 * skipped).  The crash tests fork a child that runs one operation with the
 * fault shim (store_fault.h) armed at its k-th durable step, for k = 1, 2,
 * ... until the operation completes, and check after each simulated crash
 * that store_recover() leaves the message exactly once, unchanged (or, for
 * delete and remove, entirely present or entirely gone), with no leftover
 * temporaries and no logs without a message.  Each crash test prints one
 * line "store conformance (<type>): <operation>: <n> crash points".
 *
 * A backend is described by STORE_CONFORMANCE_BACKEND:
 *	type		what store_type() must say
 *	caps		what store_caps() must say
 *	bad_name_spec	a spec of this type whose name the backend refuses
 *			(store_open() must say STORE_INVALID), or NULL
 *	make_store(be, dir, env, spec, spec_len)
 *			make a fresh, empty store for one test.  dir is an
 *			empty temporary directory that the suite removes
 *			afterwards; env arrives filled in by the suite
 *			(queue_dir = dir/queue with Postfix's queue
 *			subdirectories already made, hashing, node name
 *			"node-a.example", lease time 60 s, timeout 10 s); the
 *			function writes the store_open() spec into spec and may
 *			change env fields a backend needs (strings it sets must
 *			stay valid until destroy_store).  Returns 0, or -1 (the
 *			test fails).
 *	make_peer(be, first_spec, dir, env, spec, spec_len)
 *			another host's view of the same shared store: the
 *			suite passes the first host's spec, a second local
 *			queue directory and node name "node-b.example" in env.
 *			Needed only with STORE_CAP_SHARED; may be NULL
 *			otherwise.
 *	destroy_store(be, dir, spec)
 *			drop what make_store made outside dir (a database, a
 *			key prefix); NULL when there is nothing to drop.
 *	context		for the functions above.
 *
 *	Suite *store_conformance_suite(be)
 *		the suite; be must stay valid while the suite runs.  One
 *		backend per program.  Temporary directories live under one
 *		directory in /tmp that is removed when the program exits.
 *
 *	store_conformance_remove_tree(path)
 *		remove path and everything below it (nothing when it does
 *		not exist); for the backends' own tests too.
 */
#ifndef PQ_STORE_CONFORMANCE_H
#define PQ_STORE_CONFORMANCE_H

#include <check.h>
#include <stddef.h>

#include "store.h"

#define STORE_CONFORMANCE_SPEC_MAX 1024

typedef struct STORE_CONFORMANCE_BACKEND STORE_CONFORMANCE_BACKEND;

struct STORE_CONFORMANCE_BACKEND {
    const char *type;
    int caps;
    const char *bad_name_spec;
    int (*make_store)(const STORE_CONFORMANCE_BACKEND *be, const char *dir,
                      STORE_ENV *env, char *spec, size_t spec_len);
    int (*make_peer)(const STORE_CONFORMANCE_BACKEND *be,
                     const char *first_spec, const char *dir, STORE_ENV *env,
                     char *spec, size_t spec_len);
    void (*destroy_store)(const STORE_CONFORMANCE_BACKEND *be, const char *dir,
                          const char *spec);
    void *context;
};

Suite *store_conformance_suite(const STORE_CONFORMANCE_BACKEND *be);
void store_conformance_remove_tree(const char *path);

#endif
