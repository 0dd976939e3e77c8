# rbldnsd's data-file syntax, type by type, through a running server: values,
# defaults, $ and $$ substitution, $n variables, $=, exclusions, prefixes and
# ranges, $SOA/$NS/$TTL, comments, gzip, several files per dataset, several
# zones (longest suffix wins), repeated zone names, and acl by client address.
import gzip

import dns.rcode
import dns.rdatatype
import pytest

from conftest import a_values, batch_query, query, rrset_values, txt_values, write

IP4SET_A = """\
$SOA 600 ns.ip4set.example. hm.ip4set.example. 11 1h 10m 1w 5m
$NS 600 ns.ip4set.example.
$TTL 900
$1 http://bl.example/lookup?ip=
# a comment line
; another comment line
:127.0.0.2:Listed $, see $1$
10.0.0.0/8
!10.1.2.3
10.2.2.2 :3:Relay $
10.3.3.3 :4:
10.4.4.4 Own text for $ costs $$5
10.5.5.5 :127.0.0.6
172.16.1
172.17.0.10-172.17.0.20
172.18.1.1-5
192.0.2.0/24 ; trailing comment: default values apply
192.0.3.0/24 :127.0.0.5
"""
IP4SET_B = """\
:6:Second file default $
198.51.100.7
203.0.113.0/25 :7:B
"""
IP4SET_BASE = """\
$= [$=] more at http://bl.example/
10.8.8.8 own words
10.8.8.9 =no base template for $
"""

IP4TSET = ":127.0.0.3:Trivial $\n10.0.0.1\n10.0.0.2\n# c\n"

IP4TRIE = """\
:2:Trie $
10.0.0.0/8
10.1.0.0/16 :3:More specific $
!10.1.2.0/24
10.1.2.3/32 :4:Host inside an excluded net
11.12.13.14 :5:
"""

IP6TSET = """\
:127.0.0.2:v6 $
2001:db8:1:2
!2001:db8:1:2::5
"""

IP6TRIE = """\
:127.0.0.2:v6trie $
2001:db8:a::/48
2001:db8:a:1::/64 :127.0.0.3:more specific
!2001:db8:a:2::1
2001:21ab:c000/36
"""

DNSET = """\
:127.0.0.2:Domain $ listed
example.com
*.wild.example
.both.example :3:Both $
!bad.both.example
"""

GENERIC = """\
$SOA 0 ns.generic.example. hm.generic.example. 5 1h 10m 1w 5m
@ A 127.0.0.10
@ TXT "zone apex text"
www 3000 A 127.0.0.1
about TXT "generic text"
mail MX 10 mx.example.net.
multi A 127.0.0.20
multi A 127.0.0.21
"""

COMBINED = """\
$NS 1w ns1.combined.example.
$SOA 1w ns1.combined.example. admin.combined.example. 3 2h 2h 1w 1h
$DATASET ip4set:proxy proxies @
:2:Open proxy $
10.0.0.10
$DATASET ip4set:relay relays @
:3:Open relay $
10.0.2.10
$DATASET ip4set:multihop-relay multihop
:4:Multihop $
10.0.9.12
$DATASET generic:common proxies relays multihop @
www A 127.0.0.8
"""

ACL_DATA = ":2:Listed $\n10.0.0.1\n"
ACL = """\
127.66.0.0/16 :refuse
127.67.0.0/16 :empty
127.68.0.0/16 :ignore
127.69.0.0/16 :127.0.0.9:ACL says listed $
127.69.1.0/24 :pass
"""


