# DNS protocol behaviour where dnsblkit must do better than rbldnsd: TCP
# (RFC 7766), EDNS(0), truncation, empty non-terminals, apex SOA/NS,
# negative answers with SOA, minimal ANY, REFUSED/NOTIMP/FORMERR, garbage,
# and the query name's case echoed.
import random
import socket
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from conftest import (
    a_values,
    header_fields,
    query,
    raw_query,
    raw_udp,
    tcp_recv_msg,
    txt_values,
    write,
)

ZONE = "bl.example"
GEN = "gen.example"
NOSOA = "nosoa.example"

IP4_DATA = """\
# protocol test data
$SOA 3600 ns1.bl.example. hostmaster.bl.example. 7 1h 10m 1w 5m
$NS 3600 ns1.bl.example. ns2.bl.example.
:127.0.0.2:Listed $
10.1.2.3
10.1.2.4 :127.0.0.3:Relay $
192.168.0.0/24 :4:
127.0.0.2
"""

MANY_TXT = 30
GEN_DATA = "\n".join(
    ["$SOA 3600 ns1.gen.example. hostmaster.gen.example. 9 1h 10m 1w 5m",
     "$NS 3600 ns1.gen.example.",
     "www A 127.0.0.8"]
    + ['big TXT "record %02d %s"' % (i, "x" * 90) for i in range(MANY_TXT)]
    + ['long TXT "%s"' % ("L" * 250)]) + "\n"

NOSOA_DATA = "10.9.9.9 :2:no soa here\n"


@pytest.fixture(scope="module")
def srv(module_dnsblkit, tmp_path_factory):
    d = tmp_path_factory.mktemp("protodata")
    ip4 = write(d / "ip4.txt", IP4_DATA)
    gen = write(d / "gen.txt", GEN_DATA)
    nosoa = write(d / "nosoa.txt", NOSOA_DATA)
    return module_dnsblkit.start(["%s:ip4set:%s" % (ZONE, ip4),
                                  "%s:generic:%s" % (GEN, gen),
                                  "%s:ip4set:%s" % (NOSOA, nosoa)])


