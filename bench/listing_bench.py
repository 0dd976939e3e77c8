#!/usr/bin/python3
"""Benchmark the listing engine: report ingest rate and add-to-DNS latency.

Two targets (issue 4):

  ingest       `dnsblkit report --trap --mbox` takes >= 1,000 reports/s on
               one core into a database that holds 1M listed addresses
  add-to-DNS   a change (`dnsblkit list add` / `list del`) is answered by a
               running `dnsblkit serve` within 1 s at 10M listed addresses

Data: a listing database per size N (random public IPv4 /32 listings for
zone bl.bench, code 2, expiring about a day ahead, one trap event each, as
a trap listing has). The schema is created by the binary itself (`dnsblkit
list ls`); the rows are bulk-inserted with Python's sqlite3 (the indexes
are dropped first and created again afterwards, from the schema's own SQL,
so the result is the database the binary made, filled). Databases are
cached in --data-dir, keyed by N and checked against the binary's schema
version (PRAGMA user_version); a cached database whose listings expire in
less than 12 hours is made again.

Ingest: a copy of the 1M database takes an mbox of --messages distinct
trap messages (half from listed addresses, half from new ones; one
Received: hop from the source to our MX) through `taskset -c 0 dnsblkit
report --batch 100`, timed by the wall clock and by the child's resource
usage; then --batch 1 (a commit, so an fsync, per report) on
--batch1-messages others. Each runs --ingest-runs times on fresh copies
(the median run is shown, with the spread). Every message must print its
decision line.

Latency: `dnsblkit serve --threads 1 --config` on a copy of each database,
pinned to CPU 0 (load time, VmRSS); --adds times `dnsblkit list add` of a
fresh address and, from the moment that command exits (the write is
acknowledged), a DNS query every 5 ms until it answers 127.0.0.2; --dels
times `list del` of a listed address until NXDOMAIN. Side by side,
rbldnsd -c 1 serves the same addresses as an ip4tset file; an address is
added by writing the file anew and renaming it over the old one, and
timed from the rename until rbldnsd answers it. While polling, a listed
address that never changes is asked too: its unanswered queries are what
a reload costs in answers.

Run through `make bench` (bench/run.sh, after bench.py; LBENCH_ARGS) or
directly. Every process started here is stopped on exit, also on errors.
"""
import argparse
import hashlib
import json
import math
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True    # no bench/__pycache__ from the import below
from benchlib import as_root  # noqa: E402
import bench  # noqa: E402  (bench.py: processes, DNS probes, machine facts)
from bench import (LISTED, UNLISTED, Procs, Server, bench_addr, classify, cpu_model,  # noqa: E402
                   human, idle_check, ip_text, log, log_tail, mem_kb, median, query, question,
                   warm_cache)

ZONE = bench.ZONE                 # bl.bench
SERVER_CPU = bench.SERVER_CPU     # servers and `report` run here
CLIENT_CPU = bench.CLIENT_CPU     # this script and `list add` run here
OUR_MX = "192.0.2.10"             # inside trusted-relays: our own edge
TRUSTED = "192.0.2.0/24"
TARGET_INGEST = 1000.0            # reports/s, one core, 1M database
TARGET_LATENCY = 1.0              # s, add or delete visible in DNS, 10M listed
GEN_VERSION = 1                   # bump when the generated rows change
STORE_KEY_FLIP = 1 << 63          # src/listing/store.c: keys stored as v ^ 2^63
MAX_AGE = 12 * 3600               # a cached database is made again after this
# bench_addr(i) is a bijection: the listed addresses come from small i, and
# these index ranges are never listed in a generated database.
FRESH_BASE = 0x80000000           # addresses `list add` and rbldnsd add
INGEST_BASE = 0x90000000          # new sources in the ingest mboxes
BATCH1_BASE = 0x98000000          # new sources in the --batch 1 mbox


# ---------------------------------------------------------------- addresses

def public(a):
    """netkey_is_public for an IPv4 host (src/listing/netkey.c's table)."""
    t = a >> 24
    if t in (0, 10, 127) or t >= 224:
        return False
    if t == 100:
        return (a >> 22) != (100 << 2 | 1)          # 100.64.0.0/10
    if t == 169:
        return (a >> 16) & 255 != 254
    if t == 172:
        return (a >> 20) & 15 != 1                  # 172.16.0.0/12
    if t == 192:
        b = a >> 8
        return (a >> 16) & 255 != 168 and b not in (0xC00000, 0xC00002, 0xC05863)
    if t == 198:
        return (a >> 17) != (198 << 7 | 9) and (a >> 8) != 0xC63364   # 198.18/15, 198.51.100
    if t == 203:
        return (a >> 8) != 0xCB0071                 # 203.0.113.0/24
    return True