@pytest.fixture(scope="module")
def srv(module_dnsblkit, tmp_path_factory):
    d = tmp_path_factory.mktemp("dsdata")
    f = {}
    for name, text in [("ip4set-a", IP4SET_A), ("ip4set-base", IP4SET_BASE),
                       ("ip4tset", IP4TSET), ("ip4trie", IP4TRIE), ("ip6tset", IP6TSET),
                       ("ip6trie", IP6TRIE), ("dnset", DNSET), ("generic", GENERIC),
                       ("combined", COMBINED)]:
        f[name] = write(d / (name + ".txt"), text)
    gz = d / "ip4set-b.txt.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(IP4SET_B)
    f["ip4set-b"] = str(gz)
    f["parent"] = write(d / "parent.txt", "10.0.0.1\n")
    f["child"] = write(d / "child.txt", "10.0.0.2\n")
    f["multi-ip"] = write(d / "multi-ip.txt", ":5:multi ip $\n10.0.0.1\n")
    f["multi-dn"] = write(d / "multi-dn.txt", ":6:multi dn $\nexample.org\n")
    specs = [
        "ip4set.example:ip4set:%s,%s" % (f["ip4set-a"], f["ip4set-b"]),
        "base.example:ip4set:%s" % f["ip4set-base"],
        "ip4tset.example:ip4tset:%s" % f["ip4tset"],
        "ip4trie.example:ip4trie:%s" % f["ip4trie"],
        "ip6tset.example:ip6tset:%s" % f["ip6tset"],
        "ip6trie.example:ip6trie:%s" % f["ip6trie"],
        "dnset.example:dnset:%s" % f["dnset"],
        "generic.example:generic:%s" % f["generic"],
        "combined.example:combined:%s" % f["combined"],
        "bl.example:ip4set:%s" % f["parent"],
        "sub.bl.example:ip4set:%s" % f["child"],
        "multi.example:ip4set:%s" % f["multi-ip"],
        "multi.example:dnset:%s" % f["multi-dn"],
    ]
    return module_dnsblkit.start(specs, zone="ip4set.example")


@pytest.fixture(scope="module")
def acl_srv(module_dnsblkit, tmp_path_factory):
    d = tmp_path_factory.mktemp("acldata")
    data = write(d / "data.txt", ACL_DATA)
    other = write(d / "other.txt", ":2:Listed $\n10.0.0.1\n")
    acl = write(d / "acl.txt", ACL)
    return module_dnsblkit.start(["acl.example:ip4set:%s" % data, "acl.example:acl:%s" % acl,
                                  "ip4set.example:ip4set:%s" % other], zone="ip4set.example")


def rev(ip):
    return ".".join(reversed(ip.split(".")))


def check(srv, qname, a=None, txt=None, rcode=dns.rcode.NOERROR, tcp=False):
    """a/txt: expected sets of values (None: not checked)."""
    ra = query(srv.port, qname, "A", tcp=tcp)
    assert ra.rcode() == rcode, "%s A: %s" % (qname, dns.rcode.to_text(ra.rcode()))
    if a is not None:
        assert a_values(ra) == set(a), qname
    if txt is not None:
        rt = query(srv.port, qname, "TXT", tcp=tcp)
        assert rt.rcode() == rcode, "%s TXT: %s" % (qname, dns.rcode.to_text(rt.rcode()))
        assert txt_values(rt) == set(txt), qname
    return ra


IP4SET_CASES = [
    ("10.7.6.5", ["127.0.0.2"], ["Listed 10.7.6.5, see http://bl.example/lookup?ip=10.7.6.5"]),
    ("10.1.2.3", None, None),  # excluded
    ("10.1.2.4", ["127.0.0.2"], None),
    ("10.2.2.2", ["127.0.0.3"], ["Relay 10.2.2.2"]),
    ("10.3.3.3", ["127.0.0.4"], []),  # ":4:" means no TXT at all
    ("10.4.4.4", ["127.0.0.2"], ["Own text for 10.4.4.4 costs $5"]),
    ("10.5.5.5", ["127.0.0.6"], ["Listed 10.5.5.5, see http://bl.example/lookup?ip=10.5.5.5"]),
    ("172.16.1.99", ["127.0.0.2"], None),
    ("172.16.2.1", None, None),
    ("172.17.0.10", ["127.0.0.2"], None),
    ("172.17.0.20", ["127.0.0.2"], None),
    ("172.17.0.9", None, None),
    ("172.17.0.21", None, None),
    ("172.18.1.1", ["127.0.0.2"], None),
    ("172.18.1.5", ["127.0.0.2"], None),
    ("172.18.1.6", None, None),
    ("192.0.2.77", ["127.0.0.2"], ["Listed 192.0.2.77, see http://bl.example/lookup?ip=192.0.2.77"]),
    ("192.0.3.77", ["127.0.0.5"], ["Listed 192.0.3.77, see http://bl.example/lookup?ip=192.0.3.77"]),
    ("198.51.100.7", ["127.0.0.6"], ["Second file default 198.51.100.7"]),  # from the .gz
    ("203.0.113.127", ["127.0.0.7"], ["B"]),
    ("203.0.113.128", None, None),
]


