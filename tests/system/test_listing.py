# The listing engine end to end: reported messages in (`dnsblkit report`),
# operators' actions (`dnsblkit list`, `dnsblkit allow`), and the DNS
# answers of a running `dnsblkit serve` following the database within a
# second, including expiry, escalation of a /24, allowlisting,
# self-removal, and no loss of acknowledged writes on kill -9.
import json
import os
import signal
import subprocess
import time

import dns.rcode
import pytest

from conftest import DNSBLKIT, a_values, query, run_dnsblkit, txt_values, write

ZONE = "bl.test"
OUR_MX = "192.0.2.10"  # inside trusted-relays: our own edge


def config(tmp, extra="", port=None):
    text = ("[listing]\n"
            "database = %s/listing.db\n"
            "trusted-relays = 192.0.2.0/24 2001:db8::/32\n"
            "txt = Blocked - see https://bl.test/lookup?ip=$\n"
            "%s\n"
            "[zone %s]\n"
            "dataset = listing\n" % (tmp, extra, ZONE))
    return write(os.path.join(tmp, "dnsblkit.conf"), text)


def message(source, n=0, subject="cheap pills", extra_headers=""):
    """A spam delivered by `source` to our MX (a trap mailbox)."""
    if ":" in source:
        hop = "from spam.example (unknown [IPv6:%s])" % source
    else:
        hop = "from spam.example (unknown [%s])" % source
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return ("Received: %s\r\n"
            "\tby mx1.dnsblkit.test (Postfix) with ESMTP id 4Xyz%d\r\n"
            "\tfor <trap@dnsblkit.test>; %s\r\n"
            "From: \"Deals\" <deals@spam.example>\r\n"
            "To: trap@dnsblkit.test\r\n"
            "Subject: %s %d\r\n"
            "Date: %s\r\n"
            "Message-ID: <%d.%s@spam.example>\r\n"
            "%s"
            "\r\n"
            "Buy now.\r\n" % (hop, n, date, subject, n, date, n, source, extra_headers))


def report(cfg, tmp, msgs, *args):
    paths = []
    for i, m in enumerate(msgs):
        paths.append(write(os.path.join(tmp, "msg-%d-%d.eml" % (time.monotonic_ns(), i)), m))
    return run_dnsblkit(["report", "--config", cfg, "--zone", ZONE] + list(args) + paths)


def rev(ip):
    return ".".join(reversed(ip.split("."))) + "." + ZONE


