"""The run JSON's hosts written directly as text are byte for byte what the general writer
makes of `RunResult.to_dict()`, on every run shape and on values a hand-made run file can
hold (a pid that is a string, a uid of false, no user, history, trusted keys)."""

from __future__ import annotations

import dataclasses
import random

from fleetcheck.model import Change, RunResult, TrustedKey
from fleetcheck.model.commands import _Template, template_of
from fleetcheck.render import jsonout, pretty
from tests.render.builders import XSS
from tests.render.synthetic import fenced, probe_run, synthetic_run, with_stderr


def _general(run: RunResult) -> str:
    """The run JSON as the general writer makes it of the run's dict."""
    return pretty.dumps(run.to_dict(), rows=True) + "\n"


def _odd(run: RunResult) -> RunResult:
    """`run` with the values a plain listener or finding seldom has, host by host."""
    hosts = []
    for i, h in enumerate(run.hosts):
        listeners = tuple(
            dataclasses.replace(jl, listener=dataclasses.replace(
                jl.listener, user=None if i % 2 else f"u{XSS}\u2028", uid=[None, 0, 7][i % 3],
                inode=i or None, iface="eth0" if i == 3 else None))
            for jl in h.listeners)
        findings = tuple(
            dataclasses.replace(f, first_seen="2026-11-01T00:00:00Z", age_days=3,
                                change=Change.REOPENED, flaps=i % 2) if i % 3 == 1
            else dataclasses.replace(f, change=Change.NEW) if i % 3 == 2 else f
            for f in h.findings)
        hosts.append(dataclasses.replace(
            h, listeners=listeners, findings=findings, notes=("n\x00", "é") if i % 2 else (),
            trusted_keys=(TrustedKey("[h]:2222", "ssh-ed25519", "SHA256:x", "/k"),) * (i % 2),
            distribution=None if i % 2 else "Debian \"12\"", privileged=[True, False, None][i % 3]))
    return dataclasses.replace(run, hosts=tuple(hosts))


def _from_file(run: RunResult) -> RunResult:
    """`run` read back from a file edited by hand: values of types the model does not expect
    (a pid as a string, a uid of false, an OS as a list, a user as an object, a float)."""
    data = run.to_dict()
    for i, host in enumerate(data["hosts"]):
        for li in host["listeners"]:
            li["pid"] = str(li["pid"]) if i % 2 else li["pid"]
            li["uid"] = False
            li["user"] = {"name": "root"} if i % 3 == 0 else li["user"]
        for f in host["findings"]:
            f["process"] = 7.5 if i % 2 else f["process"]
        host["os"] = ["Linux", 6] if i % 4 == 1 else host["os"]
    return RunResult.from_dict(data)


def _runs(composite: RunResult) -> list[RunResult]:
    plain = [composite, synthetic_run(0), synthetic_run(80, seed=3), probe_run(8),
             with_stderr(probe_run(4), "warn\n", "", "warn\n"), fenced(probe_run(3))]
    return [*plain, _odd(composite), _odd(synthetic_run(30)), _from_file(composite)]


def test_hosts_written_as_text_are_what_the_general_writer_writes(composite: RunResult) -> None:
    for run in _runs(composite):
        jsonout._LAST.clear()
        assert jsonout.render(run) == _general(run)
        jsonout._LAST.clear()
        assert "".join(jsonout.render_chunks(run)) == _general(run)


def test_values_of_other_types_are_there_to_be_written(composite: RunResult) -> None:
    run = _from_file(composite)
    values = [(jl.listener.pid, jl.listener.user) for h in run.hosts for jl in h.listeners]
    assert any(isinstance(p, str) for p, _ in values)
    assert any(isinstance(u, dict) for _, u in values)
    assert any(isinstance(h.os, list) for h in run.hosts)


def test_a_command_fitted_to_its_template_splits_as_str_split() -> None:
    rng = random.Random(1923)  # noqa: S311 -- reproducible test data, not secrets
    fitted = 0
    for _ in range(20000):
        parts = tuple("".join(rng.choice("0123456789abcdefxyz-;") for _ in range(rng.randint(0, 6)))
                      for _ in range(rng.randint(1, 4)))
        nonce = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(1, 4)))
        template = _Template.of(parts, 0)
        command = nonce.join(parts)
        if template.fits(command, nonce):
            fitted += 1
            assert template_of(command, nonce) == parts
        assert not template.fits(command + ";", nonce)
    assert fitted > 1000  # the shortcut is taken, not only refused
    # Parts that touch the nonce with hex digits could hide another copy: never fitted.
    assert not _Template.of(("a", "b"), 0).fits("a0123b", "0123")
    assert _Template.of(("a;", ";b"), 0).fits("a;0123;b", "0123")
