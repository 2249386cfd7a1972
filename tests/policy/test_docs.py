"""docs/policies.md: every key is documented; the worked examples use the shipped policies.

The examples themselves run against a lab of real sshd hosts in
tests/policy_lab/test_worked_examples.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from fleetcheck.model import FindingKind
from fleetcheck.policy.load import POLICY_KEYS, RULE_KEYS, load_policies
from fleetcheck.policy.match import SCOPES
from fleetcheck.policy.waiver_load import FILE_KEYS, WAIVER_KEYS
from tests.conftest import REPO, run_cli
from tests.policy_lab.docexamples import DOC, read_fleet

FLEET = read_fleet()


def _section(title: str) -> str:
    start = DOC.index(f"\n{title}\n")
    end = DOC.find("\n#", start + len(title) + 2)
    return DOC[start:end if end != -1 else None]


def _table_keys(text: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, re.M))


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


def test_example_policies_are_the_shipped_files() -> None:
    """`-p policies/` in the examples means the shipped directory, file for file."""
    printed = {path: text for path, text in FLEET.all_files().items()
               if path.startswith("policies/")}
    shipped = {f"policies/{p.name}": p.read_text() for p in (REPO / "policies").glob("*.yml")}
    assert printed == shipped


def test_shipped_baseline_has_the_built_in_rules() -> None:
    """policies/baseline.yml is the built-in baseline scoped for the example policies."""
    (builtin,) = load_policies([REPO / "fleetcheck" / "data" / "baseline.yml"])
    (shipped,) = load_policies([REPO / "policies" / "baseline.yml"])
    assert builtin.hosts is None  # without -p: every host
    assert shipped.hosts == "all:!bastion:!workstations"
    assert replace(shipped, hosts=None, path=builtin.path) == builtin
    assert [r.ref for r in shipped.rules] == [r.ref for r in builtin.rules]
    assert [r.match for r in shipped.rules] == [r.match for r in builtin.rules]


def test_examples_state_their_claims_in_tables() -> None:
    """Every example is machine-checkable: listeners with verdicts, findings, or outcomes."""
    for ex in FLEET.examples:
        assert ex.listening or ex.waivers, ex.name
        for host, rows in ex.listening.items():
            hosts = {row[0] for row in ex.findings}
            assert hosts <= set(ex.listening), ex.name
            # a listener whose verdict is not "allowed" is a finding the table lists
            flagged = {(r.proto, r.port, r.address) for r in rows if r.verdict != "allowed"}
            listed = {(f[3], f[4], f[5]) for f in ex.findings if f[0] == host and f[5]}
            assert flagged == listed, (ex.name, host)


def _reference_snippets(top_key: str) -> list[tuple[str, str]]:
    """YAML blocks of the docs that are a file with `top_key` and not part of a worked example
    (those are set on a fixed day, given with --today): (where, text)."""
    out: list[tuple[str, str]] = []
    for page in sorted((REPO / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for block in re.finditer(r"```ya?ml\n(.*?)```", text, re.S):
            before = text[:block.start()].rstrip().rsplit("\n", 1)[-1]
            if re.search(rf"^{top_key}:", block.group(1), re.M) and \
                    not before.startswith("<!-- example"):
                out.append((f"{page.name}:{text[:block.start()].count(chr(10)) + 2}",
                            block.group(1)))
    return out


def test_reference_waivers_validate_as_copied_today(tmp_path: Path) -> None:
    """A waiver copied from the reference is accepted on the day it is copied: no date in it
    is in the future (a sample 'created' in 2030 was refused until then)."""
    snippets = [s for s in _reference_snippets("waivers") if "\n  - id:" in s[1]]
    assert snippets, "the reference shows a waiver file"
    for where, body in snippets:
        path = tmp_path / "waivers.yml"
        path.write_text(body, encoding="utf-8")
        result = run_cli(["validate", "-w", str(path)], cwd=tmp_path)
        assert result.code == 0, (where, result.err)
