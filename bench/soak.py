#!/usr/bin/env python3
"""Soak: dnsblkit serve (a file zone, a live listing zone, [http]) and
dnsblkit policyd under mixed load for --minutes, with every process's RSS
sampled every --every seconds; prints the samples and the growth after
--warmup seconds (caches filling: the checker's, SQLite's pages, at most
[listing] cache-size a connection, set to 1 MiB here; allocator arenas),
and exits 1 when either daemon grew by more than --max-growth-kb after
it.

The load, all on loopback and bounded: UDP queries for listed, unlisted
and TXT names from a few sources; TCP queries; HTTP lookups; listings
added and deleted through the API; the data file rewritten (a reload)
every 10 s; Postfix policy requests through policyd, whose cache turns
over.

  sudo /usr/bin/python3 bench/soak.py --bin build-rel/dnsblkit --minutes 10
"""
import argparse
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import as_root, free_port, rss_kib, wait_tcp  # noqa: E402

import requests  # noqa: E402

ZONE, LIVE = "bl.soak", "live.soak"
TOKEN = "soak-token-0123456789abcdef"


def qwire(name, qtype=1, qid=0):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def rev(ip, zone):
    return ".".join(reversed(ip.split("."))) + "." + zone


def data_file(path, gen):
    with open(path + ".new", "w") as f:
        f.write("127.0.0.2\n:127.0.0.2:Listed, see $\n")
        for i in range(20000):
            f.write("10.%d.%d.%d\n" % (gen % 200, i >> 8, i & 255))
    os.rename(path + ".new", path)


def udp_load(port, stop, counts):
    socks = []
    for k in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.%d.1" % (20 + k), 0))
        s.setblocking(False)
        socks.append(s)
    n = 0
    while not stop.is_set():
        for s in socks:
            for _ in range(20):
                ip = "10.%d.%d.%d" % (random.randrange(200), random.randrange(80), random.randrange(256))
                zone = ZONE if random.random() < 0.8 else LIVE
                s.sendto(qwire(rev(ip, zone), 16 if random.random() < 0.2 else 1, n & 0xffff),
                         ("127.0.0.1", port))
                n += 1
            try:
                while True:
                    s.recv(4096)
            except BlockingIOError:
                pass
        time.sleep(0.005)
    counts["udp"] = n


def tcp_load(port, stop, counts):
    n = 0
    while not stop.is_set():
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            for _ in range(5):
                w = qwire(rev("10.1.2.%d" % random.randrange(256), ZONE), 1, n & 0xffff)
                c.sendall(struct.pack("!H", len(w)) + w)
                ln = struct.unpack("!H", c.recv(2))[0]
                while ln > 0:
                    ln -= len(c.recv(ln))
                n += 1
            c.close()
        except OSError:
            pass
        time.sleep(0.02)
    counts["tcp"] = n


def http_load(base, stop, counts):
    s = requests.Session()
    auth = {"Authorization": "Bearer " + TOKEN}
    n = 0
    added = []
    while not stop.is_set():
        try:
            ip = "198.51.%d.%d" % (random.randrange(100), random.randrange(1, 255))
            s.get(base + "/api/v1/lookup", params={"ip": ip}, timeout=5)
            r = s.post(base + "/api/v1/zones/%s/listings" % LIVE, headers=auth,
                       json={"key": ip, "reason": "soak"}, timeout=5)
            if r.status_code == 201:
                added.append(ip)
            if len(added) > 200:
                old = added.pop(0)
                s.delete(base + "/api/v1/zones/%s/listings/%s" % (LIVE, old), headers=auth,
                         timeout=5)
            if n % 50 == 0:
                s.get(base + "/metrics", timeout=5)
            n += 1
        except requests.RequestException:
            pass
        time.sleep(0.01)
    counts["http"] = n


