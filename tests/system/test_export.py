# `dnsblkit export`: listings made with `dnsblkit list add` / `allow add`,
# exported as an rbldnsd file that the real rbldnsd and `dnsblkit serve`
# both load and answer the same from, and as a BIND zone file that
# named-checkzone and kzonecheck accept and knotd answers the same from;
# then the failure paths (bad format, unknown zone, missing database,
# unwritable output) and --json.
import ipaddress
import json
import os
import shutil
import subprocess
import time

import dns.rcode
import pytest

from conftest import (
    Server,
    a_values,
    free_port,
    query,
    run_dnsblkit,
    start_rbldnsd,
    txt_values,
    world_readable_dir,
    write,
)

ZONE = "bl.example"
NAMED_CHECKZONE = shutil.which("named-checkzone") or "/usr/bin/named-checkzone"
KZONECHECK = shutil.which("kzonecheck") or "/usr/bin/kzonecheck"
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"


def nib(addr):
    return ".".join(reversed(ipaddress.IPv6Address(addr).exploded.replace(":", "")))


def rev4(addr):
    return ".".join(reversed(addr.split(".")))


def qname(addr, zone=ZONE):
    return "%s.%s" % (nib(addr) if ":" in addr else rev4(addr), zone)


# address -> the A answer every server must give (None: not listed).
EXPECT = {
    "1.2.3.4": "127.0.0.2",
    "1.2.3.9": "127.0.0.4",
    "1.2.3.5": None,
    "1.2.3.77": None,   # listed, then allowlisted
    "5.6.7.1": "127.0.0.3",
    "5.6.7.255": "127.0.0.3",
    "5.6.7.8": None,    # allowlisted inside the listed /24
    "5.6.8.1": None,
    "46.4.9.9": "127.0.0.2",  # a host inside a listed /16
    "46.4.9.10": "127.0.0.3",  # the /16 around it, under the host's label
    "46.4.200.1": "127.0.0.3",
    "127.0.0.2": "127.0.0.2",  # RFC 5782 test entries
    "127.0.0.1": None,
    "2a00:1450:4001:81b::1234": "127.0.0.2",  # an IPv6 /64
    "2a00:1450:4001:81c::1": None,
    "2a01:4f8:1:7::1": "127.0.0.3",  # a /48
    "2a01:4f8:1::1": "127.0.0.3",
    "2a01:4f8:1:5::1": None,  # allowlisted /64 inside it
    "::ffff:7f00:2": "127.0.0.2",
}


