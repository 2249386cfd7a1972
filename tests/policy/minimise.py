"""Shrink a disagreeing case of the judge hunt: `python3 -m tests.policy.minimise SEED`.

Greedy: drop listeners, policies, rules, rule keys, waivers and waiver keys one at a time
while the real judge and the oracle still disagree; print what is left as YAML.
"""

from __future__ import annotations

import copy
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import yaml

from tests.policy.judgediff import compare, oracle_of, run_real, write_case
from tests.policy.polgen import Case, gen_case
from tests.shrink import shrink

_KEEP = {"id", "hosts", "reason", "owner", "approved_by", "created", "expires"}


def disagrees(case: Case, root: Path) -> list[str]:
    """The differences of `case` (a refusal counts as one)."""
    real = run_real(case, write_case(case, root))
    if real.errors:
        return [f"refused: {e}" for e in real.errors]
    return compare(case, real, oracle_of(case, real))


def _variants(case: Case) -> Iterator[Case]:
    """Every case one step smaller than `case`."""
    for h, lis in case.listeners.items():
        for i in range(len(lis)):
            yield replace(case, listeners={**case.listeners, h: lis[:i] + lis[i + 1:]})
    for i in range(len(case.policies)):
        yield replace(case, policies=case.policies[:i] + case.policies[i + 1:])
    for i, (stem, pol) in enumerate(case.policies):
        for key in list(pol):
            if key in ("allow", "forbid", "require"):
                for j in range(len(pol[key])):
                    smaller = copy.deepcopy(pol)
                    del smaller[key][j]
                    if not smaller[key]:
                        del smaller[key]
                    yield _with_policy(case, i, stem, smaller)
                for j, rule in enumerate(pol[key]):
                    for rk in [k for k in rule if k != "id"]:
                        smaller = copy.deepcopy(pol)
                        del smaller[key][j][rk]
                        yield _with_policy(case, i, stem, smaller)
            elif key != "name":
                smaller = copy.deepcopy(pol)
                del smaller[key]
                yield _with_policy(case, i, stem, smaller)
    for i, (stem, items) in enumerate(case.waivers):
        for j in range(len(items)):
            rest = items[:j] + items[j + 1:]
            kept = [(stem, rest)] if rest else []
            yield replace(case, waivers=[*case.waivers[:i], *kept, *case.waivers[i + 1:]])
            for key in [k for k in items[j] if k not in _KEEP]:
                w = dict(items[j])
                del w[key]
                yield replace(case, waivers=[
                    *case.waivers[:i], (stem, [*items[:j], w, *items[j + 1:]]),
                    *case.waivers[i + 1:]])


def _with_policy(case: Case, i: int, stem: str, pol: dict[str, object]) -> Case:
    return replace(case, policies=[*case.policies[:i], (stem, pol), *case.policies[i + 1:]])


def minimise(case: Case, still: Callable[[Case], bool]) -> Case:
    """The smallest case reachable by single steps for which `still` holds."""
    return shrink(case, _variants, still)


def show(case: Case) -> str:
    """A minimised case, readable."""
    lines = [f"today {case.today} fail_on {case.fail_on} groups {case.groups}"]
    for stem, pol in case.policies:
        lines.append(f"--- policy {stem}.yml\n{yaml.safe_dump(pol, sort_keys=False)}")
    for stem, items in case.waivers:
        lines.append(f"--- waivers {stem}.yml\n{yaml.safe_dump(items, sort_keys=False)}")
    for h, lis in case.listeners.items():
        lines += [f"{h}: {li!r}" for li in lis]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Minimise one seed and print the case and its differences."""
    seed = int(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first = gen_case(seed)
        real = run_real(first, write_case(first, root / "first"))
        ids = sorted({f.id for h in real.hosts for f in h.findings})
        case = gen_case(seed, ids)
        n = [0]

        def still(c: Case) -> bool:
            n[0] += 1
            got = disagrees(c, root / str(n[0]))
            return bool(got) and not any(d.startswith("refused") for d in got)

        if not still(case):
            print("no disagreement")
            return 0
        small = minimise(case, still)
        print(show(small))
        for d in disagrees(small, root / "last"):
            print(f"  {d}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
