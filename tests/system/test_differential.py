# Differential test: rbldnsd (the Debian package) and `dnsblkit serve` load
# the same randomly generated data files of every dataset type and must give
# the same rcode and the same A/TXT (and MX) answers to the same queries,
# except for the differences listed in KNOWN_DIFFERENCES, where rbldnsd is
# wrong and dnsblkit is checked against the RFC instead.
import gzip
import ipaddress
import os
import random

import dns.flags
import dns.rcode
import pytest

from conftest import (
    DNSBLKIT,
    batch_query,
    query,
    rrset_values,
    scale,
    start_rbldnsd,
    world_readable_dir,
)

QUERIES_PER_TYPE = scale(10000, minimum=1000)

# Where rbldnsd is known to be wrong; each key is used by classify() below.
KNOWN_DIFFERENCES = {
    "test-entry": "RFC 5782 test entries (127.0.0.2 / ::FFFF:7F00:2 / TEST listed, "
                  "127.0.0.1 / ::FFFF:7F00:1 / INVALID not) are answered by dnsblkit "
                  "whatever the data says; rbldnsd answers from the data",
    "silent-truncation": "an answer too big for 512 bytes: rbldnsd drops records without "
                         "setting TC; dnsblkit sets TC, and its full answer over TCP must "
                         "hold every record rbldnsd sent and more",
    "empty-non-terminal": "a partial name with listed names below it is an empty "
                          "non-terminal (NOERROR, no records) in dnsblkit; rbldnsd "
                          "answers NXDOMAIN (RFC 8020 says NXDOMAIN means nothing below)",
}

ZONE = "bl.example"

# ---------------------------------------------------------------- data ----

TXT_WORDS = ["listed", "spam", "see", "http://lookup.example/q?", "relay", "proxy",
             "(code 5)", "abuse", "zombie", "[x]", "a-b_c", "100%", "#1", "x;y"]


def txt_template(rng, allow_subst=True):
    words = rng.sample(TXT_WORDS, rng.randint(1, 4))
    if allow_subst:
        extra = rng.choice(["", "$", "$ ", " $$5", " $1", " $2$", "$1 $", ""])
        words.append(extra)
    return " ".join(w for w in words if w).strip() or "listed"


def a_value(rng):
    return rng.choice(["2", "3", "4", "10", "127.0.0.5", "127.0.0.11", "127.0.1.2"])


def value_suffix(rng):
    """A per-entry value in rbldnsd's syntax, or nothing (defaults apply)."""
    r = rng.random()
    if r < 0.45:
        return ""
    if r < 0.6:
        return " :%s:%s" % (a_value(rng), txt_template(rng))
    if r < 0.7:
        return " :%s:" % a_value(rng)  # A only, no TXT at all
    if r < 0.8:
        return " :%s" % a_value(rng)  # A, default TXT
    if r < 0.9:
        return " " + txt_template(rng)  # default A, own TXT
    return " =" + txt_template(rng)  # bypasses the $= base template


def header(rng, with_soa=True):
    lines = ["# generated for the differential test", "; another comment style"]
    if with_soa:
        lines.append("$SOA 3600 ns1.bl.example. hostmaster.bl.example. 42 1h 10m 1w 5m")
        lines.append("$NS 3600 ns1.bl.example. ns2.bl.example.")
    lines.append("$TTL %d" % rng.choice([300, 600, 3600]))
    lines.append("$1 http://lookup.example/check?")
    lines.append("$2 (see $1)")
    return lines


class Ip4Pool:
    """IPv4 networks the data and the queries share, so queries hit."""

    def __init__(self, rng, n=24):
        self.rng = rng
        self.nets = []
        while len(self.nets) < n:
            a = rng.randint(1, 223)
            if a in (10, 127):
                continue
            self.nets.append((a, rng.randint(0, 255)))

    def addr(self):
        a, b = self.rng.choice(self.nets)
        return "%d.%d.%d.%d" % (a, b, self.rng.randint(0, 255), self.rng.randint(0, 255))

    def cidr(self, lo=16, hi=32):
        plen = self.rng.randint(lo, hi)
        net = ipaddress.ip_network("%s/%d" % (self.addr(), plen), strict=False)
        return net


