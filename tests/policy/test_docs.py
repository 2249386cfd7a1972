"""docs/policies.md: every key is documented, and every worked example runs as written."""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fleetcheck.model import FindingKind
from fleetcheck.policy.load import POLICY_KEYS, RULE_KEYS
from fleetcheck.policy.match import SCOPES
from fleetcheck.policy.waiver_load import FILE_KEYS, WAIVER_KEYS
from tests.conftest import REPO
from tests.lab.netns import Sock
from tests.policy.lab import (
    FindingRow,
    finding_rows,
    lab_namespace,
    plant,
    run_cli_in,
    waiver_statuses,
)

DOC = (REPO / "docs" / "policies.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"\n{title}\n")
    end = DOC.find("\n#", start + len(title) + 2)
    return DOC[start:end if end != -1 else None]


def _table_keys(text: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))


def test_every_policy_and_rule_key_is_documented() -> None:
    assert _table_keys(_section("### Policy keys")) == set(POLICY_KEYS)
    assert _table_keys(_section("### Rule keys")) == set(RULE_KEYS)


def test_every_waiver_key_is_documented() -> None:
    assert _table_keys(_section("## Waivers")) == set(WAIVER_KEYS) | set(FILE_KEYS)


def test_every_finding_kind_and_scope_is_documented() -> None:
    assert _table_keys(_section("## Finding kinds")) == {k.value for k in FindingKind}
    rule_keys = _section("### Rule keys")
    for scope in SCOPES:
        assert f"`{scope}`" in rule_keys


@dataclass
class Example:
    """One worked example as the docs state it."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    socks: list[Sock] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    exit_status: int = -1
    findings: set[FindingRow] = field(default_factory=set)
    waivers: dict[str, str] = field(default_factory=dict)


def _tables(text: str) -> list[list[list[str]]]:
    """Markdown tables as lists of rows of cells (header first, separator dropped)."""
    tables, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-", ":"} for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def examples() -> list[Example]:
    """Every `<!-- example: NAME -->` section of the docs."""
    out = []
    for name, body in re.findall(r"<!-- example: (\S+) -->(.*?)<!-- /example -->", DOC, re.S):
        ex = Example(name)
        for path, content in re.findall(r"```yaml\n# (\S+)\n(.*?)```", body, re.S):
            ex.files[path] = content
        ex.command = shlex.split(re.findall(r"```console\n\$ fleetcheck (.*?)\n```", body)[0])
        ex.exit_status = int(re.findall(r"exits with status (\d)", body)[0])
        for table in _tables(body):
            header, rows = table[0], table[1:]
            if header[:4] == ["proto", "address", "port", "process"]:
                for proto, address, port, process in rows:
                    dual = "(dual-stack)" in address
                    ex.socks.append(Sock(proto, address.split()[0], int(port), process=process,
                                         v6only=not dual))
            elif header[0] == "host":
                for host, kind, sev, proto, port, address, rule, waiver in rows:
                    ex.findings.add((host, kind, sev, proto, int(port) if port else None,
                                     address or None, rule or None, waiver or None))
            elif header == ["waiver", "status"]:
                ex.waivers = {r[0]: r[1] for r in rows}
        out.append(ex)
    return out


EXAMPLES = examples()


def test_the_docs_have_the_four_worked_examples() -> None:
    assert [e.name for e in EXAMPLES] == ["web", "db", "bastion", "workstation"]
    assert all(e.socks and e.findings and e.exit_status in (0, 1, 3) for e in EXAMPLES)


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_policies_are_the_shipped_files(ex: Example) -> None:
    for path, content in ex.files.items():
        if path.startswith("policies/"):
            assert (REPO / path).read_text() == content, f"{path} differs from the docs"


@pytest.mark.lab
@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_worked_example_runs_as_written(ex: Example, tmp_path: Path) -> None:
    for path, content in ex.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    for arg in ex.command:  # policies the example uses but does not print (the baseline)
        if arg.startswith("policies/") and not (tmp_path / arg).exists():
            (tmp_path / arg).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / arg, tmp_path / arg)
    with lab_namespace() as (ns, holders):
        plant(ns, holders, ex.socks)
        res, run = run_cli_in(ns, ex.command, tmp_path)
    assert res.code == ex.exit_status, res.err
    assert finding_rows(run) == ex.findings
    assert waiver_statuses(run) == ex.waivers
    listened = {(li["proto"], li["port"]) for h in run["hosts"] for li in h["listeners"]}
    assert listened == {(s.proto, s.port) for s in ex.socks}  # every planted socket was seen
