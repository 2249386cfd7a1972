"""The summary an executive reads first: the biggest problems, the worst hosts, compliance per
inventory group and per policy, and coverage (what was checked and passed).

Arranged once from the RunResult (like `view`), so the text summary, the HTML's first
screen and the Markdown summary state the same figures.

Compliance rules (docs/reports.md): a host counts for a group or policy it belongs to; it
is compliant there when it was checked and none of its open violations belongs to it. A
finding belongs to the policy its rule names ('web/https' to web); a finding no rule
decided (a stray listener under default deny) belongs to each of the host's policies whose
default is deny (every policy of the host when the run records no definitions). Hosts
that could not be checked are never compliant: the percentage is of all hosts covered.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from fleetcheck.engine.summary import is_violation
from fleetcheck.frozen import frozen
from fleetcheck.model import Finding, HostResult, RunResult, Verdict
from fleetcheck.render import lastrun, view
from fleetcheck.render.groups import FindingGroup, group_findings, natural_key
from fleetcheck.render.textfit import wrap

TOP = 10  # groups and hosts the summary lists


@frozen
class Compliance:
    """How many of the hosts an inventory group or policy covers are compliant."""

    name: str
    hosts: int
    checked: int
    compliant: int

    @property
    def unchecked(self) -> int:
        """Hosts covered whose listeners could not be read."""
        return self.hosts - self.checked

    @property
    def percent(self) -> float:
        """Compliant hosts as a share of all hosts covered (0 when none)."""
        return 100.0 * self.compliant / self.hosts if self.hosts else 0.0

    def words(self) -> str:
        """'92.5% (37 of 40 hosts; 2 not checked)'."""
        tail = f"; {self.unchecked} not checked" if self.unchecked else ""
        return f"{percent(self.percent)} ({self.compliant} of {view.plural(self.hosts, 'host')}" \
               f"{tail})"


@frozen
class Coverage:
    """What was checked and passed, not only what failed."""

    hosts_checked: int
    listeners: int
    allowed: int  # listeners every policy allowed
    waived: int  # listeners whose findings a waiver covers
    flagged: int  # listeners with an open finding

    def words(self) -> str:
        """'1,204 listeners judged on 40 hosts: 1,150 allowed (95.5%), 50 open, 4 waived'."""
        share = percent(100.0 * self.allowed / self.listeners) if self.listeners else "-"
        return (f"{view.plural(self.listeners, 'listener')} judged on "
                f"{view.plural(self.hosts_checked, 'host')}"
                f": {self.allowed:,} allowed ({share}), {self.flagged:,} with open findings, "
                f"{self.waived:,} waived")


def percent(value: float) -> str:
    """'100%', '99.9%', '0%': one decimal, never rounded up to 100 when something failed."""
    if value >= 100.0:
        return "100%"
    text = f"{int(value * 10) / 10:.1f}".removesuffix(".0")  # truncated: 99.96 is not 100
    return f"{text}%"


def _policy_defaults(run: RunResult) -> dict[str, str | None]:
    return {str(d["name"]): d.get("default") for d in run.policy_definitions}


def _policies_of(finding: Finding, host: HostResult, defaults: dict[str, str | None]
                 ) -> list[str]:
    """The policies an open finding counts against (see the module's rules)."""
    if finding.rule:
        return [finding.rule.split("/", 1)[0]]
    if not defaults:
        return list(host.policies)
    return [p for p in host.policies if defaults.get(p) in ("deny", None)]


def _compliance(members: dict[str, list[tuple[HostResult, bool]]]) -> list[Compliance]:
    out = [Compliance(name, len(hosts), sum(1 for h, _ in hosts if h.checked),
                      sum(1 for h, ok in hosts if h.checked and ok))
           for name, hosts in members.items()]
    return sorted(out, key=lambda c: (c.percent, natural_key(c.name)))


@frozen(slots=False)
class Overview:
    """The executive summary of one run."""

    run: RunResult

    @cached_property
    def groups(self) -> list[FindingGroup]:
        """Every group of open findings, worst first (as the findings sections list them)."""
        open_rows, _ = view.finding_rows(self.run)
        return group_findings(open_rows)

    @cached_property
    def top_groups(self) -> list[FindingGroup]:
        """The violation groups that touch the most hosts (worst severity breaks ties)."""
        groups = [g for g in self.groups if g.violation] or self.groups
        return sorted(groups, key=lambda g: (-len(g.hosts), -g.severity))[:TOP]

    @cached_property
    def worst_hosts(self) -> list[tuple[HostResult, int]]:
        """Hosts with the most open findings, with how many."""
        counted = [(h, view.open_findings(h)) for h in self.run.hosts]
        ranked = sorted((x for x in counted if x[1]), key=lambda x: (-x[1], natural_key(x[0].name)))
        return ranked[:TOP]

    @cached_property
    def by_group(self) -> list[Compliance]:
        """Compliance per inventory group ('all' left out: it is the fleet), worst first."""
        threshold = view.fail_on(self.run)
        members: dict[str, list[tuple[HostResult, bool]]] = {}
        for h in self.run.hosts:
            ok = not any(is_violation(f, threshold) for f in h.findings)
            for g in h.groups or ("ungrouped",):
                if g != "all":
                    members.setdefault(g, []).append((h, ok))
        return _compliance(members)

    @cached_property
    def by_policy(self) -> list[Compliance]:
        """Compliance per policy, worst first."""
        threshold = view.fail_on(self.run)
        defaults = _policy_defaults(self.run)
        members: dict[str, list[tuple[HostResult, bool]]] = {}
        for h in self.run.hosts:
            against = {p for f in h.findings if is_violation(f, threshold)
                       for p in _policies_of(f, h, defaults)}
            for p in h.policies:
                members.setdefault(p, []).append((h, p not in against))
        return _compliance(members)

    @cached_property
    def coverage(self) -> Coverage:
        """Listeners judged, allowed, waived and open, over the checked hosts."""
        threshold = view.fail_on(self.run)
        listeners = allowed = waived = flagged = 0
        for h in self.run.hosts:
            if not h.checked:
                continue
            rows = view.listener_rows(h, threshold)
            listeners += len(rows)
            for jl, standing in rows:
                if jl.verdict is Verdict.ALLOWED:
                    allowed += 1
                elif jl.verdict is Verdict.LISTED:  # reported, judged by no rule: no finding
                    continue
                elif standing is not None and standing.waiver is not None:
                    waived += 1
                else:  # a violation, or open below --fail-on: open all the same, as the
                    flagged += 1  # grouped findings and "most open findings" count it
        checked = sum(1 for h in self.run.hosts if h.checked)
        return Coverage(checked, listeners, allowed, waived, flagged)


def run_overview(run: RunResult) -> Overview:
    """The Overview of `run`, shared by every format rendered of the same run object (its
    lists are read by them, never changed)."""
    return lastrun.of_run(run, Overview, lambda: Overview(run))


def waived_groups(run: RunResult) -> list[FindingGroup]:
    """Every group of waived findings, as `Overview.groups` orders the open ones."""
    return list(lastrun.of_run(run, waived_groups,
                               lambda: tuple(group_findings(view.finding_rows(run)[1]))))


def allowed_by_policy(run: RunResult) -> dict[str, int]:
    """Listeners each policy's allow rules passed: what the policy vouched for."""
    out: dict[str, int] = {}
    for h in run.hosts:
        for jl in h.listeners:
            if jl.verdict is Verdict.ALLOWED and jl.rule:
                name = jl.rule.split("/", 1)[0]
                out[name] = out.get(name, 0) + 1
    return out


def _compliance_words(items: Sequence[Compliance], limit: int) -> str:
    shown = ", ".join(f"{c.name} {percent(c.percent)}" for c in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def overview_lines(overview: Overview, width: int, limit: int = 6) -> list[str]:
    """The executive summary as text lines: coverage, compliance by policy and group,
    the most widespread problems, the hosts with most open findings."""
    lines: list[str] = []
    if overview.coverage.listeners or overview.coverage.hosts_checked:
        lines += wrap(f"coverage: {overview.coverage.words()}", width, "", "    ")
    if overview.by_policy:
        lines += wrap(f"compliant by policy: {_compliance_words(overview.by_policy, limit)}",
                      width, "", "    ")
    if overview.by_group:
        lines += wrap(f"compliant by group: {_compliance_words(overview.by_group, limit)}",
                      width, "", "    ")
    if overview.top_groups:
        widest = "; ".join(f"{g.kind.value} {g.where} on {view.plural(len(g.hosts), 'host')}"
                           for g in overview.top_groups[:3])
        lines += wrap(f"most widespread: {widest}", width, "", "    ")
    if overview.worst_hosts:
        worst = ", ".join(f"{h.name} ({n})" for h, n in overview.worst_hosts[:limit])
        lines += wrap(f"most open findings: {worst}", width, "", "    ")
    return lines
