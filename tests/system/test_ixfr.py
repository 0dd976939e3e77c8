# Incremental zone transfers and what makes them prompt and safe: Knot
# (knotd) and NSD as secondaries learn of a change by NOTIFY and take it
# by IXFR from dnsblkit's history of changes (a listing added or deleted
# with `dnsblkit list`, a data file edited and SIGHUP), within 5 s while
# their own SOA refresh is an hour; dnspython applies an IXFR to an old
# copy and gets the new zone record for record, and gets the whole zone
# when the history does not reach back; serials only go up (two changes
# within a second, a $SOA serial going down, a timestamp going back,
# restarts with a state-dir); TSIG (RFC 8945) on transfers, NOTIFY and
# SOA queries, with BADSIG/BADKEY/BADTIME and REFUSED for the rest; the
# NOTIFY messages themselves, their retries and their signature, seen on
# a plain UDP socket.
import base64
import ipaddress
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from unittest import mock

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.serial
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

from conftest import (
    SANITIZE,
    Server,
    a_values,
    batch_query,
    free_port,
    query,
    run_dnsblkit,
    scale,
    tcp_recv_msg,
    txt_values,
    write,
)
from test_axfr import (LIVE, LIVE4, LIVE6, Data, assert_answers_as_ours, nib, pick4, pick6,
                       rev4, soa_serial)

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
KDIG = shutil.which("kdig") or "/usr/bin/kdig"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
SEED = 20261128
QUERIES = scale(10000, minimum=2000)
PROMPT = 5.0  # seconds from the change to the answer on a secondary

# The secondaries would ask for news only after an hour: a change that
# reaches them within seconds came by NOTIFY.
SOA_LINE = "$SOA 3600 ns1.example.net. hostmaster.example.net. %d 3600 600 86400 60\n"
NS_LINE = "$NS 3600 ns1.example.net.\n"

KEY_NAME = "xfr-key"
KEY_SECRET = base64.b64encode(bytes(range(7, 39))).decode()  # 32 bytes
WRONG_SECRET = base64.b64encode(bytes(range(8, 40))).decode()
KEYRING = dns.tsigkeyring.from_text({KEY_NAME: KEY_SECRET})

# The log line of an IXFR answered from the history (not in full).
IXFR_LINE = r"IXFR of %s serial (\d+) -> (\d+) to (127\.0\.0\.1/\d+)"


def rev(a):
    return rev4(a)


def dbk(args, ok=True):
    r = run_dnsblkit(args)
    if ok:
        assert r.returncode == 0, "dnsblkit %s: %d\n%s%s" % (" ".join(args), r.returncode,
                                                             r.stdout, r.stderr)
    return r


def newer(a, b):
    """a > b in serial number arithmetic (RFC 1982)."""
    return dns.serial.Serial(a) > dns.serial.Serial(b)


# ------------------------------------------------------------- peers ----

def knot_conf(d, port, primary, zones, key=False):
    """Knot as a secondary: NOTIFY allowed from 127.0.0.1 (with the key
    when key), the primary's SOA refresh (an hour) kept, at least an hour
    between refreshes of its own."""
    text = "server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n" % (port, d)
    if key:
        text += ("key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n"
                 % (KEY_NAME, KEY_SECRET))
    text += "database:\n    storage: %s\n" % d
    text += "remote:\n  - id: primary\n    address: 127.0.0.1@%d\n" % primary
    if key:
        text += "    key: %s\n" % KEY_NAME
    text += "acl:\n  - id: from_primary\n    address: 127.0.0.1\n    action: notify\n"
    if key:
        text += "    key: %s\n" % KEY_NAME
    text += ("template:\n  - id: default\n    storage: %s\n    zonefile-sync: -1\n"
             "    zonefile-load: none\n    journal-content: changes\n    master: primary\n"
             "    acl: from_primary\n    refresh-min-interval: 3600\n"
             "    retry-min-interval: 600\n"
             "zone:\n" % d)
    text += "".join("  - domain: %s\n" % z for z in zones)
    text += "log:\n  - target: stderr\n    any: info\n"
    return write(os.path.join(d, "knot.conf"), text)


def nsd_conf(d, port, primary, zones, key=False):
    text = ("server:\n    ip-address: 127.0.0.1@%d\n    username: \"\"\n    chroot: \"\"\n"
            "    zonesdir: \"%s\"\n    database: \"\"\n    pidfile: \"%s/nsd.pid\"\n"
            "    xfrdfile: \"%s/xfrd.state\"\n    zonelistfile: \"%s/zone.list\"\n"
            "    xfrdir: \"%s\"\n    logfile: \"%s/nsd.log\"\n    verbosity: 2\n"
            "    server-count: 1\n    rrl-ratelimit: 0\n"
            "remote-control:\n    control-enable: no\n" % (port, d, d, d, d, d, d))
    k = KEY_NAME if key else "NOKEY"
    if key:
        text += ("key:\n    name: \"%s\"\n    algorithm: hmac-sha256\n    secret: \"%s\"\n"
                 % (KEY_NAME, KEY_SECRET))
    for z in zones:
        text += ("zone:\n    name: %s\n    zonefile: \"%s.zone\"\n"
                 "    request-xfr: 127.0.0.1@%d %s\n    allow-notify: 127.0.0.1 %s\n"
                 "    min-refresh-time: 3600\n    min-retry-time: 600\n"
                 % (z, z, primary, k, k))
    return write(os.path.join(d, "nsd.conf"), text)


def start_peer(kind, d, primary, zones, key=False):
    sub = os.path.join(d, kind)
    os.mkdir(sub)
    port = free_port()
    if kind.startswith("knot"):
        return Server([KNOTD, "-c", knot_conf(sub, port, primary, zones, key)], port, zones[0],
                      d, name=kind)
    srv = Server([NSD, "-d", "-c", nsd_conf(sub, port, primary, zones, key)], port, zones[0], d,
                 name=kind)
    srv.logfile = os.path.join(sub, "nsd.log")
    return srv


def peer_log(sec):
    text = sec.stderr()
    if getattr(sec, "logfile", None) and os.path.exists(sec.logfile):
        with open(sec.logfile, errors="replace") as f:
            text += f.read()
    return text


def stop_peer(sec):
    if sec.proc.poll() is None:
        sec.proc.send_signal(signal.SIGTERM)
        try:
            sec.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            sec.proc.kill()
            sec.proc.wait()
    sec.errfile.close()


def wait_serials(sec, primary_port, zones, timeout=30):
    """Until sec serves every zone at the primary's serial."""
    deadline = time.monotonic() + timeout
    want = {z: soa_serial(primary_port, z) for z in zones}
    missing = list(zones)
    while missing and time.monotonic() < deadline:
        if sec.proc.poll() is not None:
            pytest.fail("%s exited:\n%s" % (sec.name, peer_log(sec)[-4000:]))
        missing = [z for z in missing if soa_serial(sec.port, z) != want[z]]
        if missing:
            time.sleep(0.1)
    assert not missing, "%s does not serve %s at serial %s after %d s:\n%s" % (
        sec.name, missing, [want[z] for z in missing], timeout, peer_log(sec)[-4000:])


def answers(port, name):
    """(rcode, A values, TXT values) of name, UDP."""
    ra = query(port, name, "A", timeout=0.5)
    rt = query(port, name, "TXT", timeout=0.5)
    return (dns.rcode.to_text(ra.rcode()), frozenset(a_values(ra)), frozenset(txt_values(rt)))


def wait_answers(secs, name, want, t0, timeout=PROMPT + 5):
    """Polls every secondary until name answers want; returns the seconds
    from t0 each took (None for one that did not within timeout)."""
    took = {}
    deadline = t0 + timeout
    pending = list(secs)
    while pending and time.monotonic() < deadline:
        for sec in list(pending):
            try:
                got = answers(sec.port, name)
            except (dns.exception.Timeout, OSError):
                continue
            if got == want:
                took[sec.name] = time.monotonic() - t0
                pending.remove(sec)
        if pending:
            time.sleep(0.02)
    for sec in pending:
        took[sec.name] = None
    return took