@pytest.mark.parametrize("ip,a,txt", IP4SET_CASES, ids=[c[0] for c in IP4SET_CASES])
def test_ip4set(srv, ip, a, txt):
    for tcp in (False, True):
        if a is None:
            check(srv, rev(ip) + ".ip4set.example", a=[], txt=[], rcode=dns.rcode.NXDOMAIN,
                  tcp=tcp)
        else:
            check(srv, rev(ip) + ".ip4set.example", a=a, txt=txt, tcp=tcp)


def test_ip4set_ttl_soa_ns_from_data(srv):
    r = query(srv.port, "5.6.7.10.ip4set.example", "A")
    assert r.answer[0].ttl == 900
    r = query(srv.port, "ip4set.example", "SOA")
    soa = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
    assert soa and soa[0][0].serial == 11 and soa[0][0].rname.to_text() == "hm.ip4set.example."
    r = query(srv.port, "ip4set.example", "NS")
    assert rrset_values(r, "NS") == {"ns.ip4set.example."}


def test_base_template(srv):
    check(srv, "8.8.8.10.base.example", a=["127.0.0.2"],
          txt=["[own words] more at http://bl.example/"])
    check(srv, "9.8.8.10.base.example", a=["127.0.0.2"], txt=["no base template for 10.8.8.9"])


def test_ip4tset(srv):
    check(srv, "1.0.0.10.ip4tset.example", a=["127.0.0.3"], txt=["Trivial 10.0.0.1"])
    check(srv, "2.0.0.10.ip4tset.example", a=["127.0.0.3"], txt=["Trivial 10.0.0.2"])
    check(srv, "3.0.0.10.ip4tset.example", rcode=dns.rcode.NXDOMAIN)


def test_ip4trie_longest_prefix_and_exclusions(srv):
    z = ".ip4trie.example"
    check(srv, "9.9.9.10" + z, a=["127.0.0.2"], txt=["Trie 10.9.9.9"])
    check(srv, "1.3.1.10" + z, a=["127.0.0.3"], txt=["More specific 10.1.3.1"])
    check(srv, "4.2.1.10" + z, rcode=dns.rcode.NXDOMAIN)
    check(srv, "3.2.1.10" + z, a=["127.0.0.4"], txt=["Host inside an excluded net"])
    check(srv, "14.13.12.11" + z, a=["127.0.0.5"], txt=[])
    check(srv, "14.13.12.12" + z, rcode=dns.rcode.NXDOMAIN)


def nibbles(addr):
    import ipaddress
    return ".".join(reversed(ipaddress.IPv6Address(addr).exploded.replace(":", "")))


def test_ip6tset(srv):
    z = ".ip6tset.example"
    check(srv, nibbles("2001:db8:1:2::1") + z, a=["127.0.0.2"], txt=["v6 2001:db8:1:2::1"])
    check(srv, nibbles("2001:db8:1:2:ffff::9") + z, a=["127.0.0.2"])
    check(srv, nibbles("2001:db8:1:2::5") + z, rcode=dns.rcode.NXDOMAIN)
    check(srv, nibbles("2001:db8:1:3::1") + z, rcode=dns.rcode.NXDOMAIN)


