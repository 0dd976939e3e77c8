#!/usr/bin/python3
"""Benchmark `dnsblkit serve` against rbldnsd and a floor responder on the same data.

One run, three servers, the same data and query files:

  rbldnsd            the anchor we replace
  dnsblkit serve     --threads 1 (one UDP worker: like for like)
  floor              bench/floor.c: recvmmsg, flip the header to NXDOMAIN,
                     sendmmsg; what the kernel alone costs per query

Each server is pinned to CPU 0 and dnsperf (and this script) to CPU 1. For
every data set (random /32 hosts at 1M and 10M entries, 1M CIDR prefixes)
and dataset type it measures the load time (start until the first correct
answer, median of --load-runs), VmRSS and VmHWM after the load, and then
in --rounds interleaved rounds dnsperf at its maximum rate against each
server: queries answered and lost, server CPU (utime+stime from
/proc/PID/stat) per answered query. Ratios are medians of the per-round
ratios, so a slow spell of the machine hits both sides of a ratio. A
sample of the query file is also asked of rbldnsd and dnsblkit to check
that both give the same answers.

The reload run replaces the data file --reloads times (rename over it,
SIGHUP, and both servers also poll with -c 1) under a steady dnsperf load
while a checker sends listed and unlisted names whose right answer is
known and counts lost and wrong answers.

Run through `make bench` (bench/run.sh BIN); `--quick` is a 1M smoke run.
Every process started here is stopped on exit, also on errors.
"""
import argparse
import ctypes
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from benchlib import as_root

ZONE = "bl.bench"
HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_CPU = "0"
CLIENT_CPU = 1
TARGET_CPU_FLOOR = 1.2
TARGET_RSS = 1.0
TARGET_RSS_TSET10M = 0.6
TARGET_LOAD = 1.0
TARGET_RELOAD_PEAK = 2.0
# bench/gendata.c: listed addresses come from bench_addr(i) for small i;
# these index ranges are never listed in the base files.
ADDED_BASE = 0x80000000      # addresses the reload run adds
UNLISTED_BASE = 0xA0000000   # the reload checker's unlisted names


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- helpers

def bench_addr(i):
    """Same bijection as bench/gendata.c."""
    x = (i + 0x2545F491) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def reserved(a):
    top = a >> 24
    return top in (0, 10, 127) or top >= 224


def addrs_from(base, count):
    out, i = [], base
    while len(out) < count:
        a = bench_addr(i)
        i += 1
        if not reserved(a):
            out.append(a)
    return out


def ip_text(a):
    return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


def ip_int(text):
    p = [int(x) for x in text.split(".")]
    return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]


def question(a):
    """Wire question for the A record of IPv4 address a in ZONE."""
    labels = [str(a & 255), str((a >> 8) & 255), str((a >> 16) & 255), str(a >> 24)]
    labels += ZONE.split(".")
    wire = b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\0"
    return wire + struct.pack(">HH", 1, 1)


def query(qid, q):
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q


LISTED, UNLISTED, BAD = "listed", "unlisted", "bad"


def classify(resp, q):
    """Return (id, verdict) for a reply to question q: LISTED (NOERROR with
    A 127.0.0.2), UNLISTED (NXDOMAIN, no answer) or BAD (anything else)."""
    if len(resp) < 12:
        return None, BAD
    qid, flags, qd, an = struct.unpack(">HHHH", resp[:8])
    if not flags & 0x8000 or qd != 1 or resp[12:12 + len(q)] != q:
        return qid, BAD
    rcode = flags & 15
    if rcode == 3 and an == 0:
        return qid, UNLISTED
    if rcode != 0 or an == 0:
        return qid, BAD
    p = 12 + len(q)
    while p < len(resp):          # the owner name of the first answer
        ln = resp[p]
        if ln >= 0xC0:
            p += 2
            break
        p += ln + 1
        if ln == 0:
            break
    rr = resp[p:p + 14]
    if len(rr) == 14 and rr[:4] == b"\0\1\0\1" and rr[8:14] == b"\0\4\x7f\0\0\2":
        return qid, LISTED
    return qid, BAD


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def mem_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def server_cpu_busy():
    """Busy and total ticks of the servers' CPU, from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{SERVER_CPU} "):
                v = [int(x) for x in line.split()[1:9]]
                return sum(v) - v[3] - v[4], sum(v)
    return 0, 0


def idle_check(seconds=1.0):
    """Share of all CPUs busy before the run; the numbers are only as good
    as the machine is quiet."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v) - v[3] - v[4], sum(v)
    a = sample()
    time.sleep(seconds)
    b = sample()
    return 100.0 * (b[0] - a[0]) / max(b[1] - a[1], 1)


def udp_drops(port):
    """(drops on the 127.0.0.1:port socket, RcvbufErrors of all UDP
    sockets): tells a server that could not keep up from clients that
    could not."""
    server = 0
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1] == want:
                server += int(cols[-1])
    total = 0
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    if len(rows) == 2:
        total = int(rows[1][rows[0].index("RcvbufErrors")])
    return server, total