def ip4_entry_forms(rng, pool, ranges=True):
    """Entry text and the network(s) it covers, in the forms rbldnsd reads."""
    r = rng.random()
    if r < 0.35:
        ip = pool.addr()
        return ip
    if r < 0.6:
        net = pool.cidr(16, 31)
        return str(net)
    if r < 0.7:
        a, b = rng.choice(pool.nets)
        return "%d.%d.%d" % (a, b, rng.randint(0, 255))  # a /24 by prefix
    if r < 0.75:
        a, b = rng.choice(pool.nets)
        return "%d.%d" % (a, b)  # a /16 by prefix
    if not ranges:
        return pool.addr()
    a, b = rng.choice(pool.nets)
    c = rng.randint(0, 255)
    lo = rng.randint(0, 200)
    hi = rng.randint(lo, 255)
    if r < 0.88:
        return "%d.%d.%d.%d-%d.%d.%d.%d" % (a, b, c, lo, a, b, c, hi)
    return "%d.%d.%d.%d-%d" % (a, b, c, lo, hi)


def net_key(entry):
    """The network an entry covers, to keep trie data free of duplicates
    (rbldnsd warns about them and keeps the first; not what we test)."""
    tok = entry.lstrip("!")
    if ":" not in tok and "/" not in tok and tok.count(".") < 3:
        parts = tok.split(".")
        tok = ".".join(parts + ["0"] * (4 - len(parts))) + "/%d" % (8 * len(parts))
    if ":" in tok and "/" not in tok and "::" not in tok and tok.count(":") < 7:
        tok += "::/%d" % (16 * (tok.count(":") + 1))
    return ipaddress.ip_network(tok, strict=False)


def gen_ip4set(rng, pool, trie=False):
    files = []
    seen = set()
    for fno in range(2):
        lines = header(rng, with_soa=(fno == 0)) if fno == 0 else ["# second file"]
        if fno == 0 and not trie:
            lines.append("$= [$=] details: $1$")
        lines.append(":%s:%s" % (a_value(rng), txt_template(rng)))
        for _ in range(400):
            entry = ip4_entry_forms(rng, pool, ranges=not trie)
            if trie:
                if rng.random() < 0.12:
                    entry = "!" + (pool.addr() if rng.random() < 0.7 else str(pool.cidr(24, 30)))
                if net_key(entry) in seen:
                    continue
                seen.add(net_key(entry))
                if entry.startswith("!"):
                    lines.append(entry)
                    continue
            elif rng.random() < 0.12:
                lines.append("!" + entry)
                continue
            if rng.random() < 0.05:
                lines.append(entry + " ; trailing comment")
                continue
            lines.append(entry + value_suffix(rng))
            if rng.random() < 0.03:
                lines.append(":%s:%s" % (a_value(rng), txt_template(rng)))
        if fno == 0:
            lines.append("127.0.0.1 :2:the data lists 127.0.0.1 (it must not be listed)")
        files.append(lines)
    return files


def gen_ip4tset(rng, pool):
    files = []
    for fno in range(2):
        lines = header(rng, with_soa=(fno == 0)) if fno == 0 else []
        if fno == 0:
            lines.append(":%s:%s" % (a_value(rng), txt_template(rng)))
        for _ in range(600):
            lines.append(pool.addr())
        files.append(lines)
    return files


class Ip6Pool:
    def __init__(self, rng, n=16):
        self.rng = rng
        self.nets = [(0x2001, 0x0db8, rng.randint(0, 0xFFFF), rng.randint(0, 0xFFFF))
                     for _ in range(n)]

    def addr(self, net=None):
        w = list(net or self.rng.choice(self.nets))
        if self.rng.random() < 0.2:
            w[3] = self.rng.randint(0, 0xFFFF)  # a neighbouring /64
        tail = [self.rng.choice([0, 0, 1, 2, self.rng.randint(0, 0xFFFF)]) for _ in range(4)]
        return ipaddress.IPv6Address(":".join("%x" % x for x in w + tail))

    def net64(self):
        return ":".join("%x" % x for x in self.rng.choice(self.nets))