def test_ip6trie(srv):
    z = ".ip6trie.example"
    check(srv, nibbles("2001:db8:a:ff::1") + z, a=["127.0.0.2"], txt=["v6trie 2001:db8:a:ff::1"])
    check(srv, nibbles("2001:db8:a:1::7") + z, a=["127.0.0.3"], txt=["more specific"])
    check(srv, nibbles("2001:db8:a:2::1") + z, rcode=dns.rcode.NXDOMAIN)
    check(srv, nibbles("2001:db8:a:2::2") + z, a=["127.0.0.2"])
    check(srv, nibbles("2001:21ab:cfff::1") + z, a=["127.0.0.2"])
    check(srv, nibbles("2001:21ab:d000::1") + z, rcode=dns.rcode.NXDOMAIN)
    check(srv, nibbles("2001:db9::1") + z, rcode=dns.rcode.NXDOMAIN)


def test_ip6_query_needs_32_nibbles(srv):
    z = ".ip6trie.example"
    full = nibbles("2001:db8:a:ff::1")
    for bad in ["x" + full[1:], full + ".0", "12." + full[2:]]:
        r = query(srv.port, bad + z, "A")
        assert not a_values(r), bad


def test_dnset(srv):
    z = ".dnset.example"
    check(srv, "example.com" + z, a=["127.0.0.2"], txt=["Domain example.com listed"])
    check(srv, "www.example.com" + z, rcode=dns.rcode.NXDOMAIN)
    # As in rbldnsd, $ is the listed entry, not the name asked for.
    check(srv, "x.wild.example" + z, a=["127.0.0.2"], txt=["Domain wild.example listed"])
    check(srv, "a.b.wild.example" + z, a=["127.0.0.2"])
    r = query(srv.port, "wild.example" + z, "A")
    assert not a_values(r), "*.wild.example must not list wild.example itself"
    check(srv, "both.example" + z, a=["127.0.0.3"], txt=["Both both.example"])
    check(srv, "x.both.example" + z, a=["127.0.0.3"], txt=["Both both.example"])
    r = query(srv.port, "bad.both.example" + z, "A")
    assert not a_values(r), "excluded name listed"
    check(srv, "other.org" + z, rcode=dns.rcode.NXDOMAIN)
    check(srv, "EXAMPLE.Com" + z, a=["127.0.0.2"])


def test_generic(srv):
    z = "generic.example"
    r = query(srv.port, z, "A")
    assert a_values(r) == {"127.0.0.10"}
    assert txt_values(query(srv.port, z, "TXT")) == {"zone apex text"}
    r = query(srv.port, "www." + z, "A")
    assert a_values(r) == {"127.0.0.1"} and r.answer[0].ttl == 3000
    assert txt_values(query(srv.port, "about." + z, "TXT")) == {"generic text"}
    assert rrset_values(query(srv.port, "mail." + z, "MX"), "MX") == {"10 mx.example.net."}
    assert a_values(query(srv.port, "multi." + z, "A")) == {"127.0.0.20", "127.0.0.21"}
    assert query(srv.port, "nothere." + z, "A").rcode() == dns.rcode.NXDOMAIN
    r = query(srv.port, "about." + z, "A")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = query(srv.port, z, "SOA")
    assert [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA][0][0].serial == 5


def test_combined(srv):
    z = "combined.example"
    check(srv, "10.0.0.10.proxies." + z, a=["127.0.0.2"], txt=["Open proxy 10.0.0.10"])
    check(srv, "10.2.0.10.relays." + z, a=["127.0.0.3"], txt=["Open relay 10.0.2.10"])
    check(srv, "12.9.0.10.multihop." + z, a=["127.0.0.4"], txt=["Multihop 10.0.9.12"])
    # The base zone has proxies and relays, not multihop.
    check(srv, "10.0.0.10." + z, a=["127.0.0.2"])
    check(srv, "10.2.0.10." + z, a=["127.0.0.3"])
    check(srv, "12.9.0.10." + z, rcode=dns.rcode.NXDOMAIN)
    check(srv, "10.2.0.10.proxies." + z, rcode=dns.rcode.NXDOMAIN)
    for sub in ["", "proxies.", "relays.", "multihop."]:
        assert a_values(query(srv.port, "www." + sub + z, "A")) == {"127.0.0.8"}, sub
    r = query(srv.port, z, "SOA")
    assert [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA][0][0].serial == 3


