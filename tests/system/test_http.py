# The HTTP service of `dnsblkit serve` ([http]) end to end: the lookup page,
# the removal flow with its CSRF and Origin checks, the JSON API with its
# token, and /metrics, against the route contract; every write is checked
# in DNS too.
import html.parser
import ipaddress
import json
import os
import re
import time
import urllib.parse

import dns.rcode
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import a_values, free_port, query, run_dnsblkit, write

ZONE = "bl.test"
FILE_ZONE = "files.test"
TOKEN = "s3cret-test-token_0123456789"
MAX_BODY = 4096
TIMEOUT = 10

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

FILE_DATA = (":127.0.0.2:Listed in the file zone, see $\n"
             "198.51.100.0/24\n"
             "203.0.113.7\n"
             "203.0.113.9\n")


def config(tmp, http_port, http_extra=None):
    """A server with a listing zone, a file zone and [http]."""
    data = write(os.path.join(tmp, "files.ip4set"), FILE_DATA)
    if http_extra is None:
        http_extra = "token = %s\nmax-body = %d\n" % (TOKEN, MAX_BODY)
    text = ("[listing]\n"
            "database = %s/listing.db\n"
            "trusted-relays = 192.0.2.0/24\n"
            "txt = Blocked - see http://127.0.0.1:%d/lookup?ip=$\n"
            "\n"
            "[zone %s]\n"
            "dataset = listing\n"
            "\n"
            "[zone %s]\n"
            "data = ip4set:%s\n"
            "\n"
            "[http]\n"
            "listen = 127.0.0.1/%d\n"
            "%s" % (tmp, http_port, ZONE, FILE_ZONE, data, http_port, http_extra))
    return write(os.path.join(tmp, "dnsblkit.conf"), text)


def message(source, n, subject="cheap pills"):
    """A spam delivered by `source` to our MX (a trap mailbox); `n` makes
    its Message-ID unique."""
    if ":" in source:
        hop = "from spam.example (unknown [IPv6:%s])" % source
    else:
        hop = "from spam.example (unknown [%s])" % source
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    stamp = time.monotonic_ns()
    return ("Received: %s\r\n"
            "\tby mx1.dnsblkit.test (Postfix) with ESMTP id 4Web%d\r\n"
            "\tfor <trap@dnsblkit.test>; %s\r\n"
            "From: \"Deals\" <deals@spam.example>\r\n"
            "To: trap@dnsblkit.test\r\n"
            "Subject: %s %d\r\n"
            "Date: %s\r\n"
            "Message-ID: <%d.%d.%s@spam.example>\r\n"
            "\r\n"
            "Buy now.\r\n" % (hop, n, date, subject, n, date, n, stamp, source))


def rev(ip, zone=ZONE):
    if ":" in ip:
        nibbles = ipaddress.IPv6Address(ip).exploded.replace(":", "")
        return ".".join(reversed(nibbles)) + "." + zone
    return ".".join(reversed(ip.split("."))) + "." + zone


def answer(port, name):
    r = query(port, name)
    if r.rcode() == dns.rcode.NXDOMAIN:
        return None
    return (sorted(a_values(r)) or [None])[0]


