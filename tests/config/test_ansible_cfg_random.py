"""Random ansible.cfg files and ANSIBLE_* variables, read by fleetcheck and by ansible-core.

Each seed writes an ansible.cfg (the keys fleetcheck reads, in the sections ansible-core
reads them from, written every way INI allows: duplicated keys and sections, any key
case, comments, quotes, `%`, empty values, continuation lines, Ansible's booleans,
integers in odd spellings) where ANSIBLE_CONFIG, the working directory or HOME puts it,
with environment variables over some of the same settings. `ansible-config dump` is the
oracle: every value and origin fleetcheck shows must be ansible-core's, and where
ansible-core refuses the configuration fleetcheck refuses it too (exit 2, one line
naming the file or variable). `FLEETCHECK_CFG_SEEDS=0-500` runs other seeds.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetcheck.config.settings import SETTINGS, Kind, Setting
from tests.config.dump_batch import batch
from tests.config.test_ansible_cfg import Case, _place, disagreements, theirs_from
from tests.conftest import run_cli
from tests.inventory.oracle import require_ansible

# the settings ansible-core also reads (a name in `ansible-config dump`, or an ssh option)
COMPARED = [s for s in SETTINGS if s.ini and (s.ansible or s.name.startswith("ssh_"))]
OTHER_SECTIONS = ("colors", "Defaults", "persistent_connection")
TRUE = ("y", "yes", "on", "1", "true", "t", "1.0")
FALSE = ("n", "no", "off", "0", "false", "f", "0.0")


def _seeds() -> list[int]:
    spec = os.environ.get("FLEETCHECK_CFG_SEEDS", "0-24")
    first, _, last = spec.partition("-")
    return list(range(int(first), int(last or first) + 1))


def _case(word: str, rng: random.Random) -> str:
    return rng.choice([word, word.upper(), word.capitalize(), word])


def _int(rng: random.Random) -> str:
    n = rng.randint(1, 60)
    return rng.choice([str(n), f" {n} ", f"+{n}", f"0{n}", f"{n}.0", f"{n}.00", f"{n}e0",
                       "1e1", f"{n}_0", "-1", "0", f"{n}.5", "x", "", "0x10", "٣", "1,000",
                       "Infinity", "nan", f'"{n}"', f"{n} ; port"])


def _bool(rng: random.Random) -> str:
    word = _case(rng.choice(TRUE + FALSE + ("maybe", "", "yes please", "'yes'", "-1")), rng)
    return rng.choice([word, f" {word} ", word, f"{word} ; note"])


def _text(rng: random.Random, kind: Kind) -> str:
    word = rng.choice(["deploy", "a b", "x%y", "%(here)s", "100%", "c#d", "e;f", "ü",
                       "keys/id_ed25519", "/abs/p", "~/k", "$HOME/k", ".j2", "^old-"])
    if kind in (Kind.PATHS, Kind.WORDS):
        word = rng.choice([word, f"{word}, .bak", f"{word},,z", f" '{word}' , \"q\""])
    return rng.choice([word, f"'{word}'", f'"{word}"', f"'{word}\"", f'"{word}\\"', "",
                       f"{word} ; comment", f"{word}  # not a comment", f"  {word}  ",
                       "''", f"{word}\n  more", f"{word}\n\n  after blank", word])


def _value(setting: Setting, rng: random.Random) -> str:
    if setting.kind is Kind.BOOL:
        return _bool(rng)
    if setting.kind is Kind.INT:
        return _int(rng)
    if setting.kind is Kind.CHOICE:
        return rng.choice([*setting.choices, _case(rng.choice(setting.choices), rng),
                           f"'{setting.choices[0]}'", f" {setting.choices[-1]} ", "nope", ""])
    return _text(rng, setting.kind)


@dataclass
class Generated:
    """One seed's ansible.cfg, environment and where the file goes."""

    seed: int
    case: Case


