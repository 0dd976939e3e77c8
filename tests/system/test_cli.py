# The `dnsblkit serve` command line as an rbldnsd user types it: -b (repeated,
# IPv4 and IPv6), -t, -q, -e, -w, -p, -n/-f, --config, --threads,
# --log-level, --help/--version, startup errors with "file:line: reason",
# and a clean exit on SIGTERM and SIGINT.
import signal
import socket
import time

import dns.rcode
import pytest

from conftest import (
    AS_ROOT,
    DNSBLKIT,
    SANITIZE,
    Server,
    a_values,
    free_port,
    query,
    run_dnsblkit,
    txt_values,
    write,
)


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def test_help_and_version():
    r = run_dnsblkit(["--help"])
    assert r.returncode == 0 and "serve" in r.stdout + r.stderr
    r = run_dnsblkit(["serve", "--help"])
    assert r.returncode == 0
    out = r.stdout + r.stderr
    for opt in ("-b", "-t", "-c", "-q", "-e", "-w", "-p", "--config", "--allow-world"):
        assert opt in out, opt
    r = run_dnsblkit(["--version"])
    assert r.returncode == 0 and "dnsblkit" in r.stdout
    assert any(ch.isdigit() for ch in r.stdout)


def test_bad_usage():
    r = run_dnsblkit(["serve", "--no-such-option", "bl.example:ip4set:/dev/null"])
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip()
    r = run_dnsblkit(["no-such-command"])
    assert r.returncode != 0 and r.stderr.strip()


BAD_FILES = [
    ("ip4set", "10.0.0.1\n10.0.0.2\nnot-an-address\n", 3),
    ("ip4set", "# c\n1.2.3.4 :notanip:txt\n", 2),
    ("ip4trie", "10.0.0.0/8\n10.0.0.0/40\n", 2),
    ("ip6trie", "2001:db8::/32\n2001:db8::zz::1\n", 2),
    ("generic", "www A 127.0.0.1\nwww A not-an-ip\n", 2),
    ("dnset", "example.com\n\nbad..name\n", 3),
]


@pytest.mark.parametrize("dstype,data,line", BAD_FILES,
                         ids=["%s-line%d" % (t, n) for t, _, n in BAD_FILES])
def test_unparsable_file_fails_startup_with_file_line(tmp_path, dstype, data, line):
    path = write(tmp_path / "bad.txt", data)
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(),
                      "bl.example:%s:%s" % (dstype, path)])
    assert r.returncode == 1, r.stderr
    msg = "%s:%d:" % (path, line)
    assert msg in r.stderr, "expected %r in:\n%s" % (msg, r.stderr)
    after = r.stderr.split(msg, 1)[1].split("\n", 1)[0].strip()
    assert after, "no reason after file:line"


def test_gzip_file_error_names_the_file_and_line(tmp_path):
    import gzip
    path = str(tmp_path / "bad.txt.gz")
    with gzip.open(path, "wt") as f:
        f.write("10.0.0.1\nbogus line\n")
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "bl.example:ip4set:" + path])
    assert r.returncode == 1 and "%s:2:" % path in r.stderr, r.stderr


@pytest.mark.parametrize("spec", ["bl.example:ip4set:/nonexistent/file.txt",
                                  "bl.example:nosuchtype:%s",
                                  "bl.example-without-type"])
def test_bad_zone_specs_fail_startup(tmp_path, spec):
    good = write(tmp_path / "good.txt", "10.0.0.1\n")
    spec = spec.replace("%s", good)
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), spec])
    assert r.returncode in (1, 2), r.stderr
    assert r.stderr.strip()
    if "nonexistent" in spec:
        assert "/nonexistent/file.txt" in r.stderr