def gen_ip6tset(rng, pool):
    lines = header(rng)
    lines.append(":%s:%s" % (a_value(rng), txt_template(rng)))
    for _ in range(500):
        if rng.random() < 0.15:
            lines.append("!" + pool.addr().compressed)
        else:
            lines.append(pool.net64())
    return [lines]


def gen_ip6trie(rng, pool):
    lines = header(rng)
    lines.append(":%s:%s" % (a_value(rng), txt_template(rng)))
    seen = set()
    for _ in range(500):
        r = rng.random()
        if r < 0.15:
            entry = "!" + pool.addr().compressed
        elif r < 0.35:
            entry = pool.addr().compressed
        elif r < 0.5:
            entry = pool.net64()  # trailing zero words omitted
        else:
            plen = rng.choice([36, 48, 56, 60, 64, 80, 96, 112, 120, 127])
            entry = str(ipaddress.ip_network("%s/%d" % (pool.addr(), plen), strict=False))
        if net_key(entry) in seen:
            continue
        seen.add(net_key(entry))
        lines.append(entry if entry.startswith("!") else entry + value_suffix(rng))
    return [lines]


LABELS = ["mail", "www", "spam", "relay", "a1", "b-2", "xn--bcher-kva", "shop", "cdn", "mx"]
TLDS = ["com", "net", "org", "test", "example"]


class DomainPool:
    def __init__(self, rng, n=40):
        self.rng = rng
        self.bases = ["%s%d.%s" % (rng.choice(LABELS), rng.randint(0, 99), rng.choice(TLDS))
                      for _ in range(n)]

    def name(self, depth=None):
        depth = self.rng.choice([0, 0, 1, 1, 2]) if depth is None else depth
        labels = [self.rng.choice(LABELS) for _ in range(depth)]
        return ".".join(labels + [self.rng.choice(self.bases)])


def gen_dnset(rng, pool):
    files = []
    for fno in range(2):
        lines = header(rng, with_soa=(fno == 0)) if fno == 0 else []
        if fno == 0:
            lines.append("$= <$=> domain $ ($1)")
        lines.append(":%s:%s" % (a_value(rng), txt_template(rng)))
        for _ in range(300):
            r = rng.random()
            name = pool.name()
            if r < 0.12:
                lines.append("!" + name)
            elif r < 0.3:
                lines.append("*." + name + value_suffix(rng))
            elif r < 0.45:
                lines.append("." + name + value_suffix(rng))
            else:
                lines.append(name + value_suffix(rng))
        if fno == 0:
            lines.append("invalid :2:the data lists INVALID (it must not be listed)")
        files.append(lines)
    return files


def gen_generic(rng, pool):
    lines = header(rng)
    names = ["@", "www", "info", "mx", "deep.sub", "many"]
    for _ in range(120):
        name = rng.choice(names + [pool.name(0).replace(".", "-")])
        ttl = rng.choice(["", " 600", " 1h"])
        r = rng.random()
        if r < 0.45:
            lines.append("%s%s A 127.0.%d.%d" % (name, ttl, rng.randint(0, 3), rng.randint(1, 20)))
        elif r < 0.85:
            lines.append('%s%s TXT "%s"' % (name, ttl, txt_template(rng, allow_subst=False)))
        else:
            lines.append("%s%s MX %d mx%d.example.net." % (name, ttl, rng.randint(0, 50),
                                                          rng.randint(1, 3)))
    return [lines]


