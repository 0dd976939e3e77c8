# The mail host's side against real DNS: `dnsblkit check` and `dnsblkit
# monitor` asking Unbound (a caching recursive resolver) about lists served
# by `dnsblkit serve` (healthy) and by dnsmasq playing the lists that broke
# in the field: a parking wildcard (spamcop.net, 2021), 127.0.0.2 for
# everything (AHBL, 2015), the error code 127.255.255.254 for everything
# (Spamhaus through a public resolver), NXDOMAIN for everything, and a
# server that never answers. The promise under test: a broken list never
# makes a subject listed, the monitor names it and says why, and a list
# that breaks between probe rounds is caught before its first listing
# counts.
import atexit
import json
import os
import pty
import queue
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (
    DNSBLKIT,
    RBLDNSD,
    SANITIZE,
    assert_no_sanitizer_report,
    scale,
    start_rbldnsd,
    world_readable_dir,
    write,
)
from dnspeers import DNSMASQ, UNBOUND, Relay, SilentServer, start_dnsmasq, start_unbound

# Healthy lists, served by `dnsblkit serve`.
BL = "bl.example"  # 192.0.2.0/24 -> 127.0.0.3 with TXT; 198.51.100.7 -> 127.0.0.2
BL2 = "bl2.example"  # 203.0.113.0/25 -> 127.0.0.4
DBL = "dbl.example"  # a domain list
BL_DATA = "192.0.2.0/24 :3:Blocked $\n198.51.100.7\n"
BL2_DATA = "203.0.113.0/25 :4:Second list\n"
DBL_DATA = "spam.example.com :2:Spam domain\n.evil.example\n"
V6 = "v6.example"  # an IPv6-only list: 2001:db8:1::/48 -> 127.0.0.5
V6_DATA = "2001:db8:1::/48 :5:IPv6 listed\n"

# Broken lists, played by dnsmasq (and a silent socket).
PARKED = "parked.example"  # every name: 192.0.2.80 (a parking service)
ALL2 = "ahbl.example"  # every name: 127.0.0.2
REFUSER = "pub.example"  # every name: 127.255.255.254
DEAD = "dead.example"  # every name: NXDOMAIN
SILENT = "silent.example"  # no answer at all
OFF = "off.example"  # a silent list switched off by configuration
# A dead list come back listing the whole Internet but its negative test
# entry (ORDB, NJABL): rbldnsd serving 0.0.0.0/0 except 127.0.0.1, with an
# SOA. Only a random 127.x.y.z address tells.
WORLD = "world.example"
WORLD_DATA = ("$SOA 3600 ns.world.example. hostmaster.world.example. 1 3600 600 86400 300\n"
              "0.0.0.0/1 :2:Listed\n128.0.0.0/1 :2:Listed\n!127.0.0.1\n")

# Zones a relay switches from the healthy server to dnsmasq: served
# healthy (BL_DATA) by dnsblkit, broken by dnsmasq.
FLIP_PARKED = "flipw.example"  # becomes a parking wildcard
FLIP_ALL2 = "flipa.example"  # becomes a list answering 127.0.0.2 for everything

# Timeouts: slower under the sanitizers, never unbounded.
SLOW = 3 if SANITIZE else 1

# $DNSBLKIT_CONFIG for every run: an empty file, so that no
# /etc/dnsblkit/dnsblkit.conf on this machine adds lists.
_empty = tempfile.NamedTemporaryFile("w", prefix="dbk-empty-", suffix=".conf", delete=False)
_empty.close()
atexit.register(os.unlink, _empty.name)
EMPTY_CONF = _empty.name


def dbk_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["DNSBLKIT_CONFIG"] = EMPTY_CONF
    return env


def run(args, timeout=60, env=None, **kw):
    """Runs dnsblkit to completion; its stderr must hold no sanitizer report."""
    full_env = dbk_env()
    if env:
        full_env.update(env)
    r = subprocess.run([DNSBLKIT] + list(args), capture_output=True, text=True,
                       errors="replace", timeout=timeout * SLOW, env=full_env, **kw)
    assert_no_sanitizer_report(r.stderr)
    assert r.returncode >= 0, "dnsblkit killed by signal %d:\n%s" % (-r.returncode, r.stderr)
    return r


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def by_zone(result):
    return {l["zone"]: l for l in result["lists"]}


class Lab:
    """Every peer of this module, and the resolver in front of them."""

    def __init__(self, logdir, serve, dnsmasq, silent, off, unbound):
        self.logdir = logdir
        self.serve = serve
        self.dnsmasq = dnsmasq
        self.silent = silent
        self.off = off
        self.unbound = unbound
        self.resolver = "127.0.0.1/%d" % unbound.port

    def check(self, lists, subjects, extra=(), domain_lists=(), timeout=60):
        args = ["check", "--json", "--resolver", self.resolver, "--timeout", "500ms"]
        for l in lists:
            args += ["--list", l]
        for l in domain_lists:
            args += ["--domain-list", l]
        r = run(args + list(extra) + list(subjects), timeout=timeout)
        return r, json_lines(r.stdout)

    def monitor(self, lists, extra=(), domain_lists=()):
        args = ["monitor", "--resolver", self.resolver, "--timeout", "500ms"]
        for l in lists:
            args += ["--list", l]
        for l in domain_lists:
            args += ["--domain-list", l]
        return run(args + list(extra))