def free_port():
    while True:
        port = random.randint(20000, 60000)
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


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def warm_cache(path):
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


# ---------------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG: a server outlives no bench killed by SIGKILL
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


class Procs:
    """Every process this script starts, so that all of them stop."""

    def __init__(self):
        self.live = []

    def start(self, cmd, logpath=None):
        out = open(logpath, "wb") if logpath else subprocess.DEVNULL
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             preexec_fn=_die_with_parent)
        if logpath:
            out.close()
        p.logpath = logpath
        self.live.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(self.live):
            self.stop(p)


def log_tail(p):
    if not p.logpath:
        return ""
    try:
        with open(p.logpath, "rb") as f:
            return f.read()[-600:].decode(errors="replace")
    except OSError:
        return ""


class Server:
    """One server process on its own port, pinned to SERVER_CPU."""

    def __init__(self, procs, name, cmd_fn, tmp):
        self.procs, self.name, self.cmd_fn, self.tmp = procs, name, cmd_fn, tmp
        self.proc = None
        self.port = None

    def start(self, probe_q=None, timeout=300):
        """Start the server; return seconds until probe_q answers listed
        (without probe_q: until anything answers)."""
        self.port = free_port()
        cmd = ["taskset", "-c", SERVER_CPU] + self.cmd_fn(self.port)
        t0 = time.monotonic()
        self.proc = self.procs.start(cmd, os.path.join(self.tmp, f"{self.name}.log"))
        took = wait_answer(self.proc, self.port, probe_q, t0, timeout)
        if took is None:
            tail = log_tail(self.proc)
            self.stop()
            raise RuntimeError(f"{self.name} did not answer within {timeout} s: "
                               f"{' '.join(cmd)}\n{tail}")
        return took

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None


def wait_answer(proc, port, q, t0, timeout):
    """Send the query every millisecond until a listed answer arrives (any
    answer when q is None); return seconds since t0, None on timeout or
    when the process exits."""
    any_answer = q is None
    q = q or question(0x7F000002)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect(("127.0.0.1", port))
    qid = 0
    try:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                return None
            qid = (qid + 1) & 0xFFFF
            try:
                s.send(query(qid, q))
            except OSError:
                pass
            r, _, _ = select.select([s], [], [], 0.001)
            while r:
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    break
                except OSError:   # ECONNREFUSED: nothing bound yet
                    break
                if any_answer or classify(data, q)[1] == LISTED:
                    return time.monotonic() - t0
        return None
    finally:
        s.close()


def ask_all(port, names, timeout=1.0):
    """Ask for every name's A record over UDP, 64 at a time; return
    {name: (rcode, sorted answer rdata)} for the names that were answered."""
    import dns.message
    import dns.name
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect(("127.0.0.1", port))
    answers = {}
    try:
        for attempt in range(3):
            todo = [n for n in names if n not in answers]
            for i in range(0, len(todo), 64):
                wires = {}
                for j, n in enumerate(todo[i:i + 64]):
                    m = dns.message.make_query(n, "A")
                    m.id = j
                    wires[j] = n
                    s.send(m.to_wire())
                deadline = time.monotonic() + timeout
                while wires and time.monotonic() < deadline:
                    if not select.select([s], [], [], 0.05)[0]:
                        continue
                    try:
                        m = dns.message.from_wire(s.recv(4096))
                    except (BlockingIOError, ConnectionRefusedError):
                        continue
                    except Exception:
                        continue
                    n = wires.get(m.id)
                    if n is not None and m.question and \
                            m.question[0].name == dns.name.from_text(n):
                        del wires[m.id]
                        rd = sorted(r.to_text() for rr in m.answer for r in rr)
                        answers[n] = (m.rcode(), tuple(rd))
    finally:
        s.close()
    return answers


def run_dnsperf(args, port, qfile, seconds=None, rate=None, timeout=2):
    """dnsperf on the client CPU; with a rate, enough queries may be
    outstanding to keep that rate through a stall as long as the timeout."""
    outstanding = max(args.outstanding, int(rate * timeout)) if rate else args.outstanding
    cmd = ["taskset", "-c", str(CLIENT_CPU), "dnsperf", "-s", "127.0.0.1", "-p", str(port),
           "-d", qfile, "-l", str(seconds or args.seconds), "-c", str(args.clients),
           "-q", str(outstanding), "-t", f"{timeout:g}"]
    if rate:
        cmd += ["-Q", str(rate)]
    # to a file, not a pipe: dnsperf prints a line per lost query and would
    # stall on a full pipe
    out = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=_die_with_parent)
    p.out = out
    return p


def dnsperf_output(p, timeout):
    p.wait(timeout)
    p.out.seek(0)
    text = p.out.read()
    p.out.close()
    return text