def gen_combined(rng, ip4pool, dpool):
    lines = ["# common section"] + header(rng)
    lines.append("$DATASET ip4set:proxy proxies @")
    lines.append(":2:Open proxy $ see $1$")
    for _ in range(200):
        lines.append(ip4_entry_forms(rng, ip4pool) + value_suffix(rng))
    lines.append("$DATASET ip4trie:relay relays @")
    lines.append(":3:Open relay $")
    relays = {ip4pool.cidr(20, 32) for _ in range(200)}
    for net in sorted(relays):
        lines.append(str(net) + value_suffix(rng))
    lines.append("$DATASET dnset:doms doms")
    lines.append(":4:Domain $")
    for _ in range(150):
        lines.append(rng.choice(["", "*.", "."]) + dpool.name() + value_suffix(rng))
    lines.append("$DATASET generic:common proxies relays @")
    lines.append("www A 127.0.0.8")
    lines.append('www TXT "combined www"')
    lines.append("info TXT \"zone info\"")
    return [lines]


ACL_CLIENTS = {
    "127.0.0.1": "pass",
    "127.10.0.5": "refuse",
    "127.20.0.5": "empty",
    "127.30.0.5": "ignore",
    "127.40.0.5": "listed",
    "127.40.5.7": "pass",
}


def gen_acl(rng, pool):
    data = header(rng) + [":2:Listed $"] + [pool.addr() for _ in range(300)]
    acl = [
        "# who may ask",
        "127.10.0.0/16 :refuse",
        "127.20.0.0/16 :empty",
        "127.30.0.0/16 :ignore",
        "127.40.0.0/16 :127.0.0.9:Everything is listed for $",
        "127.40.5.0/24 :pass",
    ]
    return [data], [acl]


# ------------------------------------------------------------- queries ----

def rev4(ip):
    return ".".join(reversed(str(ip).split(".")))


def rev6(addr):
    return ".".join(reversed(ipaddress.IPv6Address(addr).exploded.replace(":", "")))


def ip4_queries(rng, pool, files, zone, n):
    entries = []
    excluded = []
    for lines in files:
        for line in lines:
            if not line or line[0] in "#;:$":
                continue
            tok = line.split()[0]
            (excluded if tok.startswith("!") else entries).append(tok.lstrip("!"))

    def inside(tok):
        tok = tok.split(" ")[0]
        if "-" in tok:
            lo = tok.split("-")[0]
            return lo if lo.count(".") == 3 else pool.addr()
        if "/" in tok:
            net = ipaddress.ip_network(tok, strict=False)
            return str(net[rng.randrange(net.num_addresses)])
        parts = tok.split(".")
        while len(parts) < 4:
            parts.append(str(rng.randint(0, 255)))
        return ".".join(parts)

    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.4 and entries:
            ip, kind = inside(rng.choice(entries)), "listed"
        elif r < 0.5 and excluded:
            ip, kind = inside(rng.choice(excluded)), "excluded"
        elif r < 0.75:
            ip, kind = pool.addr(), "unlisted"
        elif r < 0.87:
            octets = pool.addr().split(".")[: rng.randint(1, 3)]
            out.append((".".join(reversed(octets)) + "." + zone, rng.choice("A TXT".split()),
                        "partial"))
            continue
        elif r < 0.97:
            out.append((rng.choice(GARBAGE4) + "." + zone, rng.choice(["A", "TXT"]), "garbage"))
            continue
        else:
            ip, kind = rng.choice(["127.0.0.2", "127.0.0.1"]), "test-entry"
        out.append((rev4(ip) + "." + zone, rng.choice(["A", "TXT"]), kind))
    return out


GARBAGE4 = ["foo", "1.2.3.256", "1.2.3.4.5", "x.1.2.3", "-1.2.3.4",
            "01.2.3.4", "4.3.2.1.in-addr", "1.2.3.4.5.6.7.8", "abc.def", "999",
            "0x1.2.3.4", "1.2.3.4a"]


def ip6_queries(rng, pool, files, zone, n):
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            addr, kind = pool.addr(), "listed-or-not"
        elif r < 0.75:
            addr, kind = ipaddress.IPv6Address(rng.getrandbits(128)), "unlisted"
        elif r < 0.85:
            nib = rev6(pool.addr()).split(".")
            cut = rng.choice([16, 20, 24, 31, 8])
            out.append((".".join(nib[-cut:]) + "." + zone, rng.choice(["A", "TXT"]), "partial"))
            continue
        elif r < 0.95:
            g = rng.choice(["g" + "." + rev6(pool.addr())[2:], rev6(pool.addr()) + ".0",
                            "foo", "ff." + rev6(pool.addr())[2:]])
            out.append((g + "." + zone, rng.choice(["A", "TXT"]), "garbage"))
            continue
        else:
            addr, kind = rng.choice(["::ffff:7f00:2", "::ffff:7f00:1"]), "test-entry"
        out.append((rev6(addr) + "." + zone, rng.choice(["A", "TXT"]), kind))
    return out


