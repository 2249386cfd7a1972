"""The seeded differential hunt of history: scans, imports, diffs and an oracle must agree.

For each night played (hunt_nights.py), with the oracle of the documented rules
(hunt_oracle.py):

1. the database the scans built equals the ones `history import` rebuilds from the run
   files (one file a command in the order they ran; all at once when that order is also
   the order of their start times): `history`, `history --daily`, `history --host H`;
2. each night's changes and each finding's first_seen, age_days, change and flaps equal
   the oracle's (a night compared with a --baseline file: the database's counts do);
3. `fleetcheck diff OLD NEW` equals the oracle's comparison of the two files, a scan with
   `--baseline OLD` says the same, and exit codes are as documented.

`python -m tests.history.hunt FIRST COUNT` hunts seeds FIRST..FIRST+COUNT-1 and prints
each disagreement (the test file runs a few seeds and the minimised cases).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.history.hunt_nights import Night, Played, Scenario, generate, play
from tests.history.hunt_oracle import (
    Expected,
    Oracle,
    against_file,
    diff_exit,
    exit_code,
    finding_key,
    listed,
    listener_changes,
    when,
)
from tests.shrink import shrink


def _json(root: Path, *argv: str) -> Any:
    res = run_cli(list(argv), cwd=root)
    assert res.code == 0, (argv, res.err)
    return json.loads(res.out)


def _views(db: Path, hosts: tuple[str, ...]) -> dict[str, Any]:
    """What `history` prints of a database, as JSON."""
    root, base = db.parent, ["history", "--history-db", str(db), "--format", "json"]
    # A run's source (scan or import) is the one thing an import records differently.
    runs = [{k: v for k, v in r.items() if k != "source"}
            for r in _json(root, *base, "--last", "100000")]
    out: dict[str, Any] = {"runs": runs,
                           "daily": _json(root, *base, "--daily")}
    for h in hosts:
        res = run_cli([*base, "--host", h], cwd=root)
        out[h] = json.loads(res.out) if res.code == 0 else None
    return out


def _subset(label: str, kept: list[Any], rebuilt: list[Any], problems: list[str]) -> None:
    """What retention kept of `rebuilt` is `kept` (equal when nothing was pruned)."""
    missing = [x for x in kept if x not in rebuilt]
    if missing:
        problems.append(f"{label}: scans' database has {missing[:2]} the import has not")


def _compare_dbs(label: str, scans: dict[str, Any], rebuilt: dict[str, Any],
                 hosts: tuple[str, ...], problems: list[str]) -> None:
    if scans["daily"] != rebuilt["daily"]:
        problems.append(f"{label}: daily totals differ: {scans['daily']} != {rebuilt['daily']}")
    _subset(f"{label} runs", scans["runs"], rebuilt["runs"], problems)
    for h in hosts:
        a, b = scans[h], rebuilt[h]
        if (a is None) != (b is None):
            problems.append(f"{label} host {h}: known to one database only")
            continue
        if a is None:
            continue
        for part in ("checks", "last_checked_at", "last_checked_run", "open"):
            if a[part] != b[part]:
                problems.append(f"{label} host {h}: {part} differs: {a[part]} != {b[part]}")
        _subset(f"{label} host {h} runs", a["runs"], b["runs"], problems)
        _subset(f"{label} host {h} events", a["events"], b["events"], problems)


def _imports(played: Played, problems: list[str], expected: list[Expected | None]) -> None:
    """Check 1: rebuilt from the run files, the database is the scans' one."""
    hosts, root = played.scenario.hosts, played.root
    files = [(n, f) for n, f in enumerate(played.files) if f is not None]
    scans = _views(played.database, hosts)
    one = root / "one-by-one.sqlite3"
    for n, f in files:
        res = run_cli(["history", "import", str(f), "--history-db", str(one)], cwd=root)
        if res.code != 0:
            problems.append(f"import of night {n}: exit {res.code}: {res.err.strip()}")
            return
        exp = expected[n]
        if exp is not None:
            c = exp.counted()
            said = (f"{c['new']} new, {c['reopened']} reopened, {c['fixed']} fixed, "
                    f"{c['unverified']} not verified")
            if not res.out.rstrip().endswith(said):
                problems.append(f"import of night {n} says {res.out.strip()!r}, not {said!r}")
    _compare_dbs("one-by-one import", scans, _views(one, hosts), hosts, problems)
    runs = [(played.runs[n] or {}) for n, _ in files]
    order = [(r["started_at"], r["run_id"]) for r in runs]
    if order == sorted(order):
        batch = root / "batch.sqlite3"
        res = run_cli(["history", "import", *[str(f) for _, f in files], "--history-db",
                       str(batch)], cwd=root)
        if res.code != 0:
            problems.append(f"batch import: exit {res.code}: {res.err.strip()}")
        else:
            _compare_dbs("batch import", scans, _views(batch, hosts), hosts, problems)


