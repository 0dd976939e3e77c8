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


def test_pidfile_removed_when_the_user_may(tmp_path, datadir):
    """The pid file is written as root and removed at a clean stop by the
    user: from a directory the user may write (also after a chroot, the
    path outside it), else left with a warning."""
    path = bl_file(datadir)
    own = os.path.join(datadir, "run")
    os.mkdir(own)
    os.chown(own, NOBODY_UID, 65534)
    pid = os.path.join(own, "serve.pid")
    srv = start_serve(["-u", "nobody", "-p", pid, "bl.example:ip4set:" + path], str(tmp_path))
    with open(pid) as f:
        assert int(f.read()) == srv.proc.pid
    srv.assert_clean_exit()
    assert not os.path.exists(pid)
    # In a chroot the path is still the one outside it.
    env = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"} if SANITIZE else None
    srv = start_serve(["-u", "nobody", "-r", datadir, "-p", pid, "bl.example:ip4set:/bl.ip4set"],
                      str(tmp_path), env=env)
    assert os.path.exists(pid)
    srv.assert_clean_exit()
    assert not os.path.exists(pid)
    # A directory only root may write: the file stays, and the log says so.
    pid = os.path.join(datadir, "serve.pid")
    srv = start_serve(["-u", "nobody", "-p", pid, "bl.example:ip4set:" + path], str(tmp_path))
    status, err = srv.stop()
    assert status == 0, err
    assert os.path.exists(pid)
    assert "cannot remove the pid file %s: Permission denied" % pid in err


def test_report_api_in_a_chroot(tmp_path, datadir):
    """serve -u nobody -r DIR with the listing database inside the jail:
    the report API's parser module was opened before the chroot, so a
    spam report through the API lists its source."""
    os.chown(datadir, NOBODY_UID, 65534)  # the database and its journal
    http = free_port()
    conf = write(os.path.join(datadir, "dnsblkit.conf"),
                 "[listing]\ndatabase = /listing.db\ntrusted-relays = 192.0.2.0/24\n\n"
                 "[zone live.example]\ndataset = listing\n\n"
                 "[http]\nlisten = 127.0.0.1/%d\ntoken = chroot-token-0123456789\n" % http)
    os.chmod(conf, 0o644)
    env = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"} if SANITIZE else {}
    env["DNSBLKIT_CONFIG"] = os.devnull
    srv = start_serve(["-u", "nobody", "-r", datadir, "--config", conf], str(tmp_path),
                      zone="live.example", env=env)
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    msg = ("Received: from spam.example (unknown [45.83.12.7])\r\n"
           "\tby mx1.dnsblkit.test (Postfix) with ESMTP id 4Wchroot\r\n"
           "\tfor <trap@dnsblkit.test>; %s\r\n"
           "From: deals@spam.example\r\nTo: trap@dnsblkit.test\r\nSubject: pills\r\n"
           "Date: %s\r\nMessage-ID: <chroot.1@spam.example>\r\n\r\nBuy now.\r\n" % (date, date))
    deadline = time.monotonic() + 10
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", http), timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, srv.stderr()
            time.sleep(0.05)
    body = msg.encode()
    s.sendall(b"POST /api/v1/zones/live.example/reports?trap=1 HTTP/1.0\r\nHost: x\r\n"
              b"Authorization: Bearer chroot-token-0123456789\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    assert b" 20" in reply.split(b"\r\n")[0], reply[:300] + srv.stderr().encode()
    assert b"listed" in reply, reply
    deadline = time.monotonic() + 5
    while a_values(query(srv.port, "7.12.83.45.live.example")) != {"127.0.0.2"}:
        assert time.monotonic() < deadline, srv.stderr()
        time.sleep(0.1)
    srv.assert_clean_exit()