def wait_serial_change(port, zone, old, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = soa_serial(port, zone)
        if s is not None and s != old:
            return s
        time.sleep(0.02)
    raise AssertionError("the serial of %s stayed %s for %.0f s" % (zone, old, timeout))


def ixfr_lines(log, zone, new_serial):
    """Peers that got an IXFR of zone from the history up to new_serial."""
    return [m for m in re.findall(IXFR_LINE % re.escape(zone), log) if int(m[1]) == new_serial]


# ------------------------------------------------ 1. NOTIFY and IXFR ----

class Env:
    pass


def live_soa(d, name):
    return write(os.path.join(d, name + ".soa"), SOA_LINE % 0 + NS_LINE)


@pytest.fixture(scope="module")
def notified(module_dnsblkit, tmp_path_factory):
    """dnsblkit serving a live zone and a file zone, with `notify =` a Knot
    and an NSD secondary; a second Knot, not notified, shows what the
    refresh timers alone would do."""
    for tool in (KNOTD, NSD, KDIG):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s is not installed (scripts/deps.sh installs it)" % tool)
    d = str(tmp_path_factory.mktemp("ixfr"))
    data = Data(random.Random(SEED))
    data.ip4set()
    e = Env()
    e.dir, e.data, e.serial = d, data, 10
    e.file_body = data.files["set"]
    e.file = write(os.path.join(d, "file.txt"), SOA_LINE % e.serial + e.file_body)
    port = free_port()
    kport, nport = free_port(), free_port()
    e.cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
notify = 127.0.0.1@%d 127.0.0.1@%d
[listing]
database = %s/live.db
txt = Blocked - $ is listed
[zone live.example]
dataset = listing
data = generic:%s
[zone file.example]
data = ip4set:%s
""" % (port, kport, nport, d, live_soa(d, "live"), e.file))
    for item in LIVE:
        dbk([item[0], "add", "live.example"] + list(item[1:]) + ["--config", e.cfg])
    e.srv = module_dnsblkit.start([], args=["--config", e.cfg], port=port, bind=False,
                                  zone="live.example")
    e.port = port
    e.zones = ["live.example", "file.example"]
    e.secs = []
    try:
        kd = os.path.join(d, "knot")
        os.mkdir(kd)
        knot = Server([KNOTD, "-c", knot_conf(kd, kport, port, e.zones)], kport, "live.example",
                      d, name="knotd")
        e.secs.append(knot)
        nd = os.path.join(d, "nsd")
        os.mkdir(nd)
        nsd = Server([NSD, "-d", "-c", nsd_conf(nd, nport, port, e.zones)], nport,
                     "live.example", d, name="nsd")
        nsd.logfile = os.path.join(nd, "nsd.log")
        e.secs.append(nsd)
        e.quiet = start_peer("knotd-quiet", d, port, e.zones)
        for sec in e.secs + [e.quiet]:
            wait_serials(sec, port, e.zones)
        yield e
    finally:
        for sec in e.secs + [e.quiet] if hasattr(e, "quiet") else e.secs:
            stop_peer(sec)


def check_prompt(e, zone, change, name, want, label):
    """Runs change(); every notified secondary must answer name as want
    within PROMPT seconds, by an IXFR from the history; the quiet one
    keeps the old serial. Returns the times."""
    old = soa_serial(e.port, zone)
    quiet_old = soa_serial(e.quiet.port, zone)
    t0 = time.monotonic()
    change()
    took = wait_answers(e.secs, name, want, t0)
    new = soa_serial(e.port, zone)
    assert answers(e.port, name) == want, "dnsblkit itself does not answer %s as %s" % (name,
                                                                                      want)
    slow = {n: t for n, t in took.items() if t is None or t > PROMPT}
    assert not slow, "%s: %s answered only after %s s (None: not within %.0f s)\n%s" % (
        label, list(slow), slow, PROMPT + 5,
        "\n".join(peer_log(s)[-1500:] for s in e.secs))
    assert newer(new, old), (old, new)
    for sec in e.secs:
        assert soa_serial(sec.port, zone) == new, sec.name
    # By IXFR from the history, once for each secondary.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(ixfr_lines(e.srv.stderr(), zone, new)) < 2:
        time.sleep(0.05)
    log = e.srv.stderr()
    lines = ixfr_lines(log, zone, new)
    assert len(lines) >= 2 and len({peer for _, _, peer in lines}) >= 2, (
        "%s: no IXFR from the history to each secondary (serial %d):\n%s" % (
            label, new, "\n".join(l for l in log.splitlines()[-30:])))
    assert all(int(a) == old for a, _, _ in lines), lines
    assert not re.search(r"(IXFR \(answered in full\)|AXFR) of %s serial %d" % (re.escape(zone),
                                                                              new), log), \
        log[-3000:]
    # Nothing but NOTIFY explains the speed: the secondary left out of
    # `notify` still serves the old serial.
    assert soa_serial(e.quiet.port, zone) == quiet_old != new
    return took


def test_listing_reaches_secondaries_by_notify(notified):
    e = notified
    name = rev("45.83.0.77") + ".live.example"
    assert answers(e.port, name)[0] == "NXDOMAIN"
    want = ("NOERROR", frozenset({"127.0.0.2"}), frozenset({"Blocked - 45.83.0.77 is listed"}))
    took_add = check_prompt(e, "live.example",
                            lambda: dbk(["list", "add", "live.example", "45.83.0.77", "--config",
                                         e.cfg]), name, want, "list add")
    took_del = check_prompt(e, "live.example",
                            lambda: dbk(["list", "del", "live.example", "45.83.0.77", "--config",
                                         e.cfg]), name, ("NXDOMAIN", frozenset(), frozenset()),
                            "list del")
    print("list add -> answer: %s; list del -> NXDOMAIN: %s" % (
        {k: round(v, 3) for k, v in took_add.items()},
        {k: round(v, 3) for k, v in took_del.items()}))
    # The secondaries heard it from dnsblkit.
    klog = peer_log(e.secs[0])
    assert re.search(r"\[live\.example\.\] notify, incoming, remote 127\.0\.0\.1", klog), \
        klog[-3000:]
    assert re.search(r"\[live\.example\.\] IXFR, incoming, remote 127\.0\.0\.1@%d, finished"
                     % e.port, klog), klog[-3000:]
    assert not re.search(r"\[live\.example\.\] (AXFR|IXFR), incoming.*fallback", klog)
    assert re.search(r"notify for live\.example\. from 127\.0\.0\.1", peer_log(e.secs[1]))


def test_file_edit_reaches_secondaries_by_notify(notified):
    e = notified
    name = rev("192.0.2.77") + ".file.example"
    assert answers(e.port, name)[0] == "NXDOMAIN"

    def edit(extra):
        def run():
            e.serial += 1
            write(e.file, SOA_LINE % e.serial + e.file_body + extra)
            e.srv.send(signal.SIGHUP)
        return run

    want = ("NOERROR", frozenset({"127.0.0.2"}),
            frozenset({"Listed 192.0.2.77 see https://lookup.example/?192.0.2.77"}))
    took_add = check_prompt(e, "file.example", edit("192.0.2.77\n"), name, want, "file edit")
    took_del = check_prompt(e, "file.example", edit(""), name,
                            ("NXDOMAIN", frozenset(), frozenset()), "file edit back")
    print("file edit + SIGHUP -> answer: %s; edit back -> NXDOMAIN: %s" % (
        {k: round(v, 3) for k, v in took_add.items()},
        {k: round(v, 3) for k, v in took_del.items()}))


# More changes for the comparison below: a /24, an allowlisted address
# inside it, a host gone, an IPv6 /48.
MORE = [("list", "add", "80.81.82.0/24", "--code", "3"), ("allow", "add", "80.81.82.99"),
        ("list", "del", "1.2.3.9"), ("list", "add", "2a03:b0c0:7::/48", "--code", "4")]
MORE4 = [(0x50515200, 0x505152FF), (0x50515263, 0x50515263)]
MORE6 = [(int(ipaddress.IPv6Address("2a03:b0c0:7::")),
          int(ipaddress.IPv6Address("2a03:b0c0:7:ffff:ffff:ffff:ffff:ffff")))]


def compare_questions(e, n, rng):
    zones4 = [("file.example", e.data.ranges4["set.example"]), ("live.example", LIVE4 + MORE4)]
    out = []
    while len(out) < n:
        k = rng.random()
        rdtype = rng.choice(["A", "TXT"])
        if k < 0.8:
            zone, ranges = rng.choice(zones4)
            a = ipaddress.IPv4Address(pick4(rng, ranges))
            labels = rev4(str(a)).split(".")
            if rng.random() < 0.1:
                labels = labels[rng.randint(1, 3):]
            out.append((".".join(labels + [zone]), rdtype))
        elif k < 0.95:
            a = ipaddress.IPv6Address(pick6(rng, LIVE6 + MORE6))
            out.append(("%s.live.example" % nib(str(a)), "A"))
        else:
            host = rng.choice(["2.0.0.127", "1.0.0.127", "77.2.0.192", "77.0.83.45"])
            out.append(("%s.%s" % (host, rng.choice(e.zones)), rdtype))
    return out


def test_secondaries_answer_as_primary_after_increments(notified):
    """After the increments above (run first) and four more, the notified
    secondaries answer every query as dnsblkit does; the one left out,
    told to refresh now, takes all the versions it missed in one IXFR
    and answers the same."""
    e = notified
    for st in MORE:
        old = soa_serial(e.port, "live.example")
        dbk(list(st[:2]) + ["live.example"] + list(st[2:]) + ["--config", e.cfg])
        wait_serial_change(e.port, "live.example", old)
    for sec in e.secs:
        wait_serials(sec, e.port, e.zones, timeout=PROMPT)
    quiet_old = soa_serial(e.quiet.port, "live.example")
    new = soa_serial(e.port, "live.example")
    r = subprocess.run([KNOTC, "-c", os.path.join(e.dir, "knotd-quiet", "knot.conf"),
                        "zone-refresh"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_serials(e.quiet, e.port, e.zones, timeout=PROMPT)
    m = re.search(r"IXFR of live\.example serial %d -> %d to 127\.0\.0\.1/\d+: (\d+) versions"
                  % (quiet_old, new), e.srv.stderr())
    assert m and int(m.group(1)) >= 6, e.srv.stderr()[-3000:]
    qs = compare_questions(e, QUERIES, random.Random(SEED + 1))
    ours = batch_query(e.port, qs)
    assert all(r is not None for r in ours), "dnsblkit left queries unanswered"
    listed = sum(1 for r in ours if r.answer)
    assert listed > len(qs) // 5, listed
    for sec in e.secs + [e.quiet]:
        assert_answers_as_ours(sec, qs, ours)


# ------------------------------------------- 2. IXFR with dnspython ----

def axfr_set(port, zone, **kw):
    """(SOA serial, {(owner, ttl, type, rdata)} without the SOA)."""
    recs, serial = set(), None
    for m in dns.query.xfr("127.0.0.1", zone, port=port, relativize=False, lifetime=20, **kw):
        for rrset in m.answer:
            for rd in rrset:
                if rrset.rdtype == dns.rdatatype.SOA:
                    serial = rd.serial
                    continue
                recs.add((rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype),
                          rd.to_text()))
    return serial, recs


def ixfr_rrs(port, zone, serial, **kw):
    """Every RR of an IXFR answer, in order: (owner, ttl, type, rdata, rd)."""
    out = []
    for m in dns.query.xfr("127.0.0.1", zone, rdtype=dns.rdatatype.IXFR, serial=serial,
                           port=port, relativize=False, lifetime=20, **kw):
        for rrset in m.answer:
            for rd in rrset:
                out.append((rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype),
                            rd.to_text(), rd))
    return out


def apply_ixfr(base, base_serial, rrs):
    """Classifies an IXFR answer and applies it to base (a set as from
    axfr_set): returns (kind, serial, records, sequences). An incremental
    answer must chain serials from base_serial to its first SOA, delete
    only records that are there and add only records that are not."""
    assert rrs and rrs[0][2] == "SOA", rrs[:3]
    new = rrs[0][4].serial
    if len(rrs) == 1:
        return "soa", new, set(base), 0
    assert rrs[-1][2] == "SOA" and rrs[-1][4].serial == new, rrs[-3:]
    if rrs[1][2] != "SOA":  # AXFR-style: the whole zone
        recs = {r[:4] for r in rrs[1:-1]}
        assert not any(r[2] == "SOA" for r in rrs[1:-1])
        return "full", new, recs, 0
    recs = set(base)
    at, i, seqs = base_serial, 1, 0
    while i < len(rrs) - 1:
        assert rrs[i][2] == "SOA" and rrs[i][4].serial == at, (i, rrs[i][:4], at)
        i += 1
        while rrs[i][2] != "SOA":
            assert rrs[i][:4] in recs, "IXFR deletes %s, not in the zone at %d" % (rrs[i][:4], at)
            recs.discard(rrs[i][:4])
            i += 1
        to = rrs[i][4].serial
        assert newer(to, at), (at, to)
        i += 1
        while rrs[i][2] != "SOA":
            assert rrs[i][:4] not in recs, "IXFR adds %s, already there" % (rrs[i][:4],)
            recs.add(rrs[i][:4])
            i += 1
        at, seqs = to, seqs + 1
        if i == len(rrs) - 1:
            break
    assert at == new, (at, new)
    return "incremental", new, recs, seqs


class NotifySink:
    """A UDP socket that answers every NOTIFY and remembers (zone,
    serial). dnsblkit sends a zone's NOTIFY once the difference to the
    new version is in its IXFR history: until then an IXFR of the new
    serial is answered in full, so the tests wait for the NOTIFY."""

    def __init__(self):
        self.sock = udp_listener()
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            ready, _, _ = select.select([self.sock], [], [], 0.1)
            if not ready:
                continue
            try:
                wire, peer = self.sock.recvfrom(65535)
                m = dns.message.from_wire(wire)
            except (OSError, dns.exception.DNSException):
                continue
            if m.opcode() != dns.opcode.NOTIFY or not m.question:
                continue
            serial = m.answer[0][0].serial if m.answer else None
            with self.lock:
                self.seen.append((m.question[0].name.to_text(omit_final_dot=True), serial))
            r = dns.message.make_response(m)
            r.flags |= dns.flags.AA
            self.sock.sendto(r.to_wire(), peer)

    def wait(self, zone, serial, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if (zone, serial) in self.seen:
                    return
            time.sleep(0.01)
        raise AssertionError("no NOTIFY of %s serial %d within %.0f s (saw %s)"
                             % (zone, serial, timeout, self.seen[-5:]))

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def history(dnsblkit, tmp_path):
    """Live zones with the default history, ixfr-history = 2 and 0."""
    d = str(tmp_path)
    port = free_port()
    sink = NotifySink()
    cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
notify = 127.0.0.1@%d
[listing]
database = %s/live.db
txt = Blocked - $ is listed
[zone live.example]
dataset = listing
data = generic:%s
[zone short.example]
dataset = listing
ixfr-history = 2
[zone none.example]
dataset = listing
ixfr-history = 0
[zone churn.example]
dataset = listing
""" % (port, sink.port, d, live_soa(d, "live")))
    for z in ("live.example", "short.example", "none.example"):
        dbk(["list", "add", z, "46.4.100.0/24", "--code", "3", "--config", cfg])
        dbk(["list", "add", z, "1.2.3.4", "--config", cfg])
    # Enough records that the changes of the IXFR tests stay smaller
    # than the zone: a bigger difference is answered with the whole zone.
    dbk(["list", "add", "live.example", "46.4.104.0/22", "--config", cfg])
    dbk(["list", "add", "churn.example", "1.2.3.4", "--config", cfg])
    try:
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False,
                             zone="live.example")
        srv.sink = sink
        yield srv, cfg
    finally:
        sink.close()


