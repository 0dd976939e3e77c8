#!/usr/bin/python3
# The SpamCop incident drill: 2021-01-31 replayed on real software. Postfix
# takes mail (swaks presenting client addresses with XCLIENT) on two smtpd
# services, one asking `dnsblkit policyd`, one with plain
# `reject_rbl_client`; Unbound resolves the list, first from `dnsblkit
# serve` (healthy), then, switched with unbound-control, from the ways
# lists broke in the field: a parking wildcard with a public address
# (SpamCop 2021), 127.0.0.2 for everything (AHBL 2015), NXDOMAIN for
# everything, no answer at all, 127.255.255.254 for everything (Spamhaus
# through a public resolver); then restored. It prints what each side did
# to listed and unlisted clients as a Markdown table, and writes it all as
# JSON with --json FILE; tests/system/test_drill.py asserts on that.
#
# Postfix's reject_rbl_client asks the libc resolver, which reads
# /etc/resolv.conf and cannot be given a port: the drill runs in network,
# mount and PID namespaces of its own (it re-executes itself under
# unshare), with Unbound on 127.0.0.1:53 and a resolv.conf naming it
# bind-mounted over /etc/resolv.conf. Needs root. When the drill's first
# process ends, the kernel ends every process left in its PID namespace,
# Postfix's master included.
#
# Exit status: 0 when the drill ran to the end (what it found is in the
# table and the JSON, judged by test_drill.py), 1 when it could not (a
# peer did not start, a step failed), 2 on bad usage, 77 when it cannot
# run here (not root, no namespaces, a program missing).
import argparse
import concurrent.futures
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from conftest import DNSBLKIT, SANITIZER_MARKERS, Server, free_port  # noqa: E402
from dnspeers import (  # noqa: E402
    DNSMASQ,
    UNBOUND,
    UNBOUND_CONTROL,
    SilentServer,
    start_dnsmasq,
    start_unbound,
    unbound_control,
)

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
SWAKS = "/usr/bin/swaks"
UNSHARE = "/usr/bin/unshare"
IP = "/usr/sbin/ip"
MOUNT = "/usr/bin/mount"

INSIDE = "DBK_DRILL_INSIDE"  # set in the environment of the re-executed drill
EXIT_SKIP = 77

ZONE = "bl.spamcop.example"
DOMAIN = "drill.example"  # Postfix's mydestination
TXT = "Blocked - see http://www.spamcop.example/bl.shtml?$"
# The healthy list: 192.0.2.0/24 and RFC 5782's 127.0.0.2; 127.0.0.1 and
# everything else not listed.
LIST_DATA = ":127.0.0.2:%s\n192.0.2.0/24\n127.0.0.2\n" % TXT
LISTED_NET = ipaddress.ip_network("192.0.2.0/24")
UNLISTED_NET = ipaddress.ip_network("198.51.100.0/24")
PARKING_ADDRESS = "203.0.113.80"  # the registrar's parking web server

# (name, what it is, what dnsmasq answers for every name: an address, or
# None for NXDOMAIN; "silent" is a socket that never answers)
VARIANTS = [
    ("parking", "parking wildcard, a public address (SpamCop 2021)", PARKING_ADDRESS),
    ("wildcard-127.0.0.2", "127.0.0.2 for every name (AHBL 2015)", "127.0.0.2"),
    ("nxdomain", "NXDOMAIN for every name", None),
    ("silent", "no answer at all", "silent"),
    ("127.255.255.254", "127.255.255.254 for every name (Spamhaus via a public resolver)",
     "127.255.255.254"),
]

OUTCOMES = ("rejected", "accepted", "deferred")
SERVICES = ("policyd", "plain")  # the two smtpd services


class DrillError(Exception):
    """A step of the drill failed: the drill cannot go on."""


def log(msg):
    print("drill: " + msg, file=sys.stderr, flush=True)


# ---- the processes ---------------------------------------------------------