def dn_queries(rng, pool, zone, n, listed_names):
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            name, kind = rng.choice(listed_names), "listed-or-not"
            if rng.random() < 0.3:
                name = rng.choice(LABELS) + "." + name
        elif r < 0.85:
            name, kind = pool.name(), "unlisted"
        elif r < 0.95:
            name, kind = rng.choice(pool.bases).split(".")[-1], "partial"
        else:
            name, kind = rng.choice(["test", "invalid"]), "test-entry"
        out.append((name + "." + zone, rng.choice(["A", "TXT"]), kind))
    return out


def listed_domain_names(files):
    names = []
    for lines in files:
        for line in lines:
            if not line or line[0] in "#;:$":
                continue
            names.append(line.split()[0].lstrip("!*."))
    return names


def is_ent(sub, ents):
    """ents: names with listed names below them, and ('*', base) for each
    wildcard base: every name under a wildcard has listed names below it."""
    if callable(ents):
        return ents(sub)
    if sub in ents:
        return True
    labels = sub.split(".")
    return any(("*", ".".join(labels[i:])) in ents for i in range(1, len(labels)))


def entry_networks(files):
    """The networks the positive entries of IPv4/IPv6 data files cover."""
    nets = [ipaddress.ip_network("127.0.0.2/32"), ipaddress.ip_network("::ffff:7f00:2/128")]
    for lines in files:
        for line in lines:
            if not line or line[0] in "#;:$!":
                continue
            tok = line.split()[0]
            if "-" in tok:
                lo, hi = tok.split("-")
                if hi.count(".") != 3:
                    hi = ".".join(lo.split(".")[:4 - len(hi.split("."))] + hi.split("."))
                nets += ipaddress.summarize_address_range(ipaddress.ip_address(lo),
                                                          ipaddress.ip_address(hi))
            else:
                nets.append(net_key(tok))
    return nets


def ip_ents(files):
    """ENT test for partial reverse names (an optional subzone label last):
    true when some listed network lies below the name."""
    nets = entry_networks(files)

    def check(sub):
        labels = sub.split(".")
        while labels and not all(c in "0123456789abcdef" for c in labels[-1]):
            labels.pop()  # a combined subzone
        if not labels or any(not l for l in labels):
            return False
        if all(l.isdigit() and int(l) < 256 and len(l) <= 3 for l in labels) and len(labels) < 4:
            octets = list(reversed(labels)) + ["0"] * (4 - len(labels))
            prefix = ipaddress.ip_network("%s/%d" % (".".join(octets), 8 * len(labels)))
        elif all(len(l) == 1 for l in labels) and len(labels) < 32:
            hexs = "".join(reversed(labels)).ljust(32, "0")
            addr = ipaddress.IPv6Address(int(hexs, 16))
            prefix = ipaddress.ip_network("%s/%d" % (addr, 4 * len(labels)))
        else:
            return False
        return any(n.version == prefix.version and n.overlaps(prefix) for n in nets)
    return check


def dn_ancestors(files, suffix=""):
    """Names with listed names below them: empty non-terminals unless listed."""
    out = set()
    for lines in files:
        for line in lines:
            if not line or line[0] in "#;:$!":
                continue
            tok = line.split()[0]
            labels = tok.lstrip("*.").lower().split(".")
            first = 0 if tok.startswith("*.") else 1
            for i in range(first, len(labels)):
                out.add(".".join(labels[i:]) + suffix)
            if tok.startswith(("*.", ".")):
                out.add(("*", tok.lstrip("*.").lower() + suffix))
    return out


# --------------------------------------------------------------- runner ----

