"""scen_input - parity scenarios for the input side of the queue manager:
the leaky bucket (active and oqmgr recipient limits), restart recovery,
locked and incomplete files, incoming/deferred fairness, queue scans and
their triggers (I, D, A), the deferred heartbeat and the transport round
robin (spec 7.2 rows 1-12 and 14).  SCENARIOS maps each name to a function
that returns the scenario (see parity_lib for its keys)."""
import fcntl, math, os, pwd, re, time
from parity_lib import wait, settle, activation_order, all_rcpts, until_drained


# ------------------------------------------------------------------ helpers

def activated(run):
    """Queue ids in "(queue active)" order (first activation of each)."""
    return activation_order(run.log())


def delivered(run, qid):
    """Requests the agents received for a queue id."""
    return sum(1 for transport in run.agent_scenarios()
               for a in run.requests(transport) if a["qid"] == qid)


def to_deferred(run, qid, mtime):
    """Move incoming/ID (or a stashed ID) into its hashed deferred/ subdir
    (hash_queue_depth 1: deferred/<first char of the id>/ID) with the given
    mtime."""
    src = run.queue_path("incoming", qid) or run.queue_path("stash", qid)
    sub = os.path.join(run.spool, "deferred", qid[0])
    if not os.path.isdir(sub):
        os.makedirs(sub, mode=0o700)
        pw = pwd.getpwnam("postfix")
        os.chown(sub, pw.pw_uid, pw.pw_gid)
    dst = os.path.join(sub, qid)
    os.rename(src, dst)
    os.utime(dst, (mtime, mtime))
    return dst


def stash(run, qid):
    """Take incoming/ID out of the queue (same filesystem, under the spool)."""
    d = os.path.join(run.spool, "stash")
    os.makedirs(d, exist_ok=True)
    os.rename(run.queue_path("incoming", qid), os.path.join(d, qid))


def unstash(run, qid, mode=0o700):
    """Put a stashed file back into incoming/ with the given mode."""
    dst = os.path.join(run.spool, "incoming", qid)
    os.rename(os.path.join(run.spool, "stash", qid), dst)
    os.chmod(dst, mode)
    return dst


def canary_done(run, qid, seconds=20):
    """Wait until the canary message was delivered and the queue is idle
    apart from deferred files: the manager runs and its startup scans are
    over."""
    ok = wait(lambda: delivered(run, qid) >= 1 and run.busy() == 0, seconds)
    time.sleep(1.0)
    return ok


# ---------------------------------------------------------------- scenarios

def s_leaky_bucket():
    def go(r):
        r.max_active = 0
        def state(run):
            n = run.queued("active")
            r.max_active = max(r.max_active, n)
            return (n, run.queued("incoming"), len(activated(run)))
        wait(lambda: len(r.requests()) >= 5, 20)
        r.held = settle(r, state, quiet=1.5)
        r.release(["ok"])
        wait(lambda: len(r.requests()) >= 6, 10)
        r.after = settle(r, state, quiet=1.5)
        r.release(["ok"] * 20)
        wait(lambda: state(r) and r.idle(), 30)
        time.sleep(0.3)
    return {
        "rows": [1],
        "doc": "qmgr_message_active_limit=5, 12 held one-recipient messages to 12 "
               "domains (#1): 5 active, 7 in incoming; releasing one admits "
               "exactly one more; active/ never holds more than 5",
        "sets": ["qmgr_message_active_limit=5"],
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@d%02d.test" % (i, i)]] for i in range(12)],
        "run": go,
        "props": lambda r: {"held_active_incoming_activated": list(r.held),
                            "after_release_active_incoming_activated": list(r.after),
                            "max_active": r.max_active,
                            "requests": len(r.requests()),
                            "left": r.left()},
        "compare": ["held_active_incoming_activated",
                    "after_release_active_incoming_activated", "max_active",
                    "requests", "left"],
    }