@pytest.fixture(scope="module")
def lab(module_dnsblkit, tmp_path_factory):
    for prog in (DNSMASQ, UNBOUND, RBLDNSD):
        if not os.access(prog, os.X_OK):
            pytest.fail("%s is missing: scripts/deps.sh installs the test peers" % prog)
    d = str(tmp_path_factory.mktemp("check-lab"))
    specs = [
        "%s:ip4set:%s" % (BL, write(os.path.join(d, "bl.ip4set"), BL_DATA)),
        "%s:ip4set:%s" % (BL2, write(os.path.join(d, "bl2.ip4set"), BL2_DATA)),
        "%s:dnset:%s" % (DBL, write(os.path.join(d, "dbl.dnset"), DBL_DATA)),
        "%s:ip6trie:%s" % (V6, write(os.path.join(d, "v6.ip6trie"), V6_DATA)),
        "%s:ip4set:%s" % (FLIP_PARKED, os.path.join(d, "bl.ip4set")),
        "%s:ip4set:%s" % (FLIP_ALL2, os.path.join(d, "bl.ip4set")),
    ]
    serve = module_dnsblkit.start(specs, zone=BL)
    peers = []
    world_dir = world_readable_dir("dbk-world-")  # rbldnsd reads it as user rbldns
    try:
        world = start_rbldnsd(["%s:ip4set:%s" % (WORLD, write(os.path.join(world_dir, "world"),
                                                               WORLD_DATA))], d, zone=WORLD)
        peers.append(world)
        dnsmasq = start_dnsmasq(d, {PARKED: "192.0.2.80", ALL2: "127.0.0.2",
                                    REFUSER: "127.255.255.254", DEAD: None,
                                    FLIP_PARKED: "192.0.2.80", FLIP_ALL2: "127.0.0.2"})
        peers.append(dnsmasq)
        silent = SilentServer()
        peers.append(silent)
        off = SilentServer()
        peers.append(off)
        stubs = {BL: serve.port, BL2: serve.port, DBL: serve.port, V6: serve.port,
                 PARKED: dnsmasq.port,
                 ALL2: dnsmasq.port, REFUSER: dnsmasq.port, DEAD: dnsmasq.port,
                 SILENT: silent.port, OFF: off.port, WORLD: world.port}
        unbound = start_unbound(d, stubs)
        peers.append(unbound)
        yield Lab(d, serve, dnsmasq, silent, off, unbound)
    finally:
        try:
            for p in reversed(peers):
                p.stop()
        finally:
            shutil.rmtree(world_dir, ignore_errors=True)


@pytest.fixture
def flip(lab, tmp_path):
    """A relay in front of the healthy server, and an Unbound of its own
    (a fresh cache) with the two flip zones behind the relay. Call
    .break_list() to put dnsmasq behind the relay instead."""

    class Flip:
        pass

    f = Flip()
    f.relay = Relay(lab.serve.port)
    f.unbound = None
    try:
        f.unbound = start_unbound(str(tmp_path), {FLIP_PARKED: f.relay.port,
                                                  FLIP_ALL2: f.relay.port})
        f.resolver = "127.0.0.1/%d" % f.unbound.port
        f.break_list = lambda: f.relay.set_backend(lab.dnsmasq.port)
        yield f
    finally:
        if f.unbound:
            f.unbound.stop()
        f.relay.stop()


