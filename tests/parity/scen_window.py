"""scen_window - parity scenarios for the destination concurrency window:
slow start, positive and negative feedback, dead destinations and the
destination status cache, pending connections, transport death, agent
crashes and rate delays (spec 7.2 rows 15-37).  SCENARIOS maps each name to
a function that returns the scenario (see parity_lib for its keys)."""
import re, time
from parity_lib import LONG_BACKOFF, wait, settle, windows, max_overlap, until_drained


# window 1 and failed cohort limit 1: one hop failure kills a destination
ONE_FAILURE_KILLS = ["initial_destination_concurrency=1",
                     "script_destination_concurrency_failed_cohort_limit=1"]


def outstanding(run):
    return len(run.requests())


def requests_for(run, rcpt):
    """How many requests so far carried rcpt."""
    return sum(1 for a in run.requests() if rcpt in a["rcpts"])


def attempted(run, rcpt, seconds):
    """Wait until a request for rcpt arrives; whether one did."""
    return wait(lambda: requests_for(run, rcpt) > 0, seconds)


def release_steps(run, actions, quiet=1.0):
    """Release held requests one action at a time; after each, the number
    of requests that arrived so far minus those released."""
    seq = []
    for k, a in enumerate(actions, 1):
        run.release([a])
        n = settle(run, outstanding, quiet=quiet)
        seq.append(n - k)
    return seq


def s_slow_start():
    def go(r):
        r.initial = settle(r, outstanding, quiet=1.5)
        r.steps = release_steps(r, ["ok"] * 10)
        r.windows = windows(r.log(), "a.test")
        r.release(["ok"] * 100)
        wait(lambda: r.idle(), 30)
    return {
        "rows": [18, 19],
        "doc": "initial_destination_concurrency=2, limit 10, 30 held messages to "
               "one domain: 2 outstanding, then min(10, 2+k) after k successes",
        "sets": ["initial_destination_concurrency=2",
                 "script_destination_concurrency_limit=10"],
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(30)],
        "run": go,
        "props": lambda r: {"initial": r.initial, "steps": r.steps,
                            "windows": r.windows},
        "compare": ["initial", "steps", "windows"],
    }


def suspended(log, domain, local=r"[^>]*"):
    """Recipients in DOMAIN (whose local part matches LOCAL) deferred
    because the destination is dead."""
    return len(re.findall(r"to=<%s@%s>.*status=deferred \(delivery temporarily "
                          r"suspended: " % (local, re.escape(domain)), log))


def held_window_scenario(rows, doc, sets, actions, nmail=30, tail="ok"):
    """Hold every request to a.test; after the initial window settles,
    release ACTIONS one at a time, then everything with TAIL."""
    def go(r):
        r.initial = settle(r, outstanding, quiet=1.5)
        r.steps = release_steps(r, actions)
        # the windows of the stepped phase only: when everything is released
        # at once the last increments depend on the order of the replies
        r.windows = windows(r.log(), "a.test")
        r.release([tail] * (nmail + 10))
        wait(lambda: r.busy() == 0, 30)
    return {
        "rows": rows, "doc": doc, "sets": sets,
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(nmail)],
        "run": go,
        "props": lambda r: {"initial": r.initial, "steps": r.steps,
                            "windows": r.windows,
                            "suspended": suspended(r.log(), "a.test")},
        "compare": ["initial", "steps", "windows", "suspended"],
    }


def s_slow_start_1n():
    return held_window_scenario(
        [20], "positive feedback 1/concurrency, initial 2, limit 10: the window "
        "grows by one after 2, 3, 4, 5... successes (feedback-debug windows)",
        ["initial_destination_concurrency=2",
         "script_destination_concurrency_limit=10",
         "script_destination_concurrency_positive_feedback=1/concurrency"],
        ["ok"] * 16, nmail=24)


def s_negative_feedback():
    return held_window_scenario(
        [22], "initial 10, limit 20, cohort limit 100, 10 in flight, 5 hop "
        "failures: window 10, 8, 7, 6, 5, 4 and no new request while busy >= window",
        ["initial_destination_concurrency=10",
         "script_destination_concurrency_limit=20",
         "script_destination_concurrency_failed_cohort_limit=100"] + LONG_BACKOFF,
        ["hop"] * 5, nmail=20)


