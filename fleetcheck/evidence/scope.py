"""The scope statement: which inventory the run read (by hash), which hosts were in scope,
which were checked, and which were not and why. From the RunResult alone."""

from __future__ import annotations

import hashlib
from typing import Any

from fleetcheck.frozen import frozen, replace
from fleetcheck.model import RunResult
from fleetcheck.render import jsonout
from fleetcheck.render.view import human_duration, plural, run_seconds, sorted_hosts
from fleetcheck.sanitize import printable

EVIDENCE_KEY = "evidence"  # meta key naming the bundle made of the run


@frozen
class Scope:
    """What a run covered."""

    inventories: tuple[tuple[str, str], ...]  # (path, sha256)
    limit: str | None  # the --limit pattern, as written
    policies: tuple[str, ...]
    waivers: int
    in_scope: tuple[str, ...]
    checked: tuple[str, ...]
    not_checked: tuple[tuple[str, str, str, str], ...]  # (host, status, error kind, message)
    complete: bool


def limit_of(command_line: Any) -> str | None:
    """The -l/--limit pattern of a recorded command line, if it had one."""
    if not isinstance(command_line, list):
        return None
    args = [str(a) for a in command_line]
    for i, arg in enumerate(args):
        if arg in ("-l", "--limit") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--limit="):
            return arg.split("=", 1)[1]
        if arg.startswith("-l") and len(arg) > 2:
            return arg[2:]
    return None


def scope(run: RunResult) -> Scope:
    """The scope of `run`."""
    hosts = sorted_hosts(run)
    return Scope(
        inventories=tuple((i.path, i.sha256) for i in run.inputs if i.kind == "inventory"),
        limit=limit_of(run.meta.get("command_line")),
        policies=tuple(d["name"] for d in run.policy_definitions)
        or tuple(str(p) for p in run.meta.get("policies") or ()),
        waivers=len(run.waivers),
        in_scope=tuple(h.name for h in hosts),
        checked=tuple(h.name for h in hosts if h.checked),
        not_checked=tuple((h.name, h.status.value, h.error.kind if h.error else "",
                           h.error.message if h.error else "not checked")
                          for h in hosts if not h.checked),
        complete=run.summary.complete,
    )


def as_bundled(run: RunResult) -> RunResult:
    """The run record as a bundle holds it: without the reference to a bundle."""
    if EVIDENCE_KEY not in run.meta:
        return run
    meta = {k: v for k, v in run.meta.items() if k != EVIDENCE_KEY}
    return replace(run, meta=meta)


def run_record(run: RunResult) -> str:
    """The run record's JSON as a bundle holds it (`run.json`)."""
    return jsonout.render(as_bundled(run))


def run_digest(run: RunResult) -> str:
    """SHA-256 of the run record as a bundle holds it: what every report was rendered from."""
    return hashlib.sha256(run_record(run).encode("utf-8")).hexdigest()


def bundle_of(run: RunResult) -> dict[str, Any] | None:
    """The bundle this run was packed into ({bundle, sha256, signed_by}), if it records one."""
    ref = run.meta.get(EVIDENCE_KEY)
    return ref if isinstance(ref, dict) and ref.get("sha256") else None


def _line(value: str) -> str:
    """Host text on one line, control characters escaped (it may reach a terminal)."""
    return printable(value.replace("\r", " ").replace("\n", " "))


def text(run: RunResult) -> str:
    """The scope statement as plain text (the bundle's scope.txt)."""
    s = scope(run)
    lines = [f"Scope of the fleetcheck run of {run.started_at} "
             f"({human_duration(run_seconds(run))}, fleetcheck {run.tool_version})", ""]
    lines.append("Inventory sources (SHA-256):")
    lines += [f"  {digest}  {_line(path)}" for path, digest in s.inventories] or \
        ["  none recorded: the hosts came from the command line or the local machine"]
    lines.append("Host selection: " + (_line(s.limit) if s.limit else
                                       "every host of the inventory (no --limit)"))
    lines.append(f"Policies: {', '.join(s.policies) or 'none recorded'}; "
                 f"{plural(s.waivers, 'waiver')}")
    lines += ["", f"Hosts in scope: {len(s.in_scope)}"]
    lines += [f"  {_line(name)}" for name in s.in_scope]
    lines.append(f"Checked (listeners read and judged): {len(s.checked)}")
    lines += [f"  {_line(name)}" for name in s.checked]
    lines.append(f"Not checked: {len(s.not_checked)}"
                 + ("" if s.not_checked else " (every host in scope was checked)"))
    lines += [_line(f"  {name}: {status}, {kind}: {message}")
              for name, status, kind, message in s.not_checked]
    if not s.complete:
        lines.append("The run was interrupted before every host finished.")
    lines += ["", f"Run record (run.json) SHA-256: {run_digest(run)}", ""]
    return "\n".join(lines)