def test_repeated_b_listens_on_every_address(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    p1, p2 = free_port(), free_port()
    srv = dnsblkit.start(["bl.example:ip4set:" + path], port=p1,
                         args=["-b", "127.0.0.1/%d" % p2])
    for port in (p1, p2):
        for tcp in (False, True):
            assert a_values(query(port, "1.0.0.10.bl.example", "A", tcp=tcp)) == {"127.0.0.2"}
    assert srv.proc.poll() is None


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_listener(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n2001:db8::/32\n")
    port = free_port("::1")
    srv = dnsblkit.start(["bl.example:ip4set:" + write(tmp_path / "a.txt", "10.0.0.1\n")],
                         hosts=("::1", "127.0.0.1"), port=port)
    for tcp in (False, True):
        r = query(srv.port, "1.0.0.10.bl.example", "A", host="::1", tcp=tcp)
        assert a_values(r) == {"127.0.0.2"}
        r = query(srv.port, "1.0.0.10.bl.example", "A", host="127.0.0.1", tcp=tcp)
        assert a_values(r) == {"127.0.0.2"}
    assert path


@pytest.mark.parametrize("targ,data,expect", [
    (None, "10.0.0.1\n", 2100),
    ("300", "10.0.0.1\n", 300),
    ("1h", "10.0.0.1\n", 3600),
    ("2d", "10.0.0.1\n", 172800),
    ("300:600:1200", "$TTL 60\n10.0.0.1\n", 600),
    ("300:600:1200", "$TTL 5000\n10.0.0.1\n", 1200),
    ("300:600:1200", "$TTL 900\n10.0.0.1\n", 900),
    ("5m", "$TTL 1h\n10.0.0.1\n", 3600),
])
def test_ttl_option(dnsblkit, tmp_path, targ, data, expect):
    path = write(tmp_path / "d.txt", data)
    args = ["-t", targ] if targ else []
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=args)
    r = query(srv.port, "1.0.0.10.bl.example", "A")
    assert r.answer and r.answer[0].ttl == expect


def test_workdir_and_pidfile(dnsblkit, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    write(d / "rel.txt", "10.0.0.1\n")
    pidfile = tmp_path / "dnsblkit.pid"
    srv = dnsblkit.start(["bl.example:ip4set:rel.txt"],
                         args=["-w", str(d), "-p", str(pidfile), "-n", "-f"])
    assert a_values(query(srv.port, "1.0.0.10.bl.example", "A")) == {"127.0.0.2"}
    assert pidfile.read_text().strip() == str(srv.proc.pid)


def test_host_bits_need_e(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.1.2.3/24\n10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-e"])
    assert a_values(query(srv.port, "77.2.1.10.bl.example", "A")) == {"127.0.0.2"}


def test_host_bits_without_e_never_listed_silently(tmp_path):
    # Refused with file:line, either at startup or as a warning that drops
    # the entry (what rbldnsd does); never silently listed.
    path = write(tmp_path / "d.txt", "10.1.2.3/24\n10.0.0.1\n")
    port = free_port()
    srv = Server([DNSBLKIT, "serve"] + AS_ROOT + ["-b", "127.0.0.1/%d" % port,
                                                  "bl.example:ip4set:" + path],
                 port, "bl.example", str(tmp_path))
    try:
        srv.wait_ready()
        started = True
    except AssertionError:
        started = False
    if started:
        assert not a_values(query(port, "77.2.1.10.bl.example", "A")), "listed without -e"
        assert a_values(query(port, "1.0.0.10.bl.example", "A")) == {"127.0.0.2"}
        srv.assert_clean_exit()
    else:
        status, _err = srv.stop()
        assert status == 1
    assert "%s:1:" % path in srv.stderr(), srv.stderr()


def test_quickstart_answers_servfail_until_loaded(dnsblkit, tmp_path):
    n = 100000 if SANITIZE else 600000
    lines = ["10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(n)]
    path = write(tmp_path / "big.txt", "\n".join(lines) + "\n192.0.2.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-q"], wait=False)
    srv.wait_ready(accept_servfail=True)
    rcodes = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = query(srv.port, "1.2.0.192.bl.example", "A")
        rcodes.append(r.rcode())
        if r.rcode() == dns.rcode.SERVFAIL:
            continue
        assert r.rcode() == dns.rcode.NOERROR and a_values(r) == {"127.0.0.2"}
        break
    assert rcodes and rcodes[-1] == dns.rcode.NOERROR, rcodes[-5:]
    assert set(rcodes) <= {dns.rcode.SERVFAIL, dns.rcode.NOERROR}


def test_config_file(dnsblkit, tmp_path):
    a = write(tmp_path / "a.txt", ":3:from config $\n10.0.0.1\n")
    b = write(tmp_path / "b.txt", "example.com\n")
    p1, p2 = free_port(), free_port()
    conf = write(tmp_path / "dnsblkit.conf", """\
; comment
[server]
listen = 127.0.0.1/%d
listen = 127.0.0.1/%d
ttl = 600
check-interval = 0
threads = 2
tcp-idle-timeout = 10
log = stderr

[zone bl.example]
data = ip4set:%s
data = dnset:%s
allow-world = no
""" % (p1, p2, a, b))
    srv = dnsblkit.start([], args=["--config", conf], port=p1, bind=False)
    for port in (p1, p2):
        r = query(port, "1.0.0.10.bl.example", "A")
        assert a_values(r) == {"127.0.0.3"} and r.answer[0].ttl == 600
        assert txt_values(query(port, "1.0.0.10.bl.example", "TXT", tcp=True)) == {
            "from config 10.0.0.1"}
        assert a_values(query(port, "example.com.bl.example", "A")) == {"127.0.0.2"}
    assert srv.proc.poll() is None


def test_config_listen_space_separated(dnsblkit, tmp_path):
    a = write(tmp_path / "a.txt", "10.0.0.1\n")
    p1, p2 = free_port(), free_port()
    conf = write(tmp_path / "dnsblkit.conf",
                 "[server]\nlisten = 127.0.0.1/%d 127.0.0.1/%d\n[zone bl.example]\n"
                 "data = ip4set:%s\n" % (p1, p2, a))
    dnsblkit.start([], args=["--config", conf], port=p1, bind=False)
    assert a_values(query(p2, "1.0.0.10.bl.example", "A")) == {"127.0.0.2"}


def test_bad_config_fails(tmp_path):
    conf = write(tmp_path / "bad.conf", "[server]\nthreads = lots\n")
    r = run_dnsblkit(["serve", "--config", conf])
    assert r.returncode in (1, 2) and r.stderr.strip()
    r = run_dnsblkit(["serve", "--config", str(tmp_path / "missing.conf")])
    assert r.returncode in (1, 2) and "missing.conf" in r.stderr


@pytest.mark.parametrize("args", [["--threads", "3"], ["--log-level", "debug"],
                                  ["--log-level", "error"], ["--threads", "1", "-c", "5"]])
def test_other_options_accepted(dnsblkit, tmp_path, args):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=args)
    assert a_values(query(srv.port, "1.0.0.10.bl.example", "A")) == {"127.0.0.2"}


def test_sigint_exits_cleanly(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path])
    query(srv.port, "1.0.0.10.bl.example", "A", tcp=True)
    srv.assert_clean_exit(signal.SIGINT)


def test_sigterm_with_open_tcp_connection_exits_cleanly(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path])
    s = socket.create_connection(("127.0.0.1", srv.port))
    try:
        s.sendall(b"\x00\x05abc")  # a half-sent query stays pending
        time.sleep(0.2)
        srv.assert_clean_exit(signal.SIGTERM)
    finally:
        s.close()
