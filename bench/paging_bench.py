#!/usr/bin/python3
"""Time the JSON API's listings pages on a big zone: a deep page by the
`after` cursor against the same page by `offset`, and the first page
(whose `total` is a count of the zone, cached between requests).

    bench/paging_bench.py [--binary build/dnsblkit] [--n 1000000] [--keep DIR]

The database is made by the binary (`dnsblkit list ls` creates the
schema) and filled with Python's sqlite3 in the store's encoding: N
listings of zone bl.bench (90% IPv4 /32, 5% IPv4 /24, 5% IPv6 /64; one in
five until deleted, the others ending 1 to 7 days ahead), and a tenth as
many in another zone. `dnsblkit serve` with [http] serves it; each URL is
fetched --runs times with curl (time_total), the median is printed; then
a change, and how long the stale count is reused before it is counted
again (100 times what the count took, at most 60 s).
"""
import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

from benchlib import as_root, free_port

ZONE = "bl.bench"
FLIP = 1 << 63  # src/listing/store.c: key values are stored as v ^ 2^63, signed


def enc(v):
    v ^= FLIP
    return v - (1 << 64) if v >= 1 << 63 else v


def rows(zone, n, now, rnd):
    """(zone, fam, bits, hi, code, listed_at, expires_at) in key order."""
    keys = set()
    while len(keys) < n:
        r = rnd.random()
        if r < 0.90:
            keys.add((4, 32, rnd.randrange(0x01000000, 0xdf000000)))
        elif r < 0.95:
            keys.add((4, 24, rnd.randrange(0x010000, 0xdf0000) << 8))
        else:
            keys.add((6, 64, (0x2001 << 48) | rnd.randrange(1 << 48)))
    for fam, bits, hi in sorted(keys):
        end = 0 if rnd.random() < 0.2 else now + rnd.randrange(86400, 7 * 86400)
        yield (zone, fam, bits, enc(hi), now - 60, now - 60, 0, 1, 2, now - 60, end,
               "1 trap hit in 7 days", 0, 1, 0, 0, 0)


def make_db(binary, d, n):
    db = os.path.join(d, "listing.db")
    conf = os.path.join(d, "dnsblkit.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("[listing]\ndatabase = %s\n[zone %s]\ndataset = listing\n"
                "[http]\nlisten = 127.0.0.1/%d\n" % (db, ZONE, port))
    subprocess.run([binary, "list", "ls", ZONE, "--config", conf], check=True,
                   capture_output=True)
    now = int(time.time())
    rnd = random.Random(1)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    sql = "INSERT INTO listing VALUES (%s)" % ", ".join("?" * 17)
    con.executemany(sql, rows(ZONE, n, now, rnd))
    con.executemany(sql, rows("other.bench", n // 10, now, rnd))
    con.execute("COMMIT")
    con.close()
    return conf, port


def curl(url):
    """(seconds, the JSON body) of a GET that must answer 200."""
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code} %{time_total}", url], check=True,
                         capture_output=True, text=True).stdout
    body, status = out.rsplit("\n", 1)
    code, took = status.split()
    if code != "200":
        sys.exit("%s: HTTP %s: %s" % (url, code, body))
    return float(took), json.loads(body)


def show(name, url, runs=1):
    took = []
    for _ in range(runs):
        t, d = curl(url)
        took.append(t)
    print("%-48s %8.1f ms  total %d, counted_at now-%ds%s" % (
        name, statistics.median(took) * 1000, d["total"], int(time.time()) - d["counted_at"],
        " (median of %d)" % runs if runs > 1 else ""))
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default="build/dnsblkit")
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="make the data in this directory and keep it")
    args = ap.parse_args()
    d = args.keep or tempfile.mkdtemp(prefix="paging-")
    os.makedirs(d, exist_ok=True)
    t0 = time.monotonic()
    conf, port = make_db(os.path.abspath(args.binary), d, args.n)
    print("%d listings made in %.1f s" % (args.n, time.monotonic() - t0))
    dns_port = free_port()
    log = open(os.path.join(d, "serve.log"), "wb")
    srv = subprocess.Popen([os.path.abspath(args.binary), "serve", *as_root(), "-b", "127.0.0.1/%d" % dns_port,
                            "--config", conf], stdout=subprocess.DEVNULL, stderr=log)
    try:
        base = "http://127.0.0.1:%d/api/v1/zones/%s/listings" % (port, ZONE)
        for _ in range(600):
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", base.rsplit("/", 2)[0]]
                              ).returncode == 0:
                break
            time.sleep(0.1)
        # The key at 90% of the zone, for the cursor.
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "listing.db"), uri=True)
        fam, bits, hi = con.execute(
            "SELECT fam, bits, hi FROM listing WHERE zone = ? ORDER BY fam, bits, hi "
            "LIMIT 1 OFFSET ?", (ZONE, args.n * 9 // 10)).fetchone()
        con.close()
        hi = (hi + (1 << 64) if hi < 0 else hi) ^ FLIP
        if fam == 4:
            key = "%d.%d.%d.%d" % (hi >> 24, (hi >> 16) & 255, (hi >> 8) & 255, hi & 255)
            key += "/%d" % bits if bits != 32 else ""
        else:
            key = "%x:%x:%x:%x::/%d" % (hi >> 48, (hi >> 32) & 0xffff, (hi >> 16) & 0xffff,
                                        hi & 0xffff, bits)
        # Open the database (a lookup does) so the first page times the count.
        subprocess.run(["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:%d/api/v1/lookup?"
                        "ip=5.5.5.5" % port], check=True)
        first = base + "?limit=100"
        t0 = time.monotonic()
        total = show("first page: counts the zone", first)["total"]
        show("first page: count kept (no change)", first, args.runs)
        by_after = show("page at 90% by after (cursor)", base + "?limit=100&after=" +
                        urllib.parse.quote(key, safe=""), args.runs)
        by_offset = show("the same page by offset", base + "?limit=100&offset=%d"
                         % (args.n * 9 // 10 + 1), args.runs)
        if by_after["listings"] != by_offset["listings"] or len(by_after["listings"]) != 100:
            sys.exit("the pages by after and by offset differ")
        subprocess.run([os.path.abspath(args.binary), "list", "add", ZONE, "5.5.5.5",
                        "--config", conf], check=True, capture_output=True)
        show("first page after a change: stale count reused", first)
        # A count that took T is reused for 100 T (at most 60 s).
        while curl(first)[1]["total"] == total and time.monotonic() - t0 < 70:
            time.sleep(0.2)
        print("  recounted (total + 1) %.1f s after the first count" % (time.monotonic() - t0))
    finally:
        srv.terminate()
        srv.wait()
        log.close()
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
