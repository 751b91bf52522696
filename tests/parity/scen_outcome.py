"""scen_outcome - parity scenarios for what happens to a message after a
delivery attempt or instead of one: backoff, bounce lifetime, delay warnings
and "delay cleared" notices, forced expiry, double-bounce discard, resolver
failure, corrupt files, partial deferral, clogging warnings, content-filter
nexthops and REDIRECT (spec 7.2 rows 53-71), expiry only at an attempt, and
address-verification overload (row 72).  Notices made by bounce(8) go to the
sender's *.test domain, so they reach the script agent with the null sender.
SCENARIOS maps each name to a function that returns the scenario (see
parity_lib for its keys)."""
import os, re, time
from parity_lib import LONG_BACKOFF, wait, settle, until_drained

DEL_REQ_FLAG_MTA_VRFY = 0x100   # the request is an address-verification probe


def notices(run, domain="b.test"):
    """Requests carrying a notice (null sender) to the sender's domain."""
    return [x for x in run.records() if x["sender"] == "" and x["nexthop"] == domain]


def count(pattern, log):
    return len(re.findall(pattern, log))


def qmgr_ids(run, sender):
    """Queue ids of the messages from sender, from the manager's log."""
    ids = []
    for m in re.finditer(r"postfix/qmgr\[\d+\]: (\w+): from=<%s>," % re.escape(sender), run.log()):
        if m.group(1) not in ids:
            ids.append(m.group(1))
    return ids


def cleanup_ids(run, rcpt):
    """Queue ids of the messages for rcpt, from the queue files in incoming/."""
    ids = []
    for qid in run.queue_ids("incoming"):
        with open(run.queue_path("incoming", qid), "rb") as fp:
            if rcpt.encode() in fp.read():
                ids.append(qid)
    return ids