def parse_dnsperf(out):
    def num(pat, default=0):
        m = re.search(pat, out)
        return float(m.group(1)) if m else default
    res = dict(sent=int(num(r"Queries sent:\s+(\d+)")),
               answered=int(num(r"Queries completed:\s+(\d+)")),
               lost=int(num(r"Queries lost:\s+(\d+)")),
               interrupted=int(num(r"Queries interrupted:\s+(\d+)")),
               runtime=num(r"Run time \(s\):\s+([\d.]+)", 1.0),
               qps=num(r"Queries per second:\s+([\d.]+)"),
               noerror=int(num(r"NOERROR (\d+)")),
               nxdomain=int(num(r"NXDOMAIN (\d+)")))
    if "Queries completed" not in out:
        raise RuntimeError("dnsperf failed:\n" + out[-800:])
    return res


def measure(args, server, qfile):
    """dnsperf at its maximum rate against one server; CPU per answer."""
    pid = server.proc.pid
    c0, m0 = cpu_ticks(pid), server_cpu_busy()
    p = run_dnsperf(args, server.port, qfile)
    out = dnsperf_output(p, args.seconds + 120)
    c1, m1 = cpu_ticks(pid), server_cpu_busy()
    r = parse_dnsperf(out)
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} died under load:\n{log_tail(server.proc)}")
    r["cpu_us"] = (c1 - c0) * TICK_US
    r["us_per_q"] = r["cpu_us"] / max(r["answered"], 1)
    r["cpu_share"] = r["cpu_us"] / 1e6 / max(r["runtime"], 1e-3)
    r["busy"] = (m1[0] - m0[0], m1[1] - m0[1])
    return r


# ---------------------------------------------------------------- data

class DataSet:
    def __init__(self, kind, n, ddir):
        self.kind, self.n = kind, n
        self.label = f"{kind} {human(n)}"
        base = os.path.join(ddir, f"{kind}-{n}")
        self.qfile = base + ".q"
        if kind == "hosts":
            self.files = {"ip4tset": base + ".tset", "ip4set": base + ".set",
                          "ip4trie": base + ".set"}
        else:
            self.files = {"ip4set": base + ".set", "ip4trie": base + ".set"}

    def ensure(self, gendata, ddir):
        paths = set(self.files.values()) | {self.qfile}
        if not all(os.path.exists(p) for p in paths):
            log(f"generating {self.label} data in {ddir} ...")
            t0 = time.monotonic()
            subprocess.run([gendata, self.kind, str(self.n), ddir], check=True)
            log(f"  {time.monotonic() - t0:.1f} s")
        for p in paths:
            os.chmod(p, 0o644)

    def probe(self, dtype):
        """A listed address: the first host line of the data file."""
        with open(self.files[dtype]) as f:
            for line in f:
                tok = line.split()[0] if line.strip() else ""
                if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", tok):
                    return ip_int(tok)
        raise RuntimeError("no host line in " + self.files[dtype])


def human(n):
    return f"{n // 1000000}M" if n % 1000000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))


def build_helpers(tmp):
    out = {}
    for name in ("gendata", "floor"):
        exe = os.path.join(tmp, name)
        subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-o", exe,
                        os.path.join(HERE, name + ".c")], check=True)
        out[name] = exe
    return out


# ---------------------------------------------------------------- runs

def server_cmds(args, floor_exe):
    def rbldnsd(spec):
        return lambda port: ["rbldnsd", "-n", "-b", f"127.0.0.1/{port}", "-c", "1", spec]

    extra = []
    if args.rate_limit:
        # Response rate limiting on, at a rate dnsperf's one client
        # network never reaches: every answer pays for the check.
        conf = os.path.join(os.path.dirname(floor_exe), "ratelimit.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\nrate-limit = {args.rate_limit}\n")
        extra = ["--config", conf]

    def dnsblkit(spec):
        return lambda port: [args.bin, "serve", *as_root(), "--threads", "1", "-b",
                             f"127.0.0.1/{port}", "-c", "1", "--log-level", "info"] + extra + [spec]

    def floor(_spec):
        return lambda port: [floor_exe, "-b", f"127.0.0.1/{port}"]
    return {"rbldnsd": rbldnsd, "dnsblkit": dnsblkit, "floor": floor}