class LineReader:
    """The lines a running process writes to a pipe or pty, each with the
    monotonic time it was read."""

    def __init__(self, fd):
        self.fd = fd
        self.lines = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # a pty's reader gets EIO when the writer is gone
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.lines.put((time.monotonic(), line.decode("utf-8", "replace").rstrip("\r")))
        self.lines.put((time.monotonic(), None))

    def next(self, timeout):
        """(time, line), or (time, None) at the end; fails after timeout."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no line within %.1f s" % timeout) from None

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait()[1])
            except queue.Empty:
                return [l for l in out if l is not None]


class Running:
    """A long-running dnsblkit (monitor --watch, check -f -): its stdout read
    line by line; stopped with SIGTERM (or at the end of its input), it must
    exit cleanly with no sanitizer report."""

    def __init__(self, args, logdir, stdin=False, tty=False):
        self.master = None
        env = dbk_env()
        self.errpath = os.path.join(logdir, "running-%d.stderr" % random.randrange(1 << 30))
        self.errfile = open(self.errpath, "wb")
        if tty:
            # A terminal makes stdio line-buffered: each result is seen as
            # it is printed, as a person at the terminal sees it.
            master, slave = pty.openpty()
            self.proc = subprocess.Popen([DNSBLKIT] + list(args), stdout=slave,
                                         stderr=self.errfile, env=env,
                                         stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
            os.close(slave)
            self.fd = master
            self.master = master
        else:
            self.proc = subprocess.Popen([DNSBLKIT] + list(args), stdout=subprocess.PIPE,
                                         stderr=self.errfile, env=env,
                                         stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
            self.fd = self.proc.stdout.fileno()
        self.out = LineReader(self.fd)

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def finish(self, sig=signal.SIGTERM, close_stdin=False):
        """Stop it; returns (exit status, stderr)."""
        if close_stdin:
            self.proc.stdin.close()
        elif self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(timeout=15 * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("dnsblkit did not stop:\n" + self.stderr())
        finally:
            self.errfile.close()
        err = self.stderr()
        assert_no_sanitizer_report(err)
        return status, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.errfile.closed:
            self.errfile.close()
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.out.thread.join(timeout=2)
        if self.master is not None:
            os.close(self.master)
            self.master = None


@pytest.fixture
def running(tmp_path):
    started = []

    def start(args, **kw):
        r = Running(args, str(tmp_path), **kw)
        started.append(r)
        return r

    yield start
    for r in started:
        r.kill()


# ---- a healthy list ---------------------------------------------------------


def test_healthy_list_listed_and_not_listed(lab):
    r, res = lab.check([BL], ["192.0.2.5", "10.0.0.1", "198.51.100.7"])
    assert r.returncode == 1, r.stderr
    assert [x["subject"] for x in res] == ["192.0.2.5", "10.0.0.1", "198.51.100.7"]
    listed, clean, other = res
    assert listed["listed"] is True and listed["score"] == 1 and listed["threshold"] == 1
    l = by_zone(listed)[BL]
    assert l["result"] == "listed" and l["health"] == "healthy", l
    assert l["codes"] == ["127.0.0.3"] and l["score"] == 1
    assert l["txt"] == "Blocked 192.0.2.5"
    assert clean["listed"] is False and clean["score"] == 0
    assert by_zone(clean)[BL]["result"] == "not_listed" and by_zone(clean)[BL]["codes"] == []
    assert other["listed"] is True and by_zone(other)[BL]["codes"] == ["127.0.0.2"]

    # Unlisted alone: exit 0.
    r, res = lab.check([BL], ["10.0.0.2"])
    assert r.returncode == 0 and res[0]["listed"] is False, r.stderr
    # --quiet: nothing printed, the exit status tells.
    r = run(["check", "--quiet", "--resolver", lab.resolver, "--list", BL, "192.0.2.9"])
    assert r.returncode == 1 and r.stdout == "", r.stderr
    r = run(["check", "--quiet", "--resolver", lab.resolver, "--list", BL, "10.0.0.3"])
    assert r.returncode == 0 and r.stdout == "", r.stderr

    # Text output.
    r = run(["check", "--resolver", lab.resolver, "--list", BL, "192.0.2.5"])
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0] == "192.0.2.5: LISTED, score 1 (threshold 1)", r.stdout
    assert re.match(r'^  bl\.example +healthy +listed 127\.0\.0\.3, \+1 "Blocked 192\.0\.2\.5"$',
                    lines[1]), r.stdout


def test_filters_and_weights(lab):
    # postscreen syntax: a code filter with a weight, and a second list.
    r, res = lab.check(["%s=127.0.0.3*2" % BL, "%s*3" % BL2],
                       ["192.0.2.5", "203.0.113.9", "198.51.100.7", "203.0.113.200"],
                       extra=["--threshold", "3"])
    assert r.returncode == 1, r.stderr
    scores = {x["subject"]: (x["score"], x["listed"]) for x in res}
    assert scores == {"192.0.2.5": (2, False), "203.0.113.9": (3, True),
                      "198.51.100.7": (0, False), "203.0.113.200": (0, False)}
    # 127.0.0.2 is refused by the filter: not listed, the code still shown.
    l = by_zone(res[2])[BL]
    assert l["result"] == "not_listed" and l["codes"] == ["127.0.0.2"], l


def test_monitor_healthy(lab):
    r = lab.monitor([BL, BL2])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert re.match(r"^DNSBL OK - 2 lists healthy \| healthy=2 failing=0 sick=0 disabled=0 "
                    r"rtt_max=\d+ms$", lines[0]), lines[0]
    want = ("127.0.0.2 listed (127.0.0.2); 127.0.0.1 not listed; random address not listed; "
            "random name NXDOMAIN; SOA present")
    assert re.match(r"^bl\.example: healthy - %s \(rtt \d+ ms\)$" % re.escape(want),
                    lines[1]), lines
    assert lines[2].startswith("bl2.example: healthy - ")
    r = lab.monitor([BL], extra=["--json"])
    assert r.returncode == 0
    o = json.loads(r.stdout)
    assert o["status"] == "OK" and o["healthy"] == 1 and o["sick"] == 0 and o["failing"] == 0
    assert o["lists"][0]["zone"] == BL and o["lists"][0]["state"] == "healthy"
    assert o["lists"][0]["kind"] == "ip" and o["lists"][0]["why"] is None


# ---- broken lists: never a listing, and the monitor names them ------------------

# broken zone -> (its results in a check, what its `why` says, monitor exit
# status, monitor state, what the monitor's line for it says, the reason
# in monitor --json: the worst finding of the round, the first of equals
# to arrive)
BROKEN = {
    PARKED: ({"ignored"}, "answered 192.0.2.80, outside 127/8", 2, "sick",
             "127.0.0.1 answered 192.0.2.80, outside 127/8: not a DNS list",
             "answered 192.0.2.80, outside 127/8: not a DNS list"),
    ALL2: ({"ignored"}, "listing not counted: ", 2, "sick",
           "127.0.0.1 listed (127.0.0.2): answers everything", "answers everything"),
    REFUSER: ({"ignored"}, "answered 127.255.255.254, an error code", 2, "sick",
              "127.0.0.2 answered 127.255.255.254, an error code",
              "answered 127.255.255.254, an error code"),
    # A dead zone, NXDOMAIN at its apex too: its domain is gone, sick in
    # one round (its "not listed" answers are harmless to the mail, but
    # whatever answers there next cannot be trusted).
    DEAD: ({"not_listed", "ignored"}, None, 2, "sick", "the apex does not exist (NXDOMAIN): "
           "the zone is gone", "the zone is gone"),
    # Unbound gives up on a silent server after a while: a timeout first,
    # SERVFAIL once it has marked the server down.
    SILENT: ({"error"}, ("timed out", "SERVFAIL"), 1, "failing", ("timed out", "SERVFAIL"),
             ("timed out", "SERVFAIL")),
}


def says(text, what):
    return any(w in text for w in what) if isinstance(what, tuple) else what in text


@pytest.mark.parametrize("broken", list(BROKEN))
def test_broken_list_counts_nothing(lab, broken):
    results, why, mon_status, mon_state, mon_why, json_why = BROKEN[broken]
    subjects = ["192.0.2.5", "10.0.0.1", "198.51.100.7", "2001:db8::5"]
    t0 = time.monotonic()
    r, res = lab.check([BL, broken], subjects)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert [x["subject"] for x in res] == subjects
    for x in res:
        b = by_zone(x)[broken]
        assert b["result"] in results, x
        assert b["score"] == 0, x
        if why:
            assert says(b["why"], why), x
        # The subject's verdict is the healthy list's alone.
        assert x["score"] == (1 if by_zone(x)[BL]["result"] == "listed" else 0), x
    assert [x["listed"] for x in res] == [True, False, True, False]
    # A list that never answers costs its timeouts (500 ms, then 1 s), no more.
    assert took < 10 * SLOW, took

    r = lab.monitor([BL, broken])
    assert r.returncode == mon_status, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    head = "DNSBL %s - 1 of 2 lists %s: %s |" % (
        "CRITICAL" if mon_status == 2 else "WARNING", mon_state, broken)
    assert lines[0].startswith(head), lines[0]
    assert "healthy=1 failing=%d sick=%d disabled=0" % (
        mon_state == "failing", mon_state == "sick") in lines[0], lines[0]
    detail = [l for l in lines if l.startswith(broken + ": ")]
    assert len(detail) == 1 and detail[0].startswith("%s: %s - " % (broken, mon_state)), lines
    assert says(detail[0], mon_why), detail
    assert [l for l in lines if l.startswith(BL + ": ")][0].startswith(BL + ": healthy - ")

    r = lab.monitor([broken], extra=["--json"])
    assert r.returncode == mon_status
    o = json.loads(r.stdout)
    assert o["status"] == ("CRITICAL" if mon_status == 2 else "WARNING")
    assert o["lists"][0]["state"] == mon_state and says(o["lists"][0]["why"], json_why), o


def test_broken_list_text_output(lab):
    r = run(["check", "--resolver", lab.resolver, "--list", BL, "--list", PARKED, "10.0.0.9"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "10.0.0.9: not listed, score 0 (threshold 1)"
    assert re.match(r"^  parked\.example +\w+ +ignored: answered 192\.0\.2\.80, outside 127/8",
                    lines[2]), r.stdout


def test_lists_answering_everything_list_nobody(lab, tmp_path):
    """Wrongly counted listings before detection: the target is zero."""
    rng = random.Random(6)
    n = scale(50)
    subjects = ["192.0.2.%d" % i for i in range(1, 11)]  # listed on the healthy list
    subjects += ["2001:db8::%x" % i for i in range(1, 6)]
    while len(subjects) < n:
        subjects.append("%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256),
                                         rng.randrange(256), rng.randrange(1, 255)))
    path = write(tmp_path / "subjects", "\n".join(subjects) + "\n")
    r, res = lab.check([PARKED, ALL2, REFUSER], [], extra=["-f", path])
    assert r.returncode == 0, r.stderr
    assert [x["subject"] for x in res] == subjects
    assert not [x for x in res if x["listed"] or x["score"]]
    for x in res:
        for l in x["lists"]:
            assert l["result"] == "ignored" and l["score"] == 0, x


def test_list_of_the_whole_internet(lab, tmp_path):
    """127.0.0.2 listed, 127.0.0.1 not, random names NXDOMAIN, an SOA: every
    classic probe passes. A random 127.x.y.z address is listed: sick."""
    r = lab.monitor([WORLD])
    assert r.returncode == 2, r.stdout
    line = [l for l in r.stdout.splitlines() if l.startswith(WORLD + ": ")][0]
    assert re.match(r"^world\.example: sick - 127\.0\.0\.2 listed \(127\.0\.0\.2\); "
                    r"127\.0\.0\.1 not listed; random address 127\.\d+\.\d+\.\d+ "
                    r"listed \(127\.0\.0\.2\): answers everything; random name NXDOMAIN; "
                    r"SOA present", line), line

    rng = random.Random(1)
    subjects = ["192.0.2.%d" % i for i in range(1, 6)]
    while len(subjects) < scale(50):
        subjects.append("10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256),
                                         rng.randrange(1, 255)))
    path = write(tmp_path / "subjects", "\n".join(subjects) + "\n")
    r, res = lab.check([BL, WORLD], [], extra=["-f", path])
    assert r.returncode == 1, r.stderr
    assert [x["subject"] for x in res] == subjects
    # Listed: the healthy list's subjects, and no other.
    assert [x["listed"] for x in res] == [s.startswith("192.0.2.") for s in subjects]
    for x in res:
        w = by_zone(x)[WORLD]
        assert w["result"] == "ignored" and w["score"] == 0, x


# ---- a list that breaks while in use ------------------------------------------


def test_time_to_detect_a_list_turning_into_a_wildcard(lab, flip, running):
    mon = running(["monitor", "--watch", "--interval", "1s", "--json", "--resolver",
                   flip.resolver, "--timeout", "500ms", "--list", FLIP_PARKED])
    _, line = mon.out.next(timeout=10 * SLOW)
    first = json.loads(line)
    assert (first["zone"], first["from"], first["to"]) == (FLIP_PARKED, "unknown", "healthy"), first
    assert first["why"] == "every probe passed"
    # Rounds go on; a healthy list stays quiet.
    time.sleep(2.2)
    assert mon.out.drain() == []

    flip.break_list()
    switched = time.monotonic()
    when, line = mon.out.next(timeout=10 * SLOW)
    change = json.loads(line)
    detect = when - switched
    assert (change["zone"], change["from"], change["to"]) == (FLIP_PARKED, "healthy",
                                                              "sick"), change
    assert "192.0.2.80" in change["why"] and "outside 127/8" in change["why"], change
    # One probe interval, plus a round's answers.
    assert detect < 5, detect

    # The first check after the switch, from a mail host that has not probed
    # since: the listing does not count.
    r = run(["check", "--json", "--resolver", flip.resolver, "--list", FLIP_PARKED, "192.0.2.77"])
    assert r.returncode == 0, r.stderr
    x = json.loads(r.stdout)
    assert x["listed"] is False and by_zone(x)[FLIP_PARKED]["result"] == "ignored", x

    # The list comes back: two good rounds in a row make it healthy again.
    flip.relay.set_backend(lab.serve.port)
    back = time.monotonic()
    when, line = mon.out.next(timeout=10 * SLOW)
    change = json.loads(line)
    assert (change["from"], change["to"], change["why"]) == ("sick", "healthy",
                                                             "every probe passed"), change
    # The first good round comes within an interval, and the second right
    # after it (a round against the list's state is followed at once).
    assert when - back < 2.5 * SLOW, when - back

    status, err = mon.finish()
    assert status == 0, err
    assert "list flipw.example is SICK (was healthy)" in err, err


def test_watch_a_list_that_stops_answering(lab, flip, running):
    """Timeouts are a soft failure: one bad round is not enough (a lost
    packet must not flap a list), two in a row make it sick."""
    silent = SilentServer()
    try:
        mon = running(["monitor", "--watch", "--interval", "1s", "--json", "--resolver",
                       flip.resolver, "--timeout", "300ms", "--list", FLIP_PARKED])
        _, line = mon.out.next(timeout=10 * SLOW)
        assert json.loads(line)["to"] == "healthy", line
        flip.relay.set_backend(silent.port)
        switched = time.monotonic()
        when, line = mon.out.next(timeout=20 * SLOW)
        change = json.loads(line)
        # The first change seen is to sick: no intermediate state was printed.
        assert (change["from"], change["to"]) == ("healthy", "sick"), change
        assert "timed out" in change["why"] or "SERVFAIL" in change["why"], change
        # Two bad rounds, which start at least an interval apart (the first
        # may have started a moment before the switch).
        assert 0.95 < when - switched < 8 * SLOW, when - switched
        assert any(q and q.endswith("flipw.example.") for q in silent.seen())
        status, err = mon.finish(sig=signal.SIGINT)
        assert status == 0, err
    finally:
        silent.stop()


def test_listing_from_a_list_not_probed_lately_is_confirmed(lab, flip, running, tmp_path):
    """The freshness rule, in one long-running check: a list healthy when last
    probed, now answering 127.0.0.2 for everything; once its last good round
    is older than `freshness`, its next listing waits for a round run right
    then, which finds it sick: the listing does not count."""
    cfg = write(tmp_path / "dnsblkit.conf",
                "[check]\nlists = %s\nresolver = %s\ntimeout = 500ms\nfreshness = 1s\n"
                % (FLIP_ALL2, flip.resolver))
    chk = running(["check", "--json", "--concurrency", "1", "--config", cfg, "-f", "-"],
                  stdin=True, tty=True)

    def ask(subject):
        chk.send(subject)
        _, line = chk.out.next(timeout=10 * SLOW)
        x = json.loads(line)
        assert x["subject"] == subject, x
        return x, by_zone(x)[FLIP_ALL2]

    # Healthy: the first listing waits for the first round, which passes.
    x, l = ask("192.0.2.5")
    assert x["listed"] is True and l["result"] == "listed" and l["health"] == "healthy", x
    assert l["codes"] == ["127.0.0.3"] and l["cached"] is False
    # Within freshness, the cached answer counts at once.
    x, l = ask("192.0.2.5")
    assert x["listed"] is True and l["cached"] is True, x

    flip.break_list()
    time.sleep(1.3)  # the last good round is older than freshness now
    # A fresh subject: the new servers answer 127.0.0.2, a listing by the
    # look of it; the confirmation round finds 127.0.0.1 and a random name
    # listed.
    x, l = ask("192.0.2.6")
    assert x["listed"] is False and x["score"] == 0, x
    assert l["result"] == "ignored" and l["codes"] == ["127.0.0.2"], x
    assert l["why"].startswith("listing not counted: the list is sick"), x
    # The cached listing from the healthy days counts no more either.
    x, l = ask("192.0.2.5")
    assert x["listed"] is False and l["result"] == "ignored", x
    assert "the list is sick" in l["why"], x

    status, err = chk.finish(close_stdin=True)
    assert status == 1, err  # subjects were listed before the list broke
    assert "list flipa.example is SICK (was healthy)" in err, err


def test_on_change_command(lab, flip, running, tmp_path):
    news = str(tmp_path / "news")
    cfg = write(tmp_path / "dnsblkit.conf",
                "[check]\nlists = %s\nresolver = %s\ntimeout = 500ms\n"
                'on-change = echo "$DNSBLKIT_LIST $DNSBLKIT_OLD_STATE $DNSBLKIT_STATE '
                '$DNSBLKIT_WHY" >> %s\n' % (FLIP_PARKED, flip.resolver, news))
    mon = running(["monitor", "--watch", "--interval", "1s", "--config", cfg])
    _, line = mon.out.next(timeout=10 * SLOW)
    assert line.endswith(" flipw.example unknown -> healthy: every probe passed"), line
    flip.break_list()
    _, line = mon.out.next(timeout=10 * SLOW)
    assert " flipw.example healthy -> sick: " in line, line
    # The command runs beside the watch: give it a moment, and two more
    # rounds, which change nothing and so run nothing.
    time.sleep(2.5)
    status, err = mon.finish(sig=signal.SIGINT)
    assert status == 0, err
    with open(news) as f:
        got = f.read().splitlines()
    # A list found healthy at startup is no news; its fall is.
    assert len(got) == 1, got
    assert got[0].startswith("flipw.example healthy sick "), got
    assert "192.0.2.80" in got[0], got


def test_watch_stops_at_once_while_an_on_change_command_runs(lab, flip, running, tmp_path):
    """The command is not waited for (dnsblkit.conf(5)): a command that hangs
    (sendmail with the mail server down) must not keep the watcher from
    stopping."""
    pidfile = str(tmp_path / "hook.pid")
    cfg = write(tmp_path / "dnsblkit.conf",
                "[check]\nlists = %s\nresolver = %s\ntimeout = 500ms\n"
                "on-change = echo $$ > %s && exec sleep 60\n" % (FLIP_PARKED, flip.resolver,
                                                                   pidfile))
    mon = running(["monitor", "--watch", "--interval", "1s", "--config", cfg])
    hook = None
    try:
        mon.out.next(timeout=10 * SLOW)  # unknown -> healthy
        flip.break_list()
        _, line = mon.out.next(timeout=10 * SLOW)
        assert " healthy -> sick: " in line, line
        deadline = time.monotonic() + 5
        while hook is None and time.monotonic() < deadline:
            try:
                with open(pidfile) as f:
                    hook = int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.05)
        assert hook, "the on-change command did not run"
        mon.proc.send_signal(signal.SIGTERM)
        try:
            mon.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail("monitor --watch still running 5 s after SIGTERM, waiting for its "
                        "on-change command")
        assert mon.proc.returncode == 0
    finally:
        if hook:
            try:
                os.kill(hook, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---- the kill switch ----------------------------------------------------------


def test_kill_switch(lab, tmp_path):
    text = ("[check]\nlists = %s, %s\nresolver = %s\ntimeout = 500ms\n\n[list %s]\n"
            "enabled = %%s\n" % (BL, OFF, lab.resolver, OFF))
    cfg = write(tmp_path / "off.conf", text % "no")
    before = len(lab.off.seen())
    r = run(["check", "--json", "--config", cfg, "192.0.2.5", "10.0.0.1"])
    assert r.returncode == 1, r.stderr
    res = json_lines(r.stdout)
    for x in res:
        off = by_zone(x)[OFF]
        assert off["result"] == "ignored" and off["health"] == "disabled", x
        assert off["why"] == "not asked: the list is disabled", x
        assert off["score"] == 0
    assert [x["listed"] for x in res] == [True, False]

    r = run(["monitor", "--config", cfg])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("DNSBL OK - 1 list healthy | healthy=1 failing=0 sick=0 "
                               "disabled=1 "), lines
    assert "off.example: disabled - not probed (rtt 0 ms)" in lines, lines
    r = run(["monitor", "--config", cfg, "--json"])
    o = json.loads(r.stdout)
    assert o["disabled"] == 1 and by_zone(o)[OFF]["state"] == "disabled", o
    time.sleep(0.3)
    assert len(lab.off.seen()) == before, lab.off.seen()[before:]

    # The switch holds when the command line names the lists, and for a
    # section written with a trailing dot and in capitals.
    cfg2 = write(tmp_path / "off2.conf", "[check]\nlists = %s\n\n[list OFF.Example.]\n"
                 "enabled = no\n" % BL2)
    r = run(["check", "--json", "--config", cfg2, "--resolver", lab.resolver, "--list", BL,
             "--list", OFF, "192.0.2.5"])
    assert r.returncode == 1, r.stderr
    x = json_lines(r.stdout)[0]
    assert by_zone(x)[OFF]["health"] == "disabled" and BL2 not in by_zone(x), x
    time.sleep(0.3)
    assert len(lab.off.seen()) == before, lab.off.seen()[before:]

    # The same list switched on is asked: the silent server would have seen it.
    cfg = write(tmp_path / "on.conf", text % "yes")
    r = run(["check", "--json", "--config", cfg, "10.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert by_zone(json_lines(r.stdout)[0])[OFF]["result"] == "error"
    assert any(q and q.endswith("off.example.") for q in lab.off.seen()[before:])


# ---- domain lists (RHSBL) -----------------------------------------------------


def test_domain_list(lab):
    subjects = ["spam.example.com", "a.evil.example", "clean.example.org", "192.0.2.5",
                "Spam.Example.COM."]
    r, res = lab.check([BL], subjects, domain_lists=[DBL])
    assert r.returncode == 1, r.stderr
    assert [x["subject"] for x in res] == subjects
    spam, evil, clean, ip, spam2 = res
    d = by_zone(spam)[DBL]
    assert spam["listed"] and d["result"] == "listed" and d["codes"] == ["127.0.0.2"], spam
    assert d["txt"] == "Spam domain" and d["health"] == "healthy"
    assert by_zone(spam)[BL]["result"] == "skipped"
    assert evil["listed"] and by_zone(evil)[DBL]["result"] == "listed"
    assert not clean["listed"] and by_zone(clean)[DBL]["result"] == "not_listed"
    assert ip["listed"] and by_zone(ip)[DBL]["result"] == "skipped"
    assert spam2["listed"], spam2  # case and the trailing dot do not matter

    r = lab.monitor([], domain_lists=[DBL])
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^dbl\.example: healthy - TEST listed \(127\.0\.0\.2\); INVALID not "
                     r"listed; random name NXDOMAIN; SOA present", r.stdout, re.M), r.stdout
    r = lab.monitor([], domain_lists=[DBL], extra=["--json"])
    assert json.loads(r.stdout)["lists"][0]["kind"] == "domain"

    # A parked domain list: TEST and INVALID both "listed" outside 127/8.
    r, res = lab.check([], ["spam.example.com", "clean.example.org"], domain_lists=[DBL, PARKED])
    assert r.returncode == 1
    assert [x["listed"] for x in res] == [True, False], res
    assert all(by_zone(x)[PARKED]["result"] == "ignored" for x in res)
    r = lab.monitor([], domain_lists=[DBL, PARKED])
    assert r.returncode == 2, r.stdout
    assert "1 of 2 lists sick: parked.example" in r.stdout
    assert "TEST answered 192.0.2.80, outside 127/8" in r.stdout


# ---- IPv6 lists ----------------------------------------------------------------


def test_ipv6_only_list_served_by_dnsblkit(lab, tmp_path):
    cfg = write(tmp_path / "v6.conf", "[check]\nlists = %s\nresolver = %s\n\n[list %s]\n"
                "kind = ip6\n" % (V6, lab.resolver, V6))
    r = run(["monitor", "--config", cfg])
    assert "::ffff:127.0.0.2 listed (127.0.0.2)" in r.stdout, r.stdout
    assert r.returncode == 0, r.stdout
    r = run(["check", "--json", "--config", cfg, "2001:db8:1::5"])
    x = json_lines(r.stdout)[0]
    assert x["listed"] is True, x


def test_ipv6_subjects(lab):
    r, res = lab.check([BL], ["::ffff:192.0.2.9", "2001:db8:1::5"])
    assert r.returncode == 1, r.stderr
    # An IPv4-mapped address is its IPv4 address.
    assert res[0]["subject"] == "::ffff:192.0.2.9" and res[0]["listed"] is True, res[0]
    assert by_zone(res[1])[BL]["result"] == "not_listed", res[1]
    # A list the probes find without its IPv6 test entry counts nothing.
    cfg_text = "[check]\nlists = %s\n\n[list %s]\nkind = ip6\n" % (BL, BL)
    r = lab.monitor([], extra=["--config", write(os.path.join(lab.logdir, "bl6.conf"),
                                                 cfg_text)])
    assert r.returncode == 1, r.stdout
    assert "::ffff:127.0.0.2 not listed (NXDOMAIN): the test entry is missing" in r.stdout


# ---- the mail host's resolver --------------------------------------------------


def test_second_resolver_when_the_first_is_silent(lab):
    # The first resolver never answers; c-ares moves on to the second.
    resolvers = "127.0.0.1/%d,%s" % (lab.silent.port, lab.resolver)
    t0 = time.monotonic()
    r = run(["check", "--json", "--timeout", "300ms", "--resolver", resolvers, "--list", BL,
             "192.0.2.5", "10.0.0.1"])
    assert r.returncode == 1, r.stderr
    res = json_lines(r.stdout)
    assert [x["listed"] for x in res] == [True, False], res
    assert time.monotonic() - t0 < 10 * SLOW
    r = run(["monitor", "--timeout", "300ms", "--resolver", resolvers, "--list", BL])
    assert r.returncode == 0, r.stdout


# ---- bad usage and bad configuration ------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["--list", "bl.example=127.0.0.[11..2]", "1.2.3.4"],
     "bad list 'bl.example=127.0.0.[11..2]': "),
    (["--list", "bl.example*0", "1.2.3.4"], "bad list 'bl.example*0'"),
    (["--domain-list", "bad zone", "example.com"], "bad list 'bad zone'"),
    (["--list", "bl.example"], "give subjects or -f FILE"),
    (["--list", "bl.example", "-f", "/nonexistent/subjects", ], "/nonexistent/subjects"),
    (["--list", "bl.example", "-f", "/dev/null", "1.2.3.4"], "give subjects or -f FILE"),
    (["--list", "bl.example", "--timeout", "5ms", "1.2.3.4"], "bad --timeout '5ms'"),
    (["--list", "bl.example", "--concurrency", "0", "1.2.3.4"], "bad --concurrency '0'"),
    (["--list", "bl.example", "--threshold", "x", "1.2.3.4"], "bad --threshold 'x'"),
    (["--list", "bl.example", "--resolver", "not-an-address/53", "1.2.3.4"], "not-an-address"),
    (["--no-such-option", "1.2.3.4"], "Usage: dnsblkit check"),
    (["1.2.3.4"], "no lists: give --list SPEC"),
    (["--list", "bl.example", "--domain-list", "bl.example", "1.2.3.4"],
     "list bl.example is both a domain list and an address list"),
])
def test_check_bad_usage(args, message):
    r = run(["check"] + args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    assert r.stdout == ""


def test_check_bad_subject_among_good_ones(lab):
    r = run(["check", "--json", "--resolver", lab.resolver, "--list", BL, "192.0.2.5",
             "not..a.subject", "10.0.0.1"])
    assert r.returncode == 2, r.stderr
    assert "'not..a.subject' is not an IPv4 or IPv6 address or a domain" in r.stderr
    # The good ones still get their results, in order.
    assert [x["subject"] for x in json_lines(r.stdout)] == ["192.0.2.5", "10.0.0.1"]


@pytest.mark.parametrize("args,message", [
    (["--list", "bl.example=300.0.0.1"], "bad list 'bl.example=300.0.0.1'"),
    (["--list", "bl.example", "bl2.example"], "unexpected argument 'bl2.example'"),
    (["--list", "bl.example", "--interval", "10ms"], "bad --interval '10ms'"),
    (["--list", "bl.example", "--timeout", "2m"], "bad --timeout '2m'"),
    (["--list", "bl.example", "--resolver", "127.0.0.1/99999"], "127.0.0.1/99999"),
    (["--no-such-option"], "Usage: dnsblkit monitor"),
    ([], "no lists"),
])
def test_monitor_bad_usage(args, message):
    r = run(["monitor"] + args)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr, r.stderr


@pytest.mark.parametrize("text,message", [
    ("[check]\nlists = bl.example\ntimeout = 5ms\n", ":3: bad timeout '5ms'"),
    ("[check]\nlists = bl.example\n\nfrobnicate = 1\n", ":4: unknown key 'frobnicate' in [check]"),
    ("[check]\nlists = bl.example, bl2.example=127.0.0.[9..3]\n",
     ":2: bad list 'bl2.example=127.0.0.[9..3]'"),
    ("[check]\nlists = bl.example\n[list bl.example]\nenabled = maybe\n",
     ":4: bad enabled 'maybe' (yes or no)"),
    ("[check]\nlists = bl.example\n[list bl.example]\nkind = ipv5\n", ":4: bad kind 'ipv5'"),
    ("[check]\nlists = bl.example\n\n[list nope.example]\nenabled = no\n",
     ":5: [list nope.example] names no list"),
    ("[check]\nlists = bl.example\nthis is no ini line\n", ":3: syntax error"),
    ("[check]\nlists = bl.example\nresolver = 127.0.0.1/53, nowhere\n",
     ":3: bad resolver '127.0.0.1/53, nowhere'"),
    ("[check]\nlists = bl.example\nfreshness = 10ms\n", ":3: bad freshness '10ms'"),
    ("[check]\nlists = bl.example\nsick-after = 0\n", ":3: bad sick-after '0'"),
])
def test_config_errors(tmp_path, text, message):
    cfg = write(tmp_path / "bad.conf", text)
    r = run(["check", "--config", cfg, "1.2.3.4"])
    assert r.returncode == 2, r.stderr
    assert cfg + message in r.stderr, r.stderr
    r = run(["monitor", "--config", cfg])
    assert r.returncode == 3, r.stderr
    assert cfg + message in r.stderr, r.stderr
    # Nagios shows standard output.
    assert r.stdout.startswith("DNSBL UNKNOWN - "), r.stdout


def test_config_file_missing(tmp_path):
    missing = str(tmp_path / "missing.conf")
    r = run(["check", "--config", missing, "1.2.3.4"])
    assert r.returncode == 2 and missing in r.stderr, r.stderr
    r = run(["monitor", "--config", missing])
    assert r.returncode == 3 and missing in r.stderr, r.stderr
    # $DNSBLKIT_CONFIG naming a missing file is an error too.
    r = run(["check", "--list", BL, "1.2.3.4"], env={"DNSBLKIT_CONFIG": missing})
    assert r.returncode == 2 and missing in r.stderr, r.stderr


# ---- many subjects ------------------------------------------------------------


def test_many_subjects_in_input_order(lab, tmp_path):
    rng = random.Random(2000)
    n = scale(2000)
    subjects, expect = [], []
    lines = ["# subjects of a day's mail", ""]
    for i in range(n):
        k = rng.randrange(5)
        if k == 0:
            s, listed = "192.0.2.%d" % rng.randrange(256), True  # bl
        elif k == 1:
            o = rng.randrange(256)
            s, listed = "203.0.113.%d" % o, o < 128  # bl2
        elif k == 2:
            s, listed = "2001:db8::%x" % rng.randrange(1 << 16), False
        elif k == 3 and subjects:
            j = rng.randrange(len(subjects))  # the same client again
            s, listed = subjects[j], expect[j]
        else:
            s, listed = "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256),
                                         rng.randrange(1, 255)), False
        subjects.append(s)
        expect.append(listed)
        lines.append("  %s  # %d" % (s, i) if i % 97 == 0 else s)
    path = write(tmp_path / "subjects", "\n".join(lines) + "\n")
    t0 = time.monotonic()
    r, res = lab.check([BL, BL2, PARKED], [], extra=["-f", path], timeout=120)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr[-2000:]
    assert len(res) == n
    assert [x["subject"] for x in res] == subjects
    assert [x["listed"] for x in res] == expect
    for x in res:
        assert by_zone(x)[PARKED]["result"] == "ignored", x
    assert took < 60 * SLOW, took