def write_files(d, tag, files, gz_second=True):
    paths = []
    for i, lines in enumerate(files):
        text = "\n".join(lines) + "\n"
        if i == 1 and gz_second:
            path = os.path.join(d, "%s-%d.txt.gz" % (tag, i))
            with gzip.open(path, "wt") as f:
                f.write(text)
        else:
            path = os.path.join(d, "%s-%d.txt" % (tag, i))
            with open(path, "w") as f:
                f.write(text)
        os.chmod(path, 0o644)
        paths.append(path)
    return paths


def answer_key(msg):
    if msg is None:
        return ("no reply",)
    return (dns.rcode.to_text(msg.rcode()), tuple(sorted(rrset_values(msg, "A"))),
            tuple(sorted(rrset_values(msg, "TXT"))), tuple(sorted(rrset_values(msg, "MX"))),
            "TC" if msg.flags & dns.flags.TC else "")


TEST_ENTRY_LABELS = ("2.0.0.127", "1.0.0.127", "test", "invalid",
                     "2.0.0.0.0.0.f.7.f.f.f.f" + ".0" * 20, "1.0.0.0.0.0.f.7.f.f.f.f" + ".0" * 20)


def entry_of_test(qname, zone, subzones):
    """The test-entry part of qname (e.g. '2.0.0.127') if qname is a test
    entry of the zone or of one of its subzones (combined), else None."""
    sub = qname.lower()[: -len(zone) - 1]
    for z in ("",) + tuple("." + s for s in subzones):
        for t in TEST_ENTRY_LABELS:
            if sub == t + z:
                return t
    return None


def classify(qname, rdtype, kind, ref, ours, zone=ZONE, ents=(), subzones=()):
    """(category, text): category None when the answers agree or differ only
    as KNOWN_DIFFERENCES allow; otherwise a short signature of the mismatch."""
    kr, ko = answer_key(ref), answer_key(ours)
    if kr == ko:
        return None, None
    t = entry_of_test(qname, zone, subzones)
    if t and ours is not None:
        positive = t.startswith(("2.", "test"))
        if positive:
            if ours.rcode() == dns.rcode.NOERROR and (rdtype != "A" or ko[1]):
                return None, None
        elif ours.rcode() == dns.rcode.NXDOMAIN:
            return None, None
        return "test entry wrong", "dnsblkit %s" % (ko,)
    sub = qname.lower()[: -len(zone) - 1]
    if (ref is not None and ours is not None and ref.rcode() == dns.rcode.NXDOMAIN
            and ours.rcode() == dns.rcode.NOERROR and not ours.answer
            and is_ent(sub, ents)):
        return None, None  # empty-non-terminal
    if kr[0] != ko[0]:
        sig = "rcode %s vs %s" % (kr[0], ko[0])
    else:
        sig = " ".join(t for t, i in (("A", 1), ("TXT", 2), ("MX", 3), ("TC", 4))
                       if kr[i] != ko[i]) + " differ"
    return "%s (%s %s)" % (sig, kind, rdtype), "rbldnsd %s, dnsblkit %s" % (kr, ko)


def silently_truncated(port, qname, rdtype, ref, ours):
    """The silent-truncation known difference, checked over TCP."""
    if ref is None or ours is None or ref.flags & dns.flags.TC or not ours.flags & dns.flags.TC:
        return False
    if ref.rcode() != ours.rcode():
        return False
    full = query(port, qname, rdtype, tcp=True)
    if full.flags & dns.flags.TC:
        return False
    kf, kr = answer_key(full), answer_key(ref)
    return all(set(kr[i]) <= set(kf[i]) for i in (1, 2, 3)) and sum(
        len(kf[i]) for i in (1, 2, 3)) > sum(len(kr[i]) for i in (1, 2, 3))