def change(srv, cfg, zone, *args):
    """One change by `dnsblkit list|allow`; returns the new serial once
    dnsblkit has notified it (its difference is in the history)."""
    old = soa_serial(srv.port, zone)
    dbk(list(args[:2]) + [zone] + list(args[2:]) + ["--config", cfg])
    new = wait_serial_change(srv.port, zone, old)
    srv.sink.wait(zone, new)
    return new


def test_ixfr_applied_to_an_old_copy_is_the_new_zone(history):
    srv, cfg = history
    zone = "live.example"
    s1, base = axfr_set(srv.port, zone)
    assert s1 == soa_serial(srv.port, zone) and len(base) > 10
    steps = [("list", "add", "80.77.113.5"),
             ("list", "add", "80.77.113.6", "--code", "4"),
             ("list", "del", "1.2.3.4"),
             ("list", "add", "46.4.100.128/25", "--code", "5"),  # a range changed
             ("allow", "add", "46.4.100.7"),
             ("list", "del", "46.4.100.0/24"),
             ("list", "add", "2a01:4f9:77::1")]
    serials = [s1]
    for st in steps:
        serials.append(change(srv, cfg, zone, *st))
    assert all(newer(b, a) for a, b in zip(serials, serials[1:])), serials
    sn, fresh = axfr_set(srv.port, zone)
    assert sn == serials[-1]
    assert fresh != base
    # Spot checks that the changes are in the fresh AXFR at all.
    owners = {r[0] for r in fresh}
    assert "5.113.77.80.live.example." in owners and "4.3.2.1.live.example." not in owners
    rrs = ixfr_rrs(srv.port, zone, s1)
    kind, new, applied, seqs = apply_ixfr(base, s1, rrs)
    assert kind == "incremental", "IXFR from %d (in the history) came as %s" % (s1, kind)
    assert new == sn and seqs >= 1
    assert applied == fresh, (sorted(applied - fresh)[:10], sorted(fresh - applied)[:10])
    # The last change alone (one IPv6 /64 listed) is a handful of
    # records, not the zone.
    last = ixfr_rrs(srv.port, zone, serials[-2])
    assert [r[2] for r in last].count("SOA") == 4 and len(last) < 12, [r[:4] for r in last]
    # From every serial on the way, too.
    for mid in serials[1:-1]:
        rr = ixfr_rrs(srv.port, zone, mid)
        assert rr[1][2] == "SOA" and rr[1][4].serial == mid, "IXFR from %d not incremental" % mid
    # dnspython's own IXFR client, applying to a zone object, agrees.
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=srv.port, relativize=True,
                                        lifetime=20))
    znew = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=srv.port, relativize=True,
                                           lifetime=20))
    assert z == znew
    zold = dns.zone.Zone(z.origin)
    # Rebuild the S1 copy as a zone, then let dnspython apply the IXFR.
    with zold.writer() as txn:
        for owner, ttl, rdtype, text in base:
            txn.add(dns.name.from_text(owner).relativize(z.origin), ttl,
                    dns.rdata.from_text("IN", rdtype, text))
        soa = [r for r in rrs if r[2] == "SOA" and r[4].serial == s1][0]
        txn.add(dns.name.empty, soa[1], soa[4])
    q, _ = dns.xfr.make_query(zold)
    assert q.authority[0][0].serial == s1
    dns.query.inbound_xfr("127.0.0.1", zold, q, port=srv.port, lifetime=20)
    assert zold == znew
    log = srv.stderr()
    assert re.search(IXFR_LINE % r"live\.example", log), log[-2000:]


def test_ixfr_bigger_than_the_zone_is_the_whole_zone(history):
    """Differences that hold more records than the zone (a /24 whose TXT
    names the address listed, then delisted, twice, in a zone of one
    address) are answered with the whole zone, the cheaper answer; one
    small change after them is answered incrementally again."""
    srv, cfg = history
    zone = "churn.example"
    s1, base = axfr_set(srv.port, zone)
    serials = [s1]
    for verb in ("add", "del", "add", "del"):
        serials.append(change(srv, cfg, zone, "list", verb, "46.4.120.0/24"))
    sn, fresh = axfr_set(srv.port, zone)
    assert sn == serials[-1] and fresh == base
    kind, new, recs, _ = apply_ixfr(base, s1, ixfr_rrs(srv.port, zone, s1))
    assert kind == "full", "IXFR across 2048 changed records of a 4-record zone came as %s" % kind
    assert new == sn and recs == fresh
    # One address more: 2 records new in a zone of 6, incremental; from
    # S1 still the whole zone.
    small = change(srv, cfg, zone, "list", "add", "80.77.113.77")
    _, now = axfr_set(srv.port, zone)
    kind, new, recs, _ = apply_ixfr(fresh, sn, ixfr_rrs(srv.port, zone, sn))
    assert kind == "incremental" and new == small and recs == now
    kind, _, _, _ = apply_ixfr(base, s1, ixfr_rrs(srv.port, zone, s1))
    assert kind == "full"