def public_from(base, count):
    out, i = [], base
    while len(out) < count:
        a = bench_addr(i)
        i += 1
        if public(a):
            out.append(a)
    return out


def rev_name(a):
    return f"{a & 255}.{(a >> 8) & 255}.{(a >> 16) & 255}.{a >> 24}.{ZONE}"


def enc(a):
    """An IPv4 key as store.c stores it: hi ^ 2^63 as a signed INTEGER."""
    v = a ^ STORE_KEY_FLIP
    return v - (1 << 64) if v >= 1 << 63 else v


def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


# ---------------------------------------------------------------- data

def write_conf(path, db):
    with open(path, "w") as f:
        f.write(f"[listing]\ndatabase = {db}\ntrusted-relays = {TRUSTED}\n"
                f"[zone {ZONE}]\ndataset = listing\n")
    return path


def schema_version(binary, tmp):
    """PRAGMA user_version of a database the binary creates."""
    d = tempfile.mkdtemp(prefix="schema-", dir=tmp)
    db = os.path.join(d, "s.db")
    run_checked([binary, "list", "ls", ZONE, "--config",
                 write_conf(os.path.join(d, "s.conf"), db)], 60)
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()
        shutil.rmtree(d, ignore_errors=True)


def run_checked(cmd, timeout):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr[-800:]}")
    return r


class ListingData:
    """A cached listing database of n listed addresses and the same
    addresses as an rbldnsd ip4tset file."""

    def __init__(self, n, ddir):
        self.n = n
        base = os.path.join(ddir, f"listing-{n}-g{GEN_VERSION}")
        self.db, self.tset, self.meta_path = base + ".db", base + ".tset", base + ".json"
        self.meta = None

    def usable(self, version):
        try:
            with open(self.meta_path) as f:
                meta = json.load(f)
            if not (os.path.exists(self.db) and os.path.exists(self.tset)):
                return False
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
            try:
                v = con.execute("PRAGMA user_version").fetchone()[0]
            finally:
                con.close()
        except (OSError, ValueError, sqlite3.Error):
            return False
        if v != version or meta.get("user_version") != version or meta.get("n") != self.n:
            return False
        if time.time() - meta.get("generated_at", 0) > MAX_AGE:
            return False
        self.meta = meta
        return True

    def ensure(self, binary, version, tmp):
        if self.usable(version):
            log(f"listing {human(self.n)}: cached {self.db}")
        else:
            self.generate(binary, version, tmp)
        os.chmod(self.tset, 0o644)

    def generate(self, binary, version, tmp):
        log(f"listing {human(self.n)}: generating {self.db} ...")
        t0 = time.monotonic()
        for p in (self.db, self.db + "-wal", self.db + "-shm", self.meta_path):
            if os.path.exists(p):
                os.unlink(p)
        part = self.db + ".part"
        for p in (part, part + "-wal", part + "-shm"):
            if os.path.exists(p):
                os.unlink(p)
        # the schema through the real code
        run_checked([binary, "list", "ls", ZONE, "--config",
                     write_conf(os.path.join(tmp, "gen.conf"), part)], 60)
        addrs, i = [], 0
        while len(addrs) < self.n:
            a = bench_addr(i)
            i += 1
            if public(a):
                addrs.append(a)
        imax = i
        addrs.sort()                 # primary-key order: the table is appended to
        now = int(time.time())
        con = sqlite3.connect(part, isolation_level=None)
        try:
            if con.execute("PRAGMA user_version").fetchone()[0] != version:
                raise RuntimeError(f"{part}: not the binary's schema version {version}")
            # The generator only: no journal, no syncs, a big cache. The
            # file is renamed into place only when it is complete.
            con.execute("PRAGMA journal_mode = OFF")
            con.execute("PRAGMA synchronous = OFF")
            con.execute("PRAGMA cache_size = -1000000")
            idx = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                              "AND sql IS NOT NULL AND tbl_name IN ('listing', 'event')"
                              ).fetchall()
            con.execute("BEGIN")
            for name, _ in idx:
                con.execute(f"DROP INDEX {name}")

            def seen(a):
                return now - 60 - (a * 2654435761 >> 7) % 3540   # the last hour

            con.executemany(
                "INSERT INTO listing (zone, fam, bits, hi, first_seen, last_seen, reports, "
                "traps, code, listed_at, expires_at, reason, manual, times_listed, "
                "total_listed, removals, last_removal) VALUES "
                "(?, 4, 32, ?, ?, ?, 0, 1, 2, ?, ?, '0 reports, 1 trap hits in 7 days', "
                "0, 1, 0, 0, 0)",
                ((ZONE, enc(a), t, t, t, t + 86400) for a in addrs for t in (seen(a),)))
            log(f"  listing rows: {time.monotonic() - t0:.1f} s")
            con.executemany(
                "INSERT INTO event (zone, fam, bits, hi, at, kind, reporter, hash, text) "
                "VALUES (?, 4, 32, ?, ?, 'trap', 'trap', ?, ?)",
                ((ZONE, enc(a), seen(a), hashlib.sha256(b"gen%d" % a).hexdigest(),
                  f"Subject: offer {a % 9973} | From: deals@mailer{a % 97}.example")
                 for a in addrs))
            log(f"  event rows: {time.monotonic() - t0:.1f} s")
            for _, sql in idx:
                con.execute(sql)
            con.execute("COMMIT")
            log(f"  indexes: {time.monotonic() - t0:.1f} s")
            con.execute("PRAGMA journal_mode = WAL")       # as the binary leaves it
        finally:
            con.close()
        del addrs
        # check through the binary: one listed address answers as listed
        probe = bench_addr(0) if public(bench_addr(0)) else bench_addr(1)
        conf = write_conf(os.path.join(tmp, "gen.conf"), part)
        out = run_checked([binary, "list", "show", ZONE, ip_text(probe), "--config", conf,
                           "--json"], 120).stdout
        if not json.loads(out).get("listed"):
            raise RuntimeError(f"{part}: {ip_text(probe)} is not listed:\n{out}")
        self.write_tset(imax)
        os.rename(part, self.db)
        self.meta = dict(n=self.n, user_version=version, generated_at=now, imax=imax,
                         gen_version=GEN_VERSION)
        with open(self.meta_path, "w") as f:
            json.dump(self.meta, f)
        log(f"  done in {time.monotonic() - t0:.1f} s, "
            f"{os.path.getsize(self.db) / 2**20:.0f} MB")

    def write_tset(self, imax):
        """The same addresses as an rbldnsd ip4tset file, in random order
        like bench.py's (both servers sort at load)."""
        with open(self.tset + ".part", "w") as f:
            f.write(":127.0.0.2:Listed, see http://bl.bench/lookup?ip=$\n")
            buf = []
            for i in range(imax):
                a = bench_addr(i)
                if public(a):
                    buf.append(ip_text(a))
                    if len(buf) >= 65536:
                        f.write("\n".join(buf) + "\n")
                        buf = []
            if buf:
                f.write("\n".join(buf) + "\n")
        os.rename(self.tset + ".part", self.tset)

    def listed_sample(self, count, seed):
        """count distinct listed addresses."""
        rnd = random.Random(seed)
        out = set()
        while len(out) < count:
            a = bench_addr(rnd.randrange(self.meta["imax"]))
            if public(a):
                out.add(a)
        return sorted(out, key=lambda _: rnd.random())

    def copy_to(self, path):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        shutil.copyfile(self.db, path)
        if os.path.exists(self.db + "-wal"):
            shutil.copyfile(self.db + "-wal", path + "-wal")
        return path