def wait_for(port, name, want, timeout=3.0):
    """Poll until the answer for name is `want` (a code like 127.0.0.2, or
    None for NXDOMAIN); returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        r = query(port, name)
        got = None if r.rcode() == dns.rcode.NXDOMAIN else (sorted(a_values(r)) or [None])[0]
        if got == want:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("%s: want %s, still %s after %.1f s" % (name, want, got, timeout))
        time.sleep(0.02)


@pytest.fixture
def listing(dnsblkit, tmp_path):
    tmp = str(tmp_path)

    def start(extra=""):
        cfg = config(tmp, extra)
        srv = dnsblkit.start(["--config", cfg], zone=ZONE)
        return cfg, srv
    return tmp, start


def test_trap_hit_lists_within_a_second(listing):
    tmp, start = listing
    cfg, srv = start()
    assert query(srv.port, rev("45.83.12.7")).rcode() == dns.rcode.NXDOMAIN
    r = report(cfg, tmp, [message("45.83.12.7")], "--trap")
    assert r.returncode == 0, r.stderr
    assert "45.83.12.7: listed as 127.0.0.2" in r.stdout
    took = wait_for(srv.port, rev("45.83.12.7"), "127.0.0.2")
    assert took < 1.0
    ans = query(srv.port, rev("45.83.12.7"), "TXT")
    assert txt_values(ans) == {"Blocked - see https://bl.test/lookup?ip=45.83.12.7"}
    # The RFC 5782 test entries hold in a listing zone too.
    assert a_values(query(srv.port, "2.0.0.127." + ZONE)) == {"127.0.0.2"}
    assert query(srv.port, "1.0.0.127." + ZONE).rcode() == dns.rcode.NXDOMAIN
    # A partial name above a listing exists (empty non-terminal).
    assert query(srv.port, "83.45." + ZONE).rcode() == dns.rcode.NOERROR


def test_one_user_report_does_not_list_two_do(listing):
    tmp, start = listing
    cfg, srv = start()
    r = report(cfg, tmp, [message("91.200.12.44", 1)], "--user", "alice")
    assert r.returncode == 0, r.stderr
    assert "counted, not listed (score 4.0: 1 user report)" in r.stdout
    r = report(cfg, tmp, [message("91.200.12.44", 2)], "--user", "bob", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout.splitlines()[0])
    assert d["verdict"] == "listed" and d["source"] == "91.200.12.44"
    assert d["reports"] == 2 and d["score"] == pytest.approx(8.0, abs=0.01)
    # Two reports alone: the listing ends 12 h after the last one.
    assert 12 * 3600 - 30 <= d["expires"] - time.time() <= 12 * 3600 + 30
    wait_for(srv.port, rev("91.200.12.44"), "127.0.0.2")


def test_duplicate_bounce_private_and_broken_chain(listing):
    tmp, start = listing
    cfg, srv = start()
    m = message("185.220.101.33", 7)
    assert report(cfg, tmp, [m], "--trap").returncode == 0
    r = report(cfg, tmp, [m], "--trap")
    assert r.returncode == 0 and "duplicate" in r.stdout
    bounce = message("185.220.101.34", 8).replace(
        "From: \"Deals\" <deals@spam.example>", "From: MAILER-DAEMON@spam.example\r\n"
        "Return-Path: <>")
    r = report(cfg, tmp, [bounce], "--trap")
    assert r.returncode == 0 and "ignored" in r.stdout, r.stdout
    r = report(cfg, tmp, [message("192.168.1.5", 9)], "--trap")
    assert r.returncode == 1 and "refused" in r.stdout and "192.168.1.5" in r.stdout
    broken = message("185.220.101.35", 10).replace("from spam.example (unknown [185.220.101.35])",
                                                   "from localhost")
    r = report(cfg, tmp, [broken], "--trap")
    assert r.returncode == 1 and "refused" in r.stdout
    r = report(cfg, tmp, ["this is not a mail message at all"], "--trap")
    assert r.returncode == 1 and "refused" in r.stdout
    time.sleep(0.5)
    for ip in ("185.220.101.34", "192.168.1.5", "185.220.101.35"):
        assert query(srv.port, rev(ip)).rcode() == dns.rcode.NXDOMAIN


def test_expiry_ends_listing_on_time(listing):
    tmp, start = listing
    cfg, srv = start("expiry = 3s\nsweep-interval = 1s\n")
    r = report(cfg, tmp, [message("45.83.12.9", 3)], "--trap")
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("45.83.12.9"), "127.0.0.2")
    took = wait_for(srv.port, rev("45.83.12.9"), None, timeout=5.0)
    assert took <= 4.0
    # The sweep closes it in the database: history shows one listing.
    time.sleep(1.5)
    show = run_dnsblkit(["list", "show", ZONE, "45.83.12.9", "--config", cfg, "--json"])
    s = json.loads(show.stdout)
    assert s["listed"] is False
    assert s["history"]["times_listed"] == 1 and s["history"]["ended_last_30_days"] == 1
    assert 2 <= s["history"]["total_listed_seconds"] <= 4
    (past,) = s["history_30_days"]
    assert past["how"] == "expired" and past["code"] == 2
    assert past["ended_at"] - past["listed_at"] == 3
    text = run_dnsblkit(["list", "show", ZONE, "45.83.12.9", "--config", cfg]).stdout
    assert "1 listings ended in the last 30 days:" in text and "as 127.0.0.2, expired" in text


def test_manual_add_del_and_codes(listing):
    tmp, start = listing
    cfg, srv = start()
    r = run_dnsblkit(["list", "add", ZONE, "77.88.0.0/16", "--code", "127.0.0.4",
                      "--reason", "hijacked range", "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("77.88.1.2"), "127.0.0.4")
    r = run_dnsblkit(["list", "add", ZONE, "77.88.1.2", "--code", "5", "--for", "1h",
                      "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("77.88.1.2"), "127.0.0.5")  # the host wins over the block
    assert a_values(query(srv.port, rev("77.88.1.3"))) == {"127.0.0.4"}
    r = run_dnsblkit(["list", "ls", ZONE, "--config", cfg, "--json"])
    keys = {e["key"]: e for e in json.loads(r.stdout)}
    assert set(keys) == {"77.88.0.0/16", "77.88.1.2"} and keys["77.88.1.2"]["manual"]
    r = run_dnsblkit(["list", "del", ZONE, "77.88.0.0/16", "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("77.88.1.3"), None)
    assert a_values(query(srv.port, rev("77.88.1.2"))) == {"127.0.0.5"}
    r = run_dnsblkit(["list", "del", ZONE, "77.88.0.0/16", "--config", cfg])
    assert r.returncode == 1 and "not listed" in r.stderr
    # IPv6: an address stands for its /64.
    r = run_dnsblkit(["list", "add", ZONE, "2a01:4f8:1c17:abcd::1", "--config", cfg])
    assert r.returncode == 0, r.stderr
    name = ".".join(reversed("2a0104f81c17abcd" + "00ff" * 4)) + "." + ZONE
    wait_for(srv.port, name, "127.0.0.2")


def test_allowlist_wins_and_is_logged(listing):
    tmp, start = listing
    cfg, srv = start()
    assert report(cfg, tmp, [message("104.16.1.1", 4)], "--trap").returncode == 0
    wait_for(srv.port, rev("104.16.1.1"), "127.0.0.2")
    r = run_dnsblkit(["allow", "add", ZONE, "104.16.0.0/16", "--note", "a CDN", "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("104.16.1.1"), None)
    r = report(cfg, tmp, [message("104.16.1.1", 5)], "--trap")
    assert r.returncode == 1 and "allowlisted" in r.stdout
    r = run_dnsblkit(["list", "add", ZONE, "104.16.2.2", "--config", cfg])
    assert r.returncode == 1 and "allowlisted" in r.stderr
    r = run_dnsblkit(["allow", "ls", ZONE, "--config", cfg, "--json"])
    assert [e["block"] for e in json.loads(r.stdout)] == ["104.16.0.0/16"]
    r = run_dnsblkit(["allow", "del", ZONE, "104.16.0.0/16", "--config", cfg])
    assert r.returncode == 0
    r = run_dnsblkit(["allow", "del", ZONE, "104.16.0.0/16", "--config", cfg])
    assert r.returncode == 1 and "not on the allowlist" in r.stderr


def test_escalation_lists_the_24_and_drops_it(listing):
    tmp, start = listing
    cfg, srv = start("sweep-interval = 1s\n")
    msgs = [message("62.210.5.%d" % i, 100 + i) for i in range(1, 6)]
    r = report(cfg, tmp, msgs[:4], "--trap")
    assert r.returncode == 0, r.stderr
    time.sleep(0.5)
    assert query(srv.port, rev("62.210.5.200")).rcode() == dns.rcode.NXDOMAIN
    r = report(cfg, tmp, msgs[4:], "--trap")
    assert "its /24 is listed as a whole" in r.stdout
    wait_for(srv.port, rev("62.210.5.200"), "127.0.0.3")
    assert a_values(query(srv.port, rev("62.210.5.1"))) == {"127.0.0.2"}
    # Deleting one listing takes the count to 4 (listed within 7 days
    # still counts them): the /24 stays. Deleting by hand ends listings,
    # not their history, so the count holds.
    show = json.loads(run_dnsblkit(["list", "show", ZONE, "62.210.5.200", "--config", cfg,
                                    "--json"]).stdout)
    assert show["escalated"] and show["code"] == "127.0.0.3"


def test_self_removal_once_per_interval(listing):
    tmp, start = listing
    cfg, srv = start()
    assert report(cfg, tmp, [message("45.83.12.20", 30)], "--trap").returncode == 0
    wait_for(srv.port, rev("45.83.12.20"), "127.0.0.2")
    r = run_dnsblkit(["list", "remove", ZONE, "45.83.12.20", "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("45.83.12.20"), None)
    # The next report lists it again (the evidence is still there) ...
    assert report(cfg, tmp, [message("45.83.12.20", 31)], "--trap").returncode == 0
    wait_for(srv.port, rev("45.83.12.20"), "127.0.0.2")
    # ... and a second removal within 7 days is refused.
    r = run_dnsblkit(["list", "remove", ZONE, "45.83.12.20", "--config", cfg])
    assert r.returncode == 1 and "removed already" in r.stderr
    assert a_values(query(srv.port, rev("45.83.12.20"))) == {"127.0.0.2"}


def test_report_usage_and_config_errors(tmp_path):
    tmp = str(tmp_path)
    cfg = config(tmp)
    r = run_dnsblkit(["report", "--config", cfg, "--zone", ZONE])
    assert r.returncode == 2 and "--trap" in r.stderr
    bad = write(os.path.join(tmp, "bad.conf"), "[listing]\ndatabase = %s/x.db\nexpiry = soon\n"
                % tmp)
    r = run_dnsblkit(["list", "ls", ZONE, "--config", bad])
    assert r.returncode == 1 and "bad.conf:3: bad expiry 'soon'" in r.stderr
    r = run_dnsblkit(["list", "add", ZONE, "10.0.0.300", "--config", cfg])
    assert r.returncode == 2 and "bad address" in r.stderr
    r = run_dnsblkit(["report", "--help"])
    assert r.returncode == 0 and "--trap" in r.stdout


def test_acknowledged_reports_survive_kill_9(tmp_path):
    """kill -9 in the middle of a stream of reports: every decision that
    was printed (printed = committed) is in the database afterwards."""
    tmp = str(tmp_path)
    cfg = config(tmp)
    n = 400
    mbox = "".join("From trap@dnsblkit.test Thu Jan  1 00:00:00 2026\n"
                   + message("37.%d.%d.%d" % (10 + i // 65536, i // 256 % 256, i % 256 + 1), i)
                   .replace("\r\n", "\n") for i in range(n))
    path = write(os.path.join(tmp, "stream.mbox"), mbox)
    p = subprocess.Popen([DNSBLKIT, "report", "--config", cfg, "--zone", ZONE, "--trap",
                          "--mbox", "--batch", "1", "--json", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    acked = []
    for line in p.stdout:
        acked.append(json.loads(line))
        if len(acked) == 150:
            p.send_signal(signal.SIGKILL)
            break
    p.wait()
    assert p.returncode == -signal.SIGKILL
    assert len(acked) == 150
    r = run_dnsblkit(["list", "ls", ZONE, "--config", cfg, "--json"])
    listed = {e["key"] for e in json.loads(r.stdout)}
    for d in acked:
        assert d["verdict"] == "listed" and d["source"] in listed


CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "reports")


@pytest.mark.parametrize("name, how, verdict, source", [
    ("trap-postfix.eml", "--trap", "listed", "45.83.12.7"),
    ("trap-exim.eml", "--trap", "listed", "91.200.12.44"),
    ("trap-forged-chain.eml", "--trap", "listed", "103.152.79.20"),
    ("user-forwarded.eml", "--trap", "listed", "2a02:c207:2034:5678::/64"),
    ("user-attached.eml", "--user", "counted", "5.188.206.14"),
    ("arf-abuse.eml", "--user", "counted", "80.94.95.181"),
    ("arf-headers-only.eml", "--user", "counted", "185.220.101.33"),
    ("arf-ipv6.eml", "--user", "counted", "2a01:4f8:1c17:abcd::/64"),
    ("bounce.eml", "--trap", "ignored", None),
    ("autoreply.eml", "--trap", "ignored", None),
    ("private-source.eml", "--trap", "refused", None),
    ("broken-chain.eml", "--trap", "refused", None),
    ("internal.eml", "--trap", "refused", None),
])
def test_corpus_decisions(tmp_path, name, how, verdict, source):
    """The corpus in tests/data/reports gives the decisions its README
    names (one user report counts but does not list alone)."""
    cfg = config(str(tmp_path), "max-report-age = 0\n")
    args = ["report", "--config", cfg, "--zone", ZONE, "--json", how]
    if how == "--user":
        args.append("abuse-desk@example.net")
    r = run_dnsblkit(args + [os.path.join(CORPUS, name)])
    d = json.loads(r.stdout)
    assert d["verdict"] == verdict, d
    assert d.get("source") == source
    assert r.returncode == (1 if verdict == "refused" else 0)


def test_allowlisting_inside_an_escalated_24(listing):
    """An address allowlisted inside a /24 listed as a whole stops being
    listed at once, while the rest of the /24 stays listed."""
    tmp, start = listing
    cfg, srv = start()
    msgs = [message("45.10.20.%d" % i, 200 + i) for i in range(1, 6)]
    assert report(cfg, tmp, msgs, "--trap").returncode == 0
    wait_for(srv.port, rev("45.10.20.99"), "127.0.0.3")
    r = run_dnsblkit(["allow", "add", ZONE, "45.10.20.3", "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("45.10.20.3"), None)
    time.sleep(0.5)  # and it stays so: no later change undoes the exclusion
    assert query(srv.port, rev("45.10.20.3")).rcode() == dns.rcode.NXDOMAIN
    assert a_values(query(srv.port, rev("45.10.20.99"))) == {"127.0.0.3"}
    show = json.loads(run_dnsblkit(["list", "show", ZONE, "45.10.20.99", "--config", cfg,
                                    "--json"]).stdout)
    assert show["listed"] and show["escalated"] and show["covered_by"] == "45.10.20.0/24"
    # The operator takes the /24 off by allowlisting it whole.
    r = run_dnsblkit(["allow", "add", ZONE, "45.10.20.0/24", "--config", cfg])
    assert r.returncode == 0, r.stderr
    wait_for(srv.port, rev("45.10.20.99"), None)
    wait_for(srv.port, rev("45.10.20.1"), None)


def test_manual_listing_guards_and_json(listing):
    tmp, start = listing
    cfg, srv = start()
    for block, why in (("0.0.0.0/1", "wider than /8"), ("10.0.0.0/8", "not (all) public"),
                       ("127.0.0.5", "not (all) public")):
        r = run_dnsblkit(["list", "add", ZONE, block, "--config", cfg])
        assert r.returncode == 1 and why in r.stderr, (block, r.stderr)
    assert query(srv.port, rev("8.8.8.8")).rcode() == dns.rcode.NXDOMAIN
    r = run_dnsblkit(["list", "add", ZONE, "5.188.10.0/24", "--code", "7", "--for", "2h",
                      "--config", cfg, "--json"])
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["key"] == "5.188.10.0/24" and d["code"] == "127.0.0.7"
    assert 7200 - 30 <= d["expires"] - time.time() <= 7200 + 30
    wait_for(srv.port, rev("5.188.10.77"), "127.0.0.7")
    r = run_dnsblkit(["list", "del", ZONE, "5.188.10.0/24", "--config", cfg, "--json"])
    assert r.returncode == 0 and json.loads(r.stdout) == {"key": "5.188.10.0/24",
                                                           "action": "deleted"}
    wait_for(srv.port, rev("5.188.10.77"), None)


def test_report_without_the_parser_module_fails_clearly(tmp_path):
    """The message parser is a module (dnsblkit-mail.so) opened on first
    use: a binary that cannot find it says so, exits 1, and takes no
    message (nothing printed, nothing counted)."""
    import shutil
    tmp = str(tmp_path)
    lone = os.path.join(tmp, "bin")
    os.mkdir(lone)
    exe = shutil.copy(DNSBLKIT, os.path.join(lone, "dnsblkit"))
    cfg = config(tmp)
    path = write(os.path.join(tmp, "m.eml"), message("45.83.12.77", 77))
    env = dict(os.environ, DNSBLKIT_MODULE_DIR=os.path.join(tmp, "nowhere"))
    r = subprocess.run([exe, "report", "--config", cfg, "--zone", ZONE, "--trap", path],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1
    assert "cannot load the message parser dnsblkit-mail.so" in r.stderr
    assert r.stdout == ""
    show = run_dnsblkit(["list", "show", ZONE, "45.83.12.77", "--config", cfg, "--json"])
    assert json.loads(show.stdout)["evidence"]["traps"] == 0
