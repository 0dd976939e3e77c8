#!/usr/bin/python3
"""Benchmark zone transfers out of `dnsblkit serve` (issue 8).

Data: --entries random public IPv4 addresses (default 1,000,000, from a
fixed seed) in one ip4set file whose value has a TXT that names the
address ("Listed, see https://bl.example/lookup?ip=$"), as a live list's
does: every address is a name of its own with an A and a TXT record, so
the zone holds 2 x entries + 3 records (SOA, NS, the test entry's pair).

1. `dnsblkit serve --threads 1` loads it (load time and VmRSS).
2. AXFR by a raw TCP client that reads the length-prefixed messages and
   stops at the closing SOA, --runs times: wall time from the request to
   the last byte, bytes, messages, and the server's CPU time for it
   (/proc). The first message waits for the plan (the walk and one query
   per stretch of addresses), which is timed apart.
3. IXFR: --changes addresses removed and as many added, the file
   reloaded (SIGHUP): the time until the new serial is served, the time
   the difference took to make (the server's debug log) with the peak
   RSS (VmHWM) it needed, and an IXFR from the old serial (dnspython):
   time, records, bytes.
4. knotd, then nsd, as secondaries of the zone (their own scratch
   directories, loopback ports): time until each serves the zone's
   serial, then its VmRSS (NSD: every process of it) beside ours.

Prints a table and, with --json, the numbers. Every process started here
is stopped on exit, also on errors.
"""
import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import as_root, cpu_seconds, free_port  # noqa: E402

ZONE = "bl.example"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_rss_kib(pid):
    """VmRSS of a process and of its children (NSD forks)."""
    total = rss_kib(pid)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                total += tree_rss_kib(int(d))
        except (OSError, ValueError):
            pass
    return total


def query(port, name, rdtype, timeout=1.0):
    """One UDP query by hand: (rcode, raw reply) or None."""
    qid = random.randrange(65536)
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", rdtype,
                                                                                    1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(msg, ("127.0.0.1", port))
        data = s.recv(65535)
    except OSError:
        return None
    finally:
        s.close()
    return data[3] & 0xF, data


def skip_name(m, p):
    while m[p] and m[p] < 0xC0:
        p += 1 + m[p]
    return p + (2 if m[p] >= 0xC0 else 1)


def soa_tail(port):
    """The SOA's last 20 bytes (serial .. minimum), as any transfer's
    closing record ends: the first answer record's RDATA."""
    r = query(port, ZONE, 6)
    if not r or r[0] != 0 or struct.unpack("!H", r[1][6:8])[0] == 0:
        return None
    m = r[1]
    p = skip_name(m, 12) + 4
    p = skip_name(m, p)
    rdlen = struct.unpack("!H", m[p + 8:p + 10])[0]
    end = p + 10 + rdlen
    return m[end - 20:end]


