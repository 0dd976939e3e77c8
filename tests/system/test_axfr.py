# Zone transfers out: Knot (knotd) and NSD as secondaries of `dnsblkit
# serve` on loopback, each in a scratch directory of its own, take every
# zone by AXFR, then answer 10,000 random A and TXT queries (near range
# edges, inside ranges, on exclusions, in unlisted space, under wildcards)
# exactly as dnsblkit does, for every dataset type and a live listing
# zone. Refusals: a client outside allow-transfer (from 127.0.0.2) gets
# REFUSED and no record, a zone past transfer-max-records is refused with
# a log line, AXFR over UDP is NOTIMP. `dnsblkit export --format bind`
# writes the records the transfer carries.
import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest

from conftest import (
    Server,
    batch_query,
    free_port,
    query,
    run_dnsblkit,
    scale,
    txt_values,
    write,
)

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
KDIG = shutil.which("kdig") or "/usr/bin/kdig"
QUERIES = scale(10000, minimum=2000)
SEED = 20240808

# Zones whose every A and TXT answer a secondary must repeat.
COMPARED = ["set.example", "tset.example", "trie.example", "six.example", "sixtrie.example",
            "dn.example", "gen.example", "comb.example", "acl.example", "live.example"]


def rev4(a):
    return ".".join(reversed(str(a).split(".")))


def nib(a):
    return ".".join(reversed(ipaddress.IPv6Address(a).exploded.replace(":", "")))


def ip4(n):
    return str(ipaddress.IPv4Address(n & 0xFFFFFFFF))


def ip6(n):
    return str(ipaddress.IPv6Address(n & ((1 << 128) - 1)))


# ---------------------------------------------------------------- data ----