# ---------------------------------------------------------------- messages

SUBJECTS = ["Your account statement is ready", "Exclusive offer inside", "Re: invoice %d",
            "Claim your reward now", "Important security notice", "Meeting request %d",
            "Lowest prices on meds", "Your parcel could not be delivered", "Hello dear friend",
            "Crypto returns of %d%% guaranteed"]
MAILERS = ["PHPMailer 6.5.0", "Microsoft Outlook 16.0", "Sendinblue", "Mozilla Thunderbird",
           None]


def trap_message(k, src, when):
    """One spam delivered by src to our MX, as the trap mailbox stores it
    (mbox "From " line first; about half multipart/alternative)."""
    rnd = random.Random(k)
    dom = f"mailer{rnd.randrange(5000)}.example"
    trap = f"trap-{rnd.randrange(100000):05d}@traps.dnsblkit.test"
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when))
    qid = "%010X" % rnd.getrandbits(40)
    subj = SUBJECTS[k % len(SUBJECTS)]
    if "%" in subj:
        subj = subj % (k % 100 + 1)
    h = [f"From bounce-{k}@{dom} {time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(when))}",
         f"Return-Path: <bounce-{k}@{dom}>",
         f"Delivered-To: {trap}",
         f"Received: from {dom} (host-{src & 0xFFFF}.isp{src % 89}.example.net "
         f"[{ip_text(src)}])",
         f"\tby mx1.dnsblkit.test (Postfix) with ESMTP id {qid}",
         f"\tfor <{trap}>; {date} (UTC)",
         f"From: \"Offers\" <news@{dom}>",
         f"To: <{trap}>",
         f"Subject: {subj}",
         f"Date: {date}",
         f"Message-ID: <{k}.{qid.lower()}@{dom}>",
         "MIME-Version: 1.0"]
    mailer = MAILERS[k % len(MAILERS)]
    if mailer:
        h.append(f"X-Mailer: {mailer}")
    text = (f"Dear customer,\n\nWe have a special offer for you (ref {k}).\n"
            f"Visit https://{dom}/o/{qid.lower()} today.\n\nTo unsubscribe reply STOP.\n")
    if k % 2:
        b = f"b1_{qid}"
        h.append(f"Content-Type: multipart/alternative; boundary=\"{b}\"")
        body = (f"This is a multi-part message in MIME format.\n\n--{b}\n"
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n"
                f"{text}\n--{b}\nContent-Type: text/html; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n"
                "<html><body style=3D\"font-family:Arial\"><p>Dear customer,</p>\n"
                f"<p>We have a <b>special offer</b> for you (ref {k}).</p>\n"
                f"<p><a href=3D\"https://{dom}/o/{qid.lower()}\">Visit us today</a></p>\n"
                "<p style=3D\"font-size:9px\">To unsubscribe reply STOP.</p></body></html>\n"
                f"\n--{b}--\n")
    else:
        h += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"]
        body = text
    return "\n".join(h) + "\n\n" + body + "\n"