def serial_of(port):
    t = soa_tail(port)
    return struct.unpack("!I", t[:4])[0] if t else None


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def axfr(port, tail):
    """Time one AXFR: (seconds to the first message, seconds in all,
    bytes, messages)."""
    labels = b"".join(bytes([len(l)]) + l.encode() for l in ZONE.split("."))
    q = struct.pack("!HHHHHH", 0x4242, 0, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", 252, 1)
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    t0 = time.monotonic()
    s.sendall(struct.pack("!H", len(q)) + q)
    first = None
    nbytes = msgs = 0
    soas = 0
    try:
        while soas < 2:
            (n,) = struct.unpack("!H", recv_exact(s, 2))
            m = recv_exact(s, n)
            if first is None:
                first = time.monotonic() - t0
                if m[3] & 0xF:
                    raise RuntimeError("AXFR refused, rcode %d" % (m[3] & 0xF))
                soas += 1  # the opening SOA is the first record
            msgs += 1
            nbytes += n + 2
            if m.endswith(tail) and msgs > 1:
                soas += 1
            elif m.endswith(tail) and struct.unpack("!H", m[6:8])[0] > 1:
                soas += 1  # a zone small enough for one message
    finally:
        s.close()
    return first, time.monotonic() - t0, nbytes, msgs


def wait_serial(port, serial, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("secondary exited with %s" % proc.returncode)
        if serial_of(port) == serial:
            return True
        time.sleep(0.1)
    return False


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def knot_secondary(d, primary, timeout):
    port = free_port()
    os.makedirs(d)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n"
                "database:\n    storage: %s\n"
                "remote:\n  - id: primary\n    address: 127.0.0.1@%d\n"
                "template:\n  - id: default\n    storage: %s\n    zonefile-sync: -1\n"
                "    zonefile-load: none\n    journal-content: none\n"
                "zone:\n  - domain: %s\n    master: primary\n"
                "log:\n  - target: stderr\n    any: info\n" % (port, d, d, primary, d, ZONE))
    log = open(os.path.join(d, "knot.log"), "wb")
    return subprocess.Popen([shutil.which("knotd") or "/usr/sbin/knotd", "-c", conf],
                            stdout=log, stderr=subprocess.STDOUT), port


def nsd_secondary(d, primary, timeout):
    port = free_port()
    os.makedirs(d)
    conf = os.path.join(d, "nsd.conf")
    with open(conf, "w") as f:
        f.write("server:\n    ip-address: 127.0.0.1@%d\n    username: \"\"\n    chroot: \"\"\n"
                "    zonesdir: \"%s\"\n    database: \"\"\n    pidfile: \"%s/nsd.pid\"\n"
                "    xfrdfile: \"%s/xfrd.state\"\n    zonelistfile: \"%s/zone.list\"\n"
                "    xfrdir: \"%s\"\n    logfile: \"%s/nsd.log\"\n    server-count: 1\n"
                "    rrl-ratelimit: 0\n"
                "remote-control:\n    control-enable: no\n"
                "zone:\n    name: %s\n    zonefile: \"%s.zone\"\n"
                "    request-xfr: 127.0.0.1@%d NOKEY\n" % (port, d, d, d, d, d, d, ZONE, ZONE,
                                                         primary))
    return subprocess.Popen([shutil.which("nsd") or "/usr/sbin/nsd", "-d", "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def ixfr_step(args, rng, srv, port, data, addrs, serial, work):
    import dns.query
    import dns.rdatatype
    gone = set(rng.sample(sorted(addrs), args.changes))
    new = set()
    while len(new) < args.changes:
        a = rng.randrange(1 << 24, 223 << 24)
        if a not in addrs and ipaddress.IPv4Address(a).is_global:
            new.add(a)
    with open(data, "w") as f:
        f.write("$NS 3600 ns1.example.net.\n:127.0.0.2:Listed, see "
                "https://bl.example/lookup?ip=$\n")
        for a in sorted((addrs - gone) | new):
            f.write("%d.%d.%d.%d\n" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
    log = os.path.join(work, "s.log")
    hwm0 = hwm_kib(srv.pid)
    t0 = time.monotonic()
    srv.send_signal(signal.SIGHUP)
    res = {"changes": args.changes, "hwm_before_kib": hwm0}
    while serial_of(port) in (None, serial):
        if time.monotonic() - t0 > 300:
            raise RuntimeError("no new serial after the reload")
        time.sleep(0.05)
    res["served_s"] = time.monotonic() - t0
    pat = re.compile(r"IXFR history %d -> (\d+): (\d+) records gone, (\d+) new \(([\d.]+) ms\)"
                     % serial)
    while True:
        m = pat.search(open(log).read())
        if m:
            break
        if time.monotonic() - t0 > 300:
            raise RuntimeError("no IXFR history line in %s" % log)
        time.sleep(0.05)
    res["history_ready_s"] = time.monotonic() - t0
    res["diff_ms"] = float(m.group(4))
    res["gone"], res["new"] = int(m.group(2)), int(m.group(3))
    res["hwm_after_kib"] = hwm_kib(srv.pid)
    t1 = time.monotonic()
    nrec = nbytes = 0
    for msg in dns.query.xfr("127.0.0.1", ZONE, rdtype=dns.rdatatype.IXFR, serial=serial,
                             port=port, lifetime=60):
        nbytes += len(msg.to_wire())
        nrec += sum(len(r) for r in msg.answer)
    res["ixfr_s"] = time.monotonic() - t1
    res["ixfr_records"], res["ixfr_bytes"] = nrec, nbytes
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dnsblkit", default=os.environ.get("DNSBLKIT", "build/dnsblkit"))
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--secondary-timeout", type=float, default=600)
    ap.add_argument("--no-secondaries", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    rng = random.Random(8)
    work = tempfile.mkdtemp(prefix="dbk-axfr-bench-")
    procs = []
    out = {"entries": args.entries}
    try:
        addrs = set()
        while len(addrs) < args.entries:
            a = rng.randrange(1 << 24, 223 << 24)
            if ipaddress.IPv4Address(a).is_global:
                addrs.add(a)
        data = os.path.join(work, "bl.ip4set")
        with open(data, "w") as f:
            f.write("$NS 3600 ns1.example.net.\n:127.0.0.2:Listed, see "
                    "https://bl.example/lookup?ip=$\n")
            for a in sorted(addrs):
                f.write("%d.%d.%d.%d\n" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
        port = free_port()
        conf = os.path.join(work, "dnsblkit.conf")
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1/%d\nthreads = 1\nallow-transfer = 127.0.0.1\n"
                    "log-level = debug\n[zone %s]\ndata = ip4set:%s\n" % (port, ZONE, data))
        t0 = time.monotonic()
        srv = subprocess.Popen([args.dnsblkit, "serve"] + as_root() + ["--config", conf],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "s.log"),
                                                                      "wb"))
        procs.append(srv)
        while soa_tail(port) is None:
            if srv.poll() is not None or time.monotonic() - t0 > 120:
                raise RuntimeError("dnsblkit serve did not start: see %s/s.log" % work)
            time.sleep(0.05)
        out["load_s"] = time.monotonic() - t0
        out["serve_rss_kib"] = rss_kib(srv.pid)
        tail = soa_tail(port)
        serial = struct.unpack("!I", tail[:4])[0]
        runs = []
        for _ in range(args.runs):
            c0 = cpu_seconds(srv.pid)
            first, total, nbytes, msgs = axfr(port, tail)
            runs.append({"first_s": first, "total_s": total, "bytes": nbytes, "messages": msgs,
                         "cpu_s": cpu_seconds(srv.pid) - c0})
        runs.sort(key=lambda r: r["total_s"])
        out["axfr"] = runs[len(runs) // 2]
        out["axfr_runs"] = runs
        time.sleep(0.5)  # the plan is freed and the log line written after the last message
        out["serve_rss_after_kib"] = rss_kib(srv.pid)
        m = re.findall(r"AXFR of .* (\d+) records", open(os.path.join(work, "s.log")).read())
        out["records"] = int(m[-1]) if m else None
        out["ixfr"] = ixfr_step(args, rng, srv, port, data, addrs, serial, work)
        serial = serial_of(port)  # the secondaries below take the new version

        if not args.no_secondaries:
            for name, start in (("knotd", knot_secondary), ("nsd", nsd_secondary)):
                t0 = time.monotonic()
                proc, sport = start(os.path.join(work, name), port, args.secondary_timeout)
                procs.append(proc)
                ok = wait_serial(sport, serial, proc, args.secondary_timeout)
                took = time.monotonic() - t0
                time.sleep(1)
                out[name] = {"ready_s": took if ok else None,
                             "rss_kib": tree_rss_kib(proc.pid)}
                stop(proc)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)

    a = out["axfr"]
    print("AXFR of %s entries (%s records): %.2f s (first message after %.2f s), %.1f MB in %d "
          "messages, %.2f s of server CPU; %.0f records/s" % (
              format(args.entries, ","), format(out["records"] or 0, ","), a["total_s"],
              a["first_s"], a["bytes"] / 1e6, a["messages"], a["cpu_s"],
              (out["records"] or 0) / a["total_s"]))
    x = out["ixfr"]
    print("IXFR after %d addresses removed and %d added: new serial served %.2f s after SIGHUP, "
          "difference made in %.0f ms (%d records gone, %d new; history ready after %.2f s), "
          "peak RSS %.1f -> %.1f MB; the IXFR: %d records, %d bytes in %.3f s" % (
              x["changes"], x["changes"], x["served_s"], x["diff_ms"], x["gone"], x["new"],
              x["history_ready_s"], x["hwm_before_kib"] / 1024, x["hwm_after_kib"] / 1024,
              x["ixfr_records"], x["ixfr_bytes"], x["ixfr_s"]))
    print("dnsblkit serve: loaded in %.2f s, VmRSS %.1f MB (%.1f MB after the transfers)" % (
        out["load_s"], out["serve_rss_kib"] / 1024, out["serve_rss_after_kib"] / 1024))
    for name in ("knotd", "nsd"):
        if name in out:
            s = out[name]
            print("%s as secondary: zone served after %s, VmRSS %.1f MB (%.1fx dnsblkit's)" % (
                name, "%.1f s" % s["ready_s"] if s["ready_s"] else "TIMEOUT",
                s["rss_kib"] / 1024, s["rss_kib"] / max(1, out["serve_rss_kib"])))
    if args.json:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