class Policyd:
    """`dnsblkit policyd`, its stderr read line by line as it comes, each
    line with the monotonic time it arrived (policyd logs list state
    changes there; stderr is unbuffered)."""

    def __init__(self, argv, logpath):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.logfile = open(logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env)
        self.lines = []  # (monotonic time, line)
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.status = None

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append((time.monotonic(), line))
                self.logfile.write(line + "\n")
                self.logfile.flush()
                self.cond.notify_all()

    def wait_line(self, pattern, since=0.0, timeout=10.0):
        """The first (time, line) read at or after `since` that matches
        the regular expression; None after timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, line in self.lines:
                    if t >= since and rx.search(line):
                        return t, line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.cond.wait(min(left, 0.1))

    def text(self):
        with self.cond:
            return "\n".join(line for _, line in self.lines)

    def stop(self, timeout=15.0):
        if self.status is not None:
            return self.status
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.thread.join(timeout=5)
        self.logfile.close()
        self.status = self.proc.returncode
        return self.status


class Postfix:
    """Postfix from the Debian package in a configuration directory of its
    own (main.cf, master.cf; its own queue and data directories; chroot
    off), logging to a file, delivering to discard. Two smtpd services on
    loopback: one with check_policy_service (policyd), one with plain
    reject_rbl_client. XCLIENT is allowed from loopback so that swaks
    can present any client address."""

    def __init__(self, root, policy_port, ports):
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.queue = os.path.join(root, "queue")
        self.data = os.path.join(root, "data")
        self.maillog = os.path.join(root, "maillog")
        self.ports = ports  # service -> port
        self.proc = None
        for d in (self.etc, self.queue, self.data):
            os.makedirs(d)
        # Postfix's daemons run as user postfix: they need to reach their
        # configuration and queue (a mkdtemp directory is 0700), and the
        # data directory is theirs.
        os.chmod(root, 0o755)
        shutil.chown(self.data, "postfix")
        main = [
            "compatibility_level = 3.6",
            "queue_directory = %s" % self.queue,
            "data_directory = %s" % self.data,
            "maillog_file = %s" % self.maillog,
            "maillog_file_prefixes = %s" % root,
            "myhostname = mx.%s" % DOMAIN,
            "mydomain = %s" % DOMAIN,
            "myorigin = $mydomain",
            "mydestination = %s" % DOMAIN,
            "local_recipient_maps =",
            "local_transport = discard:drill",
            "default_transport = discard:drill",
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "smtpd_authorized_xclient_hosts = 127.0.0.0/8",
            # As docs/mail-admin-guide.md recommends beside policyd.
            "smtpd_policy_service_default_action = DUNNO",
            "smtpd_policy_service_timeout = 10s",
            "biff = no",
        ]
        services = {
            "policyd": "check_policy_service inet:127.0.0.1:%d, permit" % policy_port,
            "plain": "reject_rbl_client %s, permit" % ZONE,
        }
        master = []
        for name, port in ports.items():
            master.append("127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/%s "
                          "-o { smtpd_recipient_restrictions = %s }" % (port, name, services[name]))
        for line in ("pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup",
                     "qmgr unix n - n 300 1 qmgr", "rewrite unix - - n - - trivial-rewrite",
                     "bounce unix - - n - 0 bounce", "defer unix - - n - 0 bounce",
                     "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
                     "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap",
                     "showq unix n - n - - showq", "error unix - - n - - error",
                     "retry unix - - n - - error", "discard unix - - n - - discard",
                     "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
                     "postlog unix-dgram n - n - 1 postlogd"):
            master.append(line)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("\n".join(main) + "\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(master) + "\n")

    def start(self, timeout=30.0):
        # start-fg: the master stays a child of postfix-script, itself our
        # child, so stop() can wait for it.
        self.out = open(os.path.join(self.root, "postfix.out"), "wb")
        self.proc = subprocess.Popen([POSTFIX, "-c", self.etc, "start-fg"], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        for port in self.ports.values():
            while True:
                if self.proc.poll() is not None:
                    raise DrillError("postfix exited with status %s:\n%s" % (
                        self.proc.returncode, self.log()))
                if smtp_banner(port):
                    break
                if time.monotonic() > deadline:
                    raise DrillError("postfix not answering on port %d within %.0f s:\n%s" % (
                        port, timeout, self.log()))
                time.sleep(0.1)

    def log(self):
        text = ""
        for path in (os.path.join(self.root, "postfix.out"), self.maillog):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, timeout=20.0):
        """`postfix stop`, then waits for the master to exit; kills it if
        it does not. Returns a problem found, or None."""
        if self.proc is None:
            return None
        problem = None
        if self.proc.poll() is None:
            subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True, timeout=30)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                problem = "the Postfix master did not stop within %.0f s: killed" % timeout
                pid = self.master_pid()
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.proc = None
        return problem


def smtp_banner(port):
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            return s.recv(512).startswith(b"220")
    except OSError:
        return False


# ---- sending mail ----------------------------------------------------------

REPLY = re.compile(r"^<(?:-|\*\*)\s+(\d{3})[ -](.*)$")


def parse_swaks(status, output):
    """(outcome, code, reply) of one swaks run: the first error reply
    (swaks marks them <**) decides: 4NN deferred, 5NN rejected; a
    message queued (250 after the final dot, status 0) is accepted;
    anything else is an error of the drill, not an outcome."""
    last = None
    for line in output.splitlines():
        m = REPLY.match(line)
        if not m:
            continue
        last = (m.group(1), m.group(2))
        if line.startswith("<**"):
            code = m.group(1)
            kind = "deferred" if code.startswith("4") else "rejected"
            return kind, code, "%s %s" % (code, m.group(2))
    if status == 0 and last and last[0] == "221" and "queued as" in output:
        return "accepted", "250", next(l[4:].strip() for l in output.splitlines()
                                       if "queued as" in l)
    return "error", None, "swaks status %d: %s" % (status, output.strip().splitlines()[-3:])


def send(port, client, timeout=40):
    """One message from `client` (XCLIENT) to a recipient of ours."""
    argv = [SWAKS, "--server", "127.0.0.1", "--port", str(port),
            "--from", "sender@mail.example.net", "--to", "postmaster@%s" % DOMAIN,
            "--helo", "mail.example.net", "--xclient-addr", client,
            "--xclient-name", "mail.example.net", "--timeout", "%ds" % timeout]
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                           timeout=timeout + 10)
        outcome, code, reply = parse_swaks(r.returncode, r.stdout + r.stderr)
    except subprocess.TimeoutExpired:
        outcome, code, reply = "error", None, "swaks did not finish in %d s" % (timeout + 10)
    return {"client": client, "outcome": outcome, "code": code, "reply": reply,
            "seconds": round(time.monotonic() - t0, 2)}


class Addresses:
    """Fresh client addresses for each round of messages, so that no cache
    (Unbound's, policyd's) answers for an address asked before."""

    def __init__(self):
        self.listed = (str(a) for a in list(LISTED_NET.hosts())[9:])
        self.unlisted = (str(a) for a in list(UNLISTED_NET.hosts())[9:])

    def take(self, nlisted, nunlisted):
        return ([next(self.listed) for _ in range(nlisted)],
                [next(self.unlisted) for _ in range(nunlisted)])


def drop_to_nobody(args, command):
    """Both daemons become nobody once their sockets are bound, as a
    packaged daemon does (they refuse to run as root without a user). The
    drill's files are world-readable."""
    return ["--user", "nobody"] if os.geteuid() == 0 else []