class Data:
    """Data files of every type, from one seed, and what queries to ask:
    per zone the address ranges (as integers) and names it lists."""

    def __init__(self, rng):
        self.rng = rng
        self.files = {}
        self.ranges4 = {}  # zone -> [(lo, hi)]
        self.ranges6 = {}
        self.names = {}  # zone -> [name relative to the zone]

    def ip4set(self):
        r = self.rng
        lines = ["$NS 3600 ns1.example.net.", ":127.0.0.2:Listed $ see https://lookup.example/?$"]
        rng4 = []
        blocks16 = [(10 << 24) | (r.randrange(1, 250) << 16) for _ in range(3)]
        for b in blocks16:
            lines.append("%s/16 :4:Big block" % ip4(b))
            rng4.append((b, b + 0xFFFF))
            # More specific values and exclusions inside the /16.
            for _ in range(4):
                a = b + r.randrange(0, 0x10000)
                lines.append("%s :6:Override $" % ip4(a))
                rng4.append((a, a))
            for _ in range(3):
                a = b + r.randrange(0, 0x10000)
                lines.append("!%s" % ip4(a))
                rng4.append((a, a))
            a = (b + r.randrange(0, 0x10000)) & ~0x3F
            lines.append("!%s/26" % ip4(a))
            rng4.append((a, a + 63))
        # A /16 with nothing inside: 256 wildcards, the names above them
        # empty non-terminals.
        b = (10 << 24) | (251 << 16)
        lines.append("%s/16 :7:Clean block" % ip4(b))
        rng4.append((b, b + 0xFFFF))
        for _ in range(8):
            b = (10 << 24) | (r.randrange(1, 250) << 16) | (r.randrange(0, 256) << 8)
            lines.append("%s/24 :3:Range listed" % ip4(b))
            rng4.append((b, b + 255))
            if r.random() < 0.5:
                a = b + r.randrange(0, 256)
                lines.append("!%s" % ip4(a))
                rng4.append((a, a))
        for bits in (22, 23, 23, 25, 27):
            size = 1 << (32 - bits)
            b = ((10 << 24) | r.randrange(0, 1 << 24)) & ~(size - 1)
            lines.append("%s/%d" % (ip4(b), bits))  # the default value: TXT names the address
            rng4.append((b, b + size - 1))
        for _ in range(4):
            lo = (10 << 24) | r.randrange(0, 1 << 24)
            hi = lo + r.randrange(10, 700)
            lines.append("%s-%s :5:Odd range" % (ip4(lo), ip4(hi)))
            rng4.append((lo, hi))
        for _ in range(60):
            a = (10 << 24) | r.randrange(0, 1 << 24)
            lines.append(ip4(a))
            rng4.append((a, a))
        self.files["set"] = "\n".join(lines) + "\n"
        self.ranges4["set.example"] = rng4

    def ip4tset(self):
        r = self.rng
        addrs = sorted({(172 << 24) | (16 << 16) | r.randrange(0, 1 << 16) for _ in range(300)})
        self.files["tset"] = ":127.0.0.2:Single $\n" + "".join(ip4(a) + "\n" for a in addrs)
        self.ranges4["tset.example"] = [(a, a) for a in addrs]

    def ip4trie(self):
        r = self.rng
        lines = [":127.0.0.2:Trie"]
        rng4 = []
        for _ in range(6):
            b = (198 << 24) | (r.randrange(0, 256) << 16)
            lines.append("%s/16 :3:Trie16" % ip4(b))
            rng4.append((b, b + 0xFFFF))
            for _ in range(2):
                s = b | (r.randrange(0, 16) << 12)
                lines.append("%s/20 :4:Trie20" % ip4(s))  # 16 /24 wildcards
                rng4.append((s, s + 0xFFF))
                t = s | (r.randrange(0, 16) << 8)
                lines.append("%s/24 :5:Trie24 $" % ip4(t))  # names each address
                rng4.append((t, t + 255))
                u = t | (r.randrange(0, 16) << 4)
                lines.append("%s/28" % ip4(u))
                rng4.append((u, u + 15))
                x = s | (r.randrange(0, 64) << 6)
                lines.append("!%s/26" % ip4(x))
                rng4.append((x, x + 63))
                y = b + r.randrange(0, 0x10000)
                lines.append("!%s" % ip4(y))
                rng4.append((y, y))
        self.files["trie"] = "\n".join(lines) + "\n"
        self.ranges4["trie.example"] = rng4

    def ip6tset(self):
        r = self.rng
        lines = [":127.0.0.2:Six listed"]
        rng6 = []
        base = int(ipaddress.IPv6Address("2001:db8::"))
        nets = sorted({base | (r.randrange(0, 1 << 32) << 64) for _ in range(30)})
        for n in nets:
            groups = ipaddress.IPv6Address(n).exploded.split(":")[:4]
            lines.append(":".join(groups))
            rng6.append((n, n | ((1 << 64) - 1)))
        for n in r.sample(nets, 10):
            a = n | r.randrange(0, 1 << 64)
            lines.append("!%s" % ip6(a))
            rng6.append((a, a))
        self.files["six"] = "\n".join(lines) + "\n"
        self.ranges6["six.example"] = rng6

    def ip6trie(self):
        r = self.rng
        lines = [":127.0.0.3:Trie six"]
        rng6 = []
        for k in range(5):
            b = int(ipaddress.IPv6Address("2001:db8::")) | (r.randrange(0, 1 << 16) << 80)
            lines.append("%s/48 :4:Wide" % ip6(b))
            rng6.append((b, b | ((1 << 80) - 1)))
            for _ in range(2):
                p = b | (r.randrange(0, 1 << 16) << 64)
                bits = r.choice([56, 60, 62, 64])
                p &= ~((1 << (128 - bits)) - 1)
                lines.append("%s/%d :5:Inner" % (ip6(p), bits))
                rng6.append((p, p | ((1 << (128 - bits)) - 1)))
                x = b | (r.randrange(0, 1 << 16) << 64)
                lines.append("!%s/64" % ip6(x))
                rng6.append((x, x | ((1 << 64) - 1)))
                y = p | r.randrange(0, 1 << 32)
                lines.append("!%s" % ip6(y))
                rng6.append((y, y))
                t = p | (r.randrange(0, 1 << 32) << 8)
                lines.append("%s/120 :6:Tiny" % ip6(t))
                rng6.append((t, t | 0xFF))
        self.files["sixtrie"] = "\n".join(lines) + "\n"
        self.ranges6["sixtrie.example"] = rng6

    def dnset(self):
        lines = [":127.0.0.2:Dom $"]
        names = []
        for i in range(20):
            lines.append("spam%d.example.com" % i)
            names.append("spam%d.example.com" % i)
        for i in range(5):
            lines.append("*.wild%d.example.net :3:Wild $" % i)
            names.append("wild%d.example.net" % i)
            lines.append(".both%d.example.org :4:Both $" % i)
            names.append("both%d.example.org" % i)
        lines += ["!ok.both1.example.org", "!*.clean.wild2.example.net",
                  "deep.x.wild3.example.net :5:Deep", "!spam3.example.com", "*.spam4.example.com"]
        names += ["ok.both1.example.org", "clean.wild2.example.net", "deep.x.wild3.example.net",
                  "x.wild3.example.net", "test", "invalid"]
        self.files["dn"] = "\n".join(lines) + "\n"
        self.names["dn.example"] = names

    def generic(self):
        self.files["gen"] = ("@ A 127.0.0.9\n@ TXT \"apex text\"\n@ MX 10 mx.example.org\n"
                             "www A 192.0.2.1\nwww TXT \"cost $5\"\nmail MX 20 mx2.example.org\n"
                             "v6 AAAA 2001:db8::1\na.b.c A 127.0.0.3\na.b.c TXT \"deep\"\n")
        self.names["gen.example"] = ["@", "www", "mail", "v6", "a.b.c", "b.c", "c", "nothing",
                                     "x.www"]

    def combined(self):
        self.files["comb"] = ("$DATASET ip4set @\n:127.0.0.2:Comb main $\n10.9.0.0/24\n10.9.1.5\n"
                              "!10.9.0.77\n"
                              "$DATASET ip6trie @\n:127.0.0.5:Comb six\n2001:db8:9::/48\n"
                              "!2001:db8:9:1::/64\n"
                              "$DATASET dnset dom\n:127.0.0.4:Comb dom $\n*.example.com\n"
                              "bad.example.net\n"
                              "$DATASET ip4trie sub\n:127.0.0.3:Comb sub\n10.9.0.0/16\n"
                              "!10.9.3.0/24\n")
        self.ranges4["comb.example"] = [(0x0A090000, 0x0A0900FF), (0x0A090105, 0x0A090105),
                                        (0x0A09004D, 0x0A09004D)]
        self.ranges4["sub.comb.example"] = [(0x0A090000, 0x0A09FFFF), (0x0A090300, 0x0A0903FF)]
        b = int(ipaddress.IPv6Address("2001:db8:9::"))
        self.ranges6["comb.example"] = [(b, b | ((1 << 80) - 1)),
                                        (b | (1 << 64), b | (1 << 64) | ((1 << 64) - 1))]
        self.names["comb.example"] = ["dom", "a.example.com.dom", "example.com.dom",
                                      "bad.example.net.dom", "x.bad.example.net.dom", "sub",
                                      "test.dom", "invalid.dom"]

    def acl(self):
        self.files["acldata"] = ":127.0.0.2:Acl zone $\n10.7.0.0/24\n10.7.1.1\n"
        self.files["acl"] = "10.0.0.0/8 :refuse\n203.0.113.0/24 :ignore\n"
        self.ranges4["acl.example"] = [(0x0A070000, 0x0A0700FF), (0x0A070101, 0x0A070101)]


