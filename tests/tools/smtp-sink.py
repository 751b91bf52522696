#!/usr/bin/env python3
"""smtp-sink.py - a scripted SMTP server for end-to-end tests and the demo.

Usage: smtp-sink.py --port P --rules FILE --log FILE [--pidfile FILE]

Listens on 127.0.0.1:P.  For each RCPT TO the rules file is read again (so a
test can change behaviour while the server runs); each non-comment line is

    <pattern> <action>

where pattern is a full address (user@domain), "@domain", or "*", and action
is "accept", "tempfail" (450) or "reject" (550).  The first matching line
wins; no match means accept.  Every accepted message is appended to the log
file as one line per recipient:  "<unix time> <queue-id-or-> <sender> <rcpt>",
and every refused recipient as "<time> REFUSED <code> <sender> <rcpt>".
The server handles several sessions at once and stops on SIGTERM.
"""
import argparse
import os
import signal
import socketserver
import sys
import threading
import time

LOCK = threading.Lock()


def load_rules(path):
    rules = []
    try:
        with open(path) as fp:
            for line in fp:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    rules.append((parts[0].lower(), parts[1].lower()))
    except FileNotFoundError:
        pass
    return rules


def decide(rules, rcpt):
    rcpt = rcpt.lower()
    domain = "@" + rcpt.rsplit("@", 1)[-1] if "@" in rcpt else ""
    for pattern, action in rules:
        if pattern == "*" or pattern == rcpt or pattern == domain:
            return action
    return "accept"


def log_line(path, text):
    with LOCK:
        with open(path, "a") as fp:
            fp.write(text + "\n")


def strip_angle(arg):
    arg = arg.strip()
    if arg.startswith("<"):
        arg = arg[1:arg.find(">")] if ">" in arg else arg[1:]
    return arg.split()[0] if arg and " " in arg else arg


class Session(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        cfg = self.server.cfg
        self.reply("220 sink.test ESMTP test sink")
        sender, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                if verb == "EHLO":
                    self.wfile.write(b"250-sink.test\r\n250-PIPELINING\r\n"
                                     b"250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    self.wfile.flush()
                else:
                    self.reply("250 sink.test")
            elif verb == "MAIL":
                sender = strip_angle(cmd[cmd.find(":") + 1:])
                rcpts = []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpt = strip_angle(cmd[cmd.find(":") + 1:])
                action = decide(load_rules(cfg.rules), rcpt)
                if action == "tempfail":
                    log_line(cfg.log, "%d REFUSED 450 %s %s" % (time.time(), sender, rcpt))
                    self.reply("450 4.2.0 <%s>: Recipient temporarily unavailable" % rcpt)
                elif action == "reject":
                    log_line(cfg.log, "%d REFUSED 550 %s %s" % (time.time(), sender, rcpt))
                    self.reply("550 5.1.1 <%s>: Recipient address rejected" % rcpt)
                else:
                    rcpts.append(rcpt)
                    self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 No valid recipients")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                for rcpt in rcpts:
                    log_line(cfg.log, "%d DELIVERED %s %s" % (time.time(), sender, rcpt))
                self.reply("250 2.0.0 Ok: queued as SINK%d" % int(time.time() * 1000 % 100000))
                rcpts = []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile")
    cfg = ap.parse_args()
    server = Server(("127.0.0.1", cfg.port), Session)
    server.cfg = cfg
    if cfg.pidfile:
        with open(cfg.pidfile, "w") as fp:
            fp.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