def run_differential(tmpdir, specs, questions, zone=ZONE, sources=None, ents=(), subzones=()):
    """Starts both servers on the same specs, asks every question of both,
    returns the list of unexplained mismatches."""
    import conftest

    ref = start_rbldnsd(specs, tmpdir, zone=zone)
    factory = conftest.DnsblkitFactory(tmpdir)
    try:
        ours = factory.start(specs, zone=zone)
        mismatches = []
        for source in sources or [None]:
            qs = [(q[0], q[1]) for q in questions]
            kinds = [q[2] for q in questions]
            timeout = 0.3 if sources and ACL_CLIENTS.get(source) == "ignore" else 1.0
            tries = 1 if timeout < 1 else 3
            r_ref = batch_query(ref.port, qs, source=source, timeout=timeout, tries=tries)
            r_ours = batch_query(ours.port, qs, source=source, timeout=timeout, tries=tries)
            STATS.append((source, [answer_key(m)[0] if m is None or not m.answer else "ANSWER"
                                   for m in r_ref]))
            WARNINGS.append(ref.stderr())
            for (qname, rdtype), kind, a, b in zip(qs, kinds, r_ref, r_ours):
                sig, why = classify(qname, rdtype, kind, a, b, zone=zone, ents=ents,
                                    subzones=subzones)
                if sig and silently_truncated(ours.port, qname, rdtype, a, b):
                    continue
                if sig:
                    mismatches.append((sig, "%s %s (from %s): %s"
                                       % (qname, rdtype, source or "127.0.0.1", why)))
        return mismatches
    finally:
        ref.stop()
        factory.finish()


STATS = []
WARNINGS = []


def report(mismatches, total):
    # A differential test where rbldnsd lists nothing proves nothing: the
    # generated data must give both listed and unlisted answers.
    for source, kinds in STATS:
        if source in (None, "127.0.0.1"):
            listed = kinds.count("ANSWER") / len(kinds)
            nx = kinds.count("NXDOMAIN") / len(kinds)
            assert listed > 0.1 and nx > 0.1, "degenerate data: %.0f%% listed, %.0f%% NXDOMAIN\n%s" % (
                100 * listed, 100 * nx, WARNINGS[-1][-3000:])
    STATS.clear()
    WARNINGS.clear()
    if mismatches:
        groups = {}
        for sig, text in mismatches:
            groups.setdefault(sig, []).append(text)
        lines = []
        for sig, texts in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            lines.append("== %d x %s, e.g.:" % (len(texts), sig))
            lines += ["   " + t for t in texts[:3]]
        pytest.fail("%d of %d answers differ from rbldnsd:\n%s" % (
            len(mismatches), total, "\n".join(lines)), pytrace=False)