def s_oqmgr_rcpt_limit():
    rc = [["u%d@m%d.test" % (k, i) for k in range(60)] for i in range(5)]
    def go(r):
        wait(lambda: len(r.requests()) >= 1, 20)
        r.held = settle(r, lambda run: (run.queued("active"), len(activated(run))),
                        quiet=1.5)
        r.release(["ok"] * 100)
        wait(lambda: r.idle(), 30)
        time.sleep(0.3)
    return {
        "rows": [2],
        "doc": "qmgr_message_active_limit=100, qmgr_message_recipient_limit=100, "
               "5 held messages with 60 recipients each (#2): oqmgr admits 2 "
               "(60+60 >= 100), qmgr all 5",
        "sets": ["qmgr_message_active_limit=100", "qmgr_message_recipient_limit=100"],
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", x] for x in rc],
        "run": go,
        "props": lambda r: {"held_active_activated": list(r.held),
                            "rcpts_once": all_rcpts(r.records()) == sorted(sum(rc, [])),
                            "left": r.left()},
        "compare": ["held_active_activated", "rcpts_once", "left"],
    }


def s_restart_recovery():
    def before(r):
        r.qid = r.queue_ids("incoming")[0]
        path = os.path.join(r.spool, "active", r.qid)
        os.rename(r.queue_path("incoming", r.qid), path)
        old = time.time() - 3600
        os.utime(path, (old, old))
    def go(r):
        # the held request shows the file in active/ after its recovery
        started = time.time() - (time.monotonic() - r.t_enable)
        wait(lambda: len(r.requests()) >= 1, 20)
        path = r.queue_path("active", r.qid)
        r.mtime_from_start = round(os.stat(path).st_mtime - started) if path else None
        r.release(["ok"])
        wait(lambda: r.idle(), 20)
        time.sleep(0.3)
    return {
        "rows": [3],
        "doc": "a file in active/ (mtime an hour old) while the manager is "
               "stopped (#3): at start it is moved back with mtime = start "
               "time, re-imported and delivered exactly once",
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "before": before,
        "run": go,
        # mtime has one-second granularity: within a second of the start
        "props": lambda r: {"requests": delivered(r, r.qid),
                            "mtime_is_start_time": r.mtime_from_start is not None
                            and abs(r.mtime_from_start) <= 1,
                            "activated": len(re.findall(r"%s: from=<s@c\.test>.*\(queue active\)"
                                                        % r.qid, r.log())),
                            "removed": len(re.findall(r"%s: removed" % r.qid, r.log())),
                            "left": r.left()},
        "compare": ["requests", "mtime_is_start_time", "activated", "removed", "left"],
    }


def s_locked_file():
    def before(r):
        r.qid = r.queue_ids("incoming")[0]
        fp = open(r.queue_path("incoming", r.qid), "rb")
        fcntl.flock(fp, fcntl.LOCK_EX)
        r.locks.append(fp)
    def go(r):
        pat = "%s: skipped, still being delivered" % r.qid
        r.skipped = wait(lambda: pat in r.log() and r.queue_path("incoming", r.qid), 20)
        path = r.queue_path("incoming", r.qid)
        r.mtime_ahead = os.stat(path).st_mtime - time.time() if path else None
        time.sleep(1.0)
        r.trigger("I")                       # locked and not due
        time.sleep(2.0)
        r.locked_imported = delivered(r, r.qid)
        for fp in r.locks:                   # release the lock: still not due
            fp.close()
        r.locks = []
        r.trigger("I")
        time.sleep(2.0)
        r.unlocked_imported = delivered(r, r.qid)
        r.in_incoming = r.queue_path("incoming", r.qid) is not None
        r.postfix_cmd("postqueue", "-f")     # F A D I: scan all, due or not
        wait(lambda: r.idle(), 15)
        time.sleep(0.3)
    return {
        "rows": [4],
        "doc": "an exclusive flock on incoming/ID (#4): 'skipped, still being "
               "delivered', back in incoming/ with mtime now+60, not imported on "
               "I while not due; postqueue -f delivers it",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "before": before,
        "run": go,
        "props": lambda r: {"skipped_logged": bool(r.skipped),
                            "skipped_count": r.log().count("%s: skipped, still being delivered" % r.qid),
                            "mtime_now_plus_60": r.mtime_ahead is not None and 54 <= r.mtime_ahead <= 62,
                            "imported_while_locked": r.locked_imported,
                            "imported_unlocked_not_due": r.unlocked_imported,
                            "in_incoming_before_flush": r.in_incoming,
                            "requests_after_flush": delivered(r, r.qid),
                            "left": r.left()},
        "compare": ["skipped_logged", "skipped_count", "mtime_now_plus_60",
                    "imported_while_locked", "imported_unlocked_not_due",
                    "in_incoming_before_flush", "requests_after_flush", "left"],
    }