def bench_type(args, procs, tmp, cmds, ds, dtype, floor):
    """Load both servers (load time, memory), then interleaved rounds of
    dnsperf against floor, rbldnsd and dnsblkit."""
    spec = f"{ZONE}:{dtype}:{ds.files[dtype]}"
    probe_q = question(ds.probe(dtype))
    res = {}
    servers = {}
    try:
        for name in ("rbldnsd", "dnsblkit"):
            srv = Server(procs, name, cmds[name](spec), tmp)
            loads = []
            while True:
                warm_cache(ds.files[dtype])
                loads.append(srv.start(probe_q))
                if len(loads) >= args.load_runs or sum(loads) > args.load_budget:
                    break
                srv.stop()
            time.sleep(0.3)
            mem = mem_kb(srv.proc.pid)
            servers[name] = srv
            res[name] = dict(load=median(loads), loads=loads, rss=mem["VmRSS"] / 1024,
                             hwm=mem["VmHWM"] / 1024, runs=[])
            log(f"  {ds.label} {dtype} {name}: load {median(loads):.2f} s "
                f"({', '.join(f'{x:.2f}' for x in loads)}), RSS {res[name]['rss']:.1f} MB, "
                f"HWM {res[name]['hwm']:.1f} MB")

        # the same answers from both, on a sample of the query file
        with open(ds.qfile) as f:
            names = [next(f).split()[0] for _ in range(args.agree_sample)]
        a = ask_all(servers["rbldnsd"].port, names)
        b = ask_all(servers["dnsblkit"].port, names)
        res["agree"] = dict(sample=len(names),
                            differ=sum(1 for n in names if a.get(n) != b.get(n)),
                            unanswered=sum(1 for n in names if n not in a or n not in b),
                            listed=sum(1 for n in names if a.get(n, (None, ()))[1]))
        servers["floor"] = floor
        res["floor"] = dict(runs=[])
        order = ["floor", "rbldnsd", "dnsblkit"]
        for r in range(args.rounds):
            for name in order[r % 3:] + order[:r % 3]:
                m = measure(args, servers[name], ds.qfile)
                res[name]["runs"].append(m)
                log(f"  {ds.label} {dtype} round {r + 1} {name}: {m['answered']} answered, "
                    f"{m['lost']} lost, {m['qps'] / 1000:.0f} kq/s, "
                    f"{m['us_per_q']:.2f} us/q, CPU {100 * m['cpu_share']:.0f}%")
        servers["rbldnsd"].stop()     # its own reload would share CPU 0
        res["reload_mem"] = reload_memory(servers["dnsblkit"], ds.files[dtype])
        log(f"  {ds.label} {dtype} dnsblkit reload: steady {res['reload_mem']['steady']:.1f} MB,"
            f" peak {res['reload_mem']['peak']:.1f} MB")
    finally:
        for name in ("rbldnsd", "dnsblkit"):
            if name in servers:
                servers[name].stop()
    return res


def reload_memory(srv, path, timeout=300):
    """Peak memory of one reload of the same data: VmHWM is reset through
    clear_refs, the data file touched so that -c 1 reloads it, and the
    peak read once the log says the reload is done."""
    pid = srv.proc.pid

    def reloads():
        with open(srv.proc.logpath, "rb") as f:
            return f.read().count(b"reload: 1 datasets loaded")
    steady = mem_kb(pid)["VmRSS"] / 1024
    done = reloads()
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")              # VmHWM := VmRSS
    t = time.time() + 2           # a new mtime whatever the clock's grain
    os.utime(path, (t, t))
    t0 = time.monotonic()
    while reloads() == done:
        if time.monotonic() - t0 > timeout or srv.proc.poll() is not None:
            raise RuntimeError(f"dnsblkit did not reload {path}: {log_tail(srv.proc)}")
        time.sleep(0.05)
    time.sleep(0.3)               # the old snapshot is freed after the swap
    mem = mem_kb(pid)
    return dict(steady=steady, peak=mem["VmHWM"] / 1024, after=mem["VmRSS"] / 1024,
                seconds=time.monotonic() - t0)


