"""parity_lib - the pieces every parity scenario uses (see tests/parity/run).

Run        one variant of one scenario: a pf-sandbox instance, its scripted
           agents (one per transport), injection, triggers, queue and log
           observations, releases of held requests.
wait()     poll a predicate with a time-out.
cleanup()  stop every agent and instance under a work directory.
Trace and log metrics: max_overlap, activation_order, sizes, all_rcpts,
windows (the feedback-debug window sequence of a queue), until_drained.

A scenario is a dict made by a function in one of the scen_*.py modules:
  doc        one line: what it shows, with the spec 7.2 row numbers (#N)
  rows       the spec 7.2 rows it automates (list of int)
  sets       main.cf settings (NAME=VALUE), on top of BASE_SETS
  transport  extra transport map lines
  agent      the script-agent scenario of transport "script", or
  agents     {transport: script-agent scenario} for several transports
  mail       [[sender, [rcpt...]] or [sender, [rcpt...], [sendmail args]]]
             injected while the queue manager is still off
  before(run)  runs after injection, before the manager is enabled
  run(run)     after enabling it: drive the scenario and wait for its end
  props(run)   -> {name: value}, computed from the trace, log and queue
  compare    property names compared per pair, or {"nqmgr": [...],
             "oqmgr": [...]}
  differs    {(sched, prop): why}: a deliberate difference (reported as
             DIFFERS, not failed); docs/parity.md explains each one
  slow       seconds the scenario waits on purpose: it starts first and
             its time limit grows by that much
"""
import glob, importlib.util, json, os, re, shutil, signal, socket, subprocess, sys, threading, time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANDBOX = os.path.join(TOP, "tests/sandbox/pf-sandbox")
AGENT = os.path.join(TOP, "tests/tools/script-agent.py")
BUILD = os.environ.get("PQ_BUILD", "build")
PQMGR = BUILD if os.path.isabs(BUILD) else os.path.join(TOP, BUILD)
PQMGR = os.path.join(PQMGR, "pqmgr")
OQMGR = "/usr/lib/postfix/sbin/oqmgr"

BASE_SETS = ["queue_run_delay=1s", "minimal_backoff_time=2s",
             "maximal_backoff_time=4s", "delay_warning_time=0",
             "destination_concurrency_feedback_debug=yes"]
# for scenarios where a deferred message must stay put while the run watches
LONG_BACKOFF = ["minimal_backoff_time=60s", "maximal_backoff_time=120s"]
# a.test, b.test, c.test and every other *.test domain go to "script"
TRANSPORT = "a.test script:\nb.test script:\nc.test script:\n.test script:\n"
VARIANTS = ["pf-nqmgr", "pq-nqmgr", "pf-oqmgr", "pq-oqmgr"]
PAIRS = [("pq-nqmgr", "pf-nqmgr"), ("pq-oqmgr", "pf-oqmgr")]


def sh(cmd, timeout=120, **kw):
    try:
        return subprocess.run(cmd, shell=isinstance(cmd, str), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, "timed out: %s" % (e.output or ""))


class SlotPool:
    """Instance directories registered once for the whole run.

    pf-sandbox normally adds each instance to the system main.cf's
    alternate_config_directories and removes it again; each such edit
    makes every Postfix program that reads that file in the next second or
    so wait for it to settle, which with a few instances at a time costs
    seconds per instance.  The pool registers JOBS x 4 directories with one
    edit; instances are made in them (PF_SANDBOX_NO_REGISTER) and the
    directories are reused.  close() (and cleanup()) forget them."""

    def __init__(self, workdir, size):
        self.dirs = [os.path.join(workdir, "slots", "s%02d" % i) for i in range(size)]
        self.free = list(self.dirs)
        self.lock = threading.Lock()
        r = sh([SANDBOX, "register"] + self.dirs)
        if r.returncode:
            raise RuntimeError("pf-sandbox register: " + r.stdout)
        os.environ["PF_SANDBOX_NO_REGISTER"] = "1"

    def get(self):
        with self.lock:
            return self.free.pop(0)

    def put(self, d):
        with self.lock:
            self.free.append(d)

    def close(self):
        """Destroy whatever is left in the slots and forget them."""
        for d in self.dirs:
            sh([SANDBOX, "destroy", d], timeout=60)
        sh([SANDBOX, "unregister-under", os.path.join(os.path.dirname(self.dirs[0]), "")])


