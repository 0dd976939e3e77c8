# `dnsblkit policyd`, Postfix's SMTP access policy delegation server, as
# Postfix talks to it: name=value requests ending with an empty line, one
# "action=..." answer each, many requests (pipelined or trickling in) per
# connection, TCP and unix sockets, many connections at once. The lists are
# served by `dnsblkit serve`, which policyd asks directly as its resolver.
# Also: the allowlist, the mark score, a list that never answers (DUNNO, or
# DEFER_IF_PERMIT when so configured: a dead list never rejects mail),
# malformed requests (the connection is closed without an answer, and the
# daemon goes on), and the exit statuses of bad usage and unbindable ports.
import atexit
import itertools
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (
    AS_ROOT,
    DNSBLKIT,
    SANITIZE,
    Server,
    assert_no_sanitizer_report,
    free_port,
    write,
)
from dnspeers import SilentServer

# The lists: bl.example has TXT for 192.0.2.0/24 and none for its RFC 5782
# test entry 127.0.0.2 (a listed client too); bl2.example lists half of it.
BL = "bl.example"
BL_DATA = "192.0.2.0/24 :2:Listed, see http://bl.example/$\n127.0.0.2\n"
BL2 = "bl2.example"
BL2_DATA = "192.0.2.0/25 :3\n127.0.0.2\n"

# dbl.example, a domain list (RHSBL): TEST is its RFC 5782 test entry.
DBL = "dbl.example"
DBL_DATA = "spam.example :2:Domain listed\ntest\n"

LISTED = "192.0.2.5"  # on both lists
LISTED_BL_ONLY = "192.0.2.200"
UNLISTED = "198.51.100.1"

SLOW = 3 if SANITIZE else 1
ANSWER_TIMEOUT = 5.0 * SLOW  # a socket read waiting for one answer
START_TIMEOUT = 10.0 * SLOW

# $DNSBLKIT_CONFIG: an empty file, so that no /etc/dnsblkit/dnsblkit.conf of
# this machine adds lists or settings.
EMPTY_CONF = os.path.join(tempfile.mkdtemp(prefix="dbk-policyd-"), "empty.conf")
write(EMPTY_CONF, "")
atexit.register(shutil.rmtree, os.path.dirname(EMPTY_CONF), True)


def dbk_env():
    return {"DNSBLKIT_CONFIG": EMPTY_CONF}


def reject_text(ip, zones, txt=None):
    """Postfix's own wording of reject_rbl_client."""
    text = "action=554 5.7.1 Service unavailable; Client host [%s] blocked using %s" % (
        ip, ", ".join(zones))
    return text + ("; " + txt if txt else "")


def bl_txt(ip):
    return "Listed, see http://bl.example/" + ip


_instances = itertools.count(1)


def request(client_address, state="RCPT", instance=None, **extra):
    """A request as Postfix 3.x sends it, unknown attributes and all. Each
    is of a message of its own unless instance says otherwise (Postfix's
    instance names one message of one SMTP session)."""
    if instance is None:
        instance = "1a2b.5f3c4d5e.%d.0" % next(_instances)
    attrs = [
        ("request", "smtpd_access_policy"),
        ("protocol_state", state),
        ("protocol_name", "ESMTP"),
        ("client_address", client_address),
        ("client_name", "unknown"),
        ("reverse_client_name", "unknown"),
        ("client_port", "41234"),
        ("helo_name", "mx.example.net"),
        ("sender", "someone@example.net"),
        ("recipient", "postmaster@example.org" if state == "RCPT" else ""),
        ("recipient_count", "0"),
        ("queue_id", ""),
        ("instance", instance),
        ("size", "0"),
        ("etrn_domain", ""),
        ("stress", ""),
        ("sasl_method", ""),
        ("sasl_username", ""),
        ("sasl_sender", ""),
        ("ccert_subject", ""),
        ("ccert_issuer", ""),
        ("ccert_fingerprint", ""),
        ("encryption_protocol", "TLSv1.3"),
        ("encryption_cipher", "TLS_AES_256_GCM_SHA384"),
        ("encryption_keysize", "256"),
        ("server_address", "127.0.0.1"),
        ("server_port", "25"),
        ("policy_context", ""),
        ("compatibility_level", "3.6"),
        ("mail_version", "3.7.11"),
    ]
    # An attribute given replaces Postfix's; a new one is added.
    attrs = [(k, extra.pop(k, v)) for k, v in attrs] + list(extra.items())
    return "".join("%s=%s\n" % kv for kv in attrs).encode() + b"\n"


