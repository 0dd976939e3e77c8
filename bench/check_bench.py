#!/usr/bin/python3
"""Checks per second: `dnsblkit check` of many addresses against many lists
through Unbound, cold and warm cache, beside dnsperf asking Unbound the same
names (the floor: what the resolver gives a client that only sends).

dnsblkit serve publishes N lists (each an ip4set listing a share of the
addresses and the RFC 5782 test entry), Unbound resolves them through
stub zones on loopback, and `dnsblkit check -f` checks every address
against every list. Cold: Unbound just started. Warm: the same run again,
Unbound's cache full (dnsblkit check's own cache starts empty each run).
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import as_root, free_port

TLD = "bltest"


def wait_udp(port, qname, timeout=20.0):
    """Until the server at port answers a query for qname (any rcode)."""
    import struct
    labels = b"".join(bytes([len(p)]) + p.encode() for p in qname.split(".")) + b"\0"
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + labels + struct.pack(">HH", 1, 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(q, ("127.0.0.1", port))
            s.recv(512)
            return
        except OSError:
            time.sleep(0.1)
        finally:
            s.close()
    raise RuntimeError(f"nothing answers on port {port}")


def start_unbound(tmp, port, dns_port, zones):
    conf = os.path.join(tmp, "unbound.conf")
    with open(conf, "w") as f:
        f.write("server:\n"
                f"  interface: 127.0.0.1\n  port: {port}\n"
                "  do-not-query-localhost: no\n  username: \"\"\n  chroot: \"\"\n"
                f"  directory: \"{tmp}\"\n  pidfile: \"{tmp}/unbound.pid\"\n"
                "  use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n"
                "  module-config: \"iterator\"\n  num-threads: 1\n"
                "  access-control: 127.0.0.0/8 allow\n"
                "  msg-cache-size: 64m\n  rrset-cache-size: 128m\n"
                "  so-rcvbuf: 4m\n  so-sndbuf: 4m\n"
                "  outgoing-range: 4096\n  num-queries-per-thread: 4096\n"
                f"  domain-insecure: \"{TLD}\"\n  local-zone: \"{TLD}.\" nodefault\n")
        for z in zones:
            f.write(f"stub-zone:\n  name: \"{z}\"\n  stub-addr: 127.0.0.1@{dns_port}\n")
    p = subprocess.Popen(["unbound", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "unbound.log"), "w"))
    wait_udp(port, f"2.0.0.127.{zones[0]}")
    return p


def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_check(args, unbound_port, zones, addrs_file):
    cmd = [args.bin, "check", "--resolver", f"127.0.0.1/{unbound_port}", "-f", addrs_file,
           "--quiet", "--concurrency", str(args.concurrency)]
    for z in zones:
        cmd += ["--list", z]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"check_bench: dnsblkit check failed ({r.returncode}): {r.stderr[-2000:]}")
    return took


def run_dnsperf(unbound_port, qfile, queries):
    t0 = time.monotonic()
    r = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(unbound_port), "-d", qfile,
                        "-n", "1", "-q", "200", "-t", "5"],
                       capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    done = queries
    for line in r.stdout.splitlines():
        if "Queries completed:" in line:
            done = int(line.split()[2])
    return took, done


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/dnsblkit")
    ap.add_argument("--addresses", type=int, default=10000)
    ap.add_argument("--lists", type=int, default=10)
    ap.add_argument("--listed-share", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=100)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    for tool in ("unbound", "dnsperf"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"check_bench: {tool} not found")
    os.environ["PATH"] += ":/usr/sbin"
    tmp = tempfile.mkdtemp(prefix="dbk-checkbench-")
    rng = random.Random(5782)
    addrs = set()
    while len(addrs) < args.addresses:
        a = (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        if a[0] not in (10, 127, 169, 172, 192):
            addrs.add(a)
    addrs = sorted(addrs)
    addrs_file = os.path.join(tmp, "addrs.txt")
    with open(addrs_file, "w") as f:
        f.writelines("%d.%d.%d.%d\n" % a for a in addrs)
    zones = [f"z{i}.{TLD}" for i in range(args.lists)]
    specs = []
    for z in zones:
        path = os.path.join(tmp, z + ".ip4set")
        with open(path, "w") as f:
            f.write("127.0.0.2\n")
            for a in addrs:
                if rng.random() < args.listed_share:
                    f.write("%d.%d.%d.%d\n" % a)
        specs.append(f"{z}:ip4set:{path}")
    qfile = os.path.join(tmp, "queries.txt")
    with open(qfile, "w") as f:
        for a in addrs:
            for z in zones:
                f.write("%d.%d.%d.%d.%s A\n" % (a[3], a[2], a[1], a[0], z))
    nq = len(addrs) * len(zones)
    dns_port, unbound_port = free_port(), free_port()
    serve = subprocess.Popen([args.bin, "serve", *as_root(), "-b", f"127.0.0.1/{dns_port}"] + specs,
                             stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "serve.log"), "w"))
    unbound = None
    rows = []
    try:
        wait_udp(dns_port, f"2.0.0.127.{zones[0]}")
        unbound = start_unbound(tmp, unbound_port, dns_port, zones)
        cold = run_check(args, unbound_port, zones, addrs_file)
        warm = run_check(args, unbound_port, zones, addrs_file)
        perf_t, perf_done = run_dnsperf(unbound_port, qfile, nq)
        stop(unbound)
        unbound = start_unbound(tmp, unbound_port, dns_port, zones)
        perf_cold_t, perf_cold_done = run_dnsperf(unbound_port, qfile, nq)
        rows = [("dnsblkit check, Unbound cold", cold, len(addrs)),
                ("dnsblkit check, Unbound warm", warm, len(addrs)),
                ("dnsperf, Unbound cold (floor)", perf_cold_t, perf_cold_done / len(zones)),
                ("dnsperf, Unbound warm (floor)", perf_t, perf_done / len(zones))]
    finally:
        stop(unbound)
        stop(serve)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(addrs)} addresses x {len(zones)} lists ({nq} A queries), "
          f"~{args.listed_share:.0%} listed per list, through Unbound on loopback; "
          f"dnsblkit check --concurrency {args.concurrency}; dnsperf -q 200.")
    print()
    print("| run | seconds | checks/s | queries/s |")
    print("|---|---:|---:|---:|")
    for name, t, checks in rows:
        print(f"| {name} | {t:.2f} | {checks / t:,.0f} | {checks * len(zones) / t:,.0f} |")
    print()
    print(f"dnsblkit check ÷ dnsperf: cold {rows[2][1] / rows[0][1] * rows[0][2] / rows[2][2]:.2f}, "
          f"warm {rows[3][1] / rows[1][1] * rows[1][2] / rows[3][2]:.2f} (1.00 = as fast as "
          "a client that only sends and counts)")


if __name__ == "__main__":
    main()