def _annotations(label: str, run: dict[str, Any], exp: Expected, problems: list[str]) -> None:
    """The run's findings and changes are the expected ones."""
    for h in run["hosts"]:
        for f in h["findings"]:
            got = (f.get("change"), f.get("first_seen"), f.get("age_days"), f.get("flaps", 0))
            want = exp.findings.get((h["name"], f["id"]))
            if got != want:
                problems.append(f"{label}: {h['name']} {finding_key(f)}: (change, first_seen, "
                                f"age_days, flaps) {got} != {want}")
    c = run.get("changes") or {}
    for part in ("new", "reopened", "persisting", "flapping", "first_checked"):
        if c.get(part) != exp.counts[part]:
            problems.append(f"{label}: changes.{part} {c.get(part)} != {exp.counts[part]}")
    for part in ("fixed", "unverified"):
        listing = Counter(listed(hf) for hf in c.get(part, ()))
        wanted: Counter[tuple[Any, ...]] = getattr(exp, part)
        if listing != wanted:
            problems.append(f"{label}: changes.{part}: extra {list(listing - wanted)[:3]}, "
                            f"missing {list(wanted - listing)[:3]}")


def _diff(played: Played, old_n: int, new_n: int, problems: list[str]) -> None:
    """Check 3: `fleetcheck diff OLD NEW` is the documented comparison of the two files."""
    old, new = played.runs[old_n], played.runs[new_n]
    old_f, new_f = played.files[old_n], played.files[new_n]
    assert old is not None and new is not None and old_f and new_f
    res = run_cli(["diff", str(old_f), str(new_f), "--format", "json"], cwd=played.root)
    label = f"diff night {old_n} night {new_n}"
    exp = against_file(old, new)
    if res.code != diff_exit(exp):
        problems.append(f"{label}: exit {res.code} != {diff_exit(exp)}")
    data = json.loads(res.out)
    c = data["changes"]
    got_findings = {(f["host"], f["id"]): f["change"] for f in data["findings"]}
    want = {k: v[0] for k, v in exp.findings.items() if v[0] in ("new", "reopened")}
    if got_findings != want:
        problems.append(f"{label}: new/reopened {got_findings} != {want}")
    for part in ("new", "reopened", "persisting", "flapping", "first_checked"):
        if c[part] != exp.counts[part]:
            problems.append(f"{label}: changes.{part} {c[part]} != {exp.counts[part]}")
    for part in ("fixed", "unverified"):
        got = Counter(listed(hf) for hf in c[part])
        if got != getattr(exp, part):
            problems.append(f"{label}: {part}: extra {list(got - getattr(exp, part))[:3]}, "
                            f"missing {list(getattr(exp, part) - got)[:3]}")
    added, removed = listener_changes(old, new)
    said_added = {(li["host"], ("listener", li["proto"], li["address"], li["port"],
                                li["process"], _place_of(li))) for li in
                  data["listeners"]["added"]}
    said_removed = {(li["host"], ("listener", li["proto"], li["address"], li["port"],
                                  li["process"], _place_of(li))) for li in
                    data["listeners"]["removed"]}
    if {(h, k[:5]) for h, k in added} != {(h, k[:5]) for h, k in said_added} or \
            {(h, k[:5]) for h, k in removed} != {(h, k[:5]) for h, k in said_removed}:
        problems.append(f"{label}: listeners added/removed differ")
    if data["exit_code"] != res.code:
        problems.append(f"{label}: exit_code {data['exit_code']} != exit {res.code}")