# A zone the secondaries ask for news every second (SOA refresh 1).
UPD = ("$SOA 60 ns1.example.net. hostmaster.example.net. %d 1 1 86400 60\n"
       "$NS 60 ns1.example.net.\n:127.0.0.2:Update $\n%s")

LIVE = [  # (args of `dnsblkit list|allow add`)
    ("list", "1.2.3.4"), ("list", "1.2.3.9", "--code", "4"), ("list", "5.6.7.0/24", "--code", "3"),
    ("allow", "5.6.7.8"), ("list", "46.4.9.0/24", "--code", "3"), ("list", "46.4.9.9"),
    ("list", "2a00:1450:4001:81b::1"), ("list", "2a01:4f8:1::/48", "--code", "3"),
    ("allow", "2a01:4f8:1:5::/64"),
]
LIVE4 = [(0x01020304, 0x01020304), (0x01020309, 0x01020309), (0x05060700, 0x050607FF),
         (0x05060708, 0x05060708), (0x2E040900, 0x2E0409FF), (0x2E040909, 0x2E040909)]
LIVE6 = [(int(ipaddress.IPv6Address("2a00:1450:4001:81b::")),
          int(ipaddress.IPv6Address("2a00:1450:4001:81b:ffff:ffff:ffff:ffff"))),
         (int(ipaddress.IPv6Address("2a01:4f8:1::")),
          int(ipaddress.IPv6Address("2a01:4f8:1:ffff:ffff:ffff:ffff:ffff"))),
         (int(ipaddress.IPv6Address("2a01:4f8:1:5::")),
          int(ipaddress.IPv6Address("2a01:4f8:1:5:ffff:ffff:ffff:ffff")))]


