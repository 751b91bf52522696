"""scen_preempt - parity scenarios for the order of delivery requests: round
robin over a message's destinations, VERP, qmgr's batch merge against
oqmgr's per-batch requests, preemptive scheduling (slot cost, minimum
slots, candidate score, no mutual preemption) and blocked jobs (spec 7.2
rows 17, 41-50).  SCENARIOS maps each name to a function that
returns the scenario (see parity_lib for its keys).

Requests are labelled by the local-part prefix of their first recipient
(m1-007@m1x007.test -> m1) and compared as label sequences, written
run-length encoded ("m1 s1 m1*5 s2 ...").  Every entry of a multi-entry
message has its own domain (m1x001.test ... m1x100.test; every *.test
domain goes to the script transport).  The serial agent stands for a
process limit of 1.  In the preemption scenarios the big message M1 is
injected before the manager starts and its first request is held; the
small messages are activated one at a time (run.send_active) while it is
held, then it is released, so every job is in core before the scheduler
chooses a second request.  oqmgr does no preemption: the same scenarios
show its round robin over destinations, compared with oqmgr."""
import time
from parity_lib import wait, until_drained


def rcpts(label, n):
    """n recipients of message `label`, each in its own domain."""
    return ["%s-%03d@%sx%03d.test" % (label, i, label, i) for i in range(1, n + 1)]


def label(addr):
    return addr.split("@")[0].split("-")[0]


def labels(run):
    """The label of each request, in arrival order."""
    return [label(a["rcpts"][0]) for a in run.requests()]


def rle(seq):
    """["m1", "s1", "m1", "m1"] -> "m1 s1 m1*2"."""
    out = []
    for x in seq:
        if out and out[-1][0] == x:
            out[-1][1] += 1
        else:
            out.append([x, 1])
    return " ".join(x if n == 1 else "%s*%d" % (x, n) for x, n in out)


def first_held(run, seconds=20):
    if not wait(lambda: len(run.requests()) >= 1, seconds):
        raise RuntimeError("the first request did not arrive")


# ---------------------------------------------------------------- row 17

def s_rr_one_message():
    rc = ["u%d@a.test" % i for i in range(1, 5)] + ["v%d@b.test" % i for i in range(1, 5)]
    return {
        "rows": [17],
        "doc": "serial agent, script_destination_recipient_limit=2, one message "
               "with 4 recipients in a.test and 4 in b.test (#17): requests a, b, "
               "a, b with 2 recipients each, not a, a, b, b",
        "sets": ["script_destination_recipient_limit=2"],
        "agent": {"serial": True, "default": {"action": "ok"}},
        "mail": [["s@c.test", rc]],
        "run": until_drained(20),
        "props": lambda r: {"sequence": [(a["nexthop"], a["rcpts"]) for a in r.requests()]},
        "compare": ["sequence"],
    }


# ---------------------------------------------------------------- row 41

def s_verp():
    return {
        "rows": [41],
        "doc": "VERP messages, serial agent (#41): sendmail -XV and -XV-= (its "
               "own delimiters) with 3 recipients in one domain each, and -XV "
               "with a recipient that recipient_canonical_maps rewrites: one "
               "request per recipient, in address order, each with its own "
               "VERP sender, encoded from the original recipient (sendmail -V "
               "is the DSN envelope id since Postfix 2.3, not VERP)",
        "sets": ["recipient_canonical_maps=texthash:$config_directory/canonical"],
        "files": {"canonical": "alias1@c.test real1@c.test\n"},
        "agent": {"serial": True, "default": {"action": "ok"}},
        "mail": [["owner-l1@c.test", ["u%d@a.test" % i for i in (1, 2, 3)], ["-XV"]],
                 ["owner-l2@c.test", ["u%d@b.test" % i for i in (1, 2, 3)], ["-XV-="]],
                 ["owner-l3@c.test", ["alias1@c.test"], ["-XV"]]],
        "run": until_drained(20),
        "props": lambda r: {
            "requests": sorted((x["nexthop"], x["sender"], x["rcpts"]) for x in r.records()),
            "per_domain_order": {h: [x["rcpts"] for x in r.records() if x["nexthop"] == h]
                                 for h in ("a.test", "b.test")},
            "left": r.left()},
        "compare": ["requests", "per_domain_order", "left"],
    }