def s_fairness():
    def before(r):
        ids = r.queue_ids("incoming")
        r.src = {}
        for k, qid in enumerate(ids):
            if k % 2:
                to_deferred(r, qid, time.time() - 100)
                r.src[qid] = "D"
            else:
                r.src[qid] = "I"
    def go(r):
        seq = lambda run: "".join(r.src.get(q, "?") for q in activated(run))
        wait(lambda: len(r.requests()) >= 10, 20)
        r.full = settle(r, lambda run: (seq(run), run.queued("active")), quiet=1.5)
        r.release(["ok"])
        wait(lambda: len(activated(r)) >= 11, 10)
        r.after = settle(r, seq, quiet=1.5)
        r.release(["ok"] * 30)
        wait(lambda: r.idle(), 30)
        time.sleep(0.3)
    return {
        "rows": [5, 6],
        "doc": "active limit 10, 10 due files in deferred/ + 10 in incoming/, held "
               "(#5/#6): 5 from each queue, alternating one by one; after one "
               "release the next import comes from incoming",
        "sets": ["qmgr_message_active_limit=10"],
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@d%02d.test" % (i, i)]] for i in range(20)],
        "before": before,
        "run": go,
        "props": lambda r: {"full_sources": r.full[0], "full_active": r.full[1],
                            "next_after_release": r.after[10:],
                            "left": r.left()},
        "compare": ["full_sources", "full_active", "next_after_release", "left"],
    }


def s_not_due():
    def before(r):
        r.canary, r.qid = r.queue_ids("incoming")
        to_deferred(r, r.qid, time.time() + 600)
    def go(r):
        canary_done(r, r.canary)
        r.trigger("D")
        time.sleep(2.0)
        r.not_due = (delivered(r, r.qid), r.qid in activated(r),
                     r.queue_path("deferred", r.qid) is not None)
        now = time.time()
        os.utime(r.queue_path("deferred", r.qid), (now, now))
        r.due_delivered = wait(lambda: delivered(r, r.qid) >= 1 and r.idle(), 10)
        time.sleep(0.3)
    return {
        "rows": [7],
        "doc": "a deferred file with mtime now+600 (#7): not imported on D; once "
               "its mtime is due the next scan imports it",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]], ["s@c.test", ["u2@a.test"]]],
        "before": before,
        "run": go,
        "props": lambda r: {"not_due_requests_activated_in_deferred": list(r.not_due),
                            "due_delivered": r.due_delivered,
                            "requests": delivered(r, r.qid)},
        "compare": ["not_due_requests_activated_in_deferred", "due_delivered", "requests"],
    }


def s_scan_all():
    def before(r):
        r.canary, r.x, r.y = r.queue_ids("incoming")
        to_deferred(r, r.x, time.time() + 600)
        stash(r, r.y)
    def go(r):
        canary_done(r, r.canary)
        r.trigger("A")
        time.sleep(2.0)
        r.a_alone = r.x in activated(r)
        r.trigger("D")
        r.a_then_d = wait(lambda: delivered(r, r.x) >= 1, 6)
        wait(lambda: r.idle(), 10)
        time.sleep(0.5)
        to_deferred(r, r.y, time.time() + 600)
        r.trigger("D")
        time.sleep(2.0)
        r.d_alone = r.y in activated(r)
        r.trigger("AD")
        r.ad = wait(lambda: delivered(r, r.y) >= 1, 6)
        wait(lambda: r.idle(), 10)
        time.sleep(0.3)
    return {
        "rows": [8, 9],
        "doc": "queue_run_delay=3600s, not-due deferred files (#8/#9): A alone "
               "imports nothing, a later D imports (A was remembered); then D "
               "alone imports nothing and A D imports at once",
        "sets": ["queue_run_delay=3600s"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(3)],
        "before": before,
        "run": go,
        "props": lambda r: {"A_alone_imports": r.a_alone, "then_D_imports": r.a_then_d,
                            "D_alone_imports": r.d_alone, "AD_imports": r.ad,
                            "requests": len(r.requests()),
                            "left": r.left()},
        "compare": ["A_alone_imports", "then_D_imports", "D_alone_imports",
                    "AD_imports", "requests", "left"],
    }