def test_ixfr_asked_before_the_notify_waits_for_the_difference(dnsblkit, tmp_path):
    """A secondary that polls the SOA may ask IXFR the moment a new serial
    is served, while the difference to it is still being made (for a
    zone of 400,000 records, a few tenths of a second; several times that
    in a sanitizer build, which gets under a third of the zone so that
    the wait stays inside the 4 s limit on a loaded CI machine). The IXFR
    waits for it and comes incremental, not as the whole zone. A round
    counts only if the log shows the difference made after the IXFR was
    asked; the new address is the last in the zone, so that making it
    takes the longest."""
    d = str(tmp_path)
    data = os.path.join(d, "big.txt")
    entries = 60000 if SANITIZE else 200000
    with open(data, "w") as f:
        f.write(":127.0.0.2:Listed, see $\n")
        for i in range(entries):
            a = 0x14000000 + 2 * i
            f.write("%d.%d.%d.%d\n" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
    port = free_port()
    cfg = write(os.path.join(d, "dnsblkit.conf"),
                "[server]\nlisten = 127.0.0.1/%d\nallow-transfer = 127.0.0.1\n"
                "[zone big.example]\ndata = ip4set:%s\n" % (port, data))
    srv = dnsblkit.start([], args=["--config", cfg, "--log-level", "debug"], port=port,
                         bind=False, zone="big.example")
    s1 = soa_serial(port, "big.example")
    waited = []
    for last in range(1, 4):
        with open(data, "a") as f:
            f.write("46.4.1.%d\n" % last)
        srv.send(signal.SIGHUP)
        s2 = wait_serial_change(port, "big.example", s1, timeout=20)
        made = r"IXFR history %d -> %d: 0 records gone, 2 new" % (s1, s2)
        before = srv.stderr()
        t0 = time.monotonic()
        rrs = ixfr_rrs(port, "big.example", s1)
        took = time.monotonic() - t0
        kind, new, _, seqs = apply_ixfr(set(), s1, rrs)
        assert kind == "incremental" and new == s2 and seqs == 1, (kind, new, s2, len(rrs))
        assert len(rrs) == 6, rrs  # SOA, SOA s1, SOA s2, A and TXT of the address, SOA
        line = r"IXFR of big\.example serial %d -> %d to " % (s1, s2)
        deadline = time.monotonic() + 3  # logged after the last byte
        while time.monotonic() < deadline and not (re.search(line, srv.stderr())
                                                   and re.search(made, srv.stderr())):
            time.sleep(0.05)
        log = srv.stderr()
        assert re.search(line, log) and re.search(made, log), log[-2000:]
        assert "answered in full" not in log, log[-2000:]
        if not re.search(made, before):
            waited.append(took)
            break
        s1 = s2  # the difference was ready before the IXFR: try again
    assert waited, "the difference was made before every IXFR was asked: nothing waited"
    print("IXFR asked before its difference was made: answered in %.0f ms" % (waited[0] * 1000))


def live_zone_conf(d, port, zone, server_extra="", listing_extra=""):
    """dnsblkit.conf of one live zone open to transfers from loopback."""
    return write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
%s[listing]
database = %s/live.db
txt = Blocked - $ is listed
%s[zone %s]
dataset = listing
data = generic:%s
""" % (port, server_extra, d, listing_extra, zone, live_soa(d, zone.split(".")[0])))


def test_expired_listing_leaves_secondaries_by_ixfr(dnsblkit, tmp_path):
    """A listing given --for ends by itself: the expiry sweep ends it and
    a new version is published. A secondary that took the zone while the
    listing was live applies the IXFR to that version and holds what an
    AXFR of it gives, without the listing. Each version is walked as it
    was built, however late the difference is made: walked by the clock,
    the old version had lost the listing by then, and the difference
    deleted nothing."""
    d = str(tmp_path)
    port = free_port()
    cfg = live_zone_conf(d, port, "exp.example", listing_extra="sweep-interval = 1s\n")
    zone = "exp.example"
    dbk(["list", "add", zone, "46.4.104.0/22", "--config", cfg])
    # Long enough for the start and the first AXFR under a sanitizer.
    dbk(["list", "add", zone, "46.4.1.5", "--for", "8s", "--config", cfg])
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone=zone)
    s1, base = axfr_set(port, zone)
    owner = rev4("46.4.1.5") + "." + zone + "."
    assert any(r[0] == owner for r in base), sorted(base)[:6]
    s2 = wait_serial_change(port, zone, s1, timeout=20)
    kind, new, recs, _ = apply_ixfr(base, s1, ixfr_rrs(port, zone, s1))
    s3, fresh = axfr_set(port, zone)
    assert s3 == s2 and kind == "incremental" and new == s2, (kind, new, s2, s3)
    assert not any(r[0] == owner for r in fresh)
    assert recs == fresh, sorted(recs ^ fresh)[:6]
    assert re.search(r"exp\.example: 1 listings ended", srv.stderr()), srv.stderr()[-2000:]


def test_listing_expired_while_stopped_moves_the_serial(dnsblkit, tmp_path):
    """A listing that expires while serve is stopped: at restart the
    zone must not come back under the serial the secondaries hold with
    the listing (they would keep it, never asking again). The zone loads
    fewer entries, so the serial book sees other data and moves the
    serial; the expired listing is also ended in the database at start,
    not a sweep interval later."""
    d = str(tmp_path)
    port = free_port()
    cfg = live_zone_conf(d, port, "exp.example", "state-dir = %s\n" % d)
    zone = "exp.example"
    owner = rev4("46.4.1.6") + "." + zone + "."
    dbk(["list", "add", zone, "46.4.104.0/22", "--config", cfg])
    dbk(["list", "add", zone, "46.4.1.6", "--for", "8s", "--config", cfg])
    until = time.time() + 9  # past the expiry, whole seconds and all
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone=zone)
    s1, base = axfr_set(port, zone)
    assert any(r[0] == owner for r in base)
    srv.stop()
    time.sleep(max(0.0, until - time.time()))
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone=zone)
    s2, fresh = axfr_set(port, zone)
    assert not any(r[0] == owner for r in fresh)
    assert s2 != s1 and dns.serial.Serial(s2) > s1, (s1, s2)
    assert re.search(r"exp\.example: 1 listings ended", srv.stderr()), srv.stderr()[-2000:]
    # And a restart with nothing expired keeps the serial.
    srv.stop()
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone=zone)
    assert soa_serial(port, zone) == s2


def test_ixfr_history_survives_a_restart(dnsblkit, tmp_path):
    """With a state-dir each zone's IXFR history is kept in a file, and a
    restart on the same data reads it back: a secondary that held a
    serial from before the restart gets an IXFR, not the whole zone, and
    so does one whose IXFR spans the restart. Data changed while the
    server was stopped, or a damaged file, start the history again (the
    whole zone, as without the file), and the log says why."""
    d = str(tmp_path)
    state = os.path.join(d, "state")
    os.mkdir(state)
    port = free_port()
    sink = NotifySink()
    cfg = live_zone_conf(d, port, "keep.example",
                         "state-dir = %s\nnotify = 127.0.0.1@%d\n" % (state, sink.port))
    zone = "keep.example"
    hist = os.path.join(state, "ixfr-" + zone)
    dbk(["list", "add", zone, "46.4.104.0/22", "--config", cfg])

    def start():
        with sink.lock:
            sink.seen.clear()  # the NOTIFYs of this run only
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone=zone)
        srv.sink = sink
        return srv

    def ixfr_from(serial, base):
        kind, new, recs, _ = apply_ixfr(base, serial, ixfr_rrs(port, zone, serial))
        sn, fresh = axfr_set(port, zone)
        assert new == sn and recs == fresh, (kind, sorted(recs ^ fresh)[:6])
        return kind

    try:
        srv = start()
        s0, base0 = axfr_set(port, zone)
        change(srv, cfg, zone, "list", "add", "80.77.113.1")
        s2 = change(srv, cfg, zone, "list", "add", "80.77.113.2")
        srv.stop()
        assert os.path.exists(hist)
        srv = start()
        assert soa_serial(port, zone) == s2
        # Read back by the follower thread as the zone first loads (and
        # before its NOTIFY goes out).
        sink.wait(zone, s2)
        log = srv.stderr()
        assert re.search(r"zone keep\.example: IXFR history of 2 versions read back \(serials "
                         r"%d to %d\)" % (s0, s2), log), log[-2000:]
        assert ixfr_from(s0, base0) == "incremental"
        assert re.search(r"IXFR of keep\.example serial %d -> %d to " % (s0, s2), srv.stderr())
        # A change after the restart: an IXFR from before it spans both.
        s3 = change(srv, cfg, zone, "list", "add", "80.77.113.3")
        assert ixfr_from(s0, base0) == "incremental"
        assert re.search(r"IXFR of keep\.example serial %d -> %d to " % (s0, s3), srv.stderr())
        _, base3 = axfr_set(port, zone)
        srv.stop()

        # Changed while stopped: another serial, the history starts again.
        dbk(["list", "add", zone, "80.77.113.4", "--config", cfg])
        srv = start()
        s4 = soa_serial(port, zone)
        assert newer(s4, s3)
        sink.wait(zone, s4)  # the follower has looked at the file
        assert re.search(r"zone keep\.example: IXFR history in \S+ not used: it ends at serial "
                         r"%d, the zone is at %d" % (s3, s4), srv.stderr()), srv.stderr()[-2000:]
        assert ixfr_from(s3, base3) == "full"
        assert not os.path.exists(hist)  # nothing to keep until the next change
        s5 = change(srv, cfg, zone, "list", "add", "80.77.113.5")
        _, base5 = axfr_set(port, zone)
        deadline = time.monotonic() + 5  # written after the NOTIFY
        while not os.path.exists(hist) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(hist)
        srv.stop()

        # A damaged file (a byte flipped): not used, and said.
        with open(hist, "r+b") as f:
            f.seek(os.path.getsize(hist) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x40]))
        srv = start()
        assert soa_serial(port, zone) == s5
        sink.wait(zone, s5)
        assert re.search(r"IXFR history in \S+ not used: checksum mismatch", srv.stderr()), \
            srv.stderr()[-2000:]
        assert ixfr_from(s4, set()) == "full"
    finally:
        sink.close()


def test_ixfr_beyond_the_history_is_the_whole_zone(history):
    srv, cfg = history
    zone = "short.example"
    s1, base = axfr_set(srv.port, zone)
    serials = [s1]
    for ip in ("80.77.113.1", "80.77.113.2", "80.77.113.3", "80.77.113.4"):
        serials.append(change(srv, cfg, zone, "list", "add", ip))
    sn, fresh = axfr_set(srv.port, zone)
    assert sn == serials[-1]
    # Four changes, two kept: from S1 (and S2) the whole zone.
    for old in serials[:2]:
        kind, new, recs, _ = apply_ixfr(base, old, ixfr_rrs(srv.port, zone, old))
        assert kind == "full", "IXFR from %d, older than the history, came as %s" % (old, kind)
        assert new == sn and recs == fresh, (sorted(recs ^ fresh)[:10])
    # A serial the zone never had: the whole zone as well.
    kind, _, recs, _ = apply_ixfr(base, s1 - 7, ixfr_rrs(srv.port, zone, s1 - 7))
    assert kind == "full" and recs == fresh
    assert re.search(r"IXFR \(answered in full\) of short\.example serial %d" % sn, srv.stderr())
    # The last two changes are in the history.
    for old in serials[2:4]:
        kind, new, _, _ = apply_ixfr(set(), old, ixfr_rrs(srv.port, zone, old))
        assert kind == "incremental", "IXFR from %d (2 changes kept) came as %s" % (old, kind)
        assert new == sn
    # ixfr-history = 0: always the whole zone.
    z0, base0 = axfr_set(srv.port, "none.example")
    z1 = change(srv, cfg, "none.example", "list", "add", "80.77.113.9")
    _, fresh0 = axfr_set(srv.port, "none.example")
    kind, new, recs, _ = apply_ixfr(base0, z0, ixfr_rrs(srv.port, "none.example", z0))
    assert kind == "full" and new == z1 and recs == fresh0


def test_ixfr_from_the_current_serial_is_the_soa_alone(history):
    srv, cfg = history
    zone = "live.example"
    change(srv, cfg, zone, "list", "add", "80.77.113.50")
    sn = soa_serial(srv.port, zone)
    rrs = ixfr_rrs(srv.port, zone, sn)
    assert [(r[2], r[4].serial) for r in rrs] == [("SOA", sn)]
    # Over UDP the SOA alone, even for an old serial (the client asks
    # again over TCP).
    q = dns.message.make_query(zone, "IXFR")
    q.authority.append(dns.rrset.from_text(zone + ".", 0, "IN", "SOA",
                                           ". . %d 0 0 0 0" % (sn - 1)))
    r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR
    assert [(rs.rdtype, rs[0].serial) for rs in r.answer] == [(dns.rdatatype.SOA, sn)]


def test_no_new_serial_no_notify(dnsblkit, tmp_path):
    """A SIGHUP with nothing changed, and a file refused at reload, make
    no new version: no NOTIFY, no history. The next good file is one
    difference from the last version served."""
    d = str(tmp_path)
    path = write(os.path.join(d, "z.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    port = free_port()
    sink = NotifySink()
    try:
        cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
notify = 127.0.0.1@%d
[zone z.example]
data = ip4set:%s
""" % (port, sink.port, path))
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="z.example")
        time.sleep(1.5)
        n0 = len(sink.seen)
        srv.send(signal.SIGHUP)  # nothing changed
        write(path, SOA_LINE % 2 + "10.0.0.1\n10.0.0.300\n")
        srv.send(signal.SIGHUP)  # refused: z.txt:3
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "z.txt:3:" not in srv.stderr():
            time.sleep(0.05)
        assert "z.txt:3:" in srv.stderr(), srv.stderr()[-2000:]
        time.sleep(1.5)
        assert soa_serial(port, "z.example") == 1
        assert sink.seen[n0:] == [], sink.seen[n0:]
        write(path, SOA_LINE % 3 + "10.0.0.1\n10.0.0.3\n")
        srv.send(signal.SIGHUP)
        s = wait_serial_change(port, "z.example", 1)
        sink.wait("z.example", s)
        assert s == 3 and sink.seen[n0:] == [("z.example", 3)], sink.seen[n0:]
        rrs = ixfr_rrs(port, "z.example", 1)
        # One difference, 1 -> 3: nothing gone, 10.0.0.3 new.
        assert [r[4].serial for r in rrs if r[2] == "SOA"] == [3, 1, 3, 3], [r[:4] for r in rrs]
        assert [r[:4] for r in rrs if r[2] != "SOA"] == [
            ("3.0.0.10.z.example.", 2100, "A", "127.0.0.2")], [r[:4] for r in rrs]
        assert rrs[2][2] == "SOA", [r[:4] for r in rrs]
    finally:
        sink.close()