# ---- the drill -------------------------------------------------------------


class Drill:
    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        self.t0 = time.monotonic()
        self.addresses = Addresses()
        self.rounds = []
        self.variants = []
        self.problems = []
        self.peers = []  # stopped in reverse order
        self.policyd = None
        self.postfix = None
        self.serve = None
        self.upstream = {}  # name -> port of the server Unbound's stub may point at

    def now(self):
        return round(time.monotonic() - self.t0, 2)

    # -- set-up --

    def setup(self):
        a = self.args
        if subprocess.run([IP, "link", "set", "lo", "up"]).returncode != 0:
            raise DrillError("cannot bring up lo in the network namespace")
        resolv = os.path.join(self.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("# the drill's namespace: Unbound below\nnameserver 127.0.0.1\n")
        r = subprocess.run([MOUNT, "--bind", resolv, "/etc/resolv.conf"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise DrillError("cannot bind-mount resolv.conf: " + r.stderr)

        data = os.path.join(self.dir, "bl.ip4set")
        with open(data, "w") as f:
            f.write(LIST_DATA)
        port = free_port()
        argv = [a.dnsblkit, "serve", "-b", "127.0.0.1/%d" % port] + drop_to_nobody(a, "serve")
        self.serve = Server(argv + ["%s:ip4set:%s" % (ZONE, data)], port, ZONE, self.dir)
        self.serve.wait_ready()
        self.upstream["list"] = port

        for name, _, answer in VARIANTS:
            if answer == "silent":
                peer = SilentServer()
            else:
                peer = start_dnsmasq(self.dir, {ZONE: answer})
            self.peers.append(peer)
            self.upstream[name] = peer.port

        self.control = os.path.join(self.dir, "unbound.ctl")
        self.unbound = start_unbound(self.dir, {ZONE: self.upstream["list"]}, port=53,
                                     control=self.control)
        self.peers.append(self.unbound)

        self.policy_port = free_port()
        conf = os.path.join(self.dir, "dnsblkit.conf")
        with open(conf, "w") as f:
            f.write("[check]\nlists = %s\nresolver = 127.0.0.1/53\nprobe-interval = %s\n"
                    % (ZONE, a.probe_interval))
            for setting in a.check:
                f.write(setting + "\n")
            f.write("[list %s]\nkind = ip\n[policyd]\nlisten = 127.0.0.1/%d\n"
                    % (ZONE, self.policy_port))
        self.policyd = Policyd([a.dnsblkit, "policyd", "--config", conf]
                               + drop_to_nobody(a, "policyd"),
                               os.path.join(self.dir, "policyd.log"))
        if not self.policyd.wait_line(r"listening on", timeout=20):
            raise DrillError("policyd is not listening:\n" + self.policyd.text())
        if not self.policyd.wait_line(r"list %s is healthy" % re.escape(ZONE), timeout=20):
            raise DrillError("policyd never found the list healthy:\n" + self.policyd.text())

        self.postfix = Postfix(os.path.join(self.dir, "postfix"), self.policy_port,
                               {"policyd": free_port(), "plain": free_port()})
        self.postfix.start()

    def teardown(self):
        if self.postfix:
            try:
                p = self.postfix.stop()
                if p:
                    self.problems.append(p)
            except Exception as e:  # noqa: BLE001 - teardown goes on
                self.problems.append("stopping postfix: %s" % e)
        if self.policyd:
            self.policyd_status = self.policyd.stop()
        if self.serve:
            try:
                self.serve_status, self.serve_err = self.serve.stop()
            except AssertionError as e:
                self.serve_status, self.serve_err = None, str(e)
        for peer in reversed(self.peers):
            try:
                peer.stop()
            except Exception as e:  # noqa: BLE001 - a peer that died is a finding, not a stop
                self.problems.append("%s" % e)

    # -- the steps --

    def point_stub(self, name):
        """Unbound's stub for the list to another server, and everything it
        knew of the list forgotten: the domain changed hands."""
        unbound_control(self.unbound, "stub_add", ZONE, "127.0.0.1@%d" % self.upstream[name])
        unbound_control(self.unbound, "flush_requestlist")
        unbound_control(self.unbound, "flush_zone", ZONE)
        unbound_control(self.unbound, "flush_infra", "all")

    def mail(self, phase, variant, moment, since=None):
        """A round of messages: fresh listed and unlisted clients, each sent
        through both smtpd services. since: the switch's monotonic time."""
        listed, unlisted = self.addresses.take(self.args.listed, self.args.unlisted)
        jobs = []
        started = self.now()
        t_start = time.monotonic()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        try:
            # policyd's messages first, all at once: right after a switch
            # they are the ones whose timing matters.
            for service in SERVICES:
                port = self.postfix.ports[service]
                batch = [(service, c in listed, pool.submit(send, port, c))
                         for c in unlisted + listed]
                jobs += [(service, is_listed, fut.result()) for service, is_listed, fut in batch]
            done = jobs
        finally:
            # Interrupted: the teardown stops Postfix, which ends the
            # swaks runs still going.
            pool.shutdown(wait=False, cancel_futures=True)
        messages = []
        for service, is_listed, m in done:
            m["service"] = service
            m["listed"] = is_listed
            messages.append(m)
            if m["outcome"] == "error":
                self.problems.append("%s/%s %s via %s: %s" % (phase, moment, m["client"],
                                                             service, m["reply"]))
        r = {"phase": phase, "variant": variant, "moment": moment, "at": started,
             "after_switch_s": None if since is None else round(t_start - since, 2),
             "messages": messages}
        self.rounds.append(r)
        log("%-24s %-16s %s" % (phase, moment, summary_line(r)))
        return r

    def wait_state(self, state, since, timeout):
        hit = self.policyd.wait_line(r"list %s is %s" % (re.escape(ZONE), state), since=since,
                                     timeout=timeout)
        if not hit:
            return None, None
        return round(hit[0] - since, 2), hit[1]

    def run(self):
        a = self.args
        interval = a.interval_s
        self.mail("before", None, "healthy")
        for name, what, _ in VARIANTS:
            v = {"variant": name, "what": what}
            # Every switch but the first comes as soon as policyd logs the
            # list healthy again after the last restore, that is right
            # after a probe round: the broken list then goes a whole
            # interval unprobed, and the messages sent "immediately" meet
            # it in the worst case.
            t_switch = time.monotonic()
            self.point_stub(name)
            v["switched_in_s"] = round(time.monotonic() - t_switch, 3)
            self.mail(name, name, "immediately", since=t_switch)
            # One probe interval after the switch: a round has run (and
            # taken its few milliseconds).
            left = t_switch + interval + 0.5 - time.monotonic()
            if left > 0:
                time.sleep(left)
            self.mail(name, name, "after one probe interval", since=t_switch)
            v["sick_after_s"], v["sick_line"] = self.wait_state("SICK", t_switch, a.sick_wait)
            if v["sick_after_s"] is None:
                self.problems.append("%s: policyd did not report the list sick within %.0f s"
                                     % (name, a.sick_wait))
            # The real list back; policyd takes it back after its
            # healthy-after good rounds.
            t_restore = time.monotonic()
            self.point_stub("list")
            last = name == VARIANTS[-1][0]
            if last:
                self.mail("after", None, "immediately", since=t_restore)
            v["healthy_after_s"], v["healthy_line"] = self.wait_state(
                "healthy", t_restore, a.healthy_wait)
            if v["healthy_after_s"] is None:
                self.problems.append("%s: the list not healthy again within %.0f s of the restore"
                                     % (name, a.healthy_wait))
                self.variants.append(v)
                raise DrillError("policyd did not take the restored list back:\n"
                                 + self.policyd.text())
            self.variants.append(v)
        self.mail("after", None, "healthy again", since=t_restore)

    def daemon_output(self):
        return (self.policyd.text() if self.policyd else "") + (getattr(self, "serve_err", "")
                                                                or "")

    def result(self):
        return {
            "zone": ZONE,
            "config": {
                "probe_interval_s": self.args.interval_s,
                "policyd_check": ["probe-interval = %s" % self.args.probe_interval]
                + self.args.check,
                "listed_per_round": self.args.listed,
                "unlisted_per_round": self.args.unlisted,
                "dnsblkit": self.args.dnsblkit,
                "postfix": version([POSTCONF, "-d", "-h", "mail_version"]),
                "unbound": version([UNBOUND, "-V"]),
                "swaks": version([SWAKS, "--version"]),
            },
            "rounds": self.rounds,
            "variants": self.variants,
            "policyd_log": self.policyd.text().splitlines() if self.policyd else [],
            "policyd_status": getattr(self, "policyd_status", None),
            "serve_status": getattr(self, "serve_status", None),
            "sanitizer_reports": [m for m in SANITIZER_MARKERS if m in self.daemon_output()],
            "problems": self.problems,
            "seconds": self.now(),
        }


def version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


# ---- the table -------------------------------------------------------------


def count(messages, service, listed):
    c = {o: 0 for o in OUTCOMES + ("error",)}
    for m in messages:
        if m["service"] == service and m["listed"] == listed:
            c[m["outcome"]] += 1
    return c


def cell(c):
    parts = ["%d %s" % (c[o], o) for o in OUTCOMES + ("error",) if c[o]]
    return ", ".join(parts) or "none"


def summary_line(r):
    return "; ".join("%s %s: %s" % (s, "listed" if l else "unlisted",
                                    cell(count(r["messages"], s, l)))
                     for s in SERVICES for l in (True, False))


def table(result):
    """The side-by-side table: one row per round of messages, its time
    counted from the switch of the list (or from the restore)."""
    sick = {v["variant"]: v for v in result["variants"]}
    lines = ["| phase | when | policyd: listed | policyd: unlisted | "
             "reject_rbl_client: listed | reject_rbl_client: unlisted | "
             "slowest message: policyd / plain | policyd: list sick after |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rounds"]:
        v = sick.get(r["variant"])
        when_sick = ""
        if v and r["moment"] == "immediately":
            when_sick = "%.1f s" % v["sick_after_s"] if v["sick_after_s"] is not None else "never"
        when = r["moment"]
        if r.get("after_switch_s") is not None:
            when += " (+%.1f s)" % r["after_switch_s"]
        slowest = " / ".join("%.1f s" % max(m["seconds"] for m in r["messages"]
                                             if m["service"] == s) for s in SERVICES)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["phase"], when,
            cell(count(r["messages"], "policyd", True)),
            cell(count(r["messages"], "policyd", False)),
            cell(count(r["messages"], "plain", True)),
            cell(count(r["messages"], "plain", False)), slowest, when_sick))
    return "\n".join(lines)


# ---- running it ------------------------------------------------------------


def duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", text)
    if not m:
        raise argparse.ArgumentTypeError("a duration such as 2s or 1500ms")
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "ms" else v


def probe_interval(text):
    duration(text)
    return text


def check_setting(text):
    key, eq, value = text.partition("=")
    if not eq or not re.fullmatch(r"[a-z-]+", key.strip()) or not value.strip():
        raise argparse.ArgumentTypeError("KEY=VALUE, such as freshness=500ms")
    return "%s = %s" % (key.strip(), value.strip())


def parse_args(argv):
    p = argparse.ArgumentParser(description="The SpamCop incident drill (needs root).")
    p.add_argument("--dnsblkit", default=DNSBLKIT, help="the binary (default $DNSBLKIT or %s)"
                   % DNSBLKIT)
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--probe-interval", default="2s", type=probe_interval,
                   help="policyd's [check] probe-interval (default 2s)")
    p.add_argument("--check", metavar="KEY=VALUE", action="append", default=[],
                   type=check_setting, help="another [check] setting for policyd, such as "
                   "freshness=500ms (repeatable)")
    p.add_argument("--listed", type=int, default=2, help="listed clients per round")
    p.add_argument("--unlisted", type=int, default=2, help="unlisted clients per round")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    a = p.parse_args(argv)
    a.interval_s = duration(a.probe_interval)
    # Bounds, not expectations: soft failures (NXDOMAIN, no answer) make
    # a list sick only after [check] sick-after (2) rounds, and a round
    # against a silent server lasts the resolver's timeouts (1 s + 2 s).
    a.sick_wait = 3 * a.interval_s + 10
    a.healthy_wait = 3 * a.interval_s + 10
    return a


