# The daemons and root: `dnsblkit serve` and `dnsblkit policyd` refuse to
# run as root unless told whom to become (-u/--user); with a user they bind
# their sockets (DNS, the HTTP port, policyd's TCP and unix sockets) as
# root, optionally chroot, and then run -- load, reload and answer -- as
# that user, which /proc shows. A data file the user cannot read is found
# at startup, not at the first reload.
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (
    DNSBLKIT,
    SANITIZE,
    Server,
    a_values,
    assert_no_sanitizer_report,
    free_port,
    query,
    world_readable_dir,
    write,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")

NOBODY_UID = 65534


def proc_ids(pid):
    """(uids, gids, groups) of a process, from /proc."""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = [int(v) for v in value.split()]
    return ids["Uid"], ids["Gid"], ids["Groups"]


@pytest.fixture
def datadir():
    d = world_readable_dir("dbk-privdrop-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def bl_file(d, data="192.0.2.0/24\n127.0.0.2\n"):
    path = write(os.path.join(d, "bl.ip4set"), data)
    os.chmod(path, 0o644)
    return path


def start_serve(args, logdir, zone="bl.example", env=None):
    port = free_port()
    srv = Server([DNSBLKIT, "serve", "-b", "127.0.0.1/%d" % port] + list(args), port, zone,
                 logdir, env=env)
    srv.wait_ready()
    return srv


def test_root_without_user_refused(tmp_path, datadir):
    path = bl_file(datadir)
    for argv in ([DNSBLKIT, "serve", "-b", "127.0.0.1/%d" % free_port(),
                  "bl.example:ip4set:" + path],
                 [DNSBLKIT, "policyd", "--listen", "127.0.0.1/%d" % free_port(),
                  "--list", "bl.example"]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, DNSBLKIT_CONFIG=os.devnull))
        assert r.returncode == 2, r.stderr
        assert "refusing to run as root: give -u USER" in r.stderr
    # The same from the configuration file: a user there is enough.
    conf = write(tmp_path / "dnsblkit.conf", "[server]\nuser = nobody\n")
    port = free_port()
    srv = Server([DNSBLKIT, "serve", "--config", conf, "-b", "127.0.0.1/%d" % port,
                  "bl.example:ip4set:" + path], port, "bl.example", str(tmp_path))
    srv.wait_ready()
    assert proc_ids(srv.proc.pid)[0] == [NOBODY_UID] * 4
    srv.assert_clean_exit()


def test_serve_as_nobody_reloads_as_nobody(tmp_path, datadir):
    path = bl_file(datadir)
    srv = start_serve(["-u", "nobody", "-c", "0", "bl.example:ip4set:" + path], str(tmp_path))
    uids, gids, groups = proc_ids(srv.proc.pid)
    assert uids == [NOBODY_UID] * 4 and gids == [65534] * 4 and groups == [65534]
    assert "running as nobody (uid 65534)" in srv.stderr()
    assert a_values(query(srv.port, "1.2.0.192.bl.example")) == {"127.0.0.2"}
    # A reload, by the dropped user.
    bl_file(datadir, "192.0.2.0/24\n198.51.100.7\n127.0.0.2\n")
    srv.send(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while a_values(query(srv.port, "7.100.51.198.bl.example")) != {"127.0.0.2"}:
        assert time.monotonic() < deadline, srv.stderr()
        time.sleep(0.1)
    # A file the user cannot read: the reload is refused, the old data
    # serves on.
    os.chmod(path, 0o600)
    bl_file(datadir, "203.0.113.9\n127.0.0.2\n")
    os.chmod(path, 0o600)
    srv.send(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "Permission denied" not in srv.stderr():
        assert time.monotonic() < deadline, srv.stderr()
        time.sleep(0.1)
    assert a_values(query(srv.port, "7.100.51.198.bl.example")) == {"127.0.0.2"}
    srv.assert_clean_exit()


def test_unreadable_data_fails_at_startup(tmp_path, datadir):
    path = bl_file(datadir)
    os.chmod(path, 0o600)
    r = subprocess.run([DNSBLKIT, "serve", "-u", "nobody", "-b", "127.0.0.1/%d" % free_port(),
                        "bl.example:ip4set:" + path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stderr
    assert "Permission denied" in r.stderr and path in r.stderr
    assert_no_sanitizer_report(r.stderr)


def test_serve_in_chroot(tmp_path, datadir):
    bl_file(datadir)
    # LeakSanitizer reads /proc at exit, which a chroot does not have.
    env = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"} if SANITIZE else None
    srv = start_serve(["-u", "nobody", "-r", datadir, "bl.example:ip4set:/bl.ip4set"],
                      str(tmp_path), env=env)
    assert os.readlink("/proc/%d/root" % srv.proc.pid) == datadir
    assert proc_ids(srv.proc.pid)[0] == [NOBODY_UID] * 4
    assert a_values(query(srv.port, "1.2.0.192.bl.example")) == {"127.0.0.2"}
    srv.assert_clean_exit()


def privileged_port():
    """A loopback TCP port below 1024 that is free."""
    for port in range(1000, 600, -1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024 on loopback")


def test_http_port_below_1024_as_nobody(tmp_path, datadir):
    """The HTTP port is bound before the drop: nobody could not bind it."""
    path = bl_file(datadir)
    http = privileged_port()
    conf = write(os.path.join(datadir, "dnsblkit.conf"),
                 "[http]\nlisten = 127.0.0.1/%d\n" % http)
    os.chmod(conf, 0o644)
    srv = start_serve(["-u", "nobody", "--config", conf, "bl.example:ip4set:" + path],
                      str(tmp_path))
    s = socket.create_connection(("127.0.0.1", http), timeout=5)
    s.sendall(b"GET /api/v1/lookup?ip=192.0.2.1 HTTP/1.0\r\nHost: x\r\n\r\n")
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    assert reply.startswith(b"HTTP/1.0 200") or reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b"bl.example" in reply
    assert proc_ids(srv.proc.pid)[0] == [NOBODY_UID] * 4
    srv.assert_clean_exit()


def test_policyd_as_nobody(tmp_path, datadir):
    path = bl_file(datadir)
    dns = start_serve(["-u", "nobody", "bl.example:ip4set:" + path], str(tmp_path))
    port = free_port()
    sock = os.path.join(datadir, "policyd.sock")
    p = Server([DNSBLKIT, "policyd", "--user", "nobody", "--resolver", "127.0.0.1/%d" % dns.port,
                "--list", "bl.example", "--listen", "127.0.0.1/%d" % port,
                "--listen", "unix:" + sock], port, "", str(tmp_path), name="policyd",
               env={"DNSBLKIT_CONFIG": os.devnull})
    deadline = time.monotonic() + 10
    while p.stderr().count("listening on") < 2 or "running as" not in p.stderr():
        assert p.proc.poll() is None and time.monotonic() < deadline, p.stderr()
        time.sleep(0.05)
    assert proc_ids(p.proc.pid)[0] == [NOBODY_UID] * 4
    req = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
           b"client_address=192.0.2.9\n\n")
    for family, addr in ((socket.AF_INET, ("127.0.0.1", port)), (socket.AF_UNIX, sock)):
        c = socket.socket(family, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(addr)
        c.sendall(req)
        answer = b""
        while not answer.endswith(b"\n\n"):
            chunk = c.recv(4096)
            assert chunk, answer
            answer += chunk
        c.close()
        assert answer.startswith(b"action=554 5.7.1 "), answer
    p.assert_clean_exit()
    dns.assert_clean_exit()
