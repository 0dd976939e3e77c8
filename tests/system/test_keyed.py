# Keyed access against the real server: a zone with `keys = FILE`
# answers 2.0.0.127.KEY.bl.example for a known KEY as 2.0.0.127.bl.example
# (TXT '$' still the address), REFUSED for an unknown key or none; the
# apex answers without a key and KEY.bl.example as the apex (so a mail
# host's health probes pass through its key); a change of the key file
# is taken by the reload, a broken one refused with file:line while the
# old keys serve; a zone without keys is not touched; per-zone counts in
# /metrics; `dnsblkit check` through a key.
import os
import re
import signal
import subprocess
import time

import dns.rcode
import dns.rdatatype
import pytest
import requests

from conftest import (DNSBLKIT, SANITIZE, a_values, free_port, query, run_dnsblkit,
                      txt_values, write)

KEYED = "bl.example"
OPEN = "open.example"
KEY1, KEY2, KEY3 = "cust0001secret", "Cust0002Secret", "cust0003secret"
DATA = ("$SOA 3600 ns1.bl.example. hostmaster.bl.example. 7 1h 10m 1w 5m\n"
        "$NS 3600 ns1.bl.example. ns2.bl.example.\n"
        ":127.0.0.2:Blocked, see https://bl.example/lookup?ip=$\n192.0.2.1\n198.51.100.0/24 :3\n")


def start(factory, tmp, keys_text, extra_zone="", server_extra="", http_port=None, wait=True):
    data = write(os.path.join(tmp, "bl.ip4set"), DATA)
    keys = write(os.path.join(tmp, "keys.txt"), keys_text)
    text = ("[server]\ncheck-interval = 1\n%s\n"
            "[zone %s]\ndata = ip4set:%s\nkeys = %s\n%s\n"
            "[zone %s]\ndata = ip4set:%s\n"
            % (server_extra, KEYED, data, keys, extra_zone, OPEN, data))
    if http_port:
        text += "[http]\nlisten = 127.0.0.1/%d\n" % http_port
    cfg = write(os.path.join(tmp, "dnsblkit.conf"), text)
    # Readiness through a zone without keys.
    return factory.start(["--config", cfg], zone=OPEN, wait=wait), keys


def rcode(port, name, rdtype="A", tcp=False):
    return query(port, name, rdtype, tcp=tcp).rcode()