# -------------------------------------------------------------- servers ----

class Env:
    pass


def dbk(args, ok=True):
    r = run_dnsblkit(args)
    if ok:
        assert r.returncode == 0, "dnsblkit %s: %d\n%s%s" % (" ".join(args), r.returncode,
                                                             r.stdout, r.stderr)
    return r


def knot_conf(d, port, primary, zones):
    text = ("server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n"
            "database:\n    storage: %s\n"
            "remote:\n  - id: primary\n    address: 127.0.0.1@%d\n"
            "template:\n  - id: default\n    storage: %s\n    zonefile-sync: -1\n"
            "    zonefile-load: none\n    journal-content: none\n    master: primary\n"
            "zone:\n" % (port, d, d, primary, d))
    text += "".join("  - domain: %s\n" % z for z in zones)
    text += "log:\n  - target: stderr\n    any: info\n"
    return write(os.path.join(d, "knot.conf"), text)


def nsd_conf(d, port, primary, zones):
    text = ("server:\n    ip-address: 127.0.0.1@%d\n    username: \"\"\n    chroot: \"\"\n"
            "    zonesdir: \"%s\"\n    database: \"\"\n    pidfile: \"%s/nsd.pid\"\n"
            "    xfrdfile: \"%s/xfrd.state\"\n    zonelistfile: \"%s/zone.list\"\n"
            "    xfrdir: \"%s\"\n    logfile: \"%s/nsd.log\"\n    verbosity: 2\n"
            "    server-count: 1\n    rrl-ratelimit: 0\n"
            "remote-control:\n    control-enable: no\n" % (port, d, d, d, d, d, d))
    for z in zones:
        text += ("zone:\n    name: %s\n    zonefile: \"%s.zone\"\n"
                 "    request-xfr: 127.0.0.1@%d NOKEY\n" % (z, z, primary))
    return write(os.path.join(d, "nsd.conf"), text)


def soa_serial(port, zone):
    try:
        r = query(port, zone, "SOA", timeout=0.5)
    except (dns.exception.Timeout, OSError):
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_transferred(sec, primary_port, zones, timeout=60):
    deadline = time.monotonic() + timeout
    want = {z: soa_serial(primary_port, z) for z in zones}
    missing = list(zones)
    while missing and time.monotonic() < deadline:
        if sec.proc.poll() is not None:
            pytest.fail("%s exited:\n%s" % (sec.name, sec.stderr()))
        missing = [z for z in missing if soa_serial(sec.port, z) != want[z]]
        if missing:
            time.sleep(0.2)
    assert not missing, "%s did not transfer %s in %d s:\n%s" % (sec.name, missing, timeout,
                                                                   sec.stderr()[-4000:])


