"""The ports register (PCI DSS 1.2.5 / 1.2.7): every allowance in force, why, who approved it,
when it is due for review, the hosts it applies to, and how much it allowed in this run.

Computed from the RunResult alone: the rules from its policy definitions, the use counts
from its listeners' `rule` fields and its findings' waivers, the hosts from each host's
policies and waivers. An allowance that allowed nothing on any checked host is a removal
candidate (PCI asks that unneeded services and ports be removed).
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from fleetcheck.frozen import frozen
from fleetcheck.model import HostResult, RunResult, Verdict, WaiverRecord
from fleetcheck.policy import Action
from fleetcheck.policy.serialize import policy_from_dict
from fleetcheck.render.csvout import spreadsheet_cell
from fleetcheck.render.options import RenderOptions

COLUMNS = ("type", "id", "status", "conditions", "justification", "approved_by",
           "approved_on", "reviewed_on", "review_due", "review_overdue", "expires",
           "host_pattern", "hosts", "hosts_checked", "allowed_in_run", "requirement_met_on",
           "removal_candidate", "source", "host_names")


@frozen
class RegisterRow:
    """One allowance: an allow or require rule, or a waiver."""

    type: str  # allow | require | waiver
    id: str  # policy/rule, or the waiver's id
    status: str  # in force | active | expired | unused
    conditions: str
    justification: str
    approved_by: str
    approved_on: str
    reviewed_on: str
    review_due: str  # '' when no review period applies
    review_overdue: bool | None  # None: no review period
    expires: str
    host_pattern: str
    hosts: tuple[str, ...]  # hosts of this run it applies to
    checked: int  # of those, how many were checked
    allowed: int | None  # listeners allowed (rules) or findings waived (waivers); None: require
    met_on: int | None  # require rules: checked hosts where it was satisfied
    source: str
    # It allowed nothing on any checked host (an expired waiver: it would have covered
    # nothing); None when not judged: no host checked, or a requirement (allows nothing).
    removal_candidate: bool | None


def _unneeded(used: int | None, checked: int) -> bool | None:
    return None if used is None or checked == 0 else used == 0


def _hosts_by(run: RunResult, attr: str) -> dict[str, list[HostResult]]:
    """The run's hosts (in run order) by each name their `attr` (policies, waivers) holds:
    one pass, not one per policy or waiver (a waiver per host was quadratic)."""
    by: dict[str, list[HostResult]] = {}
    for h in run.hosts:
        for name in dict.fromkeys(getattr(h, attr)):
            by.setdefault(name, []).append(h)
    return by


def rule_rows(run: RunResult) -> list[RegisterRow]:
    """The allow and require rules of every policy the run applied, in policy and file order."""
    of_policy = _hosts_by(run, "policies")
    allowed = Counter(jl.rule for h in run.hosts for jl in h.listeners
                      if jl.verdict is Verdict.ALLOWED and jl.rule)
    unmet = Counter((h.name, f.rule) for h in run.hosts for f in h.findings
                    if f.kind.value in ("missing", "undetermined") and f.rule)
    rows = []
    for definition in run.policy_definitions:
        policy = policy_from_dict(definition)
        by_id = {r["id"]: r for r in definition.get("rules", ())}
        hosts = of_policy.get(policy.name, [])
        checked = [h for h in hosts if h.checked]
        for rule in policy.rules:
            used = None if rule.action is Action.REQUIRE else allowed[rule.ref]
            if rule.action is Action.FORBID:
                continue
            raw = by_id.get(rule.id, {})
            require = used is None
            overdue = raw.get("review_overdue")
            rows.append(RegisterRow(
                type=rule.action.value, id=rule.ref, status="in force",
                conditions=rule.match.describe() or "any listener",
                justification=rule.justification or rule.reason or "",
                approved_by=rule.approved_by or "",
                approved_on=rule.approved_on.isoformat() if rule.approved_on else "",
                reviewed_on=rule.reviewed_on.isoformat() if rule.reviewed_on else "",
                review_due=raw.get("review_due") or "",
                review_overdue=overdue if isinstance(overdue, bool) else None,
                expires="", host_pattern=policy.hosts or "all",
                hosts=tuple(h.name for h in hosts), checked=len(checked),
                allowed=used,
                met_on=sum(1 for h in checked if not unmet[h.name, rule.ref])
                if require else None,
                source=f"{policy.path}:{rule.line}" if rule.line else policy.path,
                removal_candidate=_unneeded(used, len(checked))))
    return rows


def waiver_row(w: WaiverRecord, of_waiver: dict[str, list[HostResult]],
               waived_by: Counter[str | None]) -> RegisterRow:
    """A waiver as a register row: findings it actually waived in this run (`of_waiver`:
    the run's hosts by waiver; `waived_by`: the run's waived findings by waiver)."""
    hosts = of_waiver.get(w.id, [])
    checked = sum(1 for h in hosts if h.checked)
    waived = waived_by[w.id]
    cond = w.conditions or {}
    parts = ["/".join(p for p in (w.proto, w.port) if p)] if w.proto or w.port else []
    if w.process:
        parts.append(f"process {w.process}")
    parts += [f"{k} {', '.join(map(str, cond[k]))}" for k in ("kind", "rule", "finding")
              if k in cond]
    conditions = ", ".join(parts)
    return RegisterRow(
        type="waiver", id=w.id, status=w.status, conditions=conditions,
        justification=w.justification or w.reason, approved_by=w.approved_by or "",
        approved_on=w.created or "", reviewed_on=w.reviewed_on or "", review_due="",
        review_overdue=None, expires=w.expires or "", host_pattern=w.hosts or "all",
        hosts=tuple(h.name for h in hosts), checked=checked, allowed=waived, met_on=None,
        source=f"{w.path}:{w.line}" if w.path and w.line is not None else w.path or "",
        removal_candidate=_unneeded(w.matched if w.status == "expired" else waived, checked))


def _waived_by(run: RunResult) -> Counter[str | None]:
    return Counter(f.waiver for h in run.hosts for f in h.findings if f.waived)


def rows(run: RunResult) -> list[RegisterRow]:
    """The whole register: rules first (policy order), then waivers (load order)."""
    of_waiver, waived_by = _hosts_by(run, "waivers"), _waived_by(run)
    return [*rule_rows(run), *(waiver_row(w, of_waiver, waived_by) for w in run.waivers)]


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The register as RFC 4180 CSV with a header (CRLF line ends, formula-safe cells)."""
    del options
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows(run):
        writer.writerow([spreadsheet_cell(v) for v in (
            r.type, r.id, r.status, r.conditions, r.justification, r.approved_by,
            r.approved_on, r.reviewed_on, r.review_due, _yes_no(r.review_overdue), r.expires,
            r.host_pattern, len(r.hosts), r.checked, "" if r.allowed is None else r.allowed,
            "" if r.met_on is None else r.met_on, _yes_no(r.removal_candidate), r.source,
            " ".join(r.hosts))])
    return buf.getvalue()