# ------------------------------------------------------- 3. serials ----

def serve_conf(d, port, state_dir=None, extra=""):
    text = "[server]\nlisten = 127.0.0.1/%d\nallow-transfer = 127.0.0.1\n" % port
    if state_dir:
        text += "state-dir = %s\n" % state_dir
    text += ("[listing]\ndatabase = %s/live.db\n"
             "[zone live.example]\ndataset = listing\n"
             "[zone down.example]\ndata = ip4set:%s/down.txt\n"
             "[zone ts.example]\ndata = ip4set:%s/ts.txt\n" % (d, d, d))
    return write(os.path.join(d, "dnsblkit.conf"), text + extra)


def test_two_listing_changes_within_a_second(dnsblkit, tmp_path):
    d = str(tmp_path)
    write(os.path.join(d, "down.txt"), "10.0.0.1\n")
    write(os.path.join(d, "ts.txt"), "10.0.0.1\n")
    port = free_port()
    cfg = serve_conf(d, port)
    dbk(["list", "add", "live.example", "46.4.2.1", "--config", cfg])
    dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="live.example")
    s0 = soa_serial(port, "live.example")
    t0 = time.monotonic()
    dbk(["list", "add", "live.example", "46.4.2.2", "--config", cfg])
    s1 = wait_serial_change(port, "live.example", s0)
    dbk(["list", "add", "live.example", "46.4.2.3", "--config", cfg])
    s2 = wait_serial_change(port, "live.example", s1)
    took = time.monotonic() - t0
    assert newer(s1, s0) and newer(s2, s1), (s0, s1, s2)
    assert a_values(query(port, rev("46.4.2.3") + ".live.example")) == {"127.0.0.2"}
    print("two listing changes in %.2f s: serials %d, %d, %d" % (took, s0, s1, s2))


def test_serial_going_down_still_goes_up(dnsblkit, tmp_path):
    d = str(tmp_path)
    down = write(os.path.join(d, "down.txt"), SOA_LINE % 100 + "10.0.0.1\n")
    ts = write(os.path.join(d, "ts.txt"), "10.0.0.1\n")
    port = free_port()
    cfg = serve_conf(d, port)
    dbk(["list", "add", "live.example", "46.4.2.1", "--config", cfg])
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="down.example")
    assert soa_serial(port, "down.example") == 100
    # $SOA serial 100 -> 50: still a higher serial than 100, and a warning.
    write(down, SOA_LINE % 50 + "10.0.0.1\n10.0.0.2\n")
    srv.send(signal.SIGHUP)
    s = wait_serial_change(port, "down.example", 100)
    assert newer(s, 100), s
    assert a_values(query(port, rev("10.0.0.2") + ".down.example")) == {"127.0.0.2"}
    time.sleep(0.2)
    assert re.search(r"warning: zone down\.example: the \$SOA serial 50 of the new data is not "
                     r"newer than 100, served before; serving serial %d" % s, srv.stderr()), \
        srv.stderr()[-2000:]
    # And once more down: higher again.
    write(down, SOA_LINE % 40 + "10.0.0.1\n")
    srv.send(signal.SIGHUP)
    s2 = wait_serial_change(port, "down.example", s)
    assert newer(s2, s), (s, s2)
    # A file without $SOA whose time goes back a day.
    t_old = soa_serial(port, "ts.example")
    write(ts, "10.0.0.1\n10.0.0.3\n")
    back = time.time() - 86400
    os.utime(ts, (back, back))
    srv.send(signal.SIGHUP)
    t_new = wait_serial_change(port, "ts.example", t_old)
    assert newer(t_new, t_old), (t_old, t_new)
    assert a_values(query(port, rev("10.0.0.3") + ".ts.example")) == {"127.0.0.2"}


def test_serial_arithmetic_wraps(dnsblkit, tmp_path):
    """RFC 1982: after 4294967295 comes 0; a $SOA serial more than 2^31
    ahead is behind, so the zone moves on by one (with a warning)."""
    d = str(tmp_path)
    down = write(os.path.join(d, "down.txt"), SOA_LINE % 4294967295 + "10.0.0.1\n")
    write(os.path.join(d, "ts.txt"), "10.0.0.1\n")
    port = free_port()
    cfg = serve_conf(d, port)
    dbk(["list", "add", "live.example", "46.4.2.1", "--config", cfg])
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="down.example")
    assert soa_serial(port, "down.example") == 4294967295
    write(down, SOA_LINE % 4294967295 + "10.0.0.1\n10.0.0.2\n")
    srv.send(signal.SIGHUP)
    s = wait_serial_change(port, "down.example", 4294967295)
    assert newer(s, 4294967295) and s < 100, s
    far = (s + 2 ** 31 + 5) % 2 ** 32
    write(down, SOA_LINE % far + "10.0.0.1\n")
    srv.send(signal.SIGHUP)
    s2 = wait_serial_change(port, "down.example", s)
    assert newer(s2, s) and s2 != far, (s, far, s2)
    time.sleep(0.2)
    assert re.search(r"warning: zone down\.example: the \$SOA serial %d .*not newer" % far,
                     srv.stderr()), srv.stderr()[-2000:]


def test_serial_saved_within_a_second_without_polling(dnsblkit, tmp_path):
    """With check-interval = 0 and no live zone nothing wakes the server
    on its own; a serial moved by a reload must still reach the book
    within a second, or a crash then a restart with other data under the
    same $SOA serial would hand out that serial again."""
    d = str(tmp_path)
    state = os.path.join(d, "state")
    os.mkdir(state)
    data = write(os.path.join(d, "soa.txt"), SOA_LINE % 100 + "10.0.0.1\n")
    port = free_port()
    cfg = write(os.path.join(d, "dnsblkit.conf"),
                "[server]\nlisten = 127.0.0.1/%d\ncheck-interval = 0\nstate-dir = %s\n"
                "[zone soa.example]\ndata = ip4set:%s\n" % (port, state, data))
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="soa.example")
    assert soa_serial(port, "soa.example") == 100
    # Other data under the same $SOA serial, within the second of the
    # start's save: served as 101, saved by the one-second timer.
    write(data, SOA_LINE % 100 + "10.0.0.1\n10.0.0.2\n")
    srv.send(signal.SIGHUP)
    assert wait_serial_change(port, "soa.example", 100) == 101
    time.sleep(1.6)
    with open(os.path.join(state, "serials")) as f:
        assert re.search(r"^soa\.example 101 100 ", f.read(), re.M)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    srv.stopped = True  # killed on purpose: the teardown expects no clean exit
    srv.errfile.close()
    write(data, SOA_LINE % 100 + "10.0.0.1\n10.0.0.3\n")
    dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="soa.example")
    assert soa_serial(port, "soa.example") == 102


def test_serial_moves_when_ttl_or_listing_txt_change(dnsblkit, tmp_path):
    """Records change without the data files or the listings changing
    when the default TTL (for data without $TTL) or a live zone's TXT
    template changes in the configuration: across a restart that is
    other data, so the serial moves and secondaries fetch the new
    records. The same configuration keeps the serials."""
    d = str(tmp_path)
    port = free_port()
    data = write(os.path.join(d, "f.txt"), SOA_LINE % 5 + "10.0.0.1\n")
    conf = """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
state-dir = %s
ttl = %%d
[listing]
database = %s/live.db
txt = %%s
[zone f.example]
data = ip4set:%s
[zone l.example]
dataset = listing
data = generic:%s
""" % (port, d, d, data, live_soa(d, "l"))
    dbk(["list", "add", "l.example", "46.4.1.9", "--config",
         write(os.path.join(d, "dnsblkit.conf"), conf % (300, "Listed: $"))])

    def serials(ttl, txt):
        cfg = write(os.path.join(d, "dnsblkit.conf"), conf % (ttl, txt))
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="f.example")
        out = soa_serial(port, "f.example"), soa_serial(port, "l.example")
        srv.stop()
        return out

    f1, l1 = serials(300, "Listed: $")
    assert serials(300, "Listed: $") == (f1, l1)
    f2, l2 = serials(600, "Listed: $")
    assert newer(f2, f1) and newer(l2, l1), (f1, f2, l1, l2)
    f3, l3 = serials(600, "Blocked: $")
    assert f3 == f2 and newer(l3, l2), (f2, f3, l2, l3)


def test_serials_across_restarts_with_a_state_dir(dnsblkit, tmp_path):
    d = str(tmp_path)
    state = os.path.join(d, "state")
    os.mkdir(state)
    down = write(os.path.join(d, "down.txt"), SOA_LINE % 100 + "10.0.0.1\n")
    ts = write(os.path.join(d, "ts.txt"), "10.0.0.1\n")
    write(os.path.join(d, "same.txt"), SOA_LINE % 7 + "10.0.0.1\n")
    port = free_port()
    cfg = serve_conf(d, port, state_dir=state,
                     extra="[zone same.example]\ndata = ip4set:%s/same.txt\n" % d)
    dbk(["list", "add", "live.example", "46.4.2.1", "--config", cfg])
    zones = ("live.example", "down.example", "ts.example", "same.example")
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="down.example")
    # Down to 50 while running: served above 100.
    write(down, SOA_LINE % 50 + "10.0.0.1\n")
    srv.send(signal.SIGHUP)
    bumped = wait_serial_change(port, "down.example", 100)
    assert newer(bumped, 100)
    before = {z: soa_serial(port, z) for z in zones}
    srv.assert_clean_exit()
    assert os.path.exists(os.path.join(state, "serials")), os.listdir(state)
    with open(os.path.join(state, "serials")) as f:
        saved = f.read()
    assert "down.example" in saved and str(bumped) in saved, saved
    problems = []
    # The same data, a restart a second later: the same serials (down
    # not back to 50, the file's).
    time.sleep(1.1)
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="down.example")
    same = {z: soa_serial(port, z) for z in zones}
    for z in zones:
        if same[z] != before[z]:
            problems.append("restart with the same data: %s serial %s, before %s"
                            % (z, same[z], before[z]))
    srv.assert_clean_exit()
    # Changed data while stopped (a listing; a line in down.txt under the
    # same $SOA serial 50; a line in ts.txt): higher serials, the
    # untouched zone keeps its own.
    time.sleep(1.1)
    dbk(["list", "add", "live.example", "46.4.2.9", "--config", cfg])
    write(down, SOA_LINE % 50 + "10.0.0.1\n10.0.0.5\n")
    write(ts, "10.0.0.1\n10.0.0.5\n")
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="down.example")
    after = {z: soa_serial(port, z) for z in zones}
    for z in ("live.example", "down.example", "ts.example"):
        if not newer(after[z], same[z]):
            problems.append("restart with changed data: %s serial %s, before %s"
                            % (z, after[z], same[z]))
    if after["same.example"] != 7:
        problems.append("same.example (untouched, $SOA 7) serves %s" % after["same.example"])
    assert a_values(query(port, rev("10.0.0.5") + ".down.example")) == {"127.0.0.2"}
    assert a_values(query(port, rev("46.4.2.9") + ".live.example")) == {"127.0.0.2"}
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------- 4. TSIG ----

