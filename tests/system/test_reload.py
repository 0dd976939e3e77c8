# Reload: data files are checked every -c seconds and on SIGHUP; new data is
# swapped in atomically (no wrong or failed answer while a big file loads);
# a file that fails to parse is refused with "file:line: reason" and the
# previous data keeps serving.
import os
import re
import signal
import threading
import time

import dns.rcode
import pytest

from conftest import SANITIZE, a_values, batch_query, query, write


def touch_later(path, seconds=5):
    """Moves mtime forward so a change is seen even within the same second."""
    st = os.stat(path)
    os.utime(path, (st.st_atime + seconds, st.st_mtime + seconds))


def wait_for(predicate, timeout=10.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def listed(port, ip, zone="bl.example"):
    r = query(port, ".".join(reversed(ip.split("."))) + "." + zone, "A")
    assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), dns.rcode.to_text(r.rcode())
    return bool(a_values(r))


def test_polling_picks_up_a_changed_file(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-c", "1"])
    assert listed(srv.port, "10.0.0.1") and not listed(srv.port, "10.0.0.2")
    write(path, "10.0.0.2\n")
    touch_later(path)
    assert wait_for(lambda: listed(srv.port, "10.0.0.2"), timeout=8), srv.stderr()
    assert not listed(srv.port, "10.0.0.1")


def test_sighup_reloads_and_c0_disables_polling(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-c", "0"])
    write(path, "10.0.0.2\n")
    touch_later(path)
    time.sleep(2.5)
    assert listed(srv.port, "10.0.0.1"), "reloaded with -c 0 and no SIGHUP"
    srv.send(signal.SIGHUP)
    assert wait_for(lambda: listed(srv.port, "10.0.0.2"), timeout=8), srv.stderr()
    assert not listed(srv.port, "10.0.0.1")


def test_sighup_reloads_a_gzip_file_and_second_file(dnsblkit, tmp_path):
    import gzip
    a = write(tmp_path / "a.txt", "10.0.0.1\n")
    b = str(tmp_path / "b.txt.gz")
    with gzip.open(b, "wt") as f:
        f.write("10.0.0.5\n")
    srv = dnsblkit.start(["bl.example:ip4set:%s,%s" % (a, b)], args=["-c", "0"])
    assert listed(srv.port, "10.0.0.5")
    with gzip.open(b, "wt") as f:
        f.write("10.0.0.6\n")
    touch_later(b)
    srv.send(signal.SIGHUP)
    assert wait_for(lambda: listed(srv.port, "10.0.0.6"), timeout=8), srv.stderr()
    assert not listed(srv.port, "10.0.0.5") and listed(srv.port, "10.0.0.1")


BAD_LINES = [
    ("10.0.0.1\n10.0.0.2\nthis is not an address\n", 3),
    ("10.0.0.1\n10.0.0.300\n", 2),
    ("10.0.0.1\n\n# ok\n10.0.0.0/33\n", 4),
]


@pytest.mark.parametrize("how", ["sighup", "polling"])
@pytest.mark.parametrize("bad,line", BAD_LINES, ids=["word", "octet", "prefix"])
def test_bad_file_at_reload_keeps_old_data(dnsblkit, tmp_path, how, bad, line):
    path = write(tmp_path / "list.txt", "10.0.0.9\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path],
                         args=["-c", "1" if how == "polling" else "0"])
    write(path, bad)
    touch_later(path)
    if how == "sighup":
        srv.send(signal.SIGHUP)
    pattern = re.compile(re.escape("list.txt:%d:" % line) + r" *\S")
    seen = wait_for(lambda: pattern.search(srv.stderr()), timeout=8)
    assert seen, "no 'list.txt:%d: reason' logged:\n%s" % (line, srv.stderr())
    # The old data keeps serving: never SERVFAIL, never an empty zone.
    for _ in range(20):
        r = query(srv.port, "9.0.0.10.bl.example", "A")
        assert r.rcode() == dns.rcode.NOERROR and a_values(r) == {"127.0.0.2"}
        r = query(srv.port, "1.0.0.10.bl.example", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN
        time.sleep(0.05)
    # A fixed file is then taken.
    write(path, "10.0.0.7\n")
    touch_later(path, 10)
    if how == "sighup":
        srv.send(signal.SIGHUP)
    assert wait_for(lambda: listed(srv.port, "10.0.0.7"), timeout=8), srv.stderr()


def big_list(n, marker):
    lines = [":2:Listed $"]
    for i in range(n):
        lines.append("10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255))
    lines.append(marker)
    return "\n".join(lines) + "\n"


def test_reload_of_a_big_file_is_atomic(dnsblkit, tmp_path):
    n = 60000 if SANITIZE else 400000
    path = write(tmp_path / "big.txt", big_list(n, "192.0.2.1"))
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-c", "0"])
    assert listed(srv.port, "192.0.2.1")
    write(path, big_list(n, "192.0.2.2"))
    touch_later(path)

    # Names listed in both versions, unlisted in both, and the two markers.
    stable = [("7.0.0.10.bl.example", "A"), ("77.1.0.10.bl.example", "A"),
              ("9.9.9.9.bl.example", "A"), ("5.0.0.11.bl.example", "TXT")]
    errors = []
    counts = {"queries": 0, "new": 0, "during": 0}
    stop = threading.Event()
    hup_sent = threading.Event()

    def hammer():
        while not stop.is_set():
            qs = stable + [("1.2.0.192.bl.example", "A"), ("2.2.0.192.bl.example", "A")]
            rs = batch_query(srv.port, qs, timeout=2.0, tries=1)
            counts["queries"] += len(qs)
            for (qname, _t), r in zip(qs, rs):
                if r is None:
                    errors.append("%s: no reply" % qname)
                    continue
                rc = r.rcode()
                if qname.startswith(("7.0.0.10", "77.1.0.10")):
                    ok = rc == dns.rcode.NOERROR and a_values(r) == {"127.0.0.2"}
                elif qname.startswith("5.0.0.11"):
                    ok = rc == dns.rcode.NXDOMAIN
                elif qname.startswith("9.9.9.9"):
                    ok = rc == dns.rcode.NXDOMAIN
                else:
                    ok = rc in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
                if not ok:
                    errors.append("%s: %s %s" % (qname, dns.rcode.to_text(rc), a_values(r)))
            # Atomic: exactly one of the two markers at any moment.
            m1, m2 = bool(a_values(rs[-2] or _empty())), bool(a_values(rs[-1] or _empty()))
            if rs[-2] is not None and rs[-1] is not None and m1 == m2:
                # The two markers are asked one after the other, so a swap
                # may fall between them: only "neither" after "both" is wrong.
                if not m1 and not m2:
                    errors.append("neither marker listed: an empty zone was served")
            if m2:
                counts["new"] += 1
            elif hup_sent.is_set():
                counts["during"] += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(0.3)
        hup_sent.set()
        srv.send(signal.SIGHUP)
        swapped = wait_for(lambda: counts["new"] > 0, timeout=60 if SANITIZE else 30)
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    assert swapped, "new data never served:\n" + srv.stderr()[-2000:]
    assert counts["queries"] > 100
    assert counts["during"] > 0, "no query was answered while the new data loaded"
    assert not errors, "%d bad answers during reload, e.g. %s" % (len(errors), errors[:10])
    assert not listed(srv.port, "192.0.2.1") and listed(srv.port, "192.0.2.2")


def _empty():
    import dns.message
    return dns.message.Message()


def test_made_up_soa_serial_changes_with_the_data(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-c", "0"])

    def serial():
        r = query(srv.port, "bl.example", "SOA")
        assert r.rcode() == dns.rcode.NOERROR
        return [rr for rr in r.answer if rr.rdtype == 6][0][0].serial

    s1 = serial()
    write(path, "10.0.0.2\n")
    touch_later(path, 30)
    srv.send(signal.SIGHUP)
    assert wait_for(lambda: listed(srv.port, "10.0.0.2"), timeout=8)
    s2 = serial()
    assert s2 != s1, "serial %d did not change with the data" % s1


def _hundred(extra=""):
    return "".join("10.0.%d.%d\n" % (i // 250, i % 250 + 1) for i in range(100)) + extra


def test_shrink_guard_refuses_a_truncated_file(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", _hundred())
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-c", "0"])
    assert listed(srv.port, "10.0.0.50")
    # A truncated file: 10 of 100 entries left (90% dropped, limit 50%).
    write(path, "".join("10.0.0.%d\n" % i for i in range(1, 11)))
    touch_later(path)
    srv.send(signal.SIGHUP)
    assert wait_for(lambda: "REFUSED new data" in srv.stderr(), timeout=8), srv.stderr()
    assert "shrink-limit of 50%" in srv.stderr()
    assert listed(srv.port, "10.0.0.50"), "the previous data must keep serving"
    # A drop within the limit (100 -> 60) is accepted.
    write(path, "".join("10.0.0.%d\n" % i for i in range(1, 61)))
    touch_later(path, 10)
    srv.send(signal.SIGHUP)
    assert wait_for(lambda: not listed(srv.port, "10.0.0.70"), timeout=8), srv.stderr()
    assert listed(srv.port, "10.0.0.60")


def test_shrink_limit_from_the_config(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", _hundred())
    conf = write(tmp_path / "dnsblkit.conf",
                 "[zone bl.example]\ndata = ip4set:%s\nshrink-limit = 100\n" % path)
    srv = dnsblkit.start([], args=["-c", "0", "--config", conf])
    write(path, "10.0.0.1\n")
    touch_later(path)
    srv.send(signal.SIGHUP)
    assert wait_for(lambda: not listed(srv.port, "10.0.0.50"), timeout=8), srv.stderr()
    assert listed(srv.port, "10.0.0.1")