def s_incoming_triggers():
    def before(r):
        r.canary, r.x, r.y = r.queue_ids("incoming")
        stash(r, r.x)
        stash(r, r.y)
    def go(r):
        canary_done(r, r.canary)
        unstash(r, r.x, 0o700)
        unstash(r, r.y, 0o600)
        time.sleep(3.5)                      # heartbeats (1s) scan deferred only
        r.no_trigger = (r.x in activated(r), r.y in activated(r))
        r.trigger("I")
        r.x_after_i = wait(lambda: delivered(r, r.x) >= 1, 6)
        time.sleep(1.5)
        r.y_after_i = (r.y in activated(r), r.queue_path("incoming", r.y) is not None)
        os.chmod(r.queue_path("incoming", r.y), 0o700)
        r.trigger("I")
        r.y_after_chmod = wait(lambda: delivered(r, r.y) >= 1, 6)
        wait(lambda: r.idle(), 10)
        time.sleep(0.3)
    return {
        "rows": [10, 11],
        "doc": "files put into incoming/ without a trigger (#10/#11): a 0700 file "
               "is not imported by the deferred heartbeat, only after I; a 0600 "
               "file is ignored on I and imported after chmod 0700 + I",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(3)],
        "before": before,
        "run": go,
        "props": lambda r: {"no_trigger_imports_x_y": list(r.no_trigger),
                            "I_imports_x": r.x_after_i,
                            "I_imports_y_0600_y_in_incoming": list(r.y_after_i),
                            "chmod_I_imports_y": r.y_after_chmod,
                            "requests": len(r.requests()),
                            "left": r.left()},
        "compare": ["no_trigger_imports_x_y", "I_imports_x",
                    "I_imports_y_0600_y_in_incoming", "chmod_I_imports_y",
                    "requests", "left"],
    }


def canary_and_parked(r):
    """before() of the heartbeat scenarios: of the two injected messages
    the first stays in incoming/ as the canary, the second is parked in
    deferred/ with an mtime far ahead."""
    r.canary, r.qid = r.queue_ids("incoming")
    to_deferred(r, r.qid, time.time() + 600)


def make_due(r, wall_mtime):
    """Give the parked file this mtime; when it is due (mtime <= now + 1)
    on the monotonic clock."""
    os.utime(r.queue_path("deferred", r.qid), (wall_mtime, wall_mtime))
    return wall_mtime - 1 - (time.time() - time.monotonic())


def activation_time(r, qid, seconds):
    """Wait for qid's "(queue active)" line; the monotonic time it was
    seen, or None."""
    seen = []
    def check():
        if qid in activated(r):
            seen.append(time.monotonic())
            return True
        return False
    wait(check, seconds, step=0.05)
    return seen[0] if seen else None


def s_heartbeat():
    def go(r):
        canary_done(r, r.canary)
        r.due = make_due(r, int(time.time()) + 4)
        r.t_seen = activation_time(r, r.qid, 20)
        wait(lambda: r.idle(), 10)
        time.sleep(0.3)
    def props(r):
        return {"imported": r.t_seen is not None,
                "not_before_due": r.t_seen is not None and r.t_seen >= r.due - 0.5,
                "within_period": r.t_seen is not None and r.t_seen <= r.due + 5 + 3,
                "requests": delivered(r, r.qid),
                "seen_after_due": None if r.t_seen is None else round(r.t_seen - r.due, 1)}
    return {
        "rows": [12],
        "doc": "queue_run_delay=5s, a deferred file becomes due at T, no triggers "
               "(#12): the heartbeat imports it within (T, T+5+margin]",
        "sets": ["queue_run_delay=5s"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]], ["s@c.test", ["u2@a.test"]]],
        "before": canary_and_parked,
        "run": go,
        "props": props,
        "compare": ["imported", "not_before_due", "within_period", "requests"],
    }