def _generate(seed: int) -> Generated:
    rng = random.Random(seed)  # noqa: S311 - reproducible fixtures, not secrets
    entries: list[tuple[str, str, str]] = []  # (section, key, value)
    for setting in rng.sample(COMPARED, rng.randint(1, len(COMPARED))):
        for section, key in rng.sample(setting.ini, rng.randint(1, len(setting.ini))):
            entries.append((section, key, _value(setting, rng)))
    if rng.random() < 0.1:  # a duplicated key (configparser refuses it, any case)
        section, key, _ = rng.choice(entries)
        entries.append((section, _case(key, rng), "again"))
    if rng.random() < 0.15:  # configparser's defaults: a value for every section
        setting = rng.choice(COMPARED)
        entries.append(("DEFAULT", rng.choice(setting.ini)[1], _value(setting, rng)))
    for _ in range(rng.randint(0, 2)):
        entries.append((rng.choice(OTHER_SECTIONS), rng.choice(["remote_user", "forks", "x"]),
                        "other"))
    sections: dict[str, list[tuple[str, str]]] = {}
    for section, key, value in entries:
        sections.setdefault(section, []).append((key, value))
    names = list(sections)
    rng.shuffle(names)
    if rng.random() < 0.08:  # a duplicated section
        names.append(rng.choice(names))
        sections[names[-1]] = sections[names[-1]][:1]
    lines = [rng.choice(["# header", "; header", ""])]
    for name in names:
        lines.append(rng.choice([f"[{name}]", f"[{name}] ; comment", f"[{name}]"]))
        for key, value in sections[name]:
            sep = rng.choice([" = ", "=", " : ", ": ", "\t= "])
            lines.append(f"{_case(key, rng)}{sep}{value}".rstrip(" "))
            if rng.random() < 0.2:
                lines.append(rng.choice(["# a comment", "; a comment", "", "  ; indented"]))
    environ: dict[str, str] = {}
    for setting in rng.sample(COMPARED, rng.randint(0, 4)):
        environ[rng.choice(setting.env)] = _value(setting, rng).replace("\n", " ")
    place = rng.choice(["env-file", "env-dir", "cwd", "home"])
    return Generated(seed, Case(f"seed-{seed}", place, "\n".join(lines) + "\n", environ))


def _dumps(runs: list[tuple[Path, dict[str, str]]]) -> list[list[dict[str, Any]]]:
    """`ansible-config dump` and its `-t connection` for each (cwd, environ), in one batch."""
    return batch([{"cwd": str(cwd), "environ": environ, "argsets": [[], ["-t", "connection"]]}
                  for cwd, environ in runs])


def _check(gen: Generated, runs: list[dict[str, Any]], cwd: Path,
           environ: dict[str, str]) -> list[str]:
    res = run_cli(["config", "--format", "json"], cwd=cwd, environ=environ)
    if any(r["code"] != 0 for r in runs):
        err = next(r["err"] for r in runs if r["code"] != 0)
        if res.code != 2 or res.out or res.err.count("\n") != 1:
            return [f"ansible-core refuses ({err.splitlines()[0] if err else '?'}), "
                    f"fleetcheck: exit {res.code}: {res.err!r}"]
        # the file or a variable (the first value ansible-core finds bad may be another one)
        cfg = re.match(r"fleetcheck: error: (.+\.cfg):\d+: ", res.err)
        named = [v for v in gen.case.environ if f"variable {v}:" in res.err]
        if cfg is not None and cfg.group(1).startswith(str(cwd.parent)):
            named.append(cfg.group(1))
        return [] if named else [f"fleetcheck's error names no file or variable at fault "
                                 f"({err.splitlines()[0] if err else '?'}): {res.err!r}"]
    if res.code != 0:
        return [f"ansible-core accepts it; fleetcheck: exit {res.code}: {res.err!r}"]
    theirs = theirs_from(json.loads(runs[0]["out"]), json.loads(runs[1]["out"]))
    return disagreements(theirs, {s["name"]: s for s in json.loads(res.out)["settings"]})


def _run(seeds: list[int], root: Path) -> dict[int, list[str]]:
    placed = []
    for seed in seeds:
        gen = _generate(seed)
        placed.append((gen, *_place(gen.case, root / str(seed))))
    dumps = _dumps([(cwd, environ) for _, cwd, environ in placed])
    found = {}
    for (gen, cwd, environ), runs in zip(placed, dumps, strict=True):
        problems = _check(gen, runs, cwd, environ)
        if problems:
            found[gen.seed] = problems
    return found


def test_random_ansible_cfg_reads_as_ansible_config_dump_says(tmp_path: Path) -> None:
    require_ansible()
    found = _run(_seeds(), tmp_path)
    report = [f"seed {seed}: {p}" for seed, problems in found.items() for p in problems]
    assert not report, "\n".join(report)