@pytest.fixture(scope="module")
def env(module_dnsblkit, tmp_path_factory):
    for tool in (KNOTD, NSD, KDIG):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s is not installed (scripts/deps.sh installs it)" % tool)
    d = str(tmp_path_factory.mktemp("axfr"))
    data = Data(random.Random(SEED))
    for gen in (data.ip4set, data.ip4tset, data.ip4trie, data.ip6tset, data.ip6trie, data.dnset,
                data.generic, data.combined, data.acl):
        gen()
    f = {k: write(os.path.join(d, k + ".txt"), v) for k, v in data.files.items()}
    f["big"] = write(os.path.join(d, "big.txt"), ":127.0.0.2:See $\n10.0.0.0/22\n")
    f["upd"] = write(os.path.join(d, "upd.txt"), UPD % (1, "192.0.2.1\n"))
    port = free_port()
    cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1, ::1
[listing]
database = %s/live.db
[zone set.example]
data = ip4set:%s
[zone tset.example]
data = ip4tset:%s
[zone trie.example]
data = ip4trie:%s
[zone six.example]
data = ip6tset:%s
[zone sixtrie.example]
data = ip6trie:%s
[zone dn.example]
data = dnset:%s
[zone gen.example]
data = generic:%s
[zone comb.example]
data = combined:%s
[zone acl.example]
data = ip4set:%s
data = acl:%s
[zone live.example]
dataset = listing
[zone big.example]
data = ip4set:%s
transfer-max-records = 100
[zone upd.example]
data = ip4set:%s
""" % (port, d, f["set"], f["tset"], f["trie"], f["six"], f["sixtrie"], f["dn"], f["gen"],
       f["comb"], f["acldata"], f["acl"], f["big"], f["upd"]))
    for item in LIVE:
        dbk([item[0], "add", "live.example"] + list(item[1:]) + ["--config", cfg])
    srv = module_dnsblkit.start([], args=["--config", cfg], port=port, bind=False,
                                zone="set.example")
    e = Env()
    e.dir, e.cfg, e.data, e.srv, e.port, e.upd = d, cfg, data, srv, port, f["upd"]
    e.secondaries = []
    zones = COMPARED + ["upd.example"]
    try:
        kd = os.path.join(d, "knot")
        os.mkdir(kd)
        kport = free_port()
        knot = Server([KNOTD, "-c", knot_conf(kd, kport, port, zones)], kport, "set.example", d,
                      name="knotd")
        e.secondaries.append(knot)
        nd = os.path.join(d, "nsd")
        os.mkdir(nd)
        nport = free_port()
        nsd = Server([NSD, "-d", "-c", nsd_conf(nd, nport, port, zones)], nport, "set.example", d,
                     name="nsd")
        nsd.logfile = os.path.join(nd, "nsd.log")
        e.secondaries.append(nsd)
        for sec in e.secondaries:
            wait_transferred(sec, port, zones)
        yield e
    finally:
        for sec in e.secondaries:
            if sec.proc.poll() is None:
                sec.proc.send_signal(signal.SIGTERM)
                try:
                    sec.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    sec.proc.kill()
                    sec.proc.wait()
            sec.errfile.close()


# -------------------------------------------------------------- queries ----

def pick4(rng, ranges):
    lo, hi = rng.choice(ranges)
    k = rng.random()
    if k < 0.45:
        a = rng.choice([lo - 1, lo, lo + 1, hi - 1, hi, hi + 1])
    elif k < 0.8:
        a = rng.randint(lo, hi)
    else:
        a = (lo & 0xFFFF0000) | rng.randrange(0, 1 << 16)
    return a & 0xFFFFFFFF


def pick6(rng, ranges):
    lo, hi = rng.choice(ranges)
    k = rng.random()
    if k < 0.45:
        a = rng.choice([lo - 1, lo, lo + 1, hi - 1, hi, hi + 1])
    elif k < 0.8:
        a = rng.randint(lo, hi)
    else:
        a = (lo & ~((1 << 96) - 1)) | rng.randrange(0, 1 << 96)
    return a & ((1 << 128) - 1)


def questions(data, n, rng):
    """(qname, rdtype) pairs, spread over the compared zones."""
    out = []
    zones4 = [(z, r) for z, r in data.ranges4.items()] + [("live.example", LIVE4)]
    zones6 = [(z, r) for z, r in data.ranges6.items()] + [("live.example", LIVE6)]
    while len(out) < n:
        kind = rng.random()
        rdtype = rng.choice(["A", "TXT"])
        if kind < 0.55:
            zone, ranges = rng.choice(zones4)
            a = pick4(rng, ranges)
            labels = rev4(ip4(a)).split(".")
            if rng.random() < 0.1:  # names above addresses: empty non-terminals
                labels = labels[rng.randint(1, 3):]
            out.append((".".join(labels + [zone]), rdtype))
        elif kind < 0.8:
            zone, ranges = rng.choice(zones6)
            if zone == "live.example":
                rdtype = "A"  # its IPv6 TXT names the address: see test_ipv6_txt_range
            out.append(("%s.%s" % (nib(ip6(pick6(rng, ranges))), zone), rdtype))
        elif kind < 0.95:
            zone = rng.choice(list(data.names))
            name = rng.choice(data.names[zone])
            if rng.random() < 0.4:
                name = "%s.%s" % (rng.choice(["a", "zz", "q1", "deep.x"]), name)
            out.append((zone if name == "@" else "%s.%s" % (name, zone), rdtype))
        else:
            zone = rng.choice(COMPARED)
            out.append(("%s.%s" % (rng.choice(["2.0.0.127", "1.0.0.127", "random", "1.1.1.1"]),
                                   zone), rdtype))
    return out


def key(r):
    if r is None:
        return None
    recs = set()
    for rrset in r.answer:
        for rd in rrset:
            recs.add((dns.rdatatype.to_text(rrset.rdtype), rd.to_text()))
    return (dns.rcode.to_text(r.rcode()), frozenset(recs))


def assert_answers_as_ours(sec, qs, ours):
    """The secondary sec answers every question of qs as dnsblkit did
    (ours): the same rcode and records, up to 15 differences shown."""
    theirs = batch_query(sec.port, qs)
    diffs = [(q, key(a), key(b)) for q, a, b in zip(qs, ours, theirs) if key(a) != key(b)]
    assert not diffs, "%s answers %d of %d queries otherwise, e.g.:\n%s" % (
        sec.name, len(diffs), len(qs),
        "\n".join("%s %s: dnsblkit %s, %s %s" % (q[0], q[1], a, sec.name, b)
                  for q, a, b in diffs[:15]))


def test_secondaries_answer_as_primary(env):
    rng = random.Random(SEED + 1)
    qs = questions(env.data, QUERIES, rng)
    ours = batch_query(env.port, qs)
    assert sum(1 for r in ours if r is None) == 0, "dnsblkit left queries unanswered"
    listed = sum(1 for r in ours if r.answer)
    nx = sum(1 for r in ours if r.rcode() == dns.rcode.NXDOMAIN)
    # The mix asks listed, excluded and unlisted names alike.
    assert listed > len(qs) // 5 and nx > len(qs) // 10, (listed, nx)
    for sec in env.secondaries:
        assert_answers_as_ours(sec, qs, ours)


def test_ipv6_txt_range(env):
    """Where the TXT names the address, an IPv6 range cannot be written
    out name by name: the secondaries' TXT names the range instead."""
    name = "%s.live.example" % nib("2a00:1450:4001:81b::77")
    assert txt_values(query(env.port, name, "TXT")) == {
        "Blocked - 2a00:1450:4001:81b::77 is listed"}
    for sec in env.secondaries:
        assert txt_values(query(sec.port, name, "TXT")) == {
            "Blocked - 2a00:1450:4001:81b::/64 is listed"}, sec.name