def _place_of(li: dict[str, Any]) -> str:
    return str(li.get("container", ""))


def check(played: Played) -> list[str]:
    """Every disagreement of the nights played."""
    problems: list[str] = []
    scenario, oracle = played.scenario, Oracle(played.real_now)
    expected: list[Expected | None] = []
    rng = random.Random(scenario.seed)  # noqa: S311 - a replayable draw, no secret
    for n, (night, run) in enumerate(zip(scenario.nights, played.runs, strict=True)):
        if run is None:
            problems.append(f"night {n}: no run file (exit {played.codes[n]}: "
                            f"{played.errors[n].strip()[:300]})")
            expected.append(None)
            continue
        exp = oracle.run(run)
        expected.append(exp)
        label = f"night {n} ({run['started_at']})"
        base = night.baseline if night.baseline is not None and \
            played.runs[night.baseline] is not None else None
        if base is None:
            _annotations(label, run, exp, problems)
            gate = exp
        else:  # compared with the file; the database counted against its own past
            old = played.runs[base]
            assert old is not None
            gate = against_file(old, run)
            _annotations(f"{label} against night {base}", run, gate, problems)
        want = exit_code(run, gate, night.fail_on_new)
        if played.codes[n] != want:
            problems.append(f"{label}: exit {played.codes[n]} != {want}")
        if n:
            old_n = n - 1 if rng.random() < 0.7 else rng.randrange(n)
            if played.runs[old_n] is not None:
                _diff(played, old_n, n, problems)
    scans = _views(played.database, scenario.hosts)["runs"]
    kept = _retention(played)
    if {r["run_id"] for r in scans} != kept:
        problems.append(f"runs kept {sorted(r['run_id'] for r in scans)} != {sorted(kept)}")
    for n, run in enumerate(played.runs):
        counted = expected[n]
        if run is None or counted is None:
            continue
        row = next((r for r in scans if r["run_id"] == run["run_id"]), None)
        if row is not None:
            got = {k: row[k] for k in ("new", "reopened", "fixed", "unverified", "flapping")}
            if got != counted.counted():
                problems.append(f"night {n}: history lists {got}, not {counted.counted()}")
    if all(nt.keep_days == 0 and nt.prune is None for nt in scenario.nights):
        _events(played, oracle, problems)
    if not oracle.behind:  # else the files cannot tell the order the scans ran in
        _imports(played, problems, expected)
    return problems


def _retention(played: Played) -> set[str]:
    """The runs whose details retention keeps (docs/history.md, "Retention"): a scan drops
    those started more than its --history-keep-days (default 90, 0: none) before its own
    start, or before the newest other run's when that one would go too; `history prune
    --keep-days N` those started more than N days before now."""
    present: dict[str, dt.datetime] = {}
    for night, run in zip(played.scenario.nights, played.runs, strict=True):
        if night.prune is not None:
            cutoff = when(played.real_now) - dt.timedelta(days=night.prune)
            present = {r: t for r, t in present.items() if t >= cutoff}
        if run is None:
            continue
        start = when(run["started_at"])
        days = 90 if night.keep_days is None else night.keep_days
        if days:
            cutoff = start - dt.timedelta(days=days)
            newest = max((t for r, t in present.items() if r != run["run_id"]), default=None)
            if newest is not None and newest < cutoff:
                cutoff = newest - dt.timedelta(days=days)
            present = {r: t for r, t in present.items() if t >= cutoff}
        present[run["run_id"]] = start
    return set(present)


def _blocks(events: list[tuple[str, str, tuple[Any, ...]]]) -> list[list[Any]]:
    """Events in blocks of one time each, sorted within (runs in one second share one)."""
    out: list[list[Any]] = []
    for at, what, key in events:
        if not out or out[-1][0] != at:
            out.append([at])
        out[-1].append((what, key))
    return [[b[0], *sorted(b[1:], key=repr)] for b in out]


