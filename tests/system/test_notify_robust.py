# NOTIFY (RFC 1996) when things go wrong, seen on plain UDP sockets: a
# reply that fails TSIG does not end the tries; a secondary silent while
# the zone keeps changing is warned about once, after 31 s, and said to
# answer again when it does; a zone changing several times a second
# costs about a NOTIFY a second, of the newest serial; a NOTIFY that
# cannot be sent says why at its first try; notify-source sets the
# address they leave from. About 50 s, most of it the 31 s of silence.
import os
import re
import select
import signal
import threading
import time

import dns.flags
import dns.message
import dns.opcode
import dns.tsigkeyring

from conftest import free_port, run_dnsblkit, write
from test_axfr import soa_serial
from test_ixfr import (
    KEY_NAME,
    KEY_SECRET,
    KEYRING,
    SOA_LINE,
    WRONG_SECRET,
    check_notify,
    dbk,
    listen,
    live_soa,
    quiesce,
    udp_listener,
)


def file_zone_conf(d, port, zone, path, notify, server_extra="", zone_extra=""):
    return write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
%s[zone %s]
data = ip4set:%s
notify = %s
%s""" % (port, server_extra, zone, path, notify, zone_extra))


def bare_reply(m):
    """An answer to NOTIFY m with its id, unsigned."""
    r = dns.message.Message(id=m.id)
    r.set_opcode(dns.opcode.NOTIFY)
    r.flags |= dns.flags.QR | dns.flags.AA
    r.question = list(m.question)
    return r


def test_reply_failing_tsig_does_not_end_the_tries(dnsblkit, tmp_path):
    """Replies with the right id from the right address, one unsigned and
    one signed with a wrong secret, are discarded (logged once); the
    NOTIFY is tried again, and the signed answer to the retry ends it."""
    d = str(tmp_path)
    c = udp_listener()
    path = write(os.path.join(d, "s.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    port = free_port()
    cfg = file_zone_conf(d, port, "s.example", path, "127.0.0.1@%d" % c.getsockname()[1],
                         "tsig-key = %s:%s\n" % (KEY_NAME, KEY_SECRET),
                         "transfer-key = %s\n" % KEY_NAME)
    wrong = dns.tsigkeyring.from_text({KEY_NAME: WRONG_SECRET})
    try:
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="s.example")
        quiesce([c], [KEYRING], quiet=1.0)
        write(path, SOA_LINE % 2 + "10.0.0.1\n10.0.0.2\n")
        srv.send(signal.SIGHUP)
        t0 = time.monotonic()
        log = []
        # Until 2.5 s after the second: a third try would come 2 s after it.
        while time.monotonic() < (log[1][0] + 2.5 if len(log) > 1 else t0 + 4):
            if not select.select([c], [], [], 0.1)[0]:
                continue
            wire, peer = c.recvfrom(65535)
            m = dns.message.from_wire(wire, keyring=KEYRING)
            log.append((time.monotonic(), m))
            if len(log) == 1:
                # The first gets two replies that do not verify.
                unsigned = bare_reply(m)
                signed_wrong = bare_reply(m)
                signed_wrong.use_tsig(wrong, keyname=KEY_NAME)
                signed_wrong.request_mac = m.mac
                c.sendto(unsigned.to_wire(), peer)
                c.sendto(signed_wrong.to_wire(), peer)
            else:
                r = dns.message.make_response(m)
                r.flags |= dns.flags.AA
                c.sendto(r.to_wire(), peer)
    finally:
        c.close()
    times = [round(t - t0, 2) for t, _ in log]
    print("NOTIFYs at %s (the first answered with two bad replies)" % times)
    for _, m in log:
        check_notify(m, "s.example", 2)
        assert m.had_tsig
    # Before: the first bad reply ended the NOTIFY, one try in all.
    assert len(log) == 2, "want the first and one retry, got %s" % times
    assert 0.6 <= log[1][0] - log[0][0] <= 1.9, times
    text = srv.stderr()
    bad = re.findall(r"warning: NOTIFY of s\.example serial 2 to 127\.0\.0\.1/\d+: an answer "
                     r"\(NOERROR\) fails TSIG[^\n]*", text)
    assert len(bad) == 1, "want one warning for the two bad replies:\n" + text[-3000:]
    assert re.search(r"NOTIFY of s\.example serial 2 to 127\.0\.0\.1/\d+ answered after 2 tries",
                     text), text[-3000:]


def test_silent_secondary_warned_once_while_the_zone_changes(dnsblkit, tmp_path):
    """A new serial every 2.5 s to a secondary that answers nothing: one
    warning 31 s after its first unanswered NOTIFY (before, each new
    serial started the tries again and no warning ever came), counted as
    given up; when it answers again that is said too."""
    d = str(tmp_path)
    a = udp_listener()
    path = write(os.path.join(d, "n.txt"), SOA_LINE % 1 + "10.0.0.1\n")
    port = free_port()
    cfg = file_zone_conf(d, port, "n.example", path, "127.0.0.1@%d" % a.getsockname()[1])
    warn = re.compile(r"warning: NOTIFY of n\.example serial (\d+) to 127\.0\.0\.1/\d+: no answer "
                      r"to (\d+) tries in (\d+) s")
    serial = 1
    try:
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="n.example")
        quiesce([a], quiet=1.0)
        log = []
        t_warn = None
        start = time.monotonic()
        while time.monotonic() - start < 40:
            serial += 1
            write(path, SOA_LINE % serial + "10.0.0.1\n10.0.0.%d\n" % serial)
            srv.send(signal.SIGHUP)
            step = time.monotonic() + 2.5
            while time.monotonic() < step and t_warn is None:
                listen([a], min(step, time.monotonic() + 0.2), lambda i, k: False, log)
                if warn.search(srv.stderr()):
                    t_warn = time.monotonic()
            if t_warn is not None:
                break
        assert t_warn is not None, "no warning in 40 s of a silent secondary:\n" + \
            srv.stderr()[-3000:]
        first = log[0][1]
        print("%d NOTIFYs unanswered, serials 2..%d; warned %.1f s after the first"
              % (len(log), serial, t_warn - first))
        assert 30 <= t_warn - first <= 33.5, (t_warn - first, [round(t - first, 1)
                                                                for _, t, _, _ in log])
        # Another change, still silent: no second warning.
        serial += 1
        write(path, SOA_LINE % serial + "10.0.0.1\n10.0.0.%d\n" % serial)
        srv.send(signal.SIGHUP)
        listen([a], time.monotonic() + 1.2, lambda i, k: False, log)
        # It answers again: the next NOTIFY is answered and that is said.
        serial += 1
        write(path, SOA_LINE % serial + "10.0.0.1\n10.0.0.%d\n" % serial)
        srv.send(signal.SIGHUP)
        again = re.compile(r"info: NOTIFY of n\.example serial %d to 127\.0\.0\.1/\d+: it answers "
                           r"again" % serial)
        until = time.monotonic() + 3
        while time.monotonic() < until and not again.search(srv.stderr()):
            listen([a], time.monotonic() + 0.1, lambda i, k: True, log)
        srv.send(signal.SIGUSR1)
        until = time.monotonic() + 2
        while time.monotonic() < until and "given up" not in srv.stderr():
            time.sleep(0.05)
    finally:
        a.close()
    text = srv.stderr()
    warnings = warn.findall(text)
    assert len(warnings) == 1, warnings
    assert int(warnings[0][1]) >= 5, warnings
    assert again.search(text), text[-3000:]
    assert re.search(r"notify: \d+ messages sent, \d+ answered, \d+ refused, 1 given up", text), \
        text[-3000:]
    check_notify(log[-1][2], "n.example", serial)


def test_many_changes_a_second_cost_a_notify_a_second(dnsblkit, tmp_path):
    """Listings added for 1.2 s make about five versions a second: a
    secondary that answers and one that does not each get at most two
    NOTIFYs in any second (before: one per version), the last of the
    newest serial."""
    d = str(tmp_path)
    a, b = udp_listener(), udp_listener()
    port = free_port()
    cfg = write(os.path.join(d, "dnsblkit.conf"), """[server]
