"""Counted words: one of a thing is never written as many, in messages and -v lines alike."""

from __future__ import annotations

from fleetcheck.model import HostResult
from fleetcheck.progress import host_log_line
from fleetcheck.words import closest, did_you_mean, plural


def test_plural_counts_one_as_one() -> None:
    assert [plural(n, "host") for n in (0, 1, 2)] == ["0 hosts", "1 host", "2 hosts"]
    assert plural(3, "policy", "policies") == "3 policies"


def test_the_verbose_host_line_counts_in_words() -> None:
    listener = {"proto": "tcp", "family": 4, "address": "0.0.0.0", "port": 22,
                "process": "sshd", "pid": 1, "user": "root", "verdict": "allowed",
                "rule": "baseline/ssh"}
    host = HostResult.from_dict({"name": "web1", "address": "10.0.0.1", "groups": [],
                                 "status": "compliant", "os": "Linux", "collector": "ss",
                                 "error": None, "listeners": [listener], "findings": []})
    line = host_log_line(host)
    assert "· 1 listener · 0 findings [" in line, line


def test_closest_names_the_nearest_choice_or_none() -> None:
    assert closest("hgih", ["low", "medium", "high", "critical"]) == "high"
    assert closest("--formt", ["--format", "--forks", "--fail-on"]) == "--format"
    assert closest("zzz", ["low", "high"]) is None
    assert closest("x", []) is None
    assert did_you_mean("critcal", ["low", "critical"]) == " (did you mean 'critical'?)"
    assert did_you_mean("zzz", ["low"]) == ""