class Conn:
    """One policy client connection; answers are read up to their empty
    line, and what follows is kept for the next one (pipelining)."""

    def __init__(self, target, timeout=ANSWER_TIMEOUT):
        if isinstance(target, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.sock.connect(target)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def answer(self):
        while b"\n\n" not in self.buf:
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                raise AssertionError("no answer within %.0f s (have %r)"
                                     % (self.sock.gettimeout(), self.buf))
            if not chunk:
                raise AssertionError("connection closed before an answer (have %r)" % self.buf)
            self.buf += chunk
        ans, _, self.buf = self.buf.partition(b"\n\n")
        text = ans.decode("ascii")
        assert "\n" not in text and text.startswith("action="), "not one action line: %r" % text
        return text

    def ask(self, client_address, state="RCPT", instance=None, **extra):
        self.send(request(client_address, state, instance, **extra))
        return self.answer()

    def closed_silently(self):
        """True when the peer closes with nothing more sent. A close with
        unread input in the daemon's buffer reaches us as a reset."""
        data = b""
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise AssertionError("connection still open after %.0f s (got %r)"
                                 % (self.sock.gettimeout(), self.buf + data))
        assert self.buf + data == b"", "an answer to a malformed request: %r" % (self.buf + data)
        return True

    def close(self):
        self.sock.close()


class Policyd(Server):
    """`dnsblkit policyd` with its output in a file; ready once it has said
    `listening on` for every address."""

    serial = 0

    def __init__(self, argv, logdir, nlisten):
        Policyd.serial += 1
        super().__init__(argv, Policyd.serial, "", logdir, env=dbk_env(), name="policyd")
        self.nlisten = nlisten

    def wait_listening(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("policyd exited with status %s before listening:\n%s"
                                     % (self.proc.returncode, self.stderr()))
            if self.stderr().count("listening on") >= self.nlisten:
                return
            time.sleep(0.05)
        raise AssertionError("policyd not listening on %d addresses within %.0f s:\n%s"
                             % (self.nlisten, timeout, self.stderr()))


class PolicydFactory:
    def __init__(self, logdir, resolver):
        self.logdir = logdir
        self.resolver = resolver
        self.procs = []

    def start(self, listen=None, lists=(BL + "*2",), resolver=None, config=None, extra=()):
        """listen: the --listen specs (default one TCP port on 127.0.0.1).
        Returns (policyd, targets for Conn)."""
        if listen is None:
            listen = ["127.0.0.1/%d" % free_port()]
        argv = [DNSBLKIT, "policyd"] + AS_ROOT + ["--resolver", resolver or self.resolver]
        if config:
            argv += ["--config", config]
        for spec in listen:
            argv += ["--listen", spec]
        for spec in lists:
            argv += ["--list", spec]
        argv += list(extra)
        p = Policyd(argv, self.logdir, len(listen))
        self.procs.append(p)
        p.wait_listening()
        return p, [target_of(spec) for spec in listen]

    def finish(self):
        failures = []
        for p in self.procs:
            try:
                p.assert_clean_exit()
            except AssertionError as e:
                failures.append(str(e))
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)


def target_of(spec):
    if spec.startswith("unix:"):
        return spec[5:]
    host, _, port = spec.rpartition("/")
    return (host.strip("[]"), int(port))


@pytest.fixture(scope="module")
def lists(module_dnsblkit, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("policyd-lists"))
    srv = module_dnsblkit.start([
        "%s:ip4set:%s" % (BL, write(os.path.join(d, "bl.ip4set"), BL_DATA)),
        "%s:ip4set:%s" % (BL2, write(os.path.join(d, "bl2.ip4set"), BL2_DATA)),
        "%s:dnset:%s" % (DBL, write(os.path.join(d, "dbl.dnset"), DBL_DATA)),
    ])
    return "127.0.0.1/%d" % srv.port


@pytest.fixture
def policyd(lists, tmp_path):
    factory = PolicydFactory(str(tmp_path), lists)
    yield factory
    factory.finish()


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def test_listed_unlisted_state_and_ipv6(policyd):
    listen = ["127.0.0.1/%d" % free_port()]
    if have_ipv6_loopback():
        listen.append("[::1]/%d" % free_port("::1"))
    p, targets = policyd.start(listen=listen, lists=(BL + "*2", BL2))
    c = Conn(targets[0])
    assert c.ask(LISTED) == reject_text(LISTED, [BL, BL2], bl_txt(LISTED))
    assert c.ask(LISTED_BL_ONLY) == reject_text(LISTED_BL_ONLY, [BL], bl_txt(LISTED_BL_ONLY))
    # A listing without TXT: no "; " dangling after the zones.
    assert c.ask("127.0.0.2") == reject_text("127.0.0.2", [BL, BL2])
    assert c.ask(UNLISTED) == "action=DUNNO"
    assert c.ask("2001:db8::1") == "action=DUNNO"
    # Only RCPT is decided at; the other states pass even a listed client.
    for state in ("CONNECT", "HELO", "MAIL", "DATA", "END-OF-MESSAGE", "VRFY"):
        assert c.ask(LISTED, state=state) == "action=DUNNO", state
    # The same connection still decides after them.
    assert c.ask(LISTED) == reject_text(LISTED, [BL, BL2], bl_txt(LISTED))
    c.close()
    if len(targets) > 1:
        c6 = Conn(targets[1])
        assert c6.ask("2001:db8::25") == "action=DUNNO"
        assert c6.ask(LISTED) == reject_text(LISTED, [BL, BL2], bl_txt(LISTED))
        c6.close()


def test_pipelined_and_trickled(policyd):
    p, (target,) = policyd.start()
    c = Conn(target)
    c.send(request("192.0.2.1") + request(UNLISTED) + request("192.0.2.3"))
    assert c.answer() == reject_text("192.0.2.1", [BL], bl_txt("192.0.2.1"))
    assert c.answer() == "action=DUNNO"
    assert c.answer() == reject_text("192.0.2.3", [BL], bl_txt("192.0.2.3"))
    # One request a byte at a time over about 50 ms, on the same connection.
    data = request("192.0.2.77")
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 16 == 0:
            time.sleep(0.05 * 16 / len(data))
    assert c.answer() == reject_text("192.0.2.77", [BL], bl_txt("192.0.2.77"))
    # The end of one request and the start of the next in one segment.
    two = request(UNLISTED) + request("192.0.2.9")
    c.send(two[:len(two) // 2 + 7])
    time.sleep(0.02)
    c.send(two[len(two) // 2 + 7:])
    assert c.answer() == "action=DUNNO"
    assert c.answer() == reject_text("192.0.2.9", [BL], bl_txt("192.0.2.9"))
    # 300 requests at once, most answered from the cache: more answers
    # than policyd queues for one send (16 KiB), all in order.
    ips = [("192.0.2.%d" % (1 + i % 9)) if i % 3 else UNLISTED for i in range(300)]
    c.send(b"".join(request(ip) for ip in ips))
    for ip in ips:
        want = "action=DUNNO" if ip == UNLISTED else reject_text(ip, [BL], bl_txt(ip))
        assert c.answer() == want, ip
    c.close()


GOOD = request(UNLISTED)
HEAD = b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n"
GARBAGE = {
    "line without =": HEAD + b"this line has no equals sign\n\n",
    "NUL byte": b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\x00\n\n",
    "line over 4096 bytes": HEAD + b"x_pad=" + b"a" * 5000 + b"\n\n",
    "request over 64 KiB": HEAD + b"".join(b"x_pad%d=%s\n" % (i, b"b" * 1000) for i in range(70))
    + b"\n",
    "more than 256 attributes": HEAD + b"".join(b"x%d=1\n" % i for i in range(300)) + b"\n",
    "other request": b"request=smtpd_other_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n\n",
    "no request attribute": b"protocol_state=RCPT\nclient_address=192.0.2.1\n\n",
}


def test_garbage_closes_connection(policyd):
    p, (target,) = policyd.start()
    for name, data in GARBAGE.items():
        # Alone on a new connection.
        c = Conn(target)
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: also a refusal
        assert c.closed_silently(), name
        c.close()
        # After a good request on the same connection, answered first.
        c = Conn(target)
        try:
            c.send(GOOD + data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.answer() == "action=DUNNO", name
        assert c.closed_silently(), name
        c.close()
        # The daemon goes on serving.
        c = Conn(target)
        assert c.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED)), name
        c.close()
    assert p.proc.poll() is None


def test_many_connections(policyd):
    nconn, nreq = 50, 5
    p, (target,) = policyd.start()
    conns = [Conn(target, timeout=ANSWER_TIMEOUT * 2) for _ in range(nconn)]
    start = threading.Barrier(nconn)
    errors = []

    def client(i):
        try:
            c = conns[i]
            expect, reqs = [], []
            for k in range(nreq):
                if (i + k) % 2:
                    ip = "192.0.2.%d" % ((i * nreq + k) % 254 + 1)
                    expect.append(reject_text(ip, [BL], bl_txt(ip)))
                else:
                    ip = "198.51.100.%d" % ((i * nreq + k) % 254 + 1)
                    expect.append("action=DUNNO")
                reqs.append(request(ip))
            start.wait(timeout=ANSWER_TIMEOUT)
            if i % 2:  # half pipeline all five, half ask one by one
                c.send(b"".join(reqs))
                got = [c.answer() for _ in reqs]
            else:
                got = []
                for r in reqs:
                    c.send(r)
                    got.append(c.answer())
            assert got == expect, "connection %d: %r" % (i, got)
        except BaseException as e:  # noqa: B902 - reported by the main thread
            errors.append("connection %d: %r" % (i, e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(nconn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=ANSWER_TIMEOUT * 4)
    assert not any(t.is_alive() for t in threads), "clients still waiting"
    for c in conns:
        c.close()
    assert not errors, "\n".join(errors[:5])


def test_unix_socket(policyd):
    d = tempfile.mkdtemp(prefix="dbk-pd-")
    path = os.path.join(d, "policy.sock")
    try:
        p, (target,) = policyd.start(listen=["unix:" + path])
        c = Conn(target)
        assert c.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED))
        assert c.ask(UNLISTED) == "action=DUNNO"
        c.close()
        p.assert_clean_exit(signal.SIGINT)
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(d)


def test_allow_networks(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf",
                 "[policyd]\nallow = 192.0.2.0/28, 2001:db8::/32 127.0.0.2\n")
    p, (target,) = policyd.start(config=conf)
    c = Conn(target)
    assert c.ask(LISTED) == "action=DUNNO"  # 192.0.2.5 is in 192.0.2.0/28
    assert c.ask("127.0.0.2") == "action=DUNNO"
    assert c.ask("192.0.2.16") == reject_text("192.0.2.16", [BL], bl_txt("192.0.2.16"))
    assert c.ask("2001:db8::1") == "action=DUNNO"
    c.close()


def test_blind_dunno_or_defer(policyd, tmp_path):
    silent = SilentServer()
    try:
        resolver = "127.0.0.1/%d" % silent.port
        p, (target,) = policyd.start(resolver=resolver, extra=["--timeout", "100ms"])
        c = Conn(target, timeout=ANSWER_TIMEOUT * 2)
        assert c.ask(LISTED) == "action=DUNNO"
        assert c.ask(UNLISTED) == "action=DUNNO"
        c.close()
        assert silent.seen(), "the list was never asked"
        p.assert_clean_exit()

        conf = write(tmp_path / "blind.conf", "[policyd]\nwhen-blind = DEFER_IF_PERMIT\n")
        p, (target,) = policyd.start(resolver=resolver, config=conf,
                                     extra=["--timeout", "100ms"])
        c = Conn(target, timeout=ANSWER_TIMEOUT * 2)
        for ip in (LISTED, UNLISTED):
            assert c.ask(ip) == "action=DEFER_IF_PERMIT Service temporarily unavailable", ip
        # Not at other states: those are not decided at all.
        assert c.ask(LISTED, state="MAIL") == "action=DUNNO"
        c.close()
    finally:
        silent.stop()


def test_mark_score_and_config_lists(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf",
                 "[check]\nlists = %s*2, %s*3\n\n[policyd]\nreject-score = 5\nmark-score = 1\n"
                 % (BL, BL2))
    p, (target,) = policyd.start(config=conf, lists=())
    c = Conn(target)
    assert c.ask(LISTED_BL_ONLY) == "action=PREPEND X-DNSBL: score=2; lists=%s" % BL
    assert c.ask(LISTED) == reject_text(LISTED, [BL, BL2], bl_txt(LISTED))
    assert c.ask(UNLISTED) == "action=DUNNO"
    c.close()


def run_policyd(args, timeout=10):
    """policyd that must refuse to start: it is killed if it serves."""
    try:
        r = subprocess.run([DNSBLKIT, "policyd"] + AS_ROOT + list(args), capture_output=True,
                           text=True,
                           errors="replace", timeout=timeout * SLOW,
                           env=dict(os.environ, **dbk_env()))
    except subprocess.TimeoutExpired:
        raise AssertionError("policyd %r started instead of refusing" % (args,))
    assert_no_sanitizer_report(r.stderr)
    return r


def test_bad_usage_and_config(tmp_path):
    port = free_port()
    base = ["--resolver", "127.0.0.1/53", "--list", BL, "--listen", "127.0.0.1/%d" % port]
    usage = [
        (["--no-such-option"], "no-such-option"),
        (["--listen", "nonsense/abc"], "nonsense/abc"),
        (["--listen", "unix:relative.sock"], "relative.sock"),
        (["--list", "bl.example=127.0.0.300"], "bl.example=127.0.0.300"),
        (["--timeout", "soon"], "soon"),
        (["stray-argument"], "stray-argument"),
        (["--config", str(tmp_path / "missing.conf")], "missing.conf"),
    ]
    for extra, needle in usage:
        r = run_policyd(base + extra)
        assert r.returncode == 2, (extra, r.returncode, r.stderr)
        assert needle in r.stderr, (extra, r.stderr)

    bad_conf = [
        ("[policyd]\nreject-score = lots\n", 2),
        ("[policyd]\nwhen-blind = REJECT\n", 2),
        ("[policyd]\nno-such-key = 1\n", 2),
        ("[policyd]\nstate = RCPT\nlisten = 127.0.0.1/notaport\n", 3),
        ("[policyd]\nallow = 192.0.2.0/33\n", 2),
        ("# lists\n[check]\nlists = bl.example=nope\n", 3),
        ("[policyd]\nreject-text = blocked, go away\n", 2),
    ]
    for i, (text, line) in enumerate(bad_conf):
        conf = write(tmp_path / ("bad%d.conf" % i), text)
        r = run_policyd(base + ["--config", conf])
        assert r.returncode == 2, (text, r.returncode, r.stderr)
        assert "%s:%d:" % (conf, line) in r.stderr, (text, r.stderr)
    # A whole-file error: no line, but the file and the keys.
    conf = write(tmp_path / "order.conf", "[policyd]\nreject-score = 2\nmark-score = 3\n")
    r = run_policyd(base + ["--config", conf])
    assert r.returncode == 2, r.stderr
    assert conf in r.stderr and "mark-score" in r.stderr, r.stderr


def test_bad_resolver_is_usage():
    r = run_policyd(["--resolver", "nonsense", "--list", BL,
                     "--listen", "127.0.0.1/%d" % free_port()])
    assert "nonsense" in r.stderr, r.stderr
    assert r.returncode == 2, (r.returncode, r.stderr)


def test_cannot_bind(tmp_path):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        base = ["--resolver", "127.0.0.1/53", "--list", BL]
        r = run_policyd(base + ["--listen", "127.0.0.1/%d" % port])
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert str(port) in r.stderr, r.stderr
        # One bad address of several: none is served.
        r = run_policyd(base + ["--listen", "127.0.0.1/%d" % free_port(),
                                "--listen", "127.0.0.1/%d" % port])
        assert r.returncode == 1, (r.returncode, r.stderr)
        missing = str(tmp_path / "no-such-dir" / "p.sock")
        r = run_policyd(base + ["--listen", "unix:" + missing])
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert missing in r.stderr, r.stderr
    finally:
        holder.close()


class DelayRelay:
    """A UDP relay that holds every answer of the backend for `delay`
    seconds: a slow list, so that checks are in flight long enough for a
    client to go away or the daemon to be stopped meanwhile."""

    def __init__(self, backend_port, delay):
        self.backend = backend_port
        self.delay = delay
        self.port = free_port()
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", self.port))
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            if not select.select([self.front], [], [], 0.05)[0]:
                continue
            try:
                data, client = self.front.recvfrom(65535)
            except OSError:
                continue
            threading.Thread(target=self._one, args=(data, client), daemon=True).start()

    def _one(self, data, client):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2.0)
            s.sendto(data, ("127.0.0.1", self.backend))
            try:
                reply = s.recv(65535)
            except OSError:
                return
        time.sleep(self.delay)
        if self.running:
            try:
                self.front.sendto(reply, client)
            except OSError:
                pass

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.front.close()


@pytest.fixture
def slow_resolver(lists):
    relay = DelayRelay(int(lists.rpartition("/")[2]), 0.3)
    yield "127.0.0.1/%d" % relay.port
    relay.stop()


def connect_when_free(target):
    """A connection the daemon keeps (with max-connections reached it closes
    new ones until it has seen an old one go): tried until it answers."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while True:
        c = Conn(target)
        try:
            assert c.ask(UNLISTED, state="CONNECT") == "action=DUNNO"
            return c
        except (AssertionError, BrokenPipeError, ConnectionResetError):
            c.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def reset_close(conn):
    """Close with a reset (SO_LINGER 0), which poll reports at once."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def test_late_answer_goes_nowhere(policyd, slow_resolver):
    # max-connections = 1: the second connection takes the first one's
    # slot while that one's check is still in flight.
    conf = write(os.path.join(policyd.logdir, "one.conf"), "[policyd]\nmax-connections = 1\n")
    p, (target,) = policyd.start(resolver=slow_resolver, config=conf,
                                 extra=["--timeout", "2s"])
    warm = Conn(target)  # the first checks wait for the probe round too
    assert warm.ask(UNLISTED) == "action=DUNNO"
    warm.close()
    for i in range(3):  # new addresses each time: none is in the cache
        a = Conn(target)
        a.send(request("192.0.2.%d" % (60 + i)))
        time.sleep(0.05)
        reset_close(a)
        b = connect_when_free(target)
        # A state that is answered at once, then one that is checked: b
        # must get exactly its own answers, not a's rejection.
        assert b.ask(LISTED, state="MAIL") == "action=DUNNO"
        assert b.ask("198.51.100.%d" % (60 + i)) == "action=DUNNO"
        ip = "192.0.2.%d" % (70 + i)
        assert b.ask(ip) == reject_text(ip, [BL], bl_txt(ip))
        b.close()


def test_stop_with_checks_in_flight(policyd, slow_resolver):
    p, (target,) = policyd.start(resolver=slow_resolver, extra=["--timeout", "2s"])
    conns = []
    for i in range(5):
        c = Conn(target)
        c.send(request("192.0.2.%d" % (100 + i)) + request(UNLISTED))
        conns.append(c)
    time.sleep(0.1)
    p.assert_clean_exit()  # no leak of the pending checks under ASan
    for c in conns:
        c.close()


def test_same_message_decided_once(policyd):
    p, (target,) = policyd.start()
    c = Conn(target)
    # Postfix asks once per recipient of one message (one instance).
    for rcpt in ("a@example.org", "b@example.org", "c@example.org"):
        assert c.ask(LISTED, instance="77.1", recipient=rcpt) == reject_text(
            LISTED, [BL], bl_txt(LISTED)), rcpt
    # The next message of the session, from another client (not something
    # Postfix does, but the decision must be about this client).
    assert c.ask(UNLISTED, instance="77.1") == "action=DUNNO"
    assert c.ask(LISTED, instance="77.1") == reject_text(LISTED, [BL], bl_txt(LISTED))
    # No address to check (Postfix's "unknown"): nothing to refuse.
    assert c.ask("unknown") == "action=DUNNO"
    assert c.ask("") == "action=DUNNO"
    assert c.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED))
    c.close()


def test_state_and_reject_text(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf",
                 "[policyd]\nstate = MAIL\n"
                 "reject-text = 550 5.7.1 $ip is listed ($score) by $lists: $txt $$5\n")
    p, (target,) = policyd.start(config=conf, lists=(BL + "*2", BL2))
    c = Conn(target)
    assert c.ask(LISTED, state="RCPT") == "action=DUNNO"
    assert c.ask(LISTED, state="MAIL") == (
        "action=550 5.7.1 %s is listed (3) by %s, %s: %s $5" % (LISTED, BL, BL2, bl_txt(LISTED)))
    assert c.ask(UNLISTED, state="MAIL") == "action=DUNNO"
    c.close()


def test_max_connections(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf", "[policyd]\nmax-connections = 3\n")
    p, (target,) = policyd.start(config=conf)
    conns = [Conn(target) for _ in range(3)]
    for c in conns:
        assert c.ask(UNLISTED) == "action=DUNNO"
    extra = Conn(target)  # the kernel accepts it; the daemon closes it
    try:
        extra.send(request(UNLISTED))
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert extra.closed_silently()
    extra.close()
    for c in conns:
        assert c.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED))
    conns.pop().close()
    again = connect_when_free(target)
    assert again.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED))
    again.close()
    for c in conns:
        c.close()


