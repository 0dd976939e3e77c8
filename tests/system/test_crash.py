# Crashes: `kill -9` of `dnsblkit serve` in the middle of a reload and in
# the middle of writes through its API, then a restart on the same files.
# A reload builds the new data beside the old and never writes the data
# files, so a kill at any moment leaves them as they were: the restarted
# server answers from the files as they are. A write through the API is
# acknowledged (201) only once it is committed to the SQLite database:
# after the kill every acknowledged listing is there, the database passes
# its integrity check, and the restarted server answers for each.
import json
import os
import random
import signal
import sqlite3
import threading
import time

import pytest
import requests

from conftest import (
    AS_ROOT,
    DNSBLKIT,
    SANITIZE,
    Server,
    a_values,
    free_port,
    query,
    run_dnsblkit,
    write,
)

SLOW = 3 if SANITIZE else 1
ZONE = "bl.example"
TOKEN = "crash-test-token-0123456789"


def start(argv, tmp, zone=ZONE):
    port = free_port()
    srv = Server([DNSBLKIT, "serve"] + AS_ROOT + ["-b", "127.0.0.1/%d" % port, "-c", "0"] + argv,
                 port, zone, tmp)
    srv.wait_ready(timeout=30 * SLOW)
    return srv


def big_set(n, marker):
    """An ip4set of n /32s in 10.0.0.0/8 and one marker address."""
    lines = ["10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(1, n)]
    return "\n".join(lines + [marker, "127.0.0.2", ""])


def rev(ip):
    return ".".join(reversed(ip.split("."))) + "." + ZONE


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2])
def test_kill_9_during_reload(tmp_path, delay):
    tmp = str(tmp_path)
    n = 200000 // SLOW
    path = write(os.path.join(tmp, "bl.ip4set"), big_set(n, "192.0.2.1"))
    srv = start(["%s:ip4set:%s" % (ZONE, path)], tmp)
    assert a_values(query(srv.port, rev("192.0.2.1"))) == {"127.0.0.2"}
    # A new version of the file, a reload, and the kill while it loads.
    write(os.path.join(tmp, "bl.ip4set.new"), big_set(n, "192.0.2.2"))
    os.rename(os.path.join(tmp, "bl.ip4set.new"), path)
    srv.send(signal.SIGHUP)
    time.sleep(delay)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    srv.stopped = True
    srv.errfile.close()
    assert srv.proc.returncode == -signal.SIGKILL
    # Nothing but the data file in its directory (no half-written copy).
    assert sorted(f for f in os.listdir(tmp) if f.startswith("bl.")) == ["bl.ip4set"]
    again = start(["%s:ip4set:%s" % (ZONE, path)], tmp)
    assert a_values(query(again.port, rev("192.0.2.2"))) == {"127.0.0.2"}
    assert query(again.port, rev("192.0.2.1")).rcode() == 3  # NXDOMAIN
    assert a_values(query(again.port, rev("10.0.1.1"))) == {"127.0.0.2"}
    again.assert_clean_exit()


def listing_config(tmp, http_port):
    return write(os.path.join(tmp, "dnsblkit.conf"),
                 "[listing]\ndatabase = %s/listing.db\n\n"
                 "[zone %s]\ndataset = listing\n\n"
                 "[http]\nlisten = 127.0.0.1/%d\ntoken = %s\n" % (tmp, ZONE, http_port, TOKEN))


def wait_http(base, srv, timeout=10.0):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        assert srv.proc.poll() is None, srv.stderr()
        try:
            requests.get(base + "/style.css", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise AssertionError("HTTP not answering:\n" + srv.stderr())


def test_kill_9_during_api_writes(tmp_path):
    tmp = str(tmp_path)
    http_port = free_port()
    cfg = listing_config(tmp, http_port)
    srv = start(["--config", cfg], tmp)
    base = "http://127.0.0.1:%d" % http_port
    wait_http(base, srv)
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def writer(w):
        s = requests.Session()
        i = 0
        while not stop.is_set():
            key = "198.51.%d.%d" % (w * 10 + i // 250, i % 250 + 1)
            i += 1
            try:
                r = s.post(base + "/api/v1/zones/%s/listings" % ZONE,
                           headers={"Authorization": "Bearer " + TOKEN},
                           json={"key": key, "reason": "crash test"}, timeout=5)
            except requests.RequestException:
                return  # the server is gone
            if r.status_code == 201:
                with lock:
                    acked.append(key)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20 * SLOW
    while len(acked) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.uniform(0, 0.05))
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    srv.stopped = True
    srv.errfile.close()
    stop.set()
    for t in threads:
        t.join(10)
    with lock:
        acked = list(acked)
    assert len(acked) >= 150, "only %d writes acknowledged before the kill" % len(acked)

    db = sqlite3.connect(os.path.join(tmp, "listing.db"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    r = run_dnsblkit(["list", "ls", ZONE, "--config", cfg, "--json"])
    assert r.returncode == 0, r.stderr
    listed = {e["key"] for e in json.loads(r.stdout)}
    missing = [k for k in acked if k not in listed]
    assert not missing, "acknowledged but lost: %s" % missing[:10]

    again = start(["--config", cfg], tmp)
    for key in random.sample(acked, 50):
        assert a_values(query(again.port, rev(key))) == {"127.0.0.2"}, key
    again.assert_clean_exit()
