"""An oracle of docs/history.md, written from the documented rules alone: what each night's
changes must be, given the run files in the order they were recorded.

Identity (docs/history.md, "The identity rule"): host, category, kind, protocol, bind
address, port, process name and container (its name and image, never its id); never the
PID, rule, message, severity or waiver. A host's previous run is the last run that checked
it; a run older than a host's last checked run (that is not itself in the future) leaves
the host's past alone when it is an import, while a scan is always the newest look at
its hosts (runs are recorded in the order they commit); a finding back within 3 checked
runs of its fix flaps.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FLAP_RUNS = 3
UNCHECKED = ("unreachable", "error", "not_run", "incomplete")

Key = tuple[Any, ...]


def when(value: str) -> dt.datetime:
    """A run time ('Z' or an offset)."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def age(first_seen: str, now: str) -> int:
    """Whole days of 24 hours from first_seen to now, never negative."""
    return max(0, (when(now) - when(first_seen)).days)


def place(record: dict[str, Any]) -> Key:
    """Where a listener or finding is: nothing for the host's own, else the container's
    runtime, name and image repository (no tag, no digest), never its id."""
    c = record.get("container")
    if c:
        image = (c.get("image") or "").split("@")[0]
        if ":" in image.rsplit("/", 1)[-1]:
            image = image.rsplit(":", 1)[0]
        return ("container", c.get("runtime"), c.get("pod"), c.get("k8s_namespace"),
                c.get("name"), image)
    return ("netns",) if record.get("netns") is not None else ()


def finding_key(f: dict[str, Any]) -> Key:
    """A finding's identity within its host."""
    return ("finding", f["kind"], f["proto"], f.get("address") or "",
            -1 if f.get("port") is None else f["port"], f.get("process") or "", place(f))


def listener_key(li: dict[str, Any]) -> Key:
    """A listener's identity within its host."""
    return ("listener", li["proto"], li["address"], li["port"], li.get("process") or "",
            place(li))


def checked(host: dict[str, Any]) -> bool:
    """Whether the run read and judged the host's listeners."""
    return host["status"] in ("compliant", "noncompliant")


def violation(f: dict[str, Any]) -> bool:
    """Whether a finding counts for the exit code."""
    return not f.get("waived") and not f.get("below_threshold")


@dataclass
class Expected:
    """One run's expected annotations and changes."""

    findings: dict[tuple[str, str], tuple[str, str, int, int]] = field(default_factory=dict)
    fixed: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    unverified: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    counts: dict[str, int] = field(default_factory=dict)
    new_violations: int = 0

    def counted(self) -> dict[str, int]:
        """The counts history lists for a run."""
        return {"new": self.counts["new"], "reopened": self.counts["reopened"],
                "fixed": sum(self.fixed.values()), "unverified": sum(self.unverified.values()),
                "flapping": self.counts["flapping"]}


@dataclass
class _Item:
    first_seen: str
    open: bool = True
    flaps: int = 0
    closed_check: int | None = None


@dataclass
class _Host:
    checks: int = 0
    last_checked_at: str | None = None
    items: dict[Key, _Item] = field(default_factory=dict)
    events: list[tuple[str, str, Key]] = field(default_factory=list)  # (at, what, finding)


def _listed(host: str, key: Key, item: _Item, last_seen: str | None, now: str
            ) -> tuple[Any, ...]:
    return (host, key, item.first_seen, age(item.first_seen, now), item.flaps, last_seen)


def listed(hf: dict[str, Any]) -> tuple[Any, ...]:
    """A fixed or unverified entry of a run file, as `_listed` writes it."""
    return (hf["host"], finding_key(hf), hf.get("first_seen"), hf.get("age_days"),
            hf.get("flaps", 0), hf.get("last_seen"))


class Oracle:
    """The database as the docs describe it, fed the runs in the order they were recorded."""

    def __init__(self, real_now: str) -> None:
        self.real_now = real_now
        self.hosts: dict[str, _Host] = {}
        self.behind = False  # a scan was dated before a host's last checked run

    def run(self, run: dict[str, Any]) -> Expected:
        """Expected changes of `run` against the history so far; then record it."""
        now, out = run["started_at"], Expected()
        counts = Counter({"new": 0, "reopened": 0, "persisting": 0, "flapping": 0,
                          "first_checked": 0})
        moves: list[tuple[_Host, set[Key], int]] = []
        for h in run["hosts"]:
            name = h["name"]
            past = self.hosts.get(name)
            known = past is not None and past.last_checked_at is not None
            if not checked(h):
                if known:
                    assert past is not None
                    for key, was in past.items.items():
                        if was.open:
                            out.unverified[_listed(name, key, was, past.last_checked_at,
                                                   now)] += 1
                continue
            present: set[Key] = set()
            for f in h["findings"]:
                key = finding_key(f)
                present.add(key)
                item: _Item | None = past.items.get(key) if known and past else None
                if item is not None and item.open:
                    change, first, flaps = "persisting", item.first_seen, item.flaps
                elif item is not None:
                    assert past is not None and item.closed_check is not None
                    change, first, flaps = "reopened", item.first_seen, item.flaps
                    if past.checks + 1 - item.closed_check <= FLAP_RUNS:
                        flaps += 1
                        counts["flapping"] += 1
                else:
                    change, first, flaps = "new", now, 0
                counts[change] += 1
                if change != "persisting" and violation(f):
                    out.new_violations += 1
                out.findings[(name, f["id"])] = (change, first, age(first, now), flaps)
            if not known:
                counts["first_checked"] += 1
            else:
                assert past is not None
                for key, item in past.items.items():
                    if item.open and key not in present:
                        out.fixed[_listed(name, key, item, past.last_checked_at, now)] += 1
            state = self.hosts.setdefault(name, _Host())
            last = state.last_checked_at
            if last is not None and when(now) < when(last) <= when(self.real_now):
                # A scan older than the host's last checked run (its clock stepped back):
                # still the newest look at the host. A rebuild from the run files (an
                # import, oldest first) cannot know that order.
                self.behind = True
            moves.append((state, present, 0))
        for state, present, _ in moves:
            check = state.checks + 1
            for key, item in state.items.items():
                if item.open and key not in present:
                    item.open, item.closed_check = False, check
                    state.events.append((now, "closed", key))
            for key in present:
                had = state.items.get(key)
                if had is None:
                    state.items[key] = _Item(now)
                    state.events.append((now, "opened", key))
                elif not had.open:
                    assert had.closed_check is not None
                    had.open = True
                    had.flaps += check - had.closed_check <= FLAP_RUNS
                    state.events.append((now, "reopened", key))
            state.checks, state.last_checked_at = check, now
        out.counts = dict(counts)
        return out