def soa_in_authority(msg, zone):
    return [rr for rr in msg.authority if rr.rdtype == dns.rdatatype.SOA
            and rr.name.to_text().rstrip(".").lower() == zone]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_listed_answers_a_and_txt(srv, tcp):
    r = query(srv.port, "3.2.1.10." + ZONE, "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert a_values(r) == {"127.0.0.2"}
    r = query(srv.port, "3.2.1.10." + ZONE, "TXT", tcp=tcp)
    assert txt_values(r) == {"Listed 10.1.2.3"}
    r = query(srv.port, "4.2.1.10." + ZONE, "TXT", tcp=tcp)
    assert txt_values(r) == {"Relay 10.1.2.4"}
    r = query(srv.port, "4.2.1.10." + ZONE, "A", tcp=tcp)
    assert a_values(r) == {"127.0.0.3"}


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_unlisted_is_nxdomain_with_soa(srv, tcp):
    r = query(srv.port, "5.2.1.10." + ZONE, "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert not r.answer
    soa = soa_in_authority(r, ZONE)
    assert soa and soa[0][0].serial == 7


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_nodata_carries_soa(srv, tcp):
    # Listed with an A value and no TXT: a TXT query is NODATA.
    r = query(srv.port, "9.0.168.192." + ZONE, "TXT", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert not r.answer
    assert soa_in_authority(r, ZONE)
    r = query(srv.port, "3.2.1.10." + ZONE, "MX", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert soa_in_authority(r, ZONE)


@pytest.mark.parametrize("name", ["2.1.10", "1.10", "10", "0.168.192", "0.0.127", "127"])
def test_empty_non_terminals_are_noerror(srv, name):
    for tcp in (False, True):
        r = query(srv.port, name + "." + ZONE, "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR, (name, dns.rcode.to_text(r.rcode()))
        assert not r.answer
        assert soa_in_authority(r, ZONE)


@pytest.mark.parametrize("name", ["3.1.10", "11", "5.10", "1.0.127", "9.168.192"])
def test_partial_name_with_nothing_below_is_nxdomain(srv, name):
    r = query(srv.port, name + "." + ZONE, "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, name


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_apex_soa_and_ns(srv, tcp):
    r = query(srv.port, ZONE, "SOA", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    soa = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
    assert soa and soa[0][0].serial == 7
    assert soa[0][0].mname.to_text() == "ns1.bl.example."
    r = query(srv.port, ZONE, "NS", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    ns = {rd.to_text() for rr in r.answer if rr.rdtype == dns.rdatatype.NS for rd in rr}
    assert ns == {"ns1.bl.example.", "ns2.bl.example."}


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_apex_soa_made_up_without_dollar_soa(srv, tcp):
    r = query(srv.port, NOSOA, "SOA", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    soa = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
    assert len(soa) == 1 and len(soa[0]) == 1
    r = query(srv.port, NOSOA, "NS", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    r = query(srv.port, "1.1.1.1." + NOSOA, "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert soa_in_authority(r, NOSOA)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_any_is_answered_minimally(srv, tcp):
    r = query(srv.port, "3.2.1.10." + ZONE, "ANY", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert sum(len(rr) for rr in r.answer) >= 1
    r = query(srv.port, "5.2.1.10." + ZONE, "ANY", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("name", ["example.com", "bl.example.org", "example", "xbl.example",
                                  "3.2.1.10.bl.example.net"])
def test_refused_outside_our_zones(srv, name, tcp):
    r = query(srv.port, name, "A", tcp=tcp)
    assert r.rcode() == dns.rcode.REFUSED


# ---------------------------------------------------------------- EDNS ----

@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("name,rcode", [("3.2.1.10." + ZONE, dns.rcode.NOERROR),
                                        ("5.2.1.10." + ZONE, dns.rcode.NXDOMAIN),
                                        ("example.com", dns.rcode.REFUSED)])
def test_edns_query_gets_opt_in_every_reply(srv, name, rcode, tcp):
    r = query(srv.port, name, "A", edns=0, payload=1232, tcp=tcp)
    assert r.rcode() == rcode
    assert r.edns == 0, "no OPT record in the reply"


def test_edns_reply_has_no_opt_without_edns(srv):
    r = query(srv.port, "3.2.1.10." + ZONE, "A")
    assert r.edns < 0


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_edns_version_1_is_badvers(srv, tcp):
    q = dns.message.make_query("3.2.1.10." + ZONE, "A")
    q.use_edns(1)  # make_query(use_edns=1) would mean "EDNS on", version 0
    q.flags &= ~dns.flags.RD
    r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0
    assert not r.answer


def test_truncation_without_edns_then_full_over_tcp(srv):
    q = dns.message.make_query("big." + GEN, "TXT")
    wire = raw_udp(srv.port, q.to_wire())
    assert wire is not None
    assert len(wire) <= 512
    assert header_fields(wire)[4] == 1, "TC bit not set on an answer that does not fit"
    r = query(srv.port, "big." + GEN, "TXT", tcp=True)
    assert not r.flags & dns.flags.TC
    assert len(txt_values(r)) == MANY_TXT


@pytest.mark.parametrize("payload", [512, 1232, 4096])
def test_edns_buffer_size_honoured(srv, payload):
    q = dns.message.make_query("big." + GEN, "TXT", use_edns=0, payload=payload)
    wire = raw_udp(srv.port, q.to_wire())
    assert wire is not None and len(wire) <= payload
    r = dns.message.from_wire(wire)
    assert r.edns == 0
    # The whole answer is about 3,450 bytes.
    full = payload < 3500
    assert bool(r.flags & dns.flags.TC) == full
    if not full:
        assert len(txt_values(r)) == MANY_TXT


def test_long_txt_and_generic_a(srv):
    r = query(srv.port, "long." + GEN, "TXT")
    assert txt_values(r) == {"L" * 250}
    r = query(srv.port, "www." + GEN, "A", tcp=True)
    assert a_values(r) == {"127.0.0.8"}


# ----------------------------------------------------------------- TCP ----

def tcp_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def framed(q):
    w = q.to_wire()
    return struct.pack("!H", len(w)) + w


def test_tcp_several_queries_sequentially_on_one_connection(srv):
    s = tcp_connect(srv.port)
    try:
        for i in range(10):
            q = dns.message.make_query("3.2.1.10." + ZONE, "A")
            q.id = 1000 + i
            s.sendall(framed(q))
            r = dns.message.from_wire(tcp_recv_msg(s))
            assert r.id == 1000 + i
            assert a_values(r) == {"127.0.0.2"}
    finally:
        s.close()


def test_tcp_pipelined_queries_all_answered(srv):
    names = {}
    blob = b""
    for i in range(20):
        name = ("3.2.1.10." if i % 3 == 0 else "4.2.1.10." if i % 3 == 1 else "8.8.8.8.") + ZONE
        q = dns.message.make_query(name, "A")
        q.id = 2000 + i
        names[q.id] = name
        blob += framed(q)
    s = tcp_connect(srv.port)
    try:
        s.sendall(blob)  # all in one write: the server must parse them all
        seen = set()
        for _ in range(20):
            r = dns.message.from_wire(tcp_recv_msg(s))
            assert r.id in names and r.id not in seen
            seen.add(r.id)
            name = names[r.id]
            assert r.question[0].name.to_text().rstrip(".") == name
            if name.startswith("3."):
                assert a_values(r) == {"127.0.0.2"}
            elif name.startswith("4."):
                assert a_values(r) == {"127.0.0.3"}
            else:
                assert r.rcode() == dns.rcode.NXDOMAIN
        assert seen == set(names)
    finally:
        s.close()


def test_tcp_length_prefix_split_across_writes(srv):
    q = dns.message.make_query("3.2.1.10." + ZONE, "A")
    data = framed(q)
    s = tcp_connect(srv.port)
    try:
        for b in data:
            s.sendall(bytes([b]))
            time.sleep(0.002)
        r = dns.message.from_wire(tcp_recv_msg(s))
        assert a_values(r) == {"127.0.0.2"}
    finally:
        s.close()


IDLE = 3


def test_tcp_idle_connection_closed_after_timeout(dnsblkit, tmp_path):
    data = write(tmp_path / "d.txt", IP4_DATA)
    conf = write(tmp_path / "dnsblkit.conf",
                 "[server]\ntcp-idle-timeout = %d\n[zone %s]\ndata = ip4set:%s\n"
                 % (IDLE, ZONE, data))
    s0 = dnsblkit.start([], args=["--config", conf])
    s = tcp_connect(s0.port)
    try:
        # Active use well inside the timeout keeps the connection.
        for _ in range(2):
            s.sendall(framed(dns.message.make_query("3.2.1.10." + ZONE, "A")))
            assert a_values(dns.message.from_wire(tcp_recv_msg(s))) == {"127.0.0.2"}
            time.sleep(IDLE / 3)
        start = time.monotonic()
        s.settimeout(IDLE + 10)
        try:
            closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        waited = time.monotonic() - start
        assert closed, "server sent data on an idle connection"
        assert waited < IDLE + 5, "idle connection kept %.1f s" % waited
        assert waited > IDLE / 3, "closed after only %.1f s" % waited
    finally:
        s.close()
    # And the server still accepts new connections.
    assert a_values(query(s0.port, "3.2.1.10." + ZONE, "A", tcp=True)) == {"127.0.0.2"}


# ------------------------------------------- opcodes, FORMERR, garbage ----

@pytest.mark.parametrize("opcode", [dns.opcode.NOTIFY, dns.opcode.STATUS, dns.opcode.IQUERY,
                                    dns.opcode.UPDATE, 6])
def test_other_opcodes_are_notimp(srv, opcode):
    wire = raw_udp(srv.port, raw_query("3.2.1.10." + ZONE, opcode=int(opcode)))
    assert wire is not None, "no reply to opcode %d" % opcode
    qid, qr, op, _aa, _tc, rcode, *_ = header_fields(wire)
    assert qid == 0x4242 and qr == 1
    assert rcode == dns.rcode.NOTIMP
    assert op == int(opcode)


def formerr_cases():
    good = raw_query("3.2.1.10." + ZONE)
    two_questions = raw_query("3.2.1.10." + ZONE, qdcount=2) + good[12:]
    return {
        "qdcount2": two_questions,
        "qdcount2-only-one-present": raw_query("3.2.1.10." + ZONE, qdcount=2),
        "truncated-question": good[:20],
        "truncated-qtype": good[:-3],
        "trailing-garbage": good + b"\x00\x01garbage",
        "label-past-end": good[:12] + b"\x3f" + b"abc",
    }


@pytest.mark.parametrize("case", list(formerr_cases()))
def test_malformed_queries_get_formerr(srv, case):
    wire = raw_udp(srv.port, formerr_cases()[case])
    assert wire is not None, "no reply to a malformed query with a readable header"
    qid, qr, _op, _aa, _tc, rcode, *_ = header_fields(wire)
    assert qid == 0x4242 and qr == 1
    assert rcode == dns.rcode.FORMERR
    # Still serving.
    assert a_values(query(srv.port, "3.2.1.10." + ZONE, "A")) == {"127.0.0.2"}


def test_garbage_never_crashes_the_server(srv):
    rng = random.Random(5782)
    good = raw_query("3.2.1.10." + ZONE)
    packets = [b"", b"\x00", b"\x12\x34", good[:11], b"\xff" * 12, b"\x00" * 512,
               good[:12] + b"\xc0\x0c" + b"\x00\x01\x00\x01"]  # pointer loop
    for _ in range(400):
        n = rng.choice([1, 5, 12, 13, 30, 60, 200, 600, 1400])
        packets.append(bytes(rng.getrandbits(8) for _ in range(n)))
        mutated = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
        packets.append(bytes(mutated))
    ids = {p[:2] for p in packets if len(p) >= 12}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", srv.port))
    s.settimeout(1.0)
    replies = []
    try:
        for i, p in enumerate(packets):
            s.send(p)
            if i % 50 == 49:
                time.sleep(0.01)  # stay under the socket buffers
        while True:
            try:
                replies.append(s.recv(65535))
            except (socket.timeout, ConnectionRefusedError):
                break
    finally:
        s.close()
    for wire in replies:
        assert len(wire) >= 12 and wire[2] & 0x80, "reply without QR: %r" % wire[:12]
        assert wire[:2] in ids, "reply with an id nobody sent"
    # Garbage over TCP too.
    for p in packets[:40]:
        t = tcp_connect(srv.port)
        try:
            t.sendall(struct.pack("!H", len(p)) + p)
            t.settimeout(0.2)
            try:
                t.recv(65535)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            t.close()
    assert srv.proc.poll() is None, "server died on garbage"
    r = query(srv.port, "3.2.1.10." + ZONE, "A")
    assert a_values(r) == {"127.0.0.2"}


def test_responses_are_not_answered(srv):
    # A packet with QR set is a reply; answering it invites reflection loops.
    wire = raw_udp(srv.port, raw_query("3.2.1.10." + ZONE, flags=0x8000), timeout=0.5)
    assert wire is None


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_query_name_case_is_echoed(srv, tcp):
    name = "3.2.1.10.Bl.ExAmPle"
    q = raw_query(name)
    if tcp:
        s = tcp_connect(srv.port)
        try:
            s.sendall(struct.pack("!H", len(q)) + q)
            wire = tcp_recv_msg(s)
        finally:
            s.close()
    else:
        wire = raw_udp(srv.port, q)
    assert wire is not None
    assert wire[12:len(q)] == q[12:], "question section not echoed byte for byte"
    r = dns.message.from_wire(wire)
    assert r.question[0].name.to_text() == name + "."
    assert a_values(r) == {"127.0.0.2"}
    r = query(srv.port, "2.0.0.127.bL.eXample", "A", tcp=tcp)
    assert r.question[0].name.to_text() == "2.0.0.127.bL.eXample."
    assert r.rcode() == dns.rcode.NOERROR