# ---------------------------------------------------------------- row 42

def s_batch_merge():
    rc = ["u%03d@a.test" % i for i in range(250)]

    def props(r):
        recs = sorted(r.records(), key=lambda x: x["t0"])
        return {"sizes_in_order": [len(x["rcpts"]) for x in recs],
                "sequential": all(recs[i + 1]["t0"] >= recs[i]["t1"]
                                  for i in range(len(recs) - 1)),
                "rcpts_once": sorted(a for x in recs for a in x["rcpts"]) == rc,
                "left": r.left()}
    return {
        "rows": [42],
        "doc": "qmgr_message_active_limit=10, qmgr_message_recipient_limit=100, "
               "script_destination_recipient_limit=1000, one message with 250 "
               "recipients in one domain (#42): qmgr one request of 250 (the "
               "refill merges into the unselected entry); oqmgr 100, 100, 50, "
               "each after the previous one completed",
        "sets": ["qmgr_message_active_limit=10", "qmgr_message_recipient_limit=100",
                 "script_destination_recipient_limit=1000"],
        "agent": {"default": {"action": "ok", "sleep": 0.3}},
        "mail": [["s@c.test", rc]],
        "run": until_drained(30),
        "props": props,
        "compare": ["sizes_in_order", "sequential", "rcpts_once", "left"],
    }


# ---------------------------------------------------------------- rows 43-49

def preempt(rows, doc, big, small, sets=(), gap=0.0, pause=0.5, slow=0):
    """M1 (big = (label, entries)) is injected and its first request held;
    then the messages `small` ((label, entries) each) are activated
    one at a time, `gap` seconds apart; `pause` seconds after the last the
    held request is released and the rest runs on a serial agent."""
    def go(r):
        first_held(r)
        for k, (lab, n) in enumerate(small):
            if k:
                time.sleep(gap)
            r.send_active("%s@c.test" % lab, rcpts(lab, n))
        time.sleep(pause)
        r.alone = len(r.requests()) == 1
        r.release(["ok"])
        wait(lambda: r.idle(), 180)
        time.sleep(0.3)
    return {
        "rows": rows,
        "doc": doc,
        "slow": slow,
        "sets": list(sets),
        "agent": {"serial": True, "rules": [{"first": 1, "hold": True}],
                  "default": {"action": "ok"}},
        "mail": [["%s@c.test" % big[0], rcpts(*big)]],
        "run": go,
        "props": lambda r: {"order": rle(labels(r)), "held_alone": r.alone,
                            "left": r.left()},
        "compare": ["order", "held_alone", "left"],
    }


SMALL4 = [("s1", 1), ("s2", 1), ("s3", 1), ("s4", 1)]


def s_preempt_defaults():
    return preempt(
        [43], "serial agent; M1 with 100 entries (100 domains) activated first, "
        "its first request held while S1..S4 (1 entry each) are activated "
        "(#43): qmgr m1 s1 m1*5 s2 m1*5 s3 m1*5 s4 m1*84; oqmgr m1*100 s1..s4",
        ("m1", 100), SMALL4)


def s_preempt_off():
    return preempt(
        [44], "as preempt_defaults with script_delivery_slot_cost=0 (#44): "
        "no preemption, m1*100 then s1..s4",
        ("m1", 100), SMALL4, sets=["script_delivery_slot_cost=0"])


def s_preempt_cost1():
    return preempt(
        [44], "as preempt_defaults with script_delivery_slot_cost=1 (#44): "
        "no preemption (it needs a cost of 2 or more), m1*100 then s1..s4",
        ("m1", 100), SMALL4, sets=["script_delivery_slot_cost=1"])


def s_preempt_cost2():
    return preempt(
        [45], "as preempt_defaults with script_delivery_slot_cost=2 (#45): "
        "qmgr m1 s1 m1*2 s2 m1*2 s3 m1*2 s4 m1*93",
        ("m1", 100), SMALL4, sets=["script_delivery_slot_cost=2"])


def s_min_slots_14():
    return preempt(
        [46], "as preempt_defaults with M1 of 14 entries and one small message "
        "(#46): 14 < minimum slots 3 x cost 5, so M1 is never preempted: "
        "m1*14 s1",
        ("m1", 14), SMALL4[:1])