def test_unix_socket_left_behind(policyd):
    d = tempfile.mkdtemp(prefix="dbk-pd-")
    path = os.path.join(d, "policy.sock")
    try:
        # A socket file left by a run that was killed is replaced.
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        p, (target,) = policyd.start(listen=["unix:" + path])
        assert os.stat(path).st_mode & 0o777 == 0o666  # Postfix runs as another user
        c = Conn(target)
        assert c.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED))
        c.close()
        p.assert_clean_exit()
        assert not os.path.exists(path), "socket file left after a clean stop"
        # Anything else at the path is not ours to remove.
        write(path, "not a socket\n")
        r = run_policyd(["--resolver", "127.0.0.1/53", "--list", BL, "--listen", "unix:" + path])
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert path in r.stderr, r.stderr
        assert open(path).read() == "not a socket\n"
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(d)


DOMAIN_CONF = ("[check]\nlists = %s*2\ndomain-lists = %s*3\n\n"
               "[policyd]\nreject-score = 4\nmark-score = 2\n" % (BL, DBL))


def test_helo_and_sender_domains(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf",
                 DOMAIN_CONF + "check-helo = yes\ncheck-sender = yes\n")
    p, (target,) = policyd.start(config=conf, lists=())
    c = Conn(target)
    mark = "action=PREPEND X-DNSBL: score=3; lists=%s (%%s spam.example)" % DBL
    assert c.ask(UNLISTED) == "action=DUNNO"
    assert c.ask(UNLISTED, helo_name="spam.example") == mark % "helo"
    # Letter case, a trailing dot and the local part do not matter.
    assert c.ask(UNLISTED, sender="Bob@SPAM.Example.") == mark % "sender"
    # Both on the one list: it counts once (3, not 6), naming both.
    assert c.ask(UNLISTED, helo_name="spam.example", sender="x@spam.example") == (
        "action=PREPEND X-DNSBL: score=3; lists=%s (helo spam.example), %s (sender "
        "spam.example)" % (DBL, DBL))
    # The client's 2 and the HELO's 3; the client's list comes first.
    assert c.ask(LISTED_BL_ONLY, helo_name="spam.example") == reject_text(
        LISTED_BL_ONLY, [BL, DBL + " (helo spam.example)"], bl_txt(LISTED_BL_ONLY))
    # No address to check: the HELO name still is.
    assert c.ask("unknown", helo_name="spam.example") == mark % "helo"
    # Not domains: address literals, a bare address (192.0.2.5 is on
    # bl.example, but a HELO is not a client address), one label, the
    # null sender.
    for helo in ("[192.0.2.5]", "192.0.2.5", "spam", "", "[IPv6:2001:db8::1]"):
        assert c.ask(UNLISTED, helo_name=helo) == "action=DUNNO", helo
    for sender in ("", "x@[192.0.2.5]", "x@spam", "spam.example"):
        assert c.ask(UNLISTED, sender=sender) == "action=DUNNO", sender
    c.close()