listen = 127.0.0.1/%d
allow-transfer = 127.0.0.1
notify = 127.0.0.1@%d 127.0.0.1@%d
[listing]
database = %s/live.db
[zone live.example]
dataset = listing
data = generic:%s
""" % (port, a.getsockname()[1], b.getsockname()[1], d, live_soa(d, "live")))
    dbk(["list", "add", "live.example", "80.77.113.1", "--config", cfg])
    serials = []
    try:
        srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False,
                             zone="live.example")
        quiesce([a, b], quiet=1.0)
        s0 = soa_serial(port, "live.example")

        def burst():
            end = time.monotonic() + 1.2
            k = 2
            while time.monotonic() < end:
                dbk(["list", "add", "live.example", "80.77.113.%d" % k, "--config", cfg])
                k += 1
                s = soa_serial(port, "live.example")
                if s is not None and (not serials or s != serials[-1]):
                    serials.append(s)
                time.sleep(0.05)

        t0 = time.monotonic()
        th = threading.Thread(target=burst)
        th.start()
        log = []
        listen([a, b], t0 + 1.3, lambda i, k: i == 0, log)
        th.join()
        time.sleep(0.4)  # the last change is served within a poll (0.2 s)
        last = soa_serial(port, "live.example")
        # Until b's retries have carried the newest serial too.
        listen([a, b], t0 + 3.2, lambda i, k: i == 0, log)
    finally:
        a.close()
        b.close()
    versions = sorted(set(serials) - {s0})
    for i, name in ((0, "a (answers)"), (1, "b (silent)")):
        got = [(round(t - t0, 2), m.answer[0][0].serial) for j, t, m, _ in log if j == i]
        print("%s: %d versions in the burst; NOTIFYs (time, serial): %s" % (name, len(versions),
                                                                             got))
        assert got, name
        for x, _ in got:
            within = [y for y, _ in got if x <= y < x + 0.95]
            assert len(within) <= 2, (name, got)
        assert got[-1][1] == last, (name, last, got)
    for _, _, m, _ in log:
        check_notify(m, "live.example", m.answer[0][0].serial)
    assert len(versions) >= 4, "the burst made only %d versions: %s" % (len(versions), serials)


def test_send_failure_said_at_the_first_try(dnsblkit, tmp_path):
    """A NOTIFY the kernel will not send (the broadcast address without
    SO_BROADCAST: EACCES, or no route) is logged with the error at its
    first try, once, not only at the give-up 31 s later."""
    d = str(tmp_path)
    path = write(os.path.join(d, "e.txt"), SOA_LINE % 7 + "10.0.0.1\n")
    port = free_port()
    cfg = file_zone_conf(d, port, "e.example", path, "255.255.255.255@53")
    srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False, zone="e.example")
    pat = re.compile(r"warning: NOTIFY of e\.example serial 7 to 255\.255\.255\.255/53: cannot "
                     r"send: (\S[^\n]*)")
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and not pat.search(srv.stderr()):
        time.sleep(0.05)
    time.sleep(1.3)  # the retry 1 s on fails the same way
    found = pat.findall(srv.stderr())
    print("logged: %s" % found)
    assert len(found) == 1, srv.stderr()[-2000:]


def first_notify(sock, timeout=5.0):
    """The first NOTIFY to come to sock, answered: (message, sender)."""
    if not select.select([sock], [], [], timeout)[0]:
        raise AssertionError("no NOTIFY in %.0f s" % timeout)
    wire, peer = sock.recvfrom(65535)
    m = dns.message.from_wire(wire)
    sock.sendto(bare_reply(m).to_wire(), peer)
    return m, peer


def test_notify_leaves_from_notify_source(dnsblkit, tmp_path):
    """notify-source binds the NOTIFY sockets: a secondary whose ACL names
    the primary's service address sees NOTIFYs from it, not from the
    address the route gives. Without it the kernel picks (127.0.0.1 to a
    loopback secondary). An address of the host's that cannot be bound
    stops serve at start, saying which; a port, '*' or two addresses of
    one family are refused with the file's line."""
    d = str(tmp_path)
    path = write(os.path.join(d, "s.txt"), SOA_LINE % 3 + "10.0.0.1\n")
    for source, want in (("", "127.0.0.1"), ("notify-source = 127.0.0.3 ::1\n", "127.0.0.3")):
        c = udp_listener()
        port = free_port()
        cfg = file_zone_conf(d, port, "s.example", path, "127.0.0.1@%d" % c.getsockname()[1],
                             source)
        try:
            srv = dnsblkit.start([], args=["--config", cfg], port=port, bind=False,
                                 zone="s.example")
            m, peer = first_notify(c)  # at start
            check_notify(m, "s.example", 3)
            assert peer[0] == want, (source, peer)
            srv.stop()
        finally:
            c.close()
    # 192.0.2.1 (TEST-NET-1) is no address of this host.
    cfg = file_zone_conf(d, free_port(), "s.example", path, "127.0.0.1@53",
                         "notify-source = 192.0.2.1\n")
    r = run_dnsblkit(["serve", "--config", cfg], timeout=10)
    assert r.returncode != 0, r.stderr
    assert re.search(r"notify-source 192\.0\.2\.1: cannot bind: ", r.stderr), r.stderr
    for value, want in (("127.0.0.3@53", r"bad notify-source '127\.0\.0\.3@53'"),
                        ("*", r"bad notify-source '\*'"),
                        ("0.0.0.0", r"bad notify-source '0\.0\.0\.0'"),
                        ("::ffff:127.0.0.3", r"bad notify-source '::ffff:127\.0\.0\.3'"),
                        ("127.0.0.3, 127.0.0.4", r"notify-source has two IPv4 addresses"),
                        ("", r"empty notify-source")):
        cfg = file_zone_conf(d, free_port(), "s.example", path, "127.0.0.1@53",
                             "notify-source = %s\n" % value)
        r = run_dnsblkit(["serve", "--config", cfg], timeout=10)
        assert r.returncode != 0, (value, r.stderr)
        assert re.search(r"dnsblkit\.conf:4: " + want, r.stderr), (value, r.stderr)
