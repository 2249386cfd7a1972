"""The hunt's oracle: what a run under environment faults must do, from docs/cli.md and the
brief's exit codes, next to the same command run in a clean environment."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.envhunt.faults import EXIT2, HOSTERR, LOST, NOERR, NOOUT, NOREAD, OUTPUT, Fault
from tests.envhunt.world import SECRET, Outcome

# What may be in a reports directory after a run: reports, their stable names, the history.
REPORT_NAME = re.compile(r"fleetcheck-(\d{8}T\d{6}Z-[0-9a-f]+|latest)\.(txt|json|html|xml)"
                         r"|fleetcheck-history\.sqlite3|bundle\.zip|filler")
UNCHECKED = {"error", "unreachable"}
DETERMINISTIC = {"validate", "inventory", "explain", "verify"}  # stdout compared as is


@dataclass(frozen=True)
class Clean:
    """A clean run's outcome: status, stdout and (for scan) each host's status."""

    status: int | None
    out: bytes
    hosts: dict[str, str]

    @classmethod
    def of(cls, outcome: Outcome, command: str) -> Clean:
        """Read a clean outcome (which must be a verdict, not a crash)."""
        assert outcome.status in (0, 1, 3), (command, outcome.status, outcome.err_text)
        run = _run_json(outcome.outdir) if command == "scan" else None
        return cls(outcome.status, outcome.out, _statuses(run) if run else {})


def _run_json(outdir: Path) -> dict[str, Any] | None:
    try:
        files = [p for p in outdir.glob("fleetcheck-2*.json") if p.name.count(".") == 1]
    except OSError:
        return None
    if len(files) != 1:
        return None
    try:
        data: dict[str, Any] = json.loads(files[0].read_text())
    except (OSError, ValueError):
        return None
    return data


def _statuses(run: dict[str, Any]) -> dict[str, str]:
    return {h["name"]: h["status"] for h in run["hosts"]}


def _verdict(statuses: dict[str, str]) -> int:
    values = set(statuses.values())
    return 1 if "noncompliant" in values else 3 if values & UNCHECKED else 0


def judge(command: str, faults: Sequence[Fault], outcome: Outcome, clean: Clean, *,
          home_known_hosts: bool) -> list[str]:
    """Every way `outcome` breaks the invariants (empty: it passes)."""
    # A fault about HOME may make hosts unchecked only when their known_hosts is HOME's.
    allows: set[str] = set().union(*(f.allows - ({HOSTERR} if f.home_only and not
                                                 home_known_hosts else set())
                                      for f in faults))
    allows |= {EXIT2} if any(command in f.exit2_for for f in faults) else set()
    names = {f.name for f in faults}
    if any(n.startswith("no passwd") for n in names) and names & {"HOME unset", "HOME empty"}:
        allows.add(EXIT2)  # no password entry and no HOME: no home at all (exit 2)
    err, status = outcome.err_text, outcome.status
    problems: list[str] = []
    if status is None:
        return [f"hang: no exit after {outcome.wall:.0f}s"]
    if "Traceback" in err or "internal error" in err or status == 70:
        last = [line for line in err.splitlines() if line.strip()][-1:] or [""]
        return [f"crash: exit {status}: {last[0][:200]}"]
    if "Fatal Python error" in err:
        return [f"interpreter: exit {status}: {err.splitlines()[0][:200]}"]
    if status not in (0, 1, 2, 3, 4):
        return [f"exit: {status} is no documented code"]
    # `inventory --list` prints every variable, as ansible-inventory does: not a leak.
    for text in (outcome.out.decode("utf-8", "replace") if command != "inventory" else "", err):
        if SECRET in text:
            problems.append("secret: the inventory password was printed")
    if status == 2 and clean.status != 2:
        if EXIT2 not in allows:
            problems.append(f"exit2: unexpected bad input: {_last(err)}")
        if NOERR not in allows and not re.search(r"^fleetcheck: error: \S", err, re.M):
            problems.append(f"exit2: no 'fleetcheck: error:' line: {_last(err)}")
        if outcome.contacted:
            problems.append(f"exit2: {outcome.contacted} connections before exit 2")
        return problems
    if command == "scan":
        problems += _scan(outcome, clean, allows)
    else:
        problems += _other(command, outcome, clean, allows)
    problems += _leftovers(outcome.outdir, allows)
    return problems


def _scan(outcome: Outcome, clean: Clean, allows: set[str]) -> list[str]:
    status = outcome.status
    run = None if NOREAD in allows else _run_json(outcome.outdir)
    if run is None:
        if LOST not in allows and NOREAD not in allows:
            return [f"report: no run JSON written (exit {status}): {_last(outcome.err_text)}"]
        ok = {clean.status, 4} if clean.status == 0 else {clean.status}
        if HOSTERR in allows:
            ok |= {1, 3, 4}
        return [] if status in ok else [f"verdict: exit {status} without reports, clean "
                                        f"{clean.status}"]
    problems = []
    hosts = _statuses(run)
    if set(hosts) != set(clean.hosts):
        problems.append(f"hosts: {sorted(set(hosts) ^ set(clean.hosts))[:5]} differ")
    for name, was in clean.hosts.items():
        now = hosts.get(name)
        if now == was or now is None:
            continue
        if HOSTERR in allows and now in UNCHECKED:
            continue
        error = next((h.get("error") for h in run["hosts"] if h["name"] == name), None)
        problems.append(f"host: {name} {now} (clean {was}) {json.dumps(error)[:160]}")
        break
    internal = [h["name"] for h in run["hosts"] if (h.get("error") or {}).get("kind") == "internal"]
    if internal:  # an environment is never a bug in fleetcheck
        error = next(h["error"] for h in run["hosts"] if h["name"] == internal[0])
        problems.append(f"internal: {internal[0]}: {error['message'][:160]}")
    verdict = _verdict(hosts)
    if run["summary"].get("exit_code", verdict) != verdict:
        problems.append(f"summary: exit_code {run['summary'].get('exit_code')} for {verdict}")
    expected = {verdict}
    if verdict == 0 and allows & {LOST, NOOUT}:
        expected.add(4)
    if status not in expected:
        problems.append(f"verdict: exit {status}, the run says {verdict}: "
                        f"{_last(outcome.err_text)}")
    problems += _modes(outcome)
    return problems


def _other(command: str, outcome: Outcome, clean: Clean, allows: set[str]) -> list[str]:
    status = outcome.status
    ok = {clean.status}
    if allows & {LOST, NOOUT, NOREAD}:
        ok.add(4)
    if EXIT2 in allows and command in ("report", "evidence"):
        ok.add(4)  # their output directory is not checked ahead: the output is lost
    if status not in ok:
        return [f"status: exit {status}, clean {clean.status}: {_last(outcome.err_text)}"]
    if command in DETERMINISTIC and not allows & {OUTPUT, NOOUT} and outcome.out != clean.out:
        return [f"stdout: differs from the clean run ({len(outcome.out)} vs {len(clean.out)} "
                "bytes)"]
    return []


def _modes(outcome: Outcome) -> list[str]:
    """Report files carry the process umask (docs/cli.md)."""
    script = outcome.script
    found = re.search(r"^umask (\d+)$", script, re.M)
    if not found:
        return []
    mask = int(found.group(1), 8)
    problems = []
    for path in outcome.outdir.glob("fleetcheck-2*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != 0o666 & ~mask:
            problems.append(f"mode: {path.name} {mode:o} under umask {mask:03o}")
            break
    return problems


def _leftovers(outdir: Path, allows: set[str]) -> list[str]:
    if NOREAD in allows:
        return []
    try:
        names = [p.name for p in outdir.iterdir()]
    except OSError:
        return []
    stray = [n for n in names if not REPORT_NAME.fullmatch(n)]
    return [f"leftover: {stray[:4]} in the reports directory"] if stray else []


def _last(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(nothing on stderr)"
