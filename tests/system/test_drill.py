# The SpamCop incident drill (drill.py) as a test: it runs once for the
# module, in namespaces of its own (root only), and these tests judge its
# JSON. Through policyd: listed clients rejected and unlisted ones
# accepted while the list is healthy; no unlisted client rejected while it
# is broken in any of five ways; the list reported sick within a probe
# interval (a fatal finding) or sick-after rounds (a soft one); listings
# enforced again once it is back. Beside it, what plain reject_rbl_client
# does on the same mail, asserted only where Postfix's behaviour is fixed
# by its code (any A record lists; a lookup error lists nothing).
import json
import os
import re
import subprocess
import sys

import pytest

import drill
from conftest import DNSBLKIT, SANITIZE

HERE = os.path.dirname(os.path.abspath(__file__))
SLOW = 3 if SANITIZE else 1
INTERVAL = 2.0  # the drill's default probe-interval (checked against its JSON)
# policyd's [check] defaults the drill keeps: timeout 1s, tries 2 (a
# round against a silent list lasts 1 s + 2 s), sick-after 2,
# healthy-after 2.
ROUND_MAX = 3.0
SICK_AFTER = 2
HEALTHY_AFTER = 2
SLACK = 1.5 * SLOW

FATAL = {  # variant -> what policyd's SICK line must say
    "parking": r"outside 127/8",
    "wildcard-127.0.0.2": r"answers everything",
    "127.255.255.254": r"an error code",
    "nxdomain": r"the zone is gone",  # NXDOMAIN at the apex too
}
SOFT = {
    "silent": r"timed out|SERVFAIL",
}
# The variants in which a list answers every name with an A record: plain
# reject_rbl_client takes each for a listing.
ANSWERS_EVERYTHING = ("parking", "wildcard-127.0.0.2", "127.255.255.254")
VARIANTS = [name for name, _, _ in drill.VARIANTS]
BROKEN_MOMENTS = ("immediately", "after one probe interval")
ROUNDS = ([("before", "healthy")] + [(v, m) for v in VARIANTS for m in BROKEN_MOMENTS]
          + [("after", "immediately"), ("after", "healthy again")])

@pytest.fixture(scope="module")
def result(tmp_path_factory):
    why = drill.cannot_run()
    if why:
        pytest.skip("the incident drill cannot run here: " + why)
    if not os.access(DNSBLKIT, os.X_OK):
        pytest.fail("dnsblkit binary not found at %s (set DNSBLKIT)" % DNSBLKIT)
    path = str(tmp_path_factory.mktemp("drill") / "drill.json")
    r = subprocess.run([sys.executable, os.path.join(HERE, "drill.py"), "--dnsblkit", DNSBLKIT,
                        "--json", path], capture_output=True, text=True, errors="replace",
                       timeout=200 * SLOW)
    if r.returncode == drill.EXIT_SKIP:
        pytest.skip("the incident drill cannot run here: " + r.stderr.strip())
    assert os.path.exists(path), "drill.py wrote no JSON (status %d):\n%s\n%s" % (
        r.returncode, r.stdout, r.stderr)
    with open(path) as f:
        res = json.load(f)
    res["status"] = r.returncode
    res["output"] = r.stdout + r.stderr
    if r.returncode != 0 or not res["completed"]:
        pytest.fail("the drill did not run to the end (status %d):\n%s" % (
            r.returncode, res["output"]), pytrace=False)
    return res


def find_round(result, phase, moment):
    for r in result["rounds"]:
        if r["phase"] == phase and r["moment"] == moment:
            return r
    pytest.fail("no round %s/%s in the drill's results:\n%s" % (phase, moment, result["output"]))


def messages(r, service, listed):
    got = [m for m in r["messages"] if m["service"] == service and m["listed"] == listed]
    assert got, "no %s messages via %s in %s/%s" % ("listed" if listed else "unlisted", service,
                                                    r["phase"], r["moment"])
    return got


def outcomes(ms):
    return ["%s %s: %s" % (m["client"], m["outcome"], m["reply"]) for m in ms]


def variant(result, name):
    for v in result["variants"]:
        if v["variant"] == name:
            return v
    pytest.fail("variant %s missing from the drill's results" % name)


def test_drill_ran_to_the_end_in_time(result):
    assert result["config"]["probe_interval_s"] == INTERVAL
    assert result["problems"] == [], result["problems"]
    assert result["seconds"] < 120 * SLOW, "the drill took %.0f s" % result["seconds"]


def test_table_is_complete(result):
    """Every round of messages, each message with an SMTP outcome (no
    connection failure or unparsable swaks run), every variant timed."""
    assert [(r["phase"], r["moment"]) for r in result["rounds"]] == ROUNDS
    for r in result["rounds"]:
        for service in drill.SERVICES:
            for listed in (True, False):
                ms = messages(r, service, listed)
                assert len(ms) == 2, (r["phase"], r["moment"], service, listed)
                for m in ms:
                    assert m["outcome"] in drill.OUTCOMES, m
                    assert m["code"] and m["code"][0] in "245", m
    assert [v["variant"] for v in result["variants"]] == VARIANTS
    for v in result["variants"]:
        assert v["sick_after_s"] is not None and v["healthy_after_s"] is not None, v
    # The table printed is the one these rounds make.
    assert drill.table(result) in result["output"]


