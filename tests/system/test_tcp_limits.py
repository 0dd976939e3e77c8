# TCP limits against the real server: connections per client address
# (past the share a new connection is closed at once while another
# address is served), a full table (new connections closed, UDP answered
# as before), the total time of a connection that keeps sending slowly,
# queries per connection (the one past the limit is not answered, the
# connection closes after the last answer), the idle timeout, and bad
# settings refused with file:line. Counters are read from the log line
# the server writes at its stop and from /metrics.
import os
import re
import socket
import struct
import time

import dns.message
import dns.rcode
import dns.rdatatype
import pytest
import requests

from conftest import (SANITIZE, a_values, free_port, make_query, query, run_dnsblkit,
                      tcp_recv_msg, write)

ZONE = "bl.example"
LISTED = "2.0.0.127.%s." % ZONE
DATA = "127.0.0.2\n192.0.2.0/24 :3:Blocked\n"
# Time margins for the sanitizer build, which answers more slowly.
SLACK = 3 if SANITIZE else 1


def start(factory, tmp, server_extra, http_port=None):
    data = write(os.path.join(tmp, "bl.ip4set"), DATA)
    text = "[server]\n%s\n[zone %s]\ndata = ip4set:%s\n" % (server_extra, ZONE, data)
    if http_port:
        text += "\n[http]\nlisten = 127.0.0.1/%d\n" % http_port
    cfg = write(os.path.join(tmp, "dnsblkit.conf"), text)
    return factory.start(["--config", cfg], zone=ZONE)


def framed(qid, qname=LISTED):
    q = make_query(qname, "A")
    q.id = qid
    w = q.to_wire()
    return struct.pack("!H", len(w)) + w