def axfr_records(port, zone, source=None):
    """(owner relative, type, rdata) of an AXFR, SOA and NS left out."""
    recs = set()
    msgs = dns.query.xfr("127.0.0.1", zone, port=port, source=source, lifetime=30)
    n = 0
    for m in msgs:
        for rrset in m.answer:
            for rd in rrset:
                n += 1
                if rrset.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
                    continue
                owner = rrset.name.relativize(dns.name.from_text(zone)).to_text()
                recs.add((owner, dns.rdatatype.to_text(rrset.rdtype), rd.to_text()))
    return recs, n


def test_export_bind_is_the_transfer(env):
    recs, total = axfr_records(env.port, "live.example")
    r = dbk(["export", "--config", env.cfg, "--zone", "live.example", "--format", "bind"])
    z = dns.zone.from_text(r.stdout, origin="live.example", relativize=True)
    exported = set()
    for owner, ttl, rd in z.iterate_rdatas():
        if rd.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
            continue
        exported.add((owner.to_text(), dns.rdatatype.to_text(rd.rdtype), rd.to_text()))
    assert exported == recs, (sorted(exported - recs)[:10], sorted(recs - exported)[:10])
    # Hosts, the /24 name by name without the allowlisted address, the
    # IPv6 /48 cut around its allowlisted /64, the test entries.
    assert ("4.3.2.1", "A", "127.0.0.2") in recs
    assert ("8.7.6.5", "A", "127.0.0.3") not in recs
    assert ("9.7.6.5", "TXT", '"Blocked - 5.6.7.9 is listed"') in recs
    assert ("2.0.0.127", "A", "127.0.0.2") in recs
    assert not any(o.startswith("*.1.0.0.0.8.f.4.0.1.0.a.2") for o, _, _ in recs)


