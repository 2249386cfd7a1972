"""Generated inventory text (seeded, so reproducible): fleetcheck reads it as ansible-core does.

Each seed writes one INI, YAML or JSON source whose text varies the way real files do
(lexgen): quoting, escapes, literals, comments, whitespace, section headers, host
entries, YAML styles, tags and anchors, file extensions; about a third of them are
malformed on purpose. For each: Ansible rejects the source (an error, or "Unable to
parse" for every plugin) exactly when fleetcheck exits 2; otherwise `--list` is
byte-identical, both warn about the same things, and each pattern selects the hosts
`ansible PATTERN --list-hosts` selects (`scan --list-hosts` as well).

FLEETCHECK_LEXICAL_SEEDS picks the seeds: `7` replays seed 7, `0-999` runs a thousand.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetcheck.sanitize import one_line
from tests import ahead
from tests.conftest import run_cli
from tests.inventory.cases import same_selection
from tests.inventory.lexgen import Lexical, lexical, warning_kinds
from tests.inventory.oracle import Oracle, Run, hosts_of, require_ansible, unmatched_terms


def _seeds() -> range:
    chosen = os.environ.get("FLEETCHECK_LEXICAL_SEEDS", "0-109")
    first, _, last = chosen.partition("-")
    return range(int(first), int(last or first) + 1)


SEEDS = _seeds()
# Ansible's words for a source no plugin could read (it warns and goes on without it).
UNPARSED = ("Unable to parse", "No inventory was parsed")
# A scan refuses a host whose connection variable is no port, text or renderable template.
PLAN_REFUSED = re.compile(r"^fleetcheck: error: .*: host '.*': (ansible_\w+ must be|"
                          r"ansible_\w+ cannot render|.* cannot render)", re.M)


@dataclass(frozen=True)
class Answer:
    """A generated source, where it was written, and what Ansible made of it."""

    source: Lexical
    path: Path
    listing: Run
    selections: tuple[Run, ...]  # one per pattern; none when Ansible rejected the source

    @property
    def rejected(self) -> bool:
        """Whether ansible-core refused the source (fleetcheck must then exit 2)."""
        return self.listing.code != 0 or any(s in self.listing.err for s in UNPARSED)


def ask_ahead(root: Path) -> Callable[[], dict[int, Answer]]:
    """Ansible's --list of every source, then its --list-hosts of each accepted one's
    patterns (one reading of the inventory per source, shared by its patterns); the
    listings are started in the background (tests/ahead.py)."""
    sources: dict[int, tuple[Lexical, Path]] = {}
    for seed in SEEDS:
        source = lexical(seed)
        path = root / f"s{seed}" / source.name
        path.parent.mkdir()
        path.write_bytes(source.data)
        sources[seed] = (source, path)
    oracle = Oracle(root / "oracle")
    pending = oracle.start([("ansible-inventory", ["-i", str(path), "--list"])
                            for _source, path in sources.values()], [], background=True)

    def collect() -> dict[int, Answer]:
        listings = pending.result()[0]
        out = {seed: Answer(source, path, listing, ())
               for (seed, (source, path)), listing in zip(sources.items(), listings,
                                                           strict=True)}
        accepted = [seed for seed, answer in out.items() if not answer.rejected]
        grouped = oracle.shared([(["-i", str(out[seed].path)],
                                  [[p, "-i", str(out[seed].path), "--list-hosts"]
                                   for p in out[seed].source.patterns]) for seed in accepted])
        for seed, runs in zip(accepted, grouped, strict=True):
            answer = out[seed]
            out[seed] = Answer(answer.source, answer.path, answer.listing, tuple(runs))
        return out
    return collect


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Answer]:
    """Ansible's answers for every seed (ask_ahead)."""
    require_ansible()
    out: dict[int, Answer] = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_text_reads_as_ansible_reads_it(answers: dict[int, Answer], seed: int) -> None:
    answer = answers[seed]
    cwd = answer.path.parent
    ours = run_cli(["inventory", "-i", str(answer.path), "--list"], cwd=cwd)
    if answer.rejected:
        assert (ours.code, ours.out) == (2, ""), f"seed {seed}: Ansible rejects it"
        assert ours.err.startswith(f"fleetcheck: error: {answer.path}"), ours.err
        assert ours.err.count("\n") == 1, ours.err
        return
    assert ours.code == 0, f"seed {seed}: {ours.err}"
    assert ours.out == answer.listing.out, f"seed {seed}: --list differs"
    assert warning_kinds(ours.err, "fleetcheck: warning:") \
        == warning_kinds(answer.listing.err, "WARNING]:"), f"seed {seed}: warnings differ"
    document = json.loads(answer.listing.out)
    for pattern, run in zip(answer.source.patterns, answer.selections, strict=True):
        res = run_cli(["inventory", "-i", str(answer.path), "--limit", pattern,
                       "--list-hosts"], cwd=cwd)
        if run.code != 0:  # a pattern Ansible refuses
            assert res.code == 2, (seed, pattern, run.err)
            continue
        assert res.code == 0, (seed, pattern, res.err)
        assert unmatched_terms(res.err) == unmatched_terms(run.err), (seed, pattern)
        theirs = hosts_of(run)
        selected = res.out.splitlines()
        assert same_selection(document, pattern, selected, theirs), (seed, pattern)
    last = answer.source.patterns[-1]  # the scan plans the hosts --list-hosts names
    scan = run_cli(["scan", "-i", str(answer.path), "--limit", last, "--list-hosts"], cwd=cwd)
    listed = run_cli(["inventory", "-i", str(answer.path), "--limit", last, "--list-hosts"],
                     cwd=cwd)
    if not listed.out or PLAN_REFUSED.search(scan.err):
        # nothing to check, or a connection variable the plan cannot use: bad input to a scan
        assert (scan.code, scan.out) == (2, ""), (seed, last, scan.err)
        return
    # a host whose connection fleetcheck cannot make is named on stderr, not planned
    skipped = set(re.findall(r"^fleetcheck: (\S+) would not be contacted", scan.err, re.M))
    # scan --list-hosts names each host on one inert line (a BOM or zero-width character
    # as an escape), inventory --list-hosts byte for byte as Ansible does
    planned = [one_line(h) for h in listed.out.splitlines() if one_line(h) not in skipped]
    assert (scan.code, scan.out.splitlines()) == (0, planned), (seed, last, scan.err)