def reload_run(args, procs, tmp, cmds, ds):
    """Replace the data file args.reloads times under a steady load; count
    lost and wrong answers per server."""
    rdir = os.path.join(tmp, "reload")
    os.makedirs(rdir, exist_ok=True)
    os.chmod(rdir, 0o755)
    with open(ds.files["ip4tset"], "rb") as f:
        base = f.read()
    head = base.split(b"\n", 1 + 2000 + 10 * args.reloads)
    header, lines, tail = head[0], head[1:-1], head[-1]
    stable_listed = [ip_int(x.decode()) for x in lines[:2000]]
    removable = [ip_int(x.decode()) for x in lines[2000:]]
    removed = [removable[10 * g:10 * g + 10] for g in range(args.reloads)]
    added_all = addrs_from(ADDED_BASE, 10 * args.reloads)
    added = [added_all[10 * g:10 * g + 10] for g in range(args.reloads)]
    stable_unlisted = addrs_from(UNLISTED_BASE, 2000)

    def content(g):
        """File for generation g (0 = base): base minus removed[g-1] plus added[g-1]."""
        if g == 0:
            return base
        drop = set(removed[g - 1])
        kept = [ln for ln in lines[2000:] if ip_int(ln.decode()) not in drop]
        return b"\n".join([header] + lines[:2000] + kept + [tail.rstrip(b"\n")] +
                          [ip_text(a).encode() for a in added[g - 1]]) + b"\n"

    stable_set = set(stable_listed)
    removable_set = set(x for grp in removed for x in grp)

    def expect(a, g):
        """The right answer for address a when the file holds generation g."""
        if g > 0 and a in added[g - 1]:
            return LISTED
        if g > 0 and a in removed[g - 1]:
            return UNLISTED
        return LISTED if a in stable_set or a in removable_set else UNLISTED

    live = os.path.join(rdir, f"live-{ds.n}.tset")
    results = {}
    for name in ("rbldnsd", "dnsblkit"):
        log(f"reload run, {name}: writing {args.reloads} generations of {ds.label} ...")
        gens = []
        with open(live, "wb") as f:
            f.write(base)
        os.chmod(live, 0o644)
        for g in range(1, args.reloads + 1):
            path = os.path.join(rdir, f"gen{g}.tset")
            with open(path, "wb") as f:
                f.write(content(g))
            os.chmod(path, 0o644)
            gens.append(path)
        srv = Server(procs, name, cmds[name](f"{ZONE}:ip4tset:{live}"), tmp)
        perf = None
        try:
            warm_cache(live)
            load = srv.start(question(stable_listed[0]))
            log(f"  {name} loaded in {load:.2f} s")
            drops0 = udp_drops(srv.port)
            perf = run_dnsperf(args, srv.port, ds.qfile, seconds=3600, rate=args.reload_qps,
                               timeout=args.timeout)
            results[name] = check_reloads(args, srv, gens, live, stable_listed,
                                          stable_unlisted, added, removed, expect)
            drops1 = udp_drops(srv.port)
            results[name]["server_drops"] = drops1[0] - drops0[0]
            results[name]["client_drops"] = (drops1[1] - drops0[1]) - (drops1[0] - drops0[0])
        finally:
            if perf and perf.poll() is None:
                perf.send_signal(signal.SIGINT)
            if perf:
                out = dnsperf_output(perf, 60)
                try:
                    results.setdefault(name, {})["dnsperf"] = parse_dnsperf(out)
                except RuntimeError:
                    pass
            if srv.proc:
                results.setdefault(name, {})["hwm"] = mem_kb(srv.proc.pid)["VmHWM"] / 1024
            srv.stop()
            for p in gens + [live]:
                if os.path.exists(p):
                    os.unlink(p)
        r = results[name]
        log(f"  {name}: {r['sent']} checked, {r['lost']} lost ({r['lost_in_reload']} while "
            f"reloading), {r['wrong']} wrong, {r.get('server_drops')} dropped at the server's "
            f"socket, {r.get('client_drops')} at the clients', "
            f"reloads took {', '.join(f'{x:.1f}' for x in r['reload_s'])} s; dnsperf "
            f"{r.get('dnsperf', {}).get('answered')} answered, "
            f"{r.get('dnsperf', {}).get('lost')} lost")
    return results