@pytest.mark.parametrize("phase,moment", [("before", "healthy"), ("after", "healthy again")])
@pytest.mark.parametrize("service", drill.SERVICES)
def test_healthy_list_enforced(result, phase, moment, service):
    r = find_round(result, phase, moment)
    for m in messages(r, service, True):
        assert m["outcome"] == "rejected" and m["code"] == "554", outcomes([m])
        assert "blocked using %s" % drill.ZONE in m["reply"], m
        assert "bl.shtml?%s" % m["client"] in m["reply"], m  # the list's TXT, $ filled in
    for m in messages(r, service, False):
        assert m["outcome"] == "accepted", outcomes([m])


@pytest.mark.parametrize("phase,moment", ROUNDS)
def test_policyd_accepts_every_unlisted_client(result, phase, moment):
    """No legitimate message refused (nor deferred) through policyd, in any
    round: before, during each breakage, right after the restore."""
    r = find_round(result, phase, moment)
    ms = messages(r, "policyd", False)
    assert all(m["outcome"] == "accepted" for m in ms), outcomes(ms)


@pytest.mark.parametrize("name", VARIANTS)
def test_policyd_rejects_nothing_once_a_probe_interval_passed(result, name):
    """After one probe interval the list is known broken: its answers
    count for nobody, listed clients included (fail-open)."""
    r = find_round(result, name, "after one probe interval")
    for listed in (True, False):
        ms = messages(r, "policyd", listed)
        assert all(m["outcome"] == "accepted" for m in ms), outcomes(ms)


@pytest.mark.parametrize("name", VARIANTS)
def test_policyd_reports_the_list_sick(result, name):
    v = variant(result, name)
    if name in FATAL:
        # A fatal finding: sick at the first round after the switch (or
        # at once, when a check's answer is outside 127/8 or an error code).
        bound = INTERVAL + SLACK
        why = FATAL[name]
    else:
        # A soft failure needs sick-after rounds in a row; a round against
        # a silent list lasts the resolver's timeouts. The first bad round
        # starts within an interval of the switch, and each next one as
        # soon as the last ends (a bad round of a healthy list is
        # followed at once).
        bound = INTERVAL + SICK_AFTER * ROUND_MAX + SLACK
        why = SOFT[name]
    assert v["sick_after_s"] <= bound, "%s: sick after %.1f s (bound %.1f s)" % (
        name, v["sick_after_s"], bound)
    assert "is SICK (was healthy)" in v["sick_line"], v["sick_line"]
    assert re.search(why, v["sick_line"]), v["sick_line"]


@pytest.mark.parametrize("name", VARIANTS)
def test_policyd_takes_the_restored_list_back(result, name):
    """healthy-after good rounds in a row after the restore: the first
    within an interval, the others right after it."""
    v = variant(result, name)
    bound = INTERVAL + HEALTHY_AFTER * 0.5 + SLACK
    assert v["healthy_after_s"] <= bound, "%s: healthy %.1f s after the restore (bound %.1f s)" % (
        name, v["healthy_after_s"], bound)
    assert "is healthy (was sick)" in v["healthy_line"], v["healthy_line"]


def test_plain_enforces_at_once_after_the_restore(result):
    """Postfix alone has no notion of a list's health: the restored list's
    listings are enforced from the first message on. (policyd takes the
    list back after its healthy-after rounds, which follow one another at
    once: test_policyd_takes_the_restored_list_back.)"""
    r = find_round(result, "after", "immediately")
    ms = messages(r, "plain", True)
    assert all(m["outcome"] == "rejected" for m in ms), outcomes(ms)


@pytest.mark.parametrize("name,moment", [(v, m) for v in VARIANTS for m in BROKEN_MOMENTS])
def test_plain_reject_rbl_client(result, name, moment):
    """What Postfix does alone: any A record is a listing, so a list
    answering everything rejects every client; a lookup that fails or
    finds nothing rejects none."""
    r = find_round(result, name, moment)
    ms = messages(r, "plain", True) + messages(r, "plain", False)
    if name in ANSWERS_EVERYTHING:
        assert all(m["outcome"] == "rejected" and m["code"] == "554" for m in ms), outcomes(ms)
    else:
        assert all(m["outcome"] == "accepted" for m in ms), outcomes(ms)


def test_daemons_exit_cleanly(result):
    assert result["policyd_status"] == 0, "\n".join(result["policyd_log"])
    assert result["serve_status"] == 0
    assert result["sanitizer_reports"] == []
    # policyd logs its counters at stop.
    assert any("connections," in line for line in result["policyd_log"]), result["policyd_log"]