def dbk(args, ok=True):
    r = run_dnsblkit(args)
    if ok:
        assert r.returncode == 0, "dnsblkit %s: %d\n%s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def db():
    """A listing database with the EXPECT data, in a world-readable
    directory for the exports (rbldnsd drops to its own user)."""
    d = world_readable_dir("dbk-export-")
    try:
        yield from _fill(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _fill(d):
    cfg = write(os.path.join(d, "dnsblkit.conf"),
                "[listing]\ndatabase = %s/l.db\n" % d)
    c = ["--config", cfg]
    dbk(["list", "add", ZONE, "1.2.3.4"] + c)
    dbk(["list", "add", ZONE, "1.2.3.9", "--code", "4", "--for", "7d"] + c)
    dbk(["list", "add", ZONE, "1.2.3.77"] + c)
    dbk(["allow", "add", ZONE, "1.2.3.77"] + c)
    dbk(["list", "add", ZONE, "5.6.7.0/24", "--code", "3"] + c)
    dbk(["allow", "add", ZONE, "5.6.7.8"] + c)
    dbk(["list", "add", ZONE, "46.4.0.0/16", "--code", "3"] + c)
    dbk(["list", "add", ZONE, "46.4.9.9"] + c)
    dbk(["list", "add", ZONE, "2a00:1450:4001:81b::1"] + c)
    dbk(["list", "add", ZONE, "2a01:4f8:1::/48", "--code", "3"] + c)
    dbk(["allow", "add", ZONE, "2a01:4f8:1:5::/64"] + c)
    dbk(["list", "add", "v4.example", "1.2.3.4"] + c)
    dbk(["list", "add", "v4.example", "5.6.7.0/24", "--code", "3"] + c)
    yield d, cfg


def check_answers(port, who, zone=ZONE, expect=EXPECT):
    for addr, want in expect.items():
        r = query(port, qname(addr, zone), "A")
        got = a_values(r)
        if want is None:
            assert not got, "%s lists %s: %s" % (who, addr, got)
            assert r.rcode() in (dns.rcode.NXDOMAIN, dns.rcode.NOERROR), (who, addr)
        else:
            assert r.rcode() == dns.rcode.NOERROR, (who, addr, r.rcode())
            assert got == {want}, "%s answers %s for %s, want %s" % (who, got, addr, want)


def test_rbldnsd_format_loads_in_rbldnsd_and_dnsblkit(db, dnsblkit):
    d, cfg = db
    out = os.path.join(d, "bl.rbldnsd")
    write(out, "old contents\n")
    r = dbk(["export", "--config", cfg, "--zone", ZONE, "--format", "rbldnsd",
             "--output", out, "--ttl", "10m"])
    assert r.stderr.strip() == "exported 4 hosts, 3 blocks, 3 exclusions to %s" % out
    assert r.stdout == ""
    text = open(out).read()
    assert "$DATASET ip4set @\n" in text and "$DATASET ip6trie @\n" in text
    assert "$TTL 600\n" in text
    assert "\n!5.6.7.8\n" in text and "\n!2a01:4f8:1:5::/64\n" in text
    assert "\n!1.2.3.77\n" in text and "\n1.2.3.77" not in text
    # Replaced atomically: nothing left beside it.
    assert not [f for f in os.listdir(d) if ".tmp." in f]
    assert os.stat(out).st_mode & 0o004

    spec = "%s:combined:%s" % (ZONE, out)
    ref = start_rbldnsd([spec], d)
    try:
        check_answers(ref.port, "rbldnsd")
        r = query(ref.port, qname("1.2.3.4"), "TXT")
        assert txt_values(r) == {"Blocked - 1.2.3.4 is listed"}
        r = query(ref.port, qname("5.6.7.1"), "TXT")
        assert txt_values(r) == {"Blocked - 5.6.7.1 is listed"}
        r = query(ref.port, qname("1.2.3.4"), "A")
        assert r.answer[0].ttl == 600
    finally:
        ref.stop()
    ours = dnsblkit.start([spec])
    check_answers(ours.port, "dnsblkit serve")
    r = query(ours.port, qname("5.6.7.1"), "TXT")
    assert txt_values(r) == {"Blocked - 5.6.7.1 is listed"}
    r = query(ours.port, qname("1.2.3.4"), "A")
    assert r.answer[0].ttl == 600


def test_rbldnsd_format_without_ipv6_is_still_combined(db, dnsblkit):
    """The mirror's zone spec must not change the day IPv6 is listed: the
    file is combined, with an IPv6 section holding only the test entry."""
    d, cfg = db
    out = os.path.join(d, "v4.rbldnsd")
    dbk(["export", "--config", cfg, "--zone", "v4.example", "--format", "rbldnsd",
         "--output", out])
    text = open(out).read()
    lines = [l for l in text.splitlines() if not l.startswith("#")]
    assert lines == ["$TTL 2100", "$DATASET ip4set @", ":127.0.0.2:Blocked - $ is listed",
                     "127.0.0.2 :2:RFC 5782 test entry", "1.2.3.4",
                     "5.6.7.0/24 :3:Blocked - $ is listed", "$DATASET ip6trie @",
                     ":127.0.0.2:Blocked - $ is listed", "::ffff:7f00:2 :2:RFC 5782 test entry"]
    expect = {"1.2.3.4": "127.0.0.2", "5.6.7.9": "127.0.0.3", "1.2.3.9": None,
              "127.0.0.2": "127.0.0.2", "127.0.0.1": None}
    spec = "v4.example:combined:%s" % out
    ref = start_rbldnsd([spec], d, zone="v4.example")
    try:
        check_answers(ref.port, "rbldnsd", "v4.example", expect)
    finally:
        ref.stop()
    ours = dnsblkit.start([spec], zone="v4.example")
    check_answers(ours.port, "dnsblkit serve", "v4.example", expect)


def run_tool(argv):
    if not os.access(argv[0], os.X_OK):
        pytest.fail("%s is not installed (scripts/deps.sh installs it)" % argv[0])
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def export_bind(db, name, extra=()):
    d, cfg = db
    out = os.path.join(d, name)
    dbk(["export", "--config", cfg, "--zone", ZONE, "--format", "bind", "--output", out]
        + list(extra))
    return out


@pytest.mark.parametrize("extra", [(), ("--ns", "a.ns.example.net.", "--ns", "b.ns.example.org.",
                                        "--hostmaster", "noc@example.org", "--ttl", "300")],
                         ids=["defaults", "ns-hostmaster"])
def test_bind_format_passes_zone_checkers(db, extra):
    out = export_bind(db, "bl-%d.zone" % len(extra), extra)
    r = run_tool([NAMED_CHECKZONE, ZONE, out])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout
    r = run_tool([KZONECHECK, "-o", ZONE, out])
    assert r.returncode == 0, r.stdout + r.stderr


def test_bind_format_answers_in_knot(db, tmp_path):
    """The wildcards, the names under them and the exclusions mean in a
    real authoritative server what the live dataset means."""
    out = export_bind(db, "knot.zone")
    if not os.access(KNOTD, os.X_OK):
        pytest.fail("%s is not installed (scripts/deps.sh installs it)" % KNOTD)
    port = free_port()
    run = tmp_path / "knot"
    run.mkdir()
    conf = write(run / "knot.conf", """server:
    listen: 127.0.0.1@%d
    rundir: %s
database:
    storage: %s
template:
  - id: default
    storage: %s
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: on
zone:
  - domain: %s
    file: %s
log:
  - target: stderr
    any: info
""" % (port, run, run, run, ZONE, out))
    knot = Server([KNOTD, "-c", conf], port, ZONE, str(tmp_path), name="knotd")
    try:
        knot.wait_ready(timeout=20)
        check_answers(port, "knotd")
        r = query(port, qname("1.2.3.4"), "TXT")
        assert txt_values(r) == {"Blocked - 1.2.3.4 is listed"}
        # A block whose TXT names the address is written name by name (the
        # TXT the live zone answers); the allowlisted address inside it is
        # NXDOMAIN, as in the live zone.
        r = query(port, qname("5.6.7.1"), "TXT")
        assert txt_values(r) == {"Blocked - 5.6.7.1 is listed"}
        r = query(port, qname("5.6.7.8"), "TXT")
        assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer
        r = query(port, ZONE, "SOA")
        assert r.rcode() == dns.rcode.NOERROR and r.answer
        assert abs(r.answer[0][0].serial - time.time()) < 600
    finally:
        knot.stop()


def test_stdout_and_json(db):
    d, cfg = db
    r = dbk(["export", "--config", cfg, "--zone", ZONE, "--format", "bind"])
    assert r.stdout.startswith("; %s: listings in force at " % ZONE)
    assert "\n$ORIGIN %s.\n" % ZONE in r.stdout
    assert "\n4.3.2.1 IN A 127.0.0.2\n" in r.stdout
    assert r.stderr == ""
    out = os.path.join(d, "json.zone")
    r = dbk(["export", "--config", cfg, "--zone", ZONE, "--format", "bind", "--output", out,
             "--json"])
    assert json.loads(r.stdout) == {"zone": ZONE, "format": "bind", "hosts": 4, "blocks": 3,
                                    "exclusions": 2, "output": out}
    assert r.stderr == ""


def test_unknown_zone_exports_an_empty_valid_file(db):
    d, cfg = db
    out = os.path.join(d, "empty.zone")
    r = dbk(["export", "--config", cfg, "--zone", "nothing.example", "--format", "bind",
             "--output", out, "--json"])
    assert json.loads(r.stdout)["hosts"] == 0
    assert "warning" in r.stderr and "nothing.example" in r.stderr
    r = run_tool([NAMED_CHECKZONE, "nothing.example", out])
    assert r.returncode == 0, r.stdout + r.stderr


def test_failures(db):
    d, cfg = db
    base = ["export", "--config", cfg, "--zone", ZONE]
    r = dbk(base + ["--format", "tinydns"], ok=False)
    assert r.returncode == 2 and "unknown format 'tinydns'" in r.stderr
    r = dbk(["export", "--config", cfg, "--format", "bind"], ok=False)
    assert r.returncode == 2 and "--zone" in r.stderr
    r = dbk(base + ["--format", "bind", "--json"], ok=False)
    assert r.returncode == 2 and "--json needs --output" in r.stderr
    r = dbk(base + ["--format", "bind", "--ns", "ns1.bl.example."], ok=False)
    assert r.returncode == 2 and "inside the zone" in r.stderr
    r = dbk(base + ["--format", "bind", "--ttl", "soon"], ok=False)
    assert r.returncode == 2 and "--ttl" in r.stderr
    r = dbk(base + ["--format", "bind", "--output", os.path.join(d, "no", "such.zone")],
            ok=False)
    assert r.returncode == 1 and os.path.join(d, "no", "such.zone") in r.stderr
    assert "No such file or directory" in r.stderr

    # The database must exist: a wrong path must not export nothing quietly.
    other = write(os.path.join(d, "other.conf"), "[listing]\ndatabase = %s/none.db\n" % d)
    r = dbk(["export", "--config", other, "--zone", ZONE, "--format", "bind"], ok=False)
    assert r.returncode == 1 and "none.db" in r.stderr
    assert not os.path.exists(os.path.join(d, "none.db"))

    r = dbk(["export", "--help"])
    for opt in ("--config", "--zone", "--format", "--output", "--ttl", "--ns", "--hostmaster",
                "--json"):
        assert opt in r.stdout, opt