class Run:
    """One sandbox + agents for one variant of one scenario."""

    pool = None     # a SlotPool, or None: each instance registers itself

    def __init__(self, base, variant, scen):
        self.dir = os.path.join(base, variant)
        self.slot = Run.pool.get() if Run.pool else None
        self.pf = self.slot or os.path.join(self.dir, "pf")
        self.etc = os.path.join(self.pf, "etc")
        self.spool = os.path.join(self.pf, "spool")
        self.maillog = os.path.join(self.pf, "maillog")
        self.variant, self.scen = variant, scen
        self.sched = variant.split("-")[1]
        self.agents = {}
        self.t_enable = None
        self.t_inject = None
        self.locks = []

    # -- set-up

    def agent_scenarios(self):
        return self.scen.get("agents") or {"script": self.scen.get("agent", {})}

    def create(self):
        os.makedirs(self.dir)
        cmd = [SANDBOX, "create", self.pf, "--no-qmgr"]
        if self.variant == "pf-oqmgr":
            cmd += ["--qmgr", OQMGR]
        elif self.variant.startswith("pq-"):
            copy = os.path.join(self.dir, "pqmgr")
            shutil.copy2(PQMGR, copy)   # a rebuild must not pull it away
            cmd += ["--qmgr", copy]
        # one line per parameter: a duplicate makes every daemon warn at
        # each start and reload, postlogd included, which can then block
        # on its own full socket
        sets = dict(s.split("=", 1) for s in BASE_SETS + self.scen.get("sets", []))
        if self.variant == "pq-oqmgr":
            sets["pqmgr_scheduler"] = "oqmgr"
        for name, value in sets.items():
            cmd += ["--set", "%s=%s" % (name, value)]
        r = sh(cmd)
        if r.returncode:
            raise RuntimeError("pf-sandbox create: " + r.stdout)
        with open(os.path.join(self.etc, "transport"), "w") as fp:
            fp.write(self.scen.get("transport", "") + TRANSPORT)
        for name, text in self.scen.get("files", {}).items():
            with open(os.path.join(self.etc, name), "w") as fp:
                fp.write(text)
        r = sh([SANDBOX, "start", self.pf])
        if r.returncode:
            raise RuntimeError("pf-sandbox start: %s; maillog: %s" % (r.stdout, self.log()[-800:]))
        for transport, ascen in self.agent_scenarios().items():
            self.start_agent(transport, ascen)

    def control(self, transport="script"):
        return os.path.join(self.dir, "ctl-" + transport)

    def trace(self, transport="script"):
        return os.path.join(self.dir, "trace-%s.jsonl" % transport)

    def start_agent(self, transport, ascen):
        ctl = self.control(transport)
        os.makedirs(ctl)
        scfile = os.path.join(ctl, "agent.json")
        with open(scfile, "w") as fp:
            json.dump(ascen, fp)
        err = open(os.path.join(ctl, "agent.err"), "w")
        agent = subprocess.Popen(
            [sys.executable, AGENT, "--queue", self.spool, "--transport", transport,
             "--scenario", scfile, "--trace", self.trace(transport), "--control", ctl],
            stdout=subprocess.PIPE, stderr=err, text=True)
        with open(os.path.join(ctl, "agent.pid"), "w") as fp:
            fp.write("%d\n" % agent.pid)
        if agent.stdout.readline().strip() != "ready":
            raise RuntimeError("script agent %s did not start" % transport)
        open(self.trace(transport), "a").close()
        open(os.path.join(ctl, "arrivals.jsonl"), "a").close()
        self.agents[transport] = agent

    def inject(self):
        self.t_inject = time.monotonic()    # before every arrival time
        mail = self.scen.get("mail", [])
        for msg in mail:
            self.send(*msg)
        n = len(mail)
        if not wait(lambda: self.queued("incoming") == n and self.queued("maildrop") == 0, 30):
            raise RuntimeError("injected mail did not reach incoming/")

    def send(self, sender, rcpts, args=(), body="Subject: parity\n\nbody\n"):
        """sendmail one message; with the manager on it is imported at once."""
        r = subprocess.run(["sendmail", "-C", self.etc, "-f", sender] + list(args) + list(rcpts),
                           input=body, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode:
            raise RuntimeError("sendmail: " + r.stdout)

    def send_active(self, sender, rcpts, seconds=20):
        """Send a message and wait until it is in the active queue; its id.
        The sender must be unique to the run."""
        self.send(sender, rcpts)
        pat = re.compile(r"postfix/qmgr\[\d+\]: (\w+): from=<%s>, size=\d+, nrcpt=\d+ \(queue active\)"
                         % re.escape(sender))
        found = []
        if not wait(lambda: found.append(pat.search(self.log())) or found[-1], seconds):
            raise RuntimeError("message from %s was not activated" % sender)
        return found[-1].group(1)

    def enable(self):
        self.t_enable = time.monotonic()
        r = sh([SANDBOX, "enable-qmgr", self.pf])
        if r.returncode:
            raise RuntimeError("enable-qmgr: " + r.stdout)

    # -- stimuli

    def trigger(self, requests):
        """Write trigger bytes (e.g. "AD") to public/qmgr as Postfix's tools do."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(os.path.join(self.spool, "public", "qmgr"))
            s.sendall(requests.encode())
        finally:
            s.close()

    def verify_query(self, address, tries=3):
        """Ask verify(8) about an address, as smtpd's reject_unverified_*
        does: an address it has no result for makes it post a probe.  The
        request status (0), or -1 after TRIES failures: a freshly spawned
        verify(8) sometimes closes its first connection without a reply."""
        for _ in range(tries):
            status = agent_codec().status_call(self.spool, "verify",
                                               [("request", "query"), ("address", address)])
            if status != -1:
                break
            time.sleep(0.5)
        return status

    def release(self, actions, transport="script"):
        """Release the next held requests, one action (or rule) each."""
        path = os.path.join(self.control(transport), "release")
        with open(path, "a") as fp:
            for a in actions:
                fp.write((json.dumps(a) if isinstance(a, dict) else a) + "\n")

    def postfix_cmd(self, *args):
        return sh(list(args[:1]) + ["-c", self.etc] + list(args[1:]))

    # -- observations

    def queued(self, queue):
        return len(self.queue_ids(queue))

    def queue_ids(self, queue):
        ids = []
        for _root, _dirs, files in os.walk(os.path.join(self.spool, queue)):
            ids += files
        return sorted(ids)

    def queue_path(self, queue, qid):
        for root, _dirs, files in os.walk(os.path.join(self.spool, queue)):
            if qid in files:
                return os.path.join(root, qid)
        return None

    def records(self):
        """Every transport's trace, by start time."""
        recs = []
        for transport in self.agent_scenarios():
            with open(self.trace(transport)) as fp:
                recs += [json.loads(l) for l in fp if l.strip()]
        return sorted(recs, key=lambda x: x["t0"])

    def arrivals(self, transport="script"):
        """Requests (and bad greetings) as they arrived, finished or not."""
        with open(os.path.join(self.control(transport), "arrivals.jsonl")) as fp:
            return [json.loads(l) for l in fp if l.strip()]

    def requests(self, transport="script"):
        return [a for a in self.arrivals(transport) if "qid" in a]

    def log(self):
        try:
            with open(self.maillog, errors="replace") as fp:
                return fp.read()
        except FileNotFoundError:
            return ""

    def busy(self):
        return sum(self.queued(q) for q in ("incoming", "active", "maildrop"))

    def left(self):
        """Messages not yet finished: incoming, active, maildrop, deferred."""
        return self.busy() + self.queued("deferred")

    def idle(self):
        return self.left() == 0

    def stop(self, keep=False):
        for agent in self.agents.values():
            if agent.poll() is None:
                agent.kill()
                agent.wait()
        for fp in self.locks:
            fp.close()
        if self.slot:
            # the slot is reused: keep the maillog with the traces
            if os.path.exists(self.maillog):
                shutil.copy(self.maillog, os.path.join(self.dir, "maillog"))
            sh([SANDBOX, "destroy", self.pf], timeout=60)
            Run.pool.put(self.slot)
        elif keep:
            sh([SANDBOX, "stop", self.pf], timeout=60)
        else:
            sh([SANDBOX, "destroy", self.pf], timeout=60)


def agent_codec():
    """The script agent's module, for its attr0 client (status_call)."""
    if "script_agent" not in sys.modules:
        spec = importlib.util.spec_from_file_location("script_agent", AGENT)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["script_agent"] = mod
    return sys.modules["script_agent"]


def wait(pred, seconds, step=0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def settle(run, count_fn, quiet=0.6, seconds=10):
    """Wait until count_fn(run) has not changed for `quiet` seconds; its value."""
    end = time.monotonic() + seconds
    last, since = count_fn(run), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        cur = count_fn(run)
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def cleanup(base):
    """Stop every agent and instance under base, then remove it."""
    for pidfile in glob.glob(os.path.join(base, "*", "*", "ctl-*", "agent.pid")):
        try:
            os.kill(int(open(pidfile).read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for pf in glob.glob(os.path.join(base, "*", "*", "pf")) + \
            glob.glob(os.path.join(base, "slots", "s*")):
        sh([SANDBOX, "destroy", pf], timeout=60)
    sh([SANDBOX, "unregister-under", os.path.join(os.path.abspath(base), "")])
    shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------ trace metrics

def max_overlap(intervals):
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals],
                    key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


def activation_order(log):
    order = []
    for m in re.finditer(r"postfix/qmgr\[\d+\]: (\w+): from=<[^>]*>, size=\d+, nrcpt=\d+ \(queue active\)", log):
        if m.group(1) not in order:
            order.append(m.group(1))
    return order


def sizes(recs):
    return sorted(len(r["rcpts"]) for r in recs)


def all_rcpts(recs):
    return sorted(a for r in recs for a in r["rcpts"])


def windows(log, queue):
    """The feedback-debug window values logged for a queue, without repeats."""
    seq = []
    for m in re.finditer(r"queue %s: limit \d+ window (\d+) " % re.escape(queue), log):
        w = int(m.group(1))
        if not seq or seq[-1] != w:
            seq.append(w)
    return seq


def hop_of(recs, qid):
    return next(x["nexthop"] for x in recs if x["qid"] == qid)


def until_drained(seconds):
    def go(run):
        wait(lambda: run.idle(), seconds)
        time.sleep(0.3)
    return go
