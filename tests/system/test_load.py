# Bounded load on loopback: a UDP flood from one network is rate-limited
# while a client elsewhere is served as before, and a full table of idle
# TCP connections does not slow UDP answers. Each test runs a few seconds;
# the numbers it asserts are generous bounds, so that a slow CI machine
# passes and a server that stalls does not.
import os
import resource
import socket
import statistics
import threading
import time

import dns.message
import dns.rcode

from conftest import SANITIZE, free_port, make_query, write

ZONE = "bl.example"
LISTED = "2.0.0.127.%s." % ZONE
SLOW = 3 if SANITIZE else 1


def start(factory, tmp, server_extra=""):
    data = write(os.path.join(tmp, "bl.ip4set"), "127.0.0.2\n192.0.2.0/24\n")
    cfg = write(os.path.join(tmp, "dnsblkit.conf"),
                "[server]\n%s\n[zone %s]\ndata = ip4set:%s\n" % (server_extra, ZONE, data))
    return factory.start(["--config", cfg], zone=ZONE)


def latencies(port, n, source, gap=0.002):
    """n queries one at a time from `source`: each one's round trip, or
    None when no answer came within a second."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(1.0)
    out = []
    for i in range(n):
        q = make_query(LISTED, "A")
        q.id = i
        t0 = time.monotonic()
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        got = None
        while got is None:
            try:
                r = dns.message.from_wire(s.recv(4096))
            except socket.timeout:
                break
            if r.id == i:
                assert r.rcode() == dns.rcode.NOERROR and r.answer
                got = time.monotonic() - t0
        out.append(got)
        time.sleep(gap)
    s.close()
    return out


def flood(port, source, seconds, rate, sent):
    """`rate` queries a second from `source` for `seconds`, replies unread:
    many times what the rate limit lets through, and bounded, so that what
    is measured is the server, not the kernel dropping what no one reads
    in time on a busy two-core machine."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    wire = make_query(LISTED, "A").to_wire()
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        for _ in range(100):
            s.sendto(wire, ("127.0.0.1", port))
        n += 100
        ahead = n / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    s.close()
    sent.append(n)


def test_udp_flood_from_one_network_spares_the_others(dnsblkit, tmp_path):
    # The client elsewhere asks a few hundred a second, within its own
    # network's budget; the flood is 25 times the budget.
    srv = start(dnsblkit, str(tmp_path), "rate-limit = 1000\nrate-limit-exempt = none\n")
    before = latencies(srv.port, 100, "127.0.9.1")
    sent = []
    t = threading.Thread(target=flood, args=(srv.port, "127.0.8.1", 3.0, 25000 // SLOW, sent))
    t.start()
    time.sleep(0.3)
    during = latencies(srv.port, 300, "127.0.9.1")
    t.join()
    assert sent[0] > 50000 // SLOW, "the flood sent only %d queries" % sent[0]
    assert None not in during, "%d of 300 unanswered during the flood" % during.count(None)
    # A generous bound: the median stays within a few milliseconds of the
    # quiet one (the flooder shares the machine's two cores).
    q, f = statistics.median(before), statistics.median(during)
    assert f < q + 0.005 * SLOW, "median %.2f ms during the flood, %.2f ms before" % (
        f * 1000, q * 1000)
    status, err = srv.stop()
    assert status == 0, err
    # The flood was limited: most of it dropped or slipped.
    line = [l for l in err.splitlines() if "rate-limited" in l][-1]
    limited = int(line.split(" rate-limited")[0].rsplit(" ", 1)[1])
    assert limited > sent[0] // 2, line


def test_idle_tcp_connections_do_not_slow_udp(dnsblkit, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    srv = start(dnsblkit, str(tmp_path), "tcp-idle-timeout = 60\ntcp-max-time = 0\n")
    before = latencies(srv.port, 200, "127.0.10.1")
    conns, refused = [], 0
    try:
        for i in range(1000):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(2)
            try:
                # Each from an address of its own, so that the table fills
                # rather than one address's share (tcp-clients-per-address).
                c.bind(("127.0.%d.%d" % (20 + i // 250, i % 250 + 1), 0))
                c.connect(("127.0.0.1", srv.port))
                conns.append(c)
            except OSError:
                refused += 1
                c.close()
        time.sleep(0.5)
        during = latencies(srv.port, 200, "127.0.10.1")
        # TCP still answers once a connection is free (the server keeps
        # at most tcp-clients, 512, and closes what is past that).
        assert len(conns) + refused == 1000
        assert None not in during, "%d of 200 unanswered" % during.count(None)
        q, f = statistics.median(before), statistics.median(during)
        assert f < q + 0.003 * SLOW, "median %.2f ms with 1000 idle TCP connections, %.2f ms " \
            "without" % (f * 1000, q * 1000)
        assert srv.proc.poll() is None
    finally:
        for c in conns:
            c.close()
    status, err = srv.stop()
    assert status == 0, err
    # Every connection past the 512th was closed at once for the full
    # table, none for an address's share.
    line = [l for l in err.splitlines() if "tcp connections:" in l][-1]
    assert "%d refused (table full), 0 refused (per address)" % (len(conns) - 512) in line, line