def _events(played: Played, oracle: Oracle, problems: list[str]) -> None:
    """With nothing pruned, `history --host` lists every opening, reopening and closing of
    each host's findings, in the order its checks made them."""
    base = ["history", "--history-db", str(played.database), "--format", "json", "--host"]
    for name, state in oracle.hosts.items():
        res = run_cli([*base, name], cwd=played.root)
        if res.code != 0:
            continue  # never checked: not in the database's timeline
        said = [(e["at"], e["what"], (e["kind"], e["proto"], e["address"], e["port"],
                                      e["process"], bool(e["container"])))
                for e in json.loads(res.out)["events"] if e["category"] == "finding"]
        want = [(at, what, (k[1], k[2], k[3], k[4], k[5], bool(k[6])))
                for at, what, k in state.events]
        if _blocks(said) != _blocks(want):
            problems.append(f"history --host {name}: events {_blocks(said)} != "
                            f"{_blocks(want)}")


def hunt(seed: int, root: Path) -> list[str]:
    """The disagreements of `seed`'s nights."""
    return check(play(generate(seed), root))


def _fails(scenario: Scenario) -> bool:
    with tempfile.TemporaryDirectory(prefix="hunt-min-") as tmp:
        return bool(check(play(scenario, Path(tmp))))


def _without(nights: tuple[Night, ...], i: int) -> tuple[Night, ...]:
    """`nights` less night i, baselines renumbered (one on night i is dropped)."""
    out = []
    for n, night in enumerate(nights):
        if n == i:
            continue
        base = night.baseline
        base = None if base == i else base - 1 if base is not None and base > i else base
        out.append(dataclasses.replace(night, baseline=base))
    return tuple(out)


def _smaller(sc: Scenario) -> Iterator[Scenario]:
    """Scenarios one step simpler than `sc`: a night, a host, a listener, an option less."""
    for i in reversed(range(len(sc.nights))):
        yield dataclasses.replace(sc, nights=_without(sc.nights, i))
    for h in sc.hosts:
        if len(sc.hosts) > 1:
            yield dataclasses.replace(sc, hosts=tuple(x for x in sc.hosts if x != h), nights=tuple(
                dataclasses.replace(nt, socks={k: v for k, v in nt.socks.items() if k != h},
                                    down=nt.down - {h}, limit=None if nt.limit is None else
                                    tuple(x for x in nt.limit if x != h) or None)
                for nt in sc.nights))
    plain = Night(when="", socks={})
    for i, nt in enumerate(sc.nights):
        for name in ("down", "limit", "toggles", "waivers", "keep_days", "fail_on_new",
                     "baseline", "prune", "fail_on"):
            if getattr(nt, name) != getattr(plain, name):
                yield _replace_night(sc, i, **{name: getattr(plain, name)})
        for h, socks in nt.socks.items():
            for j in range(len(socks)):
                yield _replace_night(sc, i, socks={**nt.socks, h: socks[:j] + socks[j + 1:]})


def _replace_night(sc: Scenario, i: int, **changes: Any) -> Scenario:
    nights = list(sc.nights)
    nights[i] = dataclasses.replace(nights[i], **changes)
    return dataclasses.replace(sc, nights=tuple(nights))


def minimise(scenario: Scenario) -> Scenario:
    """A smallest scenario that still disagrees (one step at a time, greedily)."""
    assert _fails(scenario)
    return shrink(scenario, _smaller, _fails)


def main(argv: list[str]) -> int:
    """Hunt the seeds asked for; print each disagreement; exit 1 if any. `--minimise SEED`
    prints a smallest scenario of that seed that still disagrees, and its disagreements."""
    if argv[0] == "--minimise":
        small = minimise(generate(int(argv[1])))
        print(repr(small))
        with tempfile.TemporaryDirectory(prefix="hunt-min-") as tmp:
            print("\n".join(check(play(small, Path(tmp)))))
        return 0
    first, count = int(argv[0]), int(argv[1])
    bad = 0
    for seed in range(first, first + count):
        with tempfile.TemporaryDirectory(prefix=f"hunt-{seed}-") as tmp:
            problems = hunt(seed, Path(tmp))
        if problems:
            bad += 1
            print(f"seed {seed}: {len(problems)} disagreements")
            for p in problems[:8]:
                print(f"  {p}")
        sys.stdout.flush()
    print(f"{count} seeds, {bad} with disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