def check_reloads(args, srv, gens, live, stable_listed, stable_unlisted, added, removed, expect):
    """The checker: a steady stream of queries whose right answers are known,
    while the generations are renamed over the live file one by one.

    Stable names (never changed) must always answer right. The names a
    reload changes may answer old or new until the new data has answered
    for all of them; queries sent after that must answer new."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    s.connect(("127.0.0.1", srv.port))
    qcache = {}

    def q_of(a):
        q = qcache.get(a)
        if q is None:
            q = qcache[a] = question(a)
        return q
    stable = [(a, LISTED) for a in stable_listed] + [(a, UNLISTED) for a in stable_unlisted]
    outstanding = {}       # id -> (sent at, address, generation, converged, stable answer)
    st = dict(sent=0, answered=0, lost=0, lost_in_reload=0, wrong=0, late=0,
              wrong_examples=[], reload_s=[])
    gen = 0                # the generation in the live file
    converged = True       # the server answers with `gen` for every changed name
    changed = []           # names whose answer differs between gen-1 and gen
    latest = {}            # changed name -> its last verdict since the rename
    t_rename = 0.0
    interval = 1.0 / args.checker_qps
    next_send = time.monotonic()
    qid = k = 0
    settle_until = time.monotonic() + args.reload_gap
    last_mtime = int(time.time())
    done_at = None
    try:
        while True:
            now = time.monotonic()
            if srv.proc.poll() is not None:
                raise RuntimeError(f"{srv.name} exited during the reload run:\n"
                                   f"{log_tail(srv.proc)}")
            if converged and done_at is None and now >= settle_until:
                if gen == len(gens):
                    done_at = now
                elif int(time.time()) > last_mtime:
                    # the servers compare mtimes in whole seconds: each
                    # generation gets a newer one than the last
                    last_mtime = int(time.time())
                    os.utime(gens[gen], (last_mtime, last_mtime))
                    os.rename(gens[gen], live)
                    srv.proc.send_signal(signal.SIGHUP)
                    gen += 1
                    t_rename = time.monotonic()
                    converged = False
                    prev = added[gen - 2] + removed[gen - 2] if gen >= 2 else []
                    changed = list(dict.fromkeys(added[gen - 1] + removed[gen - 1] + prev))
                    latest = {}
            if done_at is not None and not outstanding:
                break
            if not converged and now - t_rename > args.reload_deadline:
                raise RuntimeError(f"{srv.name}: generation {gen} not answering "
                                   f"{args.reload_deadline:g} s after the rename")
            if next_send < now - 0.1:
                next_send = now      # after a stall, no burst
            while done_at is None and next_send <= now:
                next_send += interval
                k += 1
                if changed and k % 4 == 0:
                    a, want = changed[(k // 4) % len(changed)], None
                else:
                    a, want = stable[random.randrange(len(stable))]
                qid = (qid + 1) & 0xFFFF
                try:
                    s.send(query(qid, q_of(a)))
                except (BlockingIOError, ConnectionRefusedError):
                    continue
                outstanding[qid] = (now, a, gen, converged, want)
                st["sent"] += 1
            if select.select([s], [], [], 0.001)[0]:
                while True:
                    try:
                        data = s.recv(4096)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    o = outstanding.pop(struct.unpack(">H", data[:2])[0], None) \
                        if len(data) >= 2 else None
                    if o is None:
                        st["late"] += 1
                        continue
                    _, a, g_sent, conv_sent, want = o
                    got = classify(data, q_of(a))[1]
                    st["answered"] += 1
                    if want is not None:
                        ok = got == want
                    elif conv_sent and g_sent == gen:
                        ok = got == expect(a, gen)
                    else:
                        ok = got in (expect(a, gen - 1), expect(a, gen))
                        if g_sent == gen and not converged:
                            latest[a] = got
                    if not ok:
                        st["wrong"] += 1
                        if len(st["wrong_examples"]) < 5:
                            st["wrong_examples"].append((ip_text(a), got, gen))
            if not converged and len(latest) == len(changed) and \
                    all(latest[a] == expect(a, gen) for a in changed):
                converged = True
                st["reload_s"].append(time.monotonic() - t_rename)
                settle_until = time.monotonic() + args.reload_gap
            # unanswered after the timeout: lost (ids go out in time order)
            limit = time.monotonic() - args.timeout
            expired = []
            for i, o in outstanding.items():
                if o[0] >= limit:
                    break
                expired.append(i)
            for i in expired:
                if not outstanding.pop(i)[3]:
                    st["lost_in_reload"] += 1
            st["lost"] += len(expired)
    finally:
        s.close()
    return st


# ---------------------------------------------------------------- report

def fmt_ratio(x):
    return "-" if x is None or x != x else f"{x:.2f}"


def verdict(x, limit):
    if x is None or x != x:
        return "n/a"
    return "PASS" if x <= limit else "FAIL"


def summarize(res):
    """Medians and paired ratios for one data set type."""
    out = {}
    for name in ("floor", "rbldnsd", "dnsblkit"):
        runs = res[name]["runs"]
        out[name] = dict(answered=sum(r["answered"] for r in runs),
                         lost=sum(r["lost"] for r in runs),
                         qps=median([r["qps"] for r in runs]),
                         cpu=median([r["cpu_share"] for r in runs]),
                         us=median([r["us_per_q"] for r in runs]),
                         us_min=min(r["us_per_q"] for r in runs),
                         us_max=max(r["us_per_q"] for r in runs))
    d = res["dnsblkit"]["runs"]
    out["vs_floor"] = median([x["us_per_q"] / y["us_per_q"]
                              for x, y in zip(d, res["floor"]["runs"])])
    out["vs_rbldnsd"] = median([x["us_per_q"] / y["us_per_q"]
                                for x, y in zip(d, res["rbldnsd"]["runs"])])
    return out


def report(args, all_res, reload_res, elapsed, busy, before):
    lines = []
    p = lines.append
    p(f"dnsblkit serve --threads 1 vs rbldnsd vs floor; servers pinned to CPU {SERVER_CPU}, "
      f"dnsperf to CPU {CLIENT_CPU}; dnsperf -c {args.clients} -q {args.outstanding}, "
      f"{args.rounds} rounds x {args.seconds} s per server and type; "
      f"load time median of {args.load_runs} starts (fewer, as marked, when "
      f"they took over {args.load_budget:g} s).")
    p(f"Command: {' '.join(sys.argv)}")
    if args.rate_limit:
        p(f"dnsblkit ran with response rate limiting on (rate-limit = {args.rate_limit}).")
    p(f"Versions: {versions(args.bin)}.")
    p(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}, Linux {platform.release()}. "
      f"Before the run the machine was {before:.0f}% busy; during the dnsperf runs CPU "
      f"{SERVER_CPU} was busy outside the measured server {busy:.0f}% of the time "
      f"(other processes, interrupts).")
    p("")
    for ds, types in all_res:
        p(f"### {ds.label}" + (" (/32 entries)" if ds.kind == "hosts" else
                               " (prefixes /16../32, values, exclusions)"))
        p("")
        p("| type | server | load s | VmRSS MB | VmHWM MB | answered | lost | kq/s | "
          "server CPU | CPU µs/answer (min–max) |")
        p("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for dtype, res in types:
            s = summarize(res)
            res["summary"] = s
            for name in ("rbldnsd", "dnsblkit", "floor"):
                r, x = res[name], s[name]
                load = ""
                if "load" in r:
                    load = f"{r['load']:.2f}"
                    if len(r["loads"]) != args.load_runs:
                        load += f" ({len(r['loads'])}×)"
                rss = f"{r['rss']:.1f}" if "rss" in r else ""
                hwm = f"{r['hwm']:.1f}" if "hwm" in r else ""
                p(f"| {dtype if name == 'rbldnsd' else ''} | {name} | {load} | {rss} | {hwm} | "
                  f"{x['answered']} | {x['lost']} | {x['qps'] / 1000:.0f} | "
                  f"{100 * x['cpu']:.0f}% | {x['us']:.2f} ({x['us_min']:.2f}–{x['us_max']:.2f}) |")
        p("")
        p("| type | CPU/answer ÷ floor (≤ 1.2) | CPU/answer ÷ rbldnsd | RSS ÷ rbldnsd (≤ 1.0) "
          "| load ÷ rbldnsd (≤ 1.0) | reload peak ÷ steady (< 2) | same answers |")
        p("|---|---|---|---|---|---|---|")
        for dtype, res in types:
            s = res["summary"]
            rss = res["dnsblkit"]["rss"] / res["rbldnsd"]["rss"]
            load = res["dnsblkit"]["load"] / res["rbldnsd"]["load"]
            ag = res["agree"]
            same = (f"{ag['sample'] - ag['differ']}/{ag['sample']} "
                    f"({ag['listed']} listed)")
            rm = res["reload_mem"]
            peak = rm["peak"] / rm["steady"]
            p(f"| {dtype} | {fmt_ratio(s['vs_floor'])} {verdict(s['vs_floor'], TARGET_CPU_FLOOR)}"
              f" | {fmt_ratio(s['vs_rbldnsd'])} | {fmt_ratio(rss)} {verdict(rss, TARGET_RSS)} | "
              f"{fmt_ratio(load)} {verdict(load, TARGET_LOAD)} | {fmt_ratio(peak)} "
              f"({rm['peak']:.1f}/{rm['steady']:.1f} MB) "
              f"{'PASS' if peak < TARGET_RELOAD_PEAK else 'FAIL'} | {same} |")
        tset = dict(types).get("ip4tset")
        if ds.kind == "hosts" and ds.n >= 10000000 and tset:
            base = tset["rbldnsd"]["rss"]
            parts = []
            for dtype, res in types:
                x = res["dnsblkit"]["rss"] / base
                tag = verdict(x, TARGET_RSS_TSET10M) if dtype == "ip4tset" else "(not a target)"
                parts.append(f"{dtype} {fmt_ratio(x)} {tag}")
            p("")
            p(f"Single-IP set at {human(ds.n)}, dnsblkit RSS ÷ rbldnsd ip4tset RSS (≤ 0.6): "
              + "; ".join(parts) + ".")
        p("")
    if reload_res:
        n = human(args.reload_size)
        p(f"### Reloads: {args.reloads} x ip4tset {n}, data file renamed over + SIGHUP "
          f"(and -c 1), dnsperf -Q {args.reload_qps} steady + checker {args.checker_qps} q/s, "
          f"answer timeout {args.timeout:g} s")
        p("")
        p("| server | checked | lost (while reloading) | wrong | dnsperf answered | dnsperf lost "
          "| UDP drops: server socket / clients | reload s (each) | VmHWM MB "
          "| target: 0 lost, 0 wrong |")
        p("|---|---:|---:|---:|---:|---:|---|---|---:|---|")
        for name in ("rbldnsd", "dnsblkit"):
            r = reload_res.get(name)
            if not r or "sent" not in r:
                p(f"| {name} | failed | | | | | | | | |")
                continue
            dp = r.get("dnsperf", {})
            ok = r["lost"] == 0 and r["wrong"] == 0 and dp.get("lost", 1) == 0 and \
                len(r["reload_s"]) == args.reloads
            p(f"| {name} | {r['sent']} | {r['lost']} ({r['lost_in_reload']}) | {r['wrong']} | "
              f"{dp.get('answered', '?')} | {dp.get('lost', '?')} | "
              f"{r.get('server_drops', '?')} / {r.get('client_drops', '?')} | "
              f"{', '.join(f'{x:.1f}' for x in r['reload_s'])} | "
              f"{r.get('hwm', 0):.0f} | {('PASS' if ok else 'FAIL') if name == 'dnsblkit' else ''}"
              f" |")
            if r["wrong_examples"]:
                p(f"  wrong answers seen ({name}): {r['wrong_examples']}")
        p("")
    p(f"Total run time {elapsed / 60:.1f} min.")
    return "\n".join(lines)


def versions(binary):
    def first(cmd, pat):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        m = re.search(pat, out.stdout + out.stderr)
        return m.group(1) if m else "?"
    return ", ".join([first([binary, "--version"], r"(dnsblkit \S+)"),
                      "rbldnsd " + first(["rbldnsd", "-h"], r"version (.*)"),
                      "dnsperf " + first(["dnsperf", "-h"], r"Version (\S+)")])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/dnsblkit", help="the dnsblkit binary")
    ap.add_argument("--quick", action="store_true",
                    help="1M smoke run: hosts and CIDR at 1M, 1 round, reloads at 1M")
    ap.add_argument("--data-dir", help="where generated data is kept and reused "
                    "(default: a temporary directory)")
    ap.add_argument("--sizes", help="comma-separated /32 data set sizes (1000000,10000000)")
    ap.add_argument("--cidr", type=int, help="CIDR data set size, 0 = none (1000000)")
    ap.add_argument("--types", default="ip4tset,ip4set,ip4trie")
    ap.add_argument("--seconds", type=int, help="dnsperf seconds per run (3)")
    ap.add_argument("--rounds", type=int, help="dnsperf runs per server and type (5)")
    ap.add_argument("--load-runs", type=int, help="starts per server and type (3)")
    ap.add_argument("--load-budget", type=float, default=12.0,
                    help="no further starts once the loads took this many seconds")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c")
    ap.add_argument("--outstanding", type=int, default=100,
                    help="dnsperf -q: enough to keep dnsperf at its limit, few enough "
                    "not to overflow rbldnsd's default socket buffer (150 does)")
    ap.add_argument("--agree-sample", type=int, default=2000)
    ap.add_argument("--reload-size", type=int, help="ip4tset size for the reload run (10000000)")
    ap.add_argument("--reloads", type=int, default=5)
    ap.add_argument("--reload-qps", type=int, default=20000, help="steady dnsperf rate")
    ap.add_argument("--checker-qps", type=int, default=3000)
    ap.add_argument("--reload-gap", type=float, default=1.0,
                    help="seconds of steady load between reloads")
    ap.add_argument("--reload-deadline", type=float, default=180.0)
    ap.add_argument("--timeout", type=float, default=2.0,
                    help="seconds after which an unanswered query counts as lost")
    ap.add_argument("--no-reload", action="store_true")
    ap.add_argument("--rate-limit", type=int, default=0,
                    help="run dnsblkit with [server] rate-limit = N (pick N above the "
                    "query rate to measure what the check costs)")
    args = ap.parse_args()
    q = args.quick
    args.sizes = [int(x) for x in (args.sizes or ("1000000" if q else "1000000,10000000"))
                  .split(",") if x and int(x) > 0]
    args.cidr = 1000000 if args.cidr is None else args.cidr
    args.seconds = args.seconds or 3
    args.rounds = args.rounds or (1 if q else 5)
    args.load_runs = args.load_runs or (1 if q else 3)
    args.reload_size = args.reload_size or (1000000 if q else 10000000)
    args.bin = os.path.abspath(args.bin)
    types = args.types.split(",")

    for tool in ("rbldnsd", "dnsperf", "taskset", "cc"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found")
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"bench: {args.bin} is not executable (build it first)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench: needs two CPUs (servers on CPU 0, dnsperf on CPU 1)")
    os.sched_setaffinity(0, {CLIENT_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    t_start = time.monotonic()
    before = idle_check()
    if before > 10:
        log(f"warning: the machine is {before:.0f}% busy before the run; "
            "expect noisy CPU numbers")
    procs = Procs()
    tmp = tempfile.mkdtemp(prefix="dnsblkit-bench-")
    os.chmod(tmp, 0o755)        # rbldnsd drops to its own user and must read
    ddir = os.path.abspath(args.data_dir) if args.data_dir else os.path.join(tmp, "data")
    os.makedirs(ddir, exist_ok=True)
    os.chmod(ddir, 0o755)
    all_res, reload_res = [], None
    busy = [0, 0]
    floor = None
    try:
        exes = build_helpers(tmp)
        cmds = server_cmds(args, exes["floor"])
        sets = [DataSet("hosts", n, ddir) for n in args.sizes]
        if args.cidr:
            sets.append(DataSet("cidr", args.cidr, ddir))
        reload_ds = None
        if not args.no_reload:
            reload_ds = next((d for d in sets if d.kind == "hosts" and d.n == args.reload_size),
                             None) or DataSet("hosts", args.reload_size, ddir)
        for d in sets + ([reload_ds] if reload_ds and reload_ds not in sets else []):
            d.ensure(exes["gendata"], ddir)

        floor = Server(procs, "floor", cmds["floor"](None), tmp)
        floor.start()
        for d in sets:
            per = []
            for dtype in types:
                if dtype not in d.files:
                    continue
                res = bench_type(args, procs, tmp, cmds, d, dtype, floor)
                for name in ("floor", "rbldnsd", "dnsblkit"):
                    for r in res[name]["runs"]:
                        own = r["cpu_us"] / TICK_US
                        busy[0] += r["busy"][0] - own
                        busy[1] += r["busy"][1]
                per.append((dtype, res))
            all_res.append((d, per))
        floor.stop()
        if reload_ds:
            reload_res = reload_run(args, procs, tmp, cmds, reload_ds)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)   # with the data, unless --data-dir
    other = 100.0 * max(0, busy[0]) / busy[1] if busy[1] else 0.0
    print(report(args, all_res, reload_res, time.monotonic() - t_start, other, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