def connect(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def ask(s, qid):
    """One query on connection s; returns the answer's A values."""
    s.sendall(framed(qid))
    r = dns.message.from_wire(tcp_recv_msg(s))
    assert r.id == qid
    return a_values(r)


def closed_within(s, seconds):
    """Whether the server closes s (end of file or reset) within `seconds`,
    sending nothing; returns the seconds it took, or None."""
    s.settimeout(seconds)
    t0 = time.monotonic()
    try:
        data = s.recv(1)
    except socket.timeout:
        return None
    except ConnectionResetError:
        return time.monotonic() - t0
    assert data == b"", "the server sent %r" % data
    return time.monotonic() - t0


def tcp_counters(text):
    """The counters of the last 'tcp connections' log line."""
    line = [l for l in text.splitlines() if "tcp connections:" in l][-1]
    nums = [int(x) for x in re.findall(r"(\d+) (?:refused|idle|at)", line)]
    keys = ["full", "address", "idle", "time", "queries"]
    return dict(zip(keys, nums))


def metric(http_port, name):
    text = requests.get("http://127.0.0.1:%d/metrics" % http_port, timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[-1])
    raise AssertionError("no %s in /metrics" % name)


def test_connections_per_address(dnsblkit, tmp_path):
    http_port = free_port()
    srv = start(dnsblkit, str(tmp_path), "tcp-clients-per-address = 4\n", http_port=http_port)
    held = [connect(srv.port, "127.0.0.1") for _ in range(4)]
    try:
        for i, s in enumerate(held):
            assert ask(s, i) == {"127.0.0.2"}
        # The fifth from the same address is closed at once, unanswered.
        extra = connect(srv.port, "127.0.0.1")
        took = closed_within(extra, 3)
        extra.close()
        assert took is not None and took < 1.0 * SLACK, "fifth connection not closed (%s)" % took
        # Another address is served, with a share of its own.
        others = [connect(srv.port, "127.0.0.2") for _ in range(4)]
        for i, s in enumerate(others):
            assert ask(s, 100 + i) == {"127.0.0.2"}
        for s in others:
            s.close()
        # The first four are still open and answered.
        for i, s in enumerate(held):
            assert ask(s, 200 + i) == {"127.0.0.2"}
        # One of them closes: the address may open one again.
        held.pop().close()
        deadline = time.monotonic() + 3 * SLACK
        refused_again = 0
        while True:
            again = connect(srv.port, "127.0.0.1")
            try:
                assert ask(again, 300) == {"127.0.0.2"}
                held.append(again)
                break
            except (ConnectionError, OSError):
                # The server had not seen the close yet.
                again.close()
                refused_again += 1
                assert time.monotonic() < deadline, "no connection after one closed"
                time.sleep(0.1)
        assert metric(http_port,
                      'dnsblkit_tcp_connections_refused_total{reason="per_address"}') == \
            1 + refused_again
        assert metric(http_port,
                      'dnsblkit_tcp_connections_refused_total{reason="table_full"}') == 0
    finally:
        for s in held:
            s.close()
    status, err = srv.stop()
    assert status == 0, err
    c = tcp_counters(err)
    assert c["address"] == 1 + refused_again and c["full"] == 0, c
    assert "4 per client address" in err


def test_full_table_closes_new_connections_and_udp_goes_on(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "tcp-clients = 12\ntcp-clients-per-address = 4\n"
                "tcp-idle-timeout = 60\n")
    # Three addresses take the whole table.
    held = [connect(srv.port, "127.0.5.%d" % (i // 4 + 1)) for i in range(12)]
    try:
        for i, s in enumerate(held):
            assert ask(s, i) == {"127.0.0.2"}
        # A fourth address, within its own share, finds the table full.
        extra = connect(srv.port, "127.0.5.9")
        took = closed_within(extra, 3)
        extra.close()
        assert took is not None and took < 1.0 * SLACK
        # UDP does not notice.
        for i in range(50):
            r = query(srv.port, LISTED)
            assert r.rcode() == dns.rcode.NOERROR and a_values(r) == {"127.0.0.2"}
        # A freed place is taken again.
        held.pop().close()
        deadline = time.monotonic() + 3 * SLACK
        while True:
            again = connect(srv.port, "127.0.5.9")
            try:
                assert ask(again, 99) == {"127.0.0.2"}
                held.append(again)
                break
            except (ConnectionError, OSError):
                again.close()
                assert time.monotonic() < deadline, "no connection after one closed"
                time.sleep(0.1)
    finally:
        for s in held:
            s.close()
    status, err = srv.stop()
    assert status == 0, err
    c = tcp_counters(err)
    assert c["full"] >= 1 and c["address"] == 0, c


def test_total_time_closes_a_slow_sender(dnsblkit, tmp_path):
    # Never idle for tcp-idle-timeout: one byte of a query every 0.5 s.
    max_time = 3
    srv = start(dnsblkit, str(tmp_path),
                "tcp-idle-timeout = 2\ntcp-max-time = %d\n" % max_time)
    s = connect(srv.port, "127.0.0.1")
    msg = framed(1)
    t0 = time.monotonic()
    closed_at = None
    try:
        for b in msg * 10:  # longer than the limit at this pace
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic() - t0
                break
            s.settimeout(0.5)
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed_at = time.monotonic() - t0
                break
            if data == b"":
                closed_at = time.monotonic() - t0
                break
            # Each whole query that got through is answered meanwhile.
        assert closed_at is not None, "a slow sender kept its connection %.1f s" % (
            time.monotonic() - t0)
        assert max_time - 0.5 <= closed_at <= max_time + 2 * SLACK, closed_at
    finally:
        s.close()
    status, err = srv.stop()
    assert status == 0, err
    c = tcp_counters(err)
    assert c["time"] == 1 and c["idle"] == 0, c


def test_total_time_of_a_busy_connection(dnsblkit, tmp_path):
    # A client asking all the time is closed at tcp-max-time too; every
    # query it sent before is answered.
    srv = start(dnsblkit, str(tmp_path), "tcp-max-time = 2\ntcp-max-queries = 0\n")
    s = connect(srv.port, "127.0.0.1")
    t0 = time.monotonic()
    answered = 0
    try:
        while time.monotonic() - t0 < 6 * SLACK:
            try:
                assert ask(s, answered & 0xFFFF) == {"127.0.0.2"}
                answered += 1
            except (ConnectionError, OSError):
                break
            time.sleep(0.05)
        took = time.monotonic() - t0
    finally:
        s.close()
    assert 1.5 <= took <= 2 + 2 * SLACK, took
    assert answered > 10
    status, err = srv.stop()
    assert status == 0, err
    assert tcp_counters(err)["time"] == 1


def test_queries_per_connection_pipelined(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "tcp-max-queries = 5\n")
    s = connect(srv.port, "127.0.0.1")
    try:
        # Six at once: five answers, then the end of the connection.
        s.sendall(b"".join(framed(i) for i in range(6)))
        ids = []
        for _ in range(5):
            r = dns.message.from_wire(tcp_recv_msg(s))
            assert a_values(r) == {"127.0.0.2"}
            ids.append(r.id)
        assert ids == [0, 1, 2, 3, 4]
        assert closed_within(s, 3) is not None, "a sixth answer came, or no close"
    finally:
        s.close()
    # Other connections are not affected.
    assert a_values(query(srv.port, LISTED, tcp=True)) == {"127.0.0.2"}
    status, err = srv.stop()
    assert status == 0, err
    assert tcp_counters(err)["queries"] == 1


def test_queries_per_connection_one_by_one(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "tcp-max-queries = 3\n")
    s = connect(srv.port, "127.0.0.1")
    try:
        for i in range(3):
            assert ask(s, i) == {"127.0.0.2"}
        # Closed after the third answer, before any fourth query.
        took = closed_within(s, 3)
        assert took is not None and took < 1.0 * SLACK, took
        # A fourth query gets nothing.
        try:
            s.sendall(framed(3))
            s.settimeout(1)
            got = s.recv(2)
        except (ConnectionError, OSError):
            got = b""
        assert got == b""
    finally:
        s.close()
    status, err = srv.stop()
    assert status == 0, err
    assert tcp_counters(err)["queries"] == 1


def test_idle_timeout_still_closes(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "tcp-idle-timeout = 2\ntcp-max-time = 60\n")
    s = connect(srv.port, "127.0.0.1")
    try:
        assert ask(s, 1) == {"127.0.0.2"}
        took = closed_within(s, 10)
        assert took is not None and 1.0 <= took <= 2 + 2 * SLACK, took
    finally:
        s.close()
    status, err = srv.stop()
    assert status == 0, err
    c = tcp_counters(err)
    assert c["idle"] == 1 and c["time"] == 0, c


def test_defaults_are_on(dnsblkit, tmp_path):
    srv = start(dnsblkit, str(tmp_path), "")
    assert "tcp: at most 512 connections, 16 per client address, idle 10 s, 60 s and " \
        "100 queries per connection" in srv.stderr()
    s = connect(srv.port, "127.0.0.1")
    try:
        s.sendall(b"".join(framed(i & 0xFFFF) for i in range(101)))
        n = 0
        while True:
            try:
                tcp_recv_msg(s)
            except (ConnectionError, OSError):
                break
            n += 1
        assert n == 100
    finally:
        s.close()


@pytest.mark.parametrize("line,why", [
    ("tcp-clients-per-address = many", "bad tcp-clients-per-address 'many'"),
    ("tcp-clients-per-address = 70000", "bad tcp-clients-per-address '70000'"),
    ("tcp-max-time = -5", "bad tcp-max-time '-5'"),
    ("tcp-max-time = 10 s", "bad tcp-max-time '10 s'"),
    ("tcp-max-queries = 1e3", "bad tcp-max-queries '1e3'"),
    ("tcp-clients = 0", "bad tcp-clients '0'"),
])
def test_bad_settings_refused(tmp_path, line, why):
    data = write(str(tmp_path / "bl.ip4set"), DATA)
    cfg = write(str(tmp_path / "dnsblkit.conf"),
                "[server]\ntcp-idle-timeout = 5\n%s\n[zone %s]\ndata = ip4set:%s\n"
                % (line, ZONE, data))
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "--config", cfg])
    assert r.returncode != 0
    assert "%s:3: %s" % (cfg, why) in r.stderr, r.stderr


# --------------------------------------------------- zone transfers ----

def start_axfr(factory, tmp, server_extra, entries):
    """A zone of `entries` single addresses that 127.0.0.1 may transfer."""
    # Every other address: no two make one range, so each is a record.
    lines = ["10.%d.%d.%d" % (i >> 15 & 255, i >> 7 & 255, (i & 127) * 2)
             for i in range(entries)]
    data = write(os.path.join(tmp, "big.ip4set"), "\n".join(lines) + "\n127.0.0.2\n")
    cfg = write(os.path.join(tmp, "dnsblkit.conf"),
                "[server]\n%s\n[zone %s]\ndata = ip4set:%s\nallow-transfer = 127.0.0.1\n"
                % (server_extra, ZONE, data))
    return factory.start(["--config", cfg], zone=ZONE)


def skip_name(m, i):
    while True:
        n = m[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def read_axfr(s):
    """Read an AXFR's messages until the closing SOA; returns the number
    of answer records. Records are walked by hand: dnspython takes
    seconds for a few hundred thousand."""
    records, soas = 0, 0
    while soas < 2:
        m = tcp_recv_msg(s)
        qid, flags, qd, an = struct.unpack("!HHHH", m[:8])
        assert flags & 0xF == 0, "rcode %d" % (flags & 0xF)
        i = 12
        for _ in range(qd):
            i = skip_name(m, i) + 4
        for _ in range(an):
            i = skip_name(m, i)
            rtype, _, _, rdlen = struct.unpack("!HHIH", m[i:i + 10])
            i += 10 + rdlen
            records += 1
            soas += rtype == dns.rdatatype.SOA
        assert i <= len(m)
    return records


def axfr_wire(qid=7):
    q = dns.message.make_query(ZONE, "AXFR")
    q.id = qid
    w = q.to_wire()
    return struct.pack("!H", len(w)) + w


def test_transfer_outlasts_the_total_time(dnsblkit, tmp_path):
    # The reader waits before it reads: the zone is more than the socket
    # buffers hold, so the transfer streams for longer than tcp-max-time
    # and must arrive whole; then the connection is closed, its time up.
    entries = 300000
    srv = start_axfr(dnsblkit, str(tmp_path), "tcp-max-time = 1\ntcp-idle-timeout = 1\n",
                     entries)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10 * SLACK)
    s.connect(("127.0.0.1", srv.port))
    try:
        s.sendall(axfr_wire())
        time.sleep(2.5)
        records = read_axfr(s)
        # Every address and the test entry, SOA first and last, the NS.
        assert records >= entries + 3, records
        assert closed_within(s, 3 * SLACK) is not None, "kept open past tcp-max-time"
    finally:
        s.close()
    status, err = srv.stop()
    assert status == 0, err
    m = re.search(r"AXFR of bl\.example serial \d+ to \S+: (\d+) records.* in ([\d.]+) ms", err)
    assert m, err
    assert int(m.group(1)) == records
    # The transfer streamed past the connection's total time, uncut.
    assert float(m.group(2)) > 2000, m.group(0)
    c = tcp_counters(err)
    assert c["time"] == 1 and c["idle"] == 0, c


def test_transfer_as_the_last_query(dnsblkit, tmp_path):
    # tcp-max-queries = 2: an A query, then an AXFR, sent whole; the
    # connection closes after it, and a third query is not answered.
    srv = start_axfr(dnsblkit, str(tmp_path), "tcp-max-queries = 2\n", 100)
    s = connect(srv.port, "127.0.0.1")
    try:
        assert ask(s, 1) == {"127.0.0.2"}
        s.sendall(axfr_wire() + framed(3))
        assert read_axfr(s) >= 100 + 3
        assert closed_within(s, 3 * SLACK) is not None, "an answer after the last query"
    finally:
        s.close()
    status, err = srv.stop()
    assert status == 0, err
    assert tcp_counters(err)["queries"] == 1
