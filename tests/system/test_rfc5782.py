# RFC 5782 test entries are answered right in every zone whatever the data
# says: 127.0.0.2 listed and 127.0.0.1 not (IPv6 ::FFFF:7F00:2 and
# ::FFFF:7F00:1; domains TEST and INVALID), over UDP and TCP.
import ipaddress

import dns.rcode
import pytest

from conftest import a_values, query, write

V4_POS, V4_NEG = "2.0.0.127", "1.0.0.127"


def nib(addr):
    return ".".join(reversed(ipaddress.IPv6Address(addr).exploded.replace(":", "")))


V6_POS, V6_NEG = nib("::ffff:7f00:2"), nib("::ffff:7f00:1")

# Data that gets the test entries wrong on purpose, per dataset type.
ZONES = {
    "ip4set": ("127.0.0.1 :2:wrongly listed\n!127.0.0.2\n10.0.0.1\n", V4_POS, V4_NEG),
    "ip4set-empty": ("# nothing at all\n", V4_POS, V4_NEG),
    "ip4tset": ("127.0.0.1\n10.0.0.1\n", V4_POS, V4_NEG),
    "ip4trie": ("127.0.0.0/24 :3:whole net\n!127.0.0.2\n", V4_POS, V4_NEG),
    "ip6tset": ("0:0:0:0\n!::ffff:7f00:2\n", V6_POS, V6_NEG),
    "ip6trie": ("::ffff:7f00:1\n!::ffff:7f00:2\n2001:db8::/32\n", V6_POS, V6_NEG),
    "dnset": ("invalid :2:wrongly listed\n!test\nexample.com\n", "test", "invalid"),
}


@pytest.fixture(scope="module")
def srv(module_dnsblkit, tmp_path_factory):
    d = tmp_path_factory.mktemp("rfc5782")
    specs = []
    for name, (data, _pos, _neg) in ZONES.items():
        path = write(d / (name + ".txt"), data)
        specs.append("%s.example:%s:%s" % (name, name.split("-")[0], path))
    return module_dnsblkit.start(specs, zone="ip4set.example")


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("zone", list(ZONES))
def test_positive_test_entry_is_listed(srv, zone, tcp):
    pos = ZONES[zone][1]
    r = query(srv.port, "%s.%s.example" % (pos, zone), "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    addrs = a_values(r)
    assert addrs, "no A record for the positive test entry"
    assert all(a.startswith("127.") for a in addrs)
    r = query(srv.port, "%s.%s.example" % (pos, zone), "TXT", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("zone", list(ZONES))
def test_negative_test_entry_is_never_listed(srv, zone, tcp):
    neg = ZONES[zone][2]
    for rdtype in ("A", "TXT"):
        r = query(srv.port, "%s.%s.example" % (neg, zone), rdtype, tcp=tcp)
        assert r.rcode() == dns.rcode.NXDOMAIN, rdtype
        assert not r.answer


def test_test_entries_case_insensitive(srv):
    assert a_values(query(srv.port, "TEST.dnset.example", "A"))
    assert query(srv.port, "InValid.dnset.example", "A").rcode() == dns.rcode.NXDOMAIN
    assert a_values(query(srv.port, V6_POS.upper() + ".ip6trie.example", "A"))


def test_real_data_still_served_next_to_test_entries(srv):
    assert a_values(query(srv.port, "1.0.0.10.ip4set.example", "A")) == {"127.0.0.2"}
    assert a_values(query(srv.port, "example.com.dnset.example", "A")) == {"127.0.0.2"}
    r = query(srv.port, "5.0.0.127.ip4trie.example", "A")
    assert a_values(r) == {"127.0.0.3"}
