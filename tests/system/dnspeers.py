# The DNS world a mail host sees, built from real programs on loopback:
# dnsmasq playing the lists that broke (a parking wildcard, a list that
# answers 127.0.0.2 or an error code for everything, a zone that answers
# NXDOMAIN for everything), a server that never answers, a relay that
# switches a zone from a healthy server to a broken one in an instant,
# and Unbound as the caching recursive resolver in front of them all.
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode

from conftest import free_port

DNSMASQ = "/usr/sbin/dnsmasq"
UNBOUND = "/usr/sbin/unbound"
UNBOUND_CONTROL = "/usr/sbin/unbound-control"


class Peer:
    """A peer program with its output kept in a file; stop() requires that
    it was still running and exits 0 on SIGTERM (it did not crash)."""

    def __init__(self, name, argv, logdir, port):
        self.name = name
        self.port = port
        self.logpath = os.path.join(logdir, "%s-%d.log" % (name, port))
        self.logfile = open(self.logpath, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.logfile, stderr=subprocess.STDOUT)
        self.stopped = False

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, qname, rdtype="A", timeout=10.0, recursion=False):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with status %s before answering:\n%s"
                                     % (self.name, self.proc.returncode, self.log()))
            q = dns.message.make_query(qname, rdtype)
            if not recursion:
                q.flags &= ~dns.flags.RD
            try:
                return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.2)
            except (dns.exception.Timeout, OSError):
                time.sleep(0.05)
        raise AssertionError("%s did not answer %s within %.0f s:\n%s"
                             % (self.name, qname, timeout, self.log()))

    def stop(self, timeout=10.0):
        if self.stopped:
            return
        self.stopped = True
        running = self.proc.poll() is None
        if running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()
        assert running, "%s died during the test (status %s):\n%s" % (
            self.name, self.proc.returncode, self.log())
        assert self.proc.returncode == 0, "%s exit status %s:\n%s" % (
            self.name, self.proc.returncode, self.log())


def start_dnsmasq(logdir, zones):
    """dnsmasq answering every name under each zone: zones maps a zone to an
    IPv4 address (every A query under it gets that address, TTL 300; other
    types get NODATA, so the apex has no SOA: dnsmasq cannot serve an SOA
    beside an --address wildcard, its --auth-zone mode ignores --address),
    or to None (NXDOMAIN for every name, the apex too)."""
    port = free_port()
    argv = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--port=%d" % port,
            "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            "--pid-file=%s" % os.path.join(logdir, "dnsmasq-%d.pid" % port),
            "--local-ttl=300", "--log-facility=-"]
    for zone, addr in zones.items():
        if addr:
            # --local keeps other types (SOA) from being "forwarded" to no
            # upstream: NODATA, as before dnsmasq 2.86.
            argv += ["--address=/%s/%s" % (zone, addr), "--local=/%s/" % zone]
        else:
            argv.append("--address=/%s/" % zone)
    peer = Peer("dnsmasq", argv, logdir, port)
    try:
        peer.wait_ready("ready." + next(iter(zones)))
    except BaseException:
        peer.proc.kill()
        peer.proc.wait()
        raise
    return peer


def qname_of(data):
    """The question name of a raw DNS message, lower case, or None."""
    try:
        return str(dns.message.from_wire(data).question[0].name).lower()
    except Exception:  # noqa: BLE001 - anything unparsable is just counted
        return None


class SilentServer:
    """A UDP socket that reads every query and answers none (no TCP
    listener either): a list whose servers are gone. Counts what it got."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.queries = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            if not select.select([self.sock], [], [], 0.05)[0]:
                continue
            try:
                data = self.sock.recv(65535)
            except OSError:
                continue
            with self.lock:
                self.queries.append(qname_of(data))

    def seen(self):
        with self.lock:
            return list(self.queries)

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


class Relay:
    """A UDP relay in front of one of several backends, switched by
    set_backend: a list's servers replaced in an instant (a domain that
    expired and went to a parking service), with no gap in which the
    resolver would see a dead server."""

    def __init__(self, backend_port):
        self.port = free_port()
        self.backend = backend_port
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", self.port))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.pending = {}  # (backend port, id) -> client address
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def set_backend(self, port):
        self.backend = port

    def _loop(self):
        while self.running:
            ready = select.select([self.front, self.back], [], [], 0.05)[0]
            for s in ready:
                try:
                    data, addr = s.recvfrom(65535)
                except OSError:
                    continue
                if len(data) < 12:
                    continue
                (qid,) = struct.unpack("!H", data[:2])
                if s is self.front:
                    port = self.backend
                    self.pending[(port, qid)] = addr
                    self.back.sendto(data, ("127.0.0.1", port))
                else:
                    client = self.pending.pop((addr[1], qid), None)
                    if client:
                        self.front.sendto(data, client)

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.front.close()
        self.back.close()


def start_unbound(logdir, stubs, port=None, control=None):
    """Unbound as the mail host's recursive resolver (iterator only: no
    DNSSEC), with one stub zone per list: stubs maps a zone to the port of
    its server on 127.0.0.1. Its cache is real: what a list answered
    stays until the TTL runs out. port: where it listens (default: a free
    one). control: a unix socket path for unbound-control (remote control
    is off without it); see unbound_control()."""
    port = port or free_port()
    conf = os.path.join(logdir, "unbound-%d.conf" % port)
    lines = [
        "server:",
        "  interface: 127.0.0.1",
        "  port: %d" % port,
        "  do-ip6: no",
        "  do-not-query-localhost: no",
        '  username: ""',
        '  chroot: ""',
        '  directory: "%s"' % logdir,
        '  pidfile: "%s"' % os.path.join(logdir, "unbound-%d.pid" % port),
        "  use-syslog: no",
        '  logfile: ""',
        '  module-config: "iterator"',
        "  verbosity: 1",
        "  num-threads: 1",
        "  access-control: 127.0.0.0/8 allow",
    ]
    for zone in stubs:
        # Our lists' zones are no RFC 6761 names, but say so anyway: never
        # a built-in local zone in the way.
        lines.append('  local-zone: "%s." nodefault' % zone)
    for zone, stub_port in stubs.items():
        lines += ["stub-zone:", '  name: "%s."' % zone, "  stub-addr: 127.0.0.1@%d" % stub_port]
    if control:
        # A unix socket needs no certificates.
        lines += ["remote-control:", "  control-enable: yes",
                  '  control-interface: "%s"' % control, "  control-use-cert: no"]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    peer = Peer("unbound", [UNBOUND, "-d", "-c", conf], logdir, port)
    peer.conf = conf
    try:
        # localhost is one of Unbound's own local zones: it answers as soon
        # as it serves.
        r = peer.wait_ready("localhost.", recursion=True)
        assert r.rcode() == dns.rcode.NOERROR, r
    except BaseException:
        peer.proc.kill()
        peer.proc.wait()
        raise
    return peer


def unbound_control(unbound, *command, timeout=10.0):
    """Runs one unbound-control command against an Unbound started with
    start_unbound(..., control=PATH); returns its output, which must
    begin with "ok" (every command used here answers so on success)."""
    r = subprocess.run([UNBOUND_CONTROL, "-c", unbound.conf] + list(command),
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not r.stdout.startswith("ok"):
        raise AssertionError("unbound-control %s: status %d: %s%s" % (
            " ".join(command), r.returncode, r.stdout, r.stderr))
    return r.stdout
