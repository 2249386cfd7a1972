"""Counted words: one of a thing is never written as many, in messages and -v lines alike."""

from __future__ import annotations

from fleetcheck.model import HostResult
from fleetcheck.progress import host_log_line
from fleetcheck.words import plural


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
