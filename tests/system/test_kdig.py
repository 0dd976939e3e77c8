# A second, independent DNS client: kdig (knot-dnsutils) queries the server
# over UDP and TCP, with and without EDNS, and we parse its text output.
import os
import re
import subprocess

import pytest

from conftest import KDIG, write

pytestmark = pytest.mark.skipif(not os.access(KDIG, os.X_OK), reason="kdig not installed")

ZONE = "bl.example"
DATA = """\
$SOA 600 ns1.bl.example. hostmaster.bl.example. 77 1h 10m 1w 5m
$NS 600 ns1.bl.example.
:127.0.0.2:Listed $
10.0.0.1
10.0.0.2 :127.0.0.4:Other $
"""
BIG = 25
GEN = "\n".join(['big TXT "txt %02d %s"' % (i, "k" * 100) for i in range(BIG)]) + "\n"


@pytest.fixture(scope="module")
def srv(module_dnsblkit, tmp_path_factory):
    d = tmp_path_factory.mktemp("kdig")
    return module_dnsblkit.start(["%s:ip4set:%s" % (ZONE, write(d / "d.txt", DATA)),
                                  "gen.example:generic:%s" % write(d / "g.txt", GEN)])


class Kdig:
    def __init__(self, out):
        self.out = out
        statuses = re.findall(r"status: (\w+)", out)
        self.status = statuses[0] if statuses else None
        m = re.search(r";; Flags: ([a-z ]*);", out)
        self.flags = set(m.group(1).split()) if m else set()
        m = re.search(r"ANSWER: (\d+); AUTHORITY: (\d+); ADDITIONAL: (\d+)", out)
        self.counts = tuple(int(x) for x in m.groups()) if m else None
        self.edns = ";; EDNS PSEUDOSECTION:" in out
        self.records = re.findall(r"^(\S+)\s+(\d+)\s+IN\s+(\w+)\s+(.*)$", out, re.M)

    def values(self, rdtype):
        return {v.strip() for _n, _t, t, v in self.records if t == rdtype}


def kdig(srv, *args, host="127.0.0.1"):
    r = subprocess.run([KDIG, "@" + host, "-p", str(srv.port), "+retry=1", "+timeout=3"]
                       + list(args), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    return Kdig(r.stdout)


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_listed_a_and_txt(srv, transport):
    k = kdig(srv, transport, "1.0.0.10." + ZONE, "A")
    assert k.status == "NOERROR" and "aa" in k.flags and "qr" in k.flags
    assert k.values("A") == {"127.0.0.2"}
    k = kdig(srv, transport, "2.0.0.10." + ZONE, "TXT")
    assert k.values("TXT") == {'"Other 10.0.0.2"'}


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_nxdomain_has_soa_in_authority(srv, transport):
    k = kdig(srv, transport, "3.0.0.10." + ZONE, "A")
    assert k.status == "NXDOMAIN"
    assert k.counts[0] == 0 and k.counts[1] >= 1
    soa = k.values("SOA")
    assert soa and soa.pop().split()[2] == "77"


def test_edns_opt_on_every_reply(srv):
    for name, status in [("1.0.0.10." + ZONE, "NOERROR"), ("3.0.0.10." + ZONE, "NXDOMAIN"),
                         ("example.com", "REFUSED")]:
        k = kdig(srv, "+edns=0", name, "A")
        assert k.status == status and k.edns, k.out


def test_no_edns_no_opt(srv):
    k = kdig(srv, "+noedns", "1.0.0.10." + ZONE, "A")
    assert not k.edns


def test_edns_version_1_gets_badvers(srv):
    k = kdig(srv, "+edns=1", "1.0.0.10." + ZONE, "A")
    assert k.status == "BADVERS", k.out
    assert re.search(r"Version: 0", k.out), k.out


def test_truncated_over_udp_then_full_over_tcp(srv):
    k = kdig(srv, "+notcp", "+noedns", "+ignore", "big.gen.example", "TXT")
    assert "tc" in k.flags, k.out
    k = kdig(srv, "+notcp", "+bufsize=1232", "+ignore", "big.gen.example", "TXT")
    assert "tc" in k.flags, k.out
    k = kdig(srv, "+notcp", "+bufsize=4096", "big.gen.example", "TXT")
    assert "tc" not in k.flags and len(k.values("TXT")) == BIG
    k = kdig(srv, "+tcp", "big.gen.example", "TXT")
    assert "tc" not in k.flags and len(k.values("TXT")) == BIG


def test_apex_soa_and_ns(srv):
    k = kdig(srv, ZONE, "SOA")
    assert k.status == "NOERROR" and k.values("SOA")
    k = kdig(srv, "+tcp", ZONE, "NS")
    assert k.values("NS") == {"ns1.bl.example."}


def test_several_queries_on_one_tcp_connection(srv):
    r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(srv.port), "+tcp", "+keepopen",
                        "1.0.0.10." + ZONE, "A", "2.0.0.10." + ZONE, "A",
                        "3.0.0.10." + ZONE, "A"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.findall(r"status: (\w+)", r.stdout) == ["NOERROR", "NOERROR", "NXDOMAIN"]