def test_refused_client(env):
    """A client outside allow-transfer gets REFUSED and not one record,
    whichever way it asks; the refusal is logged with client and zone."""
    with pytest.raises(dns.xfr.TransferError) as ei:
        axfr_records(env.port, "set.example", source="127.0.0.2")
    assert ei.value.rcode == dns.rcode.REFUSED
    r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(env.port), "-b", "127.0.0.2",
                        "set.example", "AXFR"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr
    assert "IN\tA" not in r.stdout and "IN\tTXT" not in r.stdout
    # IXFR over TCP: the same; no SOA given away either.
    q = dns.message.make_query("set.example", "IXFR")
    q.authority.append(dns.rrset.from_text("set.example.", 0, "IN", "SOA",
                                           "a.example. b.example. 1 3600 600 86400 300"))
    rr = dns.query.tcp(q, "127.0.0.1", port=env.port, source="127.0.0.2", timeout=5)
    assert rr.rcode() == dns.rcode.REFUSED and not rr.answer
    time.sleep(0.2)
    log = env.srv.stderr()
    assert re.search(r"AXFR of set\.example refused to 127\.0\.0\.2/\d+: not in allow-transfer",
                     log), log[-2000:]


def test_udp_and_ixfr(env):
    # AXFR over UDP is not defined (RFC 5936 4.2).
    r = query(env.port, "set.example", "AXFR")
    assert r.rcode() == dns.rcode.NOTIMP and not r.answer
    # IXFR: over UDP our SOA alone (use TCP); over TCP the whole zone,
    # or the SOA alone for a client as new as us.
    serial = soa_serial(env.port, "set.example")
    q = dns.message.make_query("set.example", "IXFR")
    q.authority.append(dns.rrset.from_text("set.example.", 0, "IN", "SOA",
                                           "a.example. b.example. %d 3600 600 86400 300" % (serial - 1)))
    r = dns.query.udp(q, "127.0.0.1", port=env.port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR
    assert [rs.rdtype for rs in r.answer] == [dns.rdatatype.SOA]
    full = dns.query.tcp(q, "127.0.0.1", port=env.port, timeout=10)
    assert full.rcode() == dns.rcode.NOERROR
    assert full.answer[0].rdtype == dns.rdatatype.SOA and full.answer[0][0].serial == serial
    q.authority[0] = dns.rrset.from_text("set.example.", 0, "IN", "SOA",
                                         "a.example. b.example. %d 3600 600 86400 300" % serial)
    r = dns.query.tcp(q, "127.0.0.1", port=env.port, timeout=5)
    assert [rs.rdtype for rs in r.answer] == [dns.rdatatype.SOA]
    # Not a zone apex, not a zone of ours.
    r = dns.query.tcp(dns.message.make_query("x.set.example", "AXFR"), "127.0.0.1",
                      port=env.port, timeout=5)
    assert r.rcode() == dns.rcode.NOTAUTH and not r.answer
    r = dns.query.tcp(dns.message.make_query("nothing.example", "AXFR"), "127.0.0.1",
                      port=env.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED and not r.answer


def test_cap_refuses_with_a_log_line(env):
    with pytest.raises(dns.xfr.TransferError) as ei:
        axfr_records(env.port, "big.example")
    assert ei.value.rcode == dns.rcode.REFUSED
    time.sleep(0.2)
    assert re.search(r"AXFR of big\.example refused to 127\.0\.0\.1/\d+: more than 100 records.*"
                     r"raise transfer-max-records", env.srv.stderr())


def test_queries_during_a_transfer(env):
    """A transfer runs on its own thread from its own snapshot: queries on
    UDP and on other TCP connections are answered meanwhile."""
    s = socket.create_connection(("127.0.0.1", env.port))
    try:
        q = dns.message.make_query("set.example", "AXFR")
        w = q.to_wire()
        s.sendall(len(w).to_bytes(2, "big") + w)
        # Read nothing yet: the transfer waits on us. Others are served.
        for _ in range(20):
            assert query(env.port, "2.0.0.127.set.example", "A").answer
            assert query(env.port, "2.0.0.127.set.example", "A", tcp=True).answer
        s.settimeout(10)
        got = b""
        while b"\x00\x06" not in got[-600:] or len(got) < 1000:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        assert len(got) > 1000
    finally:
        s.close()


def test_counters(env):
    env.srv.send(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        m = re.findall(r"transfers: (\d+) sent \((\d+) records, (\d+) bytes\), (\d+) refused",
                       env.srv.stderr())
        if m:
            break
        time.sleep(0.1)
    assert m, env.srv.stderr()[-2000:]
    sent, records, _, refused = (int(x) for x in m[-1])
    # Two secondaries took every compared zone; clients were refused.
    assert sent >= 2 * len(COMPARED) and records > 1000 and refused >= 3


def test_secondaries_follow_a_reload(env):
    """A new serial reaches the secondaries at their next SOA refresh:
    they ask IXFR and get the difference from the history."""
    write(env.upd, UPD % (2, "192.0.2.1\n192.0.2.2\n"))
    env.srv.send(signal.SIGHUP)
    name = "2.2.0.192.upd.example"
    deadline = time.monotonic() + 20
    for sec in env.secondaries:
        while time.monotonic() < deadline:
            r = query(sec.port, name, "TXT")
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                break
            time.sleep(0.2)
        assert txt_values(query(sec.port, name, "TXT")) == {"Update 192.0.2.2"}, sec.name
        assert soa_serial(sec.port, "upd.example") == 2
    assert re.search(r"IXFR of upd\.example serial 1 -> 2 to ", env.srv.stderr())
