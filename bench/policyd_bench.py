#!/usr/bin/python3
"""Requests per second of `dnsblkit policyd`, warm cache, one core.

dnsblkit serve publishes two lists; policyd asks them directly (its
resolver is the server). A first pass over the client addresses fills
the checker's cache; then several connections send requests in
pipelined batches (as many Postfix smtpd processes would, each waiting
for its answer) and the rate is the answered requests over the wall
time, with policyd pinned to one CPU and its CPU time per request read
from /proc. The Python client saturates its core before policyd does:
the CPU time per request is policyd's capacity per core. Each request has its own message (instance), so nothing is
answered from the per-message reuse: every one goes through the
checker and its cache.
"""
import argparse
import os
import random
import selectors
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


def clients(port, addrs, seconds, batch, nconn):
    """nconn connections driven by one thread: each has a batch of
    pipelined requests in flight and gets the next when all its answers
    are in. The batches are built before the clock starts and answers are
    counted chunk by chunk, so the client's core does little besides the
    socket calls. Returns the answers received."""
    per = max(1, len(addrs) // batch)
    payloads = [b"".join(request(addrs[(j * batch + k) % len(addrs)], j * batch + k)
                         for k in range(batch)) for j in range(per)]
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(nconn)]
    sel = selectors.DefaultSelector()
    state = {}
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        state[s] = [i, 0, False]  # next payload, answers missing, last byte was "\n"
    done = 0
    deadline = time.monotonic() + seconds

    def send_next(s):
        st = state[s]
        s.setblocking(True)
        s.sendall(payloads[st[0] % per])
        s.setblocking(False)
        st[0] += 1
        st[1] = batch

    for s in socks:
        send_next(s)
    while True:
        for key, _ in sel.select(timeout=5):
            s = key.fileobj
            chunk = s.recv(262144)
            if not chunk:
                raise SystemExit("policyd closed the connection")
            st = state[s]
            # An answer ends in "\n\n", which a chunk boundary may split.
            n = chunk.count(b"\n\n") + (1 if st[2] and chunk[:1] == b"\n" else 0)
            st[2] = chunk[-1:] == b"\n" and chunk[-2:] != b"\n\n"
            st[1] -= n
            done += n
            if st[1] <= 0:
                if time.monotonic() >= deadline:
                    sel.unregister(s)
                    s.close()
                    if not sel.get_map():
                        return done
                    continue
                send_next(s)


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
    rng = random.Random(10040)
    addrs = ["%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256),
                              rng.randrange(1, 255)) for _ in range(args.addresses)]
    with open(os.path.join(tmp, "a.ip4set"), "w") as f:
        f.write("127.0.0.2\n" + "".join(a + "\n" for a in addrs[::20]))
    with open(os.path.join(tmp, "b.ip4set"), "w") as f:
        f.write("127.0.0.2\n" + "".join(a + "\n" for a in addrs[::7]))
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
        total = clients(pd, addrs, args.seconds, args.batch, args.connections)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(policyd.pid) - c0
    finally:
        policyd.terminate()
        policyd.wait(10)
        serve.terminate()
        serve.wait(10)
    print("policyd on CPU 0, the clients (Python, one thread) on CPU 1, %d connections x batches of %d pipelined requests, %d addresses "
          "(cache warm), %.0f s" % (args.connections, args.batch, args.addresses, wall))
    print("requests answered: %d; %.0f requests/s; policyd CPU %.2f s, %.1f us per request "
          "(%.0f requests per CPU second)" % (total, total / wall, cpu, 1e6 * cpu / total,
                                              total / cpu if cpu else 0))
    with open(os.path.join(tmp, "pd.log")) as f:
        tail = f.read().strip().splitlines()[-1:]
    print("policyd's counters: %s" % (tail[0] if tail else "(none)"))


if __name__ == "__main__":
    main()
