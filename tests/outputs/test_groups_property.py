"""Grouping over random fleets (hypothesis): no finding lost or doubled, group counts add up to
the flat count, host ranges expand (by Ansible's own expander) to exactly the hosts, and every
host list is in natural order."""

from __future__ import annotations

import dataclasses

from ansible.plugins.inventory import detect_range, expand_hostname_range
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcheck.engine.summary import summarize
from fleetcheck.model import Finding, FindingKind, HostResult, RunResult, Severity, Status
from fleetcheck.render import csvout, view
from fleetcheck.render.groups import compact_hosts, count_hosts, group_findings, natural_key
from fleetcheck.render.overview import Overview
from tests.render import builders

_NAMES = st.builds(lambda prefix, n, width, suffix: f"{prefix}{n:0{width}d}{suffix}",
                   st.sampled_from(["web", "db-", "10.0.0.", "edge"]),
                   st.integers(0, 40), st.sampled_from([0, 2, 3]),
                   st.sampled_from(["", ".example.net", "-a"]))


def expand(parts: list[str]) -> list[str]:
    """What Ansible makes of the compacted parts."""
    out: list[str] = []
    for part in parts:
        out += expand_hostname_range(part) if detect_range(part) else [part]
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(_NAMES, max_size=80))
def test_ranges_expand_to_exactly_the_hosts(names: list[str]) -> None:
    parts = compact_hosts(names)
    expanded = expand(parts)
    assert sorted(expanded) == sorted(set(names))  # nothing lost, nothing added, no repeat
    assert count_hosts(parts) == len(set(names))
    keys = [natural_key(expand([p])[0]) for p in parts]  # each part by its first host
    assert keys == sorted(keys)



def test_only_ascii_digits_of_readable_length_become_ranges() -> None:
    """Other scripts' digits stay as written (a range would expand to ASCII digits: other
    hosts), as do digit runs longer than int() reads (a crash before)."""
    arabic = [f"web{d}" for d in "\u0661\u0662\u0663\u0664"]
    long_run = ["node" + "9" * 5000 + str(i) for i in range(3)]
    plain = ["web1", "web2", "web3"]
    parts = compact_hosts([*arabic, *long_run, *plain])
    assert "web[1:3]" in parts
    assert sorted(expand(parts)) == sorted([*arabic, *long_run, *plain])
    assert count_hosts(parts) == 10


_FINDING = st.tuples(st.sampled_from([FindingKind.STRAY, FindingKind.FORBIDDEN,
                                      FindingKind.WRONG_BIND]),
                     st.sampled_from([22, 1923, 8080]), st.sampled_from(["0.0.0.0", "127.0.0.1",
                                                                        "10.1.2.3", "::"]),
                     st.sampled_from(["sshd", "java", None]),
                     st.sampled_from(list(Severity)), st.booleans())


Spec = tuple[FindingKind, int, str, str | None, Severity, bool]


def _fleet(hosts: list[tuple[str, list[Spec]]]) -> RunResult:
    results = []
    for name, specs in hosts:
        findings = tuple(Finding(
            id=f"{name}-{i}", kind=kind, severity=sev, proto="tcp", port=port, address=addr,
            process=proc, rule=None if kind is FindingKind.STRAY else "p/r",
            message=f"{kind} {port}",
            waived=waived, waiver="W-1" if waived else None)
            for i, (kind, port, addr, proc, sev, waived) in enumerate(specs))
        results.append(HostResult(name, name, ("g",), Status.NONCOMPLIANT if findings
                                  else Status.COMPLIANT, findings=findings, policies=("p",)))
    base = builders.composite_run()
    return dataclasses.replace(base, hosts=tuple(results), waivers=(),
                               summary=summarize(results, Severity.LOW, complete=True))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_NAMES, st.lists(_FINDING, max_size=6), max_size=40))
def test_regrouping_loses_and_doubles_nothing(fleet: dict[str, list[Spec]]) -> None:
    run = _fleet(list(fleet.items()))
    open_rows, waived_rows = view.finding_rows(run)
    for rows in (open_rows, waived_rows):
        groups = group_findings(rows)
        grouped = [(r.host.name, r.finding.id) for g in groups for r in g.rows]
        assert sorted(grouped) == sorted((r.host.name, r.finding.id) for r in rows)
        assert sum(len(g.rows) for g in groups) == len(rows)
        for g in groups:
            assert len({(r.finding.kind, r.finding.rule, r.finding.proto, r.finding.port,
                         r.finding.process) for r in g.rows}) == 1
            assert g.hosts == sorted(set(g.hosts), key=natural_key)
            assert sorted(expand(compact_hosts(g.hosts))) == sorted(g.hosts)
        ranks = [(-g.severity, -len(g.hosts)) for g in groups]
        assert ranks == sorted(ranks)  # worst first, then most hosts
    # the groups the reports list add up to the open findings the summary counted
    assert sum(len(g.rows) for g in Overview(run).groups) == run.summary.findings
    sheet = csvout.render_groups(run).splitlines()[1:]
    assert len(sheet) == len(group_findings(open_rows)) + len(group_findings(waived_rows))