def cannot_run():
    """Why the drill cannot run here, or None."""
    if os.geteuid() != 0:
        return "the drill needs root (network and mount namespaces, Postfix, port 53)"
    for prog in (UNSHARE, IP, MOUNT, POSTFIX, SWAKS, UNBOUND, UNBOUND_CONTROL, DNSMASQ):
        if not os.access(prog, os.X_OK):
            return "%s is missing (scripts/deps.sh installs it)" % prog
    r = subprocess.run([UNSHARE, "--net", "--mount", "--pid", "--fork", "true"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create namespaces: " + r.stderr.strip()
    return None


def outside(argv):
    a = parse_args(argv)  # usage errors before anything starts
    why = cannot_run()
    if why:
        print("drill: cannot run: " + why, file=sys.stderr)
        return EXIT_SKIP
    if not os.access(a.dnsblkit, os.X_OK):
        print("drill: no dnsblkit binary at %s (build it, or give --dnsblkit)" % a.dnsblkit,
              file=sys.stderr)
        return 1
    env = dict(os.environ)
    env[INSIDE] = "1"
    # unshare's child is the first process of the new PID namespace; when
    # unshare is killed, --kill-child passes a TERM on, and the drill
    # tears down.
    cmd = [UNSHARE, "--net", "--mount", "--pid", "--fork", "--mount-proc",
           "--kill-child=SIGTERM", sys.executable, os.path.abspath(__file__)] + argv
    sys.stdout.flush()
    os.execve(UNSHARE, cmd, env)
    return 1  # not reached


def inside(argv):
    a = parse_args(argv)
    # The first process of a PID namespace ignores signals it has no
    # handler for: TERM must stop the drill, and tear everything down.
    def on_term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    workdir = tempfile.mkdtemp(prefix="dbk-drill-")
    os.chmod(workdir, 0o755)  # Postfix's daemons (user postfix) work below it
    drill = Drill(a, workdir)
    status = 0
    try:
        try:
            drill.setup()
            drill.run()
        finally:
            drill.teardown()
    except (DrillError, AssertionError, OSError, subprocess.SubprocessError) as e:
        drill.problems.append("drill stopped: %s" % e)
        log("drill stopped: %s" % e)
        status = 1
    except KeyboardInterrupt as e:
        drill.problems.append("drill interrupted: %s" % e)
        status = 1
    result = drill.result()
    result["completed"] = status == 0
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    print(table(result))
    print()
    for v in result["variants"]:
        print("- %s: policyd says sick after %s, healthy again %s after the restore" % (
            v["variant"], fmt_s(v["sick_after_s"]), fmt_s(v.get("healthy_after_s"))))
    for p in result["problems"]:
        print("- problem: %s" % p)
    print("- %.0f s in all" % result["seconds"])
    if a.keep or status:
        log("scratch directory kept: %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return status


def fmt_s(v):
    return "never" if v is None else "%.1f s" % v


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(inside(args) if os.environ.get(INSIDE) == "1" else outside(args))