def s_min_slots_15():
    return preempt(
        [46], "as preempt_defaults with M1 of 15 entries and one small message "
        "(#46): 15 = minimum slots 3 x cost 5, so M1 is preempted: m1 s1 m1*14",
        ("m1", 15), SMALL4[:1])


def s_candidate_score():
    return preempt(
        [48], "M1 with 100 entries, first request held; A2 (2 entries) "
        "activated, B1 (1 entry) activated about 1 s later, M1 released 5 s "
        "after that (#48): B1 preempts first (score age/entries, about 6/1 "
        "against 7/2), A2 after M1 has earned its slots again: qmgr m1 b1 "
        "m1*5 a2*2 m1*94; oqmgr m1*100 a2*2 b1",
        ("m1", 100), [("a2", 2), ("b1", 1)], gap=1.0, pause=5.0)


def s_candidate_score_old():
    return preempt(
        [48], "as candidate_score, but B1 is activated 151 s after A2 "
        "(#48, the slow variant): A2's score (about 156/2) beats B1's "
        "(about 5/1), so A2 preempts first",
        ("m1", 100), [("a2", 2), ("b1", 1)], gap=151.0, pause=5.0, slow=156)


def s_no_mutual_preemption():
    return preempt(
        [49], "two 40-entry messages M1 (first request held) and M2, then S1 "
        "(#49): qmgr m1 s1 m1*39 m2*40 (M2 needs 40 slots, M1 can lend at "
        "most 8); oqmgr m1*40 m2*40 s1",
        ("m1", 40), [("m2", 40), ("s1", 1)])


def s_slot_loan():
    return preempt(
        [47], "M1 with 1000 entries (first request held), then M2 with 20 "
        "(#47): with the default slot loan and discount M2 starts after 35 "
        "M1 requests (35 div 5 + 3 >= 20 x 0.5) and its 20 requests follow "
        "one another",
        ("m1", 1000), [("m2", 20)])


def s_slot_loan_off():
    return preempt(
        [47], "as slot_loan with script_delivery_slot_loan=0 and "
        "script_delivery_slot_discount=0 (#47): M2 starts after 100 M1 "
        "requests (100 div 5 >= 20)",
        ("m1", 1000), [("m2", 20)],
        sets=["script_delivery_slot_loan=0", "script_delivery_slot_discount=0"])


# ---------------------------------------------------------------- row 50

def s_blocked_job():
    def go(r):
        first_held(r)
        r.send_active("m2@c.test", ["m2-001@a.test"])
        r.send_active("m3@c.test", ["m3-001@b.test"])
        wait(lambda: any(label(x["rcpts"][0]) == "m3" for x in r.records()), 15)
        time.sleep(1.0)
        r.before = labels(r)
        r.release(["ok"])
        wait(lambda: r.idle(), 20)
        time.sleep(0.3)
    return {
        "rows": [50],
        "doc": "script_destination_concurrency_limit=1; M1 to a.test held in "
               "flight, then M2 to a.test and M3 to b.test activated (#50): M3 "
               "is delivered while M2 waits; M2 goes after M1's reply",
        "sets": ["script_destination_concurrency_limit=1"],
        "agent": {"rules": [{"first": 1, "hold": True}], "default": {"action": "ok"}},
        "mail": [["m1@c.test", ["m1-001@a.test"]]],
        "run": go,
        "props": lambda r: {"before_release": r.before, "order": labels(r),
                            "left": r.left()},
        "compare": ["before_release", "order", "left"],
    }


SCENARIOS = {
    "rr_one_message": s_rr_one_message,
    "verp": s_verp,
    "batch_merge": s_batch_merge,
    "preempt_defaults": s_preempt_defaults,
    "preempt_off": s_preempt_off,
    "preempt_cost1": s_preempt_cost1,
    "preempt_cost2": s_preempt_cost2,
    "min_slots_14": s_min_slots_14,
    "min_slots_15": s_min_slots_15,
    "slot_loan": s_slot_loan,
    "slot_loan_off": s_slot_loan_off,
    "candidate_score": s_candidate_score,
    "candidate_score_old": s_candidate_score_old,
    "no_mutual_preemption": s_no_mutual_preemption,
    "blocked_job": s_blocked_job,
}
