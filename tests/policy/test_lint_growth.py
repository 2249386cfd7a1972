"""Cross-checking policies grows linearly with the rules and the policy files.

Found: every allow and require rule was compared with every forbid rule (2,520 rules: 20 s
in `validate`, and the same in `scan` before any host), and every policy with every other
(800 one-rule files: 2.3 s) even where no pair had anything to say. The inputs here are
the shapes that were quadratic; each is linted at n and 16n (tests/growth.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from fleetcheck import inventory as inv
from fleetcheck.policy.lint import check_all
from fleetcheck.policy.problems import Problems
from tests.growth import FACTOR, LIMIT, growth

TODAY = dt.date(2030, 6, 1)


def _rules(root: Path, n: int) -> list[Path]:
    """One policy: n allows, n forbids on the ports between them, n/10 requires."""
    lines = ["name: big", "default: deny", "allow:"]
    for i in range(n):
        lines += [f"  - id: a{i}", "    proto: tcp", f"    port: {2000 + 2 * i}",
                  f"    process: p{i}"]
    lines.append("forbid:")
    for i in range(n):
        lines += [f"  - id: f{i}", "    proto: tcp", f"    port: {2001 + 2 * i}"]
    lines.append("require:")
    for i in range(max(1, n // 10)):
        lines += [f"  - id: q{i}", "    proto: tcp", f"    port: {2000 + 2 * i}"]
    path = root / "big.yml"
    path.write_text("\n".join(lines) + "\n")
    return [path]


def _layers(root: Path, n: int) -> list[Path]:
    """n policy files for every host, one allow rule each, and one that forbids."""
    paths = []
    for i in range(n):
        path = root / f"p{i:04d}.yml"
        path.write_text(f"name: p{i}\nallow:\n  - id: r\n    proto: tcp\n    port: {2000 + i}\n"
                        "require:\n  - id: q\n    proto: tcp\n    port: 22\n")
        paths.append(path)
    (root / "base.yml").write_text("name: base\ndefault: deny\nallow:\n  - id: ssh\n"
                                   "    port: 22\nforbid:\n  - id: spice\n    port: 1923\n")
    return [*paths, root / "base.yml"]


def _checker(tmp_path: Path, make: Callable[[Path, int], list[Path]], n: int,
             ) -> Callable[[], Problems]:
    root = tmp_path / f"{make.__name__}{n}"
    root.mkdir()
    (root / "hosts.ini").write_text("[web]\nweb1\nweb2\n")
    inventory, policies = inv.load([str(root / "hosts.ini")]), make(root, n)

    def check() -> Problems:
        problems = Problems()
        check_all(inventory, policies, [], problems, today=TODAY)
        return problems
    return check


def test_many_rules_in_one_policy_lint_in_linear_time(tmp_path: Path) -> None:
    small, big = _checker(tmp_path, _rules, 50), _checker(tmp_path, _rules, 50 * FACTOR)
    assert not big().items  # the ports only neighbour each other: nothing overlaps
    assert growth(small, big) < LIMIT


def test_many_policy_files_lint_in_linear_time(tmp_path: Path) -> None:
    small, big = _checker(tmp_path, _layers, 50), _checker(tmp_path, _layers, 50 * FACTOR)
    assert not big().items
    assert growth(small, big) < LIMIT


def test_what_the_pairs_say_is_still_said(tmp_path: Path) -> None:
    """The overlaps, conflicting defaults and unallowed requirements found without trying
    every pair are those trying every pair finds: ranges, services and other policies'."""
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\n[db]\ndb1\n")
    files = {
        "a.yml": "name: a\nhosts: web\ndefault: allow\nallow:\n  - id: wide\n    port: 1-9000\n"
                 "  - id: dns\n    service: domain\nrequire:\n  - id: q\n    port: 9500\n",
        "b.yml": "name: b\nhosts: all\ndefault: deny\nforbid:\n  - id: spice\n    port: 1923\n"
                 "  - id: dns\n    proto: udp\n    port: 53\n",
        "c.yml": "name: c\nhosts: db\nforbid:\n  - id: high\n    port: 8000-9999\n"
                 "require:\n  - id: r\n    port: 9500\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    problems = Problems()
    check_all(inv.load([str(tmp_path / "hosts.ini")]), [tmp_path / n for n in files], [],
              problems, today=TODAY)
    said = [(Path(p.path or "").name, p.line, p.message.replace(f"{tmp_path}/", "")[:44])
            for p in problems.warnings]
    assert said == [
        ("a.yml", 3, "policy 'a' says default: allow, but 'b' says"),  # they share web1
        ("a.yml", 5, "allow a/wide and forbid b/dns (b.yml:7) over"),
        ("a.yml", 5, "allow a/wide and forbid b/spice (b.yml:5) ov"),  # not c/high: no host
        ("a.yml", 7, "allow a/dns and forbid b/dns (b.yml:7) overl"),
        ("a.yml", 10, "require rule 'q' asks for a listener that no"),  # a/wide ends at 9000
        ("c.yml", 7, "allow c/r never takes effect: forbid c/high "),
        ("c.yml", 7, "require rule 'r' asks for a listener that no"),
    ], said