def test_longest_suffix_zone_wins(srv):
    check(srv, "1.0.0.10.bl.example", a=["127.0.0.2"])
    check(srv, "2.0.0.10.bl.example", rcode=dns.rcode.NXDOMAIN)
    check(srv, "2.0.0.10.sub.bl.example", a=["127.0.0.2"])
    check(srv, "1.0.0.10.sub.bl.example", rcode=dns.rcode.NXDOMAIN)
    r = query(srv.port, "sub.bl.example", "SOA")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer and r.answer[0].name.to_text() == "sub.bl.example."


def test_repeated_zone_name_is_one_zone_with_several_datasets(srv):
    check(srv, "1.0.0.10.multi.example", a=["127.0.0.5"], txt=["multi ip 10.0.0.1"])
    check(srv, "example.org.multi.example", a=["127.0.0.6"], txt=["multi dn example.org"])
    check(srv, "2.0.0.10.multi.example", rcode=dns.rcode.NXDOMAIN)


ACL_CASES = {
    "127.0.0.1": ("pass", dns.rcode.NOERROR, {"127.0.0.2"}),
    "127.66.0.1": ("refuse", dns.rcode.REFUSED, set()),
    "127.67.0.1": ("empty", dns.rcode.NXDOMAIN, set()),
    "127.68.0.1": ("ignore", None, None),
    "127.69.0.1": ("listed", dns.rcode.NOERROR, {"127.0.0.9"}),
    "127.69.1.1": ("pass", dns.rcode.NOERROR, {"127.0.0.2"}),
}


@pytest.mark.parametrize("client", list(ACL_CASES))
def test_acl_by_client_address(acl_srv, client):
    srv = acl_srv
    action, rcode, a = ACL_CASES[client]
    qs = [("1.0.0.10.acl.example", "A"), ("9.9.9.9.acl.example", "A"),
          ("1.0.0.10.acl.example", "TXT"), ("1.0.0.10.ip4set.example", "A")]
    listed, unlisted, txt, other_zone = batch_query(srv.port, qs, source=client,
                                                    timeout=0.5, tries=2)
    # The acl covers its own zone only.
    assert other_zone is not None and a_values(other_zone) == {"127.0.0.2"}
    if action == "ignore":
        assert listed is None and unlisted is None
        return
    assert listed.rcode() == rcode
    assert a_values(listed) == a
    if action == "listed":
        assert unlisted.rcode() == dns.rcode.NOERROR and a_values(unlisted) == {"127.0.0.9"}
        assert txt_values(txt) == {"ACL says listed " + client}
    elif action == "pass":
        assert unlisted.rcode() == dns.rcode.NXDOMAIN
        assert txt_values(txt) == {"Listed 10.0.0.1"}


@pytest.mark.parametrize("name,rcode", [
    # 2001:db8:1:2::/64 listed: its nibble ancestors are empty non-terminals.
    ("2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6tset.example", dns.rcode.NOERROR),
    ("8.b.d.0.1.0.0.2.ip6tset.example", dns.rcode.NOERROR),
    ("2.ip6tset.example", dns.rcode.NOERROR),
    ("3.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6tset.example", dns.rcode.NXDOMAIN),
    ("3.ip6tset.example", dns.rcode.NXDOMAIN),
    # dnset: a name with listed names below it, and one without.
    ("com.dnset.example", dns.rcode.NOERROR),
    ("org.dnset.example", dns.rcode.NXDOMAIN),
    # Under a wildcard, every name has names below it.
    ("wild.example.dnset.example", dns.rcode.NOERROR),
])
def test_empty_non_terminals_ip6_and_domains(srv, name, rcode):
    for tcp in (False, True):
        r = query(srv.port, name, "A", tcp=tcp)
        assert r.rcode() == rcode, "%s: %s" % (name, dns.rcode.to_text(r.rcode()))
        assert not r.answer