def test_domains_not_checked_by_default(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf", DOMAIN_CONF)
    p, (target,) = policyd.start(config=conf, lists=())
    c = Conn(target)
    assert c.ask(UNLISTED, helo_name="spam.example", sender="x@spam.example") == "action=DUNNO"
    assert c.ask(LISTED_BL_ONLY, helo_name="spam.example") == (
        "action=PREPEND X-DNSBL: score=2; lists=%s" % BL)
    c.close()


def test_helo_check_without_domain_lists_warns(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf",
                 "[check]\nlists = %s\n\n[policyd]\ncheck-helo = yes\n" % BL)
    p, (target,) = policyd.start(config=conf, lists=())
    assert "check-helo and check-sender have no domain lists to ask" in p.stderr()
    c = Conn(target)
    assert c.ask(UNLISTED, helo_name="spam.example") == "action=DUNNO"
    assert c.ask(LISTED) == reject_text(LISTED, [BL], bl_txt(LISTED))
    c.close()


def wait_log(p, text, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while text not in p.stderr():
        if time.monotonic() > deadline:
            raise AssertionError("no %r in the log within %.0f s:\n%s" % (text, timeout, p.stderr()))
        time.sleep(0.05)


def test_counters_by_list(policyd, tmp_path):
    conf = write(tmp_path / "dnsblkit.conf",
                 DOMAIN_CONF + "check-helo = yes\ncheck-sender = yes\n")
    p, (target,) = policyd.start(config=conf, lists=())
    c = Conn(target)
    # Five messages, each of its own; every one asks bl.example about the
    # client and dbl.example about the HELO name and the sender's domain.
    assert c.ask(UNLISTED) == "action=DUNNO"
    assert c.ask(UNLISTED, helo_name="spam.example").startswith("action=PREPEND")
    assert c.ask(LISTED_BL_ONLY, helo_name="spam.example").startswith("action=554 ")
    assert c.ask(LISTED_BL_ONLY).startswith("action=PREPEND")
    assert c.ask(UNLISTED) == "action=DUNNO"
    c.close()
    p.proc.send_signal(signal.SIGUSR1)
    wait_log(p, "list %s:" % DBL)
    log = p.stderr()
    assert ("5 checked (1 reject, 2 mark, 2 dunno, 0 blind)") in log
    assert "latency of 5 answered checks" in log
    # bl.example answered 5 times, 3 of them from the cache (the second
    # asking of each address), listed 192.0.2.200 twice.
    assert ("list %s: healthy, 1 state change; 5 answers (3 from cache): 2 listed, 0 ignored, "
            "0 errors; listed in 1 reject, 1 mark, 0 dunno" % BL) in log
    # dbl.example: two names a message, all but mx.example.net's and
    # example.net's and spam.example's first asking from the cache.
    assert ("list %s: healthy, 1 state change; 10 answers (7 from cache): 2 listed, 0 ignored, "
            "0 errors; listed in 1 reject, 1 mark, 0 dunno" % DBL) in log


def test_answer_timeout(policyd, lists, tmp_path):
    """A resolver slower than answer-timeout: Postfix gets DUNNO in time
    (or DEFER_IF_PERMIT with when-blind), and the late result of one
    request is never taken for the next one's answer."""
    relay = DelayRelay(int(lists.rpartition("/")[2]), 1.0)
    try:
        conf = write(tmp_path / "dnsblkit.conf", "[policyd]\nanswer-timeout = 400ms\n")
        p, (target,) = policyd.start(resolver="127.0.0.1/%d" % relay.port, config=conf,
                                     extra=["--timeout", "3s"])
        c = Conn(target)
        for i in range(3):
            t0 = time.monotonic()
            # A listed client: its rejection comes 1 s late, while the next
            # request waits; that one must not get it.
            assert c.ask("192.0.2.%d" % (30 + i)) == "action=DUNNO"
            took = time.monotonic() - t0
            assert 0.35 < took < 0.9 * SLOW, took
        t0 = time.monotonic()
        assert c.ask(UNLISTED) == "action=DUNNO"
        assert time.monotonic() - t0 < 0.9 * SLOW
        c.close()
        time.sleep(1.2)  # the late results come and go nowhere
        p.proc.send_signal(signal.SIGUSR1)
        wait_log(p, "late results")
        log = p.stderr()
        assert "no answer from the lists in 400 ms: DUNNO" in log
        assert "4 timed out" in log
        assert "0 checked" in log  # none answered with a result
    finally:
        relay.stop()
    # With when-blind = DEFER_IF_PERMIT the answer in time is that.
    relay = DelayRelay(int(lists.rpartition("/")[2]), 1.0)
    try:
        conf = write(tmp_path / "defer.conf",
                     "[policyd]\nanswer-timeout = 300ms\nwhen-blind = DEFER_IF_PERMIT\n")
        p, (target,) = policyd.start(resolver="127.0.0.1/%d" % relay.port, config=conf,
                                     extra=["--timeout", "3s"])
        c = Conn(target)
        assert c.ask(LISTED) == "action=DEFER_IF_PERMIT Service temporarily unavailable"
        c.close()
    finally:
        relay.stop()


def test_checks_in_flight_are_bounded(policyd, lists, tmp_path):
    """A dead-slow resolver and requests that keep coming: the checks left
    in flight by answers given up on are bounded (4 per connection served);
    past that, requests are answered at once, without a lookup."""
    relay = DelayRelay(int(lists.rpartition("/")[2]), 2.0)
    try:
        conf = write(tmp_path / "dnsblkit.conf",
                     "[policyd]\nanswer-timeout = 100ms\nmax-connections = 1\n")
        p, (target,) = policyd.start(resolver="127.0.0.1/%d" % relay.port, config=conf,
                                     extra=["--timeout", "5s"])
        c = Conn(target)
        took = []
        for i in range(12):
            t0 = time.monotonic()
            assert c.ask("198.51.100.%d" % (100 + i)) == "action=DUNNO"
            took.append(time.monotonic() - t0)
        c.close()
        assert max(took) < 0.5 * SLOW, took
        # The first ones waited for answer-timeout; once 4 checks were in
        # flight, the rest were answered at once.
        assert took[0] >= 0.09, took
        assert min(took[-4:]) < 0.05 * SLOW, took
        p.proc.send_signal(signal.SIGUSR1)
        wait_log(p, "late results")
        log = p.stderr()
        timed = int(log.split(" timed out")[0].rsplit(" ", 1)[1])
        refused = int(log.split(" refused for overload")[0].rsplit(" ", 1)[1])
        assert timed + refused == 12, log
        assert 1 <= timed <= 4 and refused >= 8, (timed, refused)
    finally:
        relay.stop()