def wait_for(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout * (3 if SANITIZE else 1)
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_known_key_is_answered(dnsblkit, tmp_path):
    srv, _ = start(dnsblkit, str(tmp_path), "# customers\n%s\n%s  # the second\n" % (KEY1, KEY2))
    for key in (KEY1, KEY2, KEY2.lower(), KEY1.upper()):
        for tcp in (False, True):
            r = query(srv.port, "1.2.0.192.%s.%s" % (key, KEYED), "A", tcp=tcp)
            assert r.rcode() == dns.rcode.NOERROR and a_values(r) == {"127.0.0.2"}, key
    # '$' in TXT is the address asked about, not the key.
    r = query(srv.port, "1.2.0.192.%s.%s" % (KEY1, KEYED), "TXT")
    assert txt_values(r) == {"Blocked, see https://bl.example/lookup?ip=192.0.2.1"}
    r = query(srv.port, "7.100.51.198.%s.%s" % (KEY1, KEYED), "A")
    assert a_values(r) == {"127.0.0.3"}
    # Not listed: NXDOMAIN, with the zone's SOA (owned by the real apex).
    r = query(srv.port, "2.2.0.192.%s.%s" % (KEY1, KEYED), "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert [str(rr.name) for rr in r.authority] == [KEYED + "."]
    # The RFC 5782 test entries, through the key.
    assert a_values(query(srv.port, "2.0.0.127.%s.%s" % (KEY1, KEYED))) == {"127.0.0.2"}
    assert rcode(srv.port, "1.0.0.127.%s.%s" % (KEY1, KEYED)) == dns.rcode.NXDOMAIN
    # Empty non-terminals below the key exist (QNAME minimisation).
    assert rcode(srv.port, "0.127.%s.%s" % (KEY1, KEYED)) == dns.rcode.NOERROR


def test_unknown_or_missing_key_is_refused(dnsblkit, tmp_path):
    srv, _ = start(dnsblkit, str(tmp_path), KEY1 + "\n")
    for name in ("1.2.0.192.%s.%s" % (KEY3, KEYED),      # unknown key
                 "1.2.0.192.%s" % KEYED,                  # no key: '192' in its place
                 "2.0.0.127.%s" % KEYED,                  # the test entry, without a key
                 "%s.%s" % (KEY3, KEYED),                 # an unknown key's apex
                 "1.2.0.192.%s.x.%s" % (KEY1, KEYED)):    # the key not right above the apex
        for tcp in (False, True):
            r = query(srv.port, name, "A", tcp=tcp)
            assert r.rcode() == dns.rcode.REFUSED, name
            assert not r.answer and not r.authority, name
    r = query(srv.port, "1.2.0.192.%s.%s" % (KEY3, KEYED), "TXT")
    assert r.rcode() == dns.rcode.REFUSED and not r.answer


def test_apex_with_and_without_key(dnsblkit, tmp_path):
    srv, _ = start(dnsblkit, str(tmp_path), KEY1 + "\n")
    # The apex itself: SOA and NS for anyone (resolvers, secondaries).
    for rdtype in ("SOA", "NS"):
        r = query(srv.port, KEYED, rdtype)
        assert r.rcode() == dns.rcode.NOERROR and r.answer, rdtype
    # KEY.apex: the customer's view of the zone, answered as the apex.
    r = query(srv.port, "%s.%s" % (KEY1, KEYED), "SOA")
    assert r.rcode() == dns.rcode.NOERROR
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA]
    assert str(r.answer[0].name) == "%s.%s." % (KEY1, KEYED)
    soa_plain = query(srv.port, KEYED, "SOA").answer[0][0]
    assert r.answer[0][0] == soa_plain
    r = query(srv.port, "%s.%s" % (KEY1, KEYED), "NS")
    assert {rr.to_text() for rr in r.answer[0]} == {"ns1.bl.example.", "ns2.bl.example."}
    r = query(srv.port, "%s.%s" % (KEY1, KEYED), "A")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer  # NODATA


def test_zone_without_keys_unaffected(dnsblkit, tmp_path):
    srv, _ = start(dnsblkit, str(tmp_path), KEY1 + "\n")
    r = query(srv.port, "1.2.0.192." + OPEN, "TXT")
    assert txt_values(r) == {"Blocked, see https://bl.example/lookup?ip=192.0.2.1"}
    assert a_values(query(srv.port, "2.0.0.127." + OPEN)) == {"127.0.0.2"}
    # A key means nothing there: the name is just not listed.
    assert rcode(srv.port, "1.2.0.192.%s.%s" % (KEY1, OPEN)) == dns.rcode.NXDOMAIN


def test_key_file_change_is_reloaded(dnsblkit, tmp_path):
    srv, keys = start(dnsblkit, str(tmp_path), "%s\n%s\n" % (KEY1, KEY2))
    listed1 = "1.2.0.192.%s.%s" % (KEY1, KEYED)
    listed2 = "1.2.0.192.%s.%s" % (KEY2, KEYED)
    listed3 = "1.2.0.192.%s.%s" % (KEY3, KEYED)
    assert rcode(srv.port, listed3) == dns.rcode.REFUSED
    # A customer added, another gone: the file is polled (check-interval).
    tmp = keys + ".new"
    write(tmp, "%s\n%s\n" % (KEY1, KEY3))
    os.rename(tmp, keys)
    wait_for(lambda: rcode(srv.port, listed3) == dns.rcode.NOERROR, "the new key")
    assert rcode(srv.port, listed2) == dns.rcode.REFUSED
    assert rcode(srv.port, listed1) == dns.rcode.NOERROR
    assert re.search(r"zone bl\.example: loaded keys \S+keys\.txt: 2 keys", srv.stderr())
    # A broken file: refused with file:line, the keys that serve stay.
    write(tmp, "%s\nnot a key\n" % KEY1)
    os.rename(tmp, keys)
    srv.send(signal.SIGHUP)
    wait_for(lambda: "keys.txt:2: one key per line" in srv.stderr(), "the refusal")
    assert "still serving the previous keys" in srv.stderr()
    assert rcode(srv.port, listed3) == dns.rcode.NOERROR
    # Fixed: taken.
    write(tmp, "%s\n%s\n" % (KEY1, KEY2))
    os.rename(tmp, keys)
    wait_for(lambda: rcode(srv.port, listed2) == dns.rcode.NOERROR, "the fixed file")
    assert rcode(srv.port, listed1) == dns.rcode.NOERROR
    assert rcode(srv.port, listed3) == dns.rcode.REFUSED
    # Emptied (a truncated copy, say): more keys would go than the shrink
    # limit allows (50%), so the keys that serve stay.
    write(tmp, "# nothing yet\n")
    os.rename(tmp, keys)
    wait_for(lambda: "REFUSED new keys" in srv.stderr(), "the shrink guard")
    assert rcode(srv.port, listed1) == dns.rcode.NOERROR
    assert rcode(srv.port, listed2) == dns.rcode.NOERROR


def test_key_file_change_taken_past_the_shrink_guard(dnsblkit, tmp_path):
    # ...unless shrink-limit allows it.
    srv, keys = start(dnsblkit, str(tmp_path), "%s\n%s\n" % (KEY1, KEY2),
                      extra_zone="shrink-limit = 100\n")
    write(keys + ".new", "%s\n" % KEY3)
    os.rename(keys + ".new", keys)
    wait_for(lambda: rcode(srv.port, "1.2.0.192.%s.%s" % (KEY3, KEYED)) == dns.rcode.NOERROR,
             "the new key")
    assert rcode(srv.port, "1.2.0.192.%s.%s" % (KEY1, KEYED)) == dns.rcode.REFUSED
    assert rcode(srv.port, "1.2.0.192.%s.%s" % (KEY2, KEYED)) == dns.rcode.REFUSED


def test_refusals_counted_per_zone(dnsblkit, tmp_path):
    http_port = free_port()
    srv, _ = start(dnsblkit, str(tmp_path), KEY1 + "\n", http_port=http_port)
    for i in range(3):
        assert rcode(srv.port, "1.2.0.192.%s.%s" % (KEY3, KEYED)) == dns.rcode.REFUSED
    assert rcode(srv.port, "1.2.0.192.%s.%s" % (KEY3, KEYED), "TXT") == dns.rcode.REFUSED
    assert rcode(srv.port, "1.2.0.192.%s.%s" % (KEY1, KEYED)) == dns.rcode.NOERROR
    text = requests.get("http://127.0.0.1:%d/metrics" % http_port, timeout=5).text
    assert ('dnsblkit_dns_zone_answers_total{zone="bl.example",qtype="a",result="refused_key"} 3'
            in text.splitlines())
    assert ('dnsblkit_dns_zone_answers_total{zone="bl.example",qtype="txt",result="refused_key"}'
            ' 1' in text.splitlines())
    assert not [l for l in text.splitlines() if 'zone="open.example"' in l and "refused" in l]


def test_check_through_a_key(dnsblkit, tmp_path):
    # A mail host's checker, given KEY.bl.example as the list: its health
    # probes (test entries, a random name, the apex SOA) pass through the
    # key, and a listed address is listed; with a wrong key the list is
    # sick and counts nothing.
    srv, _ = start(dnsblkit, str(tmp_path), KEY1 + "\n")
    resolver = "127.0.0.1/%d" % srv.port

    def check(zone, subject):
        return subprocess.run([DNSBLKIT, "check", "--resolver", resolver, "--list", zone,
                               "--json", subject], capture_output=True, text=True, timeout=30)

    r = check("%s.%s" % (KEY1, KEYED), "192.0.2.1")
    assert r.returncode == 1, r.stdout + r.stderr
    r = check("%s.%s" % (KEY1, KEYED), "192.0.2.2")
    assert r.returncode == 0, r.stdout + r.stderr
    r = check("%s.%s" % (KEY3, KEYED), "192.0.2.1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "REFUSED" in r.stdout + r.stderr


@pytest.mark.parametrize("keys_text,line,why", [
    ("%s\nshort\n" % KEY1, 2, "bad key 'short'"),
    ("%s\n\n%s %s\n" % (KEY1, KEY2, KEY3), 3, "one key per line"),
    ("bad.key.with.dots\n", 1, "bad key 'bad.key.with.dots'"),
])
def test_bad_key_file_refused_at_start(tmp_path, keys_text, line, why):
    keys = write(str(tmp_path / "keys.txt"), keys_text)
    data = write(str(tmp_path / "bl.ip4set"), DATA)
    cfg = write(str(tmp_path / "dnsblkit.conf"),
                "[zone %s]\ndata = ip4set:%s\nkeys = %s\n" % (KEYED, data, keys))
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "--config", cfg])
    assert r.returncode != 0
    assert "%s:%d: %s" % (keys, line, why) in r.stderr, r.stderr


def test_bad_keys_setting_refused(tmp_path):
    data = write(str(tmp_path / "bl.ip4set"), DATA)
    cfg = write(str(tmp_path / "dnsblkit.conf"),
                "[zone %s]\ndata = ip4set:%s\nkeys = /a\nkeys = /b\n" % (KEYED, data))
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "--config", cfg])
    assert r.returncode != 0
    assert "%s:4: keys given twice" % cfg in r.stderr, r.stderr
    cfg = write(str(tmp_path / "dnsblkit.conf"),
                "[zone %s]\ndata = ip4set:%s\nkeys = %s\n"
                % (KEYED, data, tmp_path / "missing.txt"))
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "--config", cfg])
    assert r.returncode != 0
    assert "missing.txt: cannot read" in r.stderr, r.stderr