@pytest.fixture
def ddir():
    import shutil
    d = world_readable_dir("dbk-diff-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def check_binary():
    if not os.access(DNSBLKIT, os.X_OK):
        pytest.fail("dnsblkit binary not found at %s (set DNSBLKIT)" % DNSBLKIT)


@pytest.mark.parametrize("dstype", ["ip4set", "ip4trie", "ip4tset"])
def test_ip4_datasets(ddir, dstype):
    check_binary()
    rng = random.Random("ip4-" + dstype)
    pool = Ip4Pool(rng)
    if dstype == "ip4tset":
        files = gen_ip4tset(rng, pool)
    else:
        files = gen_ip4set(rng, pool, trie=(dstype == "ip4trie"))
    paths = write_files(ddir, dstype, files)
    spec = "%s:%s:%s" % (ZONE, dstype, ",".join(paths))
    qs = ip4_queries(rng, pool, files, ZONE, QUERIES_PER_TYPE)
    report(run_differential(ddir, [spec], qs, ents=ip_ents(files)), len(qs))


@pytest.mark.parametrize("dstype", ["ip6tset", "ip6trie"])
def test_ip6_datasets(ddir, dstype):
    check_binary()
    rng = random.Random("ip6-" + dstype)
    pool = Ip6Pool(rng)
    files = gen_ip6tset(rng, pool) if dstype == "ip6tset" else gen_ip6trie(rng, pool)
    paths = write_files(ddir, dstype, files)
    spec = "%s:%s:%s" % (ZONE, dstype, ",".join(paths))
    qs = ip6_queries(rng, pool, files, ZONE, QUERIES_PER_TYPE)
    report(run_differential(ddir, [spec], qs, ents=ip_ents(files)), len(qs))


def test_dnset(ddir):
    check_binary()
    rng = random.Random("dnset")
    pool = DomainPool(rng)
    files = gen_dnset(rng, pool)
    paths = write_files(ddir, "dnset", files)
    spec = "%s:dnset:%s" % (ZONE, ",".join(paths))
    qs = dn_queries(rng, pool, ZONE, QUERIES_PER_TYPE, listed_domain_names(files))
    report(run_differential(ddir, [spec], qs, ents=dn_ancestors(files)), len(qs))


def test_generic(ddir):
    check_binary()
    rng = random.Random("generic")
    pool = DomainPool(rng)
    files = gen_generic(rng, pool)
    paths = write_files(ddir, "generic", files)
    spec = "%s:generic:%s" % (ZONE, ",".join(paths))
    names = sorted({l.split()[0] for l in files[0] if l and l[0] not in "#;$"})
    qs = []
    for _ in range(QUERIES_PER_TYPE):
        r = rng.random()
        if r < 0.7:
            n = rng.choice(names)
            qname = ZONE if n == "@" else n + "." + ZONE
            kind = "listed"
        elif r < 0.8:
            qname, kind = "sub." + ZONE, "partial"
        else:
            qname, kind = rng.choice(LABELS) + "." + rng.choice(names).replace("@", "x") \
                + "." + ZONE, "unlisted"
        qs.append((qname, rng.choice(["A", "TXT", "MX"]), kind))
    report(run_differential(ddir, [spec], qs, ents={"sub"}), len(qs))


def test_combined(ddir):
    check_binary()
    rng = random.Random("combined")
    ip4pool, dpool = Ip4Pool(rng, 12), DomainPool(rng, 20)
    files = gen_combined(rng, ip4pool, dpool)
    paths = write_files(ddir, "combined", files)
    spec = "%s:combined:%s" % (ZONE, ",".join(paths))
    ip4files = [[l for l in files[0] if l[:1].isdigit() or l.startswith("!")]]
    qs = []
    for sub in ["", "proxies.", "relays."]:
        for q in ip4_queries(rng, ip4pool, ip4files, sub + ZONE, QUERIES_PER_TYPE // 4):
            qs.append(q)
    dn = listed_domain_names([[l for l in files[0] if l[:1].isalpha() or l[:1] in "*."]])
    qs += dn_queries(rng, dpool, "doms." + ZONE, QUERIES_PER_TYPE // 4, dn)
    for _ in range(50):
        qs.append((rng.choice(["www.", "info.", "www.proxies.", "info.relays.", "www.doms."])
                   + ZONE, rng.choice(["A", "TXT"]), "listed"))
    dfiles = [[l for l in files[0] if l[:1].isalpha() or l[:1] in "*."]]
    dn_ents, ip_check = dn_ancestors(dfiles, ".doms"), ip_ents(ip4files)
    report(run_differential(ddir, [spec], qs,
                            ents=lambda sub: is_ent(sub, dn_ents) or ip_check(sub),
                            subzones=("proxies", "relays", "doms")), len(qs))


def test_acl(ddir):
    check_binary()
    rng = random.Random("acl")
    pool = Ip4Pool(rng)
    data, acl = gen_acl(rng, pool)
    dpaths = write_files(ddir, "acldata", data)
    apaths = write_files(ddir, "acl", acl)
    specs = ["%s:ip4set:%s" % (ZONE, ",".join(dpaths)), "%s:acl:%s" % (ZONE, ",".join(apaths))]
    per_client = max(50, QUERIES_PER_TYPE // len(ACL_CLIENTS))
    qs = ip4_queries(rng, pool, data, ZONE, per_client)
    sources = list(ACL_CLIENTS)
    mismatches = []
    # The ignored client gets few queries: each one waits for a timeout.
    for src in sources:
        sub = qs[:40] if ACL_CLIENTS[src] == "ignore" else qs
        mismatches += run_differential(ddir, specs, sub, sources=[src], ents=ip_ents(data))
    report(mismatches, len(qs) * len(sources))