def s_negative_feedback_1n():
    return held_window_scenario(
        [23], "negative feedback 1/concurrency, initial 10: window 10 -> 9 on "
        "the first hop failure, 9 until the 9th, then 8",
        ["initial_destination_concurrency=10",
         "script_destination_concurrency_limit=20",
         "script_destination_concurrency_failed_cohort_limit=100",
         "script_destination_concurrency_negative_feedback=1/concurrency"] + LONG_BACKOFF,
        ["hop"] * 10, nmail=20)


def s_cohort_limit_off():
    return held_window_scenario(
        [25], "failed cohort limit 0, every reply a hop failure: never dead "
        "(no 'delivery temporarily suspended'), the window shrinks to 1 and "
        "one attempt at a time continues",
        ["script_destination_concurrency_failed_cohort_limit=0"] + LONG_BACKOFF,
        ["hop"] * 8, nmail=10, tail="hop")


def s_window1_death():
    def go(r):
        settle(r, outstanding, quiet=1.5)
        r.release(["hop"])
        wait(lambda: r.busy() == 0, 20)
        time.sleep(0.5)
    return {
        "rows": [26],
        "doc": "initial window 1, cohort limit 1: one hop failure kills the "
               "destination; the other queued mail is suspended without a request",
        "sets": ONE_FAILURE_KILLS + LONG_BACKOFF,
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(6)],
        "run": go,
        "props": lambda r: {"requests": len(r.requests()),
                            "suspended": suspended(r.log(), "a.test"),
                            "deferred": r.queued("deferred")},
        "compare": ["requests", "suspended", "deferred"],
    }


def s_revival_in_flight():
    def go(r):
        r.initial = settle(r, outstanding, quiet=1.5)
        r.release(["hop", "hop"])
        wait(lambda: suspended(r.log(), "a.test") >= 3, 10)
        r.after_dead = settle(r, outstanding, quiet=1.0)
        r.release(["ok"])
        settle(r, outstanding, quiet=1.0)
        r.send("n@c.test", ["new@a.test"])
        r.revived = attempted(r, "new@a.test", 8)
        r.release(["ok"] * 20)
        wait(lambda: r.busy() == 0, 20)
    return {
        "rows": [28],
        "doc": "initial 3, cohort limit 1, 3 in flight: two hop failures kill "
               "the destination, a success on the third revives it: new mail "
               "is attempted at once",
        "sets": ["initial_destination_concurrency=3",
                 "script_destination_concurrency_failed_cohort_limit=1"] + LONG_BACKOFF,
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(6)],
        "run": go,
        "props": lambda r: {"initial": r.initial, "after_dead": r.after_dead,
                            "suspended": suspended(r.log(), "a.test"),
                            "revived": r.revived},
        "compare": ["initial", "after_dead", "suspended", "revived"],
    }


