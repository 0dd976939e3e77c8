# The guard against listing the world: by default any single entry shorter
# than /8 (IPv4 and IPv6) and more than 2^28 IPv4 addresses in one zone are
# refused; --allow-world or `allow-world = yes` lifts it, and the zone's
# min-prefix4/min-prefix6/max-ip4-addresses settings tune it.
import os
import signal
import time

import dns.rcode
import pytest

from conftest import a_values, free_port, query, run_dnsblkit, write


def start_fails(tmp_path, specs, args=()):
    port = free_port()
    r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % port] + list(args) + list(specs))
    return r


WORLD_ENTRIES = [
    ("ip4set", "10.0.0.1\n0.0.0.0/0\n", 2),
    ("ip4set", "# comment\n10.0.0.0/7\n", 2),
    ("ip4trie", "10.0.0.1\n1.2.3.4\n0/0 :2:everything\n", 3),
    ("ip4trie", "64.0.0.0/2\n", 1),
    ("ip6trie", "2001:db8::/32\n::/0\n", 2),
    ("ip6trie", "2000::/3\n", 1),
]


@pytest.mark.parametrize("dstype,data,line", WORLD_ENTRIES,
                         ids=["%s-%s" % (t, d.split()[-1].replace("/", "_")) for t, d, _ in
                              WORLD_ENTRIES])
def test_short_prefix_refused_at_startup(tmp_path, dstype, data, line):
    path = write(tmp_path / "world.txt", data)
    r = start_fails(tmp_path, ["bl.example:%s:%s" % (dstype, path)])
    assert r.returncode == 1, "started with a world-listing entry:\n" + r.stderr
    assert "%s:%d:" % (path, line) in r.stderr, r.stderr


@pytest.mark.parametrize("dstype,data,line", WORLD_ENTRIES[:3] + WORLD_ENTRIES[4:5],
                         ids=["ip4set-0", "ip4set-7", "ip4trie-0", "ip6trie-0"])
def test_allow_world_option_lifts_the_guard(dnsblkit, tmp_path, dstype, data, line):
    path = write(tmp_path / "world.txt", data)
    srv = dnsblkit.start(["bl.example:%s:%s" % (dstype, path)], args=["--allow-world"])
    if dstype.startswith("ip4"):
        r = query(srv.port, "4.3.2.11.bl.example", "A")
        assert a_values(r), "entry accepted but 11.2.3.4 not listed"
    else:
        r = query(srv.port, ".".join("1" + "0" * 31) + ".bl.example", "A")
        assert a_values(r)
    # Even the whole world never lists 127.0.0.1.
    if dstype.startswith("ip4"):
        assert query(srv.port, "1.0.0.127.bl.example", "A").rcode() == dns.rcode.NXDOMAIN


def test_slash8_is_allowed(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.0/8\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path])
    assert a_values(query(srv.port, "4.3.2.10.bl.example", "A")) == {"127.0.0.2"}


def slash8s(n):
    return "".join("%d.0.0.0/8\n" % (i + 1) for i in range(n))


def test_more_than_2_28_addresses_refused(tmp_path):
    path = write(tmp_path / "many.txt", slash8s(17))  # 17 * 2^24 > 2^28
    r = start_fails(tmp_path, ["bl.example:ip4set:" + path])
    assert r.returncode == 1, "started listing 17 /8s:\n" + r.stderr
    assert path in r.stderr


def test_exactly_2_28_addresses_allowed(dnsblkit, tmp_path):
    path = write(tmp_path / "many.txt", slash8s(16))
    srv = dnsblkit.start(["bl.example:ip4set:" + path])
    assert a_values(query(srv.port, "1.1.1.16.bl.example", "A"))
    assert not a_values(query(srv.port, "1.1.1.17.bl.example", "A"))


def test_many_addresses_allowed_with_allow_world(dnsblkit, tmp_path):
    path = write(tmp_path / "many.txt", slash8s(17))
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["--allow-world"])
    assert a_values(query(srv.port, "1.1.1.17.bl.example", "A"))


def conf(tmp_path, zone_lines, data_spec, port):
    return write(tmp_path / "dnsblkit.conf",
                 "[server]\nlisten = 127.0.0.1/%d\n\n[zone bl.example]\ndata = %s\n%s\n"
                 % (port, data_spec, zone_lines))


def test_config_allow_world_yes(dnsblkit, tmp_path):
    path = write(tmp_path / "world.txt", "0.0.0.0/0\n")
    port = free_port()
    c = conf(tmp_path, "allow-world = yes", "ip4set:" + path, port)
    srv = dnsblkit.start([], args=["--config", c], port=port, bind=False)
    assert a_values(query(srv.port, "4.3.2.11.bl.example", "A"))


def test_config_allow_world_no_refuses(tmp_path):
    path = write(tmp_path / "world.txt", "0.0.0.0/0\n")
    c = conf(tmp_path, "allow-world = no", "ip4set:" + path, free_port())
    r = run_dnsblkit(["serve", "--config", c])
    assert r.returncode == 1 and "%s:1:" % path in r.stderr, r.stderr


@pytest.mark.parametrize("setting,data,ok", [
    ("min-prefix4 = 16", "10.0.0.0/12\n", False),
    ("min-prefix4 = 16", "10.0.0.0/16\n", True),
    ("min-prefix6 = 32", "2001:d00::/24\n", False),
    ("min-prefix6 = 32", "2001:db8::/32\n", True),
    ("max-ip4-addresses = 1000", "10.0.0.0/22\n", False),
    ("max-ip4-addresses = 1024", "10.0.0.0/22\n", True),
])
def test_config_guard_limits(dnsblkit, tmp_path, setting, data, ok):
    path = write(tmp_path / "d.txt", data)
    dstype = "ip6trie" if ":" in data else "ip4trie"
    port = free_port()
    c = conf(tmp_path, setting, "%s:%s" % (dstype, path), port)
    if ok:
        dnsblkit.start([], args=["--config", c], port=port, bind=False)
    else:
        r = run_dnsblkit(["serve", "--config", c])
        assert r.returncode == 1, "%s did not refuse %s" % (setting, data)
        assert path in r.stderr, r.stderr


def test_world_listing_at_reload_keeps_old_data(dnsblkit, tmp_path):
    path = write(tmp_path / "d.txt", "10.0.0.1\n")
    srv = dnsblkit.start(["bl.example:ip4set:" + path], args=["-c", "0"])
    write(path, "10.0.0.1\n0.0.0.0/0\n")
    st = os.stat(path)
    os.utime(path, (st.st_atime + 5, st.st_mtime + 5))
    srv.send(signal.SIGHUP)
    deadline = time.monotonic() + 8
    while "%s:2:" % path not in srv.stderr() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "%s:2:" % path in srv.stderr(), srv.stderr()
    assert a_values(query(srv.port, "1.0.0.10.bl.example", "A")) == {"127.0.0.2"}
    assert query(srv.port, "4.3.2.11.bl.example", "A").rcode() == dns.rcode.NXDOMAIN
