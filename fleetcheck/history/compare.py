"""Compare a run's hosts with their previous checked runs: pure, whatever the past came from.

The past of a host is what was open at the last run that *checked* it (a database or a
baseline run file says which). A host checked now gets `change`, `first_seen` and
`age_days` on every finding, and its previous findings that are gone are fixed. A host
that could not be checked has no fixes: its previous findings are unverified.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleetcheck.frozen import frozen, replace
from fleetcheck.history.identity import Key, finding_key, listener_key
from fleetcheck.model import Change, Changes, Comparison, Finding, HostFinding, HostResult

# A finding that comes back within this many checked runs of its host after being fixed
# is flapping: counted and shown, so restarts that fail over and back stand out.
FLAP_RUNS = 3


@frozen
class Seen:
    """A finding open at the host's previous checked run, as it was then: a Finding, or its
    JSON as the database keeps it (parsed only when it is listed as fixed or unverified,
    which spares a large fleet's run thousands of parses)."""

    finding: Finding | str
    first_seen: str
    flaps: int = 0

    def parsed(self) -> Finding:
        """The finding itself."""
        if isinstance(self.finding, Finding):
            return self.finding
        return Finding.from_dict(json.loads(self.finding))


@frozen
class Gone:
    """A finding fixed before the previous checked run: when it was first open, how often
    it flapped, and the host's check number when it was first found gone (None: unknown)."""

    first_seen: str
    flaps: int = 0
    closed_check: int | None = None


@frozen
class HostPast:
    """A host as its previous checked run left it.

    `checks` counts the host's checked runs so far; `gone` needs to hold only the keys
    the current run may ask about (the store looks them up in one batch).
    """

    checked_at: str  # started_at of the previous checked run
    open: Mapping[Key, Seen]
    gone: Mapping[Key, Gone] = field(default_factory=dict)
    checks: int = 1


@functools.lru_cache(maxsize=4096)  # a fleet's findings share a few first-seen times
def parse_utc(value: str) -> datetime:
    """An ISO 8601 time as written in runs ('Z' accepted; no zone means UTC)."""
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def utc(value: str) -> str:
    """A run time as the database keeps it: 'YYYY-MM-DDTHH:MM:SSZ' (sorts as it reads)."""
    return parse_utc(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_days(first_seen: str, now: str) -> int:
    """Whole days from `first_seen` to `now` (never negative)."""
    return max(0, (parse_utc(now) - parse_utc(first_seen)).days)


def bare(finding: Finding) -> Finding:
    """A finding without history's fields: what a run says about it by itself."""
    return replace(finding, first_seen=None, age_days=None, change=None, flaps=0)


@dataclass
class _Tally:
    """What a comparison counts while it walks the hosts."""

    fixed: list[HostFinding] = field(default_factory=list)
    unverified: list[HostFinding] = field(default_factory=list)
    counts: dict[Change, int] = field(default_factory=lambda: dict.fromkeys(Change, 0))
    flapping: int = 0
    first_checked: int = 0


def _as_last_seen(host: str, seen: Seen, past: HostPast, now: str) -> HostFinding:
    f = replace(bare(seen.parsed()), first_seen=seen.first_seen,
                            age_days=age_days(seen.first_seen, now), flaps=seen.flaps)
    return HostFinding(host, f, past.checked_at)


def _annotate(host: HostResult, past: HostPast | None, now: str, tally: _Tally) -> HostResult:
    """A checked host's findings with their change; its fixes into `tally`."""
    findings, present = [], set()
    for f in host.findings:
        key = finding_key(f)
        present.add(key)
        seen = past.open.get(key) if past else None
        gone = past.gone.get(key) if past and seen is None else None
        flaps = 0
        if seen is not None:
            change, first, flaps = Change.PERSISTING, seen.first_seen, seen.flaps
        elif gone is not None:
            change, first, flaps = Change.REOPENED, gone.first_seen, gone.flaps
            assert past is not None
            if gone.closed_check is not None and past.checks + 1 - gone.closed_check <= FLAP_RUNS:
                flaps += 1
                tally.flapping += 1
        else:
            change, first = Change.NEW, now
        tally.counts[change] += 1
        findings.append(replace(f, first_seen=first, age_days=age_days(first, now),
                                            change=change, flaps=flaps))
    if past is None:
        tally.first_checked += 1
    else:
        tally.fixed += [_as_last_seen(host.name, seen, past, now)
                        for key, seen in past.open.items() if key not in present]
    return replace(host, findings=tuple(findings)) if findings else host


def compare(hosts: Sequence[HostResult], pasts: Mapping[str, HostPast], now: str,
            against: dict[str, Any] | None = None) -> Comparison:
    """`hosts` annotated against `pasts` (by host name) as of `now`, and the run's changes."""
    tally = _Tally()
    out = []
    for host in hosts:
        past = pasts.get(host.name)
        if host.checked:
            out.append(_annotate(host, past, now, tally))
            continue
        out.append(host)
        if past is not None:
            tally.unverified += [_as_last_seen(host.name, seen, past, now)
                                 for seen in past.open.values()]
    changes = Changes(
        fixed=tuple(sorted(tally.fixed, key=_order)),
        unverified=tuple(sorted(tally.unverified, key=_order)),
        new=tally.counts[Change.NEW], reopened=tally.counts[Change.REOPENED],
        persisting=tally.counts[Change.PERSISTING], flapping=tally.flapping,
        first_checked=tally.first_checked, against=against)
    return Comparison(tuple(out), changes)


def _order(hf: HostFinding) -> tuple[Any, ...]:
    """Worst first, then host, then the finding's own order."""
    return (-hf.finding.severity, hf.host, hf.finding.sort_key())


def pasts_from_run(hosts: Sequence[HostResult], started_at: str,
                   fixed: Sequence[HostFinding] = (),
                   unverified: Sequence[HostFinding] = ()) -> dict[str, HostPast]:
    """Each host's past as one saved run shows it (a `--baseline` or `diff`'s OLD run).

    A checked host's findings are open (first seen as the run says, else at its start);
    the run's fixed findings are gone, fixed one run before (so back now is flapping).
    A host the run could not check keeps the findings it listed as unverified.
    """
    gone: dict[str, dict[Key, Gone]] = {}
    for hf in fixed:
        gone.setdefault(hf.host, {})[finding_key(hf.finding)] = Gone(
            hf.finding.first_seen or started_at, hf.finding.flaps, closed_check=1)
    still: dict[str, list[HostFinding]] = {}
    for hf in unverified:
        still.setdefault(hf.host, []).append(hf)
    pasts: dict[str, HostPast] = {}
    for host in hosts:
        if host.checked:
            seen = {finding_key(f): Seen(f, f.first_seen or started_at, f.flaps)
                    for f in host.findings}
            pasts[host.name] = HostPast(started_at, seen, gone.get(host.name, {}), checks=1)
        elif host.name in still:
            hfs = still[host.name]
            seen = {finding_key(hf.finding): Seen(hf.finding,
                                                  hf.finding.first_seen or started_at,
                                                  hf.finding.flaps) for hf in hfs}
            pasts[host.name] = HostPast(hfs[0].last_seen or started_at, seen,
                                        gone.get(host.name, {}), checks=1)
    return pasts


def listener_changes(old: Sequence[HostResult], new: Sequence[HostResult]
                     ) -> tuple[list[tuple[str, Key]], list[tuple[str, Key]]]:
    """(added, removed) listeners of hosts checked in both runs, by identity (never PID)."""
    before = {h.name: h for h in old if h.checked}
    added: list[tuple[str, Key]] = []
    removed: list[tuple[str, Key]] = []
    for host in new:
        was = before.get(host.name)
        if was is None or not host.checked:
            continue
        then = {listener_key(jl.listener) for jl in was.listeners}
        now = {listener_key(jl.listener) for jl in host.listeners}
        added += [(host.name, k) for k in sorted(now - then)]
        removed += [(host.name, k) for k in sorted(then - now)]
    return added, removed