def s_flush_revival():
    def go(r):
        wait(lambda: r.busy() == 0 and suspended(r.log(), "a.test") >= 3, 20)
        r.before = len(r.requests())
        r.postfix_cmd("postqueue", "-f")
        r.flushed = wait(lambda: r.idle(), 10)
        time.sleep(0.3)
    return {
        "rows": [29],
        "doc": "a dead destination (window 1, one hop failure) with 3 suspended "
               "messages: postqueue -f revives it and the deferred mail is "
               "delivered at once, long before the 60 s backoff",
        "sets": ONE_FAILURE_KILLS + LONG_BACKOFF,
        "agent": {"rules": [{"first": 1, "action": "hop", "sleep": 0.3}],
                  "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(4)],
        "run": go,
        "props": lambda r: {"requests_before": r.before,
                            "delivered_after_flush": r.flushed,
                            "requests": len(r.requests())},
        "compare": ["requests_before", "delivered_after_flush", "requests"],
    }


def s_flush_dead_only():
    def go(r):
        wait(lambda: r.busy() == 0 and suspended(r.log(), "a.test") >= 1, 15)
        time.sleep(0.5)
        r.trigger("F")
        time.sleep(2.5)     # heartbeats scan deferred/: nothing there is due
        r.after_f = len(r.requests())
        r.deferred_after_f = r.queued("deferred")
        r.send("n@c.test", ["new@a.test"])
        r.new_attempted = attempted(r, "new@a.test", 6)
    return {
        "rows": [13],
        "doc": "a dead destination with deferred mail; F alone clears the dead "
               "state but imports nothing (the deferred mail waits for its "
               "backoff); a new message for it is attempted at once",
        "sets": ONE_FAILURE_KILLS + LONG_BACKOFF,
        "agent": {"rules": [{"first": 1, "action": "hop", "sleep": 0.3}],
                  "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(2)],
        "run": go,
        "props": lambda r: {"requests_after_f": r.after_f,
                            "deferred_after_f": r.deferred_after_f,
                            "new_attempted": r.new_attempted},
        "compare": ["requests_after_f", "deferred_after_f", "new_attempted"],
    }


def s_status_cache_duration():
    def go(r):
        wait(lambda: r.busy() == 0 and len(r.requests()) == 1, 15)
        t_dead = time.monotonic()
        r.send("early@c.test", ["early@a.test"])
        wait(lambda: r.busy() == 0, 10)
        time.sleep(1)
        r.early_requests = requests_for(r, "early@a.test")
        r.early_suspended = suspended(r.log(), "a.test")
        time.sleep(max(0, t_dead + 8 - time.monotonic()))
        r.send("late@c.test", ["late@a.test"])
        r.late_attempted = attempted(r, "late@a.test", 6)
    return {
        "rows": [27],
        "doc": "minimal_backoff_time=6s: a destination killed by a hop failure "
               "stays dead for the backoff time: mail sent 1 s later is "
               "deferred without a request, mail sent 8 s later is attempted",
        "sets": ONE_FAILURE_KILLS + ["minimal_backoff_time=6s", "maximal_backoff_time=60s"],
        "agent": {"rules": [{"first": 1, "action": "hop"}], "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "run": go,
        "props": lambda r: {"early_requests": r.early_requests,
                            "early_suspended": r.early_suspended,
                            "late_attempted": r.late_attempted},
        "compare": ["early_requests", "early_suspended", "late_attempted"],
    }


def s_status_cache_bound():
    def go(r):
        # x@x.test ends with a hop failure; the other requests stay held
        wait(lambda: any("x@x.test" in x["rcpts"] for x in r.records()), 15)
        settle(r, outstanding, quiet=1.0)
        r.in_flight = len(r.requests()) - 1
        r.send("n@c.test", ["y@x.test"])
        r.new_attempted = attempted(r, "y@x.test", 5)
        r.new_suspended = suspended(r.log(), "x.test", local="y") > 0
        r.release(["ok"] * 5)
        wait(lambda: r.busy() == 0, 20)
    return {
        "rows": [30],
        "doc": "active limit 2, qmgr_message_recipient_limit=2 (the dead-queue "
               "cache holds while at most 4 queues are in core); one message "
               "to x.test and 5 other domains, those 5 held, x.test killed by "
               "a hop failure (#30): qmgr has 6 queues, so x.test's dead state "
               "goes with its last entry and new mail to it is attempted at "
               "once; oqmgr reads 2 recipients at a time, keeps the dead state "
               "and suspends the new mail",
        "sets": ["qmgr_message_active_limit=2",
                 "qmgr_message_recipient_limit=2"] + ONE_FAILURE_KILLS + LONG_BACKOFF,
        "agent": {"rules": [{"rcpt": "x@x.test", "action": "hop"},
                            {"domain": "x.test", "action": "ok"}],
                  "default": {"hold": True}},
        "mail": [["s@c.test", ["x@x.test"] + ["d%d@d%d.test" % (i, i) for i in range(1, 6)]]],
        "run": go,
        "props": lambda r: {"held_in_flight": r.in_flight,
                            "new_attempted": r.new_attempted,
                            "new_suspended": r.new_suspended},
        "compare": ["held_in_flight", "new_attempted", "new_suspended"],
    }


def s_pending_greetings():
    def props(r):
        recs = r.records()
        return {"requests": len(recs), "max_pending": max(x["pending"] for x in recs)}
    return {
        "rows": [15],
        "doc": "the agent delays its greeting 1.5 s; 8 messages to 8 "
               "domains: never more than 2 connections waiting for a greeting",
        "agent": {"greeting": {"sleep": 1.5}, "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u@d%d.test" % i]] for i in range(8)],
        "run": until_drained(40),
        "props": props,
        "compare": ["requests", "max_pending"],
    }


def transport_down_props(r):
    log = r.log()
    return {"unavailable": len(re.findall(r"status=deferred \(mail transport unavailable\)", log)),
            "deferred": r.queued("deferred"),
            "requests": len(r.requests())}


def s_transport_missing():
    def go(r):
        wait(lambda: r.busy() == 0 and r.queued("deferred") == 3, 20)
        time.sleep(0.5)
    return {
        "rows": [31],
        "doc": "x.test routed to a transport nobody serves: 'connect to "
               "transport private/nosuch', the 3 messages deferred with 'mail "
               "transport unavailable'",
        "transport": "x.test nosuch:\n",
        # a long backoff: no message comes due again while the run watches
        "sets": LONG_BACKOFF,
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@x.test" % i]] for i in range(3)],
        "run": go,
        "props": lambda r: dict(transport_down_props(r), connect_warning=bool(
            re.search(r"connect to transport private/nosuch", r.log()))),
        "compare": ["unavailable", "deferred", "requests", "connect_warning"],
    }


def s_bad_greeting():
    def go(r):
        wait(lambda: r.busy() == 0 and r.queued("deferred") == 3, 20)
        time.sleep(0.5)
    return {
        "rows": [32],
        "doc": "the agent closes every connection without a greeting: the "
               "transport is throttled and its 3 messages deferred with 'mail "
               "transport unavailable'",
        "sets": LONG_BACKOFF,
        "agent": {"greeting": {"close_first": 1000}, "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(3)],
        "run": go,
        "props": transport_down_props,
        "compare": ["unavailable", "deferred", "requests"],
    }


def s_agent_crash():
    def go(r):
        wait(lambda: r.idle() and len(r.records()) >= 2, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"actions": [x["action"] for x in r.records()],
                "malformed_warning": bool(re.search(
                    r"warning: private/script socket: malformed response", log)),
                "feedback_after_crash": bool(re.search(
                    r"qmgr_queue_throttle: queue a\.test", log)),
                "deferred_logged": len(re.findall(r"status=deferred", log)),
                "delivered": r.idle()}
    return {
        "rows": [33],
        "doc": "the agent reads the first request and closes without a reply: "
               "the message is deferred silently (no defer log, no negative "
               "feedback in 3.7.11) and delivered by the retry",
        "agent": {"rules": [{"first": 1, "action": "drop"}], "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["actions", "malformed_warning", "feedback_after_crash",
                    "deferred_logged", "delivered"],
    }


def gaps(recs):
    """Seconds from each reply to the next request start, in start order."""
    recs = sorted(recs, key=lambda x: x["t0"])
    return [b["t0"] - a["t1"] for a, b in zip(recs, recs[1:])]


def s_destination_rate_delay():
    def props(r):
        recs = r.records()
        out = {"requests": len(recs), "max_dconc": max(x["dconc"] for x in recs)}
        for d in ("a.test", "b.test"):
            g = gaps([x for x in recs if x["nexthop"] == d])
            out["spaced_" + d] = bool(g) and min(g) >= 1.5
        first = {d: min(x["t0"] for x in recs if x["nexthop"] == d) for d in ("a.test", "b.test")}
        out["parallel"] = abs(first["a.test"] - first["b.test"]) < 1.0
        return out
    return {
        "rows": [34],
        "doc": "script_destination_rate_delay=2s, 3 messages each to a.test and "
               "b.test: one request at a time per domain, >= 2 s apart, the two "
               "domains in parallel",
        "sets": ["script_destination_rate_delay=2s"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@%s.test" % (i, d)]] for i in range(3) for d in "ab"],
        "run": until_drained(40),
        "props": props,
        "compare": ["requests", "max_dconc", "spaced_a.test", "spaced_b.test", "parallel"],
    }


def s_recipient_rate_delay():
    def props(r):
        recs = r.records()
        out = {"requests": len(recs)}
        first = {}
        for u in ("u1@a.test", "u2@a.test"):
            mine = [x for x in recs if x["rcpts"] == [u]]
            g = gaps(mine)
            out["spaced_" + u] = bool(g) and min(g) >= 1.5
            first[u] = min(x["t0"] for x in mine)
        out["parallel"] = abs(first["u1@a.test"] - first["u2@a.test"]) < 1.0
        return out
    return {
        "rows": [35],
        "doc": "recipient limit 1 and rate delay 2 s, 3 messages each to u1@ "
               "and u2@a.test: >= 2 s spacing per recipient, the two recipients "
               "in parallel",
        "sets": ["script_destination_rate_delay=2s",
                 "script_destination_recipient_limit=1"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % u]] for i in range(3) for u in (1, 2)],
        "run": until_drained(40),
        "props": props,
        "compare": ["requests", "spaced_u1@a.test", "spaced_u2@a.test", "parallel"],
    }


def s_rate_delay_failure():
    def go(r):
        wait(lambda: r.busy() == 0 and suspended(r.log(), "a.test") >= 4, 20)
        r.first_requests = len(r.requests())
        time.sleep(4)
        r.send("n@c.test", ["new@a.test"])
        r.retried = attempted(r, "new@a.test", 8)
    return {
        "rows": [36],
        "doc": "rate delay 3 s, 5 messages to a.test, the first reply a hop "
               "failure: the other 4 are suspended at once; mail sent 4 s later "
               "is attempted (the dead state ended with the rate delay, not the "
               "60 s backoff)",
        "sets": ["script_destination_rate_delay=3s"] + LONG_BACKOFF,
        "agent": {"rules": [{"first": 1, "action": "hop"}], "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(5)],
        "run": go,
        "props": lambda r: {"first_requests": r.first_requests,
                            "suspended": suspended(r.log(), "a.test"),
                            "retried": r.retried},
        "compare": ["first_requests", "suspended", "retried"],
    }


def s_transport_rate_delay():
    def props(r):
        recs = r.records()
        g = gaps(recs)
        return {"requests": len(recs), "max_conc": max(x["conc"] for x in recs),
                "spaced": bool(g) and min(g) >= 1.5}
    return {
        "rows": [37],
        "doc": "script_transport_rate_delay=2s, one message to each of 3 "
               "domains: one request at a time on the transport, >= 2 s apart",
        "sets": ["script_transport_rate_delay=2s"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u@%s.test" % d]] for d in "abc"],
        "run": until_drained(40),
        "props": props,
        "compare": ["requests", "max_conc", "spaced"],
    }



SCENARIOS = {
    "slow_start": s_slow_start,
    "slow_start_1n": s_slow_start_1n,
    "negative_feedback": s_negative_feedback,
    "negative_feedback_1n": s_negative_feedback_1n,
    "cohort_limit_off": s_cohort_limit_off,
    "window1_death": s_window1_death,
    "revival_in_flight": s_revival_in_flight,
    "flush_revival": s_flush_revival,
    "status_cache_duration": s_status_cache_duration,
    "flush_dead_only": s_flush_dead_only,
    "status_cache_bound": s_status_cache_bound,
    "pending_greetings": s_pending_greetings,
    "transport_missing": s_transport_missing,
    "bad_greeting": s_bad_greeting,
    "agent_crash": s_agent_crash,
    "destination_rate_delay": s_destination_rate_delay,
    "recipient_rate_delay": s_recipient_rate_delay,
    "rate_delay_failure": s_rate_delay_failure,
    "transport_rate_delay": s_transport_rate_delay,
}