def against_file(old: dict[str, Any], new: dict[str, Any]) -> Expected:
    """NEW compared with the saved run OLD (`--baseline OLD`, `diff OLD NEW`): OLD's checked
    hosts' findings are open, its fixed ones were fixed one run before, and a host OLD
    could not check keeps the findings OLD listed as not verified."""
    changes = old.get("changes") or {}
    gone: dict[str, dict[Key, dict[str, Any]]] = {}
    for hf in changes.get("fixed", ()):
        gone.setdefault(hf["host"], {})[finding_key(hf)] = hf
    still: dict[str, list[dict[str, Any]]] = {}
    for hf in changes.get("unverified", ()):
        still.setdefault(hf["host"], []).append(hf)
    pasts: dict[str, tuple[str, dict[Key, dict[str, Any]]]] = {}
    for h in old["hosts"]:
        if checked(h):
            pasts[h["name"]] = (old["started_at"], {finding_key(f): f for f in h["findings"]})
        elif h["name"] in still:
            hfs = still[h["name"]]
            pasts[h["name"]] = (hfs[0].get("last_seen") or old["started_at"],
                                {finding_key(f): f for f in hfs})
    now, out = new["started_at"], Expected()
    counts = Counter({"new": 0, "reopened": 0, "persisting": 0, "flapping": 0,
                      "first_checked": 0})
    for h in new["hosts"]:
        name = h["name"]
        past = pasts.get(name)
        if not checked(h):
            if past is not None:
                for key, f in past[1].items():
                    item = _Item(f.get("first_seen") or old["started_at"], flaps=f.get("flaps", 0))
                    out.unverified[_listed(name, key, item, past[0], now)] += 1
            continue
        present = set()
        for f in h["findings"]:
            key = finding_key(f)
            present.add(key)
            seen = past[1].get(key) if past else None
            back = gone.get(name, {}).get(key) if past and seen is None else None
            if seen is not None:
                change, first = "persisting", seen.get("first_seen") or old["started_at"]
                flaps = seen.get("flaps", 0)
            elif back is not None:
                change, first = "reopened", back.get("first_seen") or old["started_at"]
                flaps = back.get("flaps", 0) + 1  # fixed one run before: back at once
                counts["flapping"] += 1
            else:
                change, first, flaps = "new", now, 0
            counts[change] += 1
            if change != "persisting" and violation(f):
                out.new_violations += 1
            out.findings[(name, f["id"])] = (change, first, age(first, now), flaps)
        if past is None:
            counts["first_checked"] += 1
        else:
            for key, f in past[1].items():
                if key not in present:
                    item = _Item(f.get("first_seen") or old["started_at"],
                                 flaps=f.get("flaps", 0))
                    out.fixed[_listed(name, key, item, past[0], now)] += 1
    out.counts = dict(counts)
    return out


def listener_changes(old: dict[str, Any], new: dict[str, Any]
                     ) -> tuple[set[tuple[str, Key]], set[tuple[str, Key]]]:
    """(added, removed) listeners of the hosts both runs checked."""
    before = {h["name"]: h for h in old["hosts"] if checked(h)}
    added: set[tuple[str, Key]] = set()
    removed: set[tuple[str, Key]] = set()
    for h in new["hosts"]:
        was = before.get(h["name"])
        if was is None or not checked(h):
            continue
        then = {listener_key(li) for li in was["listeners"]}
        now = {listener_key(li) for li in h["listeners"]}
        added |= {(h["name"], k) for k in now - then}
        removed |= {(h["name"], k) for k in then - now}
    return added, removed


def exit_code(run: dict[str, Any], expected: Expected, gate_new: bool) -> int:
    """The documented exit code of a scan (or of `diff`, gate_new and `diff=True`)."""
    hosts = run["hosts"]
    if gate_new:
        if expected.new_violations:
            return 1
    elif any(violation(f) for h in hosts for f in h["findings"]):
        return 1
    return 3 if any(not checked(h) for h in hosts) else 0


def diff_exit(expected: Expected) -> int:
    """`fleetcheck diff`'s documented exit code."""
    if expected.new_violations:
        return 1
    return 3 if expected.unverified else 0