@pytest.mark.parametrize("line, want", [
    ("[server]\ntsig-key = hmac-md4:k:%s\n" % KEY_SECRET, r"unknown TSIG algorithm"),
    ("[server]\ntsig-key = k:not*base64\n", r"tsig-key"),
    ("[server]\ntsig-key = %s\n" % KEY_SECRET, r"tsig-key"),
    ("[server]\ntsig-key = k:%s\ntsig-key = K.:%s\n" % (KEY_SECRET, KEY_SECRET), r"twice"),
    ("[zone z.example]\ntransfer-key = nokey\n",
     r"dnsblkit\.conf:6: transfer-key nokey is not a tsig-key"),
    ("[zone z.example]\nnotify = 127.0.0.1@99999\n", r"notify"),
    ("[zone z.example]\nnotify = bl.example\n", r"notify"),
    ("[zone z.example]\nixfr-history = -1\n", r"ixfr-history"),
    ("[zone z.example]\nixfr-history = lots\n", r"ixfr-history"),
])
def test_bad_transfer_settings_refused(tmp_path, line, want):
    """A bad key, transfer-key, notify or ixfr-history stops serve at
    start with the file and what is wrong."""
    d = str(tmp_path)
    data = write(os.path.join(d, "z.txt"), "10.0.0.1\n")
    text = "[server]\nlisten = 127.0.0.1/%d\n[zone z.example]\ndata = ip4set:%s\n" % (
        free_port(), data)
    cfg = write(os.path.join(d, "dnsblkit.conf"), text + line)
    r = run_dnsblkit(["serve", "--config", cfg], timeout=10)
    assert r.returncode != 0, r.stderr
    # Where: the line of the file, or the zone for a key it names.
    assert re.search(r"dnsblkit\.conf:\d+: |zone z\.example: ", r.stderr), r.stderr
    assert re.search(want, r.stderr), r.stderr

