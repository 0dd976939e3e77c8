#!/usr/bin/python3
"""Requests per second of `dnsblkit policyd`, warm cache, one core.

dnsblkit serve publishes two lists; policyd asks them directly (its
resolver is the server). A first pass over the client addresses fills
the checker's cache; then several connections send requests in
pipelined batches (as many Postfix smtpd processes would, each waiting
for its answer) and the rate is the answered requests over the wall
time, with policyd pinned to CPU 0 and its CPU time per request read
from /proc. The load comes from bench/policy_load.c (built here with cc)
on CPU 1, so that the client's core is not the limit. Each request has
its own message (instance), so nothing is answered from the
per-message reuse: every one goes through the checker and its cache.
"""
import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import as_root, cpu_seconds, free_port, wait_tcp

def request(ip, n):
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
            "instance=%x.%x\nsender=a@example.com\nrecipient=b@example.org\n\n" % (ip, n, n)
            ).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/dnsblkit")
    ap.add_argument("--addresses", type=int, default=10000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if (os.cpu_count() or 1) < 2:
        sys.exit("policyd_bench: needs two CPUs (policyd on CPU 0, the clients on CPU 1)")
    os.sched_setaffinity(0, {1})
    tmp = tempfile.mkdtemp(prefix="dbk-pdbench-")
    load = os.path.join(tmp, "policy_load")
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-o", load,
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "policy_load.c")],
                   check=True)
    rng = random.Random(10040)
    addrs = ["%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256),
                              rng.randrange(1, 255)) for _ in range(args.addresses)]
    with open(os.path.join(tmp, "a.ip4set"), "w") as f:
        f.write("127.0.0.2\n" + "".join(a + "\n" for a in addrs[::20]))
    with open(os.path.join(tmp, "b.ip4set"), "w") as f:
        f.write("127.0.0.2\n" + "".join(a + "\n" for a in addrs[::7]))
    addrfile = os.path.join(tmp, "addrs")
    with open(addrfile, "w") as f:
        f.write("".join(a + "\n" for a in addrs))
    dns, pd = free_port(), free_port()
    serve = subprocess.Popen([args.bin, "serve", *as_root(), "-b", "127.0.0.1/%d" % dns,
                              "a.bench:ip4set:%s/a.ip4set" % tmp,
                              "b.bench:ip4set:%s/b.ip4set" % tmp],
                             stderr=subprocess.DEVNULL)
    cfg = os.path.join(tmp, "pd.conf")
    with open(cfg, "w") as f:
        f.write("[check]\ncache-size = %d\n[policyd]\nreject-score = 3\nmark-score = 1\n"
                "max-connections = 64\n" % (4 * args.addresses))
    policyd = subprocess.Popen(["taskset", "-c", "0", args.bin, "policyd", *as_root(), "--config", cfg,
                                "--listen", "127.0.0.1/%d" % pd, "--resolver",
                                "127.0.0.1/%d" % dns, "--list", "a.bench*2", "--list",
                                "b.bench"], stderr=open(os.path.join(tmp, "pd.log"), "w"))
    try:
        time.sleep(0.5)
        if not wait_tcp(pd):
            sys.exit("policyd_bench: policyd does not listen on %d" % pd)
        # Warm: every address once, so the answers come from the cache.
        s = socket.create_connection(("127.0.0.1", pd))
        for k in range(0, len(addrs), 100):
            s.sendall(b"".join(request(a, k + j) for j, a in enumerate(addrs[k:k + 100])))
            buf = b""
            while buf.count(b"\n\n") < len(addrs[k:k + 100]):
                buf += s.recv(65536)
        s.close()
        c0 = cpu_seconds(policyd.pid)
        t0 = time.monotonic()
        r = subprocess.run([load, str(pd), str(args.connections), str(args.batch),
                            str(args.seconds), addrfile], capture_output=True, text=True)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(policyd.pid) - c0
        if r.returncode != 0:
            sys.exit("policyd_bench: policy_load failed: " + r.stderr)
        total = int(r.stdout)
    finally:
        policyd.terminate()
        policyd.wait(10)
        serve.terminate()
        serve.wait(10)
    print("policyd on CPU 0, the client (bench/policy_load.c) on CPU 1, %d connections x batches of %d pipelined requests, %d addresses "
          "(cache warm), %.0f s" % (args.connections, args.batch, args.addresses, wall))
    print("requests answered: %d; %.0f requests/s; policyd CPU %.2f s, %.1f us per request "
          "(%.0f requests per CPU second)" % (total, total / wall, cpu, 1e6 * cpu / total,
                                              total / cpu if cpu else 0))
    with open(os.path.join(tmp, "pd.log")) as f:
        tail = f.read().strip().splitlines()[-1:]
    print("policyd's counters: %s" % (tail[0] if tail else "(none)"))


if __name__ == "__main__":
    main()