def wait_for(port, name, want, timeout=3.0):
    """Poll until the answer for name is `want` (a code, or None for
    NXDOMAIN); returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        got = answer(port, name)
        if got == want:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("%s: want %s, still %s after %.1f s" % (name, want, got, timeout))
        time.sleep(0.02)


class Page(html.parser.HTMLParser):
    """What the tests read from a page: zone sections, forms with their
    inputs and buttons, links, data-result, and all of the text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.sections = []  # dicts of attributes, each with a "text" key
        self.forms = []  # {"attrs": {...}, "inputs": [attrs], "buttons": [attrs]}
        self.links = []
        self.result = None
        self.text_parts = []
        self._section = None
        self._form = None
        self.feed(text)
        self.close()
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "section" and "zone" in a.get("class", "").split():
            self._section = dict(a, text="")
            self.sections.append(self._section)
        elif tag == "form":
            self._form = {"attrs": a, "inputs": [], "buttons": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form["inputs"].append(a)
        elif tag == "button" and self._form is not None:
            self._form["buttons"].append(a)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        if "data-result" in a:
            self.result = a["data-result"]

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._section is not None:
            self._section["text"] += data

    def zone(self, name):
        found = [s for s in self.sections if s.get("data-zone") == name]
        assert len(found) == 1, "want one section for %s, got %s" % (name, self.sections)
        s = dict(found[0])
        s["text"] = " ".join(s["text"].split())
        return s

    def hidden(self, form):
        return {i.get("name"): i.get("value", "") for i in form["inputs"]
                if i.get("type") == "hidden"}


class Web:
    """A running `dnsblkit serve` with [http]: DNS port, base URL, config."""

    def __init__(self, srv, cfg, tmp, http_port):
        self.srv = srv
        self.port = srv.port
        self.cfg = cfg
        self.tmp = tmp
        self.base = "http://127.0.0.1:%d" % http_port
        self.origin = self.base
        self.session = requests.Session()

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.session.get(self.url(path), **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.session.post(self.url(path), **kw)

    def delete(self, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return self.session.delete(self.url(path), **kw)

    def auth(self, token=TOKEN):
        return {"Authorization": "Bearer " + token}

    def trap(self, ip, n):
        """Report a trap hit from ip with the CLI; wait until DNS lists it."""
        path = write(os.path.join(self.tmp, "msg-%d.eml" % time.monotonic_ns()), message(ip, n))
        r = run_dnsblkit(["report", "--config", self.cfg, "--zone", ZONE, "--trap", path])
        assert r.returncode == 0 and "listed" in r.stdout, r.stdout + r.stderr
        wait_for(self.port, rev(ip), "127.0.0.2")

    def cli(self, *args):
        r = run_dnsblkit(list(args) + ["--config", self.cfg])
        assert r.returncode == 0, r.stderr
        return r


def wait_http(web, srv, timeout=10.0):
    """The service starts listening once DNS answers: poll until it does."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise AssertionError("server exited with status %s:\n%s"
                                 % (srv.proc.returncode, srv.stderr()))
        try:
            return requests.get(web.url("/style.css"), timeout=1)
        except requests.RequestException as e:
            last = e
        time.sleep(0.05)
    raise AssertionError("HTTP not answering on %s within %.0f s (%s):\n%s"
                         % (web.base, timeout, last, srv.stderr()))


def start_web(factory, tmp, http_extra=None):
    http_port = free_port()
    cfg = config(tmp, http_port, http_extra)
    srv = factory.start(["--config", cfg], zone=ZONE)
    web = Web(srv, cfg, tmp, http_port)
    wait_http(web, srv)
    return web


@pytest.fixture(scope="module")
def web(module_dnsblkit, tmp_path_factory):
    return start_web(module_dnsblkit, str(tmp_path_factory.mktemp("web")))


def assert_security_headers(r):
    for k, v in SECURITY_HEADERS.items():
        assert r.headers.get(k) == v, "%s %s: %s is %r" % (r.request.method, r.url, k,
                                                           r.headers.get(k))


def assert_html(r, status):
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].replace(" ", "").lower() == "text/html;charset=utf-8"
    assert_security_headers(r)
    return Page(r.text)


def assert_json_error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert_security_headers(r)
    d = r.json()
    assert d["error"] == code, d
    assert isinstance(d["message"], str) and d["message"], d
    return d


def assert_no_external_urls(web, text):
    """No page refers to anything but itself."""
    for m in re.finditer(r'(?:src|href|action)\s*=\s*"([^"]*)"', text):
        url = m.group(1)
        assert (url.startswith("/") and not url.startswith("//")) or url.startswith(web.base), url


# --- the page ----------------------------------------------------------


def test_home_page_has_the_search_form(web):
    r = web.get("/")
    page = assert_html(r, 200)
    forms = [f for f in page.forms if f["attrs"].get("action") == "/lookup"]
    assert len(forms) == 1, page.forms
    form = forms[0]
    assert form["attrs"].get("method", "").lower() == "get"
    assert [i for i in form["inputs"] if i.get("name") == "ip"]
    submits = [b for b in form["buttons"] if b.get("type", "submit") == "submit"]
    submits += [i for i in form["inputs"] if i.get("type") == "submit"]
    assert submits
    assert_no_external_urls(web, r.text)


def test_style_css(web):
    r = web.get("/style.css")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0].strip() == "text/css"
    assert_security_headers(r)
    assert "{" in r.text and "http://" not in r.text and "https://" not in r.text


def test_unknown_path_is_404(web):
    for path in ("/nope", "/lookup/extra", "/style.css/x", "/../etc/passwd"):
        assert_html(web.get(path), 404)
    r = web.get("/api/v1/nope")
    assert r.status_code == 404
    assert_security_headers(r)


def test_post_to_get_only_routes_is_405(web):
    for path in ("/", "/lookup?ip=45.83.22.8", "/style.css", "/metrics"):
        r = web.post(path, data={"ip": "45.83.22.8"})
        assert r.status_code == 405, (path, r.status_code)
        assert_security_headers(r)
    for path in ("/api/v1/lookup?ip=45.83.22.8", "/api/v1/zones"):
        assert_json_error(web.post(path, headers=web.auth(), data="{}"), 405,
                          "method_not_allowed")
    assert_json_error(web.delete("/api/v1/zones", headers=web.auth()), 405, "method_not_allowed")


def test_lookup_listed_address(web):
    ip = "45.83.21.7"
    web.trap(ip, 1)
    r = web.get("/lookup", params={"ip": ip})
    page = assert_html(r, 200)
    z = page.zone(ZONE)
    assert z["data-listed"] == "yes"
    assert "127.0.0.2" in z["text"]
    assert re.search(r"\b1 spam-trap hits?\b", z["text"]), z["text"]
    assert "in the past 7 days" in z["text"], z["text"]
    assert "in about" in z["text"], z["text"]
    assert "in the past 30 days" in z["text"], z["text"]
    # The removal link: a GET to the confirmation page for this zone.
    removes = [h for h in page.links if h.startswith("/remove?")]
    assert len(removes) == 1, page.links
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(removes[0]).query)
    assert q == {"ip": [ip], "zone": [ZONE]}
    # The file zone answers IPv4 too: not listed there.
    f = page.zone(FILE_ZONE)
    assert f["data-listed"] == "no"
    assert_no_external_urls(web, r.text)

    r = web.get("/api/v1/lookup", params={"ip": ip})
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert_security_headers(r)
    d = r.json()
    assert d["subject"] == ip
    zones = {z["zone"]: z for z in d["zones"]}
    assert set(zones) == {ZONE, FILE_ZONE}
    z = zones[ZONE]
    now = time.time()
    assert z["listed"] is True and z["live"] is True
    assert z["codes"] == ["127.0.0.2"]
    assert z["txt"] == "Blocked - see %s/lookup?ip=%s" % (web.base, ip)
    assert z["manual"] is False and z["escalated"] is False and z["covered_by"] is None
    assert z["allowlisted"] is False and z["allow_block"] is None
    assert z["reports"] == 0 and z["traps"] == 1 and z["evidence_days"] == 7
    assert abs(z["listed_at"] - now) < 60
    assert abs(z["expires"] - (now + 24 * 3600)) < 60
    assert z["history"] == {"ended_last_30_days": 0, "seconds_last_30_days": 0}
    assert z["removable"] is True
    assert isinstance(z["reason"], str)
    f = zones[FILE_ZONE]
    assert f == {"zone": FILE_ZONE, "listed": False, "codes": [], "txt": "", "live": False}


def test_lookup_address_in_the_file_zone(web):
    page = assert_html(web.get("/lookup", params={"ip": "198.51.100.20"}), 200)
    assert page.zone(FILE_ZONE)["data-listed"] == "yes"
    assert "127.0.0.2" in page.zone(FILE_ZONE)["text"]
    assert page.zone(ZONE)["data-listed"] == "no"
    d = web.get("/api/v1/lookup", params={"ip": "198.51.100.20"}).json()
    f = [z for z in d["zones"] if z["zone"] == FILE_ZONE][0]
    assert f == {"zone": FILE_ZONE, "listed": True, "codes": ["127.0.0.2"],
                 "txt": "Listed in the file zone, see 198.51.100.20", "live": False}


def test_lookup_unlisted_address(web):
    ip = "45.83.22.8"
    page = assert_html(web.get("/lookup", params={"ip": ip}), 200)
    assert {s["data-zone"]: s["data-listed"] for s in page.sections} == {ZONE: "no",
                                                                         FILE_ZONE: "no"}
    assert not [h for h in page.links if h.startswith("/remove")]
    d = web.get("/api/v1/lookup", params={"ip": ip}).json()
    z = [z for z in d["zones"] if z["zone"] == ZONE][0]
    assert z["listed"] is False and z["codes"] == [] and z["live"] is True
    assert z["listed_at"] is None and z["expires"] is None
    assert z["traps"] == 0 and z["reports"] == 0 and z["removable"] is False


def test_lookup_rfc5782_test_entry(web):
    d = web.get("/api/v1/lookup", params={"ip": "127.0.0.2"}).json()
    assert {z["zone"]: z["listed"] for z in d["zones"]} == {ZONE: True, FILE_ZONE: True}
    d = web.get("/api/v1/lookup", params={"ip": "127.0.0.1"}).json()
    assert {z["zone"]: z["listed"] for z in d["zones"]} == {ZONE: False, FILE_ZONE: False}


def test_lookup_ipv6(web):
    web.cli("list", "add", ZONE, "2a01:4f8:1c17:abcd::1", "--reason", "v6 test")
    # An address stands for its /64: another address in it is listed.
    wait_for(web.port, rev("2a01:4f8:1c17:abcd::99"), "127.0.0.2")
    page = assert_html(web.get("/lookup", params={"ip": "2a01:4f8:1c17:abcd::99"}), 200)
    # The file zone is IPv4 only: it does not answer IPv6 names.
    assert [s["data-zone"] for s in page.sections] == [ZONE]
    assert page.zone(ZONE)["data-listed"] == "yes"
    d = web.get("/api/v1/lookup", params={"ip": "2A01:4F8:1C17:ABCD:0:0:0:99"}).json()
    assert d["subject"] == "2a01:4f8:1c17:abcd::99"
    (z,) = d["zones"]
    assert z["zone"] == ZONE and z["listed"] is True and z["codes"] == ["127.0.0.2"]
    assert z["manual"] is True and z["reason"] == "v6 test" and z["expires"] is None
    assert z["removable"] is False  # listed by the operators
    d = web.get("/api/v1/lookup", params={"ip": "2a01:4f8:1c17:abce::1"}).json()
    assert [z["listed"] for z in d["zones"]] == [False]


def test_lookup_domain_without_a_domain_zone(web):
    page = assert_html(web.get("/lookup", params={"ip": "example.com"}), 200)
    assert page.sections == []
    assert re.search(r"\bno zone", page.text, re.I), page.text
    r = web.get("/api/v1/lookup", params={"ip": "example.com"})
    assert r.status_code == 200
    assert r.json() == {"subject": "example.com", "zones": []}


def test_lookup_bad_or_missing_subject_is_400(web):
    for params in ({}, {"ip": ""}, {"ip": "not an address"}, {"ip": "1.2.3.4/24"},
                   {"ip": "a" * 300}, {"ip": "ex..ample.com"}, {"other": "1.2.3.4"}):
        assert_html(web.get("/lookup", params=params), 400)
        assert_json_error(web.get("/api/v1/lookup", params=params), 400, "bad_request")


def test_hostile_input_is_escaped(web):
    hostile = "<script>alert(\"x\")</script>"
    r = web.get("/lookup", params={"ip": hostile})
    assert r.status_code == 400
    assert "<script" not in r.text.lower()
    r = web.get("/remove", params={"ip": hostile, "zone": "<script>z</script>"})
    assert r.status_code in (400, 404), r.status_code
    assert "<script" not in r.text.lower()
    assert "<script" not in web.get("/" + hostile).text.lower()
    # A reason from the operators (text from outside) is escaped too.
    ip = "5.188.29.5"
    web.cli("list", "add", ZONE, ip, "--reason", "bad <script>alert('x')</script> & co")
    wait_for(web.port, rev(ip), "127.0.0.2")
    r = web.get("/lookup", params={"ip": ip})
    page = assert_html(r, 200)
    assert "<script" not in r.text.lower()
    assert "&lt;script&gt;" in r.text
    assert "bad <script>alert('x')</script> & co" in page.zone(ZONE)["text"]
    d = web.get("/api/v1/lookup", params={"ip": ip}).json()
    assert [z["reason"] for z in d["zones"] if z["zone"] == ZONE] == [
        "bad <script>alert('x')</script> & co"]


# --- removal -----------------------------------------------------------


def confirm_form(web, ip, zone=ZONE):
    r = web.get("/remove", params={"ip": ip, "zone": zone})
    page = assert_html(r, 200)
    forms = [f for f in page.forms if f["attrs"].get("action") == "/remove"]
    assert len(forms) == 1, page.forms
    form = forms[0]
    assert form["attrs"].get("method", "").lower() == "post"
    hidden = page.hidden(form)
    assert hidden["ip"] == ip and hidden["zone"] == zone
    assert re.fullmatch(r"[0-9a-f]{32,}", hidden["csrf"]), hidden
    assert [b for b in form["buttons"] if b.get("name") == "confirm" and b.get("value") == "yes"]
    return hidden


def post_remove(web, fields, origin=None):
    headers = {"Origin": origin} if origin else {}
    return web.post("/remove", data=dict(fields, confirm="yes"), headers=headers)


def test_removal_flow_and_rate_limit(web):
    ip = "45.83.23.9"
    web.trap(ip, 2)
    page = Page(web.get("/lookup", params={"ip": ip}).text)
    assert [h for h in page.links if h.startswith("/remove?")]
    fields = confirm_form(web, ip)
    r = post_remove(web, fields, origin=web.origin)
    page = assert_html(r, 200)
    assert page.result == "removed", page.text
    took = wait_for(web.port, rev(ip), None)
    assert took < 1.0
    d = web.get("/api/v1/lookup", params={"ip": ip}).json()
    z = [z for z in d["zones"] if z["zone"] == ZONE][0]
    assert z["listed"] is False

    # A new trap hit lists it again; a second removal is refused for now
    # (without an Origin header, as a non-browser client posts).
    web.trap(ip, 3)
    fields = confirm_form(web, ip)
    r = post_remove(web, fields)
    page = assert_html(r, 200)
    assert page.result == "refused", page.text
    assert "removed already" in page.text and "next removal" in page.text, page.text
    time.sleep(0.3)
    assert answer(web.port, rev(ip)) == "127.0.0.2"
    d = web.get("/api/v1/lookup", params={"ip": ip}).json()
    z = [z for z in d["zones"] if z["zone"] == ZONE][0]
    assert z["listed"] is True and z["removable"] is False
    assert z["history"]["ended_last_30_days"] == 1


def test_removal_refused_when_not_listed_or_manual(web):
    fields = confirm_form(web, "45.83.31.1")
    page = assert_html(post_remove(web, fields), 200)
    assert page.result == "refused"
    assert "not listed" in page.text, page.text

    ip = "5.188.26.1"
    web.cli("list", "add", ZONE, ip, "--reason", "by hand")
    wait_for(web.port, rev(ip), "127.0.0.2")
    page = Page(web.get("/lookup", params={"ip": ip}).text)
    assert not [h for h in page.links if h.startswith("/remove")]
    fields = confirm_form(web, ip)
    page = assert_html(post_remove(web, fields), 200)
    assert page.result == "refused"
    assert "operators" in page.text, page.text
    assert answer(web.port, rev(ip)) == "127.0.0.2"


def test_removal_csrf_and_origin_checks(web):
    ip = "45.83.24.10"
    web.trap(ip, 4)
    fields = confirm_form(web, ip)
    other = confirm_form(web, "45.83.32.1")  # a valid token for another subject
    bad = [
        {"ip": ip, "zone": ZONE},
        dict(fields, csrf=""),
        dict(fields, csrf="0" * len(fields["csrf"])),
        dict(fields, csrf=fields["csrf"][:-1]),
        dict(fields, csrf=other["csrf"]),
    ]
    for f in bad:
        assert_html(post_remove(web, f), 403)
    for origin in ("http://evil.example", "https://evil.example:443",
                   "http://127.0.0.1:1", web.origin + ".evil.example"):
        assert_html(post_remove(web, fields, origin=origin), 403)
    time.sleep(0.3)
    assert answer(web.port, rev(ip)) == "127.0.0.2"
    # The same form with "Origin: null" goes through: it names no other
    # site, and it is what a browser sends for a form posted from a page
    # with Referrer-Policy: no-referrer (as ours are), so the CSRF token
    # is what protects it.
    page = assert_html(post_remove(web, fields, origin="null"), 200)
    assert page.result == "removed"
    wait_for(web.port, rev(ip), None, timeout=1.0)


# --- the JSON API ------------------------------------------------------


def test_api_zones(web):
    r = web.get("/api/v1/zones")
    assert r.status_code == 200
    assert_security_headers(r)
    zones = {z["zone"]: z for z in r.json()["zones"]}
    assert set(zones) == {ZONE, FILE_ZONE}
    f = zones[FILE_ZONE]
    assert f["loaded"] is True and f["live"] is False and f["entries"] == 3
    assert isinstance(f["serial"], int) and f["serial"] > 0
    z = zones[ZONE]
    assert z["loaded"] is True and z["live"] is True
    assert isinstance(z["entries"], int) and isinstance(z["serial"], int)


def test_api_listings_paging(web):
    for i in range(1, 6):
        web.cli("list", "add", ZONE, "5.188.30.%d" % (i * 10), "--reason", "paging %d" % i)
    r = run_dnsblkit(["list", "ls", ZONE, "--config", web.cfg, "--json"])
    want = {e["key"] for e in json.loads(r.stdout)}
    assert len(want) >= 5
    r = web.get("/api/v1/zones/%s/listings" % ZONE)
    assert r.status_code == 200
    d = r.json()
    assert d["zone"] == ZONE and d["offset"] == 0 and d["limit"] == 100
    assert d["total"] == len(want)
    assert {e["key"] for e in d["listings"]} == want
    e = [e for e in d["listings"] if e["key"] == "5.188.30.10"][0]
    assert e["code"] == "127.0.0.2" and e["manual"] is True and e["reason"] == "paging 1"
    assert e["expires"] is None and abs(e["listed_at"] - time.time()) < 120

    seen = []
    offset = 0
    while True:
        d = web.get("/api/v1/zones/%s/listings" % ZONE,
                    params={"offset": offset, "limit": 2}).json()
        assert d["offset"] == offset and d["limit"] == 2 and d["total"] == len(want)
        assert len(d["listings"]) <= 2
        if not d["listings"]:
            break
        seen += [e["key"] for e in d["listings"]]
        offset += 2
    assert len(seen) == len(want) and set(seen) == want
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"offset": -1},
                   {"offset": 100001}):
        assert_json_error(web.get("/api/v1/zones/%s/listings" % ZONE, params=params), 400,
                          "bad_request")
    d = web.get("/api/v1/zones/%s/listings" % ZONE, params={"limit": 1000}).json()
    assert d["limit"] == 1000
    d = web.get("/api/v1/zones/%s/listings" % ZONE, params={"offset": 100000}).json()
    assert d["offset"] == 100000 and d["listings"] == [] and d["next"] is None
    assert_json_error(web.get("/api/v1/zones/nosuch.test/listings"), 404, "not_found")
    assert_json_error(web.get("/api/v1/zones/%s/listings" % FILE_ZONE), 404, "not_found")


def listings(web, **params):
    r = web.get("/api/v1/zones/%s/listings" % ZONE, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_api_listings_after_cursor(web):
    # Both families and several prefix lengths, so that the cursor has to
    # order IPv4 before IPv6 and wider blocks before narrower ones.
    for key in ("5.188.31.0/24", "5.188.32.7", "100.24.0.0/16", "2a01:4f8:1:2::/64",
                "2a01:4f8::/48", "91.200.31.9"):
        web.cli("list", "add", ZONE, key, "--reason", "cursor")
    full = listings(web, limit=1000)
    keys = [e["key"] for e in full["listings"]]
    r = run_dnsblkit(["list", "ls", ZONE, "--config", web.cfg, "--json"])
    assert set(keys) == {e["key"] for e in json.loads(r.stdout)}
    assert full["total"] == len(keys) and full["next"] is None and full["after"] is None
    assert abs(full["counted_at"] - time.time()) < 5

    def order(k):
        n = ipaddress.ip_network(k if "/" in k else k + "/32")
        return (n.version, n.prefixlen, int(n.network_address))
    assert keys == sorted(keys, key=order)
    assert keys.index("100.24.0.0/16") < keys.index("5.188.31.0/24") < keys.index("5.188.32.7")
    assert keys.index("2a01:4f8::/48") < keys.index("2a01:4f8:1:2::/64")

    # Page by page with next as the following after: the full walk, each
    # page full but the last, and next null on the last.
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if after is not None:
            params["after"] = after
        d = listings(web, **params)
        assert d["after"] == after and d["total"] == len(keys) and d["offset"] == 0
        page = [e["key"] for e in d["listings"]]
        seen += page
        pages += 1
        if d["next"] is None:
            break
        assert len(page) == 2 and d["next"] == page[-1]
        after = d["next"]
    assert seen == keys
    assert pages == (len(keys) + 1) // 2
    # A last page that is exactly full says so: no next.
    d = listings(web, limit=len(keys))
    assert len(d["listings"]) == len(keys) and d["next"] is None
    d = listings(web, limit=len(keys) - 1)
    assert d["next"] == keys[-2]

    # A key that is no listing is a position too; keys in other forms are
    # read as keys (an IPv6 address is its /64).
    i6 = keys.index("2a01:4f8::/48")
    assert [e["key"] for e in listings(web, after="255.255.255.255", limit=1000)["listings"]
            ] == keys[i6:]
    assert [e["key"] for e in listings(web, after="2a01:4f8:1:2::99", limit=1000)["listings"]
            ] == keys[keys.index("2a01:4f8:1:2::/64") + 1:]
    assert listings(web, after="2a01:4f8:1:2:ab::1")["after"] == "2a01:4f8:1:2::/64"
    assert listings(web, after="ffff:ffff:ffff:ffff::/64")["listings"] == []

    # after and offset: the offset counts from the cursor.
    d = listings(web, after=keys[0], offset=1, limit=2)
    assert [e["key"] for e in d["listings"]] == keys[2:4] and d["offset"] == 1
    assert d["next"] == (keys[3] if len(keys) > 4 else None)
    assert listings(web, after=keys[1], offset=len(keys))["listings"] == []

    for bad in ("not-a-key", "1.2.3.4/33", "5.188.31.7/24", "2001:db8::/65", "", "1.2.3.4 ",
                "5.188.31.0%2F24"):
        assert_json_error(web.get("/api/v1/zones/%s/listings" % ZONE, params={"after": bad}),
                          400, "bad_request")


def test_api_listings_total_is_exact_after_writes(web):
    path = "/api/v1/zones/%s/listings" % ZONE
    before = listings(web)
    assert abs(before["counted_at"] - time.time()) < 5
    r = web.post(path, headers=web.auth(), json={"key": "5.188.33.3"})
    assert r.status_code == 201, r.text
    d = listings(web, limit=1000)
    assert d["total"] == before["total"] + 1 == len(d["listings"])
    assert "5.188.33.3" in [e["key"] for e in d["listings"]]
    assert d["counted_at"] >= before["counted_at"] and abs(d["counted_at"] - time.time()) < 5
    # A listing that ends by time leaves the total without any write.
    r = web.post(path, headers=web.auth(), json={"key": "5.188.33.4", "for": "2s"})
    assert r.status_code == 201, r.text
    assert listings(web)["total"] == before["total"] + 2
    deadline = time.time() + 5
    while listings(web)["total"] != before["total"] + 1:
        assert time.time() < deadline, "the expired listing is still counted"
        time.sleep(0.2)
    r = web.delete(path + "/5.188.33.3", headers=web.auth())
    assert r.status_code == 200, r.text
    d = listings(web, limit=1000)
    assert d["total"] == before["total"] == len(d["listings"])
    # The CLI writes through its own connection: counted too.
    web.cli("list", "add", ZONE, "5.188.33.5")
    assert listings(web)["total"] == before["total"] + 1
    web.cli("list", "del", ZONE, "5.188.33.5")
    assert listings(web)["total"] == before["total"]


def test_api_writes_need_the_token(web):
    body = {"key": "5.188.12.1"}
    path = "/api/v1/zones/%s/listings" % ZONE
    for headers in ({}, web.auth("wrong-token"), web.auth(TOKEN + "x"), web.auth(TOKEN[:-1]),
                    {"Authorization": "Basic " + TOKEN}, {"Authorization": TOKEN},
                    {"Authorization": "Bearer"}):
        r = web.post(path, json=body, headers=headers)
        assert_json_error(r, 401, "unauthorized")
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    for p in ("/api/v1/zones/%s/listings/5.188.12.1" % ZONE,
              "/api/v1/zones/%s/allow/5.188.12.1" % ZONE):
        assert_json_error(web.delete(p), 401, "unauthorized")
    assert_json_error(web.post("/api/v1/zones/%s/allow" % ZONE, json=body), 401, "unauthorized")
    assert_json_error(web.post("/api/v1/zones/%s/reports?trap=1" % ZONE,
                               data=message("5.188.12.1", 5)), 401, "unauthorized")
    time.sleep(0.3)
    assert answer(web.port, rev("5.188.12.1")) is None


def test_api_add_and_delete_listing(web):
    path = "/api/v1/zones/%s/listings" % ZONE
    r = web.post(path, headers=web.auth(), json={"key": "5.188.11.0/24", "code": "127.0.0.4",
                                                  "reason": "api test", "for": "2h"})
    assert r.status_code == 201, r.text
    assert_security_headers(r)
    d = r.json()
    assert d["key"] == "5.188.11.0/24" and d["code"] == "127.0.0.4"
    assert abs(d["expires"] - (time.time() + 7200)) < 60
    took = wait_for(web.port, rev("5.188.11.77"), "127.0.0.4")
    assert took < 1.0
    r = run_dnsblkit(["list", "ls", ZONE, "--config", web.cfg, "--json"])
    e = [e for e in json.loads(r.stdout) if e["key"] == "5.188.11.0/24"]
    assert len(e) == 1 and e[0]["manual"]

    # Defaults: the zone's code, no end.
    r = web.post(path, headers=web.auth(), json={"key": "5.188.13.3"})
    assert r.status_code == 201, r.text
    assert r.json() == {"key": "5.188.13.3", "code": "127.0.0.2", "expires": None}
    wait_for(web.port, rev("5.188.13.3"), "127.0.0.2", timeout=1.0)

    r = web.delete(path + "/" + urllib.parse.quote("5.188.11.0/24", safe=""),
                   headers=web.auth())
    assert r.status_code == 200, r.text
    assert r.json() == {"key": "5.188.11.0/24", "deleted": True}
    took = wait_for(web.port, rev("5.188.11.77"), None)
    assert took < 1.0
    r = web.delete(path + "/5.188.11.0%2F24", headers=web.auth())
    assert_json_error(r, 404, "not_found")
    assert_json_error(web.delete(path + "/5.188.14.1", headers=web.auth()), 404, "not_found")
    assert_json_error(web.post("/api/v1/zones/nosuch.test/listings", headers=web.auth(),
                               json={"key": "5.188.15.1"}), 404, "not_found")


def test_api_add_refusals(web):
    path = "/api/v1/zones/%s/listings" % ZONE
    for body in ({"key": "0.0.0.0/1"}, {"key": "10.0.0.0/8"}, {"key": "127.0.0.5"},
                 {"key": "not-an-address"}, {"code": "127.0.0.2"}, {"key": 5},
                 {"key": "5.188.16.1", "for": "soon"}, {"key": "5.188.16.1", "code": "x"}):
        assert_json_error(web.post(path, headers=web.auth(), json=body), 400, "bad_request")
    headers = dict(web.auth(), **{"Content-Type": "application/json"})
    for raw in (b"{not json", b"", b"[1, 2]", b"\xff\xfe"):
        assert_json_error(web.post(path, data=raw, headers=headers), 400, "bad_request")
    time.sleep(0.3)
    assert answer(web.port, rev("5.188.16.1")) is None


def test_api_allowlist(web):
    apath = "/api/v1/zones/%s/allow" % ZONE
    r = web.post(apath, headers=web.auth(), json={"key": "104.17.0.0/16", "note": "a CDN"})
    assert r.status_code == 201, r.text
    r = run_dnsblkit(["allow", "ls", ZONE, "--config", web.cfg, "--json"])
    assert "104.17.0.0/16" in [e["block"] for e in json.loads(r.stdout)]
    r = web.post("/api/v1/zones/%s/listings" % ZONE, headers=web.auth(),
                 json={"key": "104.17.2.2"})
    assert_json_error(r, 409, "conflict")
    d = web.get("/api/v1/lookup", params={"ip": "104.17.2.2"}).json()
    z = [z for z in d["zones"] if z["zone"] == ZONE][0]
    assert z["allowlisted"] is True and z["allow_block"] == "104.17.0.0/16"

    r = web.delete(apath + "/104.17.0.0%2F16", headers=web.auth())
    assert r.status_code == 200, r.text
    r = run_dnsblkit(["allow", "ls", ZONE, "--config", web.cfg, "--json"])
    assert "104.17.0.0/16" not in [e["block"] for e in json.loads(r.stdout)]
    assert_json_error(web.delete(apath + "/104.17.0.0%2F16", headers=web.auth()), 404,
                      "not_found")
    r = web.post("/api/v1/zones/%s/listings" % ZONE, headers=web.auth(),
                 json={"key": "104.17.2.2"})
    assert r.status_code == 201, r.text
    wait_for(web.port, rev("104.17.2.2"), "127.0.0.2", timeout=1.0)


def test_api_reports(web):
    path = "/api/v1/zones/%s/reports" % ZONE
    ip = "91.200.27.44"
    spam = message(ip, 6).encode()
    r = web.post(path + "?trap=1", headers=dict(web.auth(), **{"Content-Type": "message/rfc822"}),
                 data=spam)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["verdict"] == "listed" and d["source"] == ip, d
    assert d["listed"] is True and d["code"] == "127.0.0.2" and d["traps"] == 1
    assert d["escalated"] is False and abs(d["expires"] - (time.time() + 24 * 3600)) < 60
    took = wait_for(web.port, rev(ip), "127.0.0.2")
    assert took < 1.0
    # The same message again is a duplicate.
    r = web.post(path + "?trap=1", headers=web.auth(), data=spam)
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "duplicate"

    # One user report counts but does not list.
    ip2 = "91.200.28.44"
    r = web.post(path, params={"user": "alice@example.net"}, headers=web.auth(),
                 data=message(ip2, 7).encode())
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["verdict"] == "counted" and d["source"] == ip2 and d["reports"] == 1
    assert d["listed"] is False and d["code"] is None and d["expires"] is None
    time.sleep(0.3)
    assert answer(web.port, rev(ip2)) is None

    r = web.post(path + "?trap=1", headers=web.auth(), data=b"this is not a mail message")
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "refused"
    assert_json_error(web.post(path, headers=web.auth(), data=message(ip2, 8).encode()), 400,
                      "bad_request")
    assert_json_error(web.post("/api/v1/zones/nosuch.test/reports?trap=1", headers=web.auth(),
                               data=message("91.200.29.1", 9).encode()), 404, "not_found")


def test_api_oversize_body_is_413(web):
    path = "/api/v1/zones/%s/reports?trap=1" % ZONE
    body = message("91.200.30.1", 10).encode()
    body += b"x" * (MAX_BODY + 1 - len(body))
    assert len(body) == MAX_BODY + 1
    assert_json_error(web.post(path, headers=web.auth(), data=body), 413, "too_large")
    big = json.dumps({"key": "5.188.17.1", "reason": "y" * MAX_BODY}).encode()
    assert_json_error(web.post("/api/v1/zones/%s/listings" % ZONE, headers=dict(
        web.auth(), **{"Content-Type": "application/json"}), data=big), 413, "too_large")
    time.sleep(0.3)
    assert answer(web.port, rev("91.200.30.1")) is None
    assert answer(web.port, rev("5.188.17.1")) is None
    # The service still answers afterwards.
    assert web.get("/api/v1/zones").status_code == 200


# --- metrics -----------------------------------------------------------


def scrape(web):
    r = web.get("/metrics")
    assert r.status_code == 200
    ctype = r.headers["Content-Type"].replace(" ", "").lower()
    assert ctype == "text/plain;version=0.0.4;charset=utf-8", ctype
    assert_security_headers(r)
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def sample(families, family, sample_name, **labels):
    for s in families[family].samples:
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError("no %s%s in %s" % (sample_name, labels, families[family].samples))


def test_metrics(web):
    fam = scrape(web)
    for name, kind in (("dnsblkit_dns_queries", "counter"), ("dnsblkit_dns_responses", "counter"),
                       ("dnsblkit_reloads", "counter"), ("dnsblkit_zone_entries", "gauge"),
                       ("dnsblkit_listings_active", "gauge"),
                       ("dnsblkit_http_responses", "counter"),
                       ("dnsblkit_dns_zone_answers", "counter"),
                       ("dnsblkit_start_time_seconds", "gauge")):
        assert name in fam and fam[name].type == kind, (name, fam.get(name))
    assert sample(fam, "dnsblkit_zone_entries", "dnsblkit_zone_entries", zone=FILE_ZONE) == 3
    assert sample(fam, "dnsblkit_zone_loaded", "dnsblkit_zone_loaded", zone=ZONE) == 1
    assert abs(sample(fam, "dnsblkit_start_time_seconds", "dnsblkit_start_time_seconds")
               - time.time()) < 3600
    before = sample(fam, "dnsblkit_dns_queries", "dnsblkit_dns_queries_total", transport="udp")
    nx_before = sample(fam, "dnsblkit_dns_responses", "dnsblkit_dns_responses_total",
                       transport="udp", rcode="nxdomain")
    n404 = sum(s.value for s in fam["dnsblkit_http_responses"].samples
               if s.labels.get("status") == "404")
    zone_nx = sum(s.value for s in fam["dnsblkit_dns_zone_answers"].samples
                  if s.labels == {"zone": FILE_ZONE, "qtype": "a", "result": "nxdomain"})
    for i in range(5):
        assert query(web.port, "%d.0.0.10.%s" % (i + 1, FILE_ZONE)).rcode() == dns.rcode.NXDOMAIN
    assert web.get("/no-such-page").status_code == 404
    fam = scrape(web)
    after = sample(fam, "dnsblkit_dns_queries", "dnsblkit_dns_queries_total", transport="udp")
    assert after >= before + 5
    assert sample(fam, "dnsblkit_dns_responses", "dnsblkit_dns_responses_total",
                  transport="udp", rcode="nxdomain") >= nx_before + 5
    assert sample(fam, "dnsblkit_dns_zone_answers", "dnsblkit_dns_zone_answers_total",
                  zone=FILE_ZONE, qtype="a", result="nxdomain") >= zone_nx + 5
    assert sample(fam, "dnsblkit_http_responses", "dnsblkit_http_responses_total",
                  status="404") >= n404 + 1
    assert sample(fam, "dnsblkit_http_responses", "dnsblkit_http_responses_total",
                  status="200") >= 1


def test_metrics_count_decisions_and_listings(dnsblkit, tmp_path):
    """The database's counters, on a fresh server (a live zone's counts
    are kept for a minute, so not on the shared one)."""
    web = start_web(dnsblkit, str(tmp_path))
    web.trap("45.83.35.5", 21)
    path = write(os.path.join(web.tmp, "private.eml"), message("192.168.7.7", 22))
    r = run_dnsblkit(["report", "--config", web.cfg, "--zone", ZONE, "--trap", path])
    assert r.returncode == 1 and "refused" in r.stdout
    r = web.cli("list", "del", ZONE, "45.83.35.5")
    assert r.returncode == 0
    fam = scrape(web)
    assert sample(fam, "dnsblkit_reports", "dnsblkit_reports_total", zone=ZONE,
                  verdict="listed") == 1
    assert sample(fam, "dnsblkit_reports", "dnsblkit_reports_total", zone=ZONE,
                  verdict="refused") == 1
    assert sample(fam, "dnsblkit_reports_refused", "dnsblkit_reports_refused_total", zone=ZONE,
                  reason="not_public") == 1
    assert sample(fam, "dnsblkit_listings_started", "dnsblkit_listings_started_total",
                  zone=ZONE) == 1
    assert sample(fam, "dnsblkit_listings_ended", "dnsblkit_listings_ended_total", zone=ZONE,
                  how="deleted") == 1


def test_api_text_that_is_not_utf8(web):
    """A reason that is not UTF-8 (bytes from a config or a CLI) is sent
    with U+FFFD in place of the bad bytes: the listing is neither dropped
    from its page nor its member from the lookup."""
    ip = "5.188.44.1"
    web.cli("list", "add", ZONE, ip, "--reason", "caf\udce9 \udcff\udcfe end")
    r = web.get("/api/v1/lookup", params={"ip": ip})
    assert r.status_code == 200
    (z,) = [z for z in r.json()["zones"] if z["zone"] == ZONE]
    assert z["reason"] == "caf\ufffd \ufffd\ufffd end"
    r = web.get("/api/v1/zones/%s/listings" % ZONE, params={"limit": 1000})
    body = r.json()
    assert r.status_code == 200 and body["total"] == len(body["listings"])
    assert [l["reason"] for l in body["listings"] if l["key"] == ip] == ["caf\ufffd \ufffd\ufffd end"]
    web.cli("list", "del", ZONE, ip)


# --- other configurations ------------------------------------------------


def test_no_token_refuses_writes_and_removal_off(dnsblkit, tmp_path):
    web = start_web(dnsblkit, str(tmp_path), http_extra="removal = no\n")
    ip = "45.83.33.3"
    web.trap(ip, 11)
    path = "/api/v1/zones/%s/listings" % ZONE
    for headers in ({}, web.auth(), web.auth("")):
        assert_json_error(web.post(path, headers=headers, json={"key": "5.188.18.1"}), 403,
                          "forbidden")
    assert_json_error(web.delete(path + "/" + ip, headers=web.auth()), 403, "forbidden")
    assert_json_error(web.post("/api/v1/zones/%s/allow" % ZONE, headers=web.auth(),
                               json={"key": ip}), 403, "forbidden")
    assert_json_error(web.post("/api/v1/zones/%s/reports?trap=1" % ZONE, headers=web.auth(),
                               data=message("45.83.34.4", 12).encode()), 403, "forbidden")
    # Reading still works; the page offers no removal.
    page = assert_html(web.get("/lookup", params={"ip": ip}), 200)
    assert page.zone(ZONE)["data-listed"] == "yes"
    assert not [h for h in page.links if h.startswith("/remove")]
    assert_html(web.post("/remove", data={"ip": ip, "zone": ZONE, "csrf": "0" * 64,
                                          "confirm": "yes"}), 403)
    time.sleep(0.3)
    assert answer(web.port, rev(ip)) == "127.0.0.2"
    assert answer(web.port, rev("5.188.18.1")) is None


@pytest.mark.parametrize("line, want", [
    ("colour = blue", "unknown key 'colour'"),
    ("listen = nowhere:port", "bad listen"),
    ("max-body = -1", "bad max-body"),
    ("removal = maybe", "bad removal"),
])
def test_bad_http_config_fails_with_file_and_line(tmp_path, line, want):
    tmp = str(tmp_path)
    http_port = free_port()
    cfg = config(tmp, http_port, http_extra="token = %s\n%s\n" % (TOKEN, line))
    with open(cfg) as f:
        lineno = f.read().splitlines().index(line) + 1
    try:
        r = run_dnsblkit(["serve", "-b", "127.0.0.1/%d" % free_port(), "--config", cfg],
                         timeout=15)
    except Exception as e:  # it started and kept running
        pytest.fail("serve started with a bad [http] line %r: %s" % (line, e))
    assert r.returncode != 0
    assert "%s:%d:" % (cfg, lineno) in r.stderr, r.stderr
    assert want in r.stderr, r.stderr
