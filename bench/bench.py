#!/usr/bin/python3
"""Side-by-side benchmark of `dnsblkit serve` and rbldnsd on the same data.

For each dataset type it generates one data file, starts each server on a
loopback port, and measures: load time (start until the first correct
answer), resident memory, query throughput and server CPU time per query
under dnsperf, and whether queries fail while the data reloads. It prints
one table with the ratios dnsblkit/rbldnsd.

Run through `make bench` (or bench/run.sh BIN). Bounded: each throughput
run lasts --seconds, every server is stopped at the end.
"""
import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode

ZONE = "bl.bench"


def free_port():
    while True:
        port = random.randint(20000, 40000)
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port


def rev(ip):
    return ".".join(reversed(ip.split(".")))


def gen_data(tmp, n, seed):
    rnd = random.Random(seed)
    ips = set()
    while len(ips) < n:
        a = rnd.randrange(1 << 32)
        if (a >> 24) in (0, 10, 127) or (a >> 24) >= 224:
            continue
        ips.add(a)
    ips = sorted(ips)
    text = [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in ips]
    files = {}
    path = os.path.join(tmp, "ip4tset.txt")
    with open(path, "w") as f:
        f.write(":127.0.0.2:Listed, see http://bl.bench/lookup?ip=$\n")
        f.write("\n".join(text) + "\n")
    files["ip4tset"] = path
    for kind in ("ip4set", "ip4trie"):
        path = os.path.join(tmp, kind + ".txt")
        with open(path, "w") as f:
            f.write(":127.0.0.2:Listed, see http://bl.bench/lookup?ip=$\n")
            for i, t in enumerate(text):
                if i % 10 == 0:
                    f.write(f"{t} :3:Spam source $\n")
                else:
                    f.write(t + "\n")
        files[kind] = path
    qpath = os.path.join(tmp, "queries.txt")
    with open(qpath, "w") as f:
        for i in range(200000):
            if i % 2 == 0:
                t = text[rnd.randrange(len(text))]
            else:
                a = rnd.randrange(1 << 32)
                t = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
            f.write(f"{rev(t)}.{ZONE} A\n")
    return files, qpath, text


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def ask(port, name, timeout=0.5):
    q = dns.message.make_query(name, "A")
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def start(kind, cmd, port, probe):
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode}: {' '.join(cmd)}")
        try:
            r = ask(port, probe, 0.2)
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                return proc, time.monotonic() - t0
        except Exception:
            pass
        time.sleep(0.01)
    proc.kill()
    raise RuntimeError(f"{kind} did not answer within 120 s")


def dnsperf(port, qpath, seconds):
    out = subprocess.run(
        ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qpath, "-l", str(seconds),
         "-c", "8", "-q", "500", "-t", "2"],
        capture_output=True, text=True, timeout=seconds + 60).stdout
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    return done, lost, qps


def reload_probe(proc, port, path, probe, kind):
    """Rewrite the data file and query without pause until the new data
    answers; count queries that failed or timed out meanwhile."""
    with open(path, "a") as f:
        f.write("192.0.2.77\n")
    os.utime(path, None)
    proc.send_signal(signal.SIGHUP) if kind == "dnsblkit" else None
    failed = sent = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        sent += 1
        try:
            r = ask(port, probe, 0.3)
            if r.rcode() != dns.rcode.NOERROR or not r.answer:
                failed += 1
        except Exception:
            failed += 1
        try:
            r = ask(port, rev("192.0.2.77") + "." + ZONE, 0.3)
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                return time.monotonic() - t0, sent, failed
        except Exception:
            failed += 1
    return None, sent, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/dnsblkit")
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--types", default="ip4tset,ip4set,ip4trie")
    ap.add_argument("--threads", type=int, default=0, help="dnsblkit UDP workers (0 = per core)")
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="dnsblkit-bench-") as tmp:
        # rbldnsd drops privileges to its own user, which must read the data
        os.chmod(tmp, 0o755)
        print(f"generating {args.entries} entries ...", file=sys.stderr)
        files, qpath, text = gen_data(tmp, args.entries, 42)
        probe = rev(text[0]) + "." + ZONE
        for kind in args.types.split(","):
            res = {}
            for server in ("rbldnsd", "dnsblkit"):
                port = free_port()
                spec = f"{ZONE}:{kind}:{files[kind]}"
                if server == "rbldnsd":
                    cmd = ["rbldnsd", "-n", "-b", f"127.0.0.1/{port}", "-c", "1", spec]
                else:
                    cmd = [args.bin, "serve", "-b", f"127.0.0.1/{port}", "-c", "1",
                           "--log-level", "warning", spec]
                    if args.threads:
                        cmd += ["--threads", str(args.threads)]
                print(f"{kind}: {server} loading ...", file=sys.stderr)
                proc, load = start(server, cmd, port, probe)
                try:
                    rss = rss_kb(proc.pid)
                    c0 = cpu_seconds(proc.pid)
                    done, lost, qps = dnsperf(port, qpath, args.seconds)
                    cpu = cpu_seconds(proc.pid) - c0
                    rl, sent, failed = reload_probe(proc, port, files[kind], probe, server)
                    res[server] = dict(load=load, rss=rss / 1024, qps=qps, lost=lost,
                                       us=cpu / max(done, 1) * 1e6, reload=rl, failed=failed,
                                       sent=sent)
                finally:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                # the reload test appended a line; regenerate nothing, the
                # next type uses its own file
            rows.append((kind, res))

    print(f"\ndnsblkit serve vs rbldnsd, {args.entries} entries, "
          f"dnsperf {args.seconds} s x 8 clients, {os.cpu_count()} cores\n")
    hdr = f"{'type':8} {'metric':22} {'rbldnsd':>12} {'dnsblkit':>12} {'ratio':>8}"
    print(hdr)
    print("-" * len(hdr))
    for kind, res in rows:
        a, b = res["rbldnsd"], res["dnsblkit"]
        for key, label, fmt in (("load", "load time (s)", "{:.2f}"),
                                ("rss", "memory RSS (MB)", "{:.1f}"),
                                ("qps", "queries/s", "{:.0f}"),
                                ("us", "server CPU/query (us)", "{:.2f}"),
                                ("lost", "queries lost (dnsperf)", "{}"),
                                ("failed", "failed during reload", "{}")):
            va, vb = a[key], b[key]
            ratio = f"{vb / va:.2f}" if isinstance(va, (int, float)) and va else "-"
            print(f"{kind:8} {label:22} {fmt.format(va):>12} {fmt.format(vb):>12} {ratio:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