def write_mboxes(path_base, sources, k0, when, per_file=5000):
    """Mbox files of trap messages from sources (dnsblkit report reads at
    most 32 MiB a file); returns the paths."""
    paths = []
    for f0 in range(0, len(sources), per_file):
        p = f"{path_base}-{len(paths)}.mbox"
        with open(p, "w") as f:
            for j, src in enumerate(sources[f0:f0 + per_file]):
                f.write(trap_message(k0 + f0 + j, src, when))
        paths.append(p)
    return paths


# ---------------------------------------------------------------- ingest

VERDICTS = [("listed", re.compile(r": listed as 127\.")), ("counted", re.compile(r": counted,")),
            ("duplicate", re.compile(r": duplicate: ")), ("ignored", re.compile(r": ignored")),
            ("refused", re.compile(r": refused"))]


def run_timed(cmd, out_path, err_path, timeout):
    """Run cmd; wall seconds and the child's CPU seconds (user, sys)."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             preexec_fn=bench._die_with_parent)
    try:
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                wall = time.monotonic() - t0
                p.returncode = os.waitstatus_to_exitcode(status)
                return wall, ru.ru_utime, ru.ru_stime, p.returncode
            if time.monotonic() - t0 > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise RuntimeError(f"{' '.join(cmd[:4])} ...: no end after {timeout} s")
            time.sleep(0.01)
    finally:
        if p.returncode is None:
            p.kill()
            p.wait()


def ingest_run(args, data, tmp, label, batch, sources, k0):
    """One `dnsblkit report` over fresh copies of the database and messages."""
    d = os.path.join(tmp, f"ingest-{batch}")
    os.makedirs(d, exist_ok=True)
    db = data.copy_to(os.path.join(d, "listing.db"))
    conf = write_conf(os.path.join(d, "dnsblkit.conf"), db)
    mboxes = write_mboxes(os.path.join(d, "trap"), sources, k0, int(time.time()))
    size = sum(os.path.getsize(p) for p in mboxes)
    warm_cache(db)
    for p in mboxes:
        warm_cache(p)
    cmd = ["taskset", "-c", SERVER_CPU, args.bin, "report", "--config", conf, "--zone", ZONE,
           "--trap", "--mbox", "--batch", str(batch)] + mboxes
    log(f"ingest {label}: {len(sources)} messages ({size / 2**20:.1f} MB), --batch {batch} ...")
    out, err = os.path.join(d, "out"), os.path.join(d, "err")
    wall, ut, st, rc = run_timed(cmd, out, err, args.ingest_timeout)
    with open(out, errors="replace") as f:
        lines = f.read().splitlines()
    with open(err, errors="replace") as f:
        errtext = f.read()
    counts = {name: sum(1 for ln in lines if pat.search(ln)) for name, pat in VERDICTS}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        listed = con.execute("SELECT count(*) FROM listing WHERE zone = ? AND code != 0",
                             (ZONE,)).fetchone()[0]
    finally:
        con.close()
    r = dict(label=label, batch=batch, messages=len(sources), mbytes=size / 2**20,
             lines=len(lines), counts=counts, wall=wall, user=ut, sys=st, rc=rc,
             rate=len(sources) / wall, cpu_rate=len(sources) / max(ut + st, 1e-9),
             listed_after=listed, listed_before=data.n, stderr=errtext[-400:])
    log(f"  {wall:.2f} s wall, {ut:.2f}+{st:.2f} s CPU, {r['rate']:.0f} reports/s, "
        f"{len(lines)} decision lines {counts}, exit {rc}, {listed} listed after")
    if rc != 0 and errtext:
        log("  stderr: " + errtext[-400:])
    shutil.rmtree(d, ignore_errors=True)
    return r


def ingest(args, data, tmp):
    """--ingest-runs runs of each batch size, each on fresh copies; the run
    of median rate stands for them, with the spread of the rates."""
    half = args.messages // 2
    old = data.listed_sample(half + args.batch1_messages // 2, seed=1)
    sources = old[:half] + public_from(INGEST_BASE, args.messages - half)
    rnd = random.Random(2)
    rnd.shuffle(sources)
    plan = [("batch100", 100, sources, 0)]
    if args.batch1_messages:
        h1 = args.batch1_messages // 2
        src1 = old[half:half + h1] + public_from(BATCH1_BASE, args.batch1_messages - h1)
        rnd.shuffle(src1)
        plan.append(("batch1", 1, src1, 10 ** 6))
    res = []
    for label, batch, src, k0 in plan:
        runs = [ingest_run(args, data, tmp, label, batch, src, k0)
                for _ in range(args.ingest_runs)]
        runs.sort(key=lambda r: r["rate"])
        r = dict(runs[len(runs) // 2])
        r["rates"] = [x["rate"] for x in runs]
        r["all_ok"] = all(x["lines"] == x["messages"] and x["rc"] == 0 for x in runs)
        res.append(r)
    return res


# ---------------------------------------------------------------- latency

class Poller:
    """Asks one server for a target name every `period` seconds until the
    answer is `want`, and a stable listed name alongside, whose queries
    unanswered after `answer_timeout` are counted as lost."""

    def __init__(self, port, stable, period, answer_timeout):
        self.port, self.period, self.answer_timeout = port, period, answer_timeout
        self.stable_q = question(stable)
        self.qid = 0

    def until(self, target, want, t_start, deadline):
        """Seconds from t_start until target answers `want` (None after
        `deadline` seconds); stable queries sent, lost and wrong."""
        tq = question(target)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect(("127.0.0.1", self.port))
        out = {}              # id -> (sent at, is the target)
        st = dict(sent=0, lost=0, wrong=0)
        found = None
        next_send = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if found is None and now - t_start > deadline:
                    break
                if found is None and now >= next_send:
                    next_send = max(next_send + self.period, now - self.period)
                    for is_target, q in ((True, tq), (False, self.stable_q)):
                        self.qid = (self.qid + 1) & 0xFFFF
                        try:
                            s.send(query(self.qid, q))
                        except OSError:
                            continue
                        out[self.qid] = (now, is_target)
                        st["sent"] += not is_target
                if found is not None and not any(not t for _, t in out.values()):
                    break
                wait = max(0.0, min(next_send - now, 0.005)) if found is None else 0.01
                if select.select([s], [], [], wait)[0]:
                    while True:
                        try:
                            data = s.recv(4096)
                        except (BlockingIOError, ConnectionRefusedError):
                            break
                        if len(data) < 2:
                            continue
                        o = out.pop(struct.unpack(">H", data[:2])[0], None)
                        if o is None:
                            continue
                        at = time.monotonic()
                        if at - o[0] > self.answer_timeout:
                            if not o[1]:
                                st["lost"] += 1          # answered too late: a resolver gave up
                            continue
                        if o[1]:
                            if found is None and classify(data, tq)[1] == want:
                                found = at - t_start
                        elif classify(data, self.stable_q)[1] != LISTED:
                            st["wrong"] += 1
                limit = time.monotonic() - self.answer_timeout
                for i in [i for i, (t, _) in out.items() if t < limit]:
                    if not out.pop(i)[1]:
                        st["lost"] += 1
        finally:
            s.close()
        st["stable_left"] = sum(1 for _, t in out.values() if not t)
        return found, st


def refresh_ms(logpath, start):
    """The live-update times the server logged after byte offset start."""
    try:
        with open(logpath, "rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
    except OSError:
        return []
    return [float(x) for x in re.findall(r"live update: \d+ datasets refreshed \(([\d.]+) ms\)",
                                         text)]


def log_size(p):
    try:
        return os.path.getsize(p.logpath)
    except (OSError, TypeError):
        return 0


def dnsblkit_latency(args, procs, tmp, data):
    """Load the database in `dnsblkit serve`; time list add and list del
    until DNS answers them."""
    d = os.path.join(tmp, f"lat-{data.n}")
    os.makedirs(d, exist_ok=True)
    log(f"latency {human(data.n)}: copying the database ...")
    db = data.copy_to(os.path.join(d, "listing.db"))
    conf = write_conf(os.path.join(d, "dnsblkit.conf"), db)
    sample = data.listed_sample(args.dels + 1, seed=3)
    stable, victims = sample[0], sample[1:]
    fresh = public_from(FRESH_BASE, args.adds)
    srv = Server(procs, f"dnsblkit-{data.n}",
                 lambda port: [args.bin, "serve", *as_root(), "--threads", "1", "-b", f"127.0.0.1/{port}",
                               "--config", conf, "--log-level", "debug"], d)
    res = dict(n=data.n, add=[], dels=[], add_cmd=[], del_cmd=[], refresh=[], failed=0,
               stable=dict(sent=0, lost=0, wrong=0))
    try:
        warm_cache(db)
        res["load"] = srv.start(question(stable), timeout=args.load_timeout)
        time.sleep(0.3)
        mem = mem_kb(srv.proc.pid)
        res["rss"], res["hwm"] = mem["VmRSS"] / 1024, mem["VmHWM"] / 1024
        log(f"  dnsblkit serve: load {res['load']:.2f} s, RSS {res['rss']:.1f} MB, "
            f"HWM {res['hwm']:.1f} MB")
        poller = Poller(srv.port, stable, args.poll_ms / 1000.0, args.answer_timeout)
        rnd = random.Random(data.n)
        trials = [("add", a) for a in fresh] + [("del", a) for a in victims]
        for verb, a in trials:
            time.sleep(rnd.uniform(0.1, 0.5))   # no phase lock with the server's 200 ms poll
            at_log = log_size(srv.proc)
            t0 = time.monotonic()
            r = subprocess.run([args.bin, "list", verb, ZONE, ip_text(a), "--config", conf],
                               capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            t_ack = time.monotonic()
            if r.returncode != 0:
                raise RuntimeError(f"list {verb} {ip_text(a)}: exit {r.returncode}: {r.stderr}")
            took, st = poller.until(a, LISTED if verb == "add" else UNLISTED, t_ack,
                                    args.deadline)
            if srv.proc.poll() is not None:
                raise RuntimeError(f"dnsblkit serve exited:\n{log_tail(srv.proc)}")
            for k in ("sent", "lost", "wrong"):
                res["stable"][k] += st[k]
            res["refresh"] += refresh_ms(srv.proc.logpath, at_log)
            res["add_cmd" if verb == "add" else "del_cmd"].append(t_ack - t0)
            if took is None:
                res["failed"] += 1
                took = float("inf")
            res["add" if verb == "add" else "dels"].append(took)
            log(f"  list {verb} {ip_text(a)}: command {1000 * (t_ack - t0):.0f} ms, "
                f"in DNS after {1000 * took:.0f} ms")
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)
    return res


def rbldnsd_latency(args, procs, tmp, data):
    """rbldnsd -c 1 on the same addresses; add one by writing the file anew
    and renaming it over the served one."""
    d = os.path.join(tmp, f"rbl-{data.n}")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)          # rbldnsd drops to its own user and must read
    with open(data.tset, "rb") as f:
        base = f.read()
    live = os.path.join(d, "live.tset")
    with open(live, "wb") as f:
        f.write(base)
    os.chmod(live, 0o644)
    stable = data.listed_sample(1, seed=3)[0]
    fresh = public_from(FRESH_BASE, args.rbldnsd_adds)
    srv = Server(procs, f"rbldnsd-{data.n}",
                 lambda port: ["rbldnsd", "-n", "-b", f"127.0.0.1/{port}", "-c", "1",
                               f"{ZONE}:ip4tset:{live}"], d)
    res = dict(n=data.n, add=[], write=[], failed=0, stable=dict(sent=0, lost=0, wrong=0))
    try:
        res["load"] = srv.start(question(stable), timeout=args.load_timeout)
        time.sleep(0.3)
        mem = mem_kb(srv.proc.pid)
        res["rss"], res["hwm"] = mem["VmRSS"] / 1024, mem["VmHWM"] / 1024
        log(f"  rbldnsd: load {res['load']:.2f} s, RSS {res['rss']:.1f} MB")
        poller = Poller(srv.port, stable, args.poll_ms / 1000.0, args.answer_timeout)
        extra = b""
        last_mtime = int(os.stat(live).st_mtime)
        rnd = random.Random(data.n + 1)
        for a in fresh:
            time.sleep(rnd.uniform(0.1, 0.5))
            extra += ip_text(a).encode() + b"\n"
            t0 = time.monotonic()
            nxt = os.path.join(d, "next.tset")
            with open(nxt, "wb") as f:
                f.write(base)
                f.write(extra)
            os.chmod(nxt, 0o644)
            res["write"].append(time.monotonic() - t0)
            # rbldnsd compares mtimes in whole seconds: each file gets a newer
            # one, and is renamed at a random point of that second, so that
            # the trials do not all fall at one phase of its 1 s check timer
            while int(time.time()) <= last_mtime:
                time.sleep(0.01)
            time.sleep(rnd.uniform(0.0, 0.9))
            last_mtime = int(time.time())
            os.utime(nxt, (last_mtime, last_mtime))
            os.rename(nxt, live)
            t_ack = time.monotonic()
            took, st = poller.until(a, LISTED, t_ack, args.deadline)
            if srv.proc.poll() is not None:
                raise RuntimeError(f"rbldnsd exited:\n{log_tail(srv.proc)}")
            for k in ("sent", "lost", "wrong"):
                res["stable"][k] += st[k]
            if took is None:
                res["failed"] += 1
                took = float("inf")
            res["add"].append(took)
            log(f"  rbldnsd add {ip_text(a)}: file written in {res['write'][-1]:.2f} s, "
                f"in DNS {1000 * took:.0f} ms after the rename, "
                f"{st['lost']} of {st['sent']} stable queries lost")
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)
    return res


# ---------------------------------------------------------------- report

def ms(x):
    return "∞" if x == float("inf") else f"{1000 * x:.0f}"


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
                      "SQLite " + sqlite3.sqlite_version,
                      "GMime " + first(["pkg-config", "--modversion", "gmime-3.0"], r"(\S+)"),
                      "Python " + platform.python_version()])


def git_head():
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def report(args, ing, lat, before, elapsed):
    lines = []
    p = lines.append
    p(f"dnsblkit listing engine: report ingest and add-to-DNS latency; servers and "
      f"`dnsblkit report` pinned to CPU {SERVER_CPU}, this script and `dnsblkit list` on CPU "
      f"{CLIENT_CPU}; DNS polled every {args.poll_ms:g} ms over UDP.")
    p(f"Command: {' '.join(sys.argv)}")
    p(f"Commit: {git_head()}. Versions: {versions(args.bin)}.")
    p(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}, Linux {platform.release()}. "
      f"Before the run the machine was {before:.0f}% busy.")
    p("")
    if ing:
        p("### Ingest: `dnsblkit report --trap --mbox` into a copy of the "
          f"{human(args.ingest_size)} database (half the sources listed already, half new)")
        p("")
        p("| run | messages (MB) | decision lines | listed / counted / duplicate / ignored / "
          "refused | exit | wall s | CPU s user+sys | reports/s (wall; min–max of "
          f"{args.ingest_runs} runs) | reports per CPU s | target ≥ {TARGET_INGEST:.0f}/s |")
        p("|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
        for r in ing:
            c = r["counts"]
            ok = r["all_ok"]
            tag = ("PASS" if ok and min(r["rates"]) >= TARGET_INGEST else "FAIL") \
                if r["batch"] == 100 else "(fsync each; not a target)"
            if not ok:
                tag += " (a run's decision lines or exit status wrong)"
            p(f"| --batch {r['batch']} | {r['messages']} ({r['mbytes']:.1f}) | {r['lines']} | "
              f"{c['listed']} / {c['counted']} / {c['duplicate']} / {c['ignored']} / "
              f"{c['refused']} | {r['rc']} | {r['wall']:.2f} | {r['user']:.2f}+{r['sys']:.2f} | "
              f"{r['rate']:.0f} ({min(r['rates']):.0f}–{max(r['rates']):.0f}) | "
              f"{r['cpu_rate']:.0f} | {tag} |")
        p("")
    if lat:
        p("### Add-to-DNS latency: from the acknowledged change (`dnsblkit list add|del` has "
          "exited; the new file renamed over the old one for rbldnsd -c 1) until the server "
          "answers it")
        p("")
        p("| listed | server | load s | VmRSS MB | VmHWM MB | change | trials | median ms | p95 ms "
          "| max ms | command ms (median) | stable name: lost/asked | target ≤ 1 s (max) |")
        p("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|")
        for n, dk, rb in lat:
            for i, (verb, xs, cmd) in enumerate((("list add", dk["add"], dk["add_cmd"]),
                                                 ("list del", dk["dels"], dk["del_cmd"]))):
                if not xs:
                    continue
                tag = "PASS" if max(xs) <= TARGET_LATENCY else "FAIL"
                if n < args.target_size:
                    tag += " (not the 10M target)"
                head = (f"| {human(n)} | dnsblkit | {dk['load']:.2f} | {dk['rss']:.1f} | "
                        f"{dk['hwm']:.1f} |" if i == 0 else "| | | | | |")
                stab = (f"{dk['stable']['lost']}/{dk['stable']['sent']}" if i == 0 else "")
                p(f"{head} {verb} | {len(xs)} | {ms(median(xs))} | {ms(pct(xs, 95))} | "
                  f"{ms(max(xs))} | {ms(median(cmd))} | {stab} | {tag} |")
            if rb:
                xs = rb["add"]
                p(f"| | rbldnsd -c 1 | {rb['load']:.2f} | {rb['rss']:.1f} | {rb['hwm']:.1f} | "
                  "file renamed over | "
                  f"{len(xs)} | {ms(median(xs))} | {ms(pct(xs, 95))} | {ms(max(xs))} | "
                  f"{ms(median(rb['write']))} (write the file) | "
                  f"{rb['stable']['lost']}/{rb['stable']['sent']} | |")
        p("")
        ratios = [f"{human(n)} {median(dk['add']) / median(rb['add']):.2f}"
                  for n, dk, rb in lat if rb and dk["add"]]
        if ratios:
            p("Median add latency, dnsblkit ÷ rbldnsd: " + "; ".join(ratios) + ".")
        refr = [f"{human(n)} {median(dk['refresh']):.1f} ms (max {max(dk['refresh']):.1f})"
                for n, dk, _ in lat if dk["refresh"]]
        if refr:
            p("Server-side refresh (change log read + livemap_apply + swap, from the debug "
              "log), median: " + "; ".join(refr) + ".")
        p("")
    p(f"Total run time {elapsed / 60:.1f} min.")
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/dnsblkit", help="the dnsblkit binary")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: latency at 1M only, fewer messages and trials")
    ap.add_argument("--data-dir", help="where generated databases are kept and reused "
                    "(default: a temporary directory)")
    ap.add_argument("--sizes", help="listed addresses for the latency runs (1000000,10000000)")
    ap.add_argument("--ingest-size", type=int, default=1000000,
                    help="listed addresses in the ingest database; 0: no ingest run")
    ap.add_argument("--target-size", type=int, default=10000000,
                    help="the size the latency target is for")
    ap.add_argument("--messages", type=int, help="trap messages for --batch 100 (20000)")
    ap.add_argument("--batch1-messages", type=int, help="trap messages for --batch 1 (2000)")
    ap.add_argument("--ingest-runs", type=int, help="runs of each ingest (3)")
    ap.add_argument("--adds", type=int, help="list add trials per size (30)")
    ap.add_argument("--dels", type=int, help="list del trials per size (10)")
    ap.add_argument("--rbldnsd-adds", type=int, help="rbldnsd file replacements per size (10)")
    ap.add_argument("--no-rbldnsd", action="store_true")
    ap.add_argument("--prepare", action="store_true",
                    help="only make (or check) the cached data in --data-dir, measure nothing")
    ap.add_argument("--poll-ms", type=float, default=5.0, help="DNS poll interval")
    ap.add_argument("--answer-timeout", type=float, default=2.0,
                    help="seconds after which a stable query counts as lost")
    ap.add_argument("--deadline", type=float, default=30.0,
                    help="seconds a change may take to show before the trial fails")
    ap.add_argument("--load-timeout", type=float, default=600.0)
    ap.add_argument("--ingest-timeout", type=float, default=1800.0)
    args = ap.parse_args()
    q = args.quick
    args.sizes = [int(x) for x in (args.sizes or ("1000000" if q else "1000000,10000000"))
                  .split(",") if x and int(x) > 0]
    args.messages = args.messages if args.messages is not None else (5000 if q else 20000)
    args.batch1_messages = args.batch1_messages if args.batch1_messages is not None else \
        (500 if q else 2000)
    args.ingest_runs = args.ingest_runs or (1 if q else 3)
    args.adds = args.adds or (10 if q else 30)
    args.dels = args.dels if args.dels is not None else (5 if q else 10)
    args.rbldnsd_adds = args.rbldnsd_adds if args.rbldnsd_adds is not None else \
        (3 if q else 10)
    args.bin = os.path.abspath(args.bin)

    for tool in ["taskset"] + ([] if args.no_rbldnsd else ["rbldnsd"]):
        if not shutil.which(tool):
            sys.exit(f"listing_bench: {tool} not found")
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"listing_bench: {args.bin} is not executable (build it first)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("listing_bench: needs two CPUs (servers on CPU 0, this script on CPU 1)")
    os.sched_setaffinity(0, {CLIENT_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    t_start = time.monotonic()
    before = idle_check()
    if before > 10:
        log(f"warning: the machine is {before:.0f}% busy before the run; "
            "expect noisy numbers")
    procs = Procs()
    tmp = tempfile.mkdtemp(prefix="dnsblkit-lbench-")
    os.chmod(tmp, 0o755)
    ddir = os.path.abspath(args.data_dir) if args.data_dir else os.path.join(tmp, "data")
    os.makedirs(ddir, exist_ok=True)
    ing, lat = [], []
    try:
        version = schema_version(args.bin, tmp)
        sizes = sorted(set(args.sizes + ([args.ingest_size] if args.ingest_size else [])))
        data = {n: ListingData(n, ddir) for n in sizes}
        for n in sizes:
            data[n].ensure(args.bin, version, tmp)
        if args.prepare:
            return 0
        if args.ingest_size and args.messages:
            ing = ingest(args, data[args.ingest_size], tmp)
        for n in args.sizes:
            dk = dnsblkit_latency(args, procs, tmp, data[n])
            rb = None if args.no_rbldnsd or not args.rbldnsd_adds else \
                rbldnsd_latency(args, procs, tmp, data[n])
            lat.append((n, dk, rb))
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)   # with the data, unless --data-dir
    print(report(args, ing, lat, before, time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