def tsig_of(wire):
    """(rcode, ancount, TSIG fields or None) of a raw DNS message."""
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    rcode = struct.unpack("!H", wire[2:4])[0] & 0xF
    pos = 12

    def skip_name(p):
        while True:
            n = wire[p]
            if n >= 0xC0:
                return p + 2
            if n == 0:
                return p + 1
            p += n + 1

    def read_name(p):
        labels = []
        while True:
            n = wire[p]
            if n >= 0xC0:
                return labels  # the algorithm name is never compressed
            if n == 0:
                return labels
            labels.append(wire[p + 1:p + 1 + n].decode("ascii").lower())
            p += n + 1

    for _ in range(qd):
        pos = skip_name(pos) + 4
    tsig = None
    for i in range(an + ns + ar):
        owner_at = pos
        pos = skip_name(pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        pos += 10
        if rtype == dns.rdatatype.TSIG and i == an + ns + ar - 1:
            rd = wire[pos:pos + rdlen]
            alg = read_name(pos)
            p = skip_name(pos) - pos
            tsig_time = int.from_bytes(rd[p:p + 6], "big")
            fudge, macsize = struct.unpack("!HH", rd[p + 6:p + 10])
            p += 10 + macsize
            orig, error, olen = struct.unpack("!HHH", rd[p:p + 6])
            tsig = {"owner": ".".join(read_name(owner_at)), "algorithm": ".".join(alg),
                    "time": tsig_time, "macsize": macsize, "error": error}
        pos += rdlen
    return rcode, an, tsig


def tcp_exchange(port, wire, source=None, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(len(wire).to_bytes(2, "big") + wire)
        return tcp_recv_msg(s)
    finally:
        s.close()


def signed_query(zone, rdtype, secret=KEY_SECRET, keyname=KEY_NAME, serial=None):
    q = dns.message.make_query(zone, rdtype)
    if serial is not None:
        q.authority.append(dns.rrset.from_text(zone + ".", 0, "IN", "SOA",
                                               ". . %d 0 0 0 0" % serial))
    if secret is not None:
        q.use_tsig(dns.tsigkeyring.from_text({keyname: secret}), keyname=keyname)
    return q


@pytest.fixture(scope="module")
def signed(module_dnsblkit, tmp_path_factory):
    for tool in (KNOTD, NSD, KDIG):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s is not installed (scripts/deps.sh installs it)" % tool)
    d = str(tmp_path_factory.mktemp("tsig"))
    port, kport, nport = free_port(), free_port(), free_port()
    e = Env()
    e.dir, e.port = d, port
    e.cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
tsig-key = hmac-sha256:%s:%s
tsig-key = hmac-sha512:other-key:%s
tsig-key = hmac-sha1:k-sha1:%s
tsig-key = hmac-sha224:k-sha224:%s
tsig-key = hmac-sha384:k-sha384:%s
tsig-key = k-default:%s
[listing]
database = %s/live.db
txt = Blocked - $ is listed
[zone sig.example]
dataset = listing
data = generic:%s
transfer-key = %s
notify = 127.0.0.1@%d 127.0.0.1@%d
[zone open.example]
dataset = listing
""" % (port, KEY_NAME, KEY_SECRET, WRONG_SECRET, KEY_SECRET, KEY_SECRET, KEY_SECRET, KEY_SECRET,
       d, live_soa(d, "sig"), KEY_NAME, kport, nport))
    for z in ("sig.example", "open.example"):
        for item in LIVE[:4]:
            dbk([item[0], "add", z] + list(item[1:]) + ["--config", e.cfg])
    # /24s whose TXT names the address: 512 records each, so that a
    # transfer spans several messages, each signed or covered (RFC 8945
    # 5.3.1).
    for net in ("46.4.8.0/24", "46.4.9.0/24", "46.4.10.0/24", "46.4.11.0/24"):
        dbk(["list", "add", "sig.example", net, "--config", e.cfg])
    e.srv = module_dnsblkit.start([], args=["--config", e.cfg], port=port, bind=False,
                                  zone="sig.example")
    e.secs = []
    try:
        kd = os.path.join(d, "knot")
        os.mkdir(kd)
        e.secs.append(Server([KNOTD, "-c", knot_conf(kd, kport, port, ["sig.example"], key=True)],
                             kport, "sig.example", d, name="knotd"))
        nd = os.path.join(d, "nsd")
        os.mkdir(nd)
        nsd = Server([NSD, "-d", "-c", nsd_conf(nd, nport, port, ["sig.example"], key=True)],
                     nport, "sig.example", d, name="nsd")
        nsd.logfile = os.path.join(nd, "nsd.log")
        e.secs.append(nsd)
        for sec in e.secs:
            wait_serials(sec, port, ["sig.example"])
        yield e
    finally:
        for sec in e.secs:
            stop_peer(sec)


def test_signed_secondaries_follow_by_notify_and_ixfr(signed):
    e = signed
    name = rev("45.83.0.88") + ".sig.example"
    old = soa_serial(e.port, "sig.example")
    t0 = time.monotonic()
    dbk(["list", "add", "sig.example", "45.83.0.88", "--config", e.cfg])
    want = ("NOERROR", frozenset({"127.0.0.2"}), frozenset({"Blocked - 45.83.0.88 is listed"}))
    took = wait_answers(e.secs, name, want, t0)
    print("signed: list add -> answer: %s" % {k: v and round(v, 3) for k, v in took.items()})
    assert all(t is not None and t <= PROMPT for t in took.values()), (
        took, "\n".join(peer_log(s)[-2000:] for s in e.secs), e.srv.stderr()[-2000:])
    new = soa_serial(e.port, "sig.example")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(ixfr_lines(e.srv.stderr(), "sig.example",
                                                         new)) < 2:
        time.sleep(0.05)
    lines = ixfr_lines(e.srv.stderr(), "sig.example", new)
    assert len(lines) >= 2 and all(int(a) == old for a, _, _ in lines), (
        lines, e.srv.stderr()[-3000:])
    # Knot takes a NOTIFY and a transfer only signed with xfr-key (its
    # acl and remote name the key): both passed. That Knot holds to it:
    for sign, rcode in ((False, dns.rcode.NOTAUTH), (True, dns.rcode.NOERROR)):
        q = dns.message.make_query("sig.example", "SOA")
        q.flags = dns.flags.AA
        q.set_opcode(dns.opcode.NOTIFY)
        if sign:
            q.use_tsig(KEYRING, keyname=KEY_NAME)
        r = dns.query.udp(q, "127.0.0.1", port=e.secs[0].port, timeout=3)
        assert r.rcode() == rcode, (sign, dns.rcode.to_text(r.rcode()))
    klog = peer_log(e.secs[0])
    assert re.search(r"\[sig\.example\.\] notify, incoming, remote 127\.0\.0\.1@\d+, serial %d"
                     % new, klog), klog[-3000:]
    assert re.search(r"\[sig\.example\.\] IXFR, incoming, remote 127\.0\.0\.1@%d, finished"
                     % e.port, klog), klog[-3000:]
    assert not re.search(r"(?i)denied|badsig|badkey|badtime|failed", klog), klog[-3000:]
    assert not re.search(r"(?i)bad tsig|badsig|badkey|refused|failed", peer_log(e.secs[1])), \
        peer_log(e.secs[1])[-3000:]


# What sig.example lists: LIVE[:4] and four /24s, and 45.83.0.88 once
# the test above ran.
SIG4 = [r for r in LIVE4 if r[0] < 0x2E000000] + [(0x2E040800, 0x2E040BFF), (0x2D530058, 0x2D530058)]


def test_signed_secondaries_answer_as_primary(signed):
    """After their signed transfers, Knot and NSD answer 10,000 random A
    and TXT queries (inside and at the edges of the listed ranges, the
    exclusion, unlisted space, the RFC 5782 entries) as dnsblkit does."""
    e = signed
    for sec in e.secs:
        wait_serials(sec, e.port, ["sig.example"], timeout=PROMPT)
    rng = random.Random(SEED + 2)
    qs = []
    while len(qs) < QUERIES:
        rdtype = rng.choice(["A", "TXT"])
        if rng.random() < 0.97:
            host = rev4(str(ipaddress.IPv4Address(pick4(rng, SIG4))))
        else:
            host = rng.choice(["2.0.0.127", "1.0.0.127"])
        qs.append(("%s.sig.example" % host, rdtype))
    ours = batch_query(e.port, qs)
    assert all(r is not None for r in ours), "dnsblkit left queries unanswered"
    listed = sum(1 for r in ours if r.answer)
    assert len(qs) // 5 < listed < len(qs), listed
    for sec in e.secs:
        assert_answers_as_ours(sec, qs, ours)


def test_transfer_with_the_key(signed):
    e = signed
    msgs = list(dns.query.xfr("127.0.0.1", "sig.example", port=e.port, keyring=KEYRING,
                              keyname=KEY_NAME, lifetime=20))
    # dnspython verified each signature; the first and the last message
    # are signed (RFC 8945 5.3.1).
    assert msgs[0].had_tsig and msgs[-1].had_tsig
    recs = {(rs.name.to_text(), dns.rdatatype.to_text(rs.rdtype)) for m in msgs for rs in m.answer}
    assert ("4.3.2.1", "A") in recs
    # kdig checks the signature as well.
    r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(e.port), "-y",
                        "hmac-sha256:%s:%s" % (KEY_NAME, KEY_SECRET), "sig.example", "AXFR"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "4.3.2.1.sig.example." in r.stdout, r.stdout + r.stderr
    assert "NOERROR" in r.stdout and "TSIG" in r.stdout
    assert len(msgs) >= 4, len(msgs)
    # IXFR with the key, of a change that spans messages too (a /24's
    # 512 records gone).
    old = soa_serial(e.port, "sig.example")
    dbk(["list", "del", "sig.example", "46.4.10.0/24", "--config", e.cfg])
    s = wait_serial_change(e.port, "sig.example", old)
    # The secondaries' IXFRs (after the NOTIFY): the difference is ready.
    deadline = time.monotonic() + PROMPT
    while time.monotonic() < deadline and not ixfr_lines(e.srv.stderr(), "sig.example", s):
        time.sleep(0.05)
    msgs = list(dns.query.xfr("127.0.0.1", "sig.example", rdtype=dns.rdatatype.IXFR, serial=old,
                              port=e.port, keyring=KEYRING, keyname=KEY_NAME, lifetime=20))
    assert len(msgs) >= 2 and msgs[0].had_tsig and msgs[-1].had_tsig, len(msgs)
    rrs = [rs for m in msgs for rs in m.answer]
    assert rrs[0].rdtype == dns.rdatatype.SOA and rrs[0][0].serial == s
    assert rrs[1].rdtype == dns.rdatatype.SOA and rrs[1][0].serial == old  # incremental
    assert sum(1 for rs in rrs if rs.name.to_text().endswith(".10.4.46")) == 512
    r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(e.port), "-y",
                        "hmac-sha256:%s:%s" % (KEY_NAME, KEY_SECRET), "sig.example",
                        "IXFR=%d" % old], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "10.4.46.sig.example." in r.stdout, r.stdout[-2000:] + r.stderr
    # A signed SOA query, over UDP and TCP, is answered signed.
    for tcp in (False, True):
        q = signed_query("sig.example", "SOA")
        send = dns.query.tcp if tcp else dns.query.udp
        r = send(q, "127.0.0.1", port=e.port, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR and r.had_tsig, tcp
        assert r.answer[0][0].serial == s


@pytest.mark.parametrize("alg, name", [
    ("hmac-sha1", "k-sha1"), ("hmac-sha224", "k-sha224"), ("hmac-sha256", KEY_NAME),
    ("hmac-sha384", "k-sha384"), ("hmac-sha512", "other-key"), ("hmac-sha256", "k-default"),
])
def test_signed_soa_query_with_each_algorithm(signed, alg, name):
    """tsig-key takes `[ALG:]NAME:SECRET` (hmac-sha256 when ALG is left
    out); a SOA query signed with any of them is answered signed, and
    dnspython verifies the answer with the key."""
    e = signed
    secret = WRONG_SECRET if name == "other-key" else KEY_SECRET
    ring = dns.tsigkeyring.from_text({name: secret})
    for tcp in (False, True):
        q = dns.message.make_query("sig.example", "SOA")
        q.use_tsig(ring, keyname=name, algorithm=alg)
        r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=e.port, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR and r.had_tsig, (alg, tcp)
        assert r.keyalgorithm == dns.name.from_text(alg) and r.keyname == dns.name.from_text(name)
    # The same name with the wrong algorithm is not that key.
    other = "hmac-sha384" if alg != "hmac-sha384" else "hmac-sha512"
    q = dns.message.make_query("sig.example", "SOA")
    q.use_tsig(ring, keyname=name, algorithm=other)
    rcode, ancount, tsig = tsig_of(raw_udp_exchange(e.port, q.to_wire()))
    assert rcode == dns.rcode.NOTAUTH and ancount == 0 and tsig["error"] == dns.rcode.BADKEY, (
        alg, other, rcode, tsig)


@pytest.mark.parametrize("how, error", [
    ("wrong secret", dns.rcode.BADSIG), ("unknown key", dns.rcode.BADKEY),
    ("stale time", dns.rcode.BADTIME),
])
def test_signed_soa_query_refused_without_the_right_key(signed, how, error):
    e = signed
    time.sleep(1.05 - time.time() % 1)  # refusals are logged ten a second
    for tcp in (False, True):
        if how == "wrong secret":
            q = signed_query("sig.example", "SOA", secret=WRONG_SECRET)
        elif how == "unknown key":
            q = signed_query("sig.example", "SOA", keyname="no-such-key")
        else:
            q = signed_query("sig.example", "SOA")
        if how == "stale time":
            stale = time.time() - 3600
            with mock.patch.object(dns.message.time, "time", lambda: stale):
                wire = q.to_wire()
        else:
            wire = q.to_wire()
        reply = tcp_exchange(e.port, wire) if tcp else raw_udp_exchange(e.port, wire)
        rcode, ancount, tsig = tsig_of(reply)
        assert rcode == dns.rcode.NOTAUTH and ancount == 0, (how, tcp, rcode, ancount)
        assert tsig and tsig["error"] == error, (how, tcp, tsig)
    time.sleep(0.2)
    assert re.search(r"signed SOA query of sig\.example refused to 127\.0\.0\.1/\d+: TSIG",
                     e.srv.stderr()), e.srv.stderr()[-2000:]


def raw_udp_exchange(port, wire, timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(wire, ("127.0.0.1", port))
        return s.recvfrom(65535)[0]
    finally:
        s.close()


def refused_log(e, zone, n_before):
    time.sleep(0.2)
    lines = re.findall(r"(?:AXFR|IXFR) of %s refused to (127\.0\.0\.\d+/\d+): ([^\n]*)"
                       % re.escape(zone), e.srv.stderr())
    return lines[n_before:]


def count_refusals(e, zone):
    return len(re.findall(r"(?:AXFR|IXFR) of %s refused to " % re.escape(zone), e.srv.stderr()))


@pytest.mark.parametrize("how, error, reason", [
    ("wrong secret", dns.rcode.BADSIG, r"TSIG bad signature \(key xfr-key\)"),
    ("unknown key", dns.rcode.BADKEY, r"TSIG unknown key or algorithm \(key no-such-key\)"),
    ("stale time", dns.rcode.BADTIME, r"TSIG signed outside the time fudge \(key xfr-key\)"),
    # A request that names a fudge of 18 hours is held to ours (300 s):
    # a captured request cannot be replayed for that long.
    ("wide fudge", dns.rcode.BADTIME, r"TSIG signed outside the time fudge \(key xfr-key\)"),
    ("no key", None, r"not signed with TSIG \(transfer-key xfr-key\)"),
    ("other known key", None, r"signed with TSIG key other-key, not transfer-key xfr-key"),
])
def test_transfer_refused_without_the_right_key(signed, how, error, reason):
    e = signed
    # Refusals are logged ten a second: begin in a second of our own.
    time.sleep(1.05 - time.time() % 1)
    n0 = count_refusals(e, "sig.example")
    for rdtype in ("AXFR", "IXFR"):
        serial = 1 if rdtype == "IXFR" else None
        if how == "wrong secret":
            q = signed_query("sig.example", rdtype, secret=WRONG_SECRET, serial=serial)
        elif how == "unknown key":
            q = signed_query("sig.example", rdtype, keyname="no-such-key", serial=serial)
        elif how == "other known key":  # a key the server has, not the zone's
            q = signed_query("sig.example", rdtype, secret=None, serial=serial)
            q.use_tsig(dns.tsigkeyring.from_text({"other-key": WRONG_SECRET}),
                       keyname="other-key", algorithm="hmac-sha512")
        else:
            q = signed_query("sig.example", rdtype, secret=None if how == "no key" else KEY_SECRET,
                             serial=serial)
        if how == "wide fudge":
            q.use_tsig(KEYRING, keyname=KEY_NAME, fudge=65535)
        if how in ("stale time", "wide fudge"):
            stale = time.time() - 3600
            with mock.patch.object(dns.message.time, "time", lambda: stale):
                wire = q.to_wire()
        else:
            wire = q.to_wire()
        reply = tcp_exchange(e.port, wire)
        rcode, ancount, tsig = tsig_of(reply)
        assert ancount == 0, "%s %s: %d records given away" % (how, rdtype, ancount)
        if error is None:
            assert rcode == dns.rcode.REFUSED, (how, rdtype, dns.rcode.to_text(rcode))
            if how == "no key":
                assert tsig is None, tsig
            else:  # a request that verified gets a signed answer (RFC 8945 5.3)
                assert tsig and tsig["owner"] == "other-key" and tsig["error"] == 0 and \
                    tsig["macsize"] == 64, tsig
                dns.message.from_wire(reply, keyring=dns.tsigkeyring.from_text(
                    {"other-key": WRONG_SECRET}), request_mac=q.mac)
        else:
            assert rcode == dns.rcode.NOTAUTH, (how, rdtype, dns.rcode.to_text(rcode))
            assert tsig is not None, "%s %s: no TSIG in the answer" % (how, rdtype)
            assert tsig["error"] == error, (how, rdtype, tsig)
            if error in (dns.rcode.BADSIG, dns.rcode.BADKEY):
                assert tsig["macsize"] == 0, tsig  # unsigned (RFC 8945 5.3.2)
            else:
                assert tsig["macsize"] > 0, tsig  # BADTIME answers are signed
    lines = refused_log(e, "sig.example", n0)
    assert len(lines) >= 2, e.srv.stderr()[-3000:]
    assert all(re.search(reason, why) for _, why in lines), lines


def test_ixfr_over_udp_for_a_keyed_zone(signed):
    """Over UDP an IXFR gets the SOA alone: signed, with the key; REFUSED
    without it (not even the SOA)."""
    e = signed
    s = soa_serial(e.port, "sig.example")
    q = signed_query("sig.example", "IXFR", serial=s - 1)
    r = dns.query.udp(q, "127.0.0.1", port=e.port, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
    assert [(rs.rdtype, rs[0].serial) for rs in r.answer] == [(dns.rdatatype.SOA, s)]
    q = signed_query("sig.example", "IXFR", secret=None, serial=s - 1)
    rcode, ancount, tsig = tsig_of(raw_udp_exchange(e.port, q.to_wire()))
    assert rcode == dns.rcode.REFUSED and ancount == 0 and tsig is None, (rcode, ancount)
    q = signed_query("sig.example", "IXFR", secret=WRONG_SECRET, serial=s - 1)
    rcode, ancount, tsig = tsig_of(raw_udp_exchange(e.port, q.to_wire()))
    assert rcode == dns.rcode.NOTAUTH and ancount == 0 and tsig["error"] == dns.rcode.BADSIG


def test_tsig_error_too_big_for_udp_comes_truncated(signed):
    """A TSIG error reply holds the question and the request's key name:
    with long ones and no EDNS it would pass the 512 bytes a UDP client
    takes (the request itself was over 512, which kdig refuses to send
    and dnspython sends). It comes as the header and question with TC
    (no TSIG, which cannot be cut), and the same request over TCP gets
    the whole NOTAUTH with its TSIG. With EDNS room it fits as it is."""
    e = signed
    label = "a" * 60
    qname = ".".join([label] * 3 + ["b" * 40]) + ".sig.example"  # 237 bytes of name
    keyname = ".".join(["k" * 60] * 4) + ".key"                 # 249 bytes
    q = dns.message.make_query(qname, "SOA")
    q.use_tsig(dns.tsigkeyring.from_text({keyname: KEY_SECRET}), keyname=keyname)
    wire = q.to_wire()
    reply = raw_udp_exchange(e.port, wire)
    flags = struct.unpack("!H", reply[2:4])[0]
    qd, an, ns, ar = struct.unpack("!HHHH", reply[4:12])
    assert len(reply) <= 512 and flags & 0x0200, (len(reply), hex(flags))
    assert (qd, an, ns, ar) == (1, 0, 0, 0), (qd, an, ns, ar)
    assert reply[:2] == wire[:2] and flags & 0xF == dns.rcode.NOTAUTH & 0xF
    rcode, ancount, tsig = tsig_of(tcp_exchange(e.port, wire))
    assert rcode == dns.rcode.NOTAUTH and tsig and tsig["error"] == dns.rcode.BADKEY, tsig
    q = dns.message.make_query(qname, "SOA", use_edns=0, payload=1232)
    q.use_tsig(dns.tsigkeyring.from_text({keyname: KEY_SECRET}), keyname=keyname)
    reply = raw_udp_exchange(e.port, q.to_wire())
    rcode, ancount, tsig = tsig_of(reply)
    assert len(reply) > 512 and not struct.unpack("!H", reply[2:4])[0] & 0x0200
    assert rcode == dns.rcode.NOTAUTH and tsig and tsig["error"] == dns.rcode.BADKEY, tsig


def test_right_key_from_the_wrong_address(signed):
    e = signed
    q = signed_query("sig.example", "AXFR")
    reply = tcp_exchange(e.port, q.to_wire(), source="127.0.0.2")
    rcode, ancount, tsig = tsig_of(reply)
    assert rcode == dns.rcode.REFUSED and ancount == 0
    # Signed, as every answer to a request that verified (RFC 8945 5.3).
    assert tsig and tsig["error"] == 0 and tsig["macsize"] == 32, tsig
    dns.message.from_wire(reply, keyring=KEYRING, request_mac=q.mac)
    assert re.search(r"AXFR of sig\.example refused to 127\.0\.0\.2/\d+: not in allow-transfer",
                     e.srv.stderr())


def test_kdig_with_a_wrong_secret(signed):
    e = signed
    r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(e.port), "-y",
                        "hmac-sha256:%s:%s" % (KEY_NAME, WRONG_SECRET), "sig.example", "AXFR"],
                       capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and ("NOTAUTH" in out or "BADSIG" in out), out
    assert "4.3.2.1.sig.example." not in out


def test_zone_without_transfer_key_needs_none(signed):
    """The key is per zone: open.example transfers unsigned."""
    e = signed
    msgs = list(dns.query.xfr("127.0.0.1", "open.example", port=e.port, lifetime=20))
    assert any(rs.name.to_text() == "4.3.2.1" for m in msgs for rs in m.answer)


# ------------------------------------------ 5. NOTIFY on a UDP socket ----

def udp_listener(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    return s


def listen(socks, until, policy, log, keyrings=None):
    """Receives NOTIFYs on socks until time `until` (monotonic); policy(i, n)
    says whether to answer the n-th (1-based) on socket i, signed when its
    keyring (keyrings[i]) verified it. Appends (i, time, message, wire)."""
    counts = [sum(1 for x in log if x[0] == i) for i in range(len(socks))]
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select(socks, [], [], min(left, 0.1))
        for s in ready:
            i = socks.index(s)
            wire, peer = s.recvfrom(65535)
            t = time.monotonic()
            keyring = keyrings[i] if keyrings else None
            m = dns.message.from_wire(wire, keyring=keyring)
            counts[i] += 1
            log.append((i, t, m, wire))
            if policy(i, counts[i]):
                r = dns.message.make_response(m)
                r.flags |= dns.flags.AA
                s.sendto(r.to_wire(), peer)


def quiesce(socks, keyrings=None, quiet=1.5, limit=6.0):
    """Answers whatever comes (NOTIFYs at start) until the sockets have
    been quiet for `quiet` seconds."""
    log = []
    start = time.monotonic()
    while time.monotonic() - start < limit:
        n = len(log)
        listen(socks, time.monotonic() + quiet, lambda i, k: True, log, keyrings)
        if len(log) == n:
            return
    raise AssertionError("NOTIFYs kept coming for %.0f s" % limit)


def check_notify(m, zone, serial):
    """A NOTIFY (RFC 1996): opcode 4, a query with AA, one question
    ZONE IN SOA, the new SOA in the answer if anything."""
    assert m.opcode() == dns.opcode.NOTIFY, m
    assert not m.flags & dns.flags.QR and m.flags & dns.flags.AA, m
    assert len(m.question) == 1
    qq = m.question[0]
    assert (qq.name.to_text(), qq.rdtype, qq.rdclass) == (zone + ".", dns.rdatatype.SOA,
                                                          dns.rdataclass.IN), qq
    for rs in m.answer:  # RFC 1996 3.7: the SOA may ride along
        assert rs.rdtype == dns.rdatatype.SOA and rs[0].serial == serial, rs


def gaps_about(times, wanted):
    gaps = [y - x for x, y in zip(times, times[1:])]
    for g, want in zip(gaps, wanted):
        assert 0.6 * want <= g <= 1.6 * want + 0.3, (gaps, "want about %s" % (wanted,))
    return gaps


def test_notify_retried_until_answered(dnsblkit, tmp_path):
    d = str(tmp_path)
    a, b = udp_listener(), udp_listener()
    pa, pb = (s.getsockname()[1] for s in (a, b))
    nfile = write(os.path.join(d, "n.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    qfile = write(os.path.join(d, "q.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    port = free_port()
    # notify in [server] for every zone, a second line adding to the
    # first; q.example wants none.
    cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
notify = 127.0.0.1@%d
notify = 127.0.0.1@%d
[zone n.example]
data = ip4set:%s
[zone q.example]
data = ip4set:%s
notify = none
""" % (port, pa, pb, nfile, qfile))
    try:
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="n.example")
        quiesce([a, b])
        write(nfile, SOA_LINE % 2 + "10.0.0.1\n10.0.0.2\n")
        write(qfile, SOA_LINE % 2 + "10.0.0.1\n10.0.0.2\n")
        srv.send(signal.SIGHUP)
        t0 = time.monotonic()
        log = []
        # a answers the third NOTIFY, b none: five tries, 1+2+4+8 s
        # apart, then 16 s more for an answer to the last.
        end = t0 + 33
        listen([a, b], end, lambda i, n: i == 0 and n == 3, log)
    finally:
        a.close()
        b.close()
    assert soa_serial(port, "n.example") == 2 and soa_serial(port, "q.example") == 2
    ta = [t - t0 for i, t, _, _ in log if i == 0]
    tb = [t - t0 for i, t, _, _ in log if i == 1]
    print("NOTIFY to a (answers the 3rd): %s; to b (never answers): %s" % (
        [round(x, 2) for x in ta], [round(x, 2) for x in tb]))
    for i, t, m, wire in log:
        check_notify(m, "n.example", 2)
        assert not m.had_tsig
    # The first within a second of the change, then about 1, 2, 4, 8 s
    # apart while unanswered; five tries in all.
    assert ta and ta[0] < 1.5 and tb and tb[0] < 1.5, (ta, tb)
    assert len(ta) == 3, "a answered the 3rd NOTIFY, yet got %d: %s" % (len(ta), ta)
    assert len(tb) == 5, "b never answered: %d tries %s, not 5" % (len(tb), tb)
    gaps_about(ta, (1, 2))
    gaps_about(tb, (1, 2, 4, 8))
    # Both the late answer and the silence are logged, with the target.
    text = srv.stderr()
    assert re.search(r"NOTIFY of n\.example serial 2 to 127\.0\.0\.1/%d answered after 3 tries"
                     % pa, text), text[-3000:]
    assert re.search(r"warning: NOTIFY of n\.example serial 2 to 127\.0\.0\.1/%d: no answer to 5 "
                     r"tries" % pb, text), text[-3000:]


