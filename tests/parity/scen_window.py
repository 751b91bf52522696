"""scen_window - parity scenarios for the destination concurrency window:
slow start, positive and negative feedback, dead destinations and the
destination status cache, pending connections, transport death, agent
crashes and rate delays (spec 7.2 rows 15-37).  SCENARIOS maps each name to
a function that returns the scenario (see parity_lib for its keys)."""
import re, time
from parity_lib import wait, settle, windows, max_overlap, until_drained


def outstanding(run):
    return len(run.requests())


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
                            "windows": windows(r.log(), "a.test")[:12]},
        "compare": ["initial", "steps", "windows"],
    }


SCENARIOS = {
    "slow_start": s_slow_start,
}