def s_backoff_misconfig():
    def go(r):
        wait(lambda: r.queued("deferred") == 1 and r.busy() == 0, 20)
        time.sleep(0.3)
        ids = r.queue_ids("deferred")
        r.ahead = None
        if ids:
            mtime = os.stat(r.queue_path("deferred", ids[0])).st_mtime
            r.ahead = int(round((mtime - time.time()) / 60.0))   # minutes
    return {
        "rows": [53],
        "doc": "minimal_backoff_time=600s > maximal_backoff_time=300s, the agent "
               "defers (#53): the deferred file's mtime is about now+600 (the "
               "minimum wins), compared in minutes",
        "sets": ["minimal_backoff_time=600s", "maximal_backoff_time=300s"],
        "agent": {"default": {"action": "defer"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "run": go,
        "props": lambda r: {"requests": len(r.records()),
                            "deferred": r.queued("deferred"),
                            "mtime_ahead_minutes": r.ahead},
        "compare": ["requests", "deferred", "mtime_ahead_minutes"],
    }


def s_bounce_lifetime():
    def go(r):
        wait(lambda: "status=expired" in r.log() and r.busy() == 0
             and r.queued("deferred") == 2, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        normal = qmgr_ids(r, "s@b.test")[:1] + qmgr_ids(r, "double-bounce@mx.example.test")[:1]
        return {"expired_null": count(r"from=<>, status=expired, returned to sender", log),
                "expired_normal": count(r"from=<(s@b\.test|double-bounce@[^>]*)>, status=expired", log),
                "deferred_are_normal": r.queue_ids("deferred") == sorted(normal),
                "a_requests_first_pass": min(3, sum(1 for x in r.records()
                                                    if x["nexthop"] == "a.test"))}
    return {
        "rows": [55],
        "doc": "bounce_queue_lifetime=0, the agent defers a null-sender message, "
               "a normal one and one from double-bounce@$myhostname (#55): the "
               "null-sender one is expired and removed, the other two (double-"
               "bounce counts as normal) go to deferred/",
        "sets": ["bounce_queue_lifetime=0"] + LONG_BACKOFF,
        "agent": {"rules": [{"domain": "a.test", "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["<>", ["u1@a.test"]], ["s@b.test", ["u2@a.test"]],
                 ["double-bounce@mx.example.test", ["u3@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["expired_null", "expired_normal", "deferred_are_normal",
                    "a_requests_first_pass"],
    }


def s_delay_warning():
    def go(r):
        wait(lambda: len(notices(r)) >= 1, 25)
        r.t_notice = time.monotonic() - r.t_enable
        # the warning is due at arrival + 10 s - 1 s; arrival comes after
        # the injection started (the manager starts a variable while later)
        r.notice_since_inject = time.monotonic() - r.t_inject
        time.sleep(9)     # a few more deferrals (backoff 2-4 s): no second notice
    def props(r):
        log = r.log()
        a = [x for x in r.records() if x["nexthop"] == "a.test"]
        return {"notices": len(notices(r)),
                "delay_logged": count(r"sender delay notification: \w+", log),
                "notice_after_8s": r.notice_since_inject >= 8,
                "retried_after_notice": sum(1 for x in a if x["t0"] - r.t_enable > r.t_notice) >= 1,
                "still_deferred": r.queued("deferred") + r.busy() == 1}
    return {
        "rows": [57],
        "doc": "delay_warning_time=10s, the agent always defers (#57): exactly one "
               "'delayed mail' notice to the sender, not before W-1, none after",
        "sets": ["delay_warning_time=10s"],
        "agent": {"rules": [{"domain": "a.test", "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["s@b.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["notices", "delay_logged", "notice_after_8s",
                    "retried_after_notice", "still_deferred"],
    }


def s_delay_cleared():
    def go(r):
        # a.test requests are held: defer them until the delay notice is
        # out, then let the next one succeed
        released = 0
        end = time.monotonic() + 40
        while time.monotonic() < end:
            held = sum(1 for x in r.requests() if x["nexthop"] == "a.test")
            if held > released:
                done = len(notices(r)) >= 1
                r.release(["ok" if done else "defer"])
                released += 1
                if done:
                    break
            time.sleep(0.1)
        wait(lambda: r.idle() and len(notices(r)) >= 2, 15)
        time.sleep(1)
    def props(r):
        log = r.log()
        a = [x for x in r.records() if x["nexthop"] == "a.test"]
        ok = [x for x in a if x["action"] == "ok"]
        return {"notices": len(notices(r)),
                "delay_logged": count(r"sender delay notification: \w+", log),
                "cleared_logged": count(r"sender delivery status notification: \w+", log),
                # DEL_REQ_FLAG_REC_DLY_SENT (0x2000) asks the agent for a trace record
                "ok_flags_dly_sent": [bool(int(x["flags"]) & 0x2000) for x in ok],
                "traced": [x["traced"] for x in ok],
                "removed": r.idle()}
    return {
        "rows": [58],
        "doc": "delay_warning_time=5s, confirm_delay_cleared=yes: the agent defers "
               "until the 'delayed mail' notice is out, then succeeds (#58): the "
               "request asks for REC_DLY_SENT, the agent appends the trace "
               "record, a 'delay cleared' notice follows",
        "sets": ["delay_warning_time=5s", "confirm_delay_cleared=yes"],
        "agent": {"rules": [{"domain": "a.test", "hold": True}],
                  "default": {"action": "ok"}},
        "mail": [["s@b.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["notices", "delay_logged", "cleared_logged",
                    "ok_flags_dly_sent", "traced", "removed"],
    }


def s_force_expire():
    def go(r):
        wait(lambda: r.queued("deferred") == 1 and r.busy() == 0, 20)
        time.sleep(0.3)
        r.before = len(r.records())
        ids = r.queue_ids("deferred")
        if ids:
            r.postfix_cmd("postsuper", "-e", ids[0])
        r.postfix_cmd("postqueue", "-f")
        wait(lambda: r.idle() and len(notices(r)) >= 1, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"requests_before": r.before,
                "a_requests": sum(1 for x in r.records() if x["nexthop"] == "a.test"),
                "force_expired": count(r"from=<s@b\.test>, status=force-expired, returned to sender", log),
                "notices": len(notices(r)),
                "left": r.left()}
    return {
        "rows": [59],
        "doc": "postsuper -e on a deferred message, then postqueue -f (#59): no "
               "request, 'status=force-expired, returned to sender', one notice, "
               "the file removed",
        "sets": LONG_BACKOFF,
        "agent": {"rules": [{"domain": "a.test", "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["s@b.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["requests_before", "a_requests", "force_expired", "notices", "left"],
    }


def s_force_expire_held():
    def before(r):
        r.held = r.queue_ids("incoming")[0]
        r.postfix_cmd("postsuper", "-h", r.held)
    def go(r):
        time.sleep(1.5)
        r.in_hold = r.queued("hold")
        r.postfix_cmd("postsuper", "-f", r.held)
        r.postfix_cmd("postqueue", "-f")
        wait(lambda: r.idle() and r.queued("hold") == 0 and len(notices(r)) >= 1, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"in_hold": r.in_hold,
                "a_requests": sum(1 for x in r.records() if x["nexthop"] == "a.test"),
                "admin_expired": count(r"to=<u\d@a\.test>.*relay=none.*status=deferred "
                                       r"\(message is administratively expired\)", log),
                "force_expired": count(r"from=<s@b\.test>, status=force-expired, returned to sender", log),
                "notices": len(notices(r)),
                "left": r.left() + r.queued("hold")}
    return {
        "rows": [60],
        "doc": "a held message with 2 recipients, postsuper -f, postqueue -f "
               "(#60): each recipient deferred through retry with 'message is "
               "administratively expired', then 'force-expired, returned to sender'",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@b.test", ["u1@a.test", "u2@a.test"]]],
        "before": before,
        "run": go,
        "props": props,
        "compare": ["in_hold", "a_requests", "admin_expired", "force_expired",
                    "notices", "left"],
    }


def s_double_bounce_discard():
    def go(r):
        wait(lambda: r.idle() and len(r.records()) >= 1, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"requests": sorted(x["rcpts"][0] for x in r.records()),
                "discarded": count(r"to=<double-bounce@mx\.example\.test>.*status=sent "
                                   r"\(undeliverable postmaster notification discarded\)", log),
                "local_deliveries": count(r"postfix/local\[\d+\]", log),
                "removed": count(r": removed", log),
                "left": r.left()}
    return {
        "rows": [64],
        "doc": "a message to double-bounce@$myhostname (#64): no delivery, "
               "'undeliverable postmaster notification discarded', removed; a "
               "normal message alongside is delivered",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["double-bounce@mx.example.test"]],
                 ["s@c.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["requests", "discarded", "local_deliveries", "removed", "left"],
    }


def s_resolver_failure():
    def go(r):
        wait(lambda: r.queued("deferred") == 1 and r.busy() == 0, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"requests": len(r.records()),
                "resolver_failure": count(r"to=<u1@a\.test>.*status=deferred "
                                          r"\(address resolver failure\)", log),
                # 3.7 logs it through error(8), not retry(8)
                "logged_by": sorted(set(re.findall(r"postfix/(\w+)\[\d+\]: \w+: to=<u1@a\.test>", log))),
                "deferred": r.queued("deferred")}
    return {
        "rows": [65],
        "doc": "transport_maps = fail:x (#65): no request, the recipient deferred "
               "with 'address resolver failure' (3.7 logs it through error(8))",
        "sets": ["transport_maps=fail:x"] + LONG_BACKOFF,
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]]],
        "run": go,
        "props": props,
        "compare": ["requests", "resolver_failure", "logged_by", "deferred"],
    }


def s_corrupt():
    def before(r):
        # the file for u1 loses its end record (E, length 0: the last 2 bytes)
        ids = cleanup_ids(r, "u1@a.test")
        path = r.queue_path("incoming", ids[0])
        with open(path, "rb") as fp:
            data = fp.read()
        r.had_end = data.endswith(b"E\0")
        with open(path, "r+b") as fp:
            fp.truncate(len(data) - 2)
    def go(r):
        wait(lambda: r.busy() == 0 and len(r.records()) >= 1 and r.queued("corrupt") >= 1, 20)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"had_end": r.had_end,
                "requests": sorted(a for x in r.records() for a in x["rcpts"]),
                "saving_corrupt": count(r"warning: saving corrupt file \"\w+\" from queue", log),
                "corrupt": r.queued("corrupt"),
                "left": r.left()}
    return {
        "rows": [66],
        "doc": "one of two injected files loses its end record (#66): it goes to "
               "corrupt/ with 'saving corrupt file', the other is delivered",
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test"]], ["s@c.test", ["u2@a.test"]]],
        "before": before,
        "run": go,
        "props": props,
        "compare": ["had_end", "requests", "saving_corrupt", "corrupt", "left"],
    }


def s_partial_defer():
    def go(r):
        wait(lambda: r.queued("deferred") == 1 and r.busy() == 0 and len(r.records()) >= 2, 20)
        time.sleep(0.3)
        r.first = sorted(tuple(x["rcpts"]) for x in r.records())
        r.deferred = r.queued("deferred")
        r.postfix_cmd("postqueue", "-f")
        wait(lambda: r.idle(), 20)
        time.sleep(0.3)
    def props(r):
        recs = r.records()
        return {"first_round": r.first, "deferred": r.deferred,
                "after_flush": [x["rcpts"] for x in recs[len(r.first):]],
                "left": r.left()}
    return {
        "rows": [68],
        "doc": "one message to a.test and b.test, the agent defers a.test once "
               "(#68): the file goes to deferred/, after postqueue -f the next "
               "request has only the deferred recipient",
        "sets": LONG_BACKOFF,
        "agent": {"rules": [{"domain": "a.test", "first": 1, "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test", "u2@b.test"]]],
        "run": go,
        "props": props,
        "compare": ["first_round", "deferred", "after_flush", "left"],
    }


def s_clog_warning():
    pat = r"warning: mail for \[?a\.test\]? is using up (\d+) of (\d+) active queue entries"
    def go(r):
        settle(r, lambda x: len(x.requests()), quiet=1.5)
        r.warn_held = re.findall(pat, r.log())
        r.release(["ok"] * 6)
        wait(lambda: r.idle(), 15)
        # a second wave: the queue was freed with its last entry, and a new
        # queue has no clog-warning time yet
        for i in range(4):
            r.send("s@c.test", ["w%d@a.test" % i])
        settle(r, lambda x: len(x.requests()), quiet=1.5)
        r.release(["ok"] * 10)
        wait(lambda: r.idle(), 15)
        time.sleep(0.3)
    def props(r):
        log = r.log()
        return {"requests": len(r.records()),
                "warnings_held": r.warn_held,
                "warnings_total": re.findall(pat, log),
                # the hint lines that come with the warning
                "warning_texts": sorted(set(re.findall(r"postfix/qmgr\[\d+\]: warning: (.*)", log)))}
    return {
        "rows": [69],
        "doc": "qmgr_message_active_limit=10, 6 held messages to one domain (#69): "
               "one 'mail for DOMAIN is using up N of M active queue entries' "
               "warning (at the 3rd entry) with its hints, not repeated for the "
               "4th-6th; a second wave after the queue was freed warns again",
        "sets": ["qmgr_message_active_limit=10"],
        "agent": {"default": {"hold": True}},
        "mail": [["s@c.test", ["u%d@a.test" % i]] for i in range(6)],
        "run": go,
        "props": props,
        "compare": ["requests", "warnings_held", "warnings_total", "warning_texts"],
    }


def content_filter_scenario(doc, sets):
    return {
        "rows": [70],
        "doc": doc,
        "sets": sets,
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test", "u2@b.test"]]],
        "run": until_drained(20),
        "props": lambda r: {"requests": sorted((x["nexthop"], tuple(x["rcpts"])) for x in r.records()),
                            "left": r.left()},
        "compare": ["requests", "left"],
    }


def s_content_filter():
    return content_filter_scenario(
        "content_filter=script: without a nexthop, default_filter_nexthop "
        "empty (#70): each request's nexthop is the recipient domain",
        ["content_filter=script:"])


def s_content_filter_nexthop():
    return content_filter_scenario(
        "content_filter=script:, default_filter_nexthop=[127.0.0.1]:10025 "
        "(#70): the request's nexthop is that value",
        ["content_filter=script:", "default_filter_nexthop=[127.0.0.1]:10025"])


def s_redirect():
    return {
        "rows": [71],
        "doc": "header_checks REDIRECT x@b.test on a message to 3 recipients (#71): "
               "one request with only x@b.test, the file removed",
        "sets": ["header_checks=regexp:$config_directory/header_checks"],
        "files": {"header_checks": "/^Subject: parity/ REDIRECT x@b.test\n"},
        "agent": {"default": {"action": "ok"}},
        "mail": [["s@c.test", ["u1@a.test", "u2@a.test", "u3@c.test"]]],
        "run": until_drained(20),
        "props": lambda r: {"requests": sorted((x["nexthop"], tuple(x["rcpts"])) for x in r.records()),
                            "left": r.left()},
        "compare": ["requests", "left"],
    }



def s_expiry_at_attempt():
    def go(r):
        wait(lambda: r.busy() == 0 and r.queued("deferred") == 2, 15)
        time.sleep(max(0, r.t_enable + 11 - time.monotonic()))   # past the lifetime
        r.mid_deferred = r.queued("deferred")
        r.mid_expired = count(r"status=expired", r.log())
        wait(lambda: r.left() == 0 and notices(r), 40)
        time.sleep(0.5)
    def props(r):
        log = r.log()
        return {"mid_deferred": r.mid_deferred, "mid_expired": r.mid_expired,
                "a_expired": count(r"from=<sa@b\.test>, status=expired, returned to sender", log),
                "b_expired": count(r"from=<sb@b\.test>, status=expired", log),
                "b_attempts": [x["action"] for x in r.records() if x["rcpts"] == ["u2@c.test"]],
                "notices": len(notices(r)), "left": r.left()}
    return {
        "rows": [56],
        "doc": "maximal_queue_lifetime=8s, backoff 16 s, two messages deferred "
               "at their first attempt (#56): past the lifetime both wait in "
               "deferred/ for their retry; at the retry the one deferred again "
               "expires and is returned, the one that succeeds is delivered",
        "sets": ["maximal_queue_lifetime=8s", "bounce_queue_lifetime=8s",
                 "minimal_backoff_time=16s", "maximal_backoff_time=16s"],
        "agent": {"rules": [{"domain": "a.test", "action": "defer"},
                            {"domain": "c.test", "first": 1, "action": "defer"}],
                  "default": {"action": "ok"}},
        "mail": [["sa@b.test", ["u1@a.test"]], ["sb@b.test", ["u2@c.test"]]],
        "run": go,
        "props": props,
        "compare": ["mid_deferred", "mid_expired", "a_expired", "b_expired",
                    "b_attempts", "notices", "left"],
    }


def s_verify_overload():
    probes = ["u1@a.test", "u2@a.test", "u3@a.test"]
    def refused(r):
        """(queue id, recipient) of each probe refused for the overload."""
        return set(re.findall(r"(\w+): to=<(u\d@a\.test)>.*dsn=4\.3\.2, status=undeliverable "
                              r"\(Too many address verification requests\)", r.log()))
    def seen(r, address):
        return (any(address in a["rcpts"] for a in r.requests()) or
                any(rcpt == address for _, rcpt in refused(r)))
    def go(r):
        # one probe at a time, so that the first is the one held
        r.query_status = []
        for address in probes:
            r.query_status.append(r.verify_query(address))
            wait(lambda: seen(r, address), 8)
        wait(lambda: len(r.requests()) >= 1 and len(refused(r)) >= 2, 10)
        settle(r, lambda x: (len(x.requests()), len(refused(x))), quiet=1.0)
        r.in_flight = [a["rcpts"] for a in r.requests()]
        r.overloaded = len(refused(r))
        r.release(["ok"])
        wait(lambda: r.idle(), 15)
        time.sleep(0.3)
        recs = r.records()
        r.vrfy_flag = bool(recs) and all(x["flags"] & DEL_REQ_FLAG_MTA_VRFY for x in recs)
    return {
        "rows": [72],
        "doc": "address_verify_pending_request_limit=1; verify(8) is asked "
               "about 3 addresses and posts 3 probes; the first probe's "
               "delivery is held (#72): the probe count includes the one being "
               "resolved, so the 2nd and 3rd go to the retry service: "
               "error(8) reports them 'undeliverable (Too many address "
               "verification requests)' to verify(8) and they are removed",
        "sets": ["address_verify_pending_request_limit=1"],
        "agent": {"rules": [{"first": 1, "hold": True}], "default": {"action": "ok"}},
        "mail": [],
        "run": go,
        "props": lambda r: {"held": r.in_flight,
                            "query_status": r.query_status,
                            "probe_flag": r.vrfy_flag,
                            "overloaded_probes": r.overloaded,
                            "probes_delivered": [x["rcpts"] for x in r.records()
                                                 if x["action"] == "ok"],
                            "left": r.left()},
        "compare": ["held", "probe_flag", "overloaded_probes", "probes_delivered", "left"],
    }


SCENARIOS = {
    "out_verify_overload": s_verify_overload,
    "out_expiry_at_attempt": s_expiry_at_attempt,
    "out_backoff_misconfig": s_backoff_misconfig,
    "out_bounce_lifetime": s_bounce_lifetime,
    "out_delay_warning": s_delay_warning,
    "out_delay_cleared": s_delay_cleared,
    "out_force_expire": s_force_expire,
    "out_force_expire_held": s_force_expire_held,
    "out_double_bounce_discard": s_double_bounce_discard,
    "out_resolver_failure": s_resolver_failure,
    "out_corrupt": s_corrupt,
    "out_partial_defer": s_partial_defer,
    "out_clog_warning": s_clog_warning,
    "out_content_filter": s_content_filter,
    "out_content_filter_nexthop": s_content_filter_nexthop,
    "out_redirect": s_redirect,
}