def test_notify_signed_with_the_transfer_key(dnsblkit, tmp_path):
    d = str(tmp_path)
    c, u = udp_listener(), udp_listener("::1")
    pc, pu = c.getsockname()[1], u.getsockname()[1]
    sfile = write(os.path.join(d, "s.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    ufile = write(os.path.join(d, "u.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    port = free_port()
    cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
tsig-key = %s:%s
[zone s.example]
data = ip4set:%s
transfer-key = %s
notify = 127.0.0.1@%d
[zone u.example]
data = ip4set:%s
notify = ::1@%d
""" % (port, KEY_NAME, KEY_SECRET, sfile, KEY_NAME, pc, ufile, pu))
    try:
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="s.example")
        quiesce([c, u], [KEYRING, None])
        write(sfile, SOA_LINE % 2 + "10.0.0.1\n10.0.0.2\n")
        write(ufile, SOA_LINE % 2 + "10.0.0.1\n10.0.0.2\n")
        srv.send(signal.SIGHUP)
        t0 = time.monotonic()
        log = []
        # Each answers at once (c with a signed answer): one NOTIFY each.
        listen([c, u], t0 + 4, lambda i, n: True, log, [KEYRING, None])
    finally:
        c.close()
        u.close()
    log_c = [x for x in log if x[0] == 0]
    log_u = [x for x in log if x[0] == 1]
    assert len(log_c) == 1 and len(log_u) == 1, [(i, t - t0) for i, t, _, _ in log]
    check_notify(log_c[0][2], "s.example", 2)
    check_notify(log_u[0][2], "u.example", 2)
    # Signed with the zone's transfer-key: dnspython verified the MAC
    # with the keyring; the same bytes with a wrong secret do not verify.
    assert log_c[0][2].had_tsig and log_c[0][2].keyname.to_text() == KEY_NAME + "."
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(log_c[0][3],
                              keyring=dns.tsigkeyring.from_text({KEY_NAME: WRONG_SECRET}))
    # A zone without transfer-key notifies unsigned (here to IPv6).
    assert not log_u[0][2].had_tsig
    # The signed answer was taken: no retry, no complaint.
    assert not re.search(r"NOTIFY of s\.example serial 2 [^\n]*"
                         r"(no answer|answered after|answered [A-Z]|fails TSIG)", srv.stderr()), \
        srv.stderr()[-2000:]