def policy_load(port, stop, counts):
    n = 0
    while not stop.is_set():
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            batch = b""
            for k in range(50):
                ip = "10.%d.%d.%d" % (random.randrange(200), random.randrange(80), random.randrange(256))
                batch += (b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
                          b"helo_name=mx%d.example.net\nsender=a@example.com\ninstance=%x\n\n"
                          % (ip.encode(), k, n + k))
            c.sendall(batch)
            buf = b""
            while buf.count(b"\n\n") < 50:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            c.close()
            n += 50
        except OSError:
            pass
        time.sleep(0.05)
    counts["policy"] = n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/dnsblkit")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=10.0)
    ap.add_argument("--max-growth-kb", type=int, default=1024)
    ap.add_argument("--warmup", type=float, default=120.0)
    ap.add_argument("--only", default="udp,tcp,http,policy,reload",
                    help="the loads to run, comma-separated (default all)")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    tmp = tempfile.mkdtemp(prefix="dbk-soak-")
    dns, http, pd = free_port(), free_port(), free_port()
    data = os.path.join(tmp, "bl.ip4set")
    data_file(data, 0)
    cfg = os.path.join(tmp, "dnsblkit.conf")
    with open(cfg, "w") as f:
        f.write("[listing]\ndatabase = %s/listing.db\ncache-size = 1\n\n[zone %s]\ndata = ip4set:%s\n\n"
                "[zone %s]\ndataset = listing\n\n[http]\nlisten = 127.0.0.1/%d\ntoken = %s\n\n"
                "[check]\nresolver = 127.0.0.1/%d\nlists = %s*2, %s\n"
                "cache-size = 20000\nprobe-interval = 5s\n\n"
                "[policyd]\nlisten = 127.0.0.1/%d\nmark-score = 1\nreject-score = 3\n"
                % (tmp, ZONE, data, LIVE, http, TOKEN, dns, ZONE, LIVE, pd))
    log = open(os.path.join(tmp, "soak.log"), "w")
    serve = subprocess.Popen([binary, "serve", *as_root(), "-b", "127.0.0.1/%d" % dns, "-c", "2",
                              "--config", cfg], stderr=log)
    policyd = None
    stop = threading.Event()
    threads = []
    counts = {}
    try:
        if not wait_tcp(http, 30):
            sys.exit("soak: serve does not answer HTTP:\n" + open(log.name).read())
        policyd = subprocess.Popen([binary, "policyd", *as_root(), "--config", cfg], stderr=log)
        if not wait_tcp(pd, 10):
            sys.exit("soak: policyd does not listen")
        base = "http://127.0.0.1:%d" % http
        only = set(args.only.split(","))
        loads = {"udp": (udp_load, dns), "tcp": (tcp_load, dns), "http": (http_load, base),
                 "policy": (policy_load, pd)}
        threads = [threading.Thread(target=fn, args=(where, stop, counts))
                   for name, (fn, where) in loads.items() if name in only]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        samples = []
        gen = 0
        next_reload = t0 + 10
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(args.every)
            now = time.monotonic()
            if now >= next_reload and "reload" in only:
                gen += 1
                data_file(data, gen)
                next_reload = now + 10
            for p in (serve, policyd):
                if p.poll() is not None:
                    sys.exit("soak: a daemon exited:\n" + open(log.name).read()[-3000:])
            samples.append((now - t0, rss_kib(serve.pid), rss_kib(policyd.pid)))
            print("%6.0f s  serve %7d kB  policyd %7d kB" % samples[-1], flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        for p in (policyd, serve):
            if p:
                p.send_signal(signal.SIGTERM)
                p.wait(20)
        log.close()
    warm = [s for s in samples if s[0] >= args.warmup] or samples
    grow_serve = warm[-1][1] - warm[0][1]
    grow_pd = warm[-1][2] - warm[0][2]
    print("load: %s; reloads: %d" % (", ".join("%s %d" % kv for kv in sorted(counts.items())), gen))
    print("after the warm-up (%.0f s): serve %+d kB (%d -> %d, max %d), policyd %+d kB (%d -> %d, "
          "max %d)" % (args.warmup, grow_serve, warm[0][1], warm[-1][1], max(s[1] for s in warm), grow_pd,
                       warm[0][2], warm[-1][2], max(s[2] for s in warm)))
    shutil.rmtree(tmp, ignore_errors=True)
    if max(grow_serve, grow_pd) > args.max_growth_kb:
        sys.exit("soak: memory grew by more than %d kB" % args.max_growth_kb)


if __name__ == "__main__":
    main()
