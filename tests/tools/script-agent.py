#!/usr/bin/env python3
"""script-agent - a scripted Postfix 3.7 delivery agent for the parity suite.

It is not run by master: it is a long-running process that itself listens on
QUEUE/private/<transport> (the transport has no master.cf entry), started by
tests/parity/run after the instance and before the queue manager.  For each
connection it sends the delivery-agent announcement, reads the request (the
attr0 header list and the recipient lists, postfix-ipc.md 3.2-3.7), acts as
the scenario file says, replies (3.9) and appends one JSON line to the trace
file.

Usage: script-agent.py --queue DIR --transport NAME --scenario FILE --trace FILE
                       [--control DIR]

Scenario (JSON): {"serial": false, "greeting": GREETING, "rules": [RULE...],
                  "default": RULE}
  serial     serve one connection at a time (as master.cf maxproc 1 would)
  GREETING   {"sleep": seconds before the announcement,
              "close_first": N (the first N connections are closed without
                                an announcement: a bad greeting)}
  RULE       {"domain": D | "rcpt": R (optional match; none = any),
              "first": N (only the first N matching requests),
              "until": S (only while the agent is younger than S seconds),
              "sleep": seconds before replying,
              "hold": true (wait for a release, see below),
              "action": "ok" | "defer" | "hop" | "bounce" | "drop",
              "hop": "4.4.1 reason"  (defer only: a hop status, i.e. a
                                      connection-level failure that gives
                                      the destination negative feedback;
                                      action "hop" is defer with a default
                                      hop status)}
  Held requests are released in arrival order by lines of CONTROL/release:
  the k-th held request waits until that file has k lines, and its line
  (an action name or a JSON rule) then replaces the rule it matched.
  ok      every recipient is marked done ('D' at its offset in the queue
          file, under a shared flock, as deliver_completed does), status 0;
          when the request has DEL_REQ_FLAG_REC_DLY_SENT (confirm_delay_cleared)
          a trace(8) APPEND per recipient first, as a real agent's sent()
  defer   a defer(8) APPEND per recipient (defer log), status -1
  bounce  a bounce(8) APPEND per recipient, then marked done, status 0
  drop    the connection is closed without a reply (an agent crash)
Trace line: {"t0","t1" (monotonic start/end), "qid", "nexthop", "sender",
  "flags", "rcpts", "conc" (requests in progress on this transport, this
  one included, when it arrived), "dconc" (the same for its nexthop),
  "tc" (time the connection was accepted), "tg" (time of the greeting),
  "pending" (connections waiting for their greeting when this one was
  accepted, itself included), "transport", "traced" (trace(8) statuses of
  an ok with DEL_REQ_FLAG_REC_DLY_SENT, else null), "action"}.
With --control, CONTROL/arrivals.jsonl gets one line per request when it
arrives ({"t","qid","nexthop","rcpts","conc","dconc"}) and one line per
connection closed without a greeting ({"t","event":"no-greeting"}).
"""
import argparse, fcntl, json, os, socket, sys, threading, time

lock = threading.Lock()
busy = {"all": 0, "greeting": 0}
hits = {}
held = {"next": 0}
START = time.monotonic()
DEL_REQ_FLAG_REC_DLY_SENT = 0x2000


def read_list(f):
    """One attr0 list as a list of (name, value); None at EOF."""
    items = []
    while True:
        name = read_str(f)
        if name is None:
            return None
        if name == b"":
            return items
        value = read_str(f)
        if value is None:
            return None
        items.append((name.decode(), value.decode("utf-8", "replace")))


def read_str(f):
    buf = bytearray()
    while True:
        c = f.read(1)
        if not c:
            return None
        if c == b"\0":
            return bytes(buf)
        buf += c


def attrs(pairs):
    return b"".join(n.encode() + b"\0" + str(v).encode() + b"\0" for n, v in pairs) + b"\0"


