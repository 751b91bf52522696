"""scen_basic - the first parity scenarios: recipient limits, per-recipient
queues, the concurrency window, order, dead destinations, retry,
defer_transports, hold, expiry and bounces.  SCENARIOS maps each name to a
function that returns the scenario (see parity_lib for its keys)."""
import os, re, time
from parity_lib import (wait, max_overlap, activation_order, sizes, all_rcpts,
                        hop_of, until_drained)


def s_rcpt_limit_default():
    rc = ["u%03d@a.test" % i for i in range(120)]
    return {
        "rows": [38, 39],
        "doc": "120 recipients in one domain, default recipient limit 50 "
               "(spec 7.2 #38/#39): requests of 50, 50, 20",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", rc]],
        "run": until_drained(20),
        "props": lambda r: {"sizes": sizes(r.records()),
                            "rcpts_once": all_rcpts(r.records()) == sorted(rc)},
        "compare": ["sizes", "rcpts_once"],
    }


def s_rcpt_limit_small():
    rc = ["u%d@a.test" % i for i in range(7)]
    return {
        "rows": [38],
        "doc": "script_destination_recipient_limit=3, 7 recipients (#38): 3, 3, 1",
        "sets": ["script_destination_recipient_limit=3"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", rc]],
        "run": until_drained(20),
        "props": lambda r: {"sizes": sizes(r.records()),
                            "batches": sorted(tuple(x["rcpts"]) for x in r.records()),
                            "rcpts_once": all_rcpts(r.records()) == sorted(rc)},
        "compare": ["sizes", "batches", "rcpts_once"],
    }


def s_per_recipient_queues():
    def props(r):
        recs = r.records()
        per = {}
        for x in recs:
            per.setdefault(x["rcpts"][0], []).append((x["t0"], x["t1"]))
        return {"sizes": sizes(recs),
                "nexthops": sorted(set(x["nexthop"] for x in recs)),
                "max_per_rcpt": max(max_overlap(v) for v in per.values()),
                "max_total": max_overlap([(x["t0"], x["t1"]) for x in recs])}
    return {
        "rows": [40],
        "doc": "recipient limit 1 gives per-recipient queues (#40): concurrency "
               "limit 1 holds per recipient, two recipients run in parallel, "
               "nexthop stays the domain",
        "sets": ["script_destination_recipient_limit=1",
                 "script_destination_concurrency_limit=1"],
        "agent": {"default": {"action": "ok", "sleep": 0.6}},
        "mail": [["s@c.test", ["u1@a.test", "u2@a.test"]]] * 3,
        "run": until_drained(30),
        "props": props,
        "compare": ["sizes", "nexthops", "max_per_rcpt", "max_total"],
    }


def s_concurrency():
    def props(r):
        recs = sorted(r.records(), key=lambda x: x["t0"])
        first_end = min(x["t1"] for x in recs)
        return {"requests": len(recs),
                "initial_window": sum(1 for x in recs if x["t0"] < first_end),
                "max_concurrency": max(x["dconc"] for x in recs),
                "max_overlap": max_overlap([(x["t0"], x["t1"]) for x in recs])}
    return {
        "rows": [18, 19, 21],
        "doc": "40 one-recipient messages to one domain, limit 8 (#18/#19/#21): "
               "initial window 5, slow start to the limit, never above it",
        "sets": ["script_destination_concurrency_limit=8"],
        "agent": {"default": {"action": "ok", "sleep": 0.5}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(40)],
        "run": until_drained(40),
        "props": props,
        "compare": ["requests", "initial_window", "max_concurrency", "max_overlap"],
    }


def s_order():
    def props(r):
        recs = sorted(r.records(), key=lambda x: x["t0"])
        act = activation_order(r.log())
        seq = [x["qid"] for x in recs]
        hops = [x["nexthop"] for x in recs]
        fifo = all([q for q in seq if hop_of(recs, q) == h] ==
                   [q for q in act if q in seq and hop_of(recs, q) == h]
                   for h in set(hops))
        # round robin: after the held first request, no two requests in a
        # row go to the same domain while both still have mail
        rest = hops[1:]
        last_mixed = max(i for i in range(len(rest)) if rest[i] != rest[-1]) if len(set(rest)) > 1 else 0
        rr = all(rest[i] != rest[i + 1] for i in range(last_mixed))
        return {"requests": len(recs), "fifo_per_destination": fifo,
                "global_fifo": seq == [q for q in act if q in seq],
                "round_robin": rr}
    return {
        "rows": [16],
        "doc": "one agent process (serial), 6 messages to a.test and 6 to b.test, "
               "first request held until all are active (#16): oqmgr alternates "
               "a,b,a,b; qmgr serves in activation order; FIFO within a destination",
        "agent": {"serial": True,
                  "rules": [{"first": 1, "action": "ok", "sleep": 1.5}],
                  "default": {"action": "ok", "sleep": 0.05}},
        "mail": [["s@c.test", ["u%d@%s.test" % (i, d)]] for i in range(6) for d in "ab"],
        "run": until_drained(30),
        "props": props,
        "compare": {"nqmgr": ["requests", "fifo_per_destination", "global_fifo"],
                    "oqmgr": ["requests", "fifo_per_destination", "round_robin"]},
    }


def s_dead_destination():
    def props(r):
        recs = r.records()
        log = r.log()
        return {"a_requests": sum(1 for x in recs if x["nexthop"] == "a.test"),
                "b_requests": sum(1 for x in recs if x["nexthop"] == "b.test"),
                "suspended": len(re.findall(r"to=<u\d+@a\.test>.*status=deferred "
                                            r"\(delivery temporarily suspended: ", log)),
                "a_deferred": len([q for q in r.queue_ids("deferred")])}
    def go(r):
        wait(lambda: r.busy() == 0, 20)
        time.sleep(0.5)
    return {
        "rows": [24],
        "doc": "every request to a.test fails with a hop status (defaults: "
               "initial 5, cohort limit 1; #24): 5 requests, dead after the 3rd "
               "failure, the other 15 deferred through retry with 'delivery "
               "temporarily suspended' and no request; b.test unaffected",
        "sets": ["minimal_backoff_time=30s", "maximal_backoff_time=60s"],
        "agent": {"rules": [{"domain": "a.test", "action": "defer", "sleep": 0.5,
                             "hop": "4.4.1 connect to a.test: Connection refused"}],
                  "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(20)] +
                [["s@c.test", ["v1@b.test"]]],
        "run": go,
        "props": props,
        "compare": ["a_requests", "b_requests", "suspended", "a_deferred"],
    }


def s_defer_retry():
    def props(r):
        recs = sorted(r.records(), key=lambda x: x["t0"])
        return {"attempts": [(x["rcpts"], x["action"]) for x in recs],
                # the retry waits for the backoff (2 s here, one-second mtime
                # granularity and 1 s scans): not immediate, not after max
                "retry_gap_ok": len(recs) == 2 and 0.3 <= recs[1]["t0"] - recs[0]["t1"] <= 6.0,
                "removed": "removed" in r.log() and r.left() == 0}
    return {
        "rows": [51, 52],
        "doc": "the first attempt defers (no hop status), the retry after the "
               "minimal backoff succeeds (#51/#52)",
        "agent": {"rules": [{"first": 1, "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "run": until_drained(20),
        "props": props,
        "compare": ["attempts", "retry_gap_ok", "removed"],
    }


def s_backoff_from_age():
    ages = {"u1@a.test": 10, "u2@a.test": 1000, "u3@a.test": 10000}
    def rcpt_of(data):
        return next(a for a in ages if a.encode() in data)
    def before(r):
        # cleanup wrote create_time=<now>; make each message older by
        # rewriting the digits in place (same length, same record)
        for qid in r.queue_ids("incoming"):
            path = r.queue_path("incoming", qid)
            with open(path, "r+b") as fp:
                data = fp.read()
                rcpt = rcpt_of(data)
                m = re.search(rb"create_time=(\d+)", data)
                old = str(int(time.time()) - ages[rcpt]).encode()
                assert len(old) == len(m.group(1))
                fp.seek(m.start(1))
                fp.write(old)
    def go(r):
        wait(lambda: r.queued("deferred") == 3 and r.busy() == 0, 20)
        now = time.time()
        r.backoffs = {}
        for qid in r.queue_ids("deferred"):
            path = r.queue_path("deferred", qid)
            with open(path, "rb") as fp:
                rcpt = rcpt_of(fp.read())
            # one-second mtimes and a few seconds of run: nearest 50 s
            r.backoffs[rcpt] = int(round((os.stat(path).st_mtime - now) / 50.0)) * 50
    return {
        "rows": [52],
        "doc": "the backoff grows with the message's age (#52): create_time "
               "10 s, 1000 s and 10000 s old, backoff 300..4000 s, the agent "
               "defers: next attempt in 300, 1000 and 4000 s",
        "sets": ["minimal_backoff_time=300s", "maximal_backoff_time=4000s"],
        "agent": {"default": {"action": "defer"}},
        "mail": [["s@c.test", [a]] for a in sorted(ages)],
        "before": before,
        "run": go,
        "props": lambda r: {"backoffs": [r.backoffs.get(a) for a in sorted(ages)],
                            "deferred": r.queued("deferred")},
        "compare": ["backoffs", "deferred"],
    }


def s_defer_transports():
    def go(r):
        wait(lambda: "deferred transport" in r.log() and r.busy() == 0, 15)
        time.sleep(1.5)
        r.before_flush = len(r.records())
        r.deferred_before = r.queued("deferred")
        r.postfix_cmd("postqueue", "-f")
        wait(lambda: r.queued("deferred") == 0 and r.busy() == 0, 15)
        time.sleep(0.3)
    return {
        "rows": [62, 63],
        "doc": "defer_transports=script (#62/#63): no request, recipient deferred "
               "with 'deferred transport'; postqueue -f then delivers",
        "sets": ["defer_transports=script"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "run": go,
        "props": lambda r: {"requests_before_flush": r.before_flush,
                            "deferred_before_flush": r.deferred_before,
                            "logged": bool(re.search(r"to=<u1@a\.test>.*status=deferred \(deferred transport\)", r.log())),
                            "requests_after_flush": len(r.records())},
        "compare": ["requests_before_flush", "deferred_before_flush", "logged",
                    "requests_after_flush"],
    }


def s_hold():
    def before(r):
        ids = r.queue_ids("incoming")
        r.held = ids[0]
        r.postfix_cmd("postsuper", "-h", r.held)
    def go(r):
        wait(lambda: len(r.records()) >= 1 and r.busy() == 0, 15)
        time.sleep(2.5)    # heartbeat scans (queue_run_delay 1s)
        r.held_requests = sum(1 for x in r.records() if x["qid"] == r.held)
        r.in_hold = r.queued("hold")
        r.postfix_cmd("postsuper", "-H", r.held)
        r.postfix_cmd("postqueue", "-f")
        wait(lambda: r.queued("deferred") + r.queued("hold") + r.busy() == 0, 15)
        time.sleep(0.3)
    return {
        "rows": [61],
        "doc": "a message on hold (postsuper -h) is never imported; after "
               "postsuper -H it is delivered (#61)",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]], ["s@c.test", ["u2@a.test"]]],
        "before": before,
        "run": go,
        "props": lambda r: {"held_requests": r.held_requests, "in_hold": r.in_hold,
                            "requests": len(r.records()),
                            "released_delivered": any(x["qid"] == r.held for x in r.records())},
        "compare": ["held_requests", "in_hold", "requests", "released_delivered"],
    }


def s_expiry():
    def go(r):
        wait(lambda: any(x["sender"] == "" for x in r.records()) and r.busy() == 0, 20)
        time.sleep(0.5)
    def props(r):
        recs = sorted(r.records(), key=lambda x: x["t0"])
        log = r.log()
        return {"requests": [(x["nexthop"], x["sender"], x["action"]) for x in recs],
                "expired": len(re.findall(r"from=<s@b\.test>, status=expired, returned to sender", log)),
                "left": r.left()}
    return {
        "rows": [54],
        "doc": "maximal_queue_lifetime=0, the agent defers (#54): 'status=expired, "
               "returned to sender', a non-delivery notice to the sender (null "
               "sender), the original removed",
        "sets": ["maximal_queue_lifetime=0", "bounce_queue_lifetime=0"],
        "agent": {"rules": [{"domain": "a.test", "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["s@b.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["requests", "expired", "left"],
    }


def s_bounce():
    def go(r):
        wait(lambda: any(x["sender"] == "" for x in r.records()) and r.busy() == 0, 20)
        time.sleep(0.5)
    return {
        "rows": [67],
        "doc": "the agent bounces 1 of 2 recipients and delivers the other (#67): "
               "one non-delivery notice, the file removed",
        "agent": {"rules": [{"domain": "a.test", "action": "bounce"}],
                  "default": {"action": "ok"}},
        "mail": [["s@b.test", ["u1@a.test", "u2@c.test"]]],
        "run": go,
        "props": lambda r: {"requests": sorted((x["nexthop"], x["sender"], x["action"]) for x in r.records()),
                            "left": r.left()},
        "compare": ["requests", "left"],
    }


SCENARIOS = {
    "rcpt_limit_default": s_rcpt_limit_default,
    "rcpt_limit_small": s_rcpt_limit_small,
    "per_recipient_queues": s_per_recipient_queues,
    "concurrency": s_concurrency,
    "order": s_order,
    "dead_destination": s_dead_destination,
    "defer_retry": s_defer_retry,
    "backoff_from_age": s_backoff_from_age,
    "defer_transports": s_defer_transports,
    "hold": s_hold,
    "expiry": s_expiry,
    "bounce": s_bounce,
}