def s_heartbeat_not_reset():
    period = 12
    def go(r):
        canary_done(r, r.canary)
        # the first heartbeat ran at start, with the scan that imported the
        # canary; the next ones follow every period from there
        start = min(a["t"] for a in r.requests() if a["qid"] == r.canary)
        now = time.monotonic()
        r.beat = start + period * max(1, math.ceil((now + 7 - start) / period))
        # due 3-4 s before that beat, and a D trigger 6 s before it, while
        # the file is not yet due.  The canary arrives a little after the
        # start, so the real beat may come up to a few seconds before
        # r.beat: the file is due by then
        r.due = make_due(r, math.ceil(time.time() - now + r.beat - 3))
        time.sleep(max(0, r.beat - 6 - time.monotonic()))
        r.trigger("D")
        r.t_seen = activation_time(r, r.qid, period + 8)
        wait(lambda: r.idle(), 10)
        time.sleep(0.3)
    def props(r):
        late = None if r.t_seen is None else r.t_seen - r.beat
        return {"imported": r.t_seen is not None,
                "not_before_due": r.t_seen is not None and r.t_seen >= r.due - 0.5,
                # a heartbeat restarted by the D would come 6 s after the beat
                "at_the_periodic_beat": late is not None and late < 3,
                "requests": delivered(r, r.qid),
                "seen_after_beat": None if late is None else round(late, 1)}
    return {
        "rows": [12],
        "doc": "queue_run_delay=12s; a deferred file becomes due 3-4 s "
               "before a heartbeat, a D trigger comes 6 s before it (#12): "
               "the file is imported at that heartbeat, not 12 s after the D "
               "(the period is not reset by D triggers)",
        "sets": ["queue_run_delay=12s"],
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]], ["s@c.test", ["u2@a.test"]]],
        "before": canary_and_parked,
        "run": go,
        "props": props,
        "compare": ["imported", "not_before_due", "at_the_periodic_beat", "requests"],
    }


def s_transport_rr():
    def props(r):
        recs = r.records()
        tr = [x["transport"] for x in recs]
        first = {t: min((x["t0"] for x in recs if x["transport"] == t), default=None)
                 for t in ("script", "scriptb")}
        last = {t: max((x["t0"] for x in recs if x["transport"] == t), default=None)
                for t in ("script", "scriptb")}
        ok = None not in first.values()
        return {"counts": [tr.count("script"), tr.count("scriptb")],
                "both_in_first_6": set(tr[:6]) == {"script", "scriptb"},
                "interleaved": ok and first["scriptb"] < last["script"] and
                               first["script"] < last["scriptb"],
                "many_switches": sum(1 for a, b in zip(tr, tr[1:]) if a != b) >= 6}
    agent = {"default": {"action": "ok", "sleep": 0.2}}
    return {
        "rows": [14],
        "doc": "two transports script and scriptb, 30 messages each (#14): both "
               "get requests from the start, interleaved",
        "transport": "x.test scriptb:\n",
        "agents": {"script": agent, "scriptb": agent},
        "mail": [["s@c.test", ["u%d@%s.test" % (i, d)]] for i in range(30) for d in "ax"],
        "run": until_drained(40),
        "props": props,
        "compare": ["counts", "both_in_first_6", "interleaved", "many_switches"],
    }


SCENARIOS = {
    "in_leaky_bucket": s_leaky_bucket,
    "in_oqmgr_rcpt_limit": s_oqmgr_rcpt_limit,
    "in_restart_recovery": s_restart_recovery,
    "in_locked_file": s_locked_file,
    "in_fairness": s_fairness,
    "in_not_due": s_not_due,
    "in_scan_all": s_scan_all,
    "in_incoming_triggers": s_incoming_triggers,
    "in_heartbeat": s_heartbeat,
    "in_heartbeat_not_reset": s_heartbeat_not_reset,
    "in_transport_rr": s_transport_rr,
}
