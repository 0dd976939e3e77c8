# Response rate limiting, against the real server: a burst of UDP queries
# from one network gets `rate-limit` answers per second, every slip-th of
# the rest an empty truncated reply, nothing for the others; TCP is never
# limited; exempt and other networks keep their answers; /metrics counts
# what was withheld, and bad settings stop the server with file:line.
import os
import select
import socket
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, make_query, run_dnsblkit

ZONE = "bl.example"
LISTED = "2.0.0.127.%s." % ZONE
DATA = "127.0.0.2\n192.0.2.0/24 :3:Blocked\n"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def start(factory, tmp, server_extra, http_port=None, hosts=("127.0.0.1",)):
    data = write(os.path.join(tmp, "bl.ip4set"), DATA)
    text = "[server]\n%s\n[zone %s]\ndata = ip4set:%s\n" % (server_extra, ZONE, data)
    if http_port:
        text += "\n[http]\nlisten = 127.0.0.1/%d\n" % http_port
    cfg = write(os.path.join(tmp, "dnsblkit.conf"), text)
    return factory.start(["--config", cfg], zone=ZONE, hosts=hosts)


def burst(port, n, source, qname=LISTED, edns=None, host="127.0.0.1"):
    """Send n queries from `source` back to back, then collect the replies
    (each has its own id). Returns (full answers, truncated empty replies,
    seconds the sending took)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((source, 0))
    wires = {}
    for i in range(n):
        q = make_query(qname, "A", edns=edns)
        q.id = i
        wires[i] = q.to_wire()
    t0 = time.monotonic()
    for i in range(n):
        s.sendto(wires[i], (host, port))
    took = time.monotonic() - t0
    full, slipped = 0, 0
    seen = set()
    deadline = time.monotonic() + 3.0
    while len(seen) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], min(left, 0.5))[0]:
            break
        r = dns.message.from_wire(s.recv(65535))
        assert r.id not in seen, "two replies to query %d" % r.id
        seen.add(r.id)
        assert r.rcode() == dns.rcode.NOERROR
        if r.flags & dns.flags.TC:
            # A slipped reply: the question and nothing else, so it can
            # amplify nothing.
            assert not r.answer and not r.authority
            assert str(r.question[0].name) == qname
            slipped += 1
        else:
            assert [rr.to_text() for rrs in r.answer for rr in rrs] == ["127.0.0.2"]
            full += 1
    s.close()
    return full, slipped, took


def budget(rate, took):
    """The most a burst may get: one budget per second it touched."""
    return rate * (int(took) + 2)


def scrape(http_port):
    r = requests.get("http://127.0.0.1:%d/metrics" % http_port, timeout=5)
    assert r.status_code == 200
    fams = {f.name: f for f in text_string_to_metric_families(r.text)}
    return {s.labels["action"]: s.value for s in fams["dnsblkit_dns_rate_limited"].samples
            if s.name == "dnsblkit_dns_rate_limited_total"}


def test_burst_is_limited_and_counted(dnsblkit, tmp_path):
    http_port = free_port()
    srv = start(dnsblkit, str(tmp_path),
                "rate-limit = 20\nrate-limit-slip = 2\nrate-limit-exempt = none\n", http_port)
    n = 300
    full, slipped, took = burst(srv.port, n, "127.0.5.1")
    assert 20 <= full <= budget(20, took), (full, took)
    limited = n - full
    # Every second limited response to the network slips.
    assert slipped == limited // 2, (slipped, limited)
    deadline = time.monotonic() + 5
    while True:
        m = scrape(http_port)
        if m["slipped"] + m["dropped"] >= limited or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert m == {"slipped": slipped, "dropped": limited - slipped}, (m, full, slipped)
    assert "rate limit: 20 UDP responses per second" in srv.stderr()


def test_networks_have_their_own_budget_and_tcp_is_free(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "rate-limit = 10\nrate-limit-slip = 0\nrate-limit-exempt = none\n")
    full, slipped, took = burst(srv.port, 100, "127.0.6.1")
    assert 10 <= full <= budget(10, took) and slipped == 0, (full, slipped)
    # Another /24 is untouched by the first one's flood.
    full, _, took = burst(srv.port, 10, "127.0.7.1")
    assert full == 10
    # TCP cannot be spoofed: never limited, even from the flooded network.
    for _ in range(50):
        q = make_query(LISTED, "A")
        r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=2, source="127.0.6.1")
        assert r.rcode() == dns.rcode.NOERROR and r.answer


def test_slip_sends_resolvers_to_tcp(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "rate-limit = 5\nrate-limit-slip = 1\nrate-limit-exempt = none\n")
    full, slipped, _ = burst(srv.port, 60, "127.0.8.1", edns=0)
    assert full + slipped == 60 and full >= 5, (full, slipped)
    # A resolver that honours TC (here dnspython's fallback) still gets
    # the real answer while its network is over the limit.
    got_tcp = 0
    for _ in range(20):
        q = make_query(LISTED, "A", edns=0)
        r, used_tcp = dns.query.udp_with_fallback(q, "127.0.0.1", port=srv.port, timeout=2,
                                                  source="127.0.8.1")
        assert [rr.to_text() for rrs in r.answer for rr in rrs] == ["127.0.0.2"]
        got_tcp += used_tcp
    assert got_tcp > 0


def test_ipv6_clients(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path),
                "rate-limit = 10\nrate-limit-slip = 1\nrate-limit-exempt = none\n",
                hosts=("::1",))
    # Loopback is the only IPv6 network here: the readiness probe came
    # from it too and may have spent some of this second's budget.
    full, slipped, took = burst(srv.port, 100, "::1", host="::1")
    assert 5 <= full <= budget(10, took) and full + slipped == 100, (full, slipped)


def test_exempt_network_and_the_defaults(dnsblkit, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    # The configuration's exemptions replace the default (loopback).
    srv = start(dnsblkit, str(a), "rate-limit = 5\nrate-limit-exempt = 10.0.0.0/8, 127.0.9.0/24\n")
    full, slipped, _ = burst(srv.port, 200, "127.0.9.1")
    assert (full, slipped) == (200, 0)
    full, _, took = burst(srv.port, 100, "127.0.10.1")
    assert 5 <= full <= budget(5, took)
    # By default: on, 1000 a second, loopback exempt.
    dflt = start(dnsblkit, str(b), "")
    assert burst(dflt.port, 1500, "127.0.11.1")[:2] == (1500, 0)
    assert "rate limit: 1000 UDP responses per second" in dflt.stderr()
    # rate-limit = 0 turns it off.
    off = start(dnsblkit, str(c), "rate-limit = 0\nrate-limit-exempt = none\n")
    assert burst(off.port, 1500, "127.0.12.1")[:2] == (1500, 0)
    assert "rate limit:" not in off.stderr()


@pytest.mark.parametrize("line,why", [
    ("rate-limit = lots", "bad rate-limit 'lots'"),
    ("rate-limit-slip = 1000", "bad rate-limit-slip '1000'"),
    ("rate-limit-ipv6-prefix = 0", "bad rate-limit-ipv6-prefix '0'"),
    ("rate-limit-exempt = 10.0.0.0/8 not-a-net", "bad rate-limit-exempt network 'not-a-net'"),
])
def test_bad_settings_refused(tmp_path, line, why):
    data = write(str(tmp_path / "bl.ip4set"), DATA)
    cfg = write(str(tmp_path / "dnsblkit.conf"),
                "[server]\nrate-limit = 10\n%s\n[zone %s]\ndata = ip4set:%s\n" % (line, ZONE, data))
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "--config", cfg])
    assert r.returncode != 0
    assert "%s:3: %s" % (cfg, why) in r.stderr, r.stderr