def status_call(queue, service, pairs):
    """One request to the Postfix service private/SERVICE (bounce(8)
    under defer, bounce or trace; the parity runner also asks verify(8));
    its status or -1."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(os.path.join(queue, "private", service))
        f = s.makefile("rwb", buffering=0)
        if read_list(f) is None:
            return -1
        f.write(attrs(pairs))
        reply = read_list(f)
        return int(dict(reply or []).get("status", "-1"))
    except OSError:
        return -1
    finally:
        s.close()


def append(queue, service, qid, flags, rcpt, status, action, reason):
    return status_call(queue, service, [
        ("nrequest", 0), ("flags", int(flags) & 0x2700), ("queue_id", qid),
        ("original_recipient", rcpt["original_recipient"]),
        ("recipient", rcpt["recipient"]), ("offset", rcpt["offset"]),
        ("dsn_orig_rcpt", rcpt["dsn_orig_rcpt"]),
        ("notify_flags", rcpt["notify_flags"]),
        ("status", status), ("diag_type", ""), ("diag_text", ""),
        ("mta_type", ""), ("mta_mname", ""), ("action", action),
        ("reason", reason)])


def mark_done(queue, qname, qid, offsets):
    path = os.path.join(queue, qname, qid)
    with open(path, "r+b") as fp:
        fcntl.flock(fp, fcntl.LOCK_SH | fcntl.LOCK_NB)
        for off in offsets:
            if int(off) > 0:
                fp.seek(int(off))
                fp.write(b"D")
        fp.flush()


def choose(scenario, nexthop, rcpts):
    for i, rule in enumerate(scenario.get("rules", [])):
        if "domain" in rule and rule["domain"].lower() != nexthop.lower():
            continue
        if "rcpt" in rule and rule["rcpt"] not in rcpts:
            continue
        if "until" in rule and time.monotonic() - START >= rule["until"]:
            continue
        with lock:
            n = hits.get(i, 0)
            if "first" in rule and n >= rule["first"]:
                continue
            hits[i] = n + 1
        return rule
    return scenario.get("default", {"action": "ok"})


def wait_release(control):
    """Block until this held request is released; the rule it gets."""
    with lock:
        k = held["next"]
        held["next"] += 1
    path = os.path.join(control, "release")
    while True:
        try:
            with open(path) as fp:
                lines = fp.read().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) > k:
            line = lines[k].strip()
            return json.loads(line) if line.startswith("{") else {"action": line}
        time.sleep(0.02)


def note(args, rec):
    if args.control:
        with lock:
            with open(os.path.join(args.control, "arrivals.jsonl"), "a") as fp:
                fp.write(json.dumps(rec) + "\n")


def greet(conn, f, args, scenario):
    """Send the announcement as the scenario says; False: closed instead."""
    g = scenario.get("greeting", {})
    with lock:
        hits["conn"] = hits.get("conn", 0) + 1
        nconn = hits["conn"]
        busy["greeting"] += 1
        pending = busy["greeting"]
    if nconn <= g.get("close_first", 0):
        with lock:
            busy["greeting"] -= 1
        note(args, {"t": time.monotonic(), "event": "no-greeting"})
        return False, pending
    time.sleep(float(g.get("sleep", 0)))
    # no longer waiting once the greeting is on its way: the manager may
    # read it and connect again before this thread runs on after the write
    with lock:
        busy["greeting"] -= 1
    f.write(attrs([("protocol", "delivery_request_protocol")]))
    return True, pending


def end_request(nexthop):
    """Count a request as finished; returns its end time."""
    with lock:
        busy["all"] -= 1
        busy[nexthop] -= 1
    return time.monotonic()


def serve(conn, args, scenario, trace):
    f = conn.makefile("rwb", buffering=0)
    try:
        tc = time.monotonic()
        greeted, pending = greet(conn, f, args, scenario)
        if not greeted:
            return
        tg = time.monotonic()
        head = read_list(f)
        if head is None:
            return      # the queue manager changed its mind
        h = dict(head)
        rcpts = []
        for _ in range(int(h.get("recipient_count", "0"))):
            r = read_list(f)
            if r is None:
                return
            rcpts.append(dict(r))
        nexthop = h.get("nexthop", "")
        with lock:
            busy["all"] += 1
            busy[nexthop] = busy.get(nexthop, 0) + 1
            conc, dconc = busy["all"], busy[nexthop]
        t0 = time.monotonic()
        addrs = [r["recipient"] for r in rcpts]
        note(args, {"t": t0, "qid": h.get("queue_id"), "nexthop": nexthop,
                    "rcpts": addrs, "conc": conc, "dconc": dconc})
        rule = choose(scenario, nexthop, addrs)
        t1 = None
        try:
            if rule.get("hold") and args.control:
                rule = wait_release(args.control)
            time.sleep(float(rule.get("sleep", 0)))
            action = rule.get("action", "ok")
            hop, reason, status, traced = "", "", 0, None
            qid, qname, flags = h["queue_id"], h["queue_name"], h["flags"]
            if action == "hop":
                action = "defer"
                rule = dict(rule, hop=rule.get("hop", "4.4.1 scripted connection failure"))
            if action == "drop":
                pass
            elif action == "defer":
                status = -1
                if rule.get("hop"):
                    code, _, text = rule["hop"].partition(" ")
                    hop, reason = code, text or "scripted hop failure"
                for r in rcpts:
                    append(args.queue, "defer", qid, flags, r, "4.0.0",
                           "delayed", rule.get("reason", "scripted deferral"))
            elif action == "bounce":
                done = [r["offset"] for r in rcpts
                        if append(args.queue, "bounce", qid, flags, r, "5.0.0",
                                  "failed", "scripted bounce") == 0]
                mark_done(args.queue, qname, qid, done)
                status = 0 if len(done) == len(rcpts) else -1
            else:
                if int(flags) & DEL_REQ_FLAG_REC_DLY_SENT:
                    # what a real agent's sent() does when the manager asks
                    # for a record of a delayed message's delivery: the
                    # "delay cleared" notice is made from it
                    traced = [append(args.queue, "trace", qid, flags, r, "2.0.0",
                                     "delivered", "delivered via script")
                              for r in rcpts]
                mark_done(args.queue, qname, qid, [r["offset"] for r in rcpts])
            # the request ends before its reply goes out: once the manager
            # reads the reply it may start the next request before this
            # thread runs again, and that must not count as an overlap
            t1 = end_request(nexthop)
            if action != "drop":
                f.write(attrs([("status", hop), ("diag_type", ""), ("diag_text", ""),
                               ("mta_type", ""), ("mta_mname", ""), ("action", ""),
                               ("reason", reason),
                               ("status", 0 if status == 0 else 4294967295)]))
        finally:
            if t1 is None:
                t1 = end_request(nexthop)
        rec = {"t0": t0, "t1": t1, "qid": h.get("queue_id"),
               "nexthop": nexthop, "sender": h.get("sender"),
               "flags": int(h.get("flags", 0)), "rcpts": addrs, "conc": conc,
               "dconc": dconc, "tc": tc, "tg": tg, "pending": pending,
               "transport": args.transport, "traced": traced,
               "action": action + ("-hop" if hop else "")}
        with lock:
            trace.write(json.dumps(rec) + "\n")
            trace.flush()
        if action != "drop":
            f.read(1)   # wait for the queue manager to close (3.9)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", required=True)
    ap.add_argument("--transport", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--control")
    args = ap.parse_args()
    with open(args.scenario) as fp:
        scenario = json.load(fp)
    path = os.path.join(args.queue, "private", args.transport)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    os.chmod(path, 0o666)
    ls.listen(64)
    trace = open(args.trace, "a")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = ls.accept()
        conn.settimeout(600)
        if scenario.get("serial"):
            serve(conn, args, scenario, trace)
        else:
            threading.Thread(target=serve, args=(conn, args, scenario, trace),
                             daemon=True).start()


if __name__ == "__main__":
    main()
